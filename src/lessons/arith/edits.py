"""Plain arithmetic statements in solution text ("48 / 2 = 24"), with their spans, for
code that edits solutions without breaking them: the injected builder changes one number
or operator and carries the new value through the later statements; the practice builder
re-computes a gold solution after re-sampling a problem's numbers.

Statements are found by the statement engine's reader (`statements.computations`), then
only the plain ones are kept: numbers, + - * / × ÷ and parentheses on the left, one
number on the right, in the text as written. Anything else is left alone, so an edit
never rests on a guess about prose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from lessons.arith._spans import right_end
from lessons.arith._text import Item, items, normalize_with_origin
from lessons.arith.numbers import LONE_NUMBER, NUMBER_PATTERN as _NUM, parse_number
from lessons.arith.statements import computations, exact_value

_OP = r"(?:[-+*/×÷]|(?<=\s)x(?=\s))"
_OPERAND = rf"\(*\$?{_NUM}\)*"
_PLAIN = re.compile(rf"{_OPERAND}(?:\s*{_OP}\s*{_OPERAND})+")
_LINK = re.compile(r"\s*=\s*\$?")  # between a plain expression and its result, as written
_RESULT = re.compile(rf"-?{_NUM}(?:/\d+)?")
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
    """The plain statements of `text`, true or false, in order. A statement that starts
    inside the one before it ("48 / 2 = 24 * 3 = 72" continues from 24) is not another
    edit point: changing its operand would change the first statement's result."""
    norm, origin = normalize_with_origin(text)
    if "=" not in norm:
        return []
    its = items(norm)
    out: list[Statement] = []
    for start, e, _ in computations(its):
        result = _result(its, e) if its[e].text == "=" else None  # "≈" states no exact value to carry
        if result is None:
            continue
        a, b = origin.span(its[start].start, its[e - 1].end)
        a -= text[a - 1 : a] == "$"  # "$3 + $4": the sign belongs to the operand as written
        r0, r1 = origin.span(*result)
        expr = text[a:b]
        if (out and a < out[-1].end) or not _PLAIN.fullmatch(expr) or not _LINK.fullmatch(text, b, r0):
            continue
        if _RESULT.fullmatch(text, r0, r1):
            out.append(Statement(a, r1, expr, a, text[r0:r1], r0, evaluate(expr)))
    return out


def _result(its: list[Item], e: int) -> tuple[int, int] | None:
    """The span of the number stated right of its[e], the first of a running total ("=
    24 × 3 = 72" states 24): a number, negative or an unspaced fraction ("-3", "5/4"),
    without its unit or percent sign; None where the engine reads no stated side."""
    end = right_end(its, e)
    if end is None:
        return None
    k = e + 1
    if its[k].text == "-" and k + 1 < end and its[k + 1].start == its[k].end:
        k += 1
    if its[k].kind != "qty":
        return None
    last = k
    if k + 2 < end and its[k + 1].text == "/" and its[k + 2].kind == "qty" and _glued(its[k : k + 3]):
        last = k + 2
    return its[e + 1].start, its[last].start + len(its[last].text)


def _glued(run: list[Item]) -> bool:
    return all(x.end == y.start for x, y in zip(run, run[1:]))


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
