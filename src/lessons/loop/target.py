"""The round's target: the one or two slices where training can fix the most, chosen from
the train-split diagnosis before any lesson is built, and the held-out tasks it is judged on.

A slice is a candidate when SliceLine finds it weak, or when it is one value of one
feature (`skill=fractions`, `difficulty=3`). Its error rate counts only mistakes training
can fix: a cut-off, unreadable or missing answer (`truncated`, `format`, `no_attempt`) says
more about the token limit and the template than about the skill. Candidates are ranked by
the lower end of the 95% Wilson interval of that rate, so a slice of four tasks that all
failed does not beat one of twenty that failed eighteen times; a slice needs `min_tasks`
train tasks to be practised and judged.

A high error rate is not enough: the model learns from its own verified solutions, so a
slice it never solves teaches it little (two-digit long multiplication, solved by 11-18%
of samples, trained no better than random tasks; benchmarks/RESULTS.md). SwS keeps the
problems the model solves only sometimes. So the best candidates (`PROBE`, the loop's
`probe`) are probed: their failed train tasks are sampled as practice tasks are
(`samples` at `temperature`), and a failure counts as *reachable* when one sample
verifies. The probed candidates are ranked by the Wilson lower bound of reachable
failures per attempt: mistakes the model makes and can already avoid sometimes, which is
what training on its own solutions turns into accuracy. The probe's verified samples are
the target's first practice rows (the loop's `failures`).

The target's held-out tasks are the random held-out sample's members of the slice plus
further held-out tasks of the slice up to `tasks` in all (a file suite may have fewer):
enough for a paired interval to resolve a 10-point difference, where the random sample
holds a handful.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from lessons.builders.practice import WeakSlice
from lessons.builders.source import LessonSource
from lessons.diagnose.slices import Predicate, SliceConfig, SliceRow, SliceSpec, find_weak_slices, slice_features
from lessons.store.db import AttemptRow
from lessons.tasks.base import Suite, Task

UNFIXABLE = frozenset({"truncated", "format", "no_attempt"})  # not what practising a skill fixes
MAX_SCAN = 100_000  # generator tasks looked at for held-out members of the target
PROBE = 3  # best-ranked candidates whose failed train tasks are sampled before choosing


@dataclass(frozen=True)
class TargetSlice:
    spec: SliceSpec
    tasks: int  # train tasks in the slice
    attempts: int
    fixable: int  # attempts with a mistake training can fix
    error_rate: float  # fixable / attempts
    lower: float  # lower end of its 95% Wilson interval
    failed: tuple[str, ...]  # train tasks in the slice with a fixable mistake, in run order
    reached: int | None = None  # failed tasks the probe solved (None: not probed)
    reach_lower: float | None = None  # Wilson lower bound of reached / attempts

    @property
    def name(self) -> str:
        return str(self.spec)

    @property
    def predicates(self) -> dict[str, str]:
        """Feature -> label, as the loop's target stage records the slice."""
        return self.spec.labels()

    def as_weak(self) -> WeakSlice:
        """The slice as the practice builder takes it."""
        return WeakSlice(self.spec, self.failed, self.error_rate)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "predicates": self.predicates, "tasks": self.tasks, "attempts": self.attempts,
                "fixable": self.fixable, "error_rate": self.error_rate, "lower": self.lower,
                "failed": list(self.failed), "reached": self.reached, "reach_lower": self.reach_lower}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "TargetSlice":
        return cls(SliceSpec.from_labels(d["predicates"]), d["tasks"], d["attempts"], d["fixable"], d["error_rate"], d["lower"],
                   tuple(d["failed"]), d.get("reached"), d.get("reach_lower"))


def fixable(source: LessonSource, attempt_id: int) -> bool:
    """A mistake whose primary error type practice can fix (undiagnosed ones count)."""
    d = source.diagnoses.get(attempt_id)
    return d is None or d.error_type not in UNFIXABLE


def candidates(source: LessonSource) -> list[SliceSpec]:
    """SliceLine's weak slices on fixable mistakes, then every single feature value."""
    rows = [SliceRow(features=slice_features(source.tasks[a.task_id].metadata),
                     mistake=not a.correct and fixable(source, a.id)) for a in source.attempts]
    found = [s.spec for s in find_weak_slices(rows, SliceConfig(k=10))]
    singles = {Predicate.equal(k, v) for t in source.tasks.values() for k, v in slice_features(t.metadata).items()}
    found += [SliceSpec((p,)) for p in sorted(singles, key=lambda p: (p.feature, p.label))]
    return list(dict.fromkeys(found))  # once each, first place kept


def rank(source: LessonSource, min_tasks: int) -> list[TargetSlice]:
    """Every candidate with at least `min_tasks` train tasks and one fixable mistake, by
    the lower bound of its fixable error rate (then its size)."""
    out = []
    for spec in candidates(source):
        members = [t for t in source.tasks.values() if spec.matches(t.metadata)]
        attempts = [a for t in members for a in source.by_task.get(t.id, [])]
        wrong = [a for a in attempts if not a.correct and fixable(source, a.id)]
        if len(members) < min_tasks or len(members) == len(source.tasks) or not wrong:  # a slice, not all
            continue
        failed = tuple(dict.fromkeys(a.task_id for a in wrong))
        out.append(TargetSlice(spec, len(members), len(attempts), len(wrong), len(wrong) / len(attempts),
                               _wilson_low(len(wrong), len(attempts)), failed))
    out.sort(key=lambda s: (-s.lower, -s.tasks, s.name))
    return out


def _wilson_low(k: int, n: int) -> float:
    from scipy.stats import binomtest

    return float(binomtest(k, n).proportion_ci(method="wilson").low)


def to_probe(ranked: Sequence[TargetSlice], probe: int = PROBE) -> list[str]:
    """The failed train tasks of the best `probe` candidates, each once, in rank order."""
    return list(dict.fromkeys(t for s in ranked[:probe] for t in s.failed))


def reach(ranked: Sequence[TargetSlice], solved: set[str], probe: int = PROBE) -> list[TargetSlice]:
    """The probed candidates with their reachable failures (those in `solved`), ranked by
    the lower bound of reachable failures per attempt; candidates beyond them were not
    probed and are not chosen."""
    out = []
    for s in ranked[:probe]:
        reached = sum(t in solved for t in s.failed)
        out.append(dataclasses.replace(s, reached=reached, reach_lower=_wilson_low(reached, s.attempts)))
    out.sort(key=lambda s: (-(s.reach_lower or 0.0), -s.lower, s.name))
    return out


# Samples the given train tasks as practice tasks are sampled; returns every attempt.
Probe = Callable[[Sequence[Task]], Sequence[AttemptRow]]


def choose(source: LessonSource, slices: int = 1, min_tasks: int = 8, probe: Probe | None = None,
           probed: int = PROBE) -> list[TargetSlice]:
    """The `slices` best-ranked slices that do not overlap a better one (share no train
    task): by reachable failures when `probe` samples the failed train tasks of the best
    `probed` candidates, else by fixable failures alone."""
    from lessons.loop.solutions import verified

    ranked = rank(source, min_tasks)
    if probe is not None and probed > 0:
        posed = [source.tasks[t] for t in to_probe(ranked, probed)]
        solved = {a.task_id for a in probe(posed) if verified(source, source.tasks[a.task_id], a)}
        ranked = reach(ranked, solved, probed)
    chosen: list[TargetSlice] = []
    members: set[str] = set()
    for s in ranked:
        mine = {t for t in source.tasks if s.spec.matches(source.tasks[t].metadata)}
        if mine & members:
            continue
        chosen.append(s)
        members |= mine
        if len(chosen) == slices:
            break
    return chosen


def in_target(task: Task, target: Sequence[TargetSlice]) -> bool:
    return any(s.spec.matches(task.metadata) for s in target)


def heldout_tasks(suite: Suite, target: Sequence[TargetSlice], sample: Sequence[str], wanted: int,
                  generator: bool) -> list[Task]:
    """Held-out tasks in the target beyond the random sample (ids in `sample`), so that
    the two together hold `wanted`, or as many as the suite has (a file, a generator's
    first `MAX_SCAN` tasks)."""
    have = set(sample)
    out: list[Task] = []
    for task in suite.tasks(MAX_SCAN if generator else None):
        if task.split != "heldout" or not in_target(task, target):
            continue
        if task.id in have:  # the sample is the split's first tasks: met before any other
            wanted -= 1
        else:
            out.append(task)
        if len(out) >= wanted:
            break
    return out[: max(wanted, 0)]
