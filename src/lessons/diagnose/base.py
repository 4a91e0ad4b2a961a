"""What diagnosis works on and what it produces: steps, cases, locations, error types.

A *case* is one solution to judge: the task's question and gold (when known) and the
response split into steps. A *locator* finds the first wrong step of many cases at once
(batched, because the model-based methods generate); it records its method and
confidence, and `step=None` when it finds nothing wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, Sequence

import numpy as np

from lessons.tasks.base import GoldStep


@dataclass(frozen=True)
class Step:
    """One step of a response; `text == response[start:end]`."""

    index: int  # 0-based position among the response's steps
    text: str
    start: int  # character offsets into the response
    end: int


@dataclass(frozen=True)
class Case:
    """One solution whose first wrong step is wanted."""

    question: str
    steps: tuple[Step, ...]
    answer: str | None = None  # gold final answer; None where unknown (ProcessBench)
    gold_steps: tuple[GoldStep, ...] = ()  # gold solution with known intermediate values
    key: str = ""  # attempt id or benchmark id, for messages and bookkeeping
    response: str = ""  # the text the steps were cut from (offsets point into it), when known


@dataclass(frozen=True)
class Location:
    """Where a solution first goes wrong, by one method."""

    step: int | None  # 0-based index of the first wrong step; None: nothing found wrong
    method: str  # "arith", "rollout", "critic", "consensus"
    confidence: float  # 0..1: how sure the method is of this step (or of "no error")
    detail: str = ""  # human-readable reason, e.g. "7 × 8 = 54 (is 56)"
    tokens: int = 0  # tokens the method generated to decide (0 for rule-based methods)
    evidence: str = ""  # what kind of finding: "false_statement", "gold_mismatch", "wrong_answer", ...


class Locator(Protocol):
    name: str

    def locate(self, cases: Sequence[Case]) -> list[Location]:
        """One location per case, in order."""
        ...


# Rule-based error types, most specific first. Every mistake gets at least one.
ErrorType = Literal[
    "calculation",  # an arithmetic statement in a step is false
    "copied_value",  # a number appears neither in the problem nor in earlier steps
    "wrong_operation",  # right numbers combined by the wrong operation
    "skipped_step",  # fewer steps than the gold solution and a gold intermediate is missing
    "unit",  # a unit conversion factor or unit mix-up
    "format",  # answer not extractable or malformed
    "truncated",  # hit the token limit
    "no_attempt",  # empty or refusal
    "reasoning",  # wrong answer with no local fault the rules can name
]
ERROR_TYPES: tuple[str, ...] = ErrorType.__args__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Diagnosis:
    """What is known about one mistake: its steps, where it first goes wrong (by one
    method) and its error types."""

    attempt_id: int
    steps: tuple[Step, ...]
    location: Location
    error_types: tuple[str, ...]  # most specific first, never empty

    @property
    def error_type(self) -> str:
        return self.error_types[0]


@dataclass(frozen=True, eq=False)  # eq=False: numpy centroids do not compare as booleans
class Cluster:
    """A group of similar mistakes in the living taxonomy; its id never changes."""

    id: int
    name: str
    terms: tuple[str, ...]  # most distinctive terms, best first
    centroid: np.ndarray  # (dim,) float32, unit length; fixed once the cluster exists
    size: int  # members (in the log: all members; from an update: the items it placed)
    examples: tuple[str, ...]  # keys of the items closest to the centroid
    radius: float = 1.0  # similarity its least similar founding member had; joins need min(threshold, radius)
    generation: int = 0  # update in which it was born; older generations are offered items first
