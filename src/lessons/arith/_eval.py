"""Parse a run of items into an expression tree and evaluate it exactly.

Values are intervals of Fractions: a number written with decimals may be a rounded value
("0.33" for 1/3), so it stands for every number that rounds to it. A claim is only false
when no value in the interval can be rounded to the stated result: that keeps sloppy but
honest rounding from being flagged.
"""

from __future__ import annotations

from fractions import Fraction
from typing import NamedTuple, Union

from lessons.arith._text import Item, Quantity


class Unparsable(ValueError):
    """The run is not one clean arithmetic expression."""


class Ambiguous(ValueError):
    """The expression has more than one reasonable reading (mixed units, x/0, "50 + 20%")."""


Node = Union[Quantity, tuple]  # a Quantity, ("neg", node) or (op, left, right)
BINARY = {"+": "+", "-": "-", "*": "*", "×": "*", "of": "*", "/": "/", "÷": "/", "^": "^"}


def _rounded_percents() -> frozenset[int]:
    """Whole percentages that are rounded simple fractions (33 for 1/3, 17 for 1/6)."""
    out = set()
    for den in range(2, 13):
        for num in range(1, den):
            exact = Fraction(100 * num, den)
            if exact.denominator != 1:
                out.add(round(exact))
    return frozenset(out)


_ROUNDED_PERCENTS = _rounded_percents()


class Value(NamedTuple):
    """An interval of exact values. Named tuples, `Value` and `Reading`, not frozen
    dataclasses: judging one statement makes and hashes dozens of them."""

    lo: Fraction
    hi: Fraction
    unit: str | None = None
    percent: bool = False  # a bare percentage, not yet applied to anything

    @property
    def exact(self) -> bool:
        return self.lo == self.hi

    @property
    def mid(self) -> Fraction:
        return self.lo if self.lo == self.hi else (self.lo + self.hi) / 2


class Reading(NamedTuple):
    """How to read percentages and scale words; claims try every reading."""

    percent_of_100: bool = True  # "20%" is 1/5 (else 20, as in "= 40%" after "× 100")
    apply_scale: bool = True  # "2 dozen" is 24 (else 2)
    slack: bool = True  # decimals may be rounded values (off for stated results)


def parse(run: list[Item]) -> Node:
    parser = _Parser(run)
    node = parser.expr()
    if parser.i != len(run):
        raise Unparsable("trailing items")
    return node


class _Parser:
    """Recursive descent: sum > product (× / of, glued "2(3)") > unary minus > power."""

    def __init__(self, run: list[Item]) -> None:
        self.run, self.i = run, 0

    def peek(self) -> Item | None:
        return self.run[self.i] if self.i < len(self.run) else None

    def take(self) -> Item:
        item = self.peek()
        if item is None:
            raise Unparsable("expression ends early")
        self.i += 1
        return item

    def expr(self) -> Node:
        node = self.term()
        while (item := self.peek()) is not None and item.kind == "op" and item.text in "+-":
            self.i += 1
            node = (item.text, node, self.term())
        return node

    def term(self) -> Node:
        node = self.unary()
        while (item := self.peek()) is not None:
            if item.kind == "op" and BINARY.get(item.text) in ("*", "/"):
                self.i += 1
                node = (BINARY[item.text], node, self.unary())
            elif item.kind == "lp" and item.start == self.run[self.i - 1].end:
                node = ("*", node, self.unary())  # "2(3 + 4)": glued, so a product
            else:
                break
        return node

    def unary(self) -> Node:
        item = self.peek()
        if item is not None and item.kind == "op" and item.text == "-":
            self.i += 1
            return ("neg", self.unary())
        return self.power()

    def power(self) -> Node:
        base = self.atom()
        item = self.peek()
        if item is not None and item.kind == "op" and item.text == "^":
            self.i += 1
            return ("^", base, self.unary())
        return base

    def atom(self) -> Node:
        item = self.take()
        if item.kind == "qty" and item.qty is not None:
            return item.qty
        if item.kind == "lp":
            node = self.expr()
            if self.take().kind != "rp":
                raise Unparsable("unbalanced parenthesis")
            return node
        raise Unparsable(f"unexpected {item.text!r}")


def evaluate(node: Node, reading: Reading) -> Value:
    if isinstance(node, Quantity):
        return _quantity(node, reading)
    if node[0] == "neg":
        v = evaluate(node[1], reading)
        return Value(-v.hi, -v.lo, v.unit, v.percent)
    op, a, b = node[0], evaluate(node[1], reading), evaluate(node[2], reading)
    if op in "+-":
        return _add(a, b, op == "-")
    exact = a.lo == a.hi and b.lo == b.hi  # the usual case: one Fraction operation, not four
    if op == "*":
        unit = _product_unit(a, b)
        if exact:
            return _point(a.lo * b.lo, unit)
        return _span((a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi), unit)
    if op == "/":
        if b.lo <= 0 <= b.hi:
            raise Ambiguous("division by zero")
        unit = a.unit if b.unit is None else None
        if exact:
            return _point(a.lo / b.lo, unit)
        return _span((a.lo / b.lo, a.lo / b.hi, a.hi / b.lo, a.hi / b.hi), unit)
    return _power(a, b)


def _quantity(q: Quantity, reading: Reading) -> Value:
    rounded = reading.slack and _looks_rounded(q)
    if not rounded and q.scale == 1 and not q.percent:
        return Value(q.value, q.value, q.unit)  # a plain exact number: no Fraction arithmetic
    value, half = q.value, Fraction(0)
    if rounded:
        half = Fraction(1, 2 * 10**q.decimals)
    if q.percent and reading.percent_of_100:
        value, half = value / 100, half / 100
    if reading.apply_scale:
        value, half = value * q.scale, half * q.scale
    return Value(value - half, value + half, q.unit, q.percent)


def _looks_rounded(q: Quantity) -> bool:
    """Whether a written number may stand for a longer one (0.33 for 1/3, 33% for 1/3).

    Two decimals or more always may; one decimal only on numbers of 10 or more, where the
    rounding is under 0.5% ("33.3"); small one-decimal numbers ("0.5") are taken as exact.
    """
    if q.percent and q.decimals == 0:
        return int(q.value) in _ROUNDED_PERCENTS
    return q.decimals >= 2 or (q.decimals == 1 and q.value >= 10)


def _add(a: Value, b: Value, minus: bool) -> Value:
    if a.percent != b.percent:
        raise Ambiguous("a percentage added to a number")  # "50 + 20%" may mean 60
    if a.unit and b.unit and a.unit != b.unit:
        raise Ambiguous("different units added")  # "2 hours + 30 minutes"
    unit = a.unit or b.unit
    if a.lo == a.hi and b.lo == b.hi:
        x = a.lo - b.lo if minus else a.lo + b.lo
        return Value(x, x, unit, a.percent)
    if minus:
        return Value(a.lo - b.hi, a.hi - b.lo, unit, a.percent)
    return Value(a.lo + b.lo, a.hi + b.hi, unit, a.percent)


def _product_unit(a: Value, b: Value) -> str | None:
    """A unitless factor keeps the other's unit ("30 minutes × 2" is in minutes)."""
    if a.unit and b.unit:
        return None
    return a.unit or b.unit


def _power(a: Value, b: Value) -> Value:
    if not b.exact or b.lo.denominator != 1 or abs(b.lo) > 64:
        raise Ambiguous("exponent not a small whole number")
    e = int(b.lo)
    if max(abs(a.lo), abs(a.hi)) > 10**12 or (e < 0 and a.lo <= 0 <= a.hi):
        raise Ambiguous("power too large or of zero")
    if a.exact or a.lo >= 0 or e % 2 == 1:
        ends = (a.lo**e, a.hi**e)
    else:
        raise Ambiguous("even power of an interval around zero")
    return _span(ends, None)


def _span(ends: tuple[Fraction, ...], unit: str | None) -> Value:
    return Value(min(ends), max(ends), unit)


def _point(x: Fraction, unit: str | None) -> Value:
    return Value(x, x, unit)


def operators(node: Node) -> str:
    if isinstance(node, Quantity):
        return ""
    if node[0] == "neg":
        return operators(node[1])
    return operators(node[1]) + BINARY.get(node[0], node[0]) + operators(node[2])


def operands(node: Node) -> tuple[Fraction, ...]:
    if isinstance(node, Quantity):
        return (node.value,)
    return tuple(x for child in node[1:] for x in operands(child))
