"""verify(): extraction and a verifier in one call, the verdict for one response."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol, Sequence

from lessons.verify.base import Verdict, Verifier
from lessons.verify.extract import DEFAULT_METHODS, extract_answer
from lessons.verify.verifiers import get_verifier

if TYPE_CHECKING:
    from lessons.tasks.base import Task

logger = logging.getLogger(__name__)


class Response(Protocol):
    """What a verifier judges of a model's response (a `Completion` is one)."""

    text: str
    finish_reason: str


def verify(
    task_answer: str,
    text: str,
    finish_reason: str = "stop",
    verifier: str | Verifier = "math",
    methods: Sequence[str] = DEFAULT_METHODS,
) -> Verdict:
    """Extract the answer from `text` and judge it against the gold `task_answer`. Correct
    only when an answer was extracted and the verifier accepts it; the verifier is not
    asked when extraction failed. Safe to call from many threads at once."""
    judge_with = get_verifier(verifier) if isinstance(verifier, str) else verifier
    extraction = extract_answer(text, finish_reason, methods)
    if extraction.status != "ok" or extraction.answer is None:
        return Verdict(False, extraction, judge_with.name)
    correct, detail = judge(judge_with, task_answer, extraction.answer)
    return Verdict(correct, extraction, judge_with.name, detail)


def judge(verifier: Verifier, gold: str, answer: str) -> tuple[bool, str]:
    """(equivalent, detail) from any verifier. One that raises counts as not equivalent,
    the error named in the detail: one odd answer must not end an evaluation run."""
    try:
        judge_fn = getattr(verifier, "judge", None)
        if callable(judge_fn):
            correct, detail = judge_fn(gold, answer)
            return bool(correct), str(detail)
        return bool(verifier.equivalent(gold, answer)), ""
    except Exception as exc:
        logger.debug("verifier %s failed on %r", verifier.name, answer[:200], exc_info=True)
        return False, f"verifier error: {type(exc).__name__}: {exc}"[:300]


def verdicts(tasks: Sequence[Task], responses: Sequence[Response], verifier: str | Verifier = "math",
             methods: Sequence[str] = DEFAULT_METHODS) -> list[Verdict]:
    """One verdict per (task, response) pair, in order. A verifier that judges whole
    responses against their tasks (`tests`, which runs programs) gets the batch at once,
    to run it in parallel; the others judge each extracted answer against the gold one."""
    judge_with = get_verifier(verifier) if isinstance(verifier, str) else verifier
    batch = getattr(judge_with, "judge_responses", None)
    if callable(batch):
        return batch(tasks, responses)
    return [verify(t.answer, r.text, r.finish_reason, verifier=judge_with, methods=methods)
            for t, r in zip(tasks, responses, strict=True)]
