"""Code extraction keeps "no program / cut off / does not parse" apart from "ran and failed"."""

from __future__ import annotations

import time

import pytest

from lessons.sandbox import Limits, TestCase, extract_code, judge_response
from lessons.sandbox.extract import MAX_CODE_CHARS, syntax_problem
from lessons.verify import Extraction

ADD = "def add(a, b):\n    return a + b\n"
TESTS = [TestCase("small", "assert add(2, 3) == 5")]


@pytest.mark.parametrize(
    "text, finish, status, method, code",
    [
        (f"Here it is:\n```python\n{ADD}```\nDone.", "stop", "ok", "python_fence", ADD),
        (f"```py\n{ADD}```", "stop", "ok", "python_fence", ADD),
        (f"```\n{ADD}```", "stop", "ok", "fence", ADD),
        (f"~~~python\n{ADD}~~~", "stop", "ok", "python_fence", ADD),
        # a shell block first, then the python one: the tagged block wins
        (f"```bash\npip install x\n```\n```python\n{ADD}```", "stop", "ok", "python_fence", ADD),
        # a block left open by the token limit is cut off, not wrong
        ("```python\ndef add(a, b):\n    return a +", "length", "truncated", "python_fence", None),
        # left open but the model stopped on its own: the rest of the text is the program
        (f"```python\n{ADD}", "stop", "ok", "python_fence", ADD),
        ("```python\ndef add(a, b)\n    return a + b\n```", "stop", "malformed", "python_fence", None),
        ("I cannot solve this.", "stop", "missing", None, None),
        ("", "stop", "missing", None, None),
        ("Let me think about the problem step by", "length", "truncated", None, None),
        (ADD, "stop", "ok", "bare", ADD),  # no fence, but all of it is a program
        ("```python\n\n```", "stop", "malformed", "python_fence", None),
    ],
)
def test_extraction_statuses(text: str, finish: str, status: str, method: str | None,
                             code: str | None) -> None:
    got = extract_code(text, finish)
    assert isinstance(got, Extraction)  # the same record as math extraction
    assert (got.status, got.method, got.answer) == (status, method, code)


def test_the_block_defining_the_entry_point_is_preferred() -> None:
    text = f"```python\nprint(add(1, 2))\n```\n```python\n{ADD}```"
    assert extract_code(text, entry_point="add").answer == ADD
    assert extract_code(text).answer == "print(add(1, 2))\n"  # without one: the first block


def test_syntax_problems_say_where() -> None:
    assert syntax_problem(ADD) is None
    assert syntax_problem("def f(:\n") == "syntax error at line 1: invalid syntax"
    assert syntax_problem("x = 1\x00") in ("syntax error: source code string cannot contain null bytes",
                                          "the program cannot be parsed: ValueError")  # by version
    assert "longer than" in syntax_problem("x = 1\n" * MAX_CODE_CHARS)


def test_hostile_text_is_extracted_quickly_and_never_raises() -> None:
    texts = ["```" * 20_000, "(" * 100_000, "```python\n" + "(" * 5_000 + "\n```",
             "```python\n" + "[" * 1_000_000 + "\n```", "\r\n```python\r\nx = 1\r\n```\r\n"]
    start = time.monotonic()
    for text in texts:
        extract_code(text)
    assert time.monotonic() - start < 5


def test_judging_a_response_runs_only_extracted_programs() -> None:
    limits = Limits(cpu_s=1, wall_s=5)
    good = judge_response(f"```python\n{ADD}```", TESTS, limits)
    wrong = judge_response("```python\ndef add(a, b):\n    return a - b\n```", TESTS, limits)
    broken = judge_response("```python\ndef add(a, b)\n```", TESTS, limits)
    cut = judge_response("```python\ndef add(a, b):\n", TESTS, limits, finish_reason="length")
    assert good.correct and good.execution is not None and good.execution.status == "passed"
    assert not wrong.correct and wrong.extraction.status == "ok"  # wrong, not unextractable
    assert wrong.execution.first_failure == "small"
    assert (broken.correct, broken.extraction.status, broken.execution) == (False, "malformed", None)
    assert broken.detail == "syntax error at line 1: expected ':'"
    assert (cut.extraction.status, cut.execution) == ("truncated", None)
    assert good.verifier == "tests"
