"""Answer aggregation over k samples: majority vote and perplexity consistency (RPC).

Self-consistency (maj@k) counts votes; it needs many samples before its estimate settles.
RPC ("A Theoretical Study on Bridging Internal Probability and Self-Consistency for LLM
Reasoning", Zhou et al., NeurIPS 2025) weighs each answer by the model's own probability
of the reasoning paths that reach it, which converges faster, and first prunes paths of
low probability. As implemented here:

- a path's probability is exp(mean token log-probability), the inverse of its
  perplexity (the log-probs the backends record, summed, over the completion's tokens);
- *perplexity consistency*: an answer scores the summed probability of the *distinct*
  completions that give it (a completion sampled twice counts once: its probability
  already says how likely it is);
- *reasoning pruning*: the task's path probabilities are fitted by a mixture of two
  Weibull distributions (maximum likelihood, scipy), and a path is dropped when it is
  more likely to come from the lower component *and* below the mean probability;
- the answer with the highest score wins; a tie gives each tied answer an equal share of
  the credit, so the expected accuracy of breaking ties at random is what is reported.

Answers are the same when they read as the same number ("12", "12.0", "$12"), else when
their trimmed texts are equal. A sample without an extracted answer never wins; samples
without log-probs (an endpoint that gives none) leave RPC undefined (None).
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from typing import Sequence

import numpy as np

from lessons.arith import parse_number
from lessons.records import AttemptRow

_START = (0.5, 1.0, 1.0, 1.5, 2.0)  # w, k1, lambda1, k2, lambda2
_BOUNDS = ((0.2, 0.8), (0.01, None), (0.01, None), (0.01, None), (0.01, None))


def answer_key(answer: str) -> object:
    """What makes two extracted answers one vote: their value when both are numbers."""
    value = parse_number(answer)
    return value if value is not None else answer.strip()


def _answered(samples: Sequence[AttemptRow]) -> list[AttemptRow]:
    return [a for a in samples if a.extraction_status == "ok" and a.answer]


def majority_correct(samples: Sequence[AttemptRow]) -> bool:
    """Majority vote over extracted answers (ties: the earliest sample's answer wins);
    correct when the winning answer was judged correct. No answer never wins."""
    answered = _answered(samples)
    if not answered:
        return False
    votes = Counter(answer_key(a.answer) for a in answered)  # type: ignore[arg-type]
    top = max(votes.values())
    return next(a.correct for a in answered if votes[answer_key(a.answer)] == top)  # type: ignore[arg-type]


def path_probability(attempt: AttemptRow) -> float | None:
    if attempt.logprob is None or attempt.completion_tokens <= 0:
        return None
    return math.exp(attempt.logprob / attempt.completion_tokens)


def rpc_correct(samples: Sequence[AttemptRow], prune: bool = True) -> float | None:
    """The RPC credit of one task's samples (0..1, shared on ties); None without log-probs."""
    probabilities = [path_probability(a) for a in samples]
    if not samples or any(p is None for p in probabilities):
        return None
    keep = _unpruned(np.array(probabilities, dtype=float)) if prune else np.ones(len(samples), dtype=bool)
    scores: dict[object, float] = {}
    correct: dict[object, bool] = {}
    seen: set[tuple[object, str]] = set()
    for a, p, kept in zip(samples, probabilities, keep):
        if not kept or a.extraction_status != "ok" or not a.answer:
            continue
        key = answer_key(a.answer)
        correct.setdefault(key, a.correct)
        if (key, a.text) not in seen:  # a distinct path counts once
            seen.add((key, a.text))
            scores[key] = scores.get(key, 0.0) + float(p)  # type: ignore[arg-type]
    if not scores:
        return 0.0
    best = max(scores.values())
    winners = [k for k, s in scores.items() if s >= best * (1 - 1e-12)]
    return sum(correct[k] for k in winners) / len(winners)


def rpc_curve(tasks: Sequence[Sequence[AttemptRow]]) -> list[float] | None:
    """Mean RPC credit over tasks using each task's first m samples, for m = 1..k; None
    when some sample has no log-prob."""
    if not tasks:
        return None
    k = min(len(s) for s in tasks)
    curve = []
    for m in range(1, k + 1):
        credits = [rpc_correct(s[:m]) for s in tasks]
        if any(c is None for c in credits):
            return None
        curve.append(float(np.mean(credits)))
    return curve


def samples_to_match(curve: Sequence[float], target: float) -> int | None:
    """The fewest samples per task at which the curve reaches `target` (maj@k, say)."""
    return next((m for m, value in enumerate(curve, start=1) if value >= target - 1e-12), None)


def _unpruned(p: np.ndarray) -> np.ndarray:
    """Which paths survive reasoning pruning (module docstring); all of them when the
    mixture cannot be fitted (fewer than four paths, equal probabilities, no convergence)."""
    keep = np.ones(len(p), dtype=bool)
    if len(p) < 4 or np.ptp(p) <= 1e-12:
        return keep
    from scipy.optimize import minimize

    def nll(params: np.ndarray) -> float:
        return -float(np.sum(np.log(_mixture(p, *params) + 1e-300)))

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        fit = minimize(nll, np.array(_START), bounds=_BOUNDS)
    if not fit.success or not np.all(np.isfinite(fit.x)):
        return keep
    w, k1, l1, k2, l2 = fit.x
    if _weibull_mean(k1, l1) < _weibull_mean(k2, l2):  # component 1 is the high-probability one
        w, k1, l1, k2, l2 = 1 - w, k2, l2, k1, l1
    high, low = w * _weibull(p, k1, l1), (1 - w) * _weibull(p, k2, l2)
    return ~((low > high) & (p < p.mean()))


def _weibull(x: np.ndarray, k: float, lam: float) -> np.ndarray:
    return (k / lam) * (x / lam) ** (k - 1) * np.exp(-((x / lam) ** k))


def _mixture(x: np.ndarray, w: float, k1: float, l1: float, k2: float, l2: float) -> np.ndarray:
    return w * _weibull(x, k1, l1) + (1 - w) * _weibull(x, k2, l2)


def _weibull_mean(k: float, lam: float) -> float:
    return lam * math.gamma(1 + 1 / k)
