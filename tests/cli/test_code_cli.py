"""Code through the CLI: `lessons tasks` on the code suites, and `lessons eval` of the
`code` suite with a scripted backend, its attempts carrying per-test outcomes."""

import json

import pytest
from fakes import ScriptedBackend

from lessons.store import Store
from lessons.tasks import load_suite


@pytest.fixture
def cli(tmp_path, monkeypatch, run_cli):
    monkeypatch.setenv("LESSONS_DB", str(tmp_path / "log.db"))
    return run_cli


TASKS = list(load_suite("code").tasks(12))


def answered_as(index):
    """The task whose prompt the scripted coder recognises: the first with the same prompt."""
    return next(i for i, t in enumerate(TASKS) if t.prompt == TASKS[index].prompt)


def coder(chat, sample):
    """The reference program for even-numbered tasks, a wrong one for odd ones, prose for every 5th."""
    index = answered_as(next(i for i, t in enumerate(TASKS) if t.prompt == chat[-1]["content"]))
    if index % 5 == 4:
        return "I am not sure how to write this."
    task = TASKS[index]
    code = task.answer if index % 2 == 0 else f"def {task.metadata['entry_point']}(*args):\n    return None\n"
    return f"Here it is:\n```python\n{code}```\n"


def test_tasks_reports_164_humaneval_problems(cli):
    out = json.loads(cli("tasks", "humaneval", "--json").stdout)
    assert out["tasks"] == 164 and out["suite"].startswith("humaneval@")


def test_eval_of_the_code_suite_logs_per_test_outcomes(cli, register_model, tmp_path):
    register_model("coder", lambda name, options: ScriptedBackend(coder, name=name))
    out = json.loads(cli("eval", "--json", "--model", "coder", "--suite", "code", "--limit", "12").stdout)
    expected = [answered_as(i) for i in range(12)]
    assert out["attempts"] == 12 and out["by_status"].get("missing") == sum(i % 5 == 4 for i in expected)
    store = Store.open(tmp_path / "log.db")
    run = store.get_run(out["run"])
    assert run.components.verifier.name == "tests" and run.components.template.name == "code"
    rows = {int(a.task_id[-2:]): a for a in store.attempts(run.id)}
    for task, row in rows.items():
        index = expected[task]
        if index % 5 == 4:
            assert row.extraction_status == "missing" and row.execution is None and not row.correct
        elif index % 2 == 0:
            assert row.correct and all(t.status == "passed" for t in row.execution.tests)
        else:
            assert not row.correct and row.execution.first_failure == "case 1"
            assert row.execution.tests[0].exception == "AssertionError" and row.execution.tests[0].status == "failed"
    assert 0 < out["correct"] == sum(1 for i in expected if i % 2 == 0 and i % 5 != 4) < 12
