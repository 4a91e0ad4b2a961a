"""The built-in procedural suite `arith`: arithmetic and word problems over named skills.

Task i is drawn from its own RNG seeded from (generator version, seed, i), so it is the
same whatever `limit` is asked for. Skills are shuffled within blocks of eight, so every
block of eight consecutive tasks holds each skill once, and difficulty rotates by block
so the first 24 tasks hold every (skill, difficulty) pair. Numbers stay small enough that
a 0.5B model gets some right and some wrong.
"""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Callable

from lessons.tasks._steps import Problem, fmt, person, remainder_step, step
from lessons.tasks.base import GeneratedSuite, Task, seeded_rng, split_for
from lessons.tasks.word_problems import word_problem

GENERATOR_VERSION = "1"  # bump on any change that alters a generated task

Generator = Callable[[random.Random, int], Problem]


def _rng(*parts: object) -> random.Random:
    return seeded_rng("arith", GENERATOR_VERSION, *parts)


def _digits(rng: random.Random, n: int) -> int:
    return rng.randint(10 ** (n - 1), 10**n - 1)


def _carries(a: int, b: int) -> int:
    """Number of columns that carry when adding a and b."""
    count = carry = 0
    while a or b:
        carry = (a % 10 + b % 10 + carry) >= 10
        count += carry
        a, b = a // 10, b // 10
    return count


def _borrows(a: int, b: int) -> int:
    """Number of columns that borrow when subtracting b from a (a >= b)."""
    count = borrow = 0
    while b or borrow:
        borrow = (a % 10 - b % 10 - borrow) < 0
        count += borrow
        a, b = a // 10, b // 10
    return count


def addition(rng: random.Random, d: int) -> Problem:
    if d == 3 and rng.random() < 0.5:  # three addends: two steps
        a, b, c = _digits(rng, 3), _digits(rng, 3), _digits(rng, 2)
        prompt = rng.choice(["What is {} + {} + {}?", "Add {}, {} and {}."]).format(a, b, c)
        return Problem(prompt, (step(f"{a} + {b}", a + b), step(f"{a + b} + {c}", a + b + c)))
    width, need = {1: (2, 1), 2: (3, 1), 3: (4, 2)}[d]
    while True:
        a, b = _digits(rng, width), _digits(rng, width - (d == 3 and rng.random() < 0.5))
        if _carries(a, b) >= need:
            break
    phrasing = rng.choice(
        ["What is {} + {}?", "Add {} and {}.", "What is the sum of {} and {}?", "Calculate {} + {}."]
    )
    return Problem(phrasing.format(a, b), (step(f"{a} + {b}", a + b),))


def subtraction(rng: random.Random, d: int) -> Problem:
    if d == 3 and rng.random() < 0.5:  # a - b - c: two steps
        a = _digits(rng, 4)
        b = rng.randint(100, a // 2)
        c = rng.randint(100, min(999, a - b - 1))  # keeps the result positive
        prompt = rng.choice(["What is {} - {} - {}?", "Subtract {1} and then {2} from {0}."]).format(a, b, c)
        return Problem(prompt, (step(f"{a} - {b}", a - b), step(f"{a - b} - {c}", a - b - c)))
    width, need = {1: (2, 1), 2: (3, 1), 3: (4, 2)}[d]
    while True:
        a, b = sorted((_digits(rng, width), _digits(rng, width)), reverse=True)
        if a > b and _borrows(a, b) >= need:
            break
    phrasing = rng.choice(["What is {} - {}?", "Subtract {1} from {0}.", "What is the difference {} - {}?"])
    return Problem(phrasing.format(a, b), (step(f"{a} - {b}", a - b),))


def multiplication(rng: random.Random, d: int) -> Problem:
    a = _digits(rng, 3 if d == 3 else 2)
    b = rng.randint(3, 9) if d == 1 else rng.choice([x for x in range(12, 100) if x % 10])
    phrasing = rng.choice(["What is {} × {}?", "Multiply {} by {}.", "What is the product of {} and {}?"])
    if d == 1:
        return Problem(phrasing.format(a, b), (step(f"{a} * {b}", a * b),))
    tens, ones = b - b % 10, b % 10  # long multiplication: one partial product per digit
    steps = (
        step(f"{a} * {tens}", a * tens),
        step(f"{a} * {ones}", a * ones),
        step(f"{a * tens} + {a * ones}", a * b),
    )
    return Problem(phrasing.format(a, b), steps)


_PACKING = [  # (items, containers, singular container)
    ("muffins", "boxes", "box"), ("eggs", "cartons", "carton"), ("pencils", "packs", "pack"),
    ("apples", "bags", "bag"), ("books", "crates", "crate"), ("cookies", "tins", "tin"),
]


def division(rng: random.Random, d: int) -> Problem:
    who = person(rng)
    items, boxes, box = rng.choice(_PACKING)
    if d == 1:  # exact sharing
        k, q = rng.randint(2, 9), rng.randint(3, 15)
        prompt = (
            f"{who.name} shares {k * q} {items} equally among {k} friends. "
            f"How many {items} does each friend get?"
        )
        return Problem(prompt, (step(f"{k * q} / {k}", q),))
    lo, hi, kmax = (20, 99, 9) if d == 2 else (100, 400, 15)
    while True:
        n, k = rng.randint(lo, hi), rng.randint(3, kmax)
        if n % k:
            break
    setup = f"{who.name} has {n} {items} and packs them into {boxes} that hold {k} each."
    if d == 2:
        question = f"How many full {boxes} can {who.subj.lower()} fill?"
        return Problem(f"{setup} {question}", (remainder_step(n, k),))
    question = f"After filling as many {boxes} as possible, how many {items} are left over?"
    q = n // k
    return Problem(f"{setup} {question}", (remainder_step(n, k), step(f"{n} - {k} * {q}", n - k * q)))


_DENOMINATORS = {1: (3, 4, 5, 6, 7, 8, 9, 10, 12), 2: (2, 3, 4, 5, 6, 8, 10, 12), 3: (2, 3, 4, 5, 6, 8, 12)}


def _fraction(rng: random.Random, denominators: tuple[int, ...]) -> Fraction:
    den = rng.choice(denominators)
    return Fraction(rng.randint(1, den - 1), den)  # proper, possibly reducible: shown reduced


def fractions(rng: random.Random, d: int) -> Problem:
    suffix = " Give the answer as a fraction in lowest terms."
    while True:
        problem = _fraction_problem(rng, d, suffix)
        if problem is not None:
            return problem


def _fraction_problem(rng: random.Random, d: int, suffix: str) -> Problem | None:
    """One attempt; None when the draw gives a whole, zero or negative result."""
    dens = _DENOMINATORS[d]
    if d == 1:  # same denominator
        den = rng.choice(dens)
        x, y = Fraction(rng.randint(1, den - 1), den), Fraction(rng.randint(1, den - 1), den)
        # written over the shared denominator even when reducible: "2/4 + 1/4"
        xs, ys = (f"{v.numerator * (den // v.denominator)}/{den}" for v in (x, y))
        op = rng.choice("+-")
    else:
        x, y = _fraction(rng, dens), _fraction(rng, dens)
        xs, ys = fmt(x), fmt(y)
        op = rng.choice("+-*")
    value = x + y if op == "+" else x - y if op == "-" else x * y
    shown = "×" if op == "*" else op
    if d < 3:
        if value <= 0 or value.denominator == 1:
            return None
        return Problem(f"What is {xs} {shown} {ys}?{suffix}", (step(f"{xs} {op} {ys}", value),))
    z = _fraction(rng, dens)
    op2 = rng.choice("+-")
    total = value + z if op2 == "+" else value - z
    if value <= 0 or total <= 0 or total.denominator == 1:
        return None
    steps = (step(f"{xs} {op} {ys}", value), step(f"{fmt(value)} {op2} {fmt(z)}", total))
    return Problem(f"What is {xs} {shown} {ys} {op2} {fmt(z)}?{suffix}", steps)


def percentages(rng: random.Random, d: int) -> Problem:
    if d == 3:
        return _percent_change(rng)
    pct = rng.choice([10, 20, 25, 50, 75, 5, 15, 30, 40])
    grain = Fraction(pct, 100).denominator  # base must be a multiple of this for a whole answer
    top = 200 if d == 1 else 400
    base = grain * rng.randint(-(-20 // grain), top // grain)
    part = base * pct // 100
    if d == 1:
        return Problem(f"What is {pct}% of {base}?", (step(f"{base} * {pct} / 100", part),))
    item = rng.choice(["jacket", "bike", "lamp", "backpack", "board game"])
    prompt = f"A {item} costs ${base}. It is on sale for {pct}% off. What is the sale price in dollars?"
    return Problem(prompt, (step(f"{base} * {pct} / 100", part), step(f"{base} - {part}", base - part)))


def _percent_change(rng: random.Random) -> Problem:
    """A price rises then falls by whole percentages; four steps, whole dollars throughout."""
    while True:
        base = rng.choice(range(20, 401, 20))
        up, down = rng.choice([10, 20, 25, 50]), rng.choice([10, 20, 25, 50])
        rise = Fraction(base * up, 100)
        mid = base + rise
        fall = Fraction(mid * down, 100)
        if rise.denominator == 1 and fall.denominator == 1:
            break
    prompt = (
        f"A store prices a game at ${base}. It raises the price by {up}%, "
        f"then lowers the new price by {down}%. What is the final price in dollars?"
    )
    steps = (
        step(f"{base} * {up} / 100", rise), step(f"{base} + {fmt(rise)}", mid),
        step(f"{fmt(mid)} * {down} / 100", fall), step(f"{fmt(mid)} - {fmt(fall)}", mid - fall),
    )
    return Problem(prompt, steps)


_UNITS = [  # (big unit, small unit, small units per big unit)
    ("kilometers", "meters", 1000), ("meters", "centimeters", 100), ("kilograms", "grams", 1000),
    ("hours", "minutes", 60), ("minutes", "seconds", 60), ("dollars", "cents", 100),
    ("days", "hours", 24), ("weeks", "days", 7), ("liters", "milliliters", 1000),
    ("feet", "inches", 12), ("yards", "feet", 3),
]
_CHAINS = [  # two conversions in a row
    ("days", "hours", 24, "minutes", 60), ("weeks", "days", 7, "hours", 24),
    ("hours", "minutes", 60, "seconds", 60), ("kilometers", "meters", 1000, "centimeters", 100),
    ("yards", "feet", 3, "inches", 12),
]


def unit_conversion(rng: random.Random, d: int) -> Problem:
    big, small, f = rng.choice(_UNITS)
    if d == 1:
        n = rng.randint(2, 12)
        return Problem(f"How many {small} are in {n} {big}?", (step(f"{n} * {f}", n * f),))
    if d == 2:
        n, extra = rng.randint(2, 9), rng.randint(1, f - 1)
        if rng.random() < 0.5:  # reverse: small to big, exact
            return Problem(f"How many {big} are in {n * f} {small}?", (step(f"{n * f} / {f}", n),))
        prompt = f"How many {small} are in {n} {big} and {extra} {small}?"
        return Problem(prompt, (step(f"{n} * {f}", n * f), step(f"{n * f} + {extra}", n * f + extra)))
    big, mid, f1, small, f2 = rng.choice(_CHAINS)
    n = rng.randint(2, 9)
    steps = (step(f"{n} * {f1}", n * f1), step(f"{n * f1} * {f2}", n * f1 * f2))
    return Problem(f"How many {small} are in {n} {big}?", steps)


GENERATORS: dict[str, Generator] = {
    "addition": addition,
    "subtraction": subtraction,
    "multiplication": multiplication,
    "division": division,
    "fractions": fractions,
    "percentages": percentages,
    "unit_conversion": unit_conversion,
    "word_problem": word_problem,
}
SKILLS = tuple(GENERATORS)


def skill_and_difficulty(seed: int, index: int) -> tuple[str, int]:
    """Which skill and difficulty task `index` gets (see the module docstring)."""
    block, position = divmod(index, len(SKILLS))
    order = list(SKILLS)
    _rng(seed, "block", block).shuffle(order)
    skill = order[position]
    return skill, 1 + (block + SKILLS.index(skill)) % 3


class ArithSuite(GeneratedSuite):
    """Procedural arithmetic suite; an endless stream, cut by `limit`."""

    NAME, VERSION = "arith", GENERATOR_VERSION

    def task(self, index: int) -> Task:
        skill, difficulty = skill_and_difficulty(self.seed, index)
        problem = GENERATORS[skill](_rng(self.seed, index), difficulty)
        task_id = f"arith-s{self.seed}-{index:06d}"
        metadata = {"skill": skill, "difficulty": difficulty, "n_steps": len(problem.steps), "source": "arith"}
        return Task(task_id, problem.prompt, problem.answer, problem.steps, metadata, split_for(task_id))
