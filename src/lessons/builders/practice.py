"""`practice`: new tasks aimed at the model's weak slices (SwS weakness-driven synthesis).

Weak slices come from SliceLine over the train split's task metadata ("skill = fractions
and difficulty = 3"); when there are too few attempts for SliceLine, the skill (and
difficulty) groups whose error rate is above the run's are used instead. Then:

- built-in `arith`: the generator draws new tasks with the parameters (skill, difficulty)
  of the slice's failed tasks, kept when they satisfy all the slice's predicates;
- built-in `code`: the generator draws new functions of the slice's failed tasks'
  families, kept when they are in the slice and their question is of the train split;
- task files: failed tasks in the slice whose gold solution lets the answer be recomputed
  get their numbers re-sampled (see `_resample`);
- a teacher model, when one is configured (`teacher=`, the backend passed as the
  `teacher` resource), for any suite: it is shown two or three of the slice's failed
  tasks and writes one new problem with a stepwise solution per chat (see `_teacher`).
  Teacher problems must also have numbers, use every number of their question in the
  steps (a solution that ignores the question cannot pass), and stay in the slice.

Every practice task is verified before use: each gold step's statement recomputes exactly
to its stated value, the last one is the answer, and the gold solution passes the run's
verifier (a code task: its reference program passes its tests in the sandbox, the slice's
tasks judged in one batch). New tasks are never copies of the run's tasks (for teacher tasks: nor overlap
one, by the held-out overlap rule); the writer drops any whose question overlaps a
held-out task. Rejected candidates are counted by reason (`PracticeBuilder.rejected`,
and per slice in each teacher lesson's provenance).
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Iterator, Sequence

from lessons.arith import UNIT_SKILLS, check_step, find_statements, free_constants, parse_number, units_named, values_in
from lessons.builders._resample import parse_chain, resample
from lessons.builders._solutions import gold_solution, normalized
from lessons.builders._teacher import parse_problem, teacher_chat
from lessons.builders.base import Lesson, Provenance, config_args, require_teacher
from lessons.builders.overlap import OverlapIndex
from lessons.builders.source import LessonSource
from lessons.diagnose.slices import Predicate, SliceRow, SliceSpec, find_weak_slices, slice_features
from lessons.models.base import Backend, SamplingParams
from lessons.tasks.base import GoldStep, Task

TEACHER_TEMPERATURE = 0.8  # varied problems; every one is verified, so variety costs only rejects
TEACHER_MAX_TOKENS = 400  # a question and a few steps
TEACHER_EXAMPLES = 3  # failed tasks shown per chat
CODE_FIELDS = ("entry_point", "tests", "family")  # what judges a code practice task, carried in its row


@dataclass(frozen=True)
class PracticeConfig:
    slices: int = 5  # weak slices practised, weakest first
    per_slice: int = 8  # new tasks per slice
    seed: int = 0  # draws are reproducible from (run, seed)
    max_tries: int = 40  # draws per wanted task before the slice gives up
    teacher: str | None = None  # model that writes the tasks (as `lessons eval --model` takes); None: no teacher
    teacher_samples: int = 2  # teacher problems per wanted task (some fail verification)


@dataclass(frozen=True)
class WeakSlice:
    spec: SliceSpec
    failed: tuple[str, ...]  # train tasks in the slice with a mistake, in run order
    error_rate: float

    @property
    def predicates(self) -> dict[str, str]:
        """Feature -> label, as lessons' provenance and loop stages record the slice."""
        return self.spec.labels()


class PracticeBuilder:
    name = "practice"
    format = "tasks"
    needs_diagnoses = False
    config_class = PracticeConfig
    resources = ("teacher",)

    def __init__(self, teacher: Backend | None = None):
        self.teacher = teacher  # used only when the config names a teacher
        self.rejected: Counter = Counter()  # candidates the last build() dropped, by reason

    def build(self, source: LessonSource, config: PracticeConfig | None = None,
              slices: Sequence[WeakSlice] | None = None) -> list[Lesson]:
        """New tasks for the weak slices (or for `slices`, when the caller chose them)."""
        config = config or PracticeConfig()
        require_teacher(self.name, config.teacher, self.teacher)
        generator = source.suite.source == "builtin:arith"
        programs = source.judges_programs
        train = {normalized(t.prompt) for t in source.tasks.values()}
        copies = OverlapIndex(t.prompt for t in source.tasks.values()) if config.teacher else None
        taken: set[str] = set()
        self.rejected = Counter()
        lessons = []
        for number, weak in enumerate(weak_slices(source, config.slices) if slices is None else slices):
            rejected: Counter = Counter()
            if config.teacher:
                made = teacher_practice(source, weak, number, config, self.teacher, rejected)
            elif generator:
                made = arith_practice(source, weak, number, config)
            elif source.suite.source == "builtin:code":
                made = code_practice(source, weak, number, config)
            else:
                made = file_practice(source, weak, number, config)
            kept = []
            for task, seeds in made:
                if len(kept) >= config.per_slice:
                    break
                key = normalized(task.prompt)
                reason = ("copy" if key in train or (copies and copies.overlaps(task.prompt)) else
                          "duplicate" if key in taken else None if programs else rejection_reason(source, task))
                if reason:
                    rejected[reason] += 1
                    continue
                taken.add(key)
                kept.append((task, seeds))
            if programs:
                kept = _passing_references(source, kept, rejected)
            self.rejected.update(rejected)
            lessons += [self._lesson(source, task, seeds, weak, config, rejected) for task, seeds in kept]
        return lessons

    def _lesson(self, source: LessonSource, task: Task, seeds: tuple[str, ...], weak: WeakSlice,
                config: PracticeConfig, rejected: Counter) -> Lesson:
        row = {
            "prompt": source.render(task), "task_id": task.id, "question": task.prompt, "answer": task.answer,
            "solution": "\n".join(s.text for s in task.steps), "skill": task.skill,
            "difficulty": task.metadata.get("difficulty"), "slice": str(weak.spec),
        } | {k: task.metadata[k] for k in CODE_FIELDS if k in task.metadata}
        attempts = tuple(a.id for t in seeds for a in source.by_task.get(t, []) if not a.correct)
        detail: dict[str, Any] = {"slice": weak.predicates, "slice_error_rate": weak.error_rate}
        if config.teacher:
            detail |= {"source": "teacher", "teacher": config.teacher, "rejected": dict(sorted(rejected.items()))}
        return Lesson(row, Provenance(
            builder=self.name, run_id=source.run.id, task_id=task.id, attempt_ids=attempts, source_tasks=seeds,
            args=config_args(config), detail=detail,
        ))


def weak_slices(source: LessonSource, limit: int) -> list[WeakSlice]:
    """The train split's weak slices with at least one failed task, weakest first."""
    rows = [SliceRow(features=slice_features(source.tasks[a.task_id].metadata), mistake=not a.correct)
            for a in source.attempts]
    found = [s.spec for s in find_weak_slices(rows)] or _group_slices(source)
    out = []
    for spec in found:
        members = [t for t in source.tasks.values() if spec.matches(t.metadata)]
        failed = tuple(t.id for t in members if any(not a.correct for a in source.by_task.get(t.id, [])))
        attempts = [a for t in members for a in source.by_task.get(t.id, [])]
        if failed and attempts:
            out.append(WeakSlice(spec, failed, sum(not a.correct for a in attempts) / len(attempts)))
    return out[:limit]


def _group_slices(source: LessonSource) -> list[SliceSpec]:
    """Skill x difficulty groups (or skill, or the whole split) with an error rate above
    the split's, most mistakes first: what to practise when SliceLine has too little data."""
    keys = [k for k in ("skill", "difficulty") if any(k in t.metadata for t in source.tasks.values())]
    groups: Counter = Counter()
    errors: Counter = Counter()
    for a in source.attempts:
        meta = source.tasks[a.task_id].metadata
        key = tuple((k, Predicate.equal(k, meta.get(k)).label) for k in keys)
        groups[key] += 1
        errors[key] += not a.correct
    overall = sum(errors.values()) / max(sum(groups.values()), 1)
    ranked = sorted((g for g in groups if errors[g] and errors[g] / groups[g] >= overall),
                    key=lambda g: (-errors[g], -errors[g] / groups[g], g))
    return [SliceSpec.from_labels(dict(g)) for g in ranked]


def arith_practice(source: LessonSource, weak: WeakSlice, number: int, config: PracticeConfig
                   ) -> Iterator[tuple[Task, tuple[str, ...]]]:
    """New arith tasks with the (skill, difficulty) of the slice's failed tasks, in turn."""
    from lessons.tasks.arith import GENERATORS

    params = Counter((source.tasks[t].skill, source.tasks[t].metadata.get("difficulty")) for t in weak.failed)
    cycle = [p for p, _ in params.most_common() if p[0] in GENERATORS and isinstance(p[1], int)]
    for draw in range(config.per_slice * config.max_tries if cycle else 0):
        skill, difficulty = cycle[draw % len(cycle)]
        rng = random.Random(f"practice/{source.run.id}/{config.seed}/{number}/{draw}")
        problem = GENERATORS[skill](rng, difficulty)
        metadata = {"skill": skill, "difficulty": difficulty, "n_steps": len(problem.steps), "source": "practice"}
        if not weak.spec.matches(metadata):
            continue
        task = Task(_practice_id(source, problem.prompt), problem.prompt, problem.answer, problem.steps, metadata)
        seeds = tuple(t for t in weak.failed if (source.tasks[t].skill, source.tasks[t].metadata.get(
            "difficulty")) == (skill, difficulty))
        yield task, seeds


def code_practice(source: LessonSource, weak: WeakSlice, number: int, config: PracticeConfig
                  ) -> Iterator[tuple[Task, tuple[str, ...]]]:
    """New `code` tasks of the families of the slice's failed tasks, in turn, drawn by the
    suite's generator with RNGs of their own; a question of the held-out split is never
    drawn (the split goes by the question, so it may repeat a held-out task's)."""
    from lessons.tasks.code import FAMILY_NAMES, build_task

    families = Counter(source.tasks[t].metadata.get("family") for t in weak.failed)
    cycle = [f for f, _ in families.most_common() if f in FAMILY_NAMES]
    for draw in range(config.per_slice * config.max_tries if cycle else 0):
        family = cycle[draw % len(cycle)]
        rng = random.Random(f"practice/{source.run.id}/{config.seed}/{number}/{draw}")
        task = build_task("", FAMILY_NAMES[family], rng, source="practice")
        if task.split != "train" or not weak.spec.matches(task.metadata):
            continue
        seeds = tuple(t for t in weak.failed if source.tasks[t].metadata.get("family") == family)
        yield dataclasses.replace(task, id=_practice_id(source, task.prompt)), seeds


def _passing_references(source: LessonSource, kept: list[tuple[Task, tuple[str, ...]]], rejected: Counter
                        ) -> list[tuple[Task, tuple[str, ...]]]:
    """The code tasks whose reference program passes their tests, judged in one batch."""
    verdicts = source.judge([(task, source.gold_response(task)) for task, _ in kept])
    failing = sum(not v.correct for v in verdicts)
    if failing:
        rejected["verifier"] += failing
    return [pair for pair, v in zip(kept, verdicts) if v.correct]


def file_practice(source: LessonSource, weak: WeakSlice, number: int, config: PracticeConfig
                  ) -> Iterator[tuple[Task, tuple[str, ...]]]:
    """Re-sampled variants of the slice's failed tasks whose gold solution recomputes."""
    chains = [(source.tasks[t], parse_chain(source.tasks[t])) for t in weak.failed]
    chains = [(t, c) for t, c in chains if c is not None]
    for draw in range(config.per_slice * config.max_tries if chains else 0):
        task, chain = chains[draw % len(chains)]
        rng = random.Random(f"practice/{source.run.id}/{config.seed}/{number}/{draw}")
        made = resample(task, chain, rng, new_id="")
        if made is not None:
            yield Task(_practice_id(source, made.prompt), made.prompt, made.answer, made.steps, made.metadata), (
                task.id,)


def teacher_practice(source: LessonSource, weak: WeakSlice, number: int, config: PracticeConfig,
                     teacher: Backend, rejected: Counter) -> Iterator[tuple[Task, tuple[str, ...]]]:
    """Problems the teacher writes like the slice's failed tasks: one chat per wanted task,
    `teacher_samples` samples each, in one generate() call. Replies that do not parse, have
    no numbers, leave a number of their question unused, or fall outside the slice are
    counted in `rejected` and skipped; the caller verifies the rest."""
    failed = [source.tasks[t] for t in weak.failed]
    shown = [tuple(failed[(i + k) % len(failed)] for k in range(min(TEACHER_EXAMPLES, len(failed))))
             for i in range(config.per_slice)]
    chats = [teacher_chat(examples, str(weak.spec), i, len(shown)) for i, examples in enumerate(shown)]
    seed = int(hashlib.sha256(f"teacher/{source.run.id}/{config.seed}/{number}".encode()).hexdigest()[:8], 16)
    params = SamplingParams(n=config.teacher_samples, temperature=TEACHER_TEMPERATURE,
                            max_new_tokens=TEACHER_MAX_TOKENS, seed=seed)
    replies = teacher.generate(chats, params) if chats else []
    for sample in range(config.teacher_samples):  # first samples of every chat first: spread over the leads
        for examples, completions in zip(shown, replies):
            if sample >= len(completions):
                continue
            problem = parse_problem(completions[sample].text)
            if problem is None:
                rejected["unparseable"] += 1
                continue
            metadata = {**slice_features(examples[0].metadata), "source": "teacher", "teacher": config.teacher}
            if "n_steps" in metadata:
                metadata["n_steps"] = len(problem.steps)
            task = Task(_practice_id(source, problem.question), problem.question, problem.answer, problem.steps,
                        metadata)
            reason = _unfit(task, weak)
            if reason:
                rejected[reason] += 1
                continue
            yield task, tuple(t.id for t in examples)


def _unfit(task: Task, weak: WeakSlice) -> str | None:
    """Why a teacher's problem cannot be a practice task before it is even verified: no
    numbers, a number of the question the solution never uses (the solution is then of
    some other problem), a question that states a result, a solution that uses a number
    neither the question nor an earlier step gave (the question is missing a fact), a
    fraction not in the lowest terms the question asks for, or metadata outside the slice
    (another number of steps)."""
    given = set(values_in(task.prompt))
    if not given:
        return "no_numbers"
    if given.difference(values_in(" ".join(s.text for s in task.steps))):
        return "unused_numbers"
    if "=" in task.prompt:
        return "states_result"  # "Calculate 3/4 + 1/2 = 1/2": a claim, not a question
    texts = " ".join([task.prompt, *(s.text for s in task.steps)])
    units = str(task.skill or "").lower() in UNIT_SKILLS
    reached = set(given) | free_constants({d for d, _ in units_named(texts)}, units)
    for step in task.steps:  # a number the solution uses must come from the question or an earlier step
        operands = set(values_in(step.text.rpartition("=")[0]))
        if operands - reached:
            return "ungrounded"
        reached.update(values_in(step.value or ""))
    answer = parse_number(task.answer)
    if "lowest terms" in task.prompt.lower() and "/" in task.answer and answer is not None and (
            f"{answer.numerator}/{answer.denominator}" != task.answer.replace(" ", "")):
        return "not_lowest_terms"
    return None if weak.spec.matches(task.metadata) else "off_slice"


def _practice_id(source: LessonSource, prompt: str) -> str:
    return f"practice-{hashlib.sha256(f'{source.run.id}/{prompt}'.encode()).hexdigest()[:12]}"


def rejection_reason(source: LessonSource, task: Task) -> str | None:
    """Why `task` fails verification ("no_steps", "wrong_step", "wrong_answer", "verifier"),
    or None when it passes: every valued gold step recomputes exactly (a division with
    remainder by divmod), the last value is the answer, and the written-out gold solution
    passes the run's verifier."""
    values = [s for s in task.steps if s.value]
    if not values:
        return "no_steps"
    for step in values:
        if not _step_recomputes(step.text, parse_number(step.value or "")):
            return "wrong_step"
    if parse_number(values[-1].value or "") != parse_number(task.answer):
        return "wrong_answer"
    return None if source.is_correct(task, gold_solution(task, source.template)) else "verifier"


def _step_recomputes(text: str, value: Fraction | None) -> bool:
    remainder = next((c for c in check_step(text) if c.remainder is not None), None)
    if remainder is not None:  # "47 / 5 = 9 remainder 2": the quotient is the step's value
        return remainder.ok and remainder.value == value
    return any(s.exact and s.stated == value for s in find_statements(text))


def task_of_row(row: dict[str, Any]) -> Task:
    """A practice row (`tasks` format) back as a task (a code task with what judges it)."""
    steps = tuple(GoldStep(text, None) for text in str(row.get("solution", "")).splitlines() if text.strip())
    metadata = {k: row[k] for k in ("skill", "difficulty", *CODE_FIELDS) if row.get(k) is not None} | {
        "source": "practice"}
    return Task(id=row["task_id"], prompt=row["question"], answer=str(row["answer"]), steps=steps, metadata=metadata)
