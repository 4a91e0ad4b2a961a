import time

import pytest

from lessons.diagnose.base import ERROR_TYPES, Location
from lessons.diagnose.error_types import classify_mistake
from lessons.diagnose.steps import split_steps
from lessons.tasks.base import GoldStep, Task

HALF = Task(
    "half", "Maya has 48 apples. She gives half of them to a friend. How many apples does she have left?", "24",
    (GoldStep("48 / 2 = 24", "24"),), {"skill": "word_problem"},
)
SAVINGS = Task(
    "savings",
    "Liam has 45 dollars. He spends 12 dollars on a book. Then he doubles what is left. How many dollars does he have?",
    "66", (GoldStep("45 - 12 = 33", "33"), GoldStep("33 * 2 = 66", "66")), {"skill": "word_problem"},
)
UNITS = Task(
    "units", "How many meters are in 5 kilometers?", "5000", (GoldStep("5 * 1000 = 5000", "5000"),),
    {"skill": "unit_conversion"},
)
FRACTIONS = Task(
    "frac", "What is 3/4 - 2/4? Give the answer as a fraction in lowest terms.", "1/4",
    (GoldStep("3/4 - 2/4 = 1/4", "1/4"),), {"skill": "fractions"},
)
NO_GOLD = Task("nogold", "What is 48 divided by 2?", "24")


def classify(task, text, finish="stop", status="ok", location=None):
    return classify_mistake(task, text, finish, status, split_steps(text), location)


@pytest.mark.parametrize(
    "task, text, finish, status, expected",
    [
        # one row per type: the primary (first) type
        (HALF, "Step 1: 48 / 2 = 25\nAnswer: 25", "stop", "ok", "calculation"),
        (HALF, "Step 1: 84 / 2 = 42\nAnswer: 42", "stop", "ok", "copied_value"),
        (HALF, "Step 1: 48 * 2 = 96\nAnswer: 96", "stop", "ok", "wrong_operation"),
        (FRACTIONS, "Step 1: 3/4 + 2/4 = 5/4\nAnswer: 5/4", "stop", "ok", "wrong_operation"),
        (SAVINGS, "Step 1: He ends with 45 * 2 = 90 dollars.\nAnswer: 90", "stop", "ok", "skipped_step"),
        (UNITS, "Step 1: 5 * 100 = 500 meters\nAnswer: 500", "stop", "ok", "unit"),
        (HALF, "Step 1: She has 48 apples and she gives some away.", "stop", "missing", "format"),
        (HALF, "Step 1: 48 / 2 = 24\nStep 2: so she has 2", "length", "truncated", "truncated"),
        (HALF, "   \n ", "stop", "missing", "no_attempt"),
        (HALF, "I'm sorry, but I can't help with that.", "stop", "missing", "no_attempt"),
        (SAVINGS, "Step 1: 45 - 12 = 33\nStep 2: 33 + 45 = 78\nAnswer: 78", "stop", "ok", "reasoning"),
    ],
)
def test_each_type(task, text, finish, status, expected):
    types = classify(task, text, finish, status)
    assert types[0] == expected, types
    assert list(types) == [t for t in ERROR_TYPES if t in types]  # ERROR_TYPES order, no repeats


@pytest.mark.parametrize(
    "task, text, expected",
    [
        # a clear operator slip needs no gold match
        (HALF, "Step 1: 48 + 2 = 96\nAnswer: 96", ("calculation", "wrong_operation")),
        (NO_GOLD, "48 + 2 = 96, so the answer is 96", ("calculation", "wrong_operation")),
        (NO_GOLD, "48 * 2 = 96\nAnswer: 96", ("reasoning",)),  # without gold a true claim is not judged
        (HALF, "Half of 48 is 0.5 * 48 = 24, minus 1 is 23\nAnswer: 23", ("reasoning",)),  # "half", 1: no copy
        (SAVINGS, "Step 1: 45 - 12 = 33, and twice that is 33 * 2 = 67\nAnswer: 67", ("calculation",)),
    ],
)
def test_finer_rules(task, text, expected):
    assert classify(task, text) == expected


def test_arith_location_stands_in_for_rechecking():
    text = "Step 1: 48 / 2 = 24\nAnswer: 24"  # nothing false in the text
    assert classify(HALF, text, location=Location(0, "arith", 0.9, evidence="false_statement")) == ("calculation",)
    assert classify(HALF, "Step 1: 48 / 2 = 25", location=Location(None, "arith", 0.5)) == ("reasoning",)
    # the step that first writes a wrong answer is located, but that is no false statement
    assert "calculation" not in classify(HALF, text, location=Location(0, "arith", 0.5, evidence="wrong_answer"))
    # a cut-off step is no evidence, even when the locator named it
    cut = "Step 1: 48 / 2 = 24\nStep 2: 24 - 1 = 2"
    assert classify(HALF, cut, "length", "truncated", Location(1, "arith", 0.9, evidence="false_statement")) == ("truncated",)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Answer:",
        "no steps and no numbers at all",
        "x" * 50_000,
        "Step 1: 48 / 2 = 24\n" * 2_500,  # 50,000 characters of a loop
        "1" * 50_000,
        "= = = 3 + = * / ( ( ( 4 ) = 5/0 = 0/0 + 1",
        "((((((((((((((((((((1))))))))))))))))))) + " * 200 + "= 2",
        "Schritt 1: 48 ÷ 2 = 24 Äpfel 🍎 → ٤٨ ÷ ٢ = ٢٤\nAntwort: 24",
        "Step 1: $\\frac{48}{2} = 25$\nStep 2: $25 \\times 1 = \\boxed{25}$",
        "\\begin{align} 48 \\div 2 &= 24 \\\\ 24 \\cdot 1 &= 24 \\end{align}",
        "Step 1: 1e999999 * 10^999 = 2**4000",
        "\x00\x01\ud7ff" * 100,
    ],
)
def test_never_crashes_and_never_empty(text):
    for task in (HALF, SAVINGS, UNITS, FRACTIONS, NO_GOLD):
        for finish, status in (("stop", "ok"), ("length", "truncated"), ("stop", "malformed")):
            types = classify_mistake(task, text, finish, status, split_steps(text), None)
            assert types and set(types) <= set(ERROR_TYPES)


def test_no_steps_given():
    assert classify_mistake(HALF, "Answer: 25", "stop", "ok", (), None) == ("reasoning",)
    assert classify_mistake(HALF, "48 / 2 = 25", "stop", "ok", (), Location(None, "critic", 0.5)) == ("reasoning",)


def test_long_text_is_fast():
    text = "Step 1: 45 - 12 = 33 dollars left over after buying the book.\n" * 800  # ~50,000 chars
    started = time.process_time()  # CPU time: a loaded machine does not add to it, as it does to wall time
    classify(SAVINGS, text, "length", "truncated")
    assert time.process_time() - started < 20  # catches a runaway (a regex that backtracks), not a slow machine: ~0.1 s


DIVIDE = Task("divide", "Pack 47 muffins into boxes of 5, and say how many are left over.", "2",
              (GoldStep("47 / 5 = 9 remainder 2", "9"), GoldStep("47 - 45 = 2", "2")), {"skill": "division"})


@pytest.mark.parametrize("text", [
    "Step 1: 47 / 5 = 9 remainder 47 - 45 = 2\nAnswer: 2",  # the remainder worked out in place
    "Step 1: 47 / 5 = 10 would be too many, which is not possible. 47 / 5 = 9 remainder 2\nAnswer: 2",
    "Step 1: Is 47 / 5 = 8? No: 47 / 5 = 9 remainder 2\nAnswer: 2",  # asked, not asserted
])
def test_a_statement_worked_out_in_place_taken_back_or_asked_is_no_calculation_error(text):
    assert "calculation" not in classify(DIVIDE, text)
