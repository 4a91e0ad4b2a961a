"""Numbers computed from attempts: accuracy, pass@k, maj@k, and paired comparisons."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from math import comb
from typing import Callable, Iterable, Sequence

import numpy as np

from lessons.consistency import majority_correct, rpc_curve, samples_to_match
from lessons.store.db import AttemptRow
from lessons.verify.abstention import abstained


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for one task with n samples of which c are correct (Chen et al. 2021)."""
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


def by_task(attempts: Iterable[AttemptRow]) -> dict[str, list[AttemptRow]]:
    grouped: dict[str, list[AttemptRow]] = defaultdict(list)
    for a in attempts:
        grouped[a.task_id].append(a)
    return grouped


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    run_name: str
    tasks: int
    attempts: int
    correct: int
    accuracy: float  # mean over attempts
    mistakes: int
    extraction_failures: int  # attempts whose answer could not be extracted
    samples: int
    pass_at_k: dict[str, float]  # {"pass@1": .., "pass@k": ..} when samples > 1
    maj_at_k: float | None
    by_status: dict[str, int]
    # With `aggregate` and log-probs: perplexity consistency (consistency.py) at k samples,
    # and the fewest samples per task at which it reaches maj@k (None: it never does).
    rpc_at_k: float | None = None
    rpc_samples_to_match: int | None = None
    # Responses that say they are unsure and give no answer (verify.abstention), and the
    # accuracy over the attempts that did answer (None when none did).
    abstained: int = 0
    answered_accuracy: float | None = None


def summarize_run(run_id: str, run_name: str, attempts: Sequence[AttemptRow], samples: int,
                  aggregate: bool = False) -> RunSummary:
    """The run's figures; `aggregate` adds RPC (a fit per task and sample count: seconds
    on a large run, so only where it is shown)."""
    grouped = by_task(attempts)
    correct = sum(a.correct for a in attempts)
    status = Counter(a.extraction_status for a in attempts)
    passk: dict[str, float] = {}
    maj = None
    if samples > 1 and grouped:
        for k in sorted({1, samples}):
            passk[f"pass@{k}"] = float(
                np.mean([pass_at_k(len(s), sum(a.correct for a in s), k) for s in grouped.values()])
            )
        maj = float(np.mean([majority_correct(s) for s in grouped.values()]))
    rpc, to_match = None, None
    if aggregate and maj is not None:
        curve = rpc_curve([s for s in grouped.values()])
        if curve is not None:
            rpc, to_match = curve[-1], samples_to_match(curve, maj)
    abstaining = sum(abstained(a.text, a.extraction_status) for a in attempts)
    answered = len(attempts) - abstaining
    return RunSummary(
        abstained=abstaining,
        answered_accuracy=correct / answered if answered else None,
        run_id=run_id,
        run_name=run_name,
        tasks=len(grouped),
        attempts=len(attempts),
        correct=correct,
        accuracy=correct / len(attempts) if attempts else 0.0,
        mistakes=len(attempts) - correct,
        extraction_failures=len(attempts) - status.get("ok", 0),
        samples=samples,
        pass_at_k=passk,
        maj_at_k=maj,
        by_status=dict(status),
        rpc_at_k=rpc,
        rpc_samples_to_match=to_match,
    )


def paired_bootstrap(a: np.ndarray, b: np.ndarray, resamples: int = 10_000, seed: int = 0) -> tuple[float, float]:
    """95% interval of mean(b) - mean(a) over tasks resampled with replacement, the two
    runs' scores kept paired by task."""
    if len(a) == 0:
        return (0.0, 0.0)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(a), size=(resamples, len(a)))
    deltas = b[idx].mean(axis=1) - a[idx].mean(axis=1)
    lo, hi = np.percentile(deltas, [2.5, 97.5])
    return float(lo), float(hi)


def unpaired_bootstrap(a: np.ndarray, b: np.ndarray, resamples: int = 10_000, seed: int = 0) -> tuple[float, float]:
    """95% interval of mean(b) - mean(a) for two independent samples, each resampled on its own."""
    if len(a) == 0 or len(b) == 0:
        return (0.0, 0.0)
    rng = np.random.default_rng(seed)
    deltas = (b[rng.integers(0, len(b), size=(resamples, len(b)))].mean(axis=1)
              - a[rng.integers(0, len(a), size=(resamples, len(a)))].mean(axis=1))
    lo, hi = np.percentile(deltas, [2.5, 97.5])
    return float(lo), float(hi)


def bootstrap_ci(scores: np.ndarray, resamples: int = 10_000, seed: int = 0) -> tuple[float, float]:
    """95% percentile interval of mean(scores) over tasks resampled with replacement."""
    if len(scores) == 0:
        return (0.0, 0.0)
    rng = np.random.default_rng(seed)
    means = scores[rng.integers(0, len(scores), size=(resamples, len(scores)))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(lo), float(hi)


def task_scores(attempts: Iterable[AttemptRow]) -> dict[str, float]:
    """Per task, the share of its samples that are correct."""
    return {t: float(np.mean([a.correct for a in s])) for t, s in by_task(attempts).items()}


@dataclass(frozen=True)
class Comparison:
    tasks: int  # tasks both runs attempted
    accuracy_a: float
    accuracy_b: float
    delta: float
    ci95: tuple[float, float]
    fixed: int  # wrong in A, right in B
    new: int  # right in A, wrong in B
    persistent: int  # wrong in both
    fixed_tasks: tuple[str, ...]
    new_tasks: tuple[str, ...]
    persistent_tasks: tuple[str, ...]


@dataclass(frozen=True)
class Outcomes:
    """Tasks by what happened between two arms: fixed (unsolved, then solved), new
    (solved, then not), persistent (unsolved both times); each in the order given."""

    fixed: tuple[str, ...]
    new: tuple[str, ...]
    persistent: tuple[str, ...]

    def counts(self) -> dict[str, int]:
        return {"fixed": len(self.fixed), "new": len(self.new), "persistent": len(self.persistent)}


def outcomes(tasks: Iterable[str], before: Callable[[str], bool], after: Callable[[str], bool]) -> Outcomes:
    """Split `tasks` by whether each was solved before and after (`before(task)`, `after(task)`)."""
    fixed, new, persistent = [], [], []
    for t in tasks:
        b, a = before(t), after(t)
        if not b:
            (fixed if a else persistent).append(t)
        elif not a:
            new.append(t)
    return Outcomes(tuple(fixed), tuple(new), tuple(persistent))


def compare_runs(a: Sequence[AttemptRow], b: Sequence[AttemptRow], seed: int = 0) -> Comparison:
    """Compare two runs on their common tasks. A task's score is the share of its samples
    that are correct; it counts as solved when that share is at least one half."""
    ga, gb = by_task(a), by_task(b)
    common = sorted(set(ga) & set(gb))
    sa = np.array([np.mean([x.correct for x in ga[t]]) for t in common], dtype=float)
    sb = np.array([np.mean([x.correct for x in gb[t]]) for t in common], dtype=float)
    solved_a, solved_b = dict(zip(common, sa >= 0.5)), dict(zip(common, sb >= 0.5))
    split = outcomes(common, solved_a.__getitem__, solved_b.__getitem__)
    fixed, new, persistent = split.fixed, split.new, split.persistent
    acc_a = float(sa.mean()) if common else 0.0
    acc_b = float(sb.mean()) if common else 0.0
    return Comparison(
        tasks=len(common), accuracy_a=acc_a, accuracy_b=acc_b, delta=acc_b - acc_a,
        ci95=paired_bootstrap(sa, sb, seed=seed),
        fixed=len(fixed), new=len(new), persistent=len(persistent),
        fixed_tasks=fixed, new_tasks=new, persistent_tasks=persistent,
    )
