"""Numbers and equations read out of one step of a solution, exactly.

`parse_step` takes every `left = right` the statement engine reads in the step (each link
of `a = b = c`; `statements.read_links`), keeps each side's exact value and the engine's
verdict, and sorts the step's numbers into what its equations work on, what they give,
and what the prose states outside any equation. Whole numbers stay ints: they hash and add
far faster than Fractions, and rule checks do a lot of set lookups. Never `eval`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property, lru_cache
from typing import Optional, Sequence

from lessons.arith._eval import BINARY, Node
from lessons.arith._text import Item, Quantity
from lessons.arith.numbers import Number, numbers_in, plain_text
from lessons.arith.statements import Link, exact_value_of, read_links

MAX_STEP_CHARS = 2_000  # characters of one step examined
# The fractions written as one number in a run of items: (items, value) by first item.
Fractions = dict[int, tuple[int, Optional[Number]]]


@dataclass(frozen=True)
class Equation:
    """One written claim `left = right`: the left side's numbers and operators in order,
    its exact value, and the value the text states for it (None where not computable)."""

    operands: tuple[Number, ...]
    ops: str
    value: Number | None
    stated: Number | None
    # The link to judge where the stated value is not the exact one (rounded, or false):
    # judging is the costly part, and only one rule asks, so it waits until asked.
    link: Link | None = field(default=None, repr=False, compare=False)

    @cached_property
    def holds(self) -> bool:
        """The claim is true, judged as `check_step` judges it: an exact match needs no
        judge (it agrees); the rest, rounded or false, is the engine's."""
        if self.link is None:  # nothing to judge: stated exactly, or not computable
            return self.value is not None and self.stated == self.value
        claim = self.link.claim()
        return claim is not None and claim.ok


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
    s = text[:MAX_STEP_CHARS]
    numbers = frozenset(numbers_in(plain_text(s)))
    links = read_links(s)
    if not links:  # prose only: every number is loose
        return StepNumbers(numbers, frozenset(), frozenset(), numbers, ())
    eqs: list[Equation] = []
    operands: set[Number] = set()
    derived: set[Number] = set()
    written: set[Number] = set()
    for link in links:
        left = _fractions(link.left)
        # A lone unspaced "48/2" left of an `=` is a division after all, not a fraction.
        lone = left.get(0)
        if lone is not None and lone[0] == len(link.left):
            left = {}
        operands.update(a for a in _atoms(link.left) if a not in derived)  # not worked out just before
        written.update(_values(link.left, left))  # a fraction's value is not a number of its own
        if link.right:
            eqs.append(_equation(link, left))
        derived.update(_atoms(link.right))
        derived.update(_values(link.right, _fractions(link.right)))
    loose = numbers - operands - derived - written
    return StepNumbers(numbers, frozenset(operands), frozenset(derived), frozenset(loose), tuple(eqs))


def _equation(link: Link, fractions: Fractions) -> Equation:
    left, right = link.left, link.right
    grouped = _grouped(left, fractions)
    value, stated = _exact(grouped, link.tree if grouped is left else None), _exact(right)
    chained = len(right) > 1 and right[0].kind == "qty" and not (len(right) == 3 and right[1].text in "/÷")
    if stated is not None and stated != value and chained:
        # "48 / 2 = 24 * 3 = 72" chains on: what the left side is said to equal is 24.
        stated = _exact(right[:1])
    judge = link if value is not None and stated is not None and stated != value else None
    return Equation(tuple(_values(left, fractions)), _operators(left, fractions), value, stated, judge)


def _fractions(run: Sequence[Item]) -> Fractions:
    """Each fraction of whole numbers written as one number in the run, by its first item."""
    out: Fractions = {}
    for k in range(len(run)):
        fraction = _fraction(run, k)
        if fraction is not None:
            out[k] = fraction
    return out


# A fraction written as one number: unspaced "3/4", or "\\frac{3}{4}" as `normalize` folds it,
# "((3)/(4))"; (item kinds, where the numerator, slash and denominator are).
_FRACTIONS = ((("qty", "op", "qty"), 0, 1, 2), (("lp", "lp", "qty", "rp", "op", "lp", "qty", "rp", "rp"), 2, 4, 6))


def _fraction(run: Sequence[Item], k: int) -> tuple[int, Number | None] | None:
    """(items, value) of a fraction of whole numbers written as one number at run[k]; its
    value None for "n/0"."""
    if run[k].kind not in ("qty", "lp"):
        return None  # most items: no fraction starts here
    for shape, num, slash, den in _FRACTIONS:
        part = run[k : k + len(shape)]
        if tuple(it.kind for it in part) != shape or part[slash].text != "/" or not _glued(part):
            continue
        x, y = part[num].qty, part[den].qty
        if x is not None and y is not None and _whole(x) and _whole(y):
            return len(shape), (_number(x.value / y.value) if y.value else None)
    return None


def _glued(run: Sequence[Item]) -> bool:
    return all(x.end == y.start for x, y in zip(run, run[1:]))


def _whole(q: Quantity) -> bool:
    return not q.decimals and not q.percent


def _atoms(run: Sequence[Item]) -> list[Number]:
    """The numbers as written, a fraction's numerator and denominator apart: a miscopied
    operand shows in them ("5/3" for "2/3") even where the value is a familiar one."""
    return [_number(it.qty.value) for it in run if it.qty is not None]


def _values(run: Sequence[Item], fractions: Fractions) -> list[Number]:
    """The numbers with their values: a fraction written as one number (one of
    `fractions`) as one number, a percentage as a fraction ("25%" -> 1/4); "n/0" gives none."""
    out: list[Number] = []
    k = 0
    while k < len(run):
        fraction = fractions.get(k)
        if fraction is not None:
            out += [fraction[1]] if fraction[1] is not None else []
            k += fraction[0]
            continue
        q = run[k].qty
        if q is not None:
            out.append(_number(q.value / 100 if q.percent else q.value))
        k += 1
    return out


def _operators(run: Sequence[Item], fractions: Fractions) -> str:
    """The binary operators, in order, normalised to "+-*/^"; a fraction's slash (one of
    `fractions`) is none."""
    ops = []
    k = 0
    while k < len(run):
        fraction = fractions.get(k)
        if fraction is not None:
            k += fraction[0]
            continue
        if run[k].kind == "op" and k > 0 and run[k - 1].kind in ("qty", "rp"):
            ops.append(BINARY[run[k].text])
        k += 1
    return "".join(ops)


def _exact(run: Sequence[Item], tree: Node | None = None) -> Number | None:
    q = run[0].qty if len(run) == 1 else None
    if q is not None and q.scale == 1:  # a stated number, the usual right side: no tree to build
        return _number(q.value / 100 if q.percent else q.value)
    value = exact_value_of(run, percent=True, tree=tree)
    return None if value is None else _number(value)


def _grouped(run: tuple[Item, ...], fractions: Fractions) -> tuple[Item, ...]:
    """The run with each unspaced fraction (of `fractions`) in parentheses: "1/4 / 1/4"
    divides a quarter by a quarter, and "12 / 3/4" divides by three quarters. The run
    itself where it has no such fraction among other items."""
    if len(run) <= 3 or not fractions:
        return run
    out: list[Item] = []
    k = 0
    while k < len(run):
        fraction = fractions.get(k)
        if fraction is not None and fraction[0] == 3:
            a, b = run[k], run[k + 2]
            out += (Item("lp", "(", a.start, a.start), *run[k : k + 3], Item("rp", ")", b.end, b.end))
            k += 3
        else:
            out.append(run[k])
            k += 1
    return tuple(out) if len(out) != len(run) else run


def _number(value: Fraction) -> Number:
    return value.numerator if value.denominator == 1 else value
