"""`method: grpo` in the loop, with scripted models and a fake trainer: both arms train by
RL on prompts, the treatment's aimed at the target, the control's random train tasks."""

from __future__ import annotations

import json

import pytest

from lessons.lesson_set import read_manifest
from lessons.loop import LoopConfig, load_config, loop_report_data, run_loop
from lessons.store import Store
from loop_fakes import WEAK, skill_of


@pytest.fixture
def grpo_config(config):
    return LoopConfig(**{**config.__dict__, "name": "g", "method": "grpo",
                         "train": {"batch_size": 4, "num_generations": 4, "mask_thought": 0.1}})


def test_grpo_trains_both_arms_on_prompts_the_treatments_aimed_at_the_target(world, deps, grpo_config):
    seen = []

    def train(model, data, config, **kw):
        seen.append(config)
        return world.train(model, data, config, **kw)

    store = Store.open(":memory:")
    state = run_loop(store, grpo_config, deps=type(deps)(backend=deps.backend, train=train, embedder=deps.embedder))
    assert [c.method for c in seen] == ["grpo", "grpo"] and all(c.max_steps == grpo_config.steps for c in seen)
    assert all(c.num_generations == 4 and c.mask_thought == 0 for c in seen)  # masking is SFT's, left out
    built = state.get(1, "build")
    assert built.rows == built.control_rows == grpo_config.rows
    rows = {arm: [json.loads(line) for line in open(f"{path}/lessons.jsonl", encoding="utf-8")]
            for arm, path in (("treatment", built.treatment_path), ("control", built.control_path))}
    assert all(set(r) >= {"prompt", "task_id", "answer", "verifier"} and "completion" not in r
               for arm in rows.values() for r in arm)
    assert read_manifest(built.treatment_path)["format"] == "prompts"
    weak = {arm: sum(skill_of(r["prompt"][-1]["content"]) == WEAK for r in arm_rows) for arm, arm_rows in rows.items()}
    assert weak["treatment"] == len(rows["treatment"]) > weak["control"]  # every prompt in the target
    # no sample was posed for the rows: the trainer samples its own groups
    assert built.posed == {"practice": 0, "control": 0}
    target = loop_report_data(store, "g").headline.target
    assert all(f"skill={WEAK}" in s for s in target.slices) and target.treatment.delta > target.control.delta


def test_grpo_takes_prompts_of_the_target_only():
    assert load_config(None, {"method": "grpo"}).mix == {"practice": 1.0}
    with pytest.raises(ValueError, match="method grpo trains on prompts of the target's tasks"):
        load_config(None, {"method": "grpo", "mix": {"practice": 0.8, "repair": 0.2}})
    with pytest.raises(ValueError, match="method 'ppo': use sft or grpo"):
        load_config(None, {"method": "ppo"})
    with pytest.raises(ValueError, match="rewards math answers.*use method: sft"):
        load_config(None, {"method": "grpo", "suite": "code"})
