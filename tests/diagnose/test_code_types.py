"""Error types of code mistakes, derived from the recorded run, and `lessons diagnose` on a
code run giving them."""

import json

import pytest
from fakes import ScriptedBackend

from lessons.diagnose.code_types import classify_code_mistake
from lessons.runner import EvalConfig, evaluate
from lessons.sandbox import Execution, TestOutcome
from lessons.store import Store
from lessons.tasks import Task
from fakes import ListSuite


def run(status, exception=None, passed=0, total=3):
    tests = tuple(TestOutcome(f"t{i}", "passed" if i < passed else "failed") for i in range(total))
    return Execution(status, tests, None, exception, None, "", "", "", False, False, 0.1, 0.1, "rlimits")


@pytest.mark.parametrize("execution, status, expected", [
    (None, "malformed", ("syntax",)),
    (None, "missing", ("format",)),
    (run("failed", "AssertionError"), "ok", ("wrong_output",)),
    (run("failed", "AssertionError", passed=2), "ok", ("wrong_output", "partial_pass")),
    (run("error", "NameError"), "ok", ("name_attribute",)),
    (run("error", "AttributeError", passed=1), "ok", ("name_attribute", "partial_pass")),
    (run("error", "TypeError"), "ok", ("type",)),
    (run("error", "KeyError"), "ok", ("index_key",)),
    (run("error", "IndexError"), "ok", ("index_key",)),
    (run("error", "ZeroDivisionError"), "ok", ("exception",)),
    (run("timeout"), "ok", ("timeout",)),
    (run("memory"), "ok", ("resource_limit",)),
    (run("output_limit"), "ok", ("resource_limit",)),
    (run("process_limit"), "ok", ("resource_limit",)),
])
def test_types_come_from_the_recorded_run(execution, status, expected):
    assert classify_code_mistake(execution, status, "stop", no_attempt=False) == expected


def test_a_cut_off_response_and_a_refusal():
    assert classify_code_mistake(None, "truncated", "length", False) == ("truncated",)
    assert classify_code_mistake(None, "missing", "stop", True) == ("no_attempt",)


PROGRAMS = {  # entry point -> a wrong program, one per error type
    "f0": "def f0(x):\n    return x + 2\n",          # wrong output on every test
    "f1": "def f1(x):\n    return x if x < 2 else 0\n",  # right on small inputs only
    "f2": "def f2(x):\n    return undefined_name\n",
    "f3": "def f3(x):\n    return [][x]\n",
    "f4": "def f4(x)\n    return x\n",
}


def coder(chat, sample):
    name = chat[-1]["content"].split("(")[0].split()[-1]
    return f"```python\n{PROGRAMS[name]}```"


@pytest.fixture
def code_run(tmp_path, monkeypatch):
    """The log (LESSONS_DB) with run "c": five code tasks, each answered by its wrong program."""
    tasks = [Task(f"c{i}", f"def f{i}(x):", f"def f{i}(x):\n    return x\n",
                  metadata={"entry_point": f"f{i}", "skill": "s",
                            "tests": [{"name": f"x={x}", "source": f"assert f{i}({x}) == {x}"} for x in range(4)]})
             for i in range(5)]
    db = tmp_path / "log.db"
    store = Store.open(db)
    evaluate(store, ScriptedBackend(coder), ListSuite(tasks), EvalConfig(verifier="tests", template="code", run_name="c"))
    store.close()
    monkeypatch.setenv("LESSONS_DB", str(db))
    return db


def test_diagnose_on_a_code_run_gives_code_types(code_run, run_cli, fake_embedder):
    db = code_run
    payload = json.loads(run_cli("diagnose", "c", "--json").stdout)
    assert payload["mistakes"] == 5
    types = {d.attempt_id: d.error_types for d in Store.open(db).diagnoses(Store.open(db).get_run("c").id)}
    assert sorted(types.values()) == sorted([("wrong_output",), ("wrong_output", "partial_pass"),
                                             ("name_attribute",), ("index_key",), ("syntax",)])


def test_diagnose_with_trace_locates_each_traceable_code_mistake_at_its_wrong_line(code_run, run_cli, fake_embedder):
    db = code_run
    payload = json.loads(run_cli("diagnose", "c", "--method", "trace", "--json").stdout)
    assert payload["mistakes"] == 5
    store = Store.open(db)
    found = {store.attempt(d.attempt_id).task_id: d.location for d in store.diagnoses(store.get_run("c").id)}
    assert {t: (loc.method, loc.evidence) for t, loc in found.items()} == {
        "c0": ("trace", "reference_trace"), "c1": ("trace", "reference_trace"),
        "c2": ("trace", "reference_trace"), "c3": ("trace", "reference_trace"), "c4": ("trace", "no_program")}
    assert found["c0"].detail.startswith("line 2 `return x + 2` returns 2")  # f0(0): the reference returns 0
    assert found["c1"].detail.startswith("line 2 `return x if x < 2 else 0` returns 0")  # f1(2)
    assert "raises NameError" in found["c2"].detail and "raises IndexError" in found["c3"].detail
    assert found["c0"].step is not None  # the response's step that holds the line
