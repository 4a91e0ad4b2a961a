"""Answer extraction and verdicts: whether an answer was found is kept apart from
whether it is right."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:  # the sandbox imports this module; the annotation needs no import at run time
    from lessons.sandbox.records import Execution

ExtractionStatus = Literal["ok", "missing", "truncated", "malformed"]


@dataclass(frozen=True)
class Extraction:
    answer: str | None  # the extracted final answer text, None unless status is "ok"
    status: ExtractionStatus
    method: str | None = None  # which extractor found it: "answer_line", "boxed", "hash", "last_number"


@dataclass(frozen=True)
class Verdict:
    correct: bool  # False whenever extraction failed
    extraction: Extraction
    verifier: str  # name of the verifier that judged it
    detail: str = ""  # e.g. "timeout" when math-verify gave up; the run's message for code
    execution: Execution | None = None  # code: what running the program's tests gave; None otherwise


class Verifier(Protocol):
    name: str

    def equivalent(self, gold: str, answer: str) -> bool:
        """Whether the extracted `answer` matches the `gold` answer."""
        ...
