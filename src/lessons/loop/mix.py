"""The two lesson sets of a round, the same size: the treatment's mix of targeted lessons
and the control's untargeted data.

- treatment: each builder of the mix runs on the round's train run; its rows become SFT
  prompt/completion rows (practice tasks get their verified gold solution as the
  completion), are checked against the held-out tasks, and fill the row budget by share.
  A builder with fewer rows than its share leaves its place to the others.
- control: gold solutions, written the same way, for train-split tasks drawn at random from
  the suite, not from mistakes: the same prompts, format and budget, without the targeting.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Sequence

from lessons.builders.base import Lesson, Provenance, make_builder, make_config
from lessons.builders.source import HeldOut, LessonSource
from lessons.builders.write import select_rows
from lessons.builders._solutions import gold_solution
from lessons.loop.config import LoopConfig
from lessons.runner import select_tasks
from lessons.tasks.base import GoldStep, Suite, Task

FORMAT = "prompt_completion"


@dataclass(frozen=True)
class Mix:
    lessons: tuple[Lesson, ...]
    by_builder: dict[str, int]  # rows taken from each builder
    built: dict[str, int]  # rows each builder produced (after held-out checks and dedup)


def as_sft(lesson: Lesson, source: LessonSource) -> Lesson:
    """A builder's row as a prompt/completion SFT row, provenance unchanged."""
    row = lesson.row
    if "completion" in row:
        return lesson
    if "messages" in row:
        messages = row["messages"]
        return Lesson({"prompt": messages[:-1], "completion": [messages[-1]]}, lesson.provenance)
    if "solution" in row and "answer" in row:  # a practice task: its (verified) gold solution
        steps = tuple(GoldStep(text, None) for text in str(row["solution"]).splitlines() if text.strip())
        task = Task(id=row["task_id"], prompt=row["question"], answer=str(row["answer"]), steps=steps)
        completion = gold_solution(task, source.template)
        return Lesson({"prompt": row["prompt"], "completion": [{"role": "assistant", "content": completion}]},
                      lesson.provenance)
    raise ValueError(f"builder {lesson.provenance.builder!r} rows ({sorted(row)}) cannot be trained on with SFT")


def treatment_mix(source: LessonSource, heldout: HeldOut, config: LoopConfig, round: int,
                  resources: dict[str, Any] | None = None) -> Mix:
    pools: dict[str, list[Lesson]] = {}
    for kind in config.mix:
        builder = make_builder(kind, **(resources or {}))
        options = dict(config.options.get(kind) or {})
        if kind == "practice":  # enough new tasks per weak slice to fill the whole budget if need be
            options.setdefault("per_slice", config.rows)
        built = builder.build(source, make_config(builder, options))
        rows = [as_sft(lesson, source) for lesson in built]
        kept, _ = select_rows(rows, FORMAT, heldout)
        random.Random(f"mix/{config.seed}/{round}/{kind}").shuffle(kept)  # spread over tasks, reproducibly
        pools[kind] = kept
    quotas = allocate(config.mix, {k: len(v) for k, v in pools.items()}, config.rows)
    chosen = [lesson for kind in config.mix for lesson in pools[kind][: quotas[kind]]]
    # One set: rows that two builders made alike count once.
    unique, _ = select_rows(chosen, FORMAT, heldout)
    return Mix(tuple(unique), quotas, {k: len(v) for k, v in pools.items()})


def allocate(shares: dict[str, float], available: dict[str, int], budget: int) -> dict[str, int]:
    """Rows per builder: the budget split by share (largest remainders), then what a builder
    cannot fill handed to those with rows to spare, in share order."""
    total = sum(shares.values())
    exact = {k: budget * s / total for k, s in shares.items()}
    quota = {k: int(v) for k, v in exact.items()}
    for k in sorted(exact, key=lambda k: exact[k] - quota[k], reverse=True)[: budget - sum(quota.values())]:
        quota[k] += 1
    quota = {k: min(q, available.get(k, 0)) for k, q in quota.items()}
    spare = budget - sum(quota.values())
    for k in sorted(shares, key=lambda k: -shares[k]):
        extra = min(spare, available.get(k, 0) - quota[k])
        quota[k] += extra
        spare -= extra
    return quota


def control_set(source: LessonSource, heldout: HeldOut, suite: Suite, size: int, config: LoopConfig,
                round: int) -> list[Lesson]:
    """`size` gold-solution rows for train-split tasks of the suite drawn at random (a pool
    four times the budget, or the file's whole train split)."""
    pool = [t for t in select_tasks(suite, "train", max(4 * size, config.train_tasks)) if t.steps or t.answer]
    rng = random.Random(f"control/{config.seed}/{round}")
    rng.shuffle(pool)
    rows = [Lesson(
        {"prompt": source.render(t), "completion": [{"role": "assistant", "content": gold_solution(t, source.template)}]},
        Provenance(builder="control", run_id=source.run.id, task_id=t.id, detail={"draw": "random train task"}),
    ) for t in pool]
    kept, _ = select_rows(rows, FORMAT, heldout)
    return kept[:size]


def count_by_builder(lessons: Sequence[Lesson]) -> dict[str, int]:
    out: dict[str, int] = {}
    for lesson in lessons:
        out[lesson.provenance.builder] = out.get(lesson.provenance.builder, 0) + 1
    return out
