"""Budgeted error search (SEA; Self-Challenge): spend a budget of generations on new tasks
near the model's observed mistakes, and count the new errors it finds, against the same
budget spent on random tasks of the suite.

Near tasks are what the `practice` builder makes for the run's weak slices, weakest first
and evenly shared (the generator's parameters of the failed tasks for `arith` and `code`,
re-sampled numbers of failed tasks for task files, a teacher's problems when one is
configured), each verified before use; random tasks are train-split tasks of the same
suite that the run did not answer, drawn by the seed. The run's model answers both sets
greedily, with the run's template, verifier and token limit, each set a run of its own in
the log (so `lessons mistakes` and `lessons diagnose` take them, and a killed search
resumes). The figure is errors per 100 generations in each set and their difference, with
a 95% bootstrap interval (the two sets are independent: each is resampled on its own).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

import numpy as np

from lessons.builders.base import make_builder, make_config
from lessons.builders.practice import task_of_row, weak_slices
from lessons.builders.source import load_source, suite_tasks
from lessons.metrics import unpaired_bootstrap
from lessons.store import Store, content_id
from lessons.tasks.base import SuiteInfo, Task, TaskList


@dataclass(frozen=True)
class Search:
    """One way of spending the budget: its tasks' run and the errors the model made."""

    kind: str  # "near" (the weak slices' new tasks) or "random"
    run: str
    tasks: int
    errors: int

    @property
    def per_100(self) -> float:
        return 100 * self.errors / self.tasks if self.tasks else 0.0


@dataclass(frozen=True)
class Exploration:
    run: str  # the run whose mistakes were searched near
    budget: int
    slices: tuple[str, ...]  # the weak slices the near tasks came from
    near: Search
    random: Search
    difference: float  # near - random, errors per 100 generations
    ci95: tuple[float, float]

    def to_json(self) -> dict[str, Any]:
        return {"run": self.run, "budget": self.budget, "slices": list(self.slices),
                "near": {"run": self.near.run, "tasks": self.near.tasks, "errors": self.near.errors,
                         "per_100": self.near.per_100},
                "random": {"run": self.random.run, "tasks": self.random.tasks, "errors": self.random.errors,
                           "per_100": self.random.per_100},
                "difference": self.difference, "ci95": list(self.ci95)}


def explore(store: Store, run_name: str, budget: int, backend: Any, seed: int = 0, batch_size: int = 16,
            resources: dict[str, Any] | None = None, on_progress: Any = None) -> Exploration:
    """Search near the run's mistakes and at random, `budget` generations each."""
    if budget < 1:
        raise ValueError(f"budget must be at least 1, got {budget}")
    source = load_source(store, run_name)
    slices = weak_slices(source, 5)
    if not slices:
        raise ValueError(f"run {run_name!r} has no weak slice with a failed train task to search near")
    builder = make_builder("practice", **(resources or {}))
    per_slice = math.ceil(budget / len(slices))
    built = builder.build(source, make_config(builder, {"per_slice": per_slice, "seed": seed}), slices)
    near = [task_of_row(lesson.row) for lesson in built]
    random.Random(f"explore/{seed}").shuffle(near)  # a budget below the slices' total takes from each
    answered = set(source.run.task_ids)
    pool = [t for t in suite_tasks(source.run) if t.split == "train" and t.id not in answered]
    random.Random(f"explore/random/{seed}").shuffle(pool)
    searches = {kind: _answer(store, backend, source, kind, tasks[:budget], seed, batch_size, on_progress)
                for kind, tasks in (("near", near), ("random", pool))}
    scores = {kind: np.array([1.0 if wrong else 0.0 for wrong in s[1]]) for kind, s in searches.items()}
    lo, hi = unpaired_bootstrap(scores["random"], scores["near"], seed=seed)
    near_s, random_s = searches["near"][0], searches["random"][0]
    return Exploration(run_name, budget, tuple(str(s.spec) for s in slices), near_s, random_s,
                       near_s.per_100 - random_s.per_100, (100 * lo, 100 * hi))


def _answer(store: Store, backend: Any, source: Any, kind: str, tasks: list[Task], seed: int, batch_size: int,
            on_progress: Any) -> tuple[Search, list[bool]]:
    """The run's model on `tasks` (greedy, the run's settings), a run of its own."""
    from lessons.runner import EvalConfig, evaluate

    if not tasks:
        raise ValueError(f"no {kind} tasks to search: the suite of run {source.run.name!r} has none left")
    run = source.run
    ids = [t.id for t in tasks]
    info = SuiteInfo(name=f"explore-{kind}", version="1", source=f"explore:{run.id}", fingerprint=content_id(ids))
    name = f"{run.name}-explore-{kind}-{len(ids)}-" + content_id(run.id, ids, seed)[:6]
    config = EvalConfig(split="all", max_new_tokens=run.sampling.max_new_tokens, batch_size=batch_size,
                        template=source.template.name, verifier=source.verifier, extract=source.extract_methods,
                        run_name=name)
    result = evaluate(store, backend, TaskList(info, tasks), config, on_progress=on_progress)
    wrong = {a.task_id: not a.correct for a in store.attempts(result.summary.run_id)}
    flags = [wrong[t] for t in ids if t in wrong]
    return Search(kind, result.summary.run_name, len(flags), sum(flags)), flags
