"""`rejection`: the model's own correct solutions as SFT data (rejection sampling), with
more kept for the tasks it solves rarely (DART-Math's difficulty-aware sampling).

A task's quota grows as its solve rate falls: `per_task` for a task solved every time, up
to `per_hard_task` for one solved almost never. Samples are deduplicated (layout and case
ignored), truncated ones are skipped, and by default so is a right answer reached through
a false arithmetic step, which would teach the slip along with the answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lessons.builders._solutions import unique
from lessons.builders.base import Lesson, Provenance, config_args
from lessons.builders.source import LessonSource


@dataclass(frozen=True)
class RejectionConfig:
    per_task: int = 1  # solutions kept for a task solved by every sample
    per_hard_task: int = 4  # ... for a task solved (almost) never; in between by solve rate
    check_steps: bool = True  # skip right answers whose steps hold a false arithmetic statement


class RejectionBuilder:
    name = "rejection"
    format = "messages"
    needs_diagnoses = False
    config_class = RejectionConfig

    def build(self, source: LessonSource, config: RejectionConfig | None = None) -> list[Lesson]:
        config = config or RejectionConfig()
        lessons = []
        for task_id, task in source.tasks.items():
            attempts = source.by_task.get(task_id, [])
            correct = [a for a in attempts if a.correct and a.finish_reason != "length" and a.text.strip()]
            if config.check_steps:
                correct = [a for a in correct if source.steps_check_out(task, a.text)]
            texts = unique(a.text.strip() for a in correct)
            quota = solution_quota(sum(a.correct for a in attempts), len(attempts), config)
            by_text = {a.text.strip(): a for a in reversed(correct)}  # first attempt of each text
            for text in texts[:quota]:
                attempt = by_text[text]
                row = {"messages": source.render(task) + [{"role": "assistant", "content": text}]}
                lessons.append(Lesson(row, Provenance(
                    builder=self.name, run_id=source.run.id, task_id=task_id, attempt_ids=(attempt.id,),
                    args=config_args(config),
                    detail={"solve_rate": round(sum(a.correct for a in attempts) / len(attempts), 3)},
                )))
        return lessons


def solution_quota(solved: int, samples: int, config: RejectionConfig) -> int:
    """How many distinct correct solutions to keep for a task solved `solved` of `samples` times."""
    if samples == 0 or solved == 0:
        return 0
    rate = solved / samples
    extra = max(config.per_hard_task - config.per_task, 0)
    return config.per_task + math.ceil(extra * (1 - rate))
