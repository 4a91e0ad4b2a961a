"""Numbers and equations read out of one step of a solution, exactly.

`parse_step` folds LaTeX and unicode operators to plain ones, finds every `left = right`
written in the step (each link of `a = b = c`), evaluates both sides with Fractions, and
sorts the step's numbers into what its equations work on, what they give, and what the
prose states outside any equation. Whole numbers stay ints: they hash and add far faster
than Fractions, and rule checks do a lot of set lookups. Never `eval`; linear in the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from lessons.arith.numbers import NUMBER, Number, div, number, numbers_in, plain_text
from lessons.arith.statements import check_step, exact_value

MAX_STEP_CHARS = 2_000  # characters of one step examined
MAX_TOKENS = 64  # tokens of one side of an equation; longer runs are not hand arithmetic

_RUN = re.compile(r"[-(0-9][0-9.()+\-*/%= \t]*")  # a stretch of arithmetic characters
# "3/4" written without spaces is one number (a fraction); "48 / 2" is a division.
_TOKEN = re.compile(r"[0-9]+/[0-9]+(?![0-9.])|[0-9]+(?:\.[0-9]+)?%?|[-+*/()]")

def _value(token: str) -> Number:
    """A number token's value: a percentage as a fraction ("25%" -> 1/4), "3/4" as 3/4.
    Raises ZeroDivisionError for "n/0"."""
    if token.endswith("%"):
        return div(number(token[:-1]), 100)
    if "/" in token:
        a, b = token.split("/")
        return div(number(a), number(b))
    return number(token)


@dataclass(frozen=True)
class Equation:
    """One written claim `left = right`: the left side's numbers and operators in order,
    its exact value, and the value the text states for it (None where not computable)."""

    operands: tuple[Number, ...]
    ops: str
    value: Number | None
    stated: Number | None
    holds: bool = False  # the claim is true, judged as `check_step` judges it


@dataclass(frozen=True)
class StepNumbers:
    """The numbers of one step: all of them (with fraction and percent values), the
    numbers its equations work on (`operands`) and give (`results`), and those outside
    any equation (`loose`)."""

    numbers: frozenset[Number]
    operands: frozenset[Number]
    results: frozenset[Number]
    loose: frozenset[Number]
    equations: tuple[Equation, ...]


@lru_cache(maxsize=16_384)  # gold steps and repeated samples come back; StepNumbers is immutable
def parse_step(text: str) -> StepNumbers:
    """The numbers and equations of one step's text (capped at `MAX_STEP_CHARS`)."""
    s = plain_text(text[:MAX_STEP_CHARS])
    if "=" not in s:  # prose only: every number is loose
        numbers = frozenset(numbers_in(s))
        return StepNumbers(numbers, frozenset(), frozenset(), numbers, ())
    eqs: list[Equation] = []
    operands: set[Number] = set()
    derived: set[Number] = set()
    written: set[Number] = set()
    for run in _RUN.findall(s):
        if "=" not in run:
            continue
        parts = [_tokens(p) for p in run.split("=")]
        for left, right in zip(parts, parts[1:]):
            eq = _equation(left, right)
            if eq is not None:
                eqs.append(eq)
        if parts[0] and (len(parts[0]) > 1 or "/" in parts[0][0]):  # a computation: its numbers are inputs
            operands.update(a for a in _atoms(parts[0]) if a not in derived)  # not worked out just before
            written.update(_token_values(parts[0]))  # a fraction's value is not a number of its own
        for part in parts[1:]:
            derived.update(_atoms(part or []))
            derived.update(_token_values(part or []))
    numbers = numbers_in(s)
    loose = frozenset(numbers - operands - derived - written)
    return StepNumbers(frozenset(numbers), frozenset(operands), frozenset(derived), loose, tuple(eqs))


def _tokens(part: str) -> list[str] | None:
    """The tokens of one side of an equation, or None when it is not plain arithmetic."""
    part = part.strip().rstrip(".").strip()
    tokens = _TOKEN.findall(part)
    if not tokens or len(tokens) > MAX_TOKENS or len("".join(tokens)) != len(part.replace(" ", "").replace("\t", "")):
        return None
    return tokens


def _atoms(tokens: list[str]) -> list[Number]:
    """The numbers as written, a fraction's numerator and denominator apart: a miscopied
    operand shows in them ("5/3" for "2/3") even where the value is a familiar one."""
    return [number(a) for t in tokens if t[0].isdigit() for a in t.rstrip("%").split("/")]


def _token_values(tokens: list[str]) -> list[Number]:
    values = (_safe_value(t) for t in tokens if t[0].isdigit())
    return [v for v in values if v is not None]


def _safe_value(token: str) -> Number | None:
    try:
        return _value(token)
    except ZeroDivisionError:  # "3/0"
        return None


def _equation(left: list[str] | None, right: list[str] | None) -> Equation | None:
    if left and len(left) == 1 and "/" in left[0]:  # "48/2 = 24": a division after all
        left = [left[0].split("/")[0], "/", left[0].split("/")[1]]
    if not left or not right or not any(t in "+-*/" for t in left[1:]):
        return None
    value, stated = _evaluate(left), _evaluate(right)
    chained = len(right) > 1 and right[0][0].isdigit() and not (len(right) == 3 and right[1] == "/")
    if stated is not None and stated != value and chained:
        # "48 / 2 = 24 * 3 = 72" chains on: what the left side is said to equal is 24.
        stated = _safe_value(right[0])
    # An exact match needs no judge (it agrees); the rest, rounded or false, is judged.
    holds = value is not None and stated is not None and (stated == value or _holds(left, right))
    ops = "".join(t for i, t in enumerate(left) if t in "+-*/" and i > 0 and left[i - 1] not in "+-*/(")
    return Equation(tuple(_token_values(left)), ops, value, stated, holds)


def _holds(left: list[str], right: list[str]) -> bool:
    """Whether `left = right` is true by the statement engine's one rule (rounding, a
    running total, floor or ceiling of a quotient), as the `arith` locator judges it."""
    claims = check_step(f"{_text(left)} = {_text(right)}")
    return bool(claims) and claims[0].ok


def _evaluate(tokens: list[str]) -> Number | None:
    """Exact value of + - * / ( ) arithmetic with the usual precedence; None if malformed."""
    value = exact_value(_text(tokens), percent=True)
    if value is None:
        return None
    return value.numerator if value.denominator == 1 else value


def _text(tokens: list[str]) -> str:
    """Tokens written out for the statement engine."""
    # An unspaced "3/4" is one number here: "12 / 3/4" divides by three quarters.
    text = " ".join(f"({t})" if "/" in t[1:] else t for t in tokens)
    if text.startswith("- "):
        text = "-" + text[2:]  # a spaced leading minus would read as a bullet of a list
    return text


