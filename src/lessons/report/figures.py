"""Figures of held-out runs as the report shows them, for one run (`run.py`) and for
a loop's arms (`lessons.loop.measure`): accuracy with its interval, slices, error types,
fixed and new mistakes, taxonomy clusters, lineage.

Every figure comes from attempts in the log and names them: accuracies are over the
runs' tasks (a task scores the share of its samples that are correct), intervals are 95%
bootstrap intervals over tasks, paired by task for differences; fixed, new and
persistent mistakes list the attempt ids before and after.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable, Sequence

import numpy as np

from lessons.diagnose.slices import Predicate, SliceSpec
from lessons.metrics import Outcomes, bootstrap_ci, outcomes, paired_bootstrap, task_scores
from lessons.report.data import (
    Change, ChangeSide, Changes, ClusterExample, ClusterRow, ErrorTypeRow, Figure, LineageLessons, ModelLineage, SliceFigure,
)
from lessons.records import ModelVersion
from lessons.store import Store
from lessons.store.db import AttemptRow

MAX_CHANGES = 40  # fixed and new mistakes shown in full per list, with their before/after answers; the rest counted
MAX_EXAMPLES = 3  # examples shown per taxonomy cluster


class Arm:
    """One held-out run: its attempts by task, scores and diagnoses."""

    def __init__(self, store: Store, run_name: str, model: str):
        self.run = store.get_run(run_name)
        self.name, self.model = run_name, model
        self.attempts = store.attempts(self.run.id)
        self.scores = task_scores(self.attempts)
        self.first: dict[str, AttemptRow] = {}  # task -> first sample
        self.first_wrong: dict[str, AttemptRow] = {}  # task -> first wrong sample
        for a in self.attempts:
            self.first.setdefault(a.task_id, a)
            if not a.correct:
                self.first_wrong.setdefault(a.task_id, a)
        self.types = {d.attempt_id: d.error_type for d in store.diagnoses(self.run.id)}

    def joined(self, other: "Arm", tasks: Sequence[str]) -> "Arm":
        """This arm's `tasks` together with all of `other`'s (the same model on the target's
        further held-out tasks): one arm to measure the target on."""
        out = object.__new__(Arm)
        out.run, out.name, out.model = self.run, self.name, self.model
        keep = set(tasks)
        out.attempts = [a for a in self.attempts if a.task_id in keep] + other.attempts
        out.scores = {t: v for t, v in self.scores.items() if t in keep} | other.scores
        out.first = {t: a for t, a in self.first.items() if t in keep} | other.first
        out.first_wrong = {t: a for t, a in self.first_wrong.items() if t in keep} | other.first_wrong
        out.types = self.types | other.types
        return out

    def solved(self, task: str) -> bool:
        return self.scores.get(task, 0.0) >= 0.5

    def error_type(self, task: str) -> str:
        wrong = self.first_wrong.get(task)
        return self.types.get(wrong.id, "undiagnosed") if wrong else "-"

def accuracy_figure(arm: Arm, tasks: Sequence[str], seed: int) -> Figure:
    scores = np.array([arm.scores[t] for t in tasks], dtype=float)
    return Figure(name=arm.model, run=arm.name, accuracy=float(scores.mean()) if len(scores) else 0.0,
                  ci95=list(bootstrap_ci(scores, seed=seed)))

def paired_delta(a: Arm, b: Arm, tasks: Sequence[str], seed: int) -> tuple[float, list[float]]:
    sa = np.array([a.scores[t] for t in tasks], dtype=float)
    sb = np.array([b.scores[t] for t in tasks], dtype=float)
    if not len(tasks):
        return 0.0, [0.0, 0.0]
    return float(sb.mean() - sa.mean()), list(paired_bootstrap(sa, sb, seed=seed))


def slice_rows(base: Arm, treat: Arm | None, control: Arm | None, tasks: Sequence[str],
               weak: Iterable[SliceSpec], seed: int) -> list[SliceFigure]:
    """The round's weak slices, then every skill: accuracy of each arm with intervals and
    the fixed/new/persistent counts of the treatment."""
    groups: list[tuple[str, bool, list[str]]] = []
    for p in weak:
        groups.append((str(p), True, [t for t in tasks if p.matches(base.first[t].metadata)]))
    skills = sorted({base.first[t].skill for t in tasks if base.first[t].skill})
    named = {name for name, _, _ in groups}
    for skill in skills:  # a skill already listed as a weak slice is not listed twice
        name = str(Predicate.equal("skill", skill))
        if name not in named:
            groups.append((name, False, [t for t in tasks if base.first[t].skill == skill]))
    rows = []
    for name, is_weak, members in groups:
        if not members:
            continue
        row: dict[str, Any] = {"name": name, "weak": is_weak, "tasks": len(members)}
        for key, arm in (("base", base), ("treatment", treat), ("control", control)):
            if arm is not None:
                acc = accuracy_figure(arm, members, seed)
                row[key], row[f"{key}_ci95"] = acc.accuracy, acc.ci95
        if treat is not None:
            row |= outcome_counts(base, treat, members)
        rows.append(SliceFigure(**row))
    return rows


def _split(base: Arm, treat: Arm, tasks: Iterable[str]) -> Outcomes:
    return outcomes(tasks, base.solved, treat.solved)


def outcome_counts(base: Arm, treat: Arm, tasks: Iterable[str]) -> dict[str, int]:
    return _split(base, treat, tasks).counts()


def type_rows(base: Arm, treat: Arm | None, control: Arm | None, tasks: Sequence[str]) -> list[ErrorTypeRow]:
    """Mistakes per error type in each arm (Pareto order of the base); fixed and persistent
    mistakes counted under the base's type, new ones under the treatment's."""
    rows: dict[str, dict[str, Any]] = defaultdict(lambda: {"base": 0, "treatment": 0, "control": 0, "fixed": 0,
                                                           "new": 0, "persistent": 0})
    for key, arm in (("base", base), ("treatment", treat), ("control", control)):
        if arm is None:
            continue
        for t in tasks:
            if not arm.solved(t):
                rows[arm.error_type(t)][key] += 1
    if treat is not None:
        split = _split(base, treat, tasks)
        for kind, members in (("fixed", split.fixed), ("persistent", split.persistent)):
            for t in members:
                rows[base.error_type(t)][kind] += 1
        for t in split.new:
            rows[treat.error_type(t)]["new"] += 1
    out = [ErrorTypeRow(type=k, **v) for k, v in rows.items()]
    out.sort(key=lambda r: (-(r.base or 0), -(r.treatment or 0), r.type))
    if treat is None:
        out = [ErrorTypeRow(type=r.type, base=r.base) for r in out]
    return out


def changes(base: Arm, treat: Arm, tasks: Sequence[str], weak: Sequence[SliceSpec]) -> Changes:
    def side(arm: Arm, t: str) -> ChangeSide:
        a = arm.first[t]
        return ChangeSide(attempt_id=a.id, answer=a.answer, correct=a.correct, response=a.text)

    def entry(t: str, kind: str) -> Change:
        a = base.first[t]
        hit = [str(p) for p in weak if p.matches(base.first[t].metadata)]
        named = hit[0] if hit else str(Predicate("skill", value=str(a.skill)))  # "skill=None" as before
        return Change(task_id=t, question=a.prompt, gold=a.gold, slice=named, weak=bool(hit),
                      error_type=base.error_type(t) if kind == "fixed" else treat.error_type(t),
                      before=side(base, t), after=side(treat, t))

    split = _split(base, treat, tasks)
    fixed, new, persistent = split.fixed, split.new, split.persistent
    return Changes(fixed=tuple(entry(t, "fixed") for t in fixed[:MAX_CHANGES]),
                   new=tuple(entry(t, "new") for t in new[:MAX_CHANGES]),
                   fixed_total=len(fixed), new_total=len(new), persistent=len(persistent))


def clusters(store: Store, run_name: str) -> list[ClusterRow]:
    from lessons.diagnose.pipeline import taxonomy_view

    run = store.get_run(run_name)
    out = []
    for view in taxonomy_view(store, run, examples=MAX_EXAMPLES):
        examples = []
        for attempt_id in view.examples:
            a = store.attempt(attempt_id)
            d = store.diagnosis_of(attempt_id)
            step = d.location.step if d is not None else None
            wrong = d.steps[step].text if d is not None and step is not None and step < len(d.steps) else None
            examples.append(ClusterExample(attempt_id=a.id, task_id=a.task_id, question=a.prompt, response=a.text,
                                           wrong_step=wrong, error_type=d.error_type if d else "undiagnosed",
                                           gold=a.gold, answer=a.answer))
        out.append(ClusterRow(id=view.id, name=view.name, size=view.size, terms=tuple(view.terms),
                           error_types=view.error_types, examples=tuple(examples)))
    return out


LINEAGE_SETTINGS = ("method", "max_steps", "lora_r", "learning_rate", "batch_size")  # shown per trained model


def lineage(store: Store, names: Sequence[str]) -> list[ModelLineage]:
    versions: dict[str, ModelVersion] = {}
    for v in store.model_versions():  # a name trained here is the version with a lineage
        if v.name not in versions or v.trained:
            versions[v.name] = v
    out = []
    for name in dict.fromkeys(names):
        v = versions.get(name)
        if v is None or not v.trained:
            out.append(ModelLineage(name=name, kind="packaged", config={}, created_at=v.created_at if v else ""))
            continue
        lin = v.lineage
        lessons = lin.get("lesson_set") or None
        out.append(ModelLineage(
            name=name, base=lin.get("base_model"), kind="trained",
            lessons=LineageLessons(builder=lessons.get("builder"), rows=lessons.get("rows"),
                                   content_hash=(lessons.get("content_hash") or "")[:12], path=lessons.get("path"))
            if lessons else None,
            config={k: lin.get("train_config", {}).get(k) for k in LINEAGE_SETTINGS},
            train_loss=lin.get("train_loss"), created_at=v.created_at,
        ))
    return out
