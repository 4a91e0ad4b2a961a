"""One slice: the practice builder practises the slices `lessons slices` reports, and a
slice's stored labels read back to the same slice."""

from __future__ import annotations

import dataclasses
import json
import zlib

import pytest
from fakes import ScriptedBackend

from lessons.builders import load_source
from lessons.builders.practice import weak_slices
from lessons.diagnose.slices import MISSING, Predicate, Range, SliceSpec, slice_features
from lessons.runner import EvalConfig, evaluate
from lessons.store import Store
from lessons.tasks import load_suite

SUITE = load_suite("arith")
N_TASKS = 400
BY_PROMPT = {t.prompt: t for t in SUITE.tasks(2 * N_TASKS)}


def planted_wrong(task) -> bool:
    """Fractions at difficulty 3 fail 3 times in 4, everything else 1 in 10 (by a hash of
    the prompt, so the run is the same every time)."""
    roll = zlib.crc32(task.prompt.encode()) % 100
    return roll < (75 if (task.skill, task.metadata.get("difficulty")) == ("fractions", 3) else 10)


def weak_at_fractions_3(chat, sample):
    task = BY_PROMPT[chat[-1]["content"]]
    return "Answer: -1" if planted_wrong(task) else f"Answer: {task.answer}"


class FlaggedArith:
    """Built-in arith tasks whose metadata also holds an id (`seed_task`) and a flag that
    marks exactly the failed tasks: neither is a feature, so no slice may be made of them
    (a slice "flagged=True" would be all the mistakes and none the builder could match)."""

    info = dataclasses.replace(SUITE.info, fingerprint="flagged-" + SUITE.info.fingerprint)

    def tasks(self, limit=None):
        for task in SUITE.tasks(limit):
            yield dataclasses.replace(task, metadata=task.metadata | {"seed_task": task.id,
                                                                       "flagged": planted_wrong(task)})


@pytest.fixture(scope="module")
def run_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("slices") / "log.db"
    store = Store.open(db)
    evaluate(store, ScriptedBackend(weak_at_fractions_3), FlaggedArith(),
             EvalConfig(limit=N_TASKS, split="train", run_name="weak"))  # train only: practice sees every attempt
    store.close()
    return db


def test_practice_and_lessons_slices_agree_on_the_slices_of_a_run(run_db, run_cli):
    result = run_cli("slices", "weak", "--db", run_db, "--json")
    reported = [s["slice"] for s in json.loads(result.stdout)["slices"]]
    assert reported and reported[0].items() >= {"difficulty": "3", "skill": "fractions"}.items()
    store = Store.open(run_db)
    try:
        practised = weak_slices(load_source(store, "weak"), limit=len(reported))
        stored = [s["predicates"] for s in store.slices(store.get_run("weak").id) if s["view"] == "mistake"]
    finally:
        store.close()
    assert [w.predicates for w in practised] == reported == stored
    assert not any({"flagged", "seed_task"} & set(s) for s in reported)
    assert str(practised[0].spec) == " and ".join(f"{k}={v}" for k, v in sorted(reported[0].items()))


def test_slice_features_leave_out_flags_and_ids():
    metadata = {"skill": "fractions", "difficulty": 3, "ratio": 0.5, "id": "t1", "seed_task": "t0",
                "generated": True, "tags": ["a"]}
    assert slice_features(metadata) == {"skill": "fractions", "difficulty": 3, "ratio": 0.5}
    assert not SliceSpec.from_labels({"generated": "True"}).matches(metadata)  # a flag is no feature


@pytest.mark.parametrize("labels", [
    {"skill": "fractions", "difficulty": "3"},
    {"n_steps": "[2, 4)"},
    {"n_steps": "[7, 9]", "skill": MISSING},
    {"ratio": "[0.333, 0.667)"},
    {"size": "[1.23e+03, 2e+03)"},  # bounds that lose digits stay the text they were stored as
    {},
])
def test_stored_labels_read_back_as_written(labels):
    spec = SliceSpec.from_labels(labels)
    assert spec.labels() == labels
    assert str(spec) == (" and ".join(f"{k}={v}" for k, v in sorted(labels.items())) or "all")


def test_predicates_match_categories_ranges_and_missing_values():
    assert Predicate.parse("n_steps", "[2, 4)") == Predicate("n_steps", range=Range(2, 4))
    assert Predicate.parse("n_steps", "[2, 4]").matches({"n_steps": 4})
    assert not Predicate.parse("n_steps", "[2, 4)").matches({"n_steps": 4})
    assert not Predicate.parse("n_steps", "[2, 4)").matches({"n_steps": "3"})  # text is not in a range
    assert Predicate.parse("skill", MISSING).matches({}) and not Predicate.parse("skill", MISSING).matches(
        {"skill": "fractions"})
    assert Predicate.equal("difficulty", 3.0) == Predicate.parse("difficulty", "3")
    assert Predicate.equal("difficulty", 3.0).matches({"difficulty": 3})
    assert Predicate.equal("skill", None) == Predicate("skill")
