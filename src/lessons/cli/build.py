"""`lessons build KIND --run RUN --out DIR`: turn a run's mistakes into a lesson set."""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

import typer
from rich.markup import escape
from rich.table import Table

from lessons.builders import BuildSummary, build, make_builder
from lessons.cli.app import (
    CliError, DbOption, EmbedderOption, JsonOption, command, emit_json, open_store, out, warn, working,
)
from lessons.deps import Deps
from lessons.models import ModelOptions

EMPTY_HINTS = {  # why a builder may produce nothing, and what to do
    "pairs": "pairs need tasks with both a correct and a wrong sample: evaluate with --samples 4, "
             "or pass -x gold_fallback=true",
    "rejection": "no correct sample on a train task",
    "injected": "no correct solution with an arithmetic statement to change",
    "correction": "no mistake with a located first wrong step or a correct solution to splice",
    "stepwise": "no mistake with a located first wrong step",
    "practice": "no weak slice with a failed train task whose solution can be recomputed",
    "prompt": "no diagnosed mistakes on train tasks",
    "feedback": "no failed program whose fix passes every test: name a model with -x teacher=MODEL "
                "(the run's own for its own fixes), or pass -x reference=true",
    "rl": "no train task solved sometimes but not always: evaluate with --samples 8, or pass -x hints=true",
}


def _options(items: list[str]) -> dict[str, str]:
    """`-o per_task=2 -o kinds=splice,fix` -> {"per_task": "2", "kinds": "splice,fix"}."""
    options = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise CliError(f"--option {item!r}: expected KEY=VALUE (see `lessons build KIND --show-options`)")
        options[key.strip().replace("-", "_")] = value.strip()
    return options


@command("build")
def build_command(
    kind: str = typer.Argument(..., help="Lesson kind: prompt, correction, rejection, pairs, injected, practice, "
                                         "stepwise, rl, feedback (or one a plugin adds)."),
    run: Optional[str] = typer.Option(None, "--run", "-r", help="Run name or id whose mistakes to use."),
    out_dir: Optional[str] = typer.Option(None, "--out", "-o", help="Folder to write the lesson set to."),
    limit: Optional[int] = typer.Option(None, "--limit", "-n", min=0, help="Write at most N rows (the first ones)."),
    option: list[str] = typer.Option([], "--option", "-x", help="Builder option KEY=VALUE (repeatable)."),
    method: Optional[str] = typer.Option(None, "--method", help="Use diagnoses of this locator (default: latest)."),
    show_options: bool = typer.Option(False, "--show-options", help="List the builder's options and exit."),
    base_url: Optional[str] = typer.Option(None, "--base-url", envvar="OPENAI_BASE_URL",
                                           help="Endpoint for -x teacher=openai:<model>."),
    api_key: Optional[str] = typer.Option(None, "--api-key", envvar="OPENAI_API_KEY", show_default=False),
    embedder: str = EmbedderOption,
    db: Optional[str] = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Build lessons of KIND from a run's train-split mistakes, in TRL's dataset formats."""
    builder = make_builder(kind)  # an unknown kind fails here, listing the known ones
    if show_options:
        _render_options(builder, as_json)
        return
    if run is None or out_dir is None:
        raise CliError("--run RUN and --out DIR are required")
    options = _options(option)
    deps = Deps(embedder=embedder, model_options=ModelOptions(base_url=base_url, api_key=api_key))
    store = open_store(db)
    # one spinner: a teacher model, when the options name one, loads inside the build
    with working(f"building {kind} lessons from run {run} ..."):
        summary = build(store, run, kind, out_dir, options, deps, limit, method)
    _render(summary, as_json)


def _render(s: BuildSummary, as_json: bool) -> None:
    r = s.report
    payload: dict[str, Any] = {
        "records": r.records, "format": s.format, "path": r.path, "builder": s.builder, "run": s.run_name,
        "run_id": s.run_id, "built": r.built, "dropped": r.dropped, "excluded_heldout_attempts": s.excluded_attempts,
        "content_hash": r.content_hash, "train_method": s.train_method, "rejected": s.rejected,
    }
    if as_json:
        emit_json(payload)
        return
    table = Table(show_header=False, title=f"{s.builder} lessons from {escape(s.run_name)}")
    for key in ("records", "format", "path", "built"):
        table.add_row(key, escape(str(payload[key])))
    table.add_row("dropped", ", ".join(f"{k} {v}" for k, v in r.dropped.items()))
    table.add_row("held-out attempts left out", str(s.excluded_attempts))
    if s.rejected:
        table.add_row("candidates rejected", ", ".join(f"{k} {v}" for k, v in sorted(s.rejected.items())))
    out.print(table)
    if r.records == 0:
        warn(f"no lessons: {EMPTY_HINTS.get(s.builder, 'nothing to build from')}")
    elif s.train_method in ("sft", "dpo", "grpo"):
        out.print(f"next: [bold]lessons train --data {escape(r.path)} --method {s.train_method}[/bold]")


def _render_options(builder: Any, as_json: bool) -> None:
    cls = getattr(builder, "config_class", None)
    defaults = cls() if cls is not None else None
    rows = [{"option": f.name, "default": getattr(defaults, f.name), "type": str(f.type)}
            for f in (dataclasses.fields(defaults) if defaults is not None else ())]
    if as_json:
        emit_json({"builder": builder.name, "format": builder.format, "options": rows})
        return
    table = Table("option", "default", "type", title=f"{builder.name} ({builder.format}) options: -x KEY=VALUE")
    for row in rows:
        table.add_row(row["option"], escape(str(row["default"])), escape(row["type"]))
    out.print(table)


__all__ = ["build_command"]
