"""The `arith` locator: recompute every arithmetic statement in a step, no model needed.

Statements are read and judged by `lessons.arith` (see its `statements` module); this module
only decides which step a false one, or one that contradicts the gold solution, points at.
"""

from __future__ import annotations

import functools
from fractions import Fraction
from typing import Sequence

from lessons.arith import Claim, check_step, numbers_in, parse_number, plain_text, written_decimals
from lessons.diagnose.base import Case, Location
from lessons.tasks.base import GoldStep
from lessons.verify.extract import extract_answer


class ArithLocator:
    """First step holding a false arithmetic statement, or one that contradicts the gold
    solution's value for the very same computation (built-in suites know every step)."""

    name = "arith"

    def __init__(self, confidence: float = 0.9) -> None:
        self.confidence = confidence  # for an exact false statement; rounding lowers it

    def locate(self, cases: Sequence[Case]) -> list[Location]:
        return [self.locate_one(case) for case in cases]

    def locate_one(self, case: Case) -> Location:
        gold = _gold_claims(case.gold_steps)
        checked = 0
        for step in case.steps:
            claims = check_step(step.text)
            checked += len(claims)
            for claim in claims:
                if not claim.ok:
                    conf = self.confidence - (0.15 if claim.rounded else 0.0)
                    return Location(step.index, self.name, conf, str(claim), evidence="false_statement")
                contradiction = _contradicts_gold(claim, gold)
                if contradiction:
                    return Location(step.index, self.name, self.confidence - 0.05, contradiction,
                                    evidence="gold_mismatch")
        introduced = wrong_answer_introduced(case)
        if introduced is not None:
            return introduced
        # Finding nothing says little when little was checked: confidence grows with the
        # number of true statements, but stays modest since most errors are not arithmetic.
        conf = round(0.6 * checked / (checked + 3), 3)
        return Location(None, self.name, conf, f"{checked} arithmetic statements checked, none false")


WRONG_ANSWER_CONFIDENCE = 0.5  # the wrong value is born here, but its cause may lie a step earlier


def wrong_answer_introduced(case: Case) -> Location | None:
    """When every statement is true but the answer is wrong, the first step that writes
    the wrong final answer (a true "5600 + 56 = 5656" after a plan to add instead of
    subtract; "Answer: 865" after steps that only name operations). Needs the gold answer
    and the response; skipped when the wrong value is also a number of the question,
    where its first appearance says nothing."""
    if not case.answer or not case.response:
        return None
    extraction = extract_answer(case.response)
    if extraction.status != "ok" or extraction.answer is None:
        return None
    wrong, gold = parse_number(extraction.answer), parse_number(case.answer)
    if wrong is None or gold is None or wrong == gold or wrong in numbers_in(plain_text(case.question)):
        return None
    for step in case.steps:
        if wrong in numbers_in(plain_text(step.text)):
            detail = f"the wrong answer {extraction.answer} is first written here (gold {case.answer})"
            return Location(step.index, "arith", WRONG_ANSWER_CONFIDENCE, detail, evidence="wrong_answer")
    return None


@functools.lru_cache(maxsize=4096)  # a run holds many mistakes per task; its gold is parsed once
def _gold_claims(gold_steps: tuple[GoldStep, ...]) -> tuple[tuple[Claim, Fraction, GoldStep], ...]:
    """(claim, gold value, step) for each gold step whose text is a checkable statement."""
    out = []
    for gs in gold_steps:
        claims = [c for c in check_step(gs.text) if c.ok]
        try:
            value = Fraction(gs.value) if gs.value is not None else None
        except (ValueError, ZeroDivisionError):
            value = None
        if len(claims) == 1 and value is not None:
            out.append((claims[0], value, gs))
    return tuple(out)


def _contradicts_gold(claim: Claim, gold: tuple[tuple[Claim, Fraction, GoldStep], ...]) -> str:
    """A reason when `claim` computes exactly a gold step's expression to another value.

    Only true claims get here, so what this adds is the gold's own precision: arithmetic
    alone accepts "47 / 5 = 10" as a rounding, the gold step says 9 remainder 2.
    """
    for g, value, gs in gold:
        if not _same_computation(claim, g):
            continue
        if g.remainder is not None:  # the exact quotient is a fair first step too
            if claim.remainder is None:
                agrees = claim.value in (value, g.operands[0] / g.operands[1])
            else:
                agrees = (claim.value, claim.remainder) == (value, g.remainder)
        elif (decimals := written_decimals(claim.stated)) is not None:
            unit = Fraction(10) ** -decimals
            agrees = abs(claim.value - value) <= unit / 2  # "0.9167" for 11/12
        else:
            agrees = claim.value == value
        if not agrees:
            return f"{claim.expression} = {claim.stated} (gold step: {gs.text})"
    return ""


def _same_computation(a: Claim, b: Claim) -> bool:
    if a.operators != b.operators or not a.operators:
        return False
    if len(a.operators) == 1 and a.operators in "+*":
        return sorted(a.operands) == sorted(b.operands)
    return a.operands == b.operands
