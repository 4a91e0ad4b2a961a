"""Rule-based error types of one mistake: what kind of fault, not where (see `Location`).

`classify_mistake` looks at the response as a whole (empty, refused, cut off, no answer)
and at its first step with a local fault: a false arithmetic claim (calculation), an
operand that comes from nowhere (copied_value), right numbers combined by the wrong
operation (wrong_operation). It then compares the response with the gold solution
(skipped_step) and the wrong answer with the gold answer (unit). When no rule fires the
mistake is one of reasoning. Types come back in `ERROR_TYPES` order, most specific first,
so the first one is the mistake's primary type.

Everything is linear in the text and capped (`MAX_STEPS` here, `MAX_STEP_CHARS` in `lessons.arith`): a
50,000-character loop costs no more than its first couple of hundred steps. Per-task work
(the question's numbers, the gold solution's equations) is cached, because a run holds
many mistakes per task.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Iterable, Sequence

from lessons.arith import (
    CORE_CONSTANTS, UNIT_CONSTANTS, UNIT_SKILLS, free_constants, units_named,
    NUMBER, Equation, Number, StepNumbers, check_step, div, number, numbers_in, parse_number, parse_step, plain_text,
)
from lessons.diagnose.base import ERROR_TYPES, Location, Step
from lessons.tasks.base import GoldStep, Task
from lessons.verify.extract import extract_answer

MAX_STEPS = 200  # steps examined; beyond this a response is looping, and "truncated" says so
MAX_REFUSAL_CHARS = 600  # a refusal is short; a long text that apologises once is an attempt

# A wrong answer off from gold by one of these factors (either way) is a unit slip.
UNIT_FACTORS = frozenset((10, 100, 1000, 60, 12, 16, 24, 7, 3, 3600, 10_000, 1_000_000))
FACTORS = CORE_CONSTANTS - {0, 1, 2} | UNIT_CONSTANTS  # what a unit step multiplies by

_REFUSAL = re.compile(
    r"\b(?:i\s+can(?:not|'t|’t)\s+(?:help|answer|solve|assist|do)|i\s*(?:am|'m|’m)\s+(?:unable|not able)"
    r"|i\s+(?:won't|will not)|as an ai\b|i\s+(?:do not|don't|don’t)\s+know|i\s*(?:am|'m|’m)\s+sorry,?\s+but"
    r"|cannot\s+(?:help|assist|answer|solve)|no\s+way\s+to\s+(?:solve|answer))",
    re.IGNORECASE,
)
_NUMBER_WORDS: dict[str, tuple[Number, ...]] = {
    **{w: (n,) for n, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve".split())},
    "twenty": (20,), "thirty": (30,), "fifty": (50,), "hundred": (100,), "thousand": (1000,),
    "twice": (2,), "double": (2,), "triple": (3,), "thrice": (3,), "dozen": (12,),
    "half": (2, Fraction(1, 2)), "quarter": (4, Fraction(1, 4)), "third": (3, Fraction(1, 3)),
    "fourth": (4, Fraction(1, 4)), "fifth": (5, Fraction(1, 5)),
}
_WORD = re.compile(r"[a-z]+")


def classify_mistake(
    task: Task,
    text: str,
    finish_reason: str,
    extraction_status: str,
    steps: tuple[Step, ...],
    location: Location | None,
) -> tuple[str, ...]:
    """The error types of one mistake, in `ERROR_TYPES` order (most specific first); never
    empty ("reasoning" when no rule fires). Never raises on odd text."""
    text = text if isinstance(text, str) else ""
    found: set[str] = set()
    if finish_reason == "length" or extraction_status == "truncated":
        found.add("truncated")
    if is_no_attempt(text):
        return _ordered(found | {"no_attempt"})
    if extraction_status in ("missing", "malformed"):
        found.add("format")
    facts = _task_facts(task)
    steps = tuple(steps[:MAX_STEPS])
    if "truncated" in found and steps:
        steps = steps[:-1]  # the step that was cut off mid-way is no evidence of anything
        if location is not None and location.step is not None and location.step >= len(steps):
            location = Location(None, location.method, location.confidence)
    named = units_named(task.prompt) | units_named.__wrapped__(text)
    dimensions = [dimension for dimension, _ in named]
    units = facts.units or len(dimensions) > len(set(dimensions))  # two units of one kind: km and m
    constants = free_constants(dimensions, facts.units)
    parsed = [parse_step(s.text) for s in steps]
    found |= _first_fault(facts, steps, parsed, location, constants)
    if "truncated" not in found and facts.gold_steps >= 2 and _skipped_step(facts, parsed):
        found.add("skipped_step")
    if units and (_wrong_factor(facts, parsed) or
                  extraction_status == "ok" and _off_by_unit_factor(facts, text, finish_reason)):
        found.add("unit")
    return _ordered(found or {"reasoning"})


def _ordered(found: Iterable[str]) -> tuple[str, ...]:
    chosen = set(found)
    return tuple(t for t in ERROR_TYPES if t in chosen)


def is_no_attempt(text: str) -> bool:
    """Empty, or a short refusal with no calculation in it."""
    stripped = text.strip()
    if not stripped:
        return True
    if len(stripped) > MAX_REFUSAL_CHARS or _REFUSAL.search(stripped) is None:
        return False
    return not parse_step(stripped).equations  # "I'm sorry, but 3 + 4 = 7" is still an attempt


@dataclass(frozen=True)
class _TaskFacts:
    """What one task contributes to every mistake on it (cached per task)."""

    question: frozenset[Number]  # numbers of the question with derived forms
    units: bool  # the task is about units (by its skill)
    gold: tuple[Equation, ...]  # the gold solution's equations, in order
    intermediates: frozenset[Number]  # gold step values except the last (the answer)
    gold_steps: int
    answer: Fraction | None


@lru_cache(maxsize=4096)
def _task_facts(task: Task) -> _TaskFacts:
    units = str(task.skill or "").lower() in UNIT_SKILLS
    gold = tuple(eq for g in task.steps for eq in parse_step(g.text).equations)
    values = [_gold_value(g) for g in task.steps]
    intermediates = frozenset(v for v in values[:-1] if v is not None)
    answer = parse_number(task.answer) if task.answer else None
    return _TaskFacts(_question_numbers(task.prompt), units, gold, intermediates, len(task.steps), answer)


def _gold_value(step: GoldStep) -> Number | None:
    if step.value is not None:
        return parse_number(step.value)
    eqs = parse_step(step.text).equations
    return eqs[-1].stated if eqs else None


def _question_numbers(prompt: str) -> frozenset[Number]:
    """The question's numbers, their place-value parts (47 -> 40, 7: long multiplication
    writes them), percentages as fractions and factors (25% -> 1/4, 3/4, 5/4, 75, 125), small
    number words ("twice", "a dozen")."""
    s = plain_text(prompt[:20_000])
    found = numbers_in(s)
    for value in list(found):
        if isinstance(value, int) and value >= 10:
            n = value
            found.update(p for p in (n - n % 10, n % 10, n - n % 100, n % 100) if p)
    for a, _, pct in NUMBER.findall(s):
        if pct:
            p = div(number(a), 100)
            found.update((1 - p, 1 + p, 100 - number(a), 100 + number(a)))
    found.update(n for w in _WORD.findall(s.lower()) if w in _NUMBER_WORDS for n in _NUMBER_WORDS[w])
    return frozenset(found)


def _first_fault(
    facts: _TaskFacts, steps: Sequence[Step], parsed: Sequence[StepNumbers], location: Location | None,
    constants: frozenset[Number],
) -> set[str]:
    """The local faults of the first step that has any. An arithmetic locator's verdict
    stands in for re-checking every claim (it already did, and stopped at the first false
    one), whichever step it named."""
    arith_known = location is not None and location.method == "arith"
    false_claim = arith_known and location.step is not None and location.evidence in ("false_statement", "gold_mismatch")
    found = {"calculation"} if false_claim else set()
    known = set(facts.question) | constants
    pool = set(facts.question)  # what a silently worked-out value may be combined from
    for step, info in zip(steps, parsed):
        faults = set()
        if not arith_known and any(c.ok is False for c in check_step(step.text)):
            faults.add("calculation")
        if _has_copied_value(info, known, pool):
            faults.add("copied_value")
        if _has_wrong_operation(info, facts):
            faults.add("wrong_operation")
        if faults:
            return found | faults
        known |= info.numbers
        pool |= info.numbers
    return found


def _has_copied_value(info: StepNumbers, known: set[Number], pool: set[Number]) -> bool:
    """An operand that is not known (question, earlier steps, constants) nor worked out
    in this step; or a number in the prose that is neither known nor one operation away
    from known ones (prose states results without the sum). Results of this step's
    equations are exempt: a wrong one is a calculation error, not a copy."""
    for value in info.operands:
        if value not in known and value not in info.results and value not in info.loose:
            return True
    if info.loose - known:
        loose = pool | CORE_CONSTANTS | info.numbers  # prose may combine with this step's own results
        return any(not _reachable(v, loose - {v}) for v in info.loose - known)
    return False


def _reachable(x: Number, pool: set[Number]) -> bool:
    """Whether x = a op b for some a, b in pool and op in + - * / (a value worked out
    without being written). Linear in the pool: each a fixes the b that would work."""
    exact_only = all(isinstance(v, int) for v in pool)  # then only whole quotients can be in it
    for a in pool:
        if (x - a) in pool or (a - x) in pool or (x + a) in pool or (a and (x * a) in pool):
            return True
        for p, q in ((x, a), (a, x)):
            if q and (not exact_only or (isinstance(p, int) and isinstance(q, int) and p % q == 0)):
                if div(p, q) in pool:
                    return True
    return False


def _has_wrong_operation(info: StepNumbers, facts: _TaskFacts) -> bool:
    """A two-operand equation whose operands match a gold equation's but whose operation
    (or operand order, for - and /) differs, worked out correctly ("48 * 2 = 96" where gold
    has 48 / 2); or a false claim whose result is exactly another operation of its
    operands, other than the gold one ("48 + 2 = 96")."""
    for eq in info.equations:
        if len(eq.operands) != 2 or len(eq.ops) != 1 or eq.stated is None or eq.value is None:
            continue
        match = _gold_match(eq, facts)
        if_true = match is not None and match.value != eq.value  # gold's numbers, worked another way
        if_false = eq.stated in _other_results(eq) and (match is None or eq.stated != match.value)
        if if_true == if_false:  # the verdict decides nothing: judging it, the costly part, is skipped
            found = if_true
        else:
            found = if_true if eq.holds else if_false
        if found:
            return True
    return False


def _gold_match(eq: Equation, facts: _TaskFacts) -> Equation | None:
    """The gold equation on the same two numbers, unless one of them is both a gold result
    and a number of the question: then the likeness may be chance (a question's "6" is
    not gold's computed $6)."""
    key = sorted(eq.operands)
    for g in facts.gold:
        if len(g.operands) == 2 and len(g.ops) == 1 and sorted(g.operands) == key:
            if not any(x in facts.intermediates and x in facts.question for x in key):
                return g
    return None


def _other_results(eq: Equation) -> set[Number]:
    """What the other operations give on the same two operands, less any that coincide
    with the written one (2 + 2 == 2 * 2 says nothing)."""
    a, b = eq.operands
    results = {a + b, a - b, b - a, a * b}
    results.update(div(x, y) for x, y in ((a, b), (b, a)) if y)
    results.discard(eq.value)
    return results


def _skipped_step(facts: _TaskFacts, parsed: Sequence[StepNumbers]) -> bool:
    """Fewer equations than the gold solution has steps, a gold intermediate m that the
    response never writes, and the tell-tale of going on without it: the response combines
    the number that gold combines with m, but with an earlier value instead (gold
    "33 * 2" after "45 - 12 = 33"; the response goes straight to "45 * 2")."""
    claims = [eq for info in parsed for eq in info.equations]
    if not claims or len(claims) >= facts.gold_steps or not facts.intermediates:
        return False
    written: set[Number] = set()
    for info in parsed:
        written |= info.numbers
    missing = facts.intermediates - written
    if not missing:
        return False
    earlier = facts.question | facts.intermediates
    for g in facts.gold:
        if len(g.operands) != 2 or not set(g.operands) & missing:
            continue
        m, y = g.operands if g.operands[0] in missing else g.operands[::-1]
        for eq in claims:
            if len(eq.operands) == 2 and y in eq.operands:
                z = eq.operands[1] if eq.operands[0] == y else eq.operands[0]
                if z != m and z in earlier:
                    return True
    return False


def _wrong_factor(facts: _TaskFacts, parsed: Sequence[StepNumbers]) -> bool:
    """A product or quotient that converts a quantity the gold solution also converts,
    by another factor, while gold's factor appears nowhere in the response (x 100 where
    gold has x 1000). Another route through the same factors is no slip."""
    claims = [eq for info in parsed for eq in info.equations]
    used = {x for eq in claims for x in eq.operands}
    for eq in claims:
        if len(eq.operands) != 2 or eq.ops not in ("*", "/"):
            continue
        for x, factor in (eq.operands, eq.operands[::-1]):
            if factor not in FACTORS:
                continue
            for g in facts.gold:
                if g.ops in ("*", "/") and len(g.operands) == 2 and x in g.operands:
                    due = g.operands[1] if g.operands[0] == x else g.operands[0]
                    if due in FACTORS and due != factor and due not in used:
                        return True
    return False


def _off_by_unit_factor(facts: _TaskFacts, text: str, finish_reason: str) -> bool:
    """The extracted answer is the gold answer times or divided by a conversion factor."""
    if not facts.answer:
        return False
    extraction = extract_answer(text, finish_reason)
    answer = parse_number(extraction.answer) if extraction.answer else None
    if not answer or answer == facts.answer:
        return False
    ratio = abs(answer / facts.answer)
    return ratio in UNIT_FACTORS or (1 / ratio) in UNIT_FACTORS
