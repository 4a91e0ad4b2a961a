"""Evaluation: run a model on a suite's tasks, verify every response, log every attempt.

Writes go to the mistake log one batch at a time, each batch in one transaction, and a run
is keyed by its name: the same command run again after a crash finds its run, skips the
tasks whose attempts are logged, and adds no duplicate.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from typing import Any, Callable, Literal, Sequence

from lessons.metrics import RunSummary, summarize_run
from lessons.models.base import Backend, BackendError, Completion, SamplingParams
from lessons.prompts import DEFAULT_TEMPLATE, PromptTemplate, templates
from lessons.records import (
    Attempt, LessonsComponent, ModelComponent, RunComponents, Selection, SuiteComponent, TemplateComponent, VerifierComponent,
)
from lessons.store import Store, StoreError, content_id
from lessons.tasks import Suite, Task
from lessons.verify import DEFAULT_METHODS, Verdict, verdicts

SplitChoice = Literal["train", "heldout", "all"]


@dataclass(frozen=True)
class EvalConfig:
    limit: int | None = None  # first N tasks of the chosen split; None: all (file suites)
    offset: int = 0  # tasks of the split skipped before those (another draw of the same split)
    split: SplitChoice = "all"
    samples: int = 1  # attempts per task
    temperature: float | None = None  # None: 0 (greedy) for one sample, 0.7 for several
    top_p: float = 1.0
    max_new_tokens: int = 384  # arith solutions need ~150; room for verbose ones
    seed: int = 0
    batch_size: int = 16  # prompts per generate call and per write transaction
    template: str = DEFAULT_TEMPLATE
    verifier: str = "math"
    extract: tuple[str, ...] = DEFAULT_METHODS
    run_name: str | None = None  # default: derived from model, suite and settings

    def sampling(self) -> SamplingParams:
        temperature = self.temperature if self.temperature is not None else (0.0 if self.samples == 1 else 0.7)
        return SamplingParams(
            n=self.samples, temperature=temperature, top_p=self.top_p,
            max_new_tokens=self.max_new_tokens, seed=self.seed,
        )


@dataclass(frozen=True)
class Progress:
    tasks_done: int
    tasks_total: int
    tasks_done_now: int  # by this invocation (the rest were logged before a resume)
    completion_tokens: int  # generated in this invocation
    elapsed_s: float


@dataclass(frozen=True)
class EvalResult:
    summary: RunSummary
    new_attempts: int  # logged by this invocation (0 when the run was already complete)
    generated_tokens: int
    generation_s: float  # wall time spent in the backend
    elapsed_s: float

    @property
    def tokens_per_second(self) -> float:
        return self.generated_tokens / self.elapsed_s if self.elapsed_s > 0 else 0.0


def select_tasks(suite: Suite, split: SplitChoice, limit: int | None, offset: int = 0) -> list[Task]:
    """The first `limit` tasks of the split after the first `offset`, in suite order. A
    generator suite makes as many tasks as asked for, so ask for more until the split has
    enough."""
    if split == "all":
        return list(suite.tasks(None if limit is None else offset + limit))[offset:]
    ask = None if limit is None else max(2 * (offset + limit), 64)
    while True:
        pool = list(suite.tasks(ask))
        chosen = [t for t in pool if t.split == split][offset:]
        if limit is None or len(chosen) >= limit or len(pool) < ask:
            return chosen[:limit]
        ask *= 4


def default_run_name(model_name: str, suite_name: str, config: EvalConfig, n_tasks: int,
                     lessons: LessonsComponent | None = None) -> str:
    short = model_name.rstrip("/").split("/")[-1]
    # offset 0 is left out, so runs named before it existed keep their names
    settings = {k: v for k, v in asdict(config).items() if k != "run_name" and not (k == "offset" and v == 0)}
    if lessons is None:
        return f"{short}-{suite_name}-{n_tasks}-{content_id(model_name, suite_name, settings)[:6]}"
    named = content_id(model_name, suite_name, settings, asdict(lessons))[:6]
    return f"{short}-{suite_name}-{n_tasks}-{lessons.name}-{named}"


def evaluate(
    store: Store,
    backend: Backend,
    suite: Suite,
    config: EvalConfig = EvalConfig(),
    on_progress: Callable[[Progress], None] | None = None,
    lessons: Any = None,
) -> EvalResult:
    """Evaluate `backend` on `suite` into a run of the log (resuming one of the same name).
    `lessons` (a `builders.in_context.LessonPrompts`) prompts each task with in-context
    lessons instead of the template alone, and is recorded as the run's `lessons` component."""
    started = time.perf_counter()
    tasks = select_tasks(suite, config.split, config.limit, config.offset)
    if not tasks:
        raise ValueError(f"suite {suite.info.name!r} has no {config.split} tasks to evaluate")
    template: PromptTemplate = templates.get(config.template)
    components = _components(backend, suite, template, config)
    if lessons is not None:
        components = replace(components, lessons=lessons.component())
    sampling = config.sampling()
    store.save_suite(suite.info, tasks)
    name = config.run_name or default_run_name(backend.info.name, suite.info.name, config, len(tasks),
                                               components.lessons)
    existing = store.find_run(name)
    if existing is not None and existing.components.lessons != components.lessons:
        raise StoreError(f"run {name!r} exists prompted with other in-context lessons; choose another --run name "
                         "to start a new run")
    run = store.start_run(
        name=name,
        suite_id=suite.info.id,
        model_version_id=store.save_model_version(backend.info),
        template_id=store.save_template(template),
        sampling=sampling,
        components=components,
        task_ids=[t.id for t in tasks],
    )
    done = store.done_samples(run.id)
    pending = [t for t in tasks if len(done.get(t.id, ())) < sampling.n]
    new_attempts, tokens, generation_s = 0, 0, 0.0
    finished = len(tasks) - len(pending)
    if on_progress:
        on_progress(Progress(finished, len(tasks), 0, 0, time.perf_counter() - started))
    for start in range(0, len(pending), config.batch_size):
        batch = pending[start : start + config.batch_size]
        t0 = time.perf_counter()
        try:
            chats = lessons.chats(template, batch) if lessons is not None else [template.render(t) for t in batch]
            completions = backend.generate(chats, sampling)
        except BackendError as err:
            # keep what did finish, then stop: the run can be resumed once the backend is back
            kept = {i: c for i, c in err.partial.items() if i < len(batch)}
            store.add_attempts(_attempts(run.id, [batch[i] for i in kept], list(kept.values()), config))
            store.finish_run(run.id, "failed")
            raise
        generation_s += time.perf_counter() - t0
        new_attempts += store.add_attempts(_attempts(run.id, batch, completions, config))
        tokens += sum(c.completion_tokens for row in completions for c in row)
        finished += len(batch)
        if on_progress:
            done_now = start + len(batch)
            on_progress(Progress(finished, len(tasks), done_now, tokens, time.perf_counter() - started))
    store.finish_run(run.id, "done")
    summary = summarize_run(run.id, run.name, store.attempts(run.id), sampling.n, aggregate=sampling.n > 1)
    return EvalResult(summary, new_attempts, tokens, generation_s, time.perf_counter() - started)


def _attempts(run_id: str, tasks: Sequence[Task], completions, config: EvalConfig) -> list[Attempt]:
    pairs = [(task, sample, c) for task, row in zip(tasks, completions) for sample, c in enumerate(row)]
    verdicts = _verdicts([t for t, _, _ in pairs], [c for _, _, c in pairs], config)
    return [Attempt(run_id=run_id, task_id=task.id, sample=sample, completion=c, verdict=verdict)
            for (task, sample, c), verdict in zip(pairs, verdicts)]


def _verdicts(tasks: Sequence[Task], completions: Sequence[Completion], config: EvalConfig) -> list[Verdict]:
    return verdicts(tasks, completions, config.verifier, config.extract)


def _components(backend: Backend, suite: Suite, template: PromptTemplate, config: EvalConfig) -> RunComponents:
    """Every component as (name, args), so a run can be rebuilt and compared honestly."""
    return RunComponents(
        model=ModelComponent(backend.info.name, backend.info.backend, backend.info.source, backend.info.args),
        suite=SuiteComponent(suite.info.name, suite.info.id, suite.info.source, suite.info.params),
        template=TemplateComponent(template.name, template.id),
        verifier=VerifierComponent(config.verifier, tuple(config.extract)),
        selection=Selection(config.split, config.limit),
    )
