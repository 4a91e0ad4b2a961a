"""`refusal`: R-Tuning's refusal lessons ("R-Tuning: Instructing Large Language Models to
Say 'I Don't Know'", Zhang et al. 2024). For the train tasks the model never solved in its
logged samples, rows that answer with the one unsure statement (`verify.abstention.UNSURE`)
instead of a wrong answer. Mixed with `rejection` rows of the tasks it does solve, a model
trained on them learns where to answer and where to abstain; `lessons eval` then reports
the abstention rate and the accuracy on the tasks answered beside plain accuracy.

Only tasks with at least `min_samples` attempts, none correct and at least one finished
(a run cut off at `max_new_tokens` everywhere says more about the budget than about the
model's knowledge), become rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from lessons.builders.base import Lesson, Provenance, config_args
from lessons.builders.source import LessonSource
from lessons.verify.abstention import UNSURE


@dataclass(frozen=True)
class RefusalConfig:
    min_samples: int = 1  # a task is "never solved" only after this many attempts (raise it with --samples K runs)


class RefusalBuilder:
    name = "refusal"
    format = "messages"
    needs_diagnoses = False
    config_class = RefusalConfig

    def build(self, source: LessonSource, config: RefusalConfig | None = None) -> list[Lesson]:
        config = config or RefusalConfig()
        if config.min_samples < 1:
            raise ValueError(f"refusal: min_samples must be at least 1, got {config.min_samples}")
        lessons = []
        for task_id, task in source.tasks.items():
            attempts = source.by_task.get(task_id, [])
            if (len(attempts) < config.min_samples or any(a.correct for a in attempts)
                    or all(a.finish_reason == "length" for a in attempts)):
                continue
            row = {"messages": source.render(task) + [{"role": "assistant", "content": UNSURE}]}
            lessons.append(Lesson(row, Provenance(
                builder=self.name, run_id=source.run.id, task_id=task_id, attempt_ids=tuple(a.id for a in attempts),
                args=config_args(config), detail={"samples": len(attempts)},
            )))
        return lessons
