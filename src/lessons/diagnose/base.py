"""What diagnosis works on and what it produces: steps, cases, locations, error types.

A *case* is one solution to judge: the task's question and gold (when known) and the
response split into steps. A *locator* finds the first wrong step of many cases at once
(batched, because the model-based methods generate); it records its method and
confidence, and `step=None` when it finds nothing wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Mapping, Protocol, Sequence

# The persisted records live with the others in `lessons.records` (the store reads them
# there); diagnosis code names them from here, beside the case and locator they go with.
from lessons.records import Cluster, Diagnosis, Location, Step
from lessons.tasks.base import GoldStep

__all__ = ["Case", "Cluster", "Diagnosis", "ERROR_TYPES", "ErrorType", "Location", "Locator", "Step", "locate_all"]


@dataclass(frozen=True)
class Case:
    """One solution whose first wrong step is wanted."""

    question: str
    steps: tuple[Step, ...]
    answer: str | None = None  # gold final answer; None where unknown (ProcessBench)
    gold_steps: tuple[GoldStep, ...] = ()  # gold solution with known intermediate values
    key: str = ""  # attempt id or benchmark id, for messages and bookkeeping
    response: str = ""  # the text the steps were cut from (offsets point into it), when known
    metadata: Mapping[str, Any] = field(default_factory=dict)  # the task's (a code task's tests, entry point)


class Locator(Protocol):
    name: str

    def locate(self, cases: Sequence[Case]) -> list[Location]:
        """One location per case, in order."""
        ...


def locate_all(cases: Sequence[Case], locator: Locator, batch_size: int = 64) -> list[Location]:
    """`locator` over every case in batches of `batch_size` (what a benchmark run needs), one
    location per case; a locator that returns another count is an error, not a misalignment."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    locations: list[Location] = []
    for start in range(0, len(cases), batch_size):
        batch = cases[start:start + batch_size]
        found = locator.locate(batch)
        if len(found) != len(batch):
            raise ValueError(f"locator {locator.name!r} returned {len(found)} locations for {len(batch)} cases")
        locations.extend(found)
    return locations


# Rule-based error types, most specific first. Every mistake gets at least one.
ErrorType = Literal[
    "calculation",  # an arithmetic statement in a step is false
    "copied_value",  # a number appears neither in the problem nor in earlier steps
    "wrong_operation",  # right numbers combined by the wrong operation
    "skipped_step",  # fewer steps than the gold solution and a gold intermediate is missing
    "unit",  # a unit conversion factor or unit mix-up
    # Code, from running the program's tests (lessons.diagnose.code_types)
    "syntax",  # the program does not parse
    "timeout",  # the CPU-time or wall-clock limit was reached
    "resource_limit",  # memory, file size, processes or output went past their limit
    "name_attribute",  # NameError, AttributeError, ImportError: a name that does not exist
    "type",  # TypeError: a value of the wrong type, or a call with the wrong arguments
    "index_key",  # IndexError, KeyError: off the end of a sequence, a missing key
    "exception",  # any other exception, or the program ending itself
    "wrong_output",  # it ran, and an assertion on its output failed
    "partial_pass",  # some tests passed before one did not
    "format",  # answer not extractable or malformed
    "truncated",  # hit the token limit
    "no_attempt",  # empty or refusal
    "reasoning",  # wrong answer with no local fault the rules can name
]
ERROR_TYPES: tuple[str, ...] = ErrorType.__args__  # type: ignore[attr-defined]
