"""Verification: find the final answer in a response, then judge it against the gold one.

    from lessons.verify import verify
    verdict = verify("42", "Step 1: 6 * 7 = 42\nAnswer: 42")
    verdict.correct, verdict.extraction.status   # True, "ok"

Extraction failures (no answer, cut off, malformed) are kept apart from wrong answers.
"""

from lessons.verify.base import Extraction, ExtractionStatus, Verdict, Verifier
from lessons.verify.extract import DEFAULT_METHODS, METHODS, extract_answer
from lessons.verify.verdict import verdicts, verify
from lessons.verify.verifiers import get_verifier, verifiers

__all__ = [
    "DEFAULT_METHODS", "METHODS", "Extraction", "ExtractionStatus", "Verdict", "Verifier",
    "extract_answer", "get_verifier", "verdicts", "verifiers", "verify",
]
