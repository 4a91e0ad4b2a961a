"""`repair` rows: the model's own wrong solution kept up to its first false calculation,
that result corrected, and the rest written by the model itself from there (LEMMA's
fix-and-continue; Agent-R splices at the first error the same way).

Only mistakes the `arith` locator pinned to a false statement are repaired: it knows the
statement's true value, so no gold text enters the row. The continuation is greedy from the
corrected prefix (an assistant-prefix continuation); the row is kept only when the whole
text verifies (the answer, by the run's verifier in one batch, every step's arithmetic, not
cut off). So the lesson is the model's own words throughout, with one number changed. A
program has no calculations to correct: the loop refuses `repair` on a code suite
(`config.check_suite`) and offers `feedback`.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Callable, Sequence

from lessons.builders.base import Lesson, Provenance
from lessons.builders.source import LessonSource
from lessons.arith import Claim, check_step, show
from lessons.diagnose.base import Diagnosis
from lessons.models.base import Chat, Completion
from lessons.store.db import AttemptRow
from lessons.tasks.base import Task

# Continues each chat's last (assistant) message greedily; one completion per chat.
Continuer = Callable[[Sequence[Chat]], Sequence[Completion]]


def corrected_prefix(attempt: AttemptRow, diagnosis: Diagnosis) -> tuple[str, Claim] | None:
    """The attempt's text up to its first false statement's result, that result corrected;
    None when the mistake is not a located false statement or the result cannot be found."""
    where = diagnosis.location
    if where.step is None or where.evidence != "false_statement" or where.step >= len(diagnosis.steps):
        return None
    step = diagnosis.steps[where.step]
    claim = next((c for c in check_step(step.text, spans=True) if not c.ok), None)
    if claim is None or claim.remainder is not None or claim.stated_span is None:
        return None
    return attempt.text[: step.start + claim.stated_span[0]] + written(claim.computed, claim.stated), claim


def written(value: Fraction, like: str) -> str:
    """`value` written the way the wrong result was: a fraction as "p/q", else a number."""
    if "/" in like and value.denominator != 1:
        return f"{value.numerator}/{value.denominator}"
    return show(value)


def repairs(source: LessonSource, tasks: Sequence[str], continue_: Continuer) -> list[Lesson]:
    """Repair rows for the mistakes on `tasks` (train task ids), one per repaired mistake."""
    wanted = set(tasks)
    cases: list[tuple[AttemptRow, Task, str, Claim]] = []
    for a in source.mistakes():
        d = source.diagnoses.get(a.id)
        if a.task_id not in wanted or d is None:
            continue
        fixed = corrected_prefix(a, d)
        if fixed is not None:
            cases.append((a, source.tasks[a.task_id], *fixed))
    if not cases:
        return []
    chats = [source.render(task) + [{"role": "assistant", "content": prefix}] for _, task, prefix, _ in cases]
    done = list(continue_(chats))
    texts = [prefix + d.text for (_, _, prefix, _), d in zip(cases, done)]
    judged = source.judge([(task, text) for (_, task, _, _), text in zip(cases, texts)])  # one batch
    rows = []
    for (attempt, task, prefix, claim), d, text, verdict in zip(cases, done, texts, judged):
        if d.finish_reason == "length" or not verdict.correct or not source.steps_check_out(task, text):
            continue
        rows.append(Lesson(
            {"prompt": source.render(task), "completion": [{"role": "assistant", "content": text}]},
            Provenance(builder="repair", run_id=source.run.id, task_id=task.id, attempt_ids=(attempt.id,),
                       detail={"fixed": str(claim), "kept_chars": len(prefix)}),
        ))
    return rows
