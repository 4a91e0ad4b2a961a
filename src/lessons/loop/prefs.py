"""Preference pairs from an arm's own samples, for SFT-then-DPO (`dpo_steps` in the config).

While an arm's rows are solved (`solutions.solve`), every task it poses is sampled several
times; some samples verify and some do not. A pair is one of each for the same prompt: a
solution that verifies (`solutions.verified`: right answer, every step's arithmetic true,
not cut off; a program: every test passes) against a wrong one, both the model's own (on-policy, the "suboptimal" data
that teaches more than others' mistakes; the `pairs` builder makes the same pairs from one
evaluation run). Wrong answers that finished come before cut-off ones. Tasks are taken
round-robin, one pair each before any task gets a second, so the pairs cover as many tasks
as they can. Both arms get their pairs by this one procedure, from the tasks each practised:
the treatment's in its target, the control's drawn at random.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from lessons.builders import normalized
from lessons.builders.base import Lesson, Provenance
from lessons.builders.source import LessonSource
from lessons.loop.solutions import verified
from lessons.store.db import AttemptRow
from lessons.tasks.base import Task

PER_TASK = 2  # pairs one task may give, at most


def preference_pairs(tasks: Iterable[Task], attempts: Sequence[AttemptRow], n: int, source: LessonSource,
                     arm: str) -> list[Lesson]:
    """Up to `n` pairs (prompt, chosen, rejected) over `tasks`, from `attempts` of them,
    prompts rendered and solutions checked as `source`'s run."""
    by_task: dict[str, list[AttemptRow]] = {}
    for a in attempts:
        by_task.setdefault(a.task_id, []).append(a)
    candidates = []
    for task in dict((t.id, t) for t in tasks).values():
        mine = by_task.get(task.id, [])
        good = _distinct(a for a in mine if verified(source, task, a))
        bad = _distinct(sorted((a for a in mine if not a.correct and a.text.strip()),
                               key=lambda a: a.finish_reason == "length"))
        if good and bad:  # each distinct sample used before any repeats
            candidates.append((task, [(good[i % len(good)], bad[i % len(bad)])
                                      for i in range(min(PER_TASK, max(len(good), len(bad))))]))
    out: list[Lesson] = []
    for rank in range(PER_TASK):
        for task, pairs in candidates:
            if len(out) >= n:
                return out
            if rank < len(pairs):
                chosen, rejected = pairs[rank]
                out.append(Lesson(
                    {"prompt": source.render(task), "chosen": [{"role": "assistant", "content": chosen.text}],
                     "rejected": [{"role": "assistant", "content": rejected.text}]},
                    Provenance(builder="pairs", run_id=source.run.id, task_id=task.id,
                               attempt_ids=(chosen.id, rejected.id),
                               detail={"arm": arm, "chosen": "own sample", "rejected": rejected.finish_reason})))
    return out


def _distinct(attempts: Iterable[AttemptRow]) -> list[AttemptRow]:
    seen: dict[str, AttemptRow] = {}
    for a in attempts:
        seen.setdefault(normalized(a.text), a)
    return list(seen.values())

