"""Solutions the model can learn from: its own, sampled, verified, more samples where it fails.

Both arms get their rows by this one procedure, the treatment on its practice tasks and
the control on random train tasks, so they differ only in which tasks they practise:

1. `samples` solutions per task at `temperature`, the tasks posed in waves until the
   budget is met (at most the tasks given; tasks sampled before, the target's failed
   train tasks, come first and need no wave). A wave after the first is sized by the
   yield so far (rows per posed task) for what is still missing, with a quarter more
   to spare, but never below half a wave: decoding is sequential, so a pass of one task
   costs nearly what a pass of twenty does (4 samples of one task took 63-112 s, of 24
   tasks 156-215 s, in the seeds' builds; RESULTS.md);
2. then every posed task with no verified solution gets `retry` more, all in one pass
   (DART-Math's difficulty-aware rejection sampling: the hard queries get the samples,
   not the easy ones). One pass, not one per wave: a wave's few unsolved tasks made
   passes of one to eleven tasks, each as slow as a full one;
3. tasks still unsolved may be solved once more with the answer given as a hint (STaR's
   rationalisation); the hint is not in the trained prompt, and such rows are at most
   `hint_share` of the budget. Not on a code suite: its answer is the reference program,
   and a hinted solve would copy it;
4. a solution is kept when its answer verifies by the run's verifier (a program: every
   test passes in the sandbox; the sampling runs judged each pass in one batch), it was
   not cut off, and no step states a false calculation or contradicts the gold value of
   the same computation (`LessonSource.steps_check_out`; a program has no such steps); up to `keep`
   distinct ones per task, the shortest first, taken round-robin over tasks so that the
   budget covers as many tasks as it can. Shortest first: of two verified solutions the
   shorter has fewer steps to get wrong and is less likely to teach an answer that the
   token limit cuts off (the treatment of seed 0 trained on rows a third longer than the
   control's and had twice the base's cut-off answers on its target; RESULTS.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

from lessons.builders import normalized
from lessons.builders.source import LessonSource
from lessons.store.db import AttemptRow
from lessons.tasks.base import Task

HINT = "\n\n(Hint: the answer is {answer}. Show the steps that reach it.)"


@dataclass(frozen=True)
class Sampling:
    samples: int = 4  # solutions per task, first pass
    temperature: float = 0.7
    retry: int = 2  # more solutions for each task the first pass did not solve
    keep: int = 3  # distinct verified solutions kept per task
    hint_share: float = 0.25  # most of the rows that may come from hinted solves (0: none)


@dataclass(frozen=True)
class Solution:
    task: Task  # as posed (without the hint)
    text: str
    attempt_id: int
    origin: str  # "sampled", "retry" or "hinted"


# Asks the model for `n` samples of each task; returns every attempt. `name` tells the
# passes apart (each is a run of its own in the log, so it resumes and is never repeated).
Sampler = Callable[[str, Sequence[Task], int], Sequence[AttemptRow]]


def verified(source: LessonSource, task: Task, attempt: AttemptRow) -> bool:
    """Whether a sampled solution can be learned from: its verdict (the run's verifier's,
    given when it was sampled) is right, it was not cut off, it does not talk of a hint
    (programs are never hinted), and its working checks out (`source.steps_check_out`)."""
    return (attempt.correct and attempt.finish_reason != "length"
            and (source.judges_programs or "hint" not in attempt.text.lower())
            and source.steps_check_out(task, attempt.text))


def solve(source: LessonSource, tasks: Sequence[Task], sample: Sampler, sampling: Sampling, budget: int, kind: str,
          wave: int, drawn: Mapping[str, Sequence[AttemptRow]] | None = None) -> list[Solution]:
    """Up to `budget` solutions of `tasks` by the procedure above, posing the tasks in
    waves of `wave` until the budget is met (see the module doc), checked as `source`'s
    run is judged. `drawn` holds first-pass samples some tasks already have (the target's
    probe): they are not sampled again."""
    found: dict[str, list[Solution]] = {}
    by_id = {t.id: t for t in tasks}
    drawn = drawn or {}

    def absorb(posed: Sequence[Task], attempts: Sequence[AttemptRow], origin: str) -> None:
        seen = {t.id: {normalized(s.text) for s in found[t.id]} for t in posed}
        asked = {t.id: t for t in posed}
        for a in attempts:
            if a.task_id not in asked or not verified(source, asked[a.task_id], a):
                continue
            key = normalized(a.text)
            if key not in seen[a.task_id]:
                seen[a.task_id].add(key)
                mine = found[a.task_id]
                mine.append(Solution(by_id[a.task_id], a.text, a.id, origin))
                mine.sort(key=lambda s: len(s.text))  # the shortest first (stable: ties keep their order)

    def collect(name: str, posed: Sequence[Task], n: int, origin: str) -> None:
        if posed and n >= 1:
            absorb(posed, sample(name, posed, n), origin)

    hinted_cap = 0 if source.judges_programs else int(sampling.hint_share * budget)
    ready = [t for t in tasks if t.id in drawn]  # sampled before: no wave of their own
    fresh = [t for t in tasks if t.id not in drawn]
    posed: list[Task] = list(ready)
    found.update({t.id: [] for t in ready})
    absorb(ready, [a for t in ready for a in drawn[t.id]], "sampled")
    start, number = 0, 0
    while start < len(fresh):
        have = len(_round_robin(posed, found, sampling.keep, budget, 0))
        if have >= budget:
            break
        batch = fresh[start:start + next_wave(wave, budget - have, have, len(posed))]
        start, number = start + len(batch), number + 1
        posed += batch
        found.update({t.id: [] for t in batch})
        collect(f"{kind}-w{number}", batch, sampling.samples, "sampled")
    collect(f"{kind}-retry", [t for t in posed if not found[t.id]], sampling.retry, "retry")
    unsolved = [t for t in posed if not found[t.id]][: 2 * hinted_cap]
    if hinted_cap > 0 and unsolved:
        collect(f"{kind}-hint", [hinted(t) for t in unsolved], sampling.retry or sampling.samples, "hinted")
    return _round_robin(posed, found, sampling.keep, budget, hinted_cap)


def next_wave(wave: int, missing: int, have: int, posed: int) -> int:
    """Tasks to pose next: a full `wave` before anything is known, then enough for the
    `missing` rows at the yield so far (`have` rows from `posed` tasks), a quarter more
    to spare, never more than a wave nor less than half of one."""
    wave = max(wave, 1)
    if posed == 0 or have == 0:
        return wave
    return max(math.ceil(wave / 2), min(wave, math.ceil(1.25 * missing * posed / have)))


def hinted(task: Task) -> Task:
    """The task with its answer given in the question (same id: the rows train on `task`)."""
    return Task(task.id, task.prompt + HINT.format(answer=task.answer), task.answer, task.steps, task.metadata,
                task.split)


def _round_robin(tasks: Sequence[Task], found: dict[str, list[Solution]], keep: int, budget: int,
                 hinted_cap: int) -> list[Solution]:
    out: list[Solution] = []
    hinted_rows = 0
    for rank in range(keep):
        for t in tasks:
            if len(out) >= budget:
                return out
            if rank < len(found[t.id]):
                s = found[t.id][rank]
                if s.origin == "hinted":
                    if hinted_rows >= hinted_cap:
                        continue
                    hinted_rows += 1
                out.append(s)
    return out
