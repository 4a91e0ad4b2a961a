"""The `trace` locator: a code mistake's first wrong step from its reference's trace."""

from __future__ import annotations

from lessons.diagnose.base import Case
from lessons.diagnose.locators import make_locator
from lessons.diagnose.steps import split_steps

REFERENCE = ("def total_even(xs):\n    \"\"\"Sum of the even numbers in xs.\"\"\"\n    total = 0\n    for x in xs:\n"
             "        if x % 2 == 0:\n            total += x\n    return total\n")
WRONG = REFERENCE.replace("x % 2 == 0", "x % 2 == 1").replace("total += x", "total = total + x")
META = {"entry_point": "total_even", "tests": [{"name": "empty", "source": "assert total_even([]) == 0"},
                                               {"name": "mixed", "source": "assert total_even([1, 2, 3, 4]) == 6"}]}


def case(response: str, metadata=META, answer=REFERENCE) -> Case:
    return Case(question=REFERENCE.split("    total")[0], steps=split_steps(response), answer=answer, key="7",
                response=response, metadata=metadata)


def test_the_step_holding_the_first_wrong_line_is_located_with_what_the_trace_saw() -> None:
    response = f"The sum of the even numbers:\n\n```python\n{WRONG}```\n\nIt loops once over the list."
    c = case(response)
    [found] = make_locator("trace").locate([c])
    assert found.method == "trace" and found.evidence == "reference_trace" and found.confidence > 0
    wrong_line = "            total = total + x"
    step = c.steps[found.step]
    assert response.index(wrong_line) in range(step.start, step.end)  # the step that holds line 6
    assert found.detail.startswith("line 6 `total = total + x` sets total = 1, a value the reference never holds")
    assert "the reference returned 6, the program returned 4" in found.detail and "'mixed'" in found.detail
    assert found.detail.endswith("it ran right after the branch at line 5 `if x % 2 == 1:`")  # the changed line


def test_cases_it_cannot_trace_are_located_nowhere_with_the_reason() -> None:
    locator = make_locator("trace")
    arith, no_code, right = locator.locate([
        case("2 + 2 = 4\nThe answer is 4", metadata={}, answer="4"),
        case("I would sum the even numbers.", metadata=META),
        case(f"```python\n{REFERENCE}```", metadata=META),
    ])
    assert (arith.step, arith.evidence) == (None, "no_reference") and "not a code task" in arith.detail
    assert (no_code.step, no_code.evidence) == (None, "no_program") and "missing" in no_code.detail
    assert (right.step, right.evidence, right.detail) == (None, "no_divergence", "the program passes every test")
