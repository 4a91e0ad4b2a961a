"""The logs, made once per session (tests/import_logs.py), and the CLI on a temporary mistake log."""

import pytest
from import_logs import InspectLogs, LmEvalLogs, make_inspect_logs, make_lm_eval_logs
from typer.testing import CliRunner

from lessons.cli import app


@pytest.fixture(scope="session")
def lm_eval_logs(tmp_path_factory) -> LmEvalLogs:
    return make_lm_eval_logs(tmp_path_factory.mktemp("lm-eval"))


@pytest.fixture(scope="session")
def inspect_logs(tmp_path_factory) -> InspectLogs:
    return make_inspect_logs(tmp_path_factory.mktemp("inspect"))


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """`lessons` through CliRunner against a fresh temporary log; `ok` asserts the exit status."""
    monkeypatch.setenv("LESSONS_DB", str(tmp_path / "log.db"))
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()

    def invoke(*args, ok=True):
        result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
        assert (result.exit_code == 0) == ok, result.output
        return result

    return invoke
