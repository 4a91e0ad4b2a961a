"""Error types of a code mistake, from what running its tests gave (`Execution`) and how
its program was extracted: the kind of fault, most specific first, as `classify_mistake`
gives for math. A program that did not parse is a `syntax` mistake; a response with no
code block is a `format` one; a run stopped by a limit is that limit, whatever the tests
had shown before it."""

from __future__ import annotations

from lessons.diagnose.base import ERROR_TYPES
from lessons.sandbox import Execution

_BY_STATUS = {
    "syntax_error": "syntax", "timeout": "timeout", "memory": "resource_limit", "file_limit": "resource_limit",
    "process_limit": "resource_limit", "output_limit": "resource_limit", "failed": "wrong_output",
    "exited": "exception", "killed": "exception",
}
_BY_EXCEPTION = {
    "NameError": "name_attribute", "UnboundLocalError": "name_attribute", "AttributeError": "name_attribute",
    "ImportError": "name_attribute", "ModuleNotFoundError": "name_attribute", "TypeError": "type",
    "IndexError": "index_key", "KeyError": "index_key", "RecursionError": "resource_limit",
    "MemoryError": "resource_limit", "AssertionError": "wrong_output",
}


def classify_code_mistake(execution: Execution | None, extraction_status: str, finish_reason: str,
                          no_attempt: bool) -> tuple[str, ...]:
    """The error types of one code mistake, in `ERROR_TYPES` order; never empty."""
    found: set[str] = set()
    if finish_reason == "length" or extraction_status == "truncated":
        found.add("truncated")
    if no_attempt:
        found.add("no_attempt")
    elif extraction_status == "malformed":
        found.add("syntax")
    elif extraction_status == "missing":
        found.add("format")
    if execution is not None and not execution.passed:
        found.add(_run_type(execution))
        if execution.n_passed > 0:
            found.add("partial_pass")
    return tuple(t for t in ERROR_TYPES if t in found) or ("exception",)


def _run_type(execution: Execution) -> str:
    if execution.status == "error":
        return _BY_EXCEPTION.get(execution.exception or "", "exception")
    return _BY_STATUS.get(execution.status, "exception")  # sandbox_error: the program's run is unknown
