"""Logs lessons can't use — corrupt, of another program, from a newer lessons, read-only —
are refused with one line that starts with the path, and their bytes stay as they were."""

import hashlib
import os
import random
import sqlite3
import stat

import pytest
from fakes import ListSuite, ScriptedBackend, solve, sum_tasks
from typer.testing import CliRunner

from lessons.cli import app
from lessons.prompts import templates
from lessons.runner import EvalConfig, evaluate
from lessons.store import MIGRATIONS, Store, StoreError


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_log(path, tasks=30):
    store = Store.open(path)
    evaluate(store, ScriptedBackend(solve), ListSuite(sum_tasks(tasks)), EvalConfig(run_name="r", batch_size=4))
    store.close()  # the last connection checkpoints: everything is in the file itself
    assert not (path.parent / (path.name + "-wal")).exists()
    return path


def lessons(db, *args):
    return CliRunner().invoke(app, [*map(str, args), "--db", str(db)], env={"LESSONS_DEBUG": None})


@pytest.fixture(autouse=True)
def scripted(register_model):
    register_model("m", lambda name, options: ScriptedBackend(solve, name=name))


def refused(path, expected):
    """Store.open and a `lessons runs` both refuse `path` with `expected`; nothing changes."""
    before = digest(path)
    with pytest.raises(StoreError) as e:
        Store.open(path)
    assert str(e.value) == expected
    result = lessons(path, "runs")
    assert result.exit_code == 1 and result.output.strip().splitlines() == [f"error: {expected}"]
    assert digest(path) == before


# -- corrupt and foreign files ------------------------------------------------------------


def random_bytes(path):
    path.write_bytes(random.Random(0).randbytes(64 * 1024))


def truncated(path):
    make_log(path, tasks=200)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def header_only(path):
    make_log(path)
    path.write_bytes(path.read_bytes()[:100])


def another_programs_database(path):
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    con.execute("INSERT INTO notes (text) VALUES ('mine')")
    con.commit()
    con.close()


@pytest.mark.parametrize("make, why", [
    (random_bytes, "file is not a database"),
    (truncated, "database disk image is malformed"),
    (header_only, "database disk image is malformed"),
    (another_programs_database, "an SQLite database without a migrations table"),
])
def test_a_file_that_is_not_a_lessons_log_is_refused_untouched(tmp_path, make, why):
    path = tmp_path / "log.db"
    make(path)
    refused(path, f"{path}: not a lessons mistake log ({why})")


def test_a_log_from_a_newer_lessons_is_refused_untouched(tmp_path):
    path = make_log(tmp_path / "log.db")
    future = f"m{len(MIGRATIONS) + 1:03d}_from_the_future"
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("INSERT INTO migrations VALUES (?, 'later')", (future,))
    con.close()
    refused(path, f"{path}: written by a newer lessons (unknown migration {future}); upgrade lessons")


# -- read-only logs -----------------------------------------------------------------------


@pytest.fixture
def read_only(tmp_path):
    """Make a file or folder read-only (mode 0444 / 0555) for the test; restored after."""
    made = []

    def make(path):
        made.append((path, stat.S_IMODE(path.stat().st_mode)))
        path.chmod(0o555 if path.is_dir() else 0o444)
        return path

    yield make
    for path, mode in reversed(made):
        path.chmod(mode)


def write_something(store):
    store.save_template(templates.get("step-by-step"))


@pytest.mark.parametrize("what", ["file", "directory"])
def test_a_read_only_log_is_read_and_every_write_refused(tmp_path, read_only, what):
    folder = tmp_path / "logs"
    folder.mkdir()
    path = make_log(folder / "log.db")
    read_only(path if what == "file" else folder)
    before, files = digest(path), sorted(os.listdir(folder))
    store = Store.open(path)
    run = store.get_run("r")
    assert len(store.attempts(run.id)) == 30 and [r.name for r in store.runs()] == ["r"]
    with pytest.raises(StoreError) as e:
        write_something(store)
    why = "file mode 0444" if what == "file" else f"directory {folder} is read-only"
    assert str(e.value) == f"{path}: read-only, cannot write ({why})"
    store.close()
    assert lessons(path, "runs", "--json").exit_code == 0  # reading commands still work
    result = lessons(path, "eval", "--model", "m", "--suite", "arith", "--limit", "1")
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == f"error: {path}: read-only, cannot write ({why})"
    assert digest(path) == before and sorted(os.listdir(folder)) == files  # not even a -wal or -shm


def test_a_read_only_log_that_needs_migrating_is_refused_untouched(tmp_path, read_only):
    path = tmp_path / "old.db"
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    first, fn = MIGRATIONS[0]
    fn(con)
    con.execute("INSERT INTO migrations VALUES (?, 'then')", (first,))
    con.close()
    read_only(path)
    pending = ", ".join(name for name, _ in MIGRATIONS[1:])
    refused(path, f"{path}: read-only, cannot write the migrations it needs ({pending}; file mode 0444)")


def test_no_new_log_in_a_read_only_directory(tmp_path, read_only):
    folder = read_only(tmp_path)
    path = folder / "new.db"
    with pytest.raises(StoreError) as e:
        Store.open(path)
    assert str(e.value) == f"{path}: read-only, cannot create a mistake log there (directory {folder} is read-only)"
    assert not path.exists()
