"""What every importer hands over, and the one place that writes it into the mistake log.

An importer reads another tool's log into an `ImportedRun`: the tasks as that tool posed
them, each response, and the tool's own score of it. `write_run` re-judges every response
with this project's extraction and verifier (so `diagnose`, `slices` and `build` see the
same verdicts as for a run of `lessons eval`) and keeps the tool's score beside it, in the
run's components.

Writes follow `runner.evaluate`: the suite and run first, then attempts in batches of one
transaction each. The run's name is derived from the log's content and the verifier, and
an attempt already logged is kept as it was, so importing the same log again adds nothing
and an import killed midway finishes where it stopped.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Mapping

from lessons.metrics import summarize_run
from lessons.models.base import Completion, FinishReason, ModelInfo, SamplingParams
from lessons.prompts import AS_POSED
from lessons.records import (
    Attempt, ModelComponent, RunComponents, RunRecord, Selection, SourceComponent, SuiteComponent, TemplateComponent,
    VerifierComponent,
)
from lessons.store import Store, content_id
from lessons.tasks.base import SuiteInfo, Task, split_for
from lessons.verify import DEFAULT_METHODS, verify

BATCH = 256  # attempts per write transaction: what a kill can lose, and what a resume redoes


class ImportFileError(ValueError):
    """A log that cannot be imported; the message names the file, the place and the field."""


@dataclass(frozen=True)
class SourceScore:
    """The source tool's own judgement of one response, kept beside the project's verdict."""

    correct: bool | None  # the tool's verdict on its first metric; None when that is not a pass/fail
    scores: Mapping[str, Any] = field(default_factory=dict, hash=False)  # as the tool wrote them (JSON values)


@dataclass(frozen=True)
class ImportedSample:
    """One response to one task, as the source tool logged it."""

    task_id: str  # unique within the tool's task (lm-eval doc_id, Inspect sample id)
    prompt: str  # the question as the tool posed it to the model
    gold: str  # gold answer, reduced to what a verifier reads
    response: str
    sample: int = 0  # 0..n-1 among the responses to the same task (lm-eval repeats, Inspect epochs)
    finish_reason: FinishReason = "stop"
    prompt_tokens: int = 0  # 0: the tool did not log token counts
    completion_tokens: int = 0
    score: SourceScore = SourceScore(None)
    metadata: Mapping[str, Any] = field(default_factory=dict, hash=False)  # task metadata for slices


@dataclass(frozen=True)
class ImportedRun:
    """One evaluation of one model on one task, read from another tool's log."""

    tool: str  # "lm-eval" or "inspect"
    path: str  # the log file the samples came from
    task: str  # the tool's task name
    task_version: str
    model: ModelInfo  # name, the tool's model type as backend, source, model arguments
    sampling: SamplingParams  # n: responses per task; the generation settings the tool used
    settings: Mapping[str, Any] = field(hash=False)  # every other setting in the log's config (JSON values)
    metrics: Mapping[str, Any] = field(hash=False)  # the tool's aggregate scores for the task
    samples: tuple[ImportedSample, ...] = field(hash=False)
    skipped: int = 0  # samples the log holds without a response (errored in the tool)


@dataclass(frozen=True)
class VerifyConfig:
    """How the project re-judges imported responses (as `lessons eval --verifier` does)."""

    verifier: str = "math"
    extract: tuple[str, ...] = DEFAULT_METHODS


@dataclass(frozen=True)
class ImportResult:
    run_name: str
    run_id: str
    tool: str
    task: str
    model: str
    tasks: int
    attempts: int
    new_attempts: int  # written by this import (0 when the log was imported before)
    accuracy: float  # by the project's verdicts
    source_accuracy: float | None  # by the tool's own scores, where they are pass/fail
    agreement: float | None  # share of scored attempts where tool and project agree
    skipped: int


def suite_info(run: ImportedRun) -> SuiteInfo:
    """The suite of the imported tasks. Its fingerprint is their content, not the log's: two
    models' logs of one task share a suite, so `lessons compare` can pair them."""
    digest = hashlib.sha256()
    for t in sorted({(s.task_id, s.prompt, s.gold) for s in run.samples}):
        digest.update("\x00".join(t).encode() + b"\x01")
    return SuiteInfo(
        name=f"{run.tool}:{run.task}", version=run.task_version or "0", source=f"{run.tool}:{run.path}",
        fingerprint=digest.hexdigest(), params={"tool": run.tool, "task": run.task},
    )


def tasks_of(run: ImportedRun) -> list[Task]:
    """One task per task id, in log order, each in the split its id hashes to."""
    tasks: dict[str, Task] = {}
    for s in run.samples:
        if s.task_id not in tasks:
            metadata = {"source": f"{run.tool}:{run.task}", "id": s.task_id, **s.metadata}
            tasks[s.task_id] = Task(s.task_id, s.prompt, s.gold, metadata=metadata, split=split_for(s.task_id))
    return list(tasks.values())


def score_key(task_id: str, sample: int) -> str:
    return f"{task_id}#{sample}"


def run_components(run: ImportedRun, suite: SuiteInfo, config: VerifyConfig) -> RunComponents:
    """Every component as `runner` records them, plus `source`: which tool's log this run came
    from, its settings and aggregate scores, and its score of each attempt (keyed
    `task_id#sample`). The one place an imported run's components are built."""
    return RunComponents(
        model=ModelComponent(run.model.name, run.model.backend, run.model.source, dict(run.model.args)),
        suite=SuiteComponent(suite.name, suite.id, suite.source, dict(suite.params)),
        template=TemplateComponent(AS_POSED.name, AS_POSED.id),
        verifier=VerifierComponent(config.verifier, tuple(config.extract)),
        selection=Selection("all", None),
        source=SourceComponent(
            run.tool, run.path, run.task, dict(run.settings), dict(run.metrics),
            {score_key(s.task_id, s.sample): {"correct": s.score.correct, **s.score.scores} for s in run.samples},
        ),
    )


def source_scores(run: RunRecord) -> dict[tuple[str, int], SourceScore]:
    """The source tool's score of each attempt of an imported run, by (task id, sample);
    empty for a run that was not imported."""
    found = {}
    for key, value in (run.components.source.scores if run.components.source else {}).items():
        task_id, _, sample = key.rpartition("#")
        scores = {k: v for k, v in value.items() if k != "correct"}
        found[(task_id, int(sample))] = SourceScore(value.get("correct"), scores)
    return found


def default_run_name(run: ImportedRun, suite: SuiteInfo, config: VerifyConfig) -> str:
    """Stable for the same log and verifier, so a second import finds the first one's run."""
    short = run.model.name.rstrip("/").split("/")[-1] or "model"
    digest = content_id(suite.id, run.model.name, run.model.args, run.path.rsplit("/", 1)[-1],
                        len(run.samples), config.verifier, list(config.extract))
    return f"{run.tool}-{run.task}-{short}-{digest[:6]}"


def write_run(store: Store, run: ImportedRun, config: VerifyConfig = VerifyConfig(),
              run_name: str | None = None) -> ImportResult:
    """Write `run` into the log as a run (resuming one that an earlier import started)."""
    if not run.samples:
        raise ImportFileError(f"{run.path}: task {run.task!r} has no samples with a response to import")
    suite = suite_info(run)
    tasks = tasks_of(run)
    store.save_suite(suite, tasks)
    record = store.start_run(
        name=run_name or default_run_name(run, suite, config),
        suite_id=suite.id,
        model_version_id=store.save_model_version(run.model),
        template_id=store.save_template(AS_POSED),
        sampling=run.sampling,
        components=run_components(run, suite, config),
        task_ids=[t.id for t in tasks],
    )
    done = store.done_samples(record.id)
    pending = [s for s in run.samples if s.sample not in done.get(s.task_id, ())]
    new = 0
    for start in range(0, len(pending), BATCH):
        new += store.add_attempts([_attempt(record.id, s, config) for s in pending[start:start + BATCH]])
    store.finish_run(record.id, "done")
    return _result(store, record, run, new)


def _attempt(run_id: str, s: ImportedSample, config: VerifyConfig) -> Attempt:
    completion = Completion(s.response, s.prompt_tokens, s.completion_tokens, s.finish_reason)
    verdict = verify(s.gold, s.response, s.finish_reason, verifier=config.verifier, methods=config.extract)
    return Attempt(run_id=run_id, task_id=s.task_id, sample=s.sample, completion=completion, verdict=verdict)


def _result(store: Store, record: RunRecord, run: ImportedRun, new: int) -> ImportResult:
    attempts = store.attempts(record.id)
    summary = summarize_run(record.id, record.name, attempts, run.sampling.n)
    scores = source_scores(store.get_run(record.id))
    scored = [(a.correct, scores[(a.task_id, a.sample)].correct) for a in attempts
              if scores.get((a.task_id, a.sample)) and scores[(a.task_id, a.sample)].correct is not None]
    return ImportResult(
        run_name=record.name, run_id=record.id, tool=run.tool, task=run.task, model=run.model.name,
        tasks=summary.tasks, attempts=summary.attempts, new_attempts=new, accuracy=summary.accuracy,
        source_accuracy=sum(tool for _, tool in scored) / len(scored) if scored else None,
        agreement=sum(ours == tool for ours, tool in scored) / len(scored) if scored else None,
        skipped=run.skipped,
    )
