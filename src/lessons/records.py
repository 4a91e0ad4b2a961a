"""Records that cross stage boundaries and land in the mistake log."""

from __future__ import annotations

from dataclasses import dataclass

from lessons.models.base import Completion
from lessons.verify.base import Verdict


@dataclass(frozen=True)
class Attempt:
    """One model response to one task, with its verdict. `sample` numbers the
    responses to the same task within a run (0..n-1)."""

    run_id: str
    task_id: str
    sample: int
    completion: Completion
    verdict: Verdict

    @property
    def is_mistake(self) -> bool:
        return not self.verdict.correct
