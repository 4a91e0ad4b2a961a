"""Helpers shared by the procedural generators: exact number text and gold steps.

Every generated problem is built as a list of steps whose last value *is* the gold
answer, so the two can never disagree.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction

from lessons.tasks.base import GoldStep

Number = int | Fraction


def fmt(x: Number) -> str:
    """Exact text for a number: "1234", "-3", or a reduced fraction "7/12"."""
    x = Fraction(x)
    return str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"


def step(expr: str, value: Number) -> GoldStep:
    """A step written as "expr = value", e.g. "48 / 2 = 24"."""
    return GoldStep(text=f"{expr} = {fmt(value)}", value=fmt(value))


def remainder_step(a: int, b: int) -> GoldStep:
    """Division with remainder; its value is the quotient (the remainder is in the text)."""
    q, r = divmod(a, b)
    return GoldStep(text=f"{a} / {b} = {q} remainder {r}", value=str(q))


@dataclass(frozen=True)
class Problem:
    prompt: str
    steps: tuple[GoldStep, ...]

    @property
    def answer(self) -> str:
        return self.steps[-1].value or ""


@dataclass(frozen=True)
class Person:
    name: str
    subj: str  # "She" / "He", capitalised for the start of a sentence
    poss: str  # "her" / "his"


PEOPLE = tuple(
    Person(n, s, p)
    for n, s, p in [
        ("Maya", "She", "her"), ("Liam", "He", "his"), ("Ava", "She", "her"),
        ("Noah", "He", "his"), ("Zara", "She", "her"), ("Omar", "He", "his"),
        ("Priya", "She", "her"), ("Diego", "He", "his"), ("Lena", "She", "her"),
        ("Sam", "He", "his"),
    ]
)


def person(rng: random.Random) -> Person:
    return rng.choice(PEOPLE)
