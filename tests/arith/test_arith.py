import ast
import re
from fractions import Fraction
from pathlib import Path

import pytest

import lessons.arith
from lessons.arith import (
    check_step, evaluate, free_constants, leading_number, numbers_in, parse_number, parse_step, plain_text, values_in,
    written_decimals,
)
from lessons.arith._text import normalize, normalize_with_origin
from lessons.arith.statements import exact_value


@pytest.mark.parametrize("text, value", [
    ("48 / 2", 24), ("(3 + 4) × 2", 14), ("2(3 + 4)", 14), ("1,200 / 4", 300), ("$3.50 × 4", 14),
    ("3 - -2", 5), ("2^10", 1024), ("7 / 3", Fraction(7, 3)),
    ("10 / 0", None), ("x + 3", None), ("2 3", None), ("25%", None), ("", None),
])
def test_exact_value(text, value):
    assert exact_value(text) == value


def test_a_percentage_is_a_fraction_only_when_asked():
    assert exact_value("25%", percent=True) == Fraction(1, 4)


@pytest.mark.parametrize("expr, value", [("48 / 2", 24), ("2 x 3", 6), ("1.5 * 2", 3), ("2^3", None), ("a + 1", None)])
def test_plain_expressions_for_edits(expr, value):
    assert evaluate(expr) == value


def test_values_in_skips_step_labels_and_glued_letters():
    assert values_in("Step 2: 1,200 apples and 3/4 of 5km cost $4.50") == [1200, Fraction(3, 4), Fraction(9, 2)]


def test_numbers_in_adds_fraction_and_percent_values():
    assert numbers_in(plain_text(r"\frac{3}{4} of 20% of 1{,}000")) == {3, 4, Fraction(3, 4), 20, Fraction(1, 5), 1000}


def test_parse_number_reads_one_number_only():
    assert parse_number("$1,234.50") == Fraction(246_900, 200)
    assert parse_number("42 apples") == 42
    assert parse_number("3 + 4") is None


@pytest.mark.parametrize("text, number", [
    ("$1,200 a month", "1200"), ("3/4 cup", "3/4"), ("-2.5", "-2.5"), ("42.", "42"), ("about 7", None),
    ("3/", None), ("12/4/2020", None),
])
def test_leading_number_is_the_number_that_opens_a_text(text, number):
    assert leading_number(text) == number


@pytest.mark.parametrize("text, places", [("0.9167", 4), ("-1,234.5 apples", 1), ("12", None), ("3/4", None)])
def test_written_decimals_counts_the_places_as_written(text, places):
    assert written_decimals(text) == places


def test_free_constants_allow_a_conversion_factor_only_for_its_kind_of_unit():
    assert 7 not in free_constants()
    assert 7 in free_constants({"time"})
    assert 7 in free_constants(units=True)
    assert {0, 1, 2, 10, 100, 1000, 60} <= free_constants()


def test_the_package_imports_nothing_from_the_stages_that_use_it():
    for path in Path(lessons.arith.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("lessons."):
                assert node.module.startswith("lessons.arith"), f"{path.name} imports {node.module}"


@pytest.mark.parametrize("text", [
    "Natalia sold 48/2 = <<48/2=24>>24 clips.\n- then 3 x 4 = 12", r"\(\boxed{1994 - 2003 = -9}\)",
    r"\frac{3}{4} \times 8 = 6", r"\text{Total} = \$12/\text{month} + 3", r"2^{10} \cdot 3 = 3072",
])
def test_normalised_numbers_map_back_to_where_they_are_written(text):
    norm, origin = normalize_with_origin(text)
    assert norm == normalize(text)
    for m in re.finditer(r"\d+", norm):
        start, end = origin.span(m.start(), m.end())
        assert text[start:end] == m.group()


@pytest.mark.parametrize("text, holds", [
    ("48 / 2 = 24", True), ("48 / 2 = 25", False), ("10 / 3 = 3.33", True), ("200 / 3 = 66 full boxes", True),
    ("(7/10) * 100 = 70%", True), ("48 / 2 = 24 * 3 = 72", True), ("3 + 4 = 8", False),
])
def test_an_equation_holds_as_the_statement_engine_judges_it(text, holds):
    (first, *_) = parse_step(text).equations
    assert first.holds is holds
    assert check_step(text)[0].ok is holds  # the one rule: the locator's verdict


def test_a_step_read_by_the_locator_and_then_the_error_types_reads_the_same_each_time():
    """The engine keeps a batch's readings for the second reader: what either reader gets
    must not depend on who read the step first, nor change on a third reading."""
    text = "She has 48 / 2 = 24 apples, then 24 * 3 = 70 and 25% of 40 = 10 \\(\\frac{3}{4} \\times 8 = 6\\)."
    lessons.arith.statements._read.cache_clear()
    parse_step.cache_clear()
    first = [(str(c), c.ok) for c in check_step(text)]
    equations = [(e.operands, e.ops, e.value, e.stated, e.holds) for e in parse_step(text).equations]
    parse_step.cache_clear()
    assert [(e.operands, e.ops, e.value, e.stated, e.holds) for e in parse_step(text).equations] == equations
    assert [(str(c), c.ok) for c in check_step(text)] == first
    assert [ok for _, ok in first] == [True, False, True, True]
    assert [holds for *_, holds in equations] == [True, False, True, True]


@pytest.mark.parametrize("text, operands, ops, value, stated", [
    # read by the statement engine's reader: units, LaTeX and chains as the locator reads them
    ("3 hours * 60 minutes/hour = 180 minutes.", (3, 60), "*", 180, 180),
    (r"\( \frac{1}{4} \times 60 = 15 \) pounds", (Fraction(1, 4), 60), "*", 15, 15),
    (r"\( \frac{24.00}{60} = 0.40 \) dollars", (24, 60), "/", Fraction(2, 5), Fraction(2, 5)),
    ("1/4 / 1/4 = 1", (Fraction(1, 4), Fraction(1, 4)), "/", 1, 1),  # unspaced fractions are numbers
    ("48/2 = 24", (48, 2), "/", 24, 24),  # ... unless one stands alone: a division
    ("48 / 2 = 24 * 3 = 72", (48, 2), "/", 24, 24),
])
def test_parse_step_reads_the_statements_the_engine_reads(text, operands, ops, value, stated):
    first = parse_step(text).equations[0]
    assert (first.operands, first.ops, first.value, first.stated) == (operands, ops, value, stated)


def test_parse_step_sorts_a_steps_numbers_into_operands_results_and_loose_ones():
    info = parse_step("She had 12 apples, so 48 / 2 = 24 * 3 = 72 in all.")
    assert (info.operands, info.results, info.loose) == ({48, 2}, {24, 3, 72}, {12})
