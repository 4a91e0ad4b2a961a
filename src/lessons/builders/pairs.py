"""`pairs`: on-policy preference pairs for DPO, a correct and an incorrect sample of the
same task (the model's own "suboptimal" data, which teaches more than others' mistakes).

Needs a run with several samples per task (`lessons eval --samples 4`), so that some
tasks have both. With `gold_fallback`, a task never solved gets the gold solution as its
chosen answer (for a code run, the reference program, run against its tests first):
off-policy, but it covers the tasks that matter most.
"""

from __future__ import annotations

from dataclasses import dataclass

from lessons.builders._solutions import unique
from lessons.builders.base import Lesson, Provenance, config_args
from lessons.builders.source import LessonSource
from lessons.store.db import AttemptRow


@dataclass(frozen=True)
class PairsConfig:
    per_task: int = 2  # pairs per task at most (each distinct sample is used before any repeats)
    gold_fallback: bool = False  # a task with no correct sample gets the gold solution as chosen
    unanswered: bool = True  # responses with no extractable answer may be rejected
    check_steps: bool = True  # a chosen sample must hold no false arithmetic statement


class PairsBuilder:
    name = "pairs"
    format = "preference"
    needs_diagnoses = False
    config_class = PairsConfig

    def build(self, source: LessonSource, config: PairsConfig | None = None) -> list[Lesson]:
        config = config or PairsConfig()
        lessons = []
        for task_id, task in source.tasks.items():
            attempts = source.by_task.get(task_id, [])
            chosen = self._chosen(source, task_id, attempts, config)
            rejected = [a for a in attempts if not a.correct and a.text.strip()
                        and (config.unanswered or a.extraction_status == "ok")]
            rejected_texts = unique(a.text.strip() for a in rejected)
            if not chosen or not rejected_texts:
                continue
            by_text = {a.text.strip(): a for a in reversed(rejected)}
            prompt = source.render(task)
            for i in range(min(config.per_task, max(len(chosen), len(rejected_texts)))):
                good, good_attempt = chosen[i % len(chosen)]
                bad = rejected_texts[i % len(rejected_texts)]
                ids = tuple(x.id for x in (good_attempt, by_text[bad]) if x is not None)
                row = {"prompt": prompt, "chosen": [{"role": "assistant", "content": good}],
                       "rejected": [{"role": "assistant", "content": bad}]}
                lessons.append(Lesson(row, Provenance(
                    builder=self.name, run_id=source.run.id, task_id=task_id, attempt_ids=ids,
                    args=config_args(config), detail={"chosen": "sample" if good_attempt else "gold"},
                )))
        return lessons

    def _chosen(self, source: LessonSource, task_id: str, attempts: list[AttemptRow], config: PairsConfig
                ) -> list[tuple[str, AttemptRow | None]]:
        task = source.tasks[task_id]
        good = [a for a in attempts if a.correct and a.finish_reason != "length" and a.text.strip()]
        if config.check_steps:
            good = [a for a in good if source.steps_check_out(task, a.text)]
        by_text = {a.text.strip(): a for a in reversed(good)}
        chosen: list[tuple[str, AttemptRow | None]] = [(t, by_text[t]) for t in unique(a.text.strip() for a in good)]
        if not chosen and config.gold_fallback and not any(a.correct for a in attempts):
            text = source.gold_response(task)
            if source.is_correct(task, text):
                chosen = [(text, None)]
        return chosen
