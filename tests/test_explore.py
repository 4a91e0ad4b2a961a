"""Budgeted error search: new tasks near a run's mistakes find more errors than random
tasks at the same budget, with scripted models (a model weak at one skill)."""

import json

import pytest
from loop_fakes import WEAK, World

from lessons.explore import explore
from lessons.runner import EvalConfig, evaluate
from lessons.store import Store
from lessons.tasks import load_suite


@pytest.fixture
def searched(tmp_path):
    world = World(tmp_path)
    store = Store.open(str(tmp_path / "lessons.db"))
    backend = world.backend("base-model", store, None)
    run = evaluate(store, backend, load_suite("arith"), EvalConfig(limit=96, split="train", run_name="r"))
    return world, store, backend, run.summary.run_name


def test_tasks_near_the_mistakes_find_more_errors_than_random_tasks(searched):
    world, store, backend, run = searched
    found = explore(store, run, 30, backend)
    assert found.near.tasks == found.random.tasks == 30
    assert any(WEAK in s for s in found.slices)
    assert found.near.per_100 > found.random.per_100 and found.ci95[0] > 0
    assert found.difference == pytest.approx(found.near.per_100 - found.random.per_100)
    answered = set(store.get_run(run).task_ids)
    random_run = store.get_run(found.random.run)
    assert not set(random_run.task_ids) & answered  # new tasks, never the run's own
    calls = len(backend.calls)
    again = explore(store, run, 30, backend)  # both searches are runs of the log: resumed, nothing asked again
    assert again == found and len(backend.calls) == calls


def test_explore_from_the_cli(searched, run_cli, register_model, tmp_path):
    world, store, backend, run = searched
    register_model("base-model", lambda name, options: world.backend(name, store, None))
    shown = json.loads(run_cli("explore", run, "--budget", 12, "--db", tmp_path / "lessons.db", "--json").stdout)
    assert shown["near"]["tasks"] == shown["random"]["tasks"] == 12 and shown["run"] == run
    refused = run_cli("explore", run, "--budget", 0, "--db", tmp_path / "lessons.db", ok=False)
    assert "budget" in refused.output
