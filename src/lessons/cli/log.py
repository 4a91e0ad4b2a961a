"""Reading the mistake log: `runs`, `mistakes`, `show`, `compare`, `export`."""

from __future__ import annotations

from dataclasses import asdict
from typing import Optional

import typer
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from lessons.cli.app import DbOption, JsonOption, CliError, command, emit_json, fmt_pct, open_store, out
from lessons.formatting import ci_points, points
from lessons.metrics import compare_runs, summarize_run
from lessons.store.export import export_run


def _one_line(text: str, width: int = 70) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


@command("runs")
def runs_command(db: Optional[str] = DbOption, as_json: bool = JsonOption) -> None:
    """Runs in the mistake log, oldest first."""
    store = open_store(db)
    rows = []
    for run in store.runs():
        s = summarize_run(run.id, run.name, store.attempts(run.id), run.sampling.n)
        rows.append({
            "run_id": run.id, "run": run.name, "model": run.model_name, "suite": run.suite_id,
            "status": run.status, "tasks": len(run.task_ids), "attempts": s.attempts,
            "accuracy": s.accuracy, "mistakes": s.mistakes, "created_at": run.created_at,
        })
    if as_json:
        emit_json({"runs": rows})
        return
    table = Table("run", "model", "suite", "status", "attempts", "accuracy", "mistakes", "created")
    for r in rows:
        table.add_row(r["run"], r["model"], r["suite"], r["status"], f"{r['attempts']}/{r['tasks']}",
                      fmt_pct(r["accuracy"]), str(r["mistakes"]), r["created_at"])
    out.print(table)


@command("mistakes")
def mistakes_command(
    run: str = typer.Argument(..., help="Run name or id."),
    skill: Optional[str] = typer.Option(None, "--skill"),
    status: Optional[str] = typer.Option(None, "--status", help="Extraction status: ok, missing, truncated, malformed."),
    error_type: Optional[str] = typer.Option(None, "--type", help="Error type, once diagnosed (calculation, ...)."),
    limit: Optional[int] = typer.Option(None, "--limit", "-n"),
    db: Optional[str] = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """The run's mistakes: wrong answers and answers that could not be extracted."""
    store = open_store(db)
    record = store.get_run(run)
    diagnoses = {d.attempt_id: d for d in store.diagnoses(record.id)}
    # The type filter needs the diagnoses, so the limit goes to SQL only without one.
    rows = store.attempts(record.id, mistakes_only=True, skill=skill, status=status,
                          limit=None if error_type else limit)
    if error_type:
        rows = [r for r in rows if r.id in diagnoses and error_type in diagnoses[r.id].error_types][:limit]
    if as_json:
        emit_json({"run": record.name, "mistakes": [
            {**asdict(r), "error_types": list(diagnoses[r.id].error_types) if r.id in diagnoses else [],
             "first_wrong_step": diagnoses[r.id].location.step if r.id in diagnoses else None} for r in rows
        ]})
        return
    table = Table("id", "task", "skill", "status", "type", "gold", "answer", "response")
    for r in rows:
        kind = diagnoses[r.id].error_type if r.id in diagnoses else "-"
        table.add_row(str(r.id), r.task_id, r.skill or "-", r.extraction_status, kind, escape(r.gold),
                      escape(r.answer or "-"), escape(_one_line(r.text)))
    out.print(table)
    out.print(f"{len(rows)} mistakes; [bold]lessons show ID[/bold] for one in full")


@command("show")
def show_command(attempt_id: int = typer.Argument(...), db: Optional[str] = DbOption, as_json: bool = JsonOption) -> None:
    """One attempt in full: task, response, extraction, verdict and diagnosis."""
    store = open_store(db)
    a = store.attempt(attempt_id)
    d = store.diagnosis_of(attempt_id)
    if as_json:
        emit_json({**asdict(a), "diagnosis": _diagnosis_json(d)})
        return
    verdict = "[green]correct[/green]" if a.correct else "[red]wrong[/red]"
    out.print(Panel(escape(a.prompt), title=f"task {a.task_id} ({a.skill or '-'}, {a.split})"))
    out.print(Panel(_marked_response(a.text, d), title=f"attempt {a.id} · sample {a.sample}"))
    out.print(
        f"gold [bold]{escape(a.gold)}[/bold] · answer [bold]{escape(a.answer or '-')}[/bold] "
        f"({a.extraction_status}{', ' + a.extraction_method if a.extraction_method else ''}) · {verdict} "
        f"by {a.verifier}{' (' + a.verdict_detail + ')' if a.verdict_detail else ''}\n"
        f"{a.prompt_tokens} prompt + {a.completion_tokens} completion tokens, finish {a.finish_reason}, "
        f"log-prob {a.logprob if a.logprob is not None else '-'}"
    )
    if d is not None:
        where = f"step {d.location.step + 1}" if d.location.step is not None else "no step flagged"
        out.print(f"diagnosis ({d.location.method}, confidence {d.location.confidence:.2f}): "
                  f"[bold]{', '.join(d.error_types)}[/bold]; first wrong: {where}"
                  f"{' — ' + escape(d.location.detail) if d.location.detail else ''}")


def _diagnosis_json(d) -> dict | None:
    if d is None:
        return None
    return {"method": d.location.method, "first_wrong_step": d.location.step, "confidence": d.location.confidence,
            "detail": d.location.detail, "error_types": list(d.error_types),
            "steps": [{"text": s.text, "start": s.start, "end": s.end} for s in d.steps]}


def _marked_response(text: str, d) -> str:
    """The response, escaped, with the first wrong step in red when one is known."""
    if not text:
        return "[dim](empty)[/dim]"
    if d is None or d.location.step is None or d.location.step >= len(d.steps):
        return escape(text)
    s = d.steps[d.location.step]
    return f"{escape(text[:s.start])}[bold red]{escape(text[s.start:s.end])}[/bold red]{escape(text[s.end:])}"


@command("compare")
def compare_command(
    run_a: str = typer.Argument(..., help="Baseline run."),
    run_b: str = typer.Argument(..., help="Run to compare against the baseline."),
    db: Optional[str] = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Accuracy of two runs on their common tasks, with a paired bootstrap 95% interval."""
    store = open_store(db)
    a, b = store.get_run(run_a), store.get_run(run_b)
    if a.suite_id != b.suite_id:
        raise CliError(f"runs {a.name!r} and {b.name!r} are on different suites ({a.suite_id} vs {b.suite_id})")
    c = compare_runs(store.attempts(a.id), store.attempts(b.id))
    if c.tasks == 0:
        raise CliError(f"runs {a.name!r} and {b.name!r} have no task in common")
    if as_json:
        emit_json({"run_a": a.name, "run_b": b.name, **asdict(c), "ci95": list(c.ci95)})
        return
    out.print(f"on {c.tasks} common tasks: {a.name} {fmt_pct(c.accuracy_a)} → {b.name} {fmt_pct(c.accuracy_b)}")
    out.print(f"delta {points(c.delta)} points, 95% CI {ci_points(c.ci95)} (paired bootstrap)")
    out.print(f"mistakes: [green]{c.fixed} fixed[/green], [red]{c.new} new[/red], {c.persistent} persistent")


@command("export")
def export_command(
    run: str = typer.Argument(...),
    fmt: str = typer.Option("parquet", "--format", "-f", help="parquet or jsonl."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Default: <run>.<format>"),
    db: Optional[str] = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Export a run's attempts, one row each, with their tasks."""
    if fmt not in ("parquet", "jsonl"):
        raise CliError(f"--format {fmt!r}: use parquet or jsonl")
    store = open_store(db)
    path, n = export_run(store, run, fmt, output or f"{store.get_run(run).name}.{fmt}")
    if as_json:
        emit_json({"path": str(path), "rows": n, "format": fmt})
    else:
        out.print(f"wrote {n} attempts to {path}")
