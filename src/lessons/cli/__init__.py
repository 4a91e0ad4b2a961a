"""Command-line interface (Typer + Rich). Nothing in the library imports this package."""

from __future__ import annotations

from lessons.cli.app import app
from lessons.cli import evaluate as _evaluate, log as _log, diagnose as _diagnose, build as _build, train as _train, loop as _loop, imports as _imports  # noqa: F401,I001  (registers the commands, in help order)


def main() -> None:
    app()


__all__ = ["app", "main"]
