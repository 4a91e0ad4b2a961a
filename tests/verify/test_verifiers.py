"""The verifiers one by one, on (gold, extracted answer) pairs."""

from __future__ import annotations

from fractions import Fraction

import pytest

from lessons.registry import UnknownName
from lessons.verify import get_verifier, verifiers
from lessons.arith import numeric_core, parse_number
from lessons.verify.verifiers import (
    ChoiceVerifier, ExactVerifier, MathVerifier, NumericVerifier, RegexVerifier, choice_letter,
)


@pytest.mark.parametrize(
    "text, value",
    [
        ("42", Fraction(42)),
        ("-7", Fraction(-7)),
        ("+7", Fraction(7)),
        ("−7", Fraction(-7)),  # unicode minus
        ("1,234.50", Fraction(246_9, 2)),
        ("$1,234.50", Fraction(246_9, 2)),
        ("\\$18", Fraction(18)),
        ("-$5", Fraction(-5)),
        ("USD 12", Fraction(12)),
        ("3/4", Fraction(3, 4)),
        ("-3/4", Fraction(-3, 4)),
        ("\\frac{3}{4}", Fraction(3, 4)),
        ("\\dfrac{-3}{4}", Fraction(-3, 4)),
        ("25%", Fraction(25)),  # the percent sign is dropped, not divided out
        ("25\\%", Fraction(25)),
        (".5", Fraction(1, 2)),
        ("1.5e3", Fraction(1500)),
        ("1{,}000", Fraction(1000)),
        ("42 apples", Fraction(42)),
        ("42\\text{ cm}", Fraction(42)),
        ("x = 5", None),
        ("1,2", None),
        ("12,34", None),
        ("2 pi", None),
        ("5 x", None),
        ("5 x^2", None),  # an expression, not five of a unit
        ("5 m^2", Fraction(5)),
        ("3 m/s", Fraction(3)),
        ("3/0", None),
        ("1e999999", None),  # refused rather than building a million-digit integer
        ("1" * 5_000, None),
        ("", None),
        ("abc", None),
    ],
)
def test_parse_number(text, value):
    assert parse_number(text) == value


def test_numeric_core_keeps_the_number_as_written():
    assert numeric_core("$1,234.50 dollars") == "1,234.50"
    assert numeric_core("-\\frac{3}{4}") == "-\\frac{3}{4}"
    assert numeric_core("25 \\%") == "25%"


MATH_CASES = [
    ("42", "42", True),
    ("42", "42.0", True),
    ("42", "43", False),
    ("-3", "-3", True),
    ("-3", "3", False),
    ("1234.5", "1,234.50", True),
    ("0.75", "\\frac{3}{4}", True),
    ("0.75", "3/4", True),
    ("25", "25%", True),
    ("25%", "25", True),
    ("0.5", "1/2", True),
    ("1/2", "0.5", True),
    ("\\frac{1}{2}", "0.5", True),
    ("\\frac{1}{2}", "1/2", True),
    ("0.5", "\\frac{1}{2}", True),
    ("1/3", "0.333333", True),  # math-verify rounds to 6 places
    ("1/3", "0.33", False),
    ("x+1", "1+x", True),
    ("x^2+2x+1", "(x+1)^2", True),
    ("\\sqrt{2}", "2^{1/2}", True),
    ("\\frac{\\sqrt{3}}{2}", "\\frac{1}{2}\\sqrt{3}", True),
    ("2\\pi", "2 \\pi", True),
    ("2\\pi", "2", False),
    ("\\{1,2\\}", "\\{2,1\\}", True),
    ("[1,2)", "(1,2)", False),
    ("10", "\\$10", True),
    ("42", "", False),
]


@pytest.mark.parametrize("gold, answer, equal", MATH_CASES)
def test_math(gold, answer, equal):
    assert MathVerifier().equivalent(gold, answer) is equal


def test_math_refuses_huge_answers_without_calling_math_verify():
    assert MathVerifier().judge("x+1", "x+" * 2_000) == (False, "too long for math-verify")


@pytest.mark.parametrize(
    "gold, answer, equal",
    [
        ("3.14159", "3.1415926", True),  # within 1e-6 relative
        ("3.14159", "3.1416", False),
        ("100", "100.00001", True),
        ("0", "1e-10", True),  # within 1e-9 absolute
        ("0", "1e-8", False),
        ("1234", "$1,234", True),
        ("0.75", "3/4", True),
        ("25", "25%", True),
        ("1e300", "1.0000000001e300", True),  # exact arithmetic: no float overflow
        ("abc", " ABC ", True),  # not numbers: compared as the exact verifier would
        ("abc", "abd", False),
        ("5", "x = 5", False),
    ],
)
def test_numeric(gold, answer, equal):
    assert NumericVerifier().equivalent(gold, answer) is equal


def test_numeric_tolerances_are_settable():
    assert NumericVerifier(rel_tol=1e-2).equivalent("100", "100.9")
    assert not NumericVerifier(rel_tol=1e-3).equivalent("100", "100.9")


@pytest.mark.parametrize(
    "gold, answer, equal",
    [
        ("Paris", "paris", True),
        ("New  York", " new york ", True),
        ("Straße", "STRASSE", True),  # casefold, not lower
        ("Paris", "Paris.", False),
    ],
)
def test_exact(gold, answer, equal):
    assert ExactVerifier().equivalent(gold, answer) is equal


@pytest.mark.parametrize(
    "gold, answer, equal",
    [
        (r"[0-9]+ apples", "12 apples", True),
        (r"[0-9]+ apples", "12 apples and pears", False),  # the whole answer must match
        (r"(?i)yes|true", "TRUE", True),
        (r"yes", "  yes ", True),
        (r"\d+", "12a", False),
    ],
)
def test_regex(gold, answer, equal):
    assert RegexVerifier().equivalent(gold, answer) is equal


def test_regex_with_broken_gold_says_so():
    correct, detail = RegexVerifier().judge("(unclosed", "x")
    assert not correct and detail.startswith("invalid gold regex")


@pytest.mark.parametrize(
    "text, letter",
    [
        ("B", "B"), ("b", "B"), ("(B)", "B"), ("B.", "B"), ("B)", "B"), ("[B]", "B"), ("B:", "B"),
        ("(B) 42", "B"), ("B. 42", "B"), ("Option B", "B"), ("The answer is C", "C"),
        ("\\text{B}", "B"), ("$\\text{(D)}$", "D"), ("**C**", "C"),
        ("a lot", None), ("42", None), ("", None), ("AB", None),
    ],
)
def test_choice_letter(text, letter):
    assert choice_letter(text) == letter


@pytest.mark.parametrize(
    "gold, answer, equal",
    [
        ("B", "(B)", True), ("B", "B.", True), ("B", "b", True), ("(B)", "B", True),
        ("B", "(B) 42", True), ("B", "C", False), ("B", "a lot", False), ("B", "42", False),
    ],
)
def test_choice(gold, answer, equal):
    assert ChoiceVerifier().equivalent(gold, answer) is equal


def test_registry_has_the_builtins():
    assert set(verifiers.names()) >= {"math", "numeric", "exact", "regex", "choice"}
    for name in ("math", "numeric", "exact", "regex", "choice"):
        assert get_verifier(name).name == name


def test_unknown_verifier_lists_the_known_ones():
    with pytest.raises(UnknownName, match="unknown verifier 'fuzzy'; available: .*choice"):
        get_verifier("fuzzy")


def test_a_registered_class_is_instantiated():
    class Always:
        name = "test-always"

        def equivalent(self, gold: str, answer: str) -> bool:
            return True

    verifiers.register("test-always", Always)  # a name of its own: registries are shared
    assert get_verifier("test-always").equivalent("1", "2")
