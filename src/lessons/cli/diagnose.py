"""`lessons diagnose`, `lessons taxonomy`, `lessons slices`, `lessons suspects`, `lessons bench`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Optional

import typer
from rich.markup import escape
from rich.table import Table

from lessons.cli.app import (
    CliError, DbOption, EmbedderOption, EndpointOption, JsonOption, RayOption, command, emit_json, fmt_pct,
    open_store, out, progress_bar, warn, working,
)
from lessons.deps import Deps
from lessons.diagnose.locators import locators, make_locator
from lessons.diagnose.pipeline import (
    DiagnoseConfig, DiagnoseSummary, diagnose, find_run_slices, find_run_suspects, taxonomy_view,
)
from lessons.diagnose.slices import SliceConfig, SliceSpec
from lessons.models import ModelOptions

METHODS = "arith, rollout, critic, consensus or trace (code runs: the reference's trace)"


def _backend(model: Optional[str], base_url: Optional[str], api_key: Optional[str], store) -> Any:
    if model is None:
        return None
    with working(f"loading model {model} ..."):
        return Deps(model_options=ModelOptions(base_url=base_url, api_key=api_key)).make_backend(model, store)


@command("diagnose")
def diagnose_command(
    run: str = typer.Argument(..., help="Run name or id."),
    method: str = typer.Option("arith", "--method", help=f"First-wrong-step method: {METHODS}."),
    model: Optional[str] = typer.Option(
        None, "--model", "-m", help="Model for rollout/critic. Default for rollout: the run's own model."),
    rollouts: int = typer.Option(4, "--rollouts", help="Rollouts per step prefix (rollout method)."),
    split_mode: str = typer.Option("auto", "--steps", help="How to cut responses: auto, numbered, lines, sentences."),
    batch_size: int = typer.Option(64, "--batch-size", help="Mistakes per locator call and per write."),
    force: bool = typer.Option(False, "--force", help="Re-diagnose mistakes already diagnosed by this method."),
    cluster: bool = typer.Option(True, "--cluster/--no-cluster", help="Place the mistakes in the taxonomy."),
    embedder: str = EmbedderOption,
    base_url: Optional[str] = typer.Option(None, "--base-url", envvar="OPENAI_BASE_URL"),
    api_key: Optional[str] = typer.Option(None, "--api-key", envvar="OPENAI_API_KEY", show_default=False),
    ray: Optional[str] = RayOption,
    endpoint: list[str] = EndpointOption,
    db: Optional[str] = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Find where each mistake first goes wrong, type it, and place it in the taxonomy."""
    if method not in locators.names():
        raise CliError(f"--method {method!r}: use {METHODS}")
    store = open_store(db)
    record = store.get_run(run)
    options = ModelOptions(base_url=base_url, api_key=api_key, endpoints=tuple(endpoint), ray=ray)
    deps = Deps(embedder=embedder, model_options=options)
    config = DiagnoseConfig(split_mode=split_mode, batch_size=batch_size, force=force, cluster=cluster)
    mistakes = len(store.attempts(record.id, mistakes_only=True))
    started, done, tokens = time.perf_counter(), 0, 0
    # the bar opens before a model loads: its clock then shows the loading too
    with progress_bar(f"diagnose {record.name} ({method})", total=mistakes, quiet=False) as update:
        def on_progress(n: int, spent: int) -> None:
            nonlocal done, tokens
            done, tokens = done + n, tokens + spent
            update(done, mistakes, done, tokens, time.perf_counter() - started)

        summary = diagnose(store, record, method, deps, model, rollouts, config, on_progress)
    _render_diagnosis(summary, as_json)


def _render_diagnosis(s: DiagnoseSummary, as_json: bool) -> None:
    clusters = [
        {"id": c.id, "name": c.name, "terms": list(c.terms), "size": c.size, "examples": list(c.examples),
         "error_types": c.error_types} for c in s.clusters
    ]
    if as_json:
        emit_json({"run_id": s.run_id, "method": s.method, "mistakes": s.mistakes, "typed": s.typed,
                   "located": s.located, "diagnosed_now": s.diagnosed_now, "tokens": s.tokens,
                   "by_type": s.by_type, "clusters": clusters})
        return
    out.print(f"[bold]{s.mistakes}[/bold] mistakes: {s.typed} typed, {s.located} with a first wrong step "
              f"({s.method}; {s.diagnosed_now} diagnosed now)")
    table = Table("error type", "mistakes")
    for t, n in s.by_type.items():
        table.add_row(t, str(n))
    out.print(table)
    _print_clusters(s.clusters)


def _print_clusters(clusters) -> None:
    table = Table("cluster", "name", "mistakes", "types", "examples")
    for c in clusters:
        types = ", ".join(f"{t} {n}" for t, n in list(c.error_types.items())[:3])
        table.add_row(str(c.id), escape(c.name), str(c.size), types, " ".join(map(str, c.examples)))
    if clusters:
        out.print(table)
        out.print("see one: [bold]lessons show ATTEMPT_ID[/bold]")


@command("taxonomy")
def taxonomy_command(
    run: str = typer.Argument(..., help="Run name or id."),
    examples: int = typer.Option(3, "--examples", help="Example attempts per cluster."),
    db: Optional[str] = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """The taxonomy's clusters holding the run's mistakes, with examples."""
    store = open_store(db)
    record = store.get_run(run)
    views = taxonomy_view(store, record, examples=examples)
    if not views:
        raise CliError(f"no mistakes of run {record.name} are in the taxonomy yet: run `lessons diagnose {record.name}`")
    steps = {d.attempt_id: d for d in store.diagnoses(record.id)}
    payload = []
    for c in views:
        shown = []
        for attempt_id in c.examples:
            d = steps.get(attempt_id)
            step = d.steps[d.location.step].text if d and d.location.step is not None else ""
            shown.append({"attempt_id": attempt_id, "first_wrong_step": step[:300],
                          "detail": d.location.detail if d else ""})
        payload.append({"id": c.id, "name": c.name, "terms": list(c.terms), "size": c.size,
                        "error_types": c.error_types, "examples": shown})
    if as_json:
        emit_json({"run_id": record.id, "clusters": payload})
        return
    for c in payload:
        out.print(f"\n[bold]#{c['id']} {escape(c['name'])}[/bold] — {c['size']} mistakes "
                  f"[dim]{', '.join(f'{t} {n}' for t, n in c['error_types'].items())}[/dim]")
        for e in c["examples"]:
            out.print(f"  {e['attempt_id']}: {escape(e['first_wrong_step'][:120])} [dim]{escape(e['detail'])}[/dim]",
                      highlight=False)


@command("slices")
def slices_command(
    run: str = typer.Argument(..., help="Run name or id."),
    k: int = typer.Option(10, "--k", help="Slices kept per view."),
    min_support: int = typer.Option(10, "--min-support", help="Fewest attempts in a slice."),
    alpha: float = typer.Option(0.95, "--alpha", help="SliceLine's weight of error rate against slice size."),
    by_type: bool = typer.Option(False, "--by-type", help="Also show slices per error type."),
    db: Optional[str] = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Weak slices (SliceLine over task metadata): size, error rate, lift."""
    store = open_store(db)
    record = store.get_run(run)
    views = find_run_slices(store, record, SliceConfig(k=k, min_support=min_support, alpha=alpha))
    as_rows = {
        view: [{"slice": s.description, "size": s.size, "errors": s.errors, "error_rate": s.error_rate,
                "lift": s.lift} for s in found]
        for view, found in views.items()
    }
    if as_json:
        emit_json({"run_id": record.id, "slices": as_rows["mistake"],
                   "by_error_type": {v: r for v, r in as_rows.items() if v != "mistake"}})
        return
    for view, rows in as_rows.items():
        if view != "mistake" and not by_type:
            continue
        table = Table("slice", "size", "errors", "error rate", "lift", title=f"weak slices ({view})")
        for r in rows:
            desc = str(SliceSpec.from_labels(r["slice"]))
            table.add_row(escape(desc), str(r["size"]), str(r["errors"]), fmt_pct(r["error_rate"]), f"{r['lift']:.2f}")
        out.print(table)
    if not as_rows["mistake"]:
        out.print("no weak slice: too few attempts or mistakes spread evenly")


@command("suspects")
def suspects_command(
    run: str = typer.Argument(..., help="Run name or id (with several samples per task)."),
    min_samples: int = typer.Option(3, "--min-samples", help="Fewest answered samples per task."),
    agreement: float = typer.Option(0.8, "--agreement", help="Share of samples that must agree."),
    db: Optional[str] = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Tasks whose samples confidently agree on an answer that differs from gold: check the label."""
    store = open_store(db)
    record = store.get_run(run)
    found = find_run_suspects(store, record, min_samples=min_samples, agreement=agreement)
    if as_json:
        emit_json({"run_id": record.id, "suspects": found})
        return
    if record.sampling.n < min_samples:
        warn(f"run {record.name} has {record.sampling.n} sample(s) per task; suspects need {min_samples}: "
             f"evaluate with --samples {min_samples} or more")
    table = Table("task", "gold", "agreed answer", "agreement", "samples", title="suspect labels")
    for s in found:
        table.add_row(s.task_id, escape(s.gold), escape(s.agreed_answer), fmt_pct(s.agreement), str(s.samples))
    out.print(table)


BENCHMARKS = ("processbench", "realmistake")


def _bench_locator(bench: str, method: str, model: Optional[str], base_url: Optional[str],
                   api_key: Optional[str], db: Optional[str]) -> Any:
    """The locator a benchmark scores; its items have no gold answer, which rollouts need."""
    if method == "rollout":
        raise CliError(f"{bench} items have no gold answer, which rollouts need: use arith, critic or consensus")
    backend = _backend(model, base_url, api_key, open_store(db)) if model else None
    return make_locator(method, backend, **({"methods": ["arith", "critic"]} if method == "consensus" and backend
                                            else {}))


@command("bench")
def bench_command(
    name: str = typer.Argument(..., help="processbench (first wrong step, human labels) or realmistake "
                                         "(error detection, expert labels)."),
    subset: str = typer.Option("gsm8k", "--subset", help="ProcessBench: gsm8k, math, olympiadbench or omnimath."),
    method: str = typer.Option("arith", "--method", help=f"First-wrong-step method: {METHODS}."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model for critic (or consensus)."),
    path: Optional[Path] = typer.Option(None, "--path", help="The benchmark's file (default: ../shared/data)."),
    limit: Optional[int] = typer.Option(None, "--limit", "-n", help="First N items."),
    batch_size: int = typer.Option(64, "--batch-size"),
    base_url: Optional[str] = typer.Option(None, "--base-url", envvar="OPENAI_BASE_URL"),
    api_key: Optional[str] = typer.Option(None, "--api-key", envvar="OPENAI_API_KEY", show_default=False),
    db: Optional[str] = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Measure diagnosis against a public benchmark. ProcessBench: F1 of the first wrong step,
    flag precision and coverage. ReaLMistake (math word problem generation): precision,
    recall and F1 of the error label; its data stays encrypted on disk, only scores print."""
    if name not in BENCHMARKS:
        raise CliError(f"benchmark {name!r}: use {' or '.join(BENCHMARKS)}")
    locator = _bench_locator("ProcessBench" if name == "processbench" else "ReaLMistake", method, model, base_url,
                             api_key, db)
    if name == "processbench":
        from lessons.diagnose.processbench import load_processbench as load, run_processbench as run

        default, about = Path("../shared/data/processbench") / f"{subset}.json", {"subset": subset}
        keys: tuple[str, ...] = ("n", "acc_error", "acc_correct", "f1", "flag_precision", "coverage")
    else:
        from lessons.diagnose.realmistake import load_realmistake as load, run_realmistake as run

        default, about = Path("../shared/data/realmistake/data.zip"), {"task": "math_word_problem_generation"}
        keys = ("n", "error_rate", "n_flagged", "precision", "recall", "f1")
    file = path or default
    if not file.exists():
        raise CliError(f"{file} not found: pass --path to the {name} data")
    items = load(file)[:limit]
    started = time.perf_counter()
    scores, _ = run(items, locator, batch_size)
    payload = {**about, "method": method, "model": model, "path": str(file), **scores,
               "seconds": round(time.perf_counter() - started, 2)}
    if as_json:
        emit_json(payload)
        return
    table = Table(show_header=False, title=f"{name} {about.get('subset', '')} — {method}".replace("  ", " "))
    for key in (*keys, "seconds"):
        value = payload[key]
        table.add_row(key, f"{value:.3f}" if isinstance(value, float) else str(value))
    out.print(table)
