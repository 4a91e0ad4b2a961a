"""Code extraction: find the program in a model's response, or say why there is none.

The status is the math extraction's (`lessons.verify.Extraction`), so attempts record both
domains the same way: "missing" (no code block), "truncated" (a block left open by the
token limit), "malformed" (a block that does not parse), "ok". A program that parses but
fails its tests is a wrong answer, never an extraction failure. Parsing is `ast.parse`,
which builds a tree and runs nothing.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Sequence

from lessons.sandbox.records import Limits, Program, TestCase
from lessons.verify.base import Extraction, Verdict
from lessons.verify.extract import TRUNCATED_REASON

MAX_CODE_CHARS = 100_000  # a longer "program" is not a solution to a function-level task
_PYTHON_TAGS = {"python", "py", "python3"}
# A fence line: ``` or ~~~ with an optional info string; the closing one has none.
_FENCE = re.compile(r"^[ \t]{0,3}(```|~~~)[ \t]*([\w+-]*)[^\n]*$", re.MULTILINE)


# A verdict for code is the math one with the run attached (`Verdict.execution`): correct
# only when every test passed; detail is the syntax error or the execution's message.
CodeVerdict = Verdict


@dataclass(frozen=True)
class _Block:
    tag: str
    code: str
    closed: bool


def extract_code(text: str, finish_reason: str = "stop", entry_point: str | None = None) -> Extraction:
    """The program in `text` (in `answer`) and how it was found; never raises on any text.
    Prefers a python-tagged fenced block, the first one defining `entry_point` if given."""
    extraction, _ = _extract(text, finish_reason, entry_point)
    return extraction


@dataclass(frozen=True)
class Response:
    """A model's response to a code task, with the task's tests: one job for judge_responses."""

    text: str
    tests: Sequence[TestCase] | str
    finish_reason: str = "stop"
    entry_point: str | None = None
    prelude: str = ""  # run before the program (the task prompt's imports)


def judge_response(text: str, tests: Sequence[TestCase] | str, limits: Limits = Limits(),
                   finish_reason: str = "stop", entry_point: str | None = None) -> Verdict:
    """Extract the program from a response and run it with its tests in the sandbox."""
    return judge_responses([Response(text, tests, finish_reason, entry_point)], limits, workers=1)[0]


def judge_responses(responses: Sequence[Response], limits: Limits = Limits(), workers: int = 2) -> list[Verdict]:
    """Verdicts in input order: each program extracted here (parsing runs nothing), those
    found run with their tests in sandboxes, `workers` at a time."""
    from lessons.sandbox.run import run_programs  # run imports this module; keeps this one light

    found = [_extract(r.text, r.finish_reason, r.entry_point) for r in responses]
    runnable = [i for i, (extraction, _) in enumerate(found) if extraction.status == "ok"]
    programs = [Program(str(found[i][0].answer), responses[i].tests, responses[i].entry_point, responses[i].prelude)
                for i in runnable]
    runs = dict(zip(runnable, run_programs(programs, limits, workers))) if programs else {}
    verdicts = []
    for i, (extraction, problem) in enumerate(found):
        run = runs.get(i)
        verdicts.append(Verdict(False, extraction, "tests", problem) if run is None
                        else Verdict(run.passed, extraction, "tests", run.message, run))
    return verdicts


def _extract(text: str, finish_reason: str, entry_point: str | None) -> tuple[Extraction, str]:
    if not isinstance(text, str) or not text.strip():
        return Extraction(None, "missing"), "empty response"
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    truncated = finish_reason == TRUNCATED_REASON
    blocks = _blocks(text)
    if not blocks:
        return _bare(text, truncated, entry_point)
    block, method = _choose(blocks, entry_point)
    if not block.closed and truncated:
        return Extraction(None, "truncated", method), "the code block was cut off by the token limit"
    problem = syntax_problem(block.code)
    if problem:
        return Extraction(None, "malformed", method), problem
    return Extraction(block.code, "ok", method), ""


def _blocks(text: str) -> list[_Block]:
    """Fenced blocks in order; an unclosed last block runs to the end of the text."""
    blocks, fences = [], list(_FENCE.finditer(text))
    i = 0
    while i < len(fences):
        opening = fences[i]
        closing = next((f for f in fences[i + 1:] if f.group(1) == opening.group(1)
                        and not f.group(2)), None)
        end = closing.start() if closing else len(text)
        blocks.append(_Block(opening.group(2).lower(), text[opening.end() + 1:end], closing is not None))
        if closing is None:
            break
        i = fences.index(closing) + 1
    return blocks


def _choose(blocks: list[_Block], entry_point: str | None) -> tuple[_Block, str]:
    tagged = [b for b in blocks if b.tag in _PYTHON_TAGS]
    pool, method = (tagged, "python_fence") if tagged else (blocks, "fence")
    if entry_point:
        pattern = re.compile(rf"^\s*(?:async\s+)?def\s+{re.escape(entry_point)}\s*\(", re.MULTILINE)
        defining = [b for b in pool if pattern.search(b.code)]
        if defining:
            return defining[0], method
    return pool[0], method


def _bare(text: str, truncated: bool, entry_point: str | None) -> tuple[Extraction, str]:
    """A response with no fence counts as code only if all of it parses and it defines the
    entry point (or any function): prose rarely parses, and a lone expression is not a program."""
    if truncated:
        return Extraction(None, "truncated"), "cut off by the token limit before any code block"
    name = re.escape(entry_point) if entry_point else r"\w+"
    if syntax_problem(text) is None and re.search(rf"^\s*def\s+{name}\s*\(", text, re.MULTILINE):
        return Extraction(text, "ok", "bare"), ""
    return Extraction(None, "missing"), "no code block in the response"


def syntax_problem(code: str) -> str | None:
    """Why `code` does not parse as Python, in one line, or None when it does."""
    if len(code) > MAX_CODE_CHARS:
        return f"the program is longer than {MAX_CODE_CHARS} characters"
    if not code.strip():
        return "the code block is empty"
    try:
        ast.parse(code)
    except SyntaxError as exc:
        where = f" at line {exc.lineno}" if exc.lineno else ""
        return f"syntax error{where}: {exc.msg}"
    except (ValueError, RecursionError, MemoryError) as exc:  # NUL bytes; absurd nesting
        return f"the program cannot be parsed: {type(exc).__name__}"
    return None
