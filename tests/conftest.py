"""Fixtures every test folder shares: the CLI runner, and scripted parts registered by name
for one test (as simonw/llm's tests register their mock model), so that the CLI and the
library make them through `lessons.deps.Deps` like any real model or embedder.

Test modules import `fakes` (tests/fakes.py) as a top-level module: pyproject's
`pythonpath = ["tests"]`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest
from fakes import WordHashEmbedder
from typer.testing import CliRunner, Result

from lessons.diagnose.taxonomy import embedders
from lessons.models import models

TEST_EMBEDDER = "word-hash"
# The shared benchmark files live beside the project, never inside it (../shared/data/README.md).
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """../shared/data (GSM8K, SVAMP, ProcessBench, ReaLMistake); the test skips where it is absent,
    as it is on a user's machine."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared benchmark data not found at {SHARED_DATA} (only present on the dev machine)")
    return SHARED_DATA


@pytest.fixture
def run_cli(monkeypatch) -> Callable[..., Result]:
    """`run_cli(*args, ok=True)`: run `lessons ARGS` in-process (arguments made text);
    ok=True asserts exit code 0, ok=False a failure, ok=None checks nothing. Tables print one
    line a row, whatever the terminal; LESSONS_DEBUG would turn one-line errors into tracebacks."""
    from lessons.cli import app

    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("LESSONS_DEBUG", raising=False)
    runner = CliRunner()

    def invoke(*args: Any, ok: bool | None = True) -> Result:
        result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
        if ok is not None:
            assert (result.exit_code == 0) == ok, result.output
        return result

    return invoke


@pytest.fixture
def register_model() -> Callable[[str, Callable[..., Any]], None]:
    """`register_model(name, factory)`: `--model name` (a teacher, a critic) resolves to
    `factory(name, options)` for this test only; `options` is the `ModelOptions` given."""
    added: list[str] = []

    def register(name: str, factory: Callable[..., Any]) -> None:
        assert name not in models, f"model {name!r} is registered already"
        models.register(name, factory)
        added.append(name)

    yield register
    for name in added:
        models.unregister(name)


@pytest.fixture
def fake_embedder(monkeypatch) -> str:
    """The word-hash fake stands in for MiniLM: registered as "word-hash" for this test and
    chosen for the CLI through $LESSONS_EMBEDDER. Returns the name (for `Deps(embedder=...)`)."""
    embedders.register(TEST_EMBEDDER, WordHashEmbedder)
    monkeypatch.setenv("LESSONS_EMBEDDER", TEST_EMBEDDER)
    yield TEST_EMBEDDER
    embedders.unregister(TEST_EMBEDDER)
