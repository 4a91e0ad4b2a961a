"""The two lesson sets of a round, the same size: the treatment's mix of targeted lessons
and the control's untargeted data.

- treatment: each builder of the mix runs on the round's train run, aimed at the round's
  target (`target.py`): `practice` poses new tasks in the target slices, `repair` fixes the
  model's own target mistakes at their first false step and lets it continue (arithmetic
  runs), `feedback` shows the model its own failed target programs with what running their
  tests gave and keeps its fixes that pass every test (code runs). Rows become
  SFT prompt/completion rows, are checked against the held-out tasks, and fill the row
  budget by share. A builder with fewer rows than its share leaves its place to the others.
- control: train-split tasks drawn at random from the suite, not from mistakes: the same
  prompts, format and budget, without the targeting. A `random` share in the mix gives
  the treatment the control's first rows too (the arms then differ only in the rest).

Tasks without a written answer (practice tasks, control tasks) get one of two kinds of
completion, `solutions` in the config: `self`, the model's own solutions, sampled and kept
only when verified (`solutions.py`: rejection sampling with more samples for the tasks it
fails, as in DART-Math; the lesson is in the model's own words, so training does not also
teach it a new style), or `gold`, the task's gold response (its gold steps, or its
reference program: `LessonSource.gold_response`). Both arms always get the same kind, by
the same procedure, from as many posed tasks.
"""

from __future__ import annotations

import dataclasses
import math
import random
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from lessons.builders.base import Lesson, Provenance, make_builder, make_config
from lessons.builders.formats import prompt_text
from lessons.builders.overlap import OverlapIndex
from lessons.builders.practice import task_of_row
from lessons.builders.source import HeldOut, LessonSource
from lessons.builders.write import select_rows
from lessons.loop.config import LoopConfig
from lessons.loop.repair import Continuer, repairs
from lessons.loop.solutions import Sampler, solve
from lessons.loop.target import TargetSlice
from lessons.runner import select_tasks
from lessons.store.db import AttemptRow
from lessons.tasks.base import Suite, Task

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
        completion = source.gold_response(task_of_row(row))
        return Lesson({"prompt": row["prompt"], "completion": [{"role": "assistant", "content": completion}]},
                      lesson.provenance)
    raise ValueError(f"builder {lesson.provenance.builder!r} rows ({sorted(row)}) cannot be trained on with SFT")


@dataclass(frozen=True)
class Models:
    """What the mix needs from the round's model: samples of tasks (a logged run per
    pass), greedy continuations of assistant prefixes (for `repair`), the samples it
    already drew of the target's failed train tasks (the target's probe), by task id, and
    a model's backend by name (the fixes of `feedback`: the round's model by default)."""

    sample: Sampler | None = None
    continue_: Continuer | None = None
    drawn: Mapping[str, Sequence[AttemptRow]] = field(default_factory=dict)
    backend: Callable[[str], Any] | None = None


def posed_tasks(config: LoopConfig) -> tuple[int, int]:
    """Tasks each arm may pose to the model for `solutions: self`, in waves of how many:
    a wave is enough for the row budget at `keep` solutions a task with a third of the
    tasks never solved, and two waves' worth of tasks at most (later waves are sized by
    the yield, `solutions.next_wave`, never below half a wave, so they may be more), so that a target
    the model rarely solves costs a bounded number of samples (it then trains on fewer
    rows, and so does the control: the arms stay equal)."""
    wave = math.ceil(1.5 * config.rows / config.keep)
    return 2 * wave, wave


def treatment_mix(source: LessonSource, heldout: HeldOut, config: LoopConfig, round: int,
                  target: Sequence[TargetSlice] = (), resources: dict[str, Any] | None = None,
                  models: Models = Models()) -> Mix:
    pools: dict[str, list[Lesson]] = {}
    aimed = [t for s in target for t in s.failed] if target else list(source.tasks)
    for kind in config.mix:
        if kind == "practice":
            rows = practice_rows(source, heldout, config, round, target, models, resources)
        elif kind == "repair":
            if models.continue_ is None:
                raise ValueError("repair lessons need a model to continue the corrected solutions")
            rows = repairs(source, aimed, models.continue_)
        elif kind == "feedback":
            rows = feedback_rows(source, config, aimed, models)
        elif kind == "random":
            rows = random_rows(source, heldout, config, round, models)
        else:
            builder = make_builder(kind, **(resources or {}))
            built = builder.build(source, make_config(builder, dict(config.options.get(kind) or {})))
            rows = [as_sft(lesson, source) for lesson in built]
        kept, _ = select_rows(rows, FORMAT, heldout)
        if kind != "random":  # the control's rows stay in the control's order: its first ones
            random.Random(f"mix/{config.seed}/{round}/{kind}").shuffle(kept)  # spread over tasks, reproducibly
        pools[kind] = kept
    quotas = allocate(config.mix, {k: len(v) for k, v in pools.items()}, config.rows)
    chosen = [lesson for kind in config.mix for lesson in pools[kind][: quotas[kind]]]
    # One set: rows that two builders made alike count once.
    unique, _ = select_rows(chosen, FORMAT, heldout)
    return Mix(tuple(unique), quotas, {k: len(v) for k, v in pools.items()})


def practice_rows(source: LessonSource, heldout: HeldOut, config: LoopConfig, round: int,
                  target: Sequence[TargetSlice], models: Models,
                  resources: dict[str, Any] | None = None) -> list[Lesson]:
    """New tasks in the target slices, as many per slice as its share of the target's
    fixable failures (SwS), solved by the model (`self`) or with their gold steps. Without
    a target, the five weakest SliceLine slices share the tasks evenly. With `self`, a
    target and `failures`, the target's failed train tasks come first: the model's own
    mistakes, solved by its own samples (the probe's, then retries and hints as for any
    task). `resources` may hold the teacher that writes the new tasks (options `teacher`)."""
    builder = make_builder("practice", **(resources or {}))
    wanted, wave = posed_tasks(config) if config.solutions == "self" else (config.rows, config.rows)
    options = dict(config.options.get("practice") or {})
    if target:
        quotas = allocate({s.name: len(s.failed) for s in target}, {s.name: wanted for s in target}, wanted)
        built = [lesson for s in target for lesson in builder.build(
            source, make_config(builder, options | {"per_slice": quotas[s.name]}), [s.as_weak()])]
    else:
        built = builder.build(source, make_config(builder, {"per_slice": wanted} | options))
        random.Random(f"practice/{config.seed}/{round}").shuffle(built)
        built = built[:wanted]
    clear = clear_of(heldout)
    built = [lesson for lesson in built if clear(lesson.row)]  # not posed at all, rather than dropped once solved
    if config.solutions != "self":
        return [as_sft(lesson, source) for lesson in built]
    if models.sample is None:
        raise ValueError("solutions: self needs a model to solve the practice tasks")
    failures = [source.tasks[t] for t in dict.fromkeys(t for s in target for t in s.failed)
                if clear({"prompt": source.render(source.tasks[t])})] if config.failures else []
    by_task = {t.id: _failure_lesson(t, source) for t in failures} | {
        lesson.row["task_id"]: lesson for lesson in built}
    posed = failures + [task_of_row(lesson.row) for lesson in built]  # the failures were probed: no wave of their own
    solved = solve(source, posed, models.sample, config.sampling(), config.rows, "practice", wave, models.drawn)
    rows = []
    for s in solved:
        lesson = by_task[s.task.id]
        p = lesson.provenance
        rows.append(Lesson({"prompt": lesson.row["prompt"], "completion": [{"role": "assistant", "content": s.text}]},
                           dataclasses.replace(p, attempt_ids=(*p.attempt_ids, s.attempt_id), detail={
                               **p.detail, "solution": s.origin, "solution_attempt": s.attempt_id})))
    return rows


def feedback_rows(source: LessonSource, config: LoopConfig, aimed: Sequence[str], models: Models) -> list[Lesson]:
    """`feedback` rows for the failed programs on the `aimed` train tasks, as SFT rows: the
    chat up to the feedback turn is the prompt, the passing fix the completion. The fixes
    are the round's model's own unless the options name another `teacher` (or only the
    `reference` programs, with `teacher: ""`)."""
    options = {"teacher": source.run.model_name} | dict(config.options.get("feedback") or {})
    teacher = options.get("teacher")
    if teacher and models.backend is None:
        raise ValueError("feedback lessons need a model to write the fixes")
    builder = make_builder("feedback", teacher=models.backend(str(teacher)) if teacher else None)
    wanted = set(aimed)
    mine = dataclasses.replace(source, attempts=tuple(a for a in source.attempts if a.task_id in wanted))
    return [as_sft(lesson, source) for lesson in builder.build(mine, make_config(builder, options))]


def _failure_lesson(task: Task, source: LessonSource) -> Lesson:
    """A failed train task of the target as a practice row to be solved (prompt only)."""
    failed = tuple(a.id for a in source.by_task.get(task.id, []) if not a.correct)
    return Lesson({"prompt": source.render(task)}, Provenance(
        builder="practice", run_id=source.run.id, task_id=task.id, attempt_ids=failed,
        detail={"task": "train failure"}))


def clear_of(heldout: HeldOut) -> Callable[[dict[str, Any]], bool]:
    """Whether a row's prompt is clear of every held-out question (the writer's own check,
    made before a task is posed, so no sample is spent on a row the writer would drop)."""
    index = OverlapIndex(heldout.prompts)
    return lambda row: not index.overlaps(prompt_text(row))


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
                round: int, models: Models = Models()) -> list[Lesson]:
    """`size` rows for train-split tasks of the suite drawn at random from the first
    `4 * size` (or the file's whole train split), with gold solutions or, for `self`, the
    model's own by the treatment's procedure (`solutions.solve`, as many tasks posed)."""
    clear = clear_of(heldout)
    pool = [t for t in select_tasks(suite, "train", max(4 * size, config.train_tasks, 3 * config.rows))
            if (t.steps or t.answer) and clear({"prompt": source.render(t)})]
    random.Random(f"control/{config.seed}/{round}").shuffle(pool)
    if config.solutions == "self":
        if models.sample is None:
            raise ValueError("solutions: self needs a model to solve the control tasks")
        most, wave = posed_tasks(config)
        # a few more than `size`: the held-out checks below may drop some, and the arms must be equal
        solved = solve(source, pool[:most], models.sample, config.sampling(), size + max(2, size // 8), "control", wave)
        texts = [(s.task, s.text, s.attempt_id, s.origin) for s in solved]
    else:
        texts = [(t, source.gold_response(t), None, "gold") for t in pool]
    rows = [Lesson(
        {"prompt": source.render(t), "completion": [{"role": "assistant", "content": text}]},
        Provenance(builder="control", run_id=source.run.id, task_id=t.id,
                   attempt_ids=(attempt,) if attempt is not None else (),
                   detail={"draw": "random train task", "solution": origin}),
    ) for t, text, attempt, origin in texts]
    kept, _ = select_rows(rows, FORMAT, heldout)
    return kept[:size]


def random_rows(source: LessonSource, heldout: HeldOut, config: LoopConfig, round: int, models: Models) -> list[Lesson]:
    """The treatment's `random` share: the control's first rows (`control_set`, the same
    draw and procedure), so both arms hold them alike and the treatment differs from the
    control only by what the targeting puts in the rest."""
    size = math.ceil(config.rows * config.mix["random"] / sum(config.mix.values()))
    drawn = control_set(source, heldout, config.load_suite(), size, config, round, models)
    return [dataclasses.replace(lesson, provenance=dataclasses.replace(lesson.provenance, builder="random"))
            for lesson in drawn]


def rl_prompts(source: LessonSource, heldout: HeldOut, config: LoopConfig, target: Sequence[TargetSlice],
               models: Models = Models(), resources: dict[str, Any] | None = None) -> list[Lesson]:
    """`method: grpo`: the treatment's `rows` prompts (`prompts` rows, the reward the run's
    verifier). GRPO learns from groups whose rewards differ, so the target's failed train
    tasks that a probe sample solved come first, then its other failed train tasks (with
    `failures`), then new practice tasks of the target, per slice by its failures."""
    from lessons.builders.rl import prompts_row
    from lessons.loop.solutions import verified

    clear = clear_of(heldout)
    failed = [source.tasks[t] for t in dict.fromkeys(t for s in target for t in s.failed)] if config.failures else []
    reached = {t.id for t in failed if any(verified(source, t, a) for a in models.drawn.get(t.id, ()))}
    failed.sort(key=lambda t: t.id not in reached)  # stable: run order within each
    rows = [Lesson(prompts_row(source, t), Provenance(
        builder="practice", run_id=source.run.id, task_id=t.id,
        attempt_ids=tuple(a.id for a in source.by_task.get(t.id, [])),
        detail={"task": "train failure", "reached": t.id in reached})) for t in failed]
    missing = config.rows - len(rows)
    if missing > 0 and target:
        builder = make_builder("practice", **(resources or {}))
        options = dict(config.options.get("practice") or {})
        quotas = allocate({s.name: len(s.failed) for s in target}, {s.name: missing for s in target}, missing)
        for s in target:
            for lesson in builder.build(source, make_config(builder, options | {"per_slice": quotas[s.name]}),
                                        [s.as_weak()]):
                task = task_of_row(lesson.row)
                rows.append(Lesson(prompts_row(source, task), lesson.provenance))
    kept, _ = select_rows([r for r in rows if clear(r.row)], "prompts", heldout)
    return kept[: config.rows]


def control_prompts(source: LessonSource, heldout: HeldOut, suite: Suite, size: int, config: LoopConfig,
                    round: int) -> list[Lesson]:
    """`method: grpo`: the control's `size` prompts, train tasks drawn at random as
    `control_set` draws them."""
    from lessons.builders.rl import prompts_row

    clear = clear_of(heldout)
    pool = [t for t in select_tasks(suite, "train", max(4 * size, config.train_tasks, 3 * config.rows))
            if t.answer and clear({"prompt": source.render(t)})]
    random.Random(f"control/{config.seed}/{round}").shuffle(pool)
    rows = [Lesson(prompts_row(source, t), Provenance(builder="control", run_id=source.run.id, task_id=t.id,
                                                      detail={"draw": "random train task"})) for t in pool]
    kept, _ = select_rows(rows, "prompts", heldout)
    return kept[:size]


def count_by_builder(lessons: Sequence[Lesson]) -> dict[str, int]:
    out: dict[str, int] = {}
    for lesson in lessons:
        out[lesson.provenance.builder] = out.get(lesson.provenance.builder, 0) + 1
    return out
