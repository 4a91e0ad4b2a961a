"""`injected`: hard negatives for DPO made by changing one number or operator in a correct
solution (RISE; error-injected self-editing).

One arithmetic statement of a correct solution is edited — an operand (a copied-value
slip), the operator (a wrong operation) or the stated result (a calculation slip) — and
the new value is carried through every later statement and restated number, so the
rejected solution is wrong in exactly one place and reads as the model would have
written it. The edit is kept only when the run's verifier then judges the answer wrong.
Chosen is the untouched solution: the model's own correct sample, or the gold solution
for tasks it never solved (`gold_fallback`).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterator

from lessons.arith import VALUE, Statement, evaluate, find_statements, format_number as show, operand_spans
from lessons.builders._solutions import gold_solution, steps_check_out, unique
from lessons.builders.base import Lesson, Provenance, config_args
from lessons.builders.source import LessonSource

KINDS = ("operand", "operator", "result")
_SWAP = {"+": "-", "-": "+", "*": "+", "×": "+", "x": "+", "/": "*", "÷": "×"}
_OPERATOR = re.compile(r"(?<=[\d)\s])([-+*/×÷]|(?<=\s)x(?=\s))(?=[\s\d($])")
_STEP_LABEL_BEFORE = re.compile(r"step\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class InjectedConfig:
    per_task: int = 1  # rejected solutions per task
    kinds: tuple[str, ...] = KINDS  # edits tried: operand, operator, result
    gold_fallback: bool = True  # tasks the model never solved use the gold solution as chosen
    seed: int = 0  # which statement and edit are tried first


@dataclass(frozen=True)
class Mutation:
    kind: str
    before: str  # the statement as written
    after: str  # the statement after the edit
    text: str  # the whole edited solution


class InjectedBuilder:
    name = "injected"
    format = "preference"
    needs_diagnoses = False
    config_class = InjectedConfig

    def build(self, source: LessonSource, config: InjectedConfig | None = None) -> list[Lesson]:
        config = config or InjectedConfig()
        unknown = set(config.kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"injected kinds are {', '.join(KINDS)}, not {sorted(unknown)}")
        lessons = []
        for task_id, task in source.tasks.items():
            rng = random.Random(f"{config.seed}/{task_id}")
            made = 0
            for text, attempt_id in self._solutions(source, task_id, config):
                for m in mutations(text, rng, config.kinds):
                    if not source.checks_wrong(task, m.text):
                        continue
                    row = {"prompt": source.render(task), "chosen": [{"role": "assistant", "content": text}],
                           "rejected": [{"role": "assistant", "content": m.text}]}
                    lessons.append(Lesson(row, Provenance(
                        builder=self.name, run_id=source.run.id, task_id=task_id,
                        attempt_ids=(attempt_id,) if attempt_id is not None else (), args=config_args(config),
                        detail={"kind": m.kind, "before": m.before, "after": m.after,
                                "chosen": "sample" if attempt_id is not None else "gold"},
                    )))
                    made += 1
                    break
                if made >= config.per_task:
                    break
        return lessons

    def _solutions(self, source: LessonSource, task_id: str, config: InjectedConfig
                   ) -> Iterator[tuple[str, int | None]]:
        task = source.tasks[task_id]
        attempts = source.by_task.get(task_id, [])
        good = [a for a in attempts if a.correct and a.finish_reason != "length" and steps_check_out(task, a.text)]
        first = {a.text.strip(): a.id for a in reversed(good)}
        for text in unique(a.text.strip() for a in good):
            yield text, first[text]
        if not good and config.gold_fallback and not any(a.correct for a in attempts):
            text = gold_solution(task, source.template)
            if source.is_correct(task, text):
                yield text, None


def mutations(text: str, rng: random.Random, kinds: tuple[str, ...] = KINDS) -> Iterator[Mutation]:
    """Edits of one true statement each, carried through the rest of the text, in a
    random order (later statements first would always hit the answer; any order is fair)."""
    statements = [s for s in find_statements(text) if s.exact]
    tries = [(i, kind) for i in range(len(statements)) for kind in kinds]
    rng.shuffle(tries)
    for i, kind in tries:
        m = mutate(text, statements, i, kind, rng)
        if m is not None:
            yield m


def mutate(text: str, statements: list[Statement], i: int, kind: str, rng: random.Random) -> Mutation | None:
    s = statements[i]
    new_expr, new_value = _edit(s, kind, rng)
    if new_value is None or new_value == s.stated or (new_value < 0 <= s.stated):
        return None
    new_result = show(new_value, s.result)
    edits = [(s.expr_start, s.expr_start + len(s.expr), new_expr),
             (s.result_start, s.result_start + len(s.result), new_result)]
    edits += carry_through(text, statements[i + 1 :], s.end, {s.stated: new_value})
    if any("/" in new and "/" not in text[a:b] for a, b, new in edits[1:]):
        return None  # a decimal or whole value turned into a fraction: not a slip a person makes
    after = new_expr + text[s.expr_start + len(s.expr) : s.result_start] + new_result
    return Mutation(kind, text[s.start : s.end], after, _apply(text, edits))


def _edit(s: Statement, kind: str, rng: random.Random) -> tuple[str, Fraction | None]:
    if kind == "result":
        return s.expr, _slip(s.stated, rng)
    if kind == "operand":
        spans = operand_spans(s.expr, fraction_parts=not _spaced(s.expr))
        if not spans:  # only fractions: their parts are not operands to change
            return s.expr, None
        start, end, value = spans[rng.randrange(len(spans))]
        new = _slip(value, rng)
        if new is None or new < 0:
            return s.expr, None
        expr = s.expr[:start] + show(new, s.expr[start:end]) + s.expr[end:]
        return expr, evaluate(expr)
    ops = list(_OPERATOR.finditer(s.expr))
    if _spaced(s.expr):  # in "1/2 + 3/4" the slashes write fractions: swap only the spaced operators
        ops = [o for o in ops if s.expr[o.start() - 1 : o.start()].isspace()]
    if not ops:
        return s.expr, None
    op = ops[rng.randrange(len(ops))]
    expr = s.expr[: op.start()] + _SWAP[op.group()] + s.expr[op.end() :]
    return expr, evaluate(expr)


def _spaced(expr: str) -> bool:
    """Whether the expression spaces its operators ("48 + 24"), so an unspaced a/b is a fraction."""
    return any(expr[o.start() - 1 : o.start()].isspace() for o in _OPERATOR.finditer(expr))


def _slip(value: Fraction | None, rng: random.Random) -> Fraction | None:
    """A plausible wrong value: off by one or two, or by ten in a larger number."""
    if value is None:
        return None
    steps = [1, -1, 2, -2] + ([10, -10] if abs(value) >= 20 else [])
    delta = steps[rng.randrange(len(steps))]
    if value.denominator != 1:
        return Fraction(value.numerator + delta, value.denominator)
    return value + delta


def carry_through(text: str, later: list[Statement], after: int, changed: dict[Fraction, Fraction]
                  ) -> list[tuple[int, int, str]]:
    """Edits that carry changed values through later statements (re-computed) and later
    restated numbers (two or more digits, or on the answer line; never step labels)."""
    edits: list[tuple[int, int, str]] = []
    covered = [(s.start, s.end) for s in later]
    for s in later:
        expr, touched = s.expr, False
        for start, end, value in reversed(operand_spans(s.expr)):
            if value in changed:
                expr = expr[:start] + show(changed[value], expr[start:end]) + expr[end:]
                touched = True
        if not touched:
            continue
        new_value = evaluate(expr)
        if new_value is None:
            continue
        edits.append((s.expr_start, s.expr_start + len(s.expr), expr))
        edits.append((s.result_start, s.result_start + len(s.result), show(new_value, s.result)))
        if new_value != s.stated and s.stated is not None:
            changed[s.stated] = new_value
    for m in VALUE.finditer(text, after):
        if any(a <= m.start() < b for a, b in covered):
            continue
        value = evaluate(m.group())
        if value is None or value not in changed or _STEP_LABEL_BEFORE.search(text[max(0, m.start() - 8) : m.start()]):
            continue
        line_start = text.rfind("\n", 0, m.start()) + 1
        if not text[line_start : m.start()].strip() and text[m.end() : m.end() + 1] in (".", ")"):
            continue  # a list marker "12." numbers the step, it is not a value
        if len(m.group()) >= 2 or "answer" in text[line_start : m.start()].lower():
            edits.append((m.start(), m.end(), show(changed[value], m.group())))
    return edits


def _apply(text: str, edits: list[tuple[int, int, str]]) -> str:
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text
