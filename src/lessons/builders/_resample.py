"""New problems from old ones by re-sampling their numbers (for task files).

A task qualifies when its gold solution is a chain of plain arithmetic statements, one
per valued step ("48 / 2 = 24"), each operand being a number of the question, the value of
an earlier step, or a constant, and the last value being the gold answer. Re-sampling
draws new values for the question numbers the chain uses, recomputes every step exactly,
and rewrites the question and the steps. A draw is kept only when every value stays of
the kind it was (whole stays whole, positive stays positive): "3.5 people" means the draw
broke the problem's assumptions.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from fractions import Fraction

from lessons.arith import (
    LONE_NUMBER as NUMBER, VALUE, evaluate, find_statements, format_number as show, operand_spans, parse_number,
)
from lessons.tasks.base import GoldStep, Task

Ref = tuple[str, object]  # ("q", value) | ("step", index) | ("const", value)


@dataclass(frozen=True)
class ChainStep:
    index: int  # position in task.steps
    expr: str  # the statement's expression as written in the step text
    expr_start: int  # where it starts in the step text
    result: str  # its stated result
    result_start: int
    operands: tuple[tuple[int, int, Ref], ...]  # spans in expr and what each number refers to
    value: Fraction


def parse_chain(task: Task) -> list[ChainStep] | None:
    """The task's gold solution as a recomputable chain, or None."""
    question_values = {parse_number(m.group()) for m in NUMBER.finditer(task.prompt)} - {None}
    chain: list[ChainStep] = []
    for index, step in enumerate(task.steps):
        value = parse_number(step.value) if step.value else None
        if value is None:
            continue
        found = [s for s in find_statements(step.text) if s.exact and s.stated == value]
        if not found:
            return None
        s = found[-1]
        refs = []
        for start, end, v in operand_spans(s.expr):
            earlier = [c.index for c in chain if c.value == v]
            ref: Ref = ("step", earlier[-1]) if earlier else ("q", v) if v in question_values else ("const", v)
            refs.append((start, end, ref))
        chain.append(ChainStep(index, s.expr, s.expr_start, s.result, s.result_start, tuple(refs), value))
    answer = parse_number(task.answer)
    if not chain or answer is None or chain[-1].value != answer:
        return None
    if not any(ref[0] == "q" for c in chain for _, _, ref in c.operands):
        return None
    return chain


def resample(task: Task, chain: list[ChainStep], rng: random.Random, new_id: str) -> Task | None:
    """One re-sampled variant of `task`, or None when this draw breaks the problem."""
    used = sorted({ref[1] for c in chain for _, _, ref in c.operands if ref[0] == "q"})
    new_q = {v: _draw(v, rng) for v in used}
    if all(new_q[v] == v for v in used):
        return None
    values: dict[int, Fraction] = {}
    exprs: dict[int, str] = {}
    for c in chain:
        expr = c.expr
        for start, end, ref in reversed(c.operands):
            kind, key = ref
            new = new_q[key] if kind == "q" else values[key] if kind == "step" else key
            expr = expr[:start] + show(new, expr[start:end]) + expr[end:]
        value = evaluate(expr)
        if value is None or not _same_kind(c.value, value):
            return None
        values[c.index], exprs[c.index] = value, expr
    changed = {c.value: values[c.index] for c in chain} | {v: new_q[v] for v in used}
    prompt = _renumber(task.prompt, {v: new_q[v] for v in used})
    links = {c.index: c for c in chain}
    steps = tuple(_rewrite_step(s, links.get(i), exprs.get(i, ""), values.get(i), changed)
                  for i, s in enumerate(task.steps))
    answer = show(values[chain[-1].index], task.answer)
    metadata = {**task.metadata, "source": "practice", "seed_task": task.id}
    return replace(task, id=new_id, prompt=prompt, answer=answer, steps=steps, metadata=metadata, split="train")


def _draw(v: Fraction, rng: random.Random) -> Fraction:
    """A new value of the same look: whole numbers near the old one (same roundness);
    decimals (prices, rates) are kept, since they rarely admit a clean recomputation."""
    if v.denominator != 1 or v < 2:
        return v
    n = int(v)
    if n <= 10:
        choices = [x for x in range(2, 13) if x != n]
    else:
        grain = 10 if n % 10 == 0 else 5 if n % 5 == 0 else 1
        lo, hi = max(grain, n // 2), 2 * n
        choices = [x for x in range(lo - lo % grain or grain, hi + 1, grain) if x != n and x > 1]
    return Fraction(rng.choice(choices)) if choices else v


def _same_kind(old: Fraction, new: Fraction) -> bool:
    if old.denominator == 1 and new.denominator != 1:
        return False
    if old > 0 and new <= 0 or old >= 0 and new < 0:
        return False
    return new.denominator <= 1000  # a value needing a huge denominator is not a textbook number


def _renumber(text: str, mapping: dict[Fraction, Fraction]) -> str:
    out, last = [], 0
    for m in VALUE.finditer(text):
        v = parse_number(m.group())
        if v in mapping:
            out.append(text[last : m.start()] + show(mapping[v], m.group()))
            last = m.end()
    return "".join(out) + text[last:]


def _rewrite_step(step: GoldStep, link: ChainStep | None, expr: str, value: Fraction | None,
                  changed: dict[Fraction, Fraction]) -> GoldStep:
    """The step with its statement recomputed and its other numbers renumbered."""
    if link is None or value is None:
        return replace(step, text=_renumber(step.text, changed))
    text = step.text
    head = _renumber(text[: link.expr_start], changed)
    between = text[link.expr_start + len(link.expr) : link.result_start]  # " = " (and maybe "$")
    result = show(value, link.result)
    tail = _renumber(text[link.result_start + len(link.result) :], changed)
    return GoldStep(head + expr + between + result + tail, result)
