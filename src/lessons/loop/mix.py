"""The two lesson sets of a round, the same size: the treatment's mix of targeted lessons
and the control's untargeted data.

- treatment: each builder of the mix runs on the round's train run; its rows become SFT
  prompt/completion rows, are checked against the held-out tasks, and fill the row budget
  by share. A builder with fewer rows than its share leaves its place to the others.
- control: train-split tasks drawn at random from the suite, not from mistakes: the same
  prompts, format and budget, without the targeting.

Tasks without a written answer (practice tasks, control tasks) get one of two kinds of
completion, `solutions` in the config: `self`, the model's own solution, kept only when the
verifier accepts it (rejection sampling, as in STaR/RFT: the lesson is in the model's own
words, so training does not also teach it a new style), or `gold`, the task's gold steps.
Both arms always get the same kind.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from typing import Any, Callable, Sequence

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
        completion = gold_solution(task_of_row(row), source.template)
        return Lesson({"prompt": row["prompt"], "completion": [{"role": "assistant", "content": completion}]},
                      lesson.provenance)
    raise ValueError(f"builder {lesson.provenance.builder!r} rows ({sorted(row)}) cannot be trained on with SFT")


# Solves tasks with the round's model: task id -> the text of a correct attempt and its id.
Solver = Callable[[str, Sequence[Task]], dict[str, tuple[str, int]]]


def treatment_mix(source: LessonSource, heldout: HeldOut, config: LoopConfig, round: int,
                  resources: dict[str, Any] | None = None, solve: Solver | None = None) -> Mix:
    pools: dict[str, list[Lesson]] = {}
    for kind in config.mix:
        builder = make_builder(kind, **(resources or {}))
        options = dict(config.options.get(kind) or {})
        if kind == "practice":  # enough new tasks per weak slice to fill the whole budget if need be
            options.setdefault("per_slice", config.rows)
        built = builder.build(source, make_config(builder, options))
        if kind == "practice" and config.solutions == "self":
            rows = own_solutions(built, source, config, round, solve)
        else:
            rows = [as_sft(lesson, source) for lesson in built]
        kept, _ = select_rows(rows, FORMAT, heldout)
        random.Random(f"mix/{config.seed}/{round}/{kind}").shuffle(kept)  # spread over tasks, reproducibly
        pools[kind] = kept
    quotas = allocate(config.mix, {k: len(v) for k, v in pools.items()}, config.rows)
    chosen = [lesson for kind in config.mix for lesson in pools[kind][: quotas[kind]]]
    # One set: rows that two builders made alike count once.
    unique, _ = select_rows(chosen, FORMAT, heldout)
    return Mix(tuple(unique), quotas, {k: len(v) for k, v in pools.items()})


def own_solutions(practice: Sequence[Lesson], source: LessonSource, config: LoopConfig, round: int,
                  solve: Solver | None) -> list[Lesson]:
    """Practice tasks the model solves itself, as SFT rows of its own (verified) solution.
    At most three tasks per row of the budget are tried: enough at a 1-in-3 solve rate."""
    if solve is None:
        raise ValueError("solutions: self needs a model to solve the practice tasks")
    chosen = list(practice)
    random.Random(f"practice/{config.seed}/{round}").shuffle(chosen)
    chosen = chosen[: 3 * config.rows]
    own = solve("practice", [task_of_row(lesson.row) for lesson in chosen])
    rows = []
    for lesson in chosen:
        hit = own.get(lesson.row["task_id"])
        if hit is not None:
            text, attempt_id = hit
            p = lesson.provenance
            rows.append(Lesson({"prompt": lesson.row["prompt"], "completion": [{"role": "assistant", "content": text}]},
                               dataclasses.replace(p, attempt_ids=(*p.attempt_ids, attempt_id),
                                                   detail={**p.detail, "solution": "own", "solution_attempt": attempt_id})))
    return rows


def task_of_row(row: dict[str, Any]) -> Task:
    """A practice row (`tasks` format) back as a task."""
    steps = tuple(GoldStep(text, None) for text in str(row.get("solution", "")).splitlines() if text.strip())
    metadata = {k: row[k] for k in ("skill", "difficulty") if row.get(k) is not None} | {"source": "practice"}
    return Task(id=row["task_id"], prompt=row["question"], answer=str(row["answer"]), steps=steps, metadata=metadata)


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
                round: int, solve: Solver | None = None) -> list[Lesson]:
    """`size` rows for train-split tasks of the suite drawn at random from the first
    `4 * size` (or the file's whole train split), with gold solutions or, for `self`, the
    model's own correct ones (twice `size` tasks are tried)."""
    pool = [t for t in select_tasks(suite, "train", max(4 * size, config.train_tasks)) if t.steps or t.answer]
    random.Random(f"control/{config.seed}/{round}").shuffle(pool)
    if config.solutions == "self":
        if solve is None:
            raise ValueError("solutions: self needs a model to solve the control tasks")
        pool = pool[: 2 * size]
        own = solve("control", pool)
        texts = {t.id: own[t.id] for t in pool if t.id in own}
    else:
        texts = {t.id: (gold_solution(t, source.template), None) for t in pool}
    rows = [Lesson(
        {"prompt": source.render(t), "completion": [{"role": "assistant", "content": texts[t.id][0]}]},
        Provenance(builder="control", run_id=source.run.id, task_id=t.id,
                   attempt_ids=(texts[t.id][1],) if texts[t.id][1] is not None else (),
                   detail={"draw": "random train task", "solution": config.solutions}),
    ) for t in pool if t.id in texts]
    kept, _ = select_rows(rows, FORMAT, heldout)
    return kept[:size]


def count_by_builder(lessons: Sequence[Lesson]) -> dict[str, int]:
    out: dict[str, int] = {}
    for lesson in lessons:
        out[lesson.provenance.builder] = out.get(lesson.provenance.builder, 0) + 1
    return out
