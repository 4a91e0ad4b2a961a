"""The first wrong line of a program, traced beside its reference in the sandbox."""

from __future__ import annotations

from lessons.sandbox import Limits, TestCase
from lessons.sandbox.trace import first_wrong_line

FAST = Limits(cpu_s=2, wall_s=10)

REFERENCE = """def total_even(xs):
    total = 0
    for x in xs:
        if x % 2 == 0:
            total += x
    return total
"""
TESTS = [TestCase("empty", "assert total_even([]) == 0"),
         TestCase("mixed", "assert total_even([1, 2, 3, 4]) == 6"),
         TestCase("odd", "assert total_even([1, 3]) == 0")]


def test_the_first_line_that_makes_a_value_the_reference_never_holds_is_named() -> None:
    # the condition is wrong (odd numbers summed): line 5 is the first to make a value (1)
    # that the reference's `total` never takes on [1, 2, 3, 4]; the loop lines before it agree
    code = ("def total_even(xs):\n    total = 0\n    for x in xs:\n        if x % 2 == 1:\n"
            "            total = total + x\n    return total\n")
    found = first_wrong_line(code, REFERENCE, TESTS, "total_even", FAST)
    assert found.test == "mixed" and found.problem == ""
    assert (found.line, found.variable, found.value) == (5, "total", "1")
    assert found.text(code) == "            total = total + x"
    assert found.branch == 4 and found.text(code, found.branch) == "        if x % 2 == 1:"  # the changed line
    assert found.expected == "returned 6" and found.got == "returned 4"
    assert found.call == "(([1, 2, 3, 4],), {})"


def test_lines_are_matched_by_value_not_by_position_or_name() -> None:
    # other names, other layout, one line off by one: the wrong return is what parts first
    code = ("def total_even(xs):\n    s = sum(v for v in xs if v % 2 == 0)\n\n\n    return s + 1\n")
    found = first_wrong_line(code, REFERENCE, TESTS, "total_even", FAST)
    assert found.test == "empty"  # the first test it fails
    assert (found.line, found.variable, found.value) == (5, "return", "1")
    assert found.expected == "returned 0" and found.got == "returned 1"
    assert found.branch is None  # the line run before it, 2, is no branch


def test_a_raising_line_is_the_first_wrong_one_when_nothing_before_it_parts() -> None:
    code = "def total_even(xs):\n    first = xs[0]\n    return first\n"
    found = first_wrong_line(code, REFERENCE, TESTS, "total_even", FAST)
    assert found.test == "empty" and (found.line, found.variable, found.value) == (2, "raise", "IndexError")
    assert found.got == "raised IndexError" and found.expected == "returned 0"


def test_an_exception_the_reference_raises_too_is_not_a_wrong_line() -> None:
    # both parse with try/except (a ValueError caught in each); the program's bug is later
    reference = ("def total(items):\n    out = 0\n    for s in items:\n        try:\n            out += int(s)\n"
                 "        except ValueError:\n            pass\n    return out\n")
    code = reference.replace("out += int(s)", "out += int(s) * 2")
    found = first_wrong_line(code, reference, [TestCase("mixed", "assert total(['x', '3']) == 3")], "total", FAST)
    assert (found.line, found.variable, found.value) == (5, "out", "6")  # not line 5's ValueError on 'x'


def test_recursion_is_traced_in_every_frame_and_only_outermost_calls_are_replayed() -> None:
    reference = "def fact(n):\n    return 1 if n <= 1 else n * fact(n - 1)\n"
    code = "def fact(n):\n    if n <= 1:\n        return 0\n    return n * fact(n - 1)\n"  # base case wrong
    found = first_wrong_line(code, reference, [TestCase("three", "assert fact(3) == 6")], "fact", FAST)
    assert found.call == "((3,), {})"  # the test's own call, not the recursive ones
    assert (found.line, found.variable, found.value) == (3, "return", "0")


def test_a_check_function_is_traced_through_the_candidate_it_is_given() -> None:
    # HumanEval's shape: check(candidate) calls the entry point; the second call is the one that differs
    tests = "def check(candidate):\n    assert candidate([1]) == 0\n    assert candidate([2]) == 2\n"
    code = REFERENCE.replace("x % 2 == 0", "x % 2 == 0 and x > 2")
    found = first_wrong_line(code, REFERENCE, tests, "total_even", FAST)
    assert found.test == "check" and found.call == "(([2],), {})"
    # every value it makes is one the reference holds too (total 0): the wrong result is returned at line 6
    assert (found.line, found.variable, found.value) == (6, "return", "0")


def test_a_passing_program_and_one_that_does_not_parse_have_no_line_and_say_why() -> None:
    passing = first_wrong_line(REFERENCE, REFERENCE, TESTS, "total_even", FAST)
    assert passing.line is None and passing.problem == "the program passes every test"
    broken = first_wrong_line("def total_even(xs:\n", REFERENCE, TESTS, "total_even", FAST)
    assert broken.line is None and broken.problem == "the program does not parse"


def test_a_test_that_fails_without_a_differing_call_names_no_line() -> None:
    # the program is right but leaves a global the test also checks: no call differs
    code = REFERENCE + "LIMIT = 3\n"
    tests = [TestCase("limit", "assert total_even([2]) == 2 and LIMIT == 4")]
    found = first_wrong_line(code, REFERENCE, tests, "total_even", FAST)
    assert found.test == "limit" and found.line is None
    assert "no call to the entry point" in found.problem


def test_a_program_that_loops_forever_under_the_trace_is_stopped_and_reported() -> None:
    code = "def total_even(xs):\n    n = 0\n    while True:\n        n += 1\n"
    found = first_wrong_line(code, REFERENCE, [TestCase("mixed", "assert total_even([2]) == 2")],
                             "total_even", Limits(cpu_s=1, wall_s=10))
    assert found.line is None and found.problem  # the run itself timed out: nothing traced


def test_a_value_whose_repr_never_returns_stops_the_trace_at_the_cpu_limit() -> None:
    # the tracer shows every local by repr, inside the sandbox: a hostile __repr__ spends
    # the run's CPU limit there and the trace says so, nothing runs in this process
    code = ("class Bad:\n    def __repr__(self):\n        while True:\n            pass\n\n"
            "def total_even(xs):\n    b = Bad()\n    return 1\n")
    found = first_wrong_line(code, REFERENCE, [TestCase("mixed", "assert total_even([2]) == 2")],
                             "total_even", Limits(cpu_s=1, wall_s=10))
    assert found.line is None and found.problem == "the CPU time limit was reached while tracing"
