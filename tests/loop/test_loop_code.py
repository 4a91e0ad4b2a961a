"""The loop on the built-in `code` suite with scripted models: own programs kept only when
their tests pass in the sandbox, practice drawn from the generator in the target, feedback
rows, and the repair builder refused."""

from __future__ import annotations

import json

import pytest

from fakes import WordHashEmbedder
from lessons.loop import Deps, LoopConfig, load_config, run_loop
from lessons.store import Store

from loop_fakes import DRAFT, WEAK_CODE, CodeWorld


def _rows(path):
    return [json.loads(line) for line in open(f"{path}/lessons.jsonl", encoding="utf-8")]


@pytest.fixture
def code_config(tmp_path):
    # small: every program the loop judges runs in the sandbox (about 20 a second)
    return LoopConfig(name="c", model="base-model", suite="code", template="code", train_tasks=70, heldout_tasks=14,
                      target_tasks=10, rows=8, steps=1, samples=2, retry=1, keep=1, max_new_tokens=512,
                      mix={"practice": 0.8, "feedback": 0.2}, locator="trace", out_dir=str(tmp_path / "loop"))


def test_the_loop_on_code_keeps_only_programs_whose_tests_pass_and_aims_practice_at_the_target(tmp_path, code_config):
    world = CodeWorld(tmp_path)
    store = Store.open(":memory:")
    state = run_loop(store, code_config, deps=Deps(backend=world.backend, train=world.train,
                                                    embedder=WordHashEmbedder))
    assert [s.name for s in state.get(1, "target").slices] == [f"skill={WEAK_CODE}"]
    build = state.get(1, "build")
    treatment, control = _rows(build.treatment_path), _rows(build.control_path)
    assert len(treatment) == len(control) == build.rows > 0
    assert build.by_builder.get("feedback", 0) > 0 and build.by_builder.get("practice", 0) > 0
    completions = [r["completion"][-1]["content"] for r in treatment + control]
    # each posed task was sampled twice, one failing and one passing program: the failing one
    # is the shorter, so only running the tests keeps it out
    assert completions and not any(DRAFT.strip() in c for c in completions)
    assert all("```python" in c and "return" in c for c in completions)
    practice = [r for r in treatment if r["prompt"][-1]["role"] == "user" and len(r["prompt"]) <= 2]
    assert practice and all(world.skill(r["prompt"]) == WEAK_CODE for r in practice)
    # new practice tasks come from the generator, with what judges them, in the train split
    logged = store.db.execute("SELECT metadata FROM tasks WHERE task_id LIKE 'practice-%'").fetchall()
    assert logged and all(json.loads(m["metadata"])["skill"] == WEAK_CODE for m in logged)
    sampled = store.db.execute("SELECT verifier, execution IS NOT NULL AS ran FROM attempts").fetchall()
    assert {row["verifier"] for row in sampled} == {"tests"} and any(row["ran"] for row in sampled)
    # the train mistakes' first wrong lines come from tracing each program beside its reference
    train_run = store.get_run(state.get(1, "eval-train").run)
    located = [d.location for d in store.diagnoses(train_run.id)]
    assert located and {loc.method for loc in located} == {"trace"}
    assert any(loc.evidence == "reference_trace" and loc.detail.startswith("line ") for loc in located)
    # the treatment learned recursion from a quarter of its rows; the control did not
    assert WEAK_CODE in world.learned["c-r1-treatment"] and WEAK_CODE not in world.learned["c-r1-control"]


def test_repair_on_a_code_suite_is_a_one_line_config_error_naming_the_file(tmp_path):
    path = tmp_path / "loop.yaml"
    path.write_text("suite: code\nmix: {practice: 0.8, repair: 0.2}\n", encoding="utf-8")
    with pytest.raises(ValueError) as error:
        load_config(path, {})
    message = str(error.value)
    assert message.startswith(f"{path}: ") and "repair" in message and "feedback" in message
    assert "\n" not in message
    with pytest.raises(ValueError, match="use feedback"):
        run_loop(Store.open(":memory:"), LoopConfig(suite="code", mix={"repair": 1.0}, out_dir=str(tmp_path / "x")))


def test_a_code_suite_without_template_or_mix_gets_the_code_template_and_feedback_not_repair():
    config = load_config(None, {"suite": "code"})
    assert config.template == "code" and config.mix == {"practice": 0.8, "feedback": 0.2}
    assert config.locator == "trace"
    assert load_config(None, {}).mix == {"practice": 0.8, "repair": 0.2}  # arith as before
    assert load_config(None, {}).template == "step-by-step"
