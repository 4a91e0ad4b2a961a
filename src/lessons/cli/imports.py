"""`lessons import lm-eval DIR` and `lessons import inspect LOG`: evaluations other tools ran, as runs."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from lessons.cli.app import DbOption, JsonOption, app, command, emit_json, fmt_pct, open_store, out
from lessons.cli.evaluate import VerifierOption
from lessons.imports import ImportResult, VerifyConfig, import_inspect, import_lm_eval

import_app = typer.Typer(help="Import evaluations that other tools ran, each as a run in the mistake log.",
                         no_args_is_help=True)
app.add_typer(import_app, name="import")

RunOption = typer.Option(None, "--run", help="Run name. Default: derived from the log, so a re-import finds it.")


@command("lm-eval", group=import_app)
def import_lm_eval_command(
    path: Path = typer.Argument(..., help="lm-eval's output folder (searched for results_*.json), or one such file."),
    task: Optional[str] = typer.Option(None, "--task", help="Only this task of the results."),
    verifier: str = VerifierOption,
    run: Optional[str] = RunOption,
    db: Optional[str] = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Import lm-evaluation-harness samples (results_*.json with samples_<task>_*.jsonl): one run per task."""
    results = import_lm_eval(open_store(db), path, VerifyConfig(verifier=verifier), task=task, run_name=run)
    _render(results, as_json)


@command("inspect", group=import_app)
def import_inspect_command(
    log: Path = typer.Argument(..., help="An Inspect AI log, .eval or .json."),
    verifier: str = VerifierOption,
    run: Optional[str] = RunOption,
    db: Optional[str] = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Import an Inspect AI log (read with inspect_ai, which must be installed) as one run."""
    _render([import_inspect(open_store(db), log, VerifyConfig(verifier=verifier), run_name=run)], as_json)


def _render(results: list[ImportResult], as_json: bool) -> None:
    if as_json:
        emit_json({"runs": [asdict(r) for r in results]})
        return
    table = Table("run", "task", "model", "tasks", "attempts", "new", "accuracy", "tool's score", "agree")
    for r in results:
        table.add_row(escape(r.run_name), escape(r.task), escape(r.model), str(r.tasks), str(r.attempts),
                      str(r.new_attempts), fmt_pct(r.accuracy), fmt_pct(r.source_accuracy), fmt_pct(r.agreement))
    out.print(table)
    for r in results:
        if r.skipped:
            out.print(f"{r.run_name}: {r.skipped} samples without a response (errored in {r.tool}) were skipped")
    out.print(f"next: [bold]lessons diagnose {escape(results[0].run_name)}[/bold]")
