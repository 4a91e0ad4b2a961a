"""Several processes on one mistake log at once: both finish, nothing is lost or doubled,
and `database is locked` never reaches a user. Real processes (tests/store/_workers.py,
tests/store/_scripted_cli.py) started together meet at a rendezvous of marker files
before the overlapping part, so the overlap doesn't depend on timing."""

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from fakes import ScriptedBackend, solve
from typer.testing import CliRunner

from lessons.cli import app
from lessons.prompts import templates
from lessons.runner import EvalConfig, evaluate
from lessons.store import MIGRATIONS, Store, StoreError
from lessons.tasks import load_suite

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
DEADLINE_S = 600  # per group of processes; they normally take seconds


def start(script, *args, db, sync=None):
    env = os.environ | {
        "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
        "OMP_NUM_THREADS": "1", "LESSONS_DB": str(db), "COLUMNS": "200",
        "LESSONS_TEST_SYNC": json.dumps(sync or {}),
    }
    env.pop("LESSONS_DEBUG", None)
    return subprocess.Popen([sys.executable, str(HERE / script), *map(str, args)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(*procs):
    """Wait for every process; each must exit 0. Returns the JSON each printed."""
    outputs = [p.communicate(timeout=DEADLINE_S) for p in procs]
    for p, (stdout, stderr) in zip(procs, outputs):
        assert p.returncode == 0, f"{p.args[2:]} exited {p.returncode}:\n{stderr[-3000:]}"
        assert "locked" not in stderr
    return [json.loads(stdout) for stdout, _ in outputs]


def sync(tmp_path, name, peers, at, group="sync"):
    return {"dir": str(tmp_path / group), "name": name, "peers": peers, "at": at}


def attempt_counts(db):
    con = sqlite3.connect(db)
    rows = con.execute("SELECT r.name, count(a.id), count(DISTINCT a.task_id || '/' || a.sample) FROM runs r "
                       "LEFT JOIN attempts a ON a.run_id = r.id GROUP BY r.name").fetchall()
    con.close()
    return {name: (n, distinct) for name, n, distinct in rows}


def test_two_writers_at_once_both_finish_with_every_attempt_once(tmp_path):
    db = tmp_path / "log.db"
    Store.open(db).close()
    procs = [start("_workers.py", "write", db, run, 150, db=db, sync=sync(tmp_path, run, 2, "writing"))
             for run in ("ra", "rb")]
    results = finish(*procs)
    assert results == [{"attempts": 150, "new": 150}] * 2
    assert attempt_counts(db) == {"ra": (150, 150), "rb": (150, 150)}


@pytest.mark.parametrize("round", range(4))
def test_processes_creating_one_fresh_log_at_once_migrate_it_once(tmp_path, round):
    # they meet before Store.open, so the WAL switch and the migrations themselves race
    db = tmp_path / "fresh.db"
    procs = [start("_workers.py", "write", db, f"r{i}", 12, db=db, sync=sync(tmp_path, f"r{i}", 3, "start"))
             for i in range(3)]
    assert finish(*procs) == [{"attempts": 12, "new": 12}] * 3
    con = sqlite3.connect(db)
    assert [r[0] for r in con.execute("SELECT name FROM migrations ORDER BY name")] == [n for n, _ in MIGRATIONS]
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()
    assert attempt_counts(db) == {f"r{i}": (12, 12) for i in range(3)}


def test_a_reader_while_a_writer_writes_sees_counts_only_grow(tmp_path):
    db = tmp_path / "log.db"
    Store.open(db).close()
    writer = start("_workers.py", "write", db, "w", 200, db=db, sync=sync(tmp_path, "writer", 2, "writing"))
    reader = start("_workers.py", "read", db, "w", 200, db=db, sync=sync(tmp_path, "reader", 2, "open"))
    wrote, read = finish(writer, reader)
    assert wrote == {"attempts": 200, "new": 200} and read["reads"] >= 1
    assert attempt_counts(db) == {"w": (200, 200)}


def eval_args(model, run, limit=40):
    return ["eval", "--model", model, "--run", run, "--suite", "arith", "--limit", limit, "--batch-size", 1, "--json"]


def test_two_lessons_eval_commands_on_one_log(tmp_path):
    db = tmp_path / "log.db"
    procs = [start("_scripted_cli.py", *eval_args(model, f"r{model}"), db=db,
                   sync=sync(tmp_path, model, 2, "write:5")) for model in ("a", "b")]
    results = finish(*procs)
    assert [r["attempts"] for r in results] == [40, 40]
    assert attempt_counts(db) == {"ra": (40, 40), "rb": (40, 40)}


def test_two_lessons_eval_commands_of_one_run_share_it(tmp_path):
    # the same --run (or the same default name: same model, suite and settings) from two
    # shells: both start the run in one transaction each, so both get it; neither doubles it
    db = tmp_path / "log.db"
    procs = [start("_scripted_cli.py", *eval_args("a", "same"), db=db, sync=sync(tmp_path, name, 2, "write:3"))
             for name in ("first", "second")]
    assert [r["attempts"] for r in finish(*procs)] == [40, 40]
    assert attempt_counts(db) == {"same": (40, 40)}


ARITH = {t.prompt: t for t in load_suite("arith").tasks(30)}


def sloppy(chat, sample):
    """Even arith tasks: the gold steps; odd ones: a first step off by one."""
    task = ARITH[chat[-1]["content"]]
    if int(task.id[-2:]) % 2 == 0:
        return "\n".join([f"Step {k + 1}: {s.text}" for k, s in enumerate(task.steps)] + [f"Answer: {task.answer}"])
    expr, _, value = task.steps[0].text.partition(" = ")
    return f"Step 1: {expr} = {int(value.split()[0].split('/')[0]) + 1}\nAnswer: 99999"


def test_lessons_eval_while_lessons_diagnose_runs(tmp_path):
    db = tmp_path / "log.db"
    store = Store.open(db)
    run = evaluate(store, ScriptedBackend(sloppy), load_suite("arith"), EvalConfig(limit=30, run_name="r")).summary
    store.close()
    diagnose = start("_scripted_cli.py", "diagnose", "r", "--method", "arith", "--batch-size", 1, "--json",
                     db=db, sync=sync(tmp_path, "diagnose", 2, "write:2"))
    evaluating = start("_scripted_cli.py", *eval_args("b", "e"), db=db, sync=sync(tmp_path, "eval", 2, "write:5"))
    diagnosed, evaluated = finish(diagnose, evaluating)
    assert diagnosed["mistakes"] == run.mistakes == 15 and evaluated["attempts"] == 40
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(DISTINCT attempt_id) FROM diagnoses").fetchone()[0] == 15
    con.close()
    assert attempt_counts(db) == {"r": (30, 30), "e": (40, 40)}


def test_lessons_runs_while_lessons_eval_writes(tmp_path):
    db = tmp_path / "log.db"
    writer = start("_scripted_cli.py", *eval_args("a", "w"), db=db, sync=sync(tmp_path, "eval", 2, "write:5"))
    reader = start("_scripted_cli.py", "runs", "--json", db=db, sync=sync(tmp_path, "runs", 2, "open"))
    evaluated, listed = finish(writer, reader)
    assert evaluated["attempts"] == 40
    assert [r["run"] for r in listed["runs"]] == ["w"] and 1 <= listed["runs"][0]["attempts"] <= 40


# -- a writer that holds the lock past the busy timeout --------------------------------


@pytest.fixture
def held_lock(tmp_path):
    """A log whose write lock another connection holds (as a stuck process would)."""
    db = tmp_path / "log.db"
    Store.open(db).close()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    yield db
    holder.execute("ROLLBACK")
    holder.close()


def test_a_lock_held_past_the_busy_timeout_is_a_one_line_error_and_reads_go_on(held_lock):
    store = Store.open(held_lock, busy_timeout_s=0.2)  # opening a migrated log takes no lock
    assert store.runs() == []  # reads never wait for a writer
    with pytest.raises(StoreError) as refused:
        store.save_template(templates.get("step-by-step"))
    message = str(refused.value)
    assert message.startswith(f"{held_lock}: busy: another process held") and "\n" not in message
    store.close()


def test_a_write_that_outwaits_one_busy_timeout_tries_again_and_lands(tmp_path, monkeypatch):
    db = tmp_path / "log.db"
    Store.open(db).close()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    store = Store.open(db, busy_timeout_s=2)
    tries, retry = [], store._retry_busy

    def release_on_the_second_try(fn, doing):
        def tried():
            tries.append(doing)
            if len(tries) == 2:
                holder.execute("ROLLBACK")  # the slow writer lets go only after our first wait ran out
            return fn()
        return retry(tried, doing)

    monkeypatch.setattr(store, "_retry_busy", release_on_the_second_try)
    template = templates.get("step-by-step")
    assert store.save_template(template) == template.id
    assert tries == ["write", "write"]
    assert holder.execute("SELECT count(*) FROM prompt_templates").fetchone()[0] == 1
    holder.close()
    store.close()


def test_lessons_eval_against_a_held_lock_prints_one_line(held_lock, monkeypatch, register_model):
    monkeypatch.setattr("lessons.store.db.BUSY_TIMEOUT_S", 0.2)
    register_model("m", lambda name, options: ScriptedBackend(solve, name=name))
    monkeypatch.setenv("LESSONS_DB", str(held_lock))
    monkeypatch.delenv("LESSONS_DEBUG", raising=False)
    result = CliRunner().invoke(app, ["eval", "--model", "m", "--suite", "arith", "--limit", "2"])
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {held_lock}: busy:")
    assert "locked" not in result.output and "Traceback" not in result.output
