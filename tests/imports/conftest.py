"""The logs, made once per session (tests/import_logs.py), and the CLI on a temporary mistake log."""

import pytest
from import_logs import InspectLogs, LmEvalLogs, make_inspect_logs, make_lm_eval_logs


@pytest.fixture(scope="session")
def lm_eval_logs(tmp_path_factory) -> LmEvalLogs:
    return make_lm_eval_logs(tmp_path_factory.mktemp("lm-eval"))


@pytest.fixture(scope="session")
def inspect_logs(tmp_path_factory) -> InspectLogs:
    return make_inspect_logs(tmp_path_factory.mktemp("inspect"))


@pytest.fixture
def cli(tmp_path, monkeypatch, run_cli):
    """The shared CLI runner (tests/conftest.py) against a fresh temporary log."""
    monkeypatch.setenv("LESSONS_DB", str(tmp_path / "log.db"))
    return run_cli
