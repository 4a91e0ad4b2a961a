"""What builders read: a run's train-split attempts, tasks and diagnoses (`LessonSource`),
and the run's held-out tasks (`HeldOut`), which only the writer sees.

Held-out tasks are left out here, when the source is loaded, so no builder can draw on
them; the writer checks every row's provenance against `HeldOut` again and drops rows
whose prompt overlaps a held-out question.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from lessons.builders._solutions import gold_solution, steps_check_out
from lessons.diagnose.base import Diagnosis
from lessons.models.base import Chat, Completion
from lessons.prompts import PromptTemplate, templates
from lessons.records import SuiteComponent
from lessons.store.db import AttemptRow, RunRecord, Store
from lessons.tasks.base import Task
from lessons.verify import DEFAULT_METHODS, Verdict, Verifier, get_verifier, verdicts

# Generator suites are endless: held-out questions are regenerated from the first this many
# tasks (holding ~400 held-out ones, twice what `eval --split heldout --limit 200` reaches),
# besides every held-out task in the log. A larger horizon drops more train rows whose
# question a far-off held-out task happens to repeat.
HELDOUT_HORIZON = 2000


@dataclass(frozen=True)
class LessonSource:
    """A run as builders see it: only tasks of the train split and their attempts."""

    run: RunRecord
    template: PromptTemplate  # the run's template: lesson prompts are the chats the run used
    tasks: Mapping[str, Task] = field(hash=False)  # train tasks of the run, in run order
    attempts: tuple[AttemptRow, ...] = field(hash=False)  # their attempts, in log order
    diagnoses: Mapping[int, Diagnosis] = field(hash=False)  # attempt id -> latest diagnosis
    clusters: Mapping[int, int] = field(default_factory=dict, hash=False)  # attempt id -> taxonomy cluster
    cluster_names: Mapping[int, str] = field(default_factory=dict, hash=False)
    excluded_attempts: int = 0  # attempts on held-out tasks, left out

    @property
    def verifier(self) -> str:
        return self.run.components.verifier.name

    @property
    def extract_methods(self) -> tuple[str, ...]:
        return self.run.components.verifier.extract or DEFAULT_METHODS

    @property
    def suite(self) -> SuiteComponent:
        """The run's suite as (name, id, source, args)."""
        return self.run.components.suite

    @functools.cached_property
    def by_task(self) -> dict[str, list[AttemptRow]]:
        out: dict[str, list[AttemptRow]] = defaultdict(list)
        for a in self.attempts:
            out[a.task_id].append(a)
        return dict(out)

    def mistakes(self) -> list[AttemptRow]:
        return [a for a in self.attempts if not a.correct]

    def render(self, task: Task) -> Chat:
        """The chat the run sent for `task` (no model chat template applied: that is the trainer's job)."""
        return self.template.render(task)

    @functools.cached_property
    def judge_with(self) -> Verifier:
        return get_verifier(self.verifier)

    @property
    def judges_programs(self) -> bool:
        """Whether the run's verifier judges whole responses by running them (`tests`): texts
        are programs, with no worked steps to check and a reference program as gold."""
        return callable(getattr(self.judge_with, "judge_responses", None))

    def judge(self, pairs: Sequence[tuple[Task, str]]) -> list[Verdict]:
        """Verdicts of the run's own verifier on (task, text) pairs, in order, judged as the
        run judged its attempts (programs run in the sandbox, in parallel)."""
        responses = [Completion(text, 0, 0, "stop") for _, text in pairs]
        return verdicts([t for t, _ in pairs], responses, self.judge_with, self.extract_methods)

    def is_correct(self, task: Task, text: str) -> bool:
        """Whether `text` answers `task` correctly by the run's own verifier."""
        return self.judge([(task, text)])[0].correct

    def checks_wrong(self, task: Task, text: str) -> bool:
        """Whether `text` gives an answer (extracted fine) that the run's verifier rejects."""
        verdict = self.judge([(task, text)])[0]
        return verdict.extraction.status == "ok" and not verdict.correct

    def steps_check_out(self, task: Task, text: str) -> bool:
        """Whether a right text's working holds no false arithmetic step; a program has no
        such steps (its tests judged it)."""
        return self.judges_programs or steps_check_out(task, text)

    def gold_response(self, task: Task) -> str:
        """The task's gold answer written as a response the run's template asks for: the
        reference program in a code block, or the gold solution ending in its answer line."""
        if self.judges_programs:
            return f"```python\n{task.answer.strip()}\n```"
        return gold_solution(task, self.template)


@dataclass(frozen=True)
class HeldOut:
    """The held-out tasks of a run's suite: ids for the provenance check, questions for
    the overlap filter."""

    suite_id: str
    task_ids: frozenset[str]
    prompts: tuple[str, ...]


def load_source(store: Store, run_name: str, diagnosis_method: str | None = None) -> LessonSource:
    """The run's train-split tasks, attempts and diagnoses (each mistake's latest, or
    those of `diagnosis_method`). Held-out tasks and their attempts are left out here."""
    run = store.get_run(run_name)
    train = {t.id: t for t in store.tasks(run.suite_id, run.task_ids) if t.split != "heldout"}
    every = store.attempts(run.id)
    attempts = tuple(a for a in every if a.split != "heldout" and a.task_id in train)
    kept = {a.id for a in attempts}
    diagnoses = {d.attempt_id: d for d in store.diagnoses(run.id, diagnosis_method) if d.attempt_id in kept}
    members = {a: c for a, c in store.cluster_members(run.id).items() if a in kept}
    names = {c.id: c.name for c in store.clusters()} if members else {}
    return LessonSource(
        run=run, template=_template(run), tasks=train, attempts=attempts, diagnoses=diagnoses,
        clusters=members, cluster_names=names, excluded_attempts=len(every) - len(attempts),
    )


def _template(run: RunRecord) -> PromptTemplate:
    name = run.components.template.name
    template = templates.get(name)
    if template.id != run.template_id:
        # The registered template changed since the run: its chats can no longer be rebuilt.
        raise ValueError(
            f"run {run.name!r} used template {name!r} with id {run.template_id}, but that name now has id "
            f"{template.id}: lesson prompts would not match the run's chats"
        )
    return template


def load_heldout(store: Store, run: RunRecord) -> HeldOut:
    """Every held-out task of the run's suite: those in the log, and for a generator suite
    or a task file that is still there, those the suite itself holds."""
    tasks = {t.id: t for t in store.tasks(run.suite_id) if t.split == "heldout"}
    for t in suite_tasks(run):
        if t.split == "heldout":
            tasks.setdefault(t.id, t)
    return HeldOut(run.suite_id, frozenset(tasks), tuple(t.prompt for t in tasks.values()))


def suite_tasks(run: RunRecord) -> list[Task]:
    """The run's suite rebuilt from its recorded components; none when that is not possible
    (a moved file, a plugin suite no longer installed): the log's tasks then stand alone."""
    from lessons.tasks.files import FieldMap, FileSuite
    from lessons.tasks.suites import SUITES

    suite = run.components.suite
    source, args = suite.source, dict(suite.args)
    try:
        if source.startswith("builtin:"):
            built = SUITES.get(suite.name)(**args)
            if built.info.id != run.suite_id:
                return []
            return list(built.tasks(HELDOUT_HORIZON))
        if Path(source).is_file():
            mapping = dict(args.get("field_map") or {})
            mapping["metadata"] = tuple(mapping.get("metadata") or ())
            built = FileSuite(source, FieldMap(**mapping), format=args.get("format"),
                              labels=(args.get("labels") or {}).get("file"))
            return list(built.tasks()) if built.info.id == run.suite_id else []
    except Exception:  # noqa: BLE001 - a suite that cannot be rebuilt leaves the log's tasks
        return []
    return []
