"""The `tests` verifier: a response's program judged by running its task's tests in the sandbox.

A code task carries in its metadata what judges it:

    entry_point   the function the tests call ("add")
    tests         a test source that defines check(candidate) or test_* functions (HumanEval),
                  or a list of {"name": ..., "source": "assert add(2, 3) == 5"} cases

The imports the task's prompt gives (HumanEval's `from typing import List`) run before the
program, as HumanEval's own prompt + completion has them: a whole function written without
them is not wrong for that. The response is never run here: `lessons.sandbox` extracts its code block (no block,
cut off and syntax errors are extraction statuses, kept apart from failing tests) and runs
the program with its tests in separate sandbox processes, several at once.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from lessons.sandbox import Limits, Response, TestCase, judge_responses
from lessons.verify.base import Verdict

if TYPE_CHECKING:
    from lessons.models.base import Completion
    from lessons.tasks.base import Task


class CodeTaskError(ValueError):
    """A task the tests verifier cannot judge: no tests or entry point, or tests of the wrong shape."""


def _default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


@dataclass(frozen=True)
class TestsVerifier:
    """Correct when the response's program passes every one of its task's tests."""

    __test__ = False  # not a pytest test class, despite its name
    name: str = "tests"
    limits: Limits = field(default_factory=Limits)
    workers: int = field(default_factory=_default_workers)

    def equivalent(self, gold: str, answer: str) -> bool:
        raise CodeTaskError("the tests verifier judges a whole response against its task's tests "
                            "(judge_responses), not an extracted answer against a gold one")

    def judge_responses(self, tasks: Sequence[Task], completions: Sequence[Completion]) -> list[Verdict]:
        """One verdict per (task, completion) pair, in order; the programs run in parallel."""
        jobs = [Response(c.text, task_tests(t.id, t.metadata), c.finish_reason, entry_point(t.id, t.metadata),
                         prompt_imports(t.prompt)) for t, c in zip(tasks, completions, strict=True)]
        return judge_responses(jobs, self.limits, self.workers)


def prompt_imports(prompt: str) -> str:
    """The top-level import statements of a task's prompt, one a line ("" when none, or
    when the prompt is not Python)."""
    try:
        tree = ast.parse(prompt)
    except (SyntaxError, ValueError):
        return ""
    found = [ast.get_source_segment(prompt, node) for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    return "".join(f"{line}\n" for line in found if line)


def entry_point(task_id: str, metadata: Mapping[str, Any]) -> str:
    name = metadata.get("entry_point")
    if not isinstance(name, str) or not name.isidentifier():
        raise CodeTaskError(f"task {task_id}: metadata 'entry_point' must name a function, got {name!r}")
    return name


def task_tests(task_id: str, metadata: Mapping[str, Any]) -> Sequence[TestCase] | str:
    """The task's tests as the sandbox takes them: a test source, or named cases."""
    tests = metadata.get("tests")
    if isinstance(tests, str) and tests.strip():
        return tests
    if isinstance(tests, list) and tests and all(
            isinstance(t, dict) and isinstance(t.get("name"), str) and isinstance(t.get("source"), str)
            for t in tests):
        return tuple(TestCase(t["name"], t["source"]) for t in tests)
    raise CodeTaskError(f"task {task_id}: metadata 'tests' must be a test source or a non-empty list of "
                        f"{{'name', 'source'}} cases, got {type(tests).__name__}")
