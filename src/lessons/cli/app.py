"""The Typer app, shared options and rendering helpers. Commands live in sibling modules."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import sys
from contextlib import contextmanager
from typing import Any, Iterator

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from lessons.cli.errors import OneLineErrorsGroup, print_error, print_line
from lessons.deps import DEFAULT_EMBEDDER
from lessons.formatting import pct
from lessons.store import DEFAULT_DB, Store

app = typer.Typer(
    name="lessons",
    help="Make a language model learn from its own mistakes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=OneLineErrorsGroup,  # usage errors print as one line too, not in Rich's box
)


def _console(**options: Any) -> Console:
    """A Console that measures the terminal (and $COLUMNS) each time it prints. Rich reads $COLUMNS once,
    when the Console is made, here at import: a COLUMNS set later (a test's) would go unheard."""
    console = Console(**options)
    console.width = None  # type: ignore[assignment]  # no fixed width: measure at each print
    return console


out = _console()  # results
err = _console(stderr=True)  # progress and messages, so `--json` stdout stays clean

DbOption = typer.Option(
    None, "--db", envvar="LESSONS_DB", help=f"Mistake log (SQLite). Default: ./{DEFAULT_DB}", show_default=False
)
JsonOption = typer.Option(False, "--json", help="Print one JSON object instead of tables.")
RayOption = typer.Option(
    None, "--ray", show_default=False,
    help="Spread openai:<model> requests over --endpoint URLs with Ray: a cluster address, or `local` to start one.")
EndpointOption = typer.Option(
    [], "--endpoint", help="OpenAI-compatible endpoint serving the model (repeatable; with --ray).")
EmbedderOption = typer.Option(  # $LESSONS_EMBEDDER also lets a test pick its registered fake
    DEFAULT_EMBEDDER, "--embedder", envvar="LESSONS_EMBEDDER",
    help="Embedder of mistake descriptions (taxonomy, prompt lessons): minilm, or one a plugin adds.")


class CliError(Exception):
    """An error for the user: printed as one line, `error: WHERE: WHAT`, exit code 1."""


def _user_errors() -> tuple[type[BaseException], ...]:
    from lessons.models.base import BackendError
    from lessons.models.embedded import PackagedModelMissing
    from lessons.registry import UnknownName
    from lessons.store import StoreError

    # ValueError covers bad task files (TaskFileError) and bad option values from the library
    return (CliError, UnknownName, StoreError, BackendError, PackagedModelMissing, ValueError, FileNotFoundError)


def command(name: str | None = None, group: typer.Typer | None = None, **kwargs: Any):
    """`app.command` (or `group.command`) whose user errors print as one line (red in a terminal) with exit
    code 1 instead of a traceback (set LESSONS_DEBUG=1 for the traceback). Other exceptions are bugs: they
    keep their traceback."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kw):
            try:
                return fn(*args, **kw)
            except _user_errors() as e:
                if os.environ.get("LESSONS_DEBUG"):
                    raise
                print_error(str(e))
                raise typer.Exit(1) from None
            except KeyboardInterrupt:
                print_line(INTERRUPTED)
                raise typer.Exit(130) from None

        return (group or app).command(name, **kwargs)(wrapper)

    return decorate


INTERRUPTED = "interrupted: finished batches are in the log; run the same command again to resume"


def warn(message: str) -> None:
    """A warning on stderr, one line however narrow the terminal (yellow in a terminal)."""
    print_line(f"warning: {message}", style="yellow")


@contextmanager
def working(message: str) -> Iterator[None]:
    """A spinner on stderr while a slow step runs (loading a model). It shows in a terminal only and is
    gone when the step ends, so an error from the step stands alone as the one line on stderr."""
    with err.status(escape(message)):
        yield


@contextmanager
def bar_on_stderr(*columns: Any, quiet: bool = False) -> Iterator[Progress]:
    """A Progress on stderr. A bar that fails before anything is done leaves no trace: it would only be
    an empty bar above the one-line error. Once work is done, the bar stays (what it reached is news)."""
    bar = Progress(*columns, console=err, disable=quiet, transient=False)
    bar.start()
    try:
        yield bar
    except BaseException:
        if any(t.completed for t in bar.tasks):
            bar.stop()
        else:
            bar.live.transient = True
            bar.live.stop()  # not bar.stop(): off a terminal, that prints an empty line as well
        raise
    bar.stop()


def open_store(db: str | None) -> Store:
    return Store.open(db or os.environ.get("LESSONS_DB") or DEFAULT_DB)


def emit_json(obj: Any) -> None:
    def default(o):
        if dataclasses.is_dataclass(o):
            return dataclasses.asdict(o)
        return str(o)

    sys.stdout.write(json.dumps(obj, indent=2, ensure_ascii=False, default=default) + "\n")


@contextmanager
def progress_bar(description: str, total: int, quiet: bool = False) -> Iterator[Any]:
    """A bar with tasks/s and tokens/s; yields `update(done, total, done_now, tokens, elapsed)`
    where `done_now` and `tokens` count only this invocation's work (rates stay honest on resume)."""
    columns = [
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TimeRemainingColumn(),
    ]
    with bar_on_stderr(*columns, quiet=quiet) as bar:
        handle = bar.add_task(description, total=total, rate="")

        def update(done: int, total: int, done_now: int = 0, tokens: int = 0, elapsed: float = 0.0) -> None:
            rate = ""
            if elapsed > 0:
                rate = f"{done_now / elapsed:.2f} tasks/s"
                if tokens:
                    rate += f"  {tokens / elapsed:.0f} tok/s"
            bar.update(handle, completed=done, total=total, rate=rate)

        yield update


def fmt_pct(x: float | None) -> str:
    """A fraction as a percentage in a terminal table, where a missing one reads "-"."""
    return pct(x, missing="-")
