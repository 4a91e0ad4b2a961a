"""Plain arithmetic statements in solution text ("48 / 2 = 24"), evaluated exactly.

Used to edit solutions without breaking them: the injected builder changes one number or
operator and carries the new value through the later statements; the practice builder
re-computes a gold solution after re-sampling a problem's numbers. Only statements made of
numbers, + - * / × ÷ and parentheses are read; anything else is left alone, so an edit
never rests on a guess about prose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from lessons.arith.numbers import LONE_NUMBER, NUMBER_PATTERN as _NUM, parse_number
from lessons.arith.statements import exact_value

_OP = r"(?:[-+*/×÷]|(?<=\s)x(?=\s))"
_OPERAND = rf"\(*\$?{_NUM}\)*"
STATEMENT = re.compile(
    rf"(?<![\w.,/$])(?P<expr>{_OPERAND}(?:\s*{_OP}\s*{_OPERAND})+)\s*=\s*\$?(?P<result>-?{_NUM}(?:/\d+)?)(?![\w.,/]*\d)"
)
_OPERAND_NUMBER = re.compile(rf"(?<![\w.,]){_NUM}(?![\w]|[.,]\d)")
_MAX_DIGITS = 15  # longer numbers are ids or garbage; exact arithmetic on them is pointless


@dataclass(frozen=True)
class Statement:
    """`expr = result` at [start, end) of its text; `value` is the expression's exact value."""

    start: int
    end: int
    expr: str
    expr_start: int
    result: str
    result_start: int
    value: Fraction | None  # None when the expression cannot be evaluated (x/0, too long)

    @property
    def stated(self) -> Fraction | None:
        return parse_number(self.result)

    @property
    def exact(self) -> bool:
        """The statement is true as written."""
        return self.value is not None and self.value == self.stated


def find_statements(text: str) -> list[Statement]:
    out = []
    for m in STATEMENT.finditer(text):
        out.append(Statement(
            start=m.start(), end=m.end(), expr=m.group("expr"), expr_start=m.start("expr"),
            result=m.group("result"), result_start=m.start("result"), value=evaluate(m.group("expr")),
        ))
    return out


def operand_spans(expr: str, fraction_parts: bool = True) -> list[tuple[int, int, Fraction]]:
    """(start, end, value) of each number in an expression. "48/2" is a division whose
    parts are operands; with `fraction_parts=False` the parts of an unspaced a/b are not
    (in "1/2 + 3/4" they write fractions, not operations)."""
    pattern = _OPERAND_NUMBER if fraction_parts else LONE_NUMBER
    out = []
    for m in pattern.finditer(expr):
        value = parse_number(m.group())
        if value is not None:
            out.append((m.start(), m.end(), value))
    return out


def evaluate(expr: str) -> Fraction | None:
    """The exact value of a plain arithmetic expression (numbers, + - * / × ÷, x between
    spaces, parentheses), or None; evaluated by the statement engine (`exact_value`)."""
    cleaned = re.sub(r"(?<=\s)x(?=\s)", "*", expr).replace("×", "*").replace("÷", "/")
    cleaned = cleaned.replace("$", "").replace(",", "")
    if re.search(r"\d{%d,}" % (_MAX_DIGITS + 1), cleaned) or not re.fullmatch(r"[\d.+\-*/() ]+", cleaned):
        return None
    return exact_value(cleaned)
