"""The loop for a model that cannot be trained: lessons in its prompt (error-aware system
prompt and error memory) against plain few-shot of the same length, with scripted models."""

from __future__ import annotations

import pytest
from fakes import ScriptedBackend, WordHashEmbedder
from loop_fakes import WEAK, World, logged_task, skill_of, solution, task_of

from lessons.loop import LoopConfig, load_config, loop_report_data, run_loop
from lessons.models.base import ModelInfo
from lessons.store import Store

MEMORY = "Wrong answer:"  # how the error memory shows a past mistake (builders.prompt.format_examples)


class PromptWorld(World):
    """The scripted model answers a weak-skill question right when its system prompt shows
    a past mistake of that skill beside its answer (the error memory); a few-shot prompt of
    solved problems, or none, leaves it as it was."""

    def backend(self, name, store, config):
        def respond(chat, sample):
            asked = chat[-1]["content"]
            task = task_of(asked) or logged_task(store, asked)
            system = next((m["content"] for m in chat if m["role"] == "system"), "")
            shown = [b for b in system.split("Problem: ")[1:] if MEMORY in b]
            reminded = task.skill == WEAK and any(skill_of(b.split("\n")[0]) == WEAK for b in shown)
            return solution(task, reminded or self.knows(name, task))

        backend = ScriptedBackend(respond, name=name)
        backend.info = ModelInfo(name, "scripted", f"tests/{name}", {})
        return backend

    def train(self, *args, **kwargs):
        raise AssertionError("a loop without training trained a model")


@pytest.fixture
def prompt_config(config):
    return LoopConfig(**{**config.__dict__, "name": "p", "training": False, "mix": {"prompt": 1.0}, "probe": 0})


def test_without_training_the_treatment_is_the_prompt_and_the_control_few_shot_of_its_length(tmp_path, deps,
                                                                                               prompt_config):
    world = PromptWorld(tmp_path)
    deps = type(deps)(backend=world.backend, train=world.train, embedder=deps.embedder)
    store = Store.open(":memory:")
    state = run_loop(store, prompt_config, deps=deps)
    assert not any(stage.startswith(("train-", "dpo-")) for _, stage in state.done)
    built = state.get(1, "build")
    assert built.by_builder == {"prompt": built.rows} and built.control_path == built.treatment_path
    runs = {arm: store.get_run(state.get(1, f"heldout-{arm}").run) for arm in ("treatment", "control")}
    assert [r.components.lessons.name for r in runs.values()] == ["lessons", "few-shot"]
    assert all(r.model_name == "base-model" for r in runs.values())  # the same weights, other prompts
    data = loop_report_data(store, "p")
    h = data.headline
    assert h.treatment.name == "base-model + lessons" and h.control.name == "base-model + few-shot"
    target = h.target
    assert target is not None and target.treatment.delta > 0.2 and target.advantage.ci95[0] > 0
    assert target.control.delta == 0  # solved problems in the prompt teach the scripted model nothing


def test_an_endpoint_model_loops_without_training_unless_asked():
    config = load_config(None, {"model": "openai:gpt-x"})
    assert config.training is False and config.mix == {"prompt": 1.0}
    with pytest.raises(ValueError, match="teaches at inference time, not by training: set training: false"):
        load_config(None, {"mix": {"prompt": 1.0}})
    with pytest.raises(ValueError, match="without training teaches in the prompt: mix: {prompt: 1}"):
        load_config(None, {"training": False, "mix": {"practice": 1.0}})
    with pytest.raises(ValueError, match="one round and no DPO step.*got rounds 2"):
        load_config(None, {"training": False, "rounds": 2})


def test_an_endpoint_model_is_reached_where_the_config_says(tmp_path, register_model):
    """`endpoints` (and `ray`) reach the backend through the loop's model options, and are
    not part of what the loop is: a resumed loop may find its model elsewhere."""
    from lessons.loop import Deps

    seen = []
    world = PromptWorld(tmp_path)
    register_model("openai:scripted", lambda name, options: seen.append(options) or world.backend(name, None, None))
    config = load_config(None, {"model": "openai:scripted", "endpoints": ["http://127.0.0.1:9/v1"], "rows": 8,
                                "train_tasks": 40, "heldout_tasks": 16, "target_slices": 0, "control": False,
                                "out_dir": str(tmp_path / "e")})
    moved = load_config(None, {**config.__dict__, "endpoints": ["http://10.0.0.2:8000/v1"]})
    assert config.identity() == moved.identity()
    with pytest.raises(ValueError, match="2 endpoints need ray"):
        load_config(None, {"model": "openai:x", "endpoints": ["http://a/v1", "http://b/v1"]})
    with pytest.raises(ValueError, match="endpoints serve an openai:<model>"):
        load_config(None, {"endpoints": ["http://a/v1"]})
    store = Store.open(":memory:")
    run_loop(store, config, deps=Deps(embedder=WordHashEmbedder))
    assert seen and all(o.endpoints == ("http://127.0.0.1:9/v1",) and o.ray is None for o in seen)
