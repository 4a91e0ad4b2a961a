import random
import time
from fractions import Fraction

import pytest

from lessons.arith import Claim, check_step, show
from lessons.diagnose.arith_check import ArithLocator
from lessons.diagnose.base import Case
from lessons.diagnose.steps import split_steps, steps_from_list
from lessons.tasks import ArithSuite
from lessons.tasks.base import GoldStep

# True statements, many of them easy to misread. Each must give at least one claim and no
# false one: a false flag is a bug.
TRUE = [
    "3 × 4 = 12", "3 * 4 = 12", "12 / 4 = 3", "12 ÷ 4 = 3", "3 · 4 = 12", "3 x 4 = 12", "3x4=12",
    "2 + 3 × 4 = 14", "(2 + 3) × 4 = 20", "2(3 + 4) = 14", "-3 + 5 = 2", "5 - 8 = -3", "3 × (-2) = -6",
    "-2^2 = -4", "2^10 = 1024", "10^2 = 100", "5² = 25", "0.5 × 0.5 = 0.25", "12.5 × 4 = 50",
    # chains and running totals
    "3 × 4 = 12 = 6 + 6", "3 × 4 = 12 + 3 = 15", "12 + 3 = 15 - 5 = 10", "3 + 4 = 7 + 0",
    "x = 10 / 2 = 5", "3 + 4 = 7, and 7 × 2 = 14", "Total = 20 + 23. Total = 43 minutes.",
    # percentages and fractions
    "20% of 50 = 10", "50 * 20% = 10", "20/50 × 100 = 40%", "100% - 20% = 80%", "0.2 × 50 = 10",
    "(60 - 50) / 50 × 100% = 20%", "1/3 of 18 = 6", "3/4 + 1/6 = 11/12", "1/3 × 18 = 6",
    # LaTeX
    r"\(3 \times 4 = 12\)", r"\[ 3 \cdot 4 = 12 \]", r"$12 \div 4 = 3$", r"\frac{3}{4} \times 8 = 6",
    r"\dfrac{1}{2} + \dfrac{1}{4} = \dfrac{3}{4}", r"\$3.50 \times 4 = \$14", r"\(1/3 \times 18 = 6\) flamingos",
    r"\[ 8 \text{ pounds} \text{ (math)} + 4 \text{ pounds} \text{ (French)} = 12 \text{ pounds} \]",
    r"\(2 \text{ months} \times \$12/\text{month} = \$24\)",
    # money, thousands, units and remarks
    "$3.50 × 4 = $14.00", "1,234 + 1,000 = 2,234", "$1,200 / 4 = $300", "12 apples × 3 = 36 apples",
    "5 km + 3 km = 8 km", "2 books × 2 pounds/book = 4 pounds", "495 students * $15/student = $7425",
    "36 book slots ÷ 2 = 18 books", "She earns $4 (from the last trip) + $2 (half the rewards) = $6.",
    "2 x $0.10 = $0.20 (20 cents).", "1.5 hours × 60 = 90 minutes", "2 dozen × 3 = 72",
    "1.5 million + 2 million = 3.5 million", "Step 2: 4 × 3 = 12", "2. 4 × 3 = 12", "7 times 8 equals 56",
    # remainders, rounding and approximations
    "47 / 5 = 9 remainder 2", "47 ÷ 5 = 9 R 2", "47 / 5 = 9 with a remainder of 2", "10 / 3 = 3.33",
    "10/3 ≈ 3.3", "2/3 = 0.67", "2/3 = 0.6", "200 / 3 = 66", "200 / 3 = 67 buses", "1234 / 7 ≈ 176",
    # a remainder worked out in place: 47, the start of "47 - 45", is no stated remainder
    "47 / 5 = 9 remainder 47 - 45 = 2", "47 / 5 = 9 remainder (47 - 45) = 2",
    "100/3 = about 33", "0.33 × 300 = 100", "33% of 300 = 100", "33.3 × 3 = 100", "3.14 × 4 = 12.57",
    r"\frac{360}{7} \times 10 = 51.42857 \times 10",
]

# Statements that cannot be read unambiguously: no claim at all.
SKIPPED = [
    "2x + 3 = 11", "3x = 12", "x + 3 = 10", "3 × x = 12", "5 = 6", "1 hour = 60 minutes", "1 dozen = 12",
    "Day 2 = 5 + 3", "3:30 = 3.5 hours", "2 1/2 × 4 = 10", r"2\frac{1}{2} \times 4 = 10", "the 3rd + 2 = 5th",
    "2 hours + 30 minutes = 150 minutes", "30 minutes × 2 = 1 hour", "50 + 20% = 60", "100 + 20% = 130",
    r"\sqrt{16} + 2 = 6", "sqrt(16) + 2 = 6", "7 = 2^x", "n = 2/3, or n = 7", "a = -3/4 or a = 5/6",
    r"\frac{4}{5}(x - 3) = 1", "4/5 (x-3) = 4", "3 + 5 = 1 (mod 7)", "3 + 5 = 1 mod 7",
    r"(-36)^2 = 96 \equiv 96 \mod 100", "1 + 1 = 10 in binary", "1 + 1 = 10_2", "a_1 + 2 = 5", "|3 - 5| = 2",
    "3! = 6", "5! + 1 = 121", "2 + 3 = 5x", "10 - 4 = 2y", "3 + 4 = 7 + x", "12 - 3 = 2 1/4", "2 3 + 4 = 9",
    "Total -5 + 3 = 7", "2023-01-05 = 2017", "x^2 + 1 = 10", "AB + 2 = 7", "3 + AD^2 = 25", "65 + 2xy = 105",
    "7(49 - 3ab) = 42", r"12 \cos C + 1 = 13", "3 – 5 = 7", r"\frac{90}{123} < k < \frac{180}{123} \approx 0.732 < k",
    r"\[ -1 - 1 - 1 = 1 \] This is a contradiction.", r"\[ 2 + 1 = 1 \] (False)", "6th + 2 = 8th",
    # statements the text does not assert: rejected as impossible, or only asked
    "3 + 4 = 8, which is not possible.", "If 3 + 4 = 8, that is impossible.", "Is 7 × 8 = 54?",
    "Does 12 / 4 = 4? No.", "Could 3 × 4 = 13 here?", "47 / 5 = 9 R 47 - 45 = 2",
    "Let 2 + 2 = 5 be false", "", "=", "= = =", "3 +", "+ 4 = 4",
]

# False statements: exactly these false claims.
FALSE = [
    ("7 × 8 = 54", "7 × 8 = 54 (is 56)"),
    ("3 + 4 = 8", "3 + 4 = 8 (is 7)"),
    ("She has 495 students * $15/student = $7455 in all.", "495 students * 15/student = 7455 (is 7425)"),
    ("47 / 5 = 9 remainder 3", "47 / 5 = 9 remainder 3 (is 9 remainder 2)"),
    ("20% of 50 = 11", "20% of 50 = 11 (is 10)"),
    ("1/3 × 18 = 7", "1/3 × 18 = 7 (is 6)"),
    (r"\frac{3}{4} \times 8 = 5", "3/4 × 8 = 5 (is 6)"),
    ("12.50 × 4 = 51", "12.50 × 4 = 51 (is 50)"),
    ("$4.20 + $9.45 + $1.35 = $14.99", "4.20 + 9.45 + 1.35 = 14.99 (is 15)"),
    ("1,234 + 1 = 1,236", "1,234 + 1 = 1,236 (is 1235)"),
    ("Total = 52 + 24 + 44 + 48. Total = 178.", "52 + 24 + 44 + 48 = 178 (is 168)"),
    (r"\[ S = 165 \times \frac{6}{11} \] \[ S = 9 \times 6 \]", "165 × 6/11 = 9 × 6 (is 90)"),
    ("10 / 3 = 3.5", "10 / 3 = 3.5 (is 3.3333)"),
    ("2^10 = 1000", "2^10 = 1000 (is 1024)"),
    ("3 × 4 = 13 + 2 = 15", "3 × 4 = 13 + 2 (is 12)"),
    ("1234 / 7 ≈ 200", "1234 / 7 ≈ 200 (is 176.2857)"),
    ("12 apples × 3 = 35 apples", "12 apples × 3 = 35 apples (is 36)"),
    ("5 km + 3 km = 9 km", "5 km + 3 km = 9 km (is 8)"),
    ("7 times 8 equals 54", "7 × 8 = 54 (is 56)"),
    ("f(3) = 2 + 1 = 4", "2 + 1 = 4 (is 3)"),
    (r"\(1 \cdot (-1) \cdot 2 \cdot (-2) = 42\)", "1 × (-1) × 2 × (-2) = 42 (is 4)"),
    ("0.1 + 0.2 = 0.4", "0.1 + 0.2 = 0.4 (is 0.3)"),
    ("47 / 5 = 8 remainder 47 - 40 = 7", "47 / 5 = 8 (is 9.4)"),
    ("3 + 4 = 8. Is that possible? Yes.", "3 + 4 = 8 (is 7)"),
]


@pytest.mark.parametrize("text", TRUE)
def test_true_statements_are_never_flagged(text):
    claims = check_step(text)
    assert claims, f"expected {text!r} to be checked"
    assert all(c.ok for c in claims), [str(c) for c in claims if not c.ok]


@pytest.mark.parametrize("text", SKIPPED)
def test_ambiguous_statements_are_skipped(text):
    assert [str(c) for c in check_step(text)] == []


@pytest.mark.parametrize("text, expected", FALSE)
def test_false_statements_are_flagged(text, expected):
    assert [str(c) for c in check_step(text) if not c.ok] == [expected]


def test_claim_fields():
    (claim,) = check_step("The total is 7 × 8 = 54 apples.")
    assert isinstance(claim, Claim)
    assert (claim.expression, claim.stated, claim.value, claim.computed, claim.ok) == (
        "7 × 8", "54 apples", Fraction(54), Fraction(56), False
    )
    assert claim.operands == (7, 8) and claim.operators == "*"


@pytest.mark.parametrize(
    "x, text",
    [(Fraction(56), "56"), (Fraction(7, 2), "3.5"), (Fraction(1, 3), "0.3333"), (Fraction(-1, 30000), "-3.333e-05")],
)
def test_show(x, text):
    assert show(x) == text


def case(steps, gold=()):
    return Case(question="q", steps=steps_from_list(steps), gold_steps=tuple(gold), key="k")


def test_locator_finds_the_first_false_step():
    locator = ArithLocator()
    assert locator.name == "arith" and callable(locator.locate)
    cases = [
        case(["Each box has 8.", "7 × 8 = 56 in all.", "56 - 9 = 46 left.", "46 + 1 = 48."]),
        case(["3 + 4 = 7", "7 × 2 = 14"]),
        case(["No numbers here.", "Still none."]),
        case([]),
    ]
    first, clean, silent, empty = locator.locate(cases)
    assert (first.step, first.method, first.detail) == (2, "arith", "56 - 9 = 46 left (is 47)")
    assert first.confidence == pytest.approx(0.9) and first.tokens == 0
    assert clean.step is None and 0 < clean.confidence < 0.6 and "2 arithmetic statements" in clean.detail
    assert silent.step is None and silent.confidence == 0 and empty.step is None
    assert silent.confidence < clean.confidence


def test_locator_on_split_response():
    response = "Step 1: 12 × 3 = 36.\nStep 2: 36 + 14 = 40.\nStep 3: So the answer is 40."
    location = ArithLocator().locate([Case("q", split_steps(response))])[0]
    assert location.step == 1 and location.detail == "36 + 14 = 40 (is 50)"


def test_rounded_false_statement_is_less_certain():
    (location,) = ArithLocator().locate([case(["1234 / 7 ≈ 200"])])
    assert location.step == 0 and location.confidence < 0.9


def remainder_gold():
    return [GoldStep("63 / 8 = 7 remainder 7", "7")]


@pytest.mark.parametrize(
    "step, flagged",
    [
        ("63 / 8 = 8 boxes", True),  # arithmetic alone takes 8 for a rounding; the gold says 7
        ("63 / 8 = 7 remainder 7, so 7 boxes", False),
        ("63 / 8 = 7.875, so 7 full boxes", False),  # the exact quotient is a fair first step
        ("63 / 8 = 7 boxes", False),
        ("8 × 7 = 56", False),  # another computation: nothing to compare
    ],
)
def test_gold_steps_catch_what_rounding_hides(step, flagged):
    (location,) = ArithLocator().locate([case(["Pack the muffins.", step], remainder_gold())])
    assert (location.step == 1) is flagged
    if flagged:
        assert "gold step: 63 / 8 = 7 remainder 7" in location.detail


@pytest.mark.parametrize(
    "step, flagged", [("11/12 = 0.9167", False), ("3/4 + 1/6 = 0.9167", False), ("3/4 + 1/6 = 1", True)]
)
def test_gold_fraction_values(step, flagged):
    gold = [GoldStep("3/4 + 1/6 = 11/12", "11/12")]
    (location,) = ArithLocator().locate([case([step], gold)])
    assert (location.step is not None) is flagged


def test_gold_solutions_of_the_builtin_suite_are_all_true():
    locator = ArithLocator()
    for task in ArithSuite().tasks(limit=96):
        texts = [g.text for g in task.steps]
        (location,) = locator.locate([case(texts, task.steps)])
        assert location.step is None, (task.id, texts, location.detail)
        assert all(c.ok for t in texts for c in check_step(t)) and all(check_step(t) for t in texts)


def garbage(rng: random.Random, n: int) -> str:
    alphabet = "0123456789+-*/×÷=()., %$\\{}^_xé漢∑≈\n" + "abc "
    return "".join(rng.choice(alphabet) for _ in range(n))


MALFORMED = [
    "", " ", "=", "((((((((", "1" * 5000 + " + 1 = 2", "9" * 50 + " × " + "9" * 50 + " = 1",
    "(" * 20000 + "1" + ")" * 20000 + " = 1", "2^" * 5000 + "2 = 4", "-" * 10000 + "1 = 1",
    "\\frac{" * 3000 + "1}{2}" * 3000 + " = 3", "é漢字 ∑ 3 × 4 = 13 " * 500, "1/0 = 5", "0/0 = 0", "10^99999 = 1",
    "1 = " * 10000, "$" * 10000, "\\[" * 5000, "3 + 4 = 7 " * 5000,
]


@pytest.mark.parametrize("text", MALFORMED + [garbage(random.Random(seed), 2000) for seed in range(20)])
def test_malformed_text_never_crashes(text):
    start = time.process_time()  # CPU time: a loaded machine does not add to it, as it does to wall time
    claims = check_step(text)
    ArithLocator().locate([Case("q", split_steps(text)), Case(text, steps_from_list([text]))])
    assert all(isinstance(c, Claim) for c in claims)
    assert time.process_time() - start < 60  # a runaway, not a slow machine: the slowest takes about 1 s


def test_division_by_zero_is_not_a_claim():
    assert check_step("1/0 = 5") == [] and check_step("5 / (3 - 3) = 1") == []


@pytest.mark.parametrize("response, answer, expected", [
    ("Step 1: Add 692, 172\nStep 2: Add the result to 53\nStep 3: Answer: 865", "917", 2),
    ("We add: 5600 + 56 = 5656\nAnswer: 5656", "5544", 0),
    ("Step 1: 85 / 8 = 10.625\nStep 2: round up to 11 cartons\nAnswer: 11", "10", 1),
    ("Step 1: 9 / 3 = 3\nAnswer: 3", "13", None),  # 3 is a number of the question: says nothing
    ("Step 1: 2 + 2 = 4\nAnswer: 4", "4", None),  # right answer: nothing to blame
    ("Step 1: thinking", "4", None),  # no answer to trace
])
def test_the_step_that_first_writes_a_wrong_answer_is_flagged(response, answer, expected):
    from lessons.diagnose.arith_check import wrong_answer_introduced
    from lessons.diagnose.steps import split_steps

    case = Case(question="Priya saves $3 a week for 3 weeks, with 30 already; 692, 172, 53; 56 × 99; 85 eggs",
                steps=split_steps(response), answer=answer, response=response)
    location = wrong_answer_introduced(case)
    assert (location.step if location else None) == expected
