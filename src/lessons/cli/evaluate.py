"""`lessons eval`, `lessons explore`, `lessons tasks`, `lessons topics`, `lessons models`."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from lessons.cli.app import (
    DbOption, EmbedderOption, EndpointOption, JsonOption, RayOption, CliError, command, emit_json, fmt_pct, open_store, out, progress_bar, warn, working,
)
from lessons.models import DEFAULT_MODEL, ModelOptions, available_models, resolve_model
from lessons.models.base import BackendError
from lessons.runner import EvalConfig, EvalResult, evaluate
from lessons.prompts import DEFAULT_TEMPLATE
from lessons.tasks import FieldMap, FileSuite, Suite, load_suite, suite_defaults, summarize
from lessons.verify.verifiers import unreadable_golds

VerifierOption = typer.Option("math", "--verifier", help="math, numeric, exact, regex or choice.")
SuiteVerifierOption = typer.Option(
    None, "--verifier", help="math, numeric, exact, regex, choice or tests; default: the suite's (tests for code).")


_FIELD_KEYS = {"question", "answer", "solution", "id", "metadata", "tests", "entry_point"}


def _field_map(fields: list[str]) -> FieldMap | None:
    """`--field question=Body+Question --field answer=solutions[0] --field metadata=meta.level,topic`,
    for code `--field tests=test --field entry_point=entry_point` (field expressions: `lessons.tasks.fields`)."""
    if not fields:
        return None
    mapping: dict = {}
    for item in fields:
        key, sep, value = item.partition("=")
        if not sep or key not in _FIELD_KEYS or not value.strip():
            raise CliError(f"--field {item!r}: expected question=, answer=, solution=, id=, metadata=, tests= or "
                           "entry_point= followed by a field (NAME, NAME+NAME, NAME.KEY, NAME[0]; metadata: several, "
                           "comma-separated)")
        mapping[key] = value.strip()
    try:
        return FieldMap.from_mapping(mapping)
    except ValueError as e:
        raise CliError(f"--field: {e}") from None


LabelsOption = typer.Option(
    None, "--labels", help="A labels file of the task file (`lessons topics` writes one): metadata added to each task.")


def _load(suite: str, fields: list[str], verifier: str | None, limit: int | None = None,
          labels: str | None = None) -> tuple[Suite, str]:
    """The suite and the verifier that judges it (the one asked for, else the suite's), with
    a warning when that verifier cannot read some of a task file's gold answers (a built-in
    suite's are made for it)."""
    loaded = load_suite(suite, _field_map(fields), labels)
    verifier = verifier or suite_defaults(loaded).verifier or "math"
    if isinstance(loaded, FileSuite):
        problem = unreadable_golds([t.answer for t in loaded.tasks(limit)], verifier)
        if problem:
            warn(problem)
    return loaded, verifier


@command("eval")
def eval_command(
    model: str = typer.Option(DEFAULT_MODEL, "--model", "-m", help="Model name, local HF dir, or openai:<model>."),
    suite: str = typer.Option("arith", "--suite", "-s", help="Built-in suite (arith, arith:seed=N) or task file."),
    limit: Optional[int] = typer.Option(None, "--limit", "-n", help="First N tasks of the split."),
    samples: int = typer.Option(1, "--samples", "-k", min=1, help="Attempts per task (pass@k, maj@k when > 1)."),
    split: str = typer.Option("all", "--split", help="train, heldout or all."),
    run: Optional[str] = typer.Option(None, "--run", help="Run name; the same name resumes the run."),
    temperature: Optional[float] = typer.Option(None, help="Default: 0 for one sample, 0.7 for several."),
    top_p: float = typer.Option(1.0, "--top-p"),
    max_new_tokens: int = typer.Option(384, "--max-new-tokens"),
    seed: int = typer.Option(0, "--seed"),
    batch_size: int = typer.Option(16, "--batch-size", help="Prompts per generate call."),
    template: Optional[str] = typer.Option(None, "--template", help="Default: the suite's (step-by-step; code for code)."),
    verifier: Optional[str] = SuiteVerifierOption,
    field: list[str] = typer.Option([], "--field", help="Field mapping for generic task files."),
    labels: Optional[str] = LabelsOption,
    base_url: Optional[str] = typer.Option(None, "--base-url", envvar="OPENAI_BASE_URL", help="Endpoint for openai:<model>."),
    api_key: Optional[str] = typer.Option(None, "--api-key", envvar="OPENAI_API_KEY", show_default=False),
    concurrency: int = typer.Option(8, "--concurrency", help="In-flight requests to an endpoint."),
    ray: Optional[str] = RayOption,
    endpoint: list[str] = EndpointOption,
    lessons_dir: Optional[str] = typer.Option(
        None, "--lessons", help="Prompt each task with a `prompt` lesson set (in-context lessons, no training)."),
    few_shot: bool = typer.Option(
        False, "--few-shot", help="With --lessons: its control instead, solved train problems of the same length."),
    retries: int = typer.Option(0, "--retries", min=0, help="Turns more for wrong answers: the answer, feedback (its first wrong step), try again."),
    db: Optional[str] = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Evaluate a model on a suite and log every attempt."""
    if split not in ("train", "heldout", "all"):
        raise CliError(f"--split {split!r}: use train, heldout or all")
    if retries and samples != 1:
        raise CliError(f"--retries gives a wrong answer a second turn: use it with --samples 1, not {samples}")
    task_suite, verifier = _load(suite, field, verifier, labels=labels)
    template = template or suite_defaults(task_suite).template or DEFAULT_TEMPLATE
    config = EvalConfig(
        limit=limit, split=split, samples=samples, temperature=temperature, top_p=top_p,
        max_new_tokens=max_new_tokens, seed=seed, batch_size=batch_size, template=template,
        verifier=verifier, run_name=run,
    )
    store = open_store(db)
    prompts = _lesson_prompts(store, lessons_dir, few_shot, seed)
    registered = store.registered_models()
    with working(f"loading model {model} ..."):
        backend = resolve_model(
            model, ModelOptions(base_url=base_url, api_key=api_key, concurrency=concurrency, batch_size=batch_size,
                                endpoints=tuple(endpoint), ray=ray),
            registered,
        )
    with progress_bar(f"eval {model}", total=limit or 1) as update:
        def on_progress(p):
            update(p.tasks_done, p.tasks_total, p.tasks_done_now, p.completion_tokens, p.elapsed_s)

        try:
            result = evaluate(store, backend, task_suite, config, on_progress=on_progress, lessons=prompts)
            turns = _retry(store, backend, task_suite, config, result, retries, verifier, on_progress)
        except BackendError as e:
            raise CliError(f"{e} — completed attempts are kept; re-run the same command to resume") from None
    _render_eval(result, as_json, turns)


def _retry(store, backend, task_suite, config, result, retries: int, verifier: str, on_progress) -> list:
    if not retries:
        return []
    from lessons.builders.retry import retry_turns
    from lessons.diagnose import make_locator

    locator = make_locator("arith") if verifier != "tests" else None  # a program's feedback is its verdict
    return retry_turns(store, backend, task_suite, config, result.summary.run_name, retries, locator, on_progress)


def _lesson_prompts(store, folder: str | None, few_shot: bool, seed: int):
    if folder is None:
        if few_shot:
            raise CliError("--few-shot is the control of --lessons DIR: give the lesson set too")
        return None
    from lessons.builders.in_context import LessonPrompts, load_in_context
    from lessons.diagnose.taxonomy import MiniLMEmbedder

    with working(f"reading in-context lessons {folder} ..."):
        return LessonPrompts(load_in_context(store, folder), MiniLMEmbedder(), "few-shot" if few_shot else "lessons",
                             seed)


def _render_eval(result: EvalResult, as_json: bool, turns: list | None = None) -> None:
    s = result.summary
    payload = {
        "run_id": s.run_id, "run": s.run_name, "tasks": s.tasks, "attempts": s.attempts, "correct": s.correct,
        "accuracy": s.accuracy, "mistakes": s.mistakes, "extraction_failures": s.extraction_failures,
        "by_status": s.by_status, "abstained": s.abstained, "answered_accuracy": s.answered_accuracy,
        "new_attempts": result.new_attempts,
        "tokens_per_second": result.tokens_per_second, "elapsed_s": result.elapsed_s,
    }
    if s.samples > 1:
        payload |= {"pass_at_k": s.pass_at_k, "maj_at_k": s.maj_at_k, "rpc_at_k": s.rpc_at_k,
                    "rpc_samples_to_match_maj": s.rpc_samples_to_match}
    if turns:
        payload["retries"] = [{"turn": t.turn, "run": t.run, "retried": t.retried, "solved": t.solved,
                               "accuracy": t.accuracy} for t in turns]
    if as_json:
        emit_json(payload)
        return
    table = Table(title=f"run {s.run_name}", show_header=False)
    table.add_row("tasks / attempts", f"{s.tasks} / {s.attempts}")
    table.add_row("accuracy", f"{fmt_pct(s.accuracy)}  ({s.correct} correct)")
    table.add_row("mistakes", f"{s.mistakes}  (of which {s.extraction_failures} without an answer)")
    table.add_row("extraction", ", ".join(f"{k} {v}" for k, v in sorted(s.by_status.items())))
    if s.abstained:
        answered = fmt_pct(s.answered_accuracy) if s.answered_accuracy is not None else "-"
        table.add_row("abstained", f"{s.abstained} ({fmt_pct(s.abstained / s.attempts)}); accuracy on answered {answered}")
    for k, v in s.pass_at_k.items():
        table.add_row(k, fmt_pct(v))
    if s.maj_at_k is not None:
        table.add_row(f"maj@{s.samples}", fmt_pct(s.maj_at_k))
    if s.rpc_at_k is not None:
        match = (f"reaches maj@{s.samples} with {s.rpc_samples_to_match} samples" if s.rpc_samples_to_match
                 else f"does not reach maj@{s.samples}")
        table.add_row(f"rpc@{s.samples}", f"{fmt_pct(s.rpc_at_k)}  ({match})")
    for t in turns or ():
        table.add_row(f"after retry {t.turn}", f"{fmt_pct(t.accuracy)}  ({t.solved} of {t.retried} retried solved; "
                                               f"run {escape(t.run)})")
    table.add_row("new attempts", f"{result.new_attempts} at {result.tokens_per_second:.0f} tok/s")
    out.print(table)
    out.print(f"next: [bold]lessons mistakes {s.run_name}[/bold]")


@command("tasks")
def tasks_command(
    suite: str = typer.Argument(..., help="Built-in suite (arith) or task file (JSONL, JSON, CSV, Parquet)."),
    limit: Optional[int] = typer.Option(None, "--limit", "-n"),
    field: list[str] = typer.Option([], "--field", help="Field mapping for generic task files."),
    labels: Optional[str] = LabelsOption,
    verifier: Optional[str] = SuiteVerifierOption,
    show: int = typer.Option(3, "--show", help="Example tasks to print."),
    as_json: bool = JsonOption,
) -> None:
    """What a suite holds: tasks per skill and split, with examples."""
    if limit is None and suite.split(":")[0] in ("arith", "code"):  # endless generators
        limit = 1000
    task_suite, _ = _load(suite, field, verifier, limit, labels)
    tasks = list(task_suite.tasks(limit))
    summary = summarize(tasks)
    if as_json:
        emit_json({"suite": task_suite.info.id, **summary, "examples": [asdict(t) for t in tasks[:show]]})
        return
    out.print(f"[bold]{task_suite.info.id}[/bold] ({task_suite.info.source}): {summary['tasks']} tasks")
    table = Table("skill", "tasks")
    for skill, n in sorted(summary["by_skill"].items(), key=lambda kv: -kv[1]):
        table.add_row(str(skill), str(n))
    out.print(table)
    out.print("splits: " + ", ".join(f"{k} {v}" for k, v in summary["by_split"].items()))
    for t in tasks[:show]:
        out.print(f"\n[bold]{t.id}[/bold] [dim]{t.metadata}[/dim]\n{t.prompt}\n[green]answer:[/green] {t.answer}")


@command("topics")
def topics_command(
    suite: str = typer.Argument(..., help="Task file (JSONL, JSON, CSV, Parquet) whose questions carry no labels."),
    topics: int = typer.Option(8, "--topics", "-k", min=2, help="How many topics."),
    output: str = typer.Option(..., "--output", "-o", help="The labels file to write (JSON)."),
    field: list[str] = typer.Option([], "--field", help="Field mapping for generic task files."),
    embedder: str = EmbedderOption,
    show: int = typer.Option(2, "--show", help="Example questions per topic."),
    as_json: bool = JsonOption,
) -> None:
    """Question topics of a task file as labels: k-means clusters of its train questions,
    every task (held-out ones too) labelled topic=<its nearest>; then --labels FILE."""
    from lessons.deps import Deps
    from lessons.diagnose.topics import FEATURE, write_topics

    task_suite = load_suite(suite, _field_map(field))
    if not isinstance(task_suite, FileSuite):
        raise CliError(f"suite {suite!r} is built in and labels its own tasks: topics are for task files")
    tasks = list(task_suite.tasks())
    with working(f"embedding {len(tasks)} questions ..."):
        try:
            digest, sizes = write_topics(tasks, Deps(embedder=embedder).make_embedder(), topics, output,
                                         {"suite": str(Path(suite).resolve())})
        except ValueError as e:
            raise CliError(f"{suite}: {e}") from None
    labelled = list(load_suite(suite, _field_map(field), output).tasks())
    if as_json:
        emit_json({"labels": output, "sha256": digest, "topics": sizes})
        return
    table = Table("topic", "tasks", "example")
    for label, n in sizes.items():
        examples = [t.prompt for t in labelled if t.metadata[FEATURE] == label][:show]
        table.add_row(label, str(n), escape("\n".join(e if len(e) <= 100 else e[:97] + "..." for e in examples)))
    out.print(table)
    out.print(f"wrote {escape(output)}: next [bold]lessons eval --suite {escape(suite)} --labels {escape(output)}[/bold], "
              f"or [bold]lessons loop --suite {escape(suite)} --topics {topics}[/bold]", soft_wrap=True)


@command("explore")
def explore_command(
    run: str = typer.Argument(..., help="A diagnosed run whose mistakes to search near."),
    budget: int = typer.Option(64, "--budget", "-n", min=1, help="Generations for each search, near and random."),
    seed: int = typer.Option(0, "--seed"),
    batch_size: int = typer.Option(16, "--batch-size", help="Prompts per generate call."),
    base_url: Optional[str] = typer.Option(None, "--base-url", envvar="OPENAI_BASE_URL", help="Endpoint for openai:<model>."),
    api_key: Optional[str] = typer.Option(None, "--api-key", envvar="OPENAI_API_KEY", show_default=False),
    db: Optional[str] = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Budgeted error search: the run's model on new tasks near its mistakes (its weak
    slices) and on as many random tasks; new errors found per 100 generations each."""
    from lessons.deps import Deps
    from lessons.explore import explore

    store = open_store(db)
    record = store.get_run(run)
    deps = Deps(model_options=ModelOptions(base_url=base_url, api_key=api_key, batch_size=batch_size))
    with working(f"loading model {record.model_name} ..."):
        backend = deps.make_backend(record.model_name, store)
    with progress_bar(f"explore {record.name} (near, then random)", total=budget) as update:
        def on_progress(p):
            update(p.tasks_done, p.tasks_total, p.tasks_done_now, p.completion_tokens, p.elapsed_s)

        try:
            found = explore(store, record.name, budget, backend, seed, batch_size, on_progress=on_progress)
        except BackendError as e:
            raise CliError(f"{e} — completed attempts are kept; re-run the same command to resume") from None
        except ValueError as e:
            raise CliError(str(e)) from None
    if as_json:
        emit_json(found.to_json())
        return
    table = Table("search", "tasks", "errors", "per 100 generations", "run")
    for s_ in (found.near, found.random):
        table.add_row(s_.kind, str(s_.tasks), str(s_.errors), f"{s_.per_100:.1f}", escape(s_.run))
    out.print(table)
    lo, hi = found.ci95
    out.print(f"near - random: {found.difference:+.1f} errors per 100 [{lo:+.1f}, {hi:+.1f}] "
              f"(near the weak slices {escape(', '.join(found.slices))})", soft_wrap=True)


@command("models")
def models_command(db: Optional[str] = DbOption, as_json: bool = JsonOption) -> None:
    """Models available here and where each comes from."""
    store = open_store(db)
    registered = store.registered_models()
    rows = available_models(registered)
    if as_json:
        emit_json({"models": rows, "also": ["<local HF model dir>", "openai:<model> --base-url URL"]})
        return
    table = Table("name", "kind", "installed", "cached", "source")
    for r in rows:
        table.add_row(r["name"], r["kind"], "yes" if r["installed"] else "no", "yes" if r["cached_bf16"] else "no",
                      r["source"])
    out.print(table)
    out.print("Also: a local Hugging Face model directory, or [bold]openai:<model> --base-url URL[/bold].")
