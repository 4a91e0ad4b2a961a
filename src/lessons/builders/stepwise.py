"""`stepwise`: TRL's stepwise-supervision rows (process reward model data) from diagnosed
steps: every step before the first wrong one is labelled correct, that one wrong, and the
row stops there (what follows a wrong step has no clean label, as in Math-Shepherd and
ProcessBench). Correct samples whose steps all check out can be added, all labelled correct.
"""

from __future__ import annotations

from dataclasses import dataclass

from lessons.builders._solutions import steps_check_out
from lessons.builders.base import Lesson, Provenance, config_args
from lessons.builders.source import LessonSource
from lessons.diagnose.steps import split_steps


@dataclass(frozen=True)
class StepwiseConfig:
    min_confidence: float = 0.0  # skip locations the locator is less sure of than this (0..1)
    include_correct: bool = True  # add correct samples (no false arithmetic step) with every label True


class StepwiseBuilder:
    name = "stepwise"
    format = "stepwise"
    needs_diagnoses = True
    config_class = StepwiseConfig

    def build(self, source: LessonSource, config: StepwiseConfig | None = None) -> list[Lesson]:
        config = config or StepwiseConfig()
        args = config_args(config)
        lessons = []
        for attempt in source.attempts:
            task = source.tasks[attempt.task_id]
            prompt = source.render(task)[-1]["content"]
            if attempt.correct:
                if not config.include_correct or attempt.finish_reason == "length":
                    continue
                steps = [s.text for s in split_steps(attempt.text) if s.text]
                if not steps or not steps_check_out(task, attempt.text):
                    continue
                labels, method, first_wrong = [True] * len(steps), None, None
            else:
                d = source.diagnoses.get(attempt.id)
                if d is None or d.location.step is None or d.location.confidence < config.min_confidence:
                    continue
                first_wrong = d.location.step
                steps = [s.text for s in d.steps[: first_wrong + 1]]
                labels, method = [True] * first_wrong + [False], d.location.method
            if not all(steps):
                continue
            lessons.append(Lesson(
                {"prompt": prompt, "completions": steps, "labels": labels},
                Provenance(builder=self.name, run_id=source.run.id, task_id=task.id, attempt_ids=(attempt.id,),
                           diagnosis_method=method, args=args, detail={"first_wrong_step": first_wrong}),
            ))
        return lessons
