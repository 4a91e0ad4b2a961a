"""Suspect labels: tasks where the model confidently and consistently disagrees with gold.

When most of a task's samples agree on one answer and that answer is judged wrong, either
the model has a stubborn misconception or the gold label is wrong ("Pervasive Label
Errors", Northcutt et al. 2021). Both deserve a look before the task feeds any lesson:
training a model towards a wrong label teaches the wrong thing.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

from lessons.arith import parse_number
from lessons.tasks import fmt

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class SuspectGroup:
    """One task's samples: (extracted answer or None, judged correct) each."""

    task_id: str
    gold: str
    samples: tuple[tuple[str | None, bool], ...]


@dataclass(frozen=True)
class Suspect:
    task_id: str
    gold: str
    agreed_answer: str  # the most common answer, as first written
    agreement: float  # share of the answered samples that give it
    samples: int  # samples with an answer


def normalize_answer(answer: str) -> str:
    """A key under which equal answers meet: "1,000", "1000.0" and "$1000" are "1000";
    "0.5" and "1/2" are "1/2"; anything not a number is lower-cased, spaces collapsed."""
    value = parse_number(answer)
    if value is not None:
        return fmt(value)
    return _SPACE.sub(" ", answer.strip().lower())


def find_suspects(
    groups: Sequence[SuspectGroup], min_samples: int = 3, agreement: float = 0.8
) -> list[Suspect]:
    """Tasks whose answered samples (at least `min_samples`) agree on one answer at least
    `agreement` of the time, when that answer is judged wrong (no sample giving it was
    judged correct). Most agreement first, then most samples, then task id."""
    found = []
    for group in groups:
        suspect = _suspect(group, min_samples, agreement)
        if suspect is not None:
            found.append(suspect)
    found.sort(key=lambda s: (-s.agreement, -s.samples, s.task_id))
    return found


def _suspect(group: SuspectGroup, min_samples: int, agreement: float) -> Suspect | None:
    answered = [(a, ok) for a, ok in group.samples if a is not None and a.strip()]
    if len(answered) < max(min_samples, 1):
        return None
    keys = [normalize_answer(a) for a, _ in answered]
    key, count = min(Counter(keys).items(), key=lambda kv: (-kv[1], kv[0]))  # ties: a stable pick
    share = count / len(answered)
    if share < agreement:
        return None
    sharing = [(a, ok) for (a, ok), k in zip(answered, keys) if k == key]
    if any(ok for _, ok in sharing) or key == normalize_answer(group.gold):
        return None  # the model agrees with gold; at most the verifier is at fault
    return Suspect(group.task_id, group.gold, sharing[0][0].strip(), share, len(answered))
