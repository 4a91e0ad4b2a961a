"""Editing solutions: arithmetic statements, injected errors, re-sampled problems, slices."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest

from lessons.arith import evaluate, find_statements, format_number as show
from lessons.builders._resample import parse_chain, resample
from lessons.builders.injected import mutations
from lessons.diagnose.slices import SliceSpec
from lessons.tasks.base import GoldStep, Task
from lessons.tasks.files import solution_steps
from lessons.verify import verify

GSM_SOLUTION = ("Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n"
                "Natalia sold 48+24 = <<48+24=72>>72 clips altogether in April and May.")
GSM = Task("g1", "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in "
                 "May. How many clips did Natalia sell altogether in April and May?", "72",
           solution_steps(GSM_SOLUTION))


@pytest.mark.parametrize("text, found", [
    ("Step 1: 48 / 2 = 24", [("48 / 2", "24", True)]),
    ("so 12 × 3 = 35, then", [("12 × 3", "35", False)]),
    ("1/2 + 3/4 = 5/4", [("1/2 + 3/4", "5/4", True)]),
    ("earns 12/60 = $0.2 per minute", [("12/60", "0.2", True)]),
    ("(3 + 4) * 2 = 14.", [("(3 + 4) * 2", "14", True)]),
    ("1,200 - 200 = 1,000", [("1,200 - 200", "1,000", True)]),
    ("x = 5 and 2024 was a year", []),
    # read by the statement engine: LaTeX delimiters are not parentheses of the expression,
    # a power or a variable is no operand, a chain's later link continues the first
    ("he has \\(18 - 6 = 12\\) left", [("18 - 6", "12", True)]),
    ("\\[ a^2 + 2 = 2^2 + 2 = 4 + 2 = 6 \\]", [("4 + 2", "6", True)]),
    ("\\[2x + 4 + 1 = 7\\]", []),
    ("48 / 2 = 24 * 3 = 72", [("48 / 2", "24", True)]),
    ("costs $3 + $4 = $7", [("$3 + $4", "7", True)]),
    ("the 1000 - 909 = 91st number", []), ("10 - 5 = 5x + 5 - 5", []),  # an ordinal, a term: no result
    ("1/2 + 1/4 = 3/4 cup", [("1/2 + 1/4", "3/4", True)]), ("2 - 5 = -3 degrees", [("2 - 5", "-3", True)]),
])
def test_statements(text, found):
    assert [(s.expr, s.result, s.exact) for s in find_statements(text)] == found


@pytest.mark.parametrize("expr, value", [
    ("7 x 8", Fraction(56)), ("10 ÷ 4", Fraction(5, 2)), ("1/0", None), ("2 ** 3", None), ("import os", None),
])
def test_evaluate(expr, value):
    assert evaluate(expr) == value


@pytest.mark.parametrize("value, like, text", [
    (Fraction(5), "4", "5"), (Fraction(48, 5), "10", "9.6"), (Fraction(3, 4), "1/2", "3/4"),
    (Fraction(1, 3), "0.5", "1/3"),
])
def test_show(value, like, text):
    assert show(value, like) == text


def test_mutations_change_the_answer_and_carry_the_change_through():
    text = "Step 1: 48 / 2 = 24\nStep 2: 48 + 24 = 72\nAnswer: 72"
    seen = {}
    for m in mutations(text, random.Random(0)):
        seen.setdefault(m.kind, m)
        assert not verify("72", m.text).correct and verify("72", m.text).extraction.status == "ok"
        edited = [s for s in find_statements(m.text) if not s.exact]
        assert len(edited) <= 1  # a result slip is the one false statement; other edits stay true
    assert set(seen) == {"operand", "operator", "result"}
    slip = next(m for m in mutations(text, random.Random(0)) if m.kind == "result" and "= 24" in m.before)
    assert slip.text.splitlines()[1].startswith("Step 2: 48 + ")  # step 2 uses the slipped value


def test_mutations_leave_fraction_parts_alone():
    text = "Step 1: 1/2 + 3/4 = 5/4\nAnswer: 5/4"
    for m in mutations(text, random.Random(3)):
        assert m.after.startswith("1/2 ") or m.kind == "operator"
        assert m.text.endswith(f"Answer: {m.after.split('= ')[1]}")


def test_a_gsm8k_solution_parses_into_a_chain():
    chain = parse_chain(GSM)
    assert [c.value for c in chain] == [24, 72]
    assert [ref for _, _, ref in chain[0].operands] == [("q", Fraction(48)), ("const", Fraction(2))]
    assert [ref for _, _, ref in chain[1].operands] == [("q", Fraction(48)), ("step", 0)]


def test_resampled_variants_recompute():
    chain = parse_chain(GSM)
    made = [resample(GSM, chain, random.Random(i), "new") for i in range(10)]
    made = [m for m in made if m is not None]
    assert len(made) >= 5
    for m in made:
        n = int(m.prompt.split("to ")[1].split(" ")[0])
        assert m.answer == str(n + n // 2) and n % 2 == 0  # whole clips only: odd draws are refused
        assert m.steps[0].text == f"Natalia sold {n}/2 = {n // 2} clips in May."
        assert m.metadata["seed_task"] == "g1" and m.split == "train"


@pytest.mark.parametrize("task", [
    Task("a", "What is 3 + 4?", "7", (GoldStep("3 + 4 = 8", "8"),)),  # the gold does not check out
    Task("b", "Tom has apples.", "7", (GoldStep("3 + 4 = 7", "7"),)),  # no number of the question is used
    Task("c", "What is 3 + 4?", "7", (GoldStep("add them", "7"),)),  # no statement to recompute
])
def test_tasks_that_cannot_be_resampled(task):
    assert parse_chain(task) is None


@pytest.mark.parametrize("meta, predicates, ok", [
    ({"skill": "fractions", "difficulty": 3}, {"skill": "fractions", "difficulty": "3"}, True),
    ({"skill": "fractions", "difficulty": 2}, {"skill": "fractions", "difficulty": "3"}, False),
    ({"n_steps": 3}, {"n_steps": "[2, 4)"}, True),
    ({"n_steps": 4}, {"n_steps": "[2, 4)"}, False),
    ({"n_steps": 4}, {"n_steps": "[2, 4]"}, True),
    ({}, {"skill": "missing"}, True),
])
def test_slice_membership(meta, predicates, ok):
    spec = SliceSpec.from_labels(predicates)
    assert spec.matches(meta) is ok
    assert spec.labels() == predicates  # a stored slice reads back as it was written
