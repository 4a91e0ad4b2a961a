"""`practice`: new tasks aimed at the model's weak slices (SwS weakness-driven synthesis).

Weak slices come from SliceLine over the train split's task metadata ("skill = fractions
and difficulty = 3"); when there are too few attempts for SliceLine, the skill (and
difficulty) groups whose error rate is above the run's are used instead. Then:

- built-in `arith`: the generator draws new tasks with the parameters (skill, difficulty)
  of the slice's failed tasks, kept when they satisfy all the slice's predicates;
- task files: failed tasks in the slice whose gold solution lets the answer be recomputed
  get their numbers re-sampled (see `_resample`).

Every practice task is verified before use: each gold step's statement recomputes exactly
to its stated value, the last one is the answer, and the gold solution passes the run's
verifier. New tasks are never copies of the run's tasks; the writer drops any whose
question overlaps a held-out task.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Iterator

from lessons.builders._arith import find_statements, parse_number
from lessons.builders._resample import parse_chain, resample
from lessons.builders._solutions import gold_solution
from lessons.builders.base import Lesson, Provenance, config_args
from lessons.builders.source import LessonSource
from lessons.diagnose.slices import SliceRow, find_weak_slices
from lessons.tasks.base import Task

_RANGE = re.compile(r"^\[(-?[\d.]+), (-?[\d.]+)([)\]])$")


@dataclass(frozen=True)
class PracticeConfig:
    slices: int = 5  # weak slices practised, weakest first
    per_slice: int = 8  # new tasks per slice
    seed: int = 0  # draws are reproducible from (run, seed)
    max_tries: int = 40  # draws per wanted task before the slice gives up


@dataclass(frozen=True)
class WeakSlice:
    predicates: dict[str, str]  # feature -> category, as SliceLine labels them
    failed: tuple[str, ...]  # train tasks in the slice with a mistake, in run order
    error_rate: float


class PracticeBuilder:
    name = "practice"
    format = "tasks"
    needs_diagnoses = False
    config_class = PracticeConfig

    def build(self, source: LessonSource, config: PracticeConfig | None = None) -> list[Lesson]:
        config = config or PracticeConfig()
        generator = source.suite.get("source") == "builtin:arith"
        taken = {t.prompt for t in source.tasks.values()}
        lessons = []
        for number, weak in enumerate(weak_slices(source, config.slices)):
            made = arith_practice(source, weak, number, config) if generator else file_practice(
                source, weak, number, config)
            count = 0
            for task, seeds in made:
                if count >= config.per_slice:
                    break
                if task.prompt in taken or not verified(source, task):
                    continue
                taken.add(task.prompt)
                lessons.append(self._lesson(source, task, seeds, weak, config))
                count += 1
        return lessons

    def _lesson(self, source: LessonSource, task: Task, seeds: tuple[str, ...], weak: WeakSlice,
                config: PracticeConfig) -> Lesson:
        row = {
            "prompt": source.render(task), "task_id": task.id, "question": task.prompt, "answer": task.answer,
            "solution": "\n".join(s.text for s in task.steps), "skill": task.skill,
            "difficulty": task.metadata.get("difficulty"), "slice": _describe(weak.predicates),
        }
        attempts = tuple(a.id for t in seeds for a in source.by_task.get(t, []) if not a.correct)
        return Lesson(row, Provenance(
            builder=self.name, run_id=source.run.id, task_id=task.id, attempt_ids=attempts, source_tasks=seeds,
            args=config_args(config), detail={"slice": weak.predicates, "slice_error_rate": weak.error_rate},
        ))


def weak_slices(source: LessonSource, limit: int) -> list[WeakSlice]:
    """The train split's weak slices with at least one failed task, weakest first."""
    rows = [SliceRow(features=_features(source.tasks[a.task_id]), mistake=not a.correct) for a in source.attempts]
    found = [s.description for s in find_weak_slices(rows)] or _group_slices(source)
    out = []
    for predicates in found:
        members = [t for t in source.tasks.values() if matches(_features(t), predicates)]
        failed = tuple(t.id for t in members if any(not a.correct for a in source.by_task.get(t.id, [])))
        attempts = [a for t in members for a in source.by_task.get(t.id, [])]
        if failed and attempts:
            out.append(WeakSlice(predicates, failed, sum(not a.correct for a in attempts) / len(attempts)))
    return out[:limit]


def _features(task: Task) -> dict[str, Any]:
    return {k: v for k, v in task.metadata.items()
            if isinstance(v, (str, int, float)) and not isinstance(v, bool) and k not in ("id", "seed_task")}


def _group_slices(source: LessonSource) -> list[dict[str, str]]:
    """Skill x difficulty groups (or skill, or the whole split) with an error rate above
    the split's, most mistakes first: what to practise when SliceLine has too little data."""
    keys = [k for k in ("skill", "difficulty") if any(k in t.metadata for t in source.tasks.values())]
    groups: Counter = Counter()
    errors: Counter = Counter()
    for a in source.attempts:
        meta = source.tasks[a.task_id].metadata
        key = tuple((k, str(meta.get(k))) for k in keys)
        groups[key] += 1
        errors[key] += not a.correct
    overall = sum(errors.values()) / max(sum(groups.values()), 1)
    ranked = sorted((g for g in groups if errors[g] and errors[g] / groups[g] >= overall),
                    key=lambda g: (-errors[g], -errors[g] / groups[g], g))
    return [dict(g) for g in ranked]


def matches(features: dict[str, Any], predicates: dict[str, str]) -> bool:
    """Whether task metadata falls in a slice described by SliceLine's category labels
    ("3", "fractions", a numeric range "[2, 4)", or "missing")."""
    for name, label in predicates.items():
        value = features.get(name)
        if label == "missing":
            if value is not None:
                return False
            continue
        m = _RANGE.match(label)
        if m and isinstance(value, (int, float)):
            lo, hi, close = float(m.group(1)), float(m.group(2)), m.group(3)
            if not (lo <= value < hi or (close == "]" and value == hi)):
                return False
        elif _label(value) != label:
            return False
    return True


def _label(value: Any) -> str:
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.3g}"
    return str(value)


def _describe(predicates: dict[str, str]) -> str:
    return " and ".join(f"{k}={v}" for k, v in sorted(predicates.items())) or "all"


def arith_practice(source: LessonSource, weak: WeakSlice, number: int, config: PracticeConfig
                   ) -> Iterator[tuple[Task, tuple[str, ...]]]:
    """New arith tasks with the (skill, difficulty) of the slice's failed tasks, in turn."""
    from lessons.tasks.arith import GENERATORS

    params = Counter((source.tasks[t].skill, source.tasks[t].metadata.get("difficulty")) for t in weak.failed)
    cycle = [p for p, _ in params.most_common() if p[0] in GENERATORS and isinstance(p[1], int)]
    for draw in range(config.per_slice * config.max_tries if cycle else 0):
        skill, difficulty = cycle[draw % len(cycle)]
        rng = random.Random(f"practice/{source.run.id}/{config.seed}/{number}/{draw}")
        problem = GENERATORS[skill](rng, difficulty)
        metadata = {"skill": skill, "difficulty": difficulty, "n_steps": len(problem.steps), "source": "practice"}
        if not matches(metadata, weak.predicates):
            continue
        task = Task(_practice_id(source, problem.prompt), problem.prompt, problem.answer, problem.steps, metadata)
        seeds = tuple(t for t in weak.failed if (source.tasks[t].skill, source.tasks[t].metadata.get(
            "difficulty")) == (skill, difficulty))
        yield task, seeds


def file_practice(source: LessonSource, weak: WeakSlice, number: int, config: PracticeConfig
                  ) -> Iterator[tuple[Task, tuple[str, ...]]]:
    """Re-sampled variants of the slice's failed tasks whose gold solution recomputes."""
    chains = [(source.tasks[t], parse_chain(source.tasks[t])) for t in weak.failed]
    chains = [(t, c) for t, c in chains if c is not None]
    for draw in range(config.per_slice * config.max_tries if chains else 0):
        task, chain = chains[draw % len(chains)]
        rng = random.Random(f"practice/{source.run.id}/{config.seed}/{number}/{draw}")
        made = resample(task, chain, rng, new_id="")
        if made is not None:
            yield Task(_practice_id(source, made.prompt), made.prompt, made.answer, made.steps, made.metadata), (
                task.id,)


def _practice_id(source: LessonSource, prompt: str) -> str:
    return f"practice-{hashlib.sha256(f'{source.run.id}/{prompt}'.encode()).hexdigest()[:12]}"


def verified(source: LessonSource, task: Task) -> bool:
    """Every valued gold step recomputes exactly (a division with remainder by divmod), the
    last value is the answer, and the written-out gold solution passes the run's verifier."""
    values = [s for s in task.steps if s.value]
    if not values or parse_number(values[-1].value or "") != parse_number(task.answer):
        return False
    for step in values:
        if not _step_recomputes(step.text, parse_number(step.value or "")):
            return False
    return source.is_correct(task, gold_solution(task, source.template))


def _step_recomputes(text: str, value: Fraction | None) -> bool:
    remainder = re.search(r"(\d+) / (\d+) = (\d+) remainder (\d+)", text)
    if remainder:
        a, b, q, r = map(int, remainder.groups())
        return divmod(a, b) == (q, r) and Fraction(q) == value
    return any(s.exact and s.stated == value for s in find_statements(text))
