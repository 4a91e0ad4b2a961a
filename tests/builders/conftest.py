"""A run with planted mistakes on built-in tasks, diagnosed, shared by the builder tests.

Every task is answered twice (samples 0 and 1) according to `i % 3` of its index:

    0: both samples give the gold solution (sample 1 in another layout)
    1: sample 0 has a false statement in its first step, sample 1 is correct
    2: sample 0 has a false statement in its last step, sample 1 has no answer at all

Held-out tasks get the same treatment, so any builder that drew on them would show it.
"""

from __future__ import annotations

import shutil

import pytest
from fakes import ScriptedBackend, WordHashEmbedder

from lessons.diagnose.arith_check import ArithLocator
from lessons.diagnose.pipeline import DiagnoseConfig, diagnose_run
from lessons.runner import EvalConfig, evaluate
from lessons.store import Store
from lessons.tasks import load_suite

N_TASKS = 60
SUITE = load_suite("arith")
TASKS = {t.prompt: t for t in SUITE.tasks(N_TASKS)}


def task_index(task_id: str) -> int:
    return int(task_id.rsplit("-", 1)[-1])


def gold_text(task, compact: bool = False) -> str:
    sep = "\n\n" if compact else "\n"
    return sep.join([f"Step {k + 1}: {s.text}" for k, s in enumerate(task.steps)] + [f"Answer: {task.answer}"])


def wrong_at(task, k: int) -> str:
    """Gold steps up to step k, whose result is replaced by a wrong one, then that answer."""
    expr, _, value = task.steps[k].text.partition(" = ")
    bad = value.split()[0] + "1"
    lines = [f"Step {j + 1}: {s.text}" for j, s in enumerate(task.steps[:k])]
    return "\n".join(lines + [f"Step {k + 1}: {expr} = {bad}", f"Answer: {bad}"])


def planted(chat, sample):
    task = TASKS[chat[-1]["content"]]
    kind = task_index(task.id) % 3
    if kind == 0:
        return gold_text(task, compact=sample == 1)
    if kind == 1:
        return wrong_at(task, 0) if sample == 0 else gold_text(task)
    return wrong_at(task, len(task.steps) - 1) if sample == 0 else "I think it is about a dozen."


def make_run(db, name: str = "planted", diagnose: bool = True, samples: int = 2):
    store = Store.open(db)
    result = evaluate(store, ScriptedBackend(planted), SUITE,
                      EvalConfig(limit=N_TASKS, samples=samples, run_name=name))
    record = store.get_run(result.summary.run_id)
    if diagnose:
        diagnose_run(store, record, ArithLocator(), DiagnoseConfig(), WordHashEmbedder())
    return store, record


@pytest.fixture(scope="session")
def planted_db(tmp_path_factory):
    """Path of a log holding the diagnosed run "planted" (read-only for tests: copy to change)."""
    db = tmp_path_factory.mktemp("planted") / "log.db"
    store, _ = make_run(db)
    store.close()
    return db


@pytest.fixture(scope="session")
def run_maker():
    """`make_run(db, name, diagnose, samples)`: add a planted run to a log."""
    return make_run


@pytest.fixture
def planted_cli(tmp_path, monkeypatch, planted_db, run_cli):
    """`run_cli` on a copy of the planted log (LESSONS_DB), which the test may change."""
    for suffix in ("", "-wal", "-shm"):
        if planted_db.with_name(planted_db.name + suffix).exists():
            shutil.copy(planted_db.with_name(planted_db.name + suffix), tmp_path / f"log.db{suffix}")
    monkeypatch.setenv("LESSONS_DB", str(tmp_path / "log.db"))
    return run_cli


@pytest.fixture
def store(planted_db):
    s = Store.open(planted_db)
    yield s
    s.close()


@pytest.fixture(scope="session")
def tasks():
    """The planted run's tasks by id."""
    return {t.id: t for t in TASKS.values()}


@pytest.fixture(scope="session")
def kinds(tasks):
    """kind (0, 1, 2: see the module docstring) -> ids of the train tasks of that kind."""
    out = {0: set(), 1: set(), 2: set()}
    for t in tasks.values():
        if t.split == "train":
            out[task_index(t.id) % 3].add(t.id)
    return out


@pytest.fixture(scope="session")
def heldout_ids(tasks):
    return {t.id for t in tasks.values() if t.split == "heldout"}
