"""Multi-step word problems (1-5 steps) built as a chain of operations on one running
quantity, told through a theme (shopping, sharing, savings, recipes, travel, library).

Each operation adds its own gold steps, so the number of steps is exact and every
intermediate value stays a positive whole number.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from fractions import Fraction

from lessons.tasks._steps import Person, Problem, person, step
from lessons.tasks.base import GoldStep


@dataclass(frozen=True)
class Theme:
    """Sentence templates for one story. Placeholders: {name} {subj} {poss} of a person,
    {a} the starting amount, {n} an amount, {k} a count, {p} an amount per item."""

    name: str
    start: str
    start_each: str  # the starting amount is k groups of p (one step)
    add: str
    sub: str
    add_each: str  # k * p more (two steps)
    sub_each: str  # k * p fewer (two steps)
    share: str  # divide what is left equally into k (one step, always last)
    question: str
    share_question: str
    scale: int = 1  # multiplies amounts (not counts) so distances look like distances


THEMES = (
    Theme(
        "shopping",
        start="{name} goes to the market with ${a}.",
        start_each="{name} earns ${p} an hour and works {k} hours on Saturday.",
        add="{subj} finds ${n} in {poss} coat pocket.",
        sub="{subj} spends ${n} on a book.",
        add_each="{subj} sells {k} old comics for ${p} each.",
        sub_each="{subj} buys {k} notebooks that cost ${p} each.",
        share="{subj} splits the money equally among {k} gift cards.",
        question="How many dollars does {name} have now?",
        share_question="How many dollars go on each gift card?",
    ),
    Theme(
        "sharing",
        start="{name} has {a} marbles.",
        start_each="{name} has {k} bags with {p} marbles in each.",
        add="{subj} wins {n} more marbles at recess.",
        sub="{subj} loses {n} marbles.",
        add_each="{subj} gets {k} more bags of {p} marbles each as a gift.",
        sub_each="{subj} gives {p} marbles to each of {k} friends.",
        share="{subj} then shares all of {poss} marbles equally among {k} cousins.",
        question="How many marbles does {name} have now?",
        share_question="How many marbles does each cousin get?",
    ),
    Theme(
        "savings",
        start="{name} has ${a} in a savings jar.",
        start_each="{name} saves ${p} each week for {k} weeks.",
        add="{subj} gets ${n} for {poss} birthday and saves it.",
        sub="{subj} takes out ${n} to buy a video game.",
        add_each="{subj} then saves ${p} a week for {k} more weeks.",
        sub_each="{subj} pays for {k} swimming lessons that cost ${p} each.",
        share="{subj} divides the savings equally into {k} envelopes.",
        question="How many dollars has {name} saved now?",
        share_question="How many dollars go in each envelope?",
    ),
    Theme(
        "recipes",
        start="A bakery has {a} eggs in the fridge.",
        start_each="A bakery receives {k} cartons with {p} eggs in each.",
        add="A farmer delivers {n} more eggs.",
        sub="The baker drops a tray and {n} eggs break.",
        add_each="Later, {k} more cartons of {p} eggs arrive.",
        sub_each="The baker makes {k} cakes using {p} eggs for each cake.",
        share="The remaining eggs are packed equally onto {k} trays.",
        question="How many eggs does the bakery have now?",
        share_question="How many eggs are on each tray?",
    ),
    Theme(
        "travel",
        start="A cycling club has {a} km left to ride on its tour.",
        start_each="A cycling tour has {k} stages of {p} km each.",
        add="A closed bridge adds a {n} km detour.",
        sub="The riders cover {n} km before lunch.",
        add_each="Road works add {k} detours of {p} km each.",
        sub_each="They then ride for {k} hours at {p} km per hour.",
        share="They split the remaining distance into {k} equal stretches.",
        question="How many km are left to ride?",
        share_question="How many km long is each stretch?",
        scale=5,
    ),
    Theme(
        "library",
        start="A school library has {a} books on a cart.",
        start_each="A school library gets {k} boxes with {p} books in each.",
        add="Students return {n} more books.",
        sub="A teacher borrows {n} books for a class project.",
        add_each="A donor sends {k} boxes of {p} books each.",
        sub_each="{k} classes each borrow {p} books.",
        share="The librarian puts the books equally on {k} shelves.",
        question="How many books does the library have now?",
        share_question="How many books go on each shelf?",
    ),
)

# (start amount, added/removed amount, max count k, max per-item amount p) by difficulty
RANGES = {1: ((5, 40), (2, 20), 5, 10), 2: ((10, 80), (2, 30), 6, 12), 3: ((20, 150), (3, 40), 9, 15)}
STEPS_BY_DIFFICULTY = {1: (1, 2), 2: (2, 3), 3: (4, 5)}


@dataclass
class _Chain:
    """The story so far: sentences, gold steps and the running total (already scaled)."""

    theme: Theme
    who: Person
    difficulty: int
    total: int = 0
    sentences: list[str] = field(default_factory=list)
    steps: list[GoldStep] = field(default_factory=list)

    def say(self, template: str, **nums: int) -> None:
        """Add a sentence; amounts are scaled by the theme, counts ({k}) are not."""
        scaled = {key: v if key == "k" else v * self.theme.scale for key, v in nums.items()}
        who = self.who
        self.sentences.append(template.format(name=who.name, subj=who.subj, poss=who.poss, **scaled))


def word_problem(rng: random.Random, difficulty: int) -> Problem:
    theme = rng.choice(THEMES)
    chain = _Chain(theme, person(rng), difficulty)
    remaining = rng.choice(STEPS_BY_DIFFICULTY[difficulty])
    remaining -= _start(rng, chain)
    shared = False
    while remaining > 0:
        op = _pick_op(rng, chain, remaining)
        remaining -= op(rng, chain)
        shared = op is _share
    question = theme.share_question if shared else theme.question
    chain.say(question)
    return Problem(" ".join(chain.sentences), tuple(chain.steps))


# Each operation updates the chain and returns how many gold steps it wrote. Amounts are
# drawn unscaled and the theme's scale is applied both in the text and in the arithmetic.


def _start(rng: random.Random, chain: _Chain) -> int:
    (lo, hi), _, kmax, pmax = RANGES[chain.difficulty]
    s = chain.theme.scale
    if rng.random() < 0.4:
        k, p = rng.randint(2, kmax), rng.randint(2, pmax)
        chain.say(chain.theme.start_each, k=k, p=p)
        chain.total = k * p * s
        chain.steps.append(step(f"{k} * {p * s}", chain.total))
        return 1
    a = rng.randint(lo, hi)
    chain.say(chain.theme.start, a=a)
    chain.total = a * s
    return 0


def _add(rng: random.Random, chain: _Chain) -> int:
    n = rng.randint(*RANGES[chain.difficulty][1])
    _apply(chain, chain.theme.add, "+", n * chain.theme.scale, n=n)
    return 1


def _sub(rng: random.Random, chain: _Chain) -> int:
    lo, hi = RANGES[chain.difficulty][1]
    n = rng.randint(1, min(hi, chain.total // chain.theme.scale - 1))
    _apply(chain, chain.theme.sub, "-", n * chain.theme.scale, n=n)
    return 1


def _add_each(rng: random.Random, chain: _Chain) -> int:
    _, _, kmax, pmax = RANGES[chain.difficulty]
    _each(chain, chain.theme.add_each, "+", rng.randint(2, kmax), rng.randint(2, pmax))
    return 2


def _sub_each(rng: random.Random, chain: _Chain) -> int:
    k, p = rng.choice(_affordable(chain))
    _each(chain, chain.theme.sub_each, "-", k, p)
    return 2


def _share(rng: random.Random, chain: _Chain) -> int:
    k = rng.choice(_divisors(chain))
    chain.say(chain.theme.share, k=k)
    chain.steps.append(step(f"{chain.total} / {k}", chain.total // k))
    chain.total //= k
    return 1


def _apply(chain: _Chain, template: str, op: str, amount: int, **nums: int) -> None:
    chain.say(template, **nums)
    new = chain.total + amount if op == "+" else chain.total - amount
    chain.steps.append(step(f"{chain.total} {op} {amount}", new))
    chain.total = new


def _each(chain: _Chain, template: str, op: str, k: int, p: int) -> None:
    chain.say(template, k=k, p=p)
    amount = k * p * chain.theme.scale
    chain.steps.append(step(f"{k} * {p * chain.theme.scale}", amount))
    new = chain.total + amount if op == "+" else chain.total - amount
    chain.steps.append(step(f"{chain.total} {op} {amount}", new))
    chain.total = new


def _affordable(chain: _Chain) -> list[tuple[int, int]]:
    """(k, p) pairs whose product leaves at least one unit of the running total."""
    _, _, kmax, pmax = RANGES[chain.difficulty]
    budget = Fraction(chain.total, chain.theme.scale)
    return [(k, p) for k in range(2, kmax + 1) for p in range(2, pmax + 1) if k * p < budget]


def _divisors(chain: _Chain) -> list[int]:
    kmax = RANGES[chain.difficulty][2]
    return [k for k in range(2, kmax + 1) if chain.total % k == 0 and chain.total // k >= 2]


def _pick_op(rng: random.Random, chain: _Chain, remaining: int):
    ops = [_add]
    if chain.total // chain.theme.scale >= 3:
        ops.append(_sub)
    if remaining >= 2:
        ops.append(_add_each)
        if _affordable(chain):
            ops += [_sub_each, _sub_each]  # weighted: keeps totals from only growing
    if remaining == 1 and _divisors(chain):
        ops += [_share, _share]
    return rng.choice(ops)
