"""The first wrong line of a program, found by tracing it beside a reference solution.

    divergence = first_wrong_line(code, reference, tests, entry_point="f")
    divergence.line, divergence.variable, divergence.value, divergence.expected, divergence.got

Both programs run in one sandbox process, under the same limits and isolation as any
judged run (`run_program`): the model's program never runs in this process. The tests run
against the program until the first one fails, recording the arguments of every outermost
call that test makes to the entry point. Each of those calls is then made again, traced
line by line (`sys.settrace`), once in the program and once in the reference, until one
whose outcomes differ (the value returned, or the exception raised).

How lines are matched: by the values they make, not by their position or names, since
the two programs need not share either. During that call each variable of each frame of
the reference takes a sequence of values (its history; "return" is the value a frame
returns), compared by repr cut to 300 characters. A variable of the program is right while
the values it has taken are, in order, a subsequence of one of the reference's histories
(it may skip states the reference passes through, as a `sum()` skips an accumulator's).
The first wrong line is the first line, in the order the program ran it, that gives a
variable a value no history can follow; else the line that raises, or the line that
returns the call's wrong result. A frame's arguments are given, not made: never flagged.
So a loop that starts at the wrong index is flagged where the first value only it makes
appears (an accumulator's sum, say), which may be a line after the `range`: the line where
the values first part, not always the line to edit. A program built on other
intermediate values than the reference's (another algorithm) is flagged at its first such
value; `expected` and `got` still say how the call's outcome differs. Values whose repr
holds an address ("<object at 0x…>") never match and are not judged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from lessons.sandbox.isolation import Isolation
from lessons.sandbox.records import Execution, Limits, TestCase
from lessons.sandbox.run import _sandboxed


@dataclass(frozen=True)
class Divergence:
    """Where a program's run first parts from its reference's on the first failing test.
    `line` is None when no line could be named; `problem` then says why."""

    test: str | None = None  # the first failing test
    call: str | None = None  # the entry point's arguments, (args, kwargs), in the call whose outcomes differ
    expected: str | None = None  # the reference's outcome: "returned 6", "raised ValueError"
    got: str | None = None  # the program's
    line: int | None = None  # 1-based line of the program
    variable: str | None = None  # the local it set there; "return" or "raise" for the value returned or raised
    value: str | None = None  # that value's repr (cut to 300 characters)
    # the branch (`if`, `elif`, `else`, `while`, `for`) the program ran just before `line`, in
    # the same frame: a changed condition makes no value of its own, so its first parting
    # value is made by a line the branch let run; None when the line before is no branch
    branch: int | None = None
    problem: str = ""

    def text(self, code: str, line: int | None = None) -> str | None:
        """The program's wrong line (or `line`), as written."""
        line = self.line if line is None else line
        lines = code.splitlines()
        return lines[line - 1] if line is not None and 0 < line <= len(lines) else None


def first_wrong_line(code: str, reference: str, tests: Sequence[TestCase] | str, entry_point: str,
                     limits: Limits = Limits(), *, setup: Isolation | None = None, prelude: str = "",
                     ) -> Divergence:
    """The first wrong line of `code` against `reference` on the first test it fails (see
    the module doc). `tests` as `run_program` takes them; a program that passes them all has
    no first wrong line (`problem` says so)."""
    if not isinstance(reference, str):
        raise TypeError(f"the reference must be a str, got {type(reference).__name__}")
    execution, events = _sandboxed(code, tests, limits, entry_point, setup, prelude, {"reference": reference})
    traced = next((e for e in events if e.get("event") == "trace"), None)
    if traced is None:
        return Divergence(test=execution.first_failure, problem=_untraced(execution))
    after = traced.get("after") if isinstance(traced.get("after"), int) else None
    return Divergence(
        test=_text(traced.get("test")), call=_text(traced.get("call")), expected=_text(traced.get("expected")),
        got=_text(traced.get("got")), line=traced.get("line") if isinstance(traced.get("line"), int) else None,
        branch=after if after is not None and _is_branch(code, after) else None,
        variable=_text(traced.get("variable")), value=_text(traced.get("value")),
        problem=_text(traced.get("problem")) or ("" if isinstance(traced.get("line"), int)
                                                 else "no line of the program made a value the reference never held"),
    )


BRANCHES = ("if ", "if(", "elif ", "elif(", "else:", "while ", "while(", "for ")


def _is_branch(code: str, line: int) -> bool:
    lines = code.splitlines()
    return 0 < line <= len(lines) and lines[line - 1].strip().startswith(BRANCHES)


def _untraced(execution: Execution) -> str:
    if execution.passed:
        return "the program passes every test"
    if execution.status == "syntax_error":
        return "the program does not parse"
    if execution.first_failure is None:
        return f"the program stopped before a test failed ({execution.status})"
    return f"the failing test was not traced ({execution.status})"


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
