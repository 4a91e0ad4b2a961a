"""Arithmetic statements in text: find each, read its expression and stated value, and
judge it true or false exactly. The one statement engine of lessons (issue 11).

A statement is an `=` (or `≈`) link between the arithmetic expression immediately to its
left and the value to its right: `3 × 4 = 12`, each link of `a = b = c`, `20% of 50 = 10`,
`\\frac{3}{4} \\times 8 = 6`, `47 / 5 = 9 remainder 2`. Anything that cannot be read
unambiguously (a variable, a date, a range, a mixed number, mixed units) is skipped: a
false flag sends a diagnosis the wrong way, a missed one only leaves it to other methods.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import lru_cache
from itertools import product
from typing import Iterator, NamedTuple, Sequence

from lessons.arith._eval import (
    Ambiguous, Node, Reading, Unparsable, Value, evaluate, operands, operators, parse,
)
from lessons.arith._spans import between_inequalities, left_start, right_end, statement_label
from lessons.arith._text import Item, Quantity, items, normalize, normalize_with_origin

_REMAINDER = re.compile(
    r"\s*(\d+)\s*(?:,\s*)?(?:R|r|rem\.?|remainder|with\s+(?:a\s+)?remainder(?:\s+of)?)\s*(\d+)\b"
    # "9 remainder 47 - 45 = 2" works the remainder out in place: 47 starts an expression
    r"(?!\s*[-+*/×÷]\s*\d)"
)
_MODULAR = re.compile(r"\\equiv|≡|\\[pb]?mod\b|\bmod(?:ulo)?\s+\d", re.IGNORECASE)
_DISOWN = re.compile(
    r"contradict|\bfalse\b|\bnot (?:true|hold|possible)|n't (?:true|hold|be)|incorrect|≠|\\neq?\b|\bwrong\b"
    r"|impossible|\bcannot be\b",
    re.IGNORECASE,
)
# A question mark before the sentence ends: "Is 7 × 8 = 54?" asks, it does not assert.
# A point followed by a digit is a decimal point, not the sentence's end.
_QUESTION = re.compile(r"(?:[^¦.!?]|\.(?=\d)){0,100}\?")
_SIMPLE_FRACTION = re.compile(r"\(\((-?[\d.,]+)\)/\((-?[\d.,]+)\)\)")
_MAX_ITEMS = 120  # longer runs are not statements a person checks; also bounds recursion
_READINGS = [Reading(p, s) for p, s in product((True, False), (True, False))]


@dataclass(frozen=True)
class Claim:
    """One checked statement: `expression = stated`, and whether it holds."""

    expression: str  # as read (LaTeX and unicode folded), e.g. "7 × 8"
    stated: str  # the stated result as written, e.g. "54"
    value: Fraction  # the stated result
    computed: Fraction  # the expression's exact value (interval middle if inputs are rounded)
    ok: bool
    rounded: bool = False  # rounding or an approximation was involved
    operands: tuple[Fraction, ...] = ()  # numbers on the left, in order (for gold matching)
    operators: str = ""  # binary operators on the left, normalised to "+-*/^"
    remainder: int | None = None  # stated remainder, for "47 / 5 = 9 remainder 2"
    computed_text: str = ""  # the right result in words where a number is not enough
    relation: str = "="  # "≈" where the text said "≈", "about", "approximately"
    # [start, end) of the stated result in the text checked, with `check_step(..., spans=True)`
    stated_span: tuple[int, int] | None = field(default=None, compare=False)

    def __str__(self) -> str:
        right = self.computed_text or show(self.computed)
        return f"{self.expression} {self.relation} {self.stated}" + ("" if self.ok else f" (is {right})")


def show(x: Fraction) -> str:
    """A short exact-looking number: "56", "3.5", "0.3333"."""
    if x.denominator == 1:
        return str(x.numerator)
    try:
        if abs(x) < 1:
            return f"{float(x):.4g}"
        return f"{float(x):.4f}".rstrip("0").rstrip(".")
    except OverflowError:
        return str(round(x))


def check_step(text: str, spans: bool = False) -> list[Claim]:
    """Every arithmetic statement in `text` that can be read unambiguously, checked; with
    `spans`, each claim knows where its stated result is written in `text` (`stated_span`)."""
    if spans:
        norm, origin = normalize_with_origin(text)
        read = _tokens(norm)
    else:
        read, origin = _read(text), None
    if read is None:
        return []
    norm, its, found_left = read
    claims = []
    eqs = [e for e, item in enumerate(its) if item.kind == "eq"]
    computed = {e: (start, left) for start, e, left in found_left}
    for n, e in enumerate(eqs):
        found = [_check_link(norm, its, e, *computed[e], spans) if e in computed else None]
        if n + 1 < len(eqs):
            found.append(_check_restated(norm, its, e, eqs[n + 1], spans))
        for claim in found:
            if claim is not None and (claim.ok or not _disowned(norm, its[e].end)):
                claims.append(claim)
    if origin is None:
        return claims
    return [replace(c, stated_span=origin.span(*c.stated_span)) if c.stated_span else c for c in claims]


class _Read(NamedTuple):
    """A step as the engine reads it: normalised text, its items (never changed once
    made: readings are shared), and its `computations`."""

    norm: str
    its: list[Item]
    computed: tuple[tuple[int, int, Node], ...]


# Cached for one batch: diagnosis locates a batch of mistakes, then classifies them, and
# both read the same steps. Small, because thousands of kept item lists slow every garbage
# collection more than re-reading a step saves (measured on ProcessBench's 10,000 steps).
@lru_cache(maxsize=1024)
def _read(text: str) -> _Read | None:
    return _tokens(normalize(text))


def _tokens(norm: str) -> _Read | None:
    """The reading of normalised text; None where it states nothing (most prose)."""
    if "=" not in norm and "≈" not in norm:
        return None  # skip the tokenizer
    its = items(norm)
    return _Read(norm, its, tuple(computations(its)))


def computations(its: list[Item]) -> Iterator[tuple[int, int, Node]]:
    """(first item, `=` item, tree) of each computation stated equal to something: the
    maximal readable expression just left of an `=` or `≈`, with at least one operator.
    The one place a statement's left side is found; `check_step` judges what it is said
    to equal, `edits.find_statements` keeps the plain ones with their spans."""
    for e, item in enumerate(its):
        if item.kind != "eq":
            continue
        start = left_start(its, e)
        if start is None or e - start > _MAX_ITEMS:
            continue
        try:
            left = parse(its[start:e])
        except Unparsable:
            continue
        if operators(left):  # "1 hour = 60 minutes", "Day 2 = ...": nothing computed
            yield start, e, left


@dataclass(frozen=True)
class Link:
    """One computation stated equal to something, as the reader found it: the items of
    its two sides (`right` is empty where the stated side cannot be read); `claim()` is
    the engine's verdict on it."""

    left: tuple[Item, ...]
    right: tuple[Item, ...]
    # where it stands, for `claim` (judging is the costly part: done only when asked)
    norm: str = field(repr=False, compare=False)
    its: list[Item] = field(repr=False, compare=False)
    eq: int = field(repr=False, compare=False)
    tree: Node = field(repr=False, compare=False)

    def claim(self) -> Claim | None:
        """The link judged as `check_step` judges it; None where no reading is safe."""
        start = self.eq - len(self.left)
        return _check_link(self.norm, self.its, self.eq, start, self.tree, False)


def read_links(text: str) -> list[Link]:
    """Every computation in `text` with what it is stated to equal, as `check_step`
    reads them (no restatements, nothing disowned: a caller that sorts numbers wants
    every link written)."""
    read = _read(text)
    if read is None:
        return []
    norm, its, computed = read
    out = []
    for start, e, left in computed:
        end = right_end(its, e)
        right = tuple(its[e + 1 : end]) if end is not None else ()
        out.append(Link(tuple(its[start:e]), right, norm, its, e, left))
    return out


def _display(text: str) -> str:
    """Normalised text made readable again: "((3)/(4))" back to "3/4", spaces collapsed."""
    text = _SIMPLE_FRACTION.sub(r"\1/\2", text)
    return " ".join(text.replace("( ", "(").replace(" )", ")").split())


def _disowned(norm: str, at: int) -> bool:
    """Whether the text after a false statement takes it back.

    "-8 = -3 (This is not true)", "2 + 1 = 1, a contradiction" and "3 + 4 = 8, which is not
    possible" reason by contradiction; "Is 7 × 8 = 54?" only asks;
    "(-36)^32 × 36^2 = 96 × 36 ≡ 64 mod 100" uses "=" for congruence. Neither is a slip.
    """
    if _DISOWN.search(norm, at, at + 100) or _QUESTION.match(norm, at):
        return True
    end = norm.find("¦", at, at + 200)
    return bool(_MODULAR.search(norm, at, end if end >= 0 else at + 200))


def _check_restated(norm: str, its: list[Item], e: int, e2: int, spans: bool) -> Claim | None:
    """`Total = 52 + 24 + 44 + 48. Total = 178.`: one name given an expression, then, in the
    very next statement, a value; the two must agree."""
    end = right_end(its, e)
    if end is None or end >= e2 or its[end].kind == "eq":
        return None
    name = statement_label(norm, its, e, 0)
    if name is None or name != statement_label(norm, its, e2, end):
        return None
    end2 = right_end(its, e2)
    if end2 is None or max(end - e, end2 - e2) > _MAX_ITEMS:
        return None
    if end2 < len(its) and its[end2].kind == "eq":
        return None  # "Total = 720 × 24 = 17280" starts a new computation, restates nothing
    try:
        left, right = parse(its[e + 1 : end]), parse(its[e2 + 1 : end2])
    except Unparsable:
        return None
    if not operators(left):
        return None
    expression = _display(norm[its[e + 1].start : its[end - 1].end])
    stated = _display(norm[its[e2 + 1].start : its[end2 - 1].end])
    span = (its[e2 + 1].start, its[end2 - 1].end) if spans else None
    return _judge(expression, left, stated, right, its[e2].text == "≈", span)


def _check_link(norm: str, its: list[Item], e: int, start: int, left: Node, spans: bool) -> Claim | None:
    expression = _display(norm[its[start].start : its[e - 1].end])
    remainder = _REMAINDER.match(norm, its[e].end)
    if remainder is not None:
        return _check_remainder(expression, left, remainder, spans)
    end = right_end(its, e)
    if end is None or end - e > _MAX_ITEMS or between_inequalities(its, start, end):
        return None
    try:
        right = parse(its[e + 1 : end])
    except Unparsable:
        return None
    stated = _display(norm[its[e + 1].start : its[end - 1].end])
    span = (its[e + 1].start, its[end - 1].end) if spans else None
    return _judge(expression, left, stated, right, its[e].text == "≈", span)


def _readings(node: Node, slack: bool) -> list[Value | None]:
    """The node's value under every reading; None where a reading is ambiguous."""
    quantities = _quantities(node)
    percent = any(q.percent for q in quantities)
    scale = any(q.scale != 1 for q in quantities)
    out: list[Value | None] = []
    cache: dict[Reading, Value | None] = {}
    for r in _READINGS:
        # Readings that differ only in a feature the node lacks give the same value.
        key = Reading(r.percent_of_100 or not percent, r.apply_scale or not scale, slack)
        if key not in cache:
            try:
                cache[key] = evaluate(node, key)
            except (Ambiguous, ZeroDivisionError, OverflowError):
                cache[key] = None
        out.append(cache[key])
    return out


def _quantities(node: Node) -> list[Quantity]:
    if isinstance(node, Quantity):
        return [node]
    return [q for child in node[1:] for q in _quantities(child)]


def _decimals(node: Node, reading: Reading) -> int:
    """Precision of a stated result: the finest written decimal, shifted by % and scale."""
    if isinstance(node, Quantity):
        shift = 2 if node.percent and reading.percent_of_100 else 0
        if reading.apply_scale:
            shift -= len(str(node.scale)) - 1 if node.scale in (10, 100, 1000, 10**6, 10**9) else 0
        return node.decimals + shift
    return max(_decimals(child, reading) for child in node[1:])


def _judge(
    expression: str, left: Node, stated: str, right: Node, approx: bool, span: tuple[int, int] | None
) -> Claim | None:
    """A claim when some reading makes the link true or every reading makes it false.

    Readings: a percentage as a fraction or as a plain number ("× 100 = 40%"), scale
    words applied or not, and the stated side taken whole or as the start of a running
    total ("3 × 4 = 12 + 3 = 15" states 12 for 3 × 4).
    """
    lefts = _readings(left, slack=_scales(left))
    candidates = [_tries(node) for node in (right, *_left_spine(right))]
    ambiguous = any(None in lefts or none for _, none in candidates)
    computed = next((lv.mid for lv in lefts if lv is not None), None)
    stated_tries = candidates[0][0]
    value = stated_tries[0][0].lo if stated_tries else None  # the first reading's
    for lv in _distinct(lefts):
        for tries, _ in candidates:
            for rv, rs, decimals in tries:
                if _matches(lv, rv.lo, decimals, approx) or _overlaps(lv, rs, approx):
                    return _claim(expression, stated, rv.lo, lv.mid, True, left, approx, not lv.exact, span)
                if lv.unit and rv.unit and lv.unit != rv.unit:
                    ambiguous = True  # "30 minutes × 2 = 1 hour": a conversion, not an error
    if ambiguous or computed is None or value is None:
        return None
    return _claim(expression, stated, value, computed, False, left, approx, False, span)


def _distinct(values: list[Value | None]) -> list[Value]:
    """The values that are not None, each once (readings that agree give one object)."""
    out: list[Value] = []
    for v in values:
        if v is not None and all(v is not seen for seen in out):
            out.append(v)
    return out


def _tries(node: Node) -> tuple[list[tuple[Value, Value | None, int]], bool]:
    """A stated side's distinct (value, slacked value, decimals) over the readings, in
    reading order, and whether some reading is ambiguous. Readings that give the same
    values and precision would give the same verdict: each is judged once."""
    tries: list[tuple[Value, Value | None, int]] = []
    ambiguous = False
    for reading, rv, rs in zip(_READINGS, _readings(node, slack=False), _slacked(node)):
        if rv is None:
            ambiguous = True
            continue
        decimals = _decimals(node, reading)
        if all(rv is not v or rs is not s or decimals != d for v, s, d in tries):
            tries.append((rv, rs, decimals))
    return tries, ambiguous


def _slacked(node: Node) -> list[Value | None]:
    """A stated expression's values with its rounded inputs widened ("= 51.42857 × 10");
    a stated plain number is judged by its own decimals instead (see `_matches`)."""
    return [None] * len(_READINGS) if not _scales(node) else _readings(node, slack=True)


def _scales(node: Node) -> bool:
    """Whether rounded inputs could shift the result: a sum of written decimals is stated
    exactly ("$4.20 + $9.45 + $1.35 = $15.00"), a product may carry the rounding
    ("0.33 × 300 = 100", "3.14 × 4 = 12.57")."""
    return any(op in "*/^" for op in operators(node))


def _overlaps(lv: Value, rv: Value | None, approx: bool) -> bool:
    if rv is None:
        return False
    slack = max(abs(rv.lo), abs(rv.hi)) / 20 if approx else 0
    return lv.lo - slack <= rv.hi and rv.lo <= lv.hi + slack


def _left_spine(node: Node) -> list[Node]:
    """Left operands down from the top: 12 + 3 gives [12], 12 × 2 + 1 gives [12 × 2, 12]."""
    out: list[Node] = []
    while not isinstance(node, Quantity) and node[0] != "neg":
        node = node[1]
        out.append(node)
    return out


def _claim(
    expression: str, stated: str, value: Fraction, computed: Fraction, ok: bool, left: Node, approx: bool,
    inexact: bool, span: tuple[int, int] | None,
) -> Claim:
    return Claim(
        expression, stated, value, computed, ok, approx or inexact, operands(left), operators(left),
        relation="≈" if approx else "=", stated_span=span,
    )


def _matches(lv: Value, r: Fraction, decimals: int, approx: bool) -> bool:
    """Whether `r`, written with `decimals` decimals, is a fair statement of `lv`.

    An exact value that fits in those decimals must be met exactly; one that does not may
    be rounded either way (floor and ceiling are common in word problems: "200 / 3 = 66
    full boxes"); a value from rounded inputs may be stated as any of its roundings.
    """
    exact = lv.lo == lv.hi
    if exact and not approx and lv.lo == r:
        return True  # the usual true statement: no rounding to look at
    unit = _unit(decimals)
    if approx:
        slack = max(unit / 2, abs(r) / 20)  # "≈" and "about": within 5%
        return lv.lo - slack <= r <= lv.hi + slack
    if exact:
        return (lv.lo / unit).denominator != 1 and abs(lv.lo - r) < unit
    return lv.lo - unit / 2 <= r <= lv.hi + unit / 2


@lru_cache(maxsize=64)
def _unit(decimals: int) -> Fraction:
    """The last written place of a number with `decimals` decimals (negative: tens, ...)."""
    return Fraction(10) ** -decimals


def _check_remainder(expression: str, left: Node, m: re.Match[str], spans: bool) -> Claim | None:
    """`a / b = q remainder r`: whole-number division only."""
    if isinstance(left, Quantity) or left[0] != "/":
        return None
    a, b = left[1], left[2]
    if not (isinstance(a, Quantity) and isinstance(b, Quantity)):
        return None  # "-47 / 5", "(40 + 7) / 5": leave such remainders alone
    if a.percent or b.percent or a.decimals or b.decimals or b.value == 0 or a.scale != 1 or b.scale != 1:
        return None
    q, r = int(m.group(1)), int(m.group(2))
    true_q, true_r = divmod(int(a.value), int(b.value))
    return Claim(
        expression, f"{q} remainder {r}", Fraction(q), Fraction(true_q), (q, r) == (true_q, true_r),
        operands=operands(left), operators="/", remainder=r, computed_text=f"{true_q} remainder {true_r}",
        stated_span=(m.start(1), m.end(2)) if spans else None,
    )


def exact_value(expression: str, percent: bool = False) -> Fraction | None:
    """The exact value of one whole arithmetic expression ("(48 + 2) / 4", "3 × $4"), read
    as `check_step` reads a statement's left side; None where it is not exactly one clean
    expression (a variable, x/0, a rounded input, two readings). A lone percentage ("25%")
    is None unless `percent`, then a fraction (1/4)."""
    return exact_value_of(items(normalize(expression)), percent)


def exact_value_of(run: Sequence[Item], percent: bool = False, tree: Node | None = None) -> Fraction | None:
    """`exact_value` of items already read (a side of a `Link`), or of their `tree`."""
    try:
        node = parse(list(run)) if tree is None else tree
        value = evaluate(node, Reading(slack=False))
    except (Unparsable, Ambiguous, ZeroDivisionError, OverflowError, RecursionError):
        return None
    return value.lo if value.exact and (percent or not value.percent) else None
