"""Loop stage records: each stage's JSON in the log, as the stages have always written it,
reads as its record and writes back the same; a loop whose stages were logged as the old
dicts resumes and reports."""

from __future__ import annotations

import json

import pytest

from lessons.loop import loop_report_data, run_loop
from lessons.loop.run import Hooks
from lessons.loop.stages import (
    Built, Diagnosed, Evaluated, HeldoutDiagnosed, Judged, Probe, Targeted, Trained, stage_from_json, stage_to_json,
)
from lessons.store import Store

TARGET_SLICE = {"name": "skill=division", "predicates": {"skill": "division"}, "tasks": 9, "attempts": 27,
                "fixable": 12, "error_rate": 0.44, "lower": 0.27, "failed": ["t1", "t2"], "reached": 2,
                "reach_lower": 0.1}
DIAGNOSED = {"run": "base-train", "mistakes": 10, "typed": 10, "located": 8, "by_type": {"calculation": 8},
             "clusters": 2}
# What each stage wrote before its record existed (loop/run.py returned these dicts).
OLD = [
    ("heldout-base", {"run": "base-heldout", "run_id": "r0", "model": "base", "tasks": 64, "accuracy": 0.5,
                      "mistakes": 32, "tokens_per_second": 120.5}, Evaluated),
    ("eval-train", {"run": "base-train", "run_id": "r1", "model": "base", "tasks": 96, "accuracy": 0.25,
                    "mistakes": 72, "tokens_per_second": 99.0}, Evaluated),
    ("diagnose", DIAGNOSED, Diagnosed),
    ("target", {"slices": [TARGET_SLICE], "probe": {"run_name": "p", "run_id": "r2", "tasks": 2, "samples": 4}},
     Targeted),
    ("build", {"rows": 20, "by_builder": {"practice": 20}, "built": {"practice": 25}, "treatment_path": "/l/t",
               "treatment_hash": "h1", "weak_slices": [{"predicates": {"skill": "division"}, "error_rate": 0.5,
                                                          "failed": ["t1"]}],
               "posed": {"practice": 72, "control": 60}, "probed": 8, "control_rows": 20, "control_path": "/l/c",
               "control_hash": "h2", "pairs": 4, "treatment_pairs_path": "/l/tp", "treatment_pairs_hash": "h3",
               "control_pairs_path": "/l/cp", "control_pairs_hash": "h4"}, Built),
    ("train-treatment", {"model": "t-r1-treatment", "path": "/m/t", "steps": 3, "train_loss": 0.7,
                         "tokens_per_second": 50.0, "resumed_from_step": 0}, Trained),
    ("dpo-control", {"model": "t-r1-control-dpo", "path": "/m/c", "steps": 2, "train_loss": None,
                     "tokens_per_second": 0.0, "resumed_from_step": 1}, Trained),
    ("heldout-target", {"runs": {"base": "b", "treatment": "t", "control": "c"}, "tasks": 30}, Judged),
    ("diagnose-heldout", {"runs": {"base-heldout": DIAGNOSED}}, HeldoutDiagnosed),
]


@pytest.mark.parametrize(("stage", "old", "record"), OLD, ids=[s for s, _, _ in OLD])
def test_a_stage_logged_as_the_old_dict_reads_as_its_record_and_writes_back_the_same(stage, old, record):
    read = stage_from_json(stage, old | {"wall_s": 2.5})  # the store adds wall_s beside the output
    assert type(read) is record and read.wall_s == 2.5
    assert json.loads(json.dumps(stage_to_json(stage, read))) == old


def test_old_records_read_field_by_field():
    built = stage_from_json("build", OLD[4][1])
    assert (built.rows_of("control"), built.lessons_path("treatment"), built.probed) == (20, "/l/t", 8)
    assert built.pairs.size == 4 and built.pairs.paths == {"treatment": "/l/tp", "control": "/l/cp"}
    assert [str(w.spec) for w in built.weak_slices] == ["skill=division"] and built.weak_slices[0].failed == ("t1",)
    target = stage_from_json("target", OLD[3][1])
    assert target.probe == Probe("p", "r2", 2, 4) and target.slices[0].name == "skill=division"
    assert stage_from_json("diagnose-heldout", OLD[8][1]).runs["base-heldout"].located == 8


def test_keys_added_later_read_as_defaults_and_unknown_keys_are_left_out():
    built = stage_from_json("build", {"rows": 5, "treatment_path": "/t", "treatment_hash": "h", "note": "x",
                                      "wall_s": 1.0})
    assert (built.posed, built.probed, built.weak_slices, built.pairs, built.control_rows) == ({}, 0, (), None, None)
    assert stage_from_json("target", {"slices": []}) == Targeted()  # a loop without a target


def test_a_stage_that_cannot_be_read_is_a_one_line_error():
    with pytest.raises(ValueError, match="loop stage 'eval-train' in the log cannot be read") as info:
        stage_from_json("eval-train", {"run": "x"})
    assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match="unknown loop stage 'polish'"):
        stage_from_json("polish", {})
    with pytest.raises(TypeError, match="outputs Evaluated, not Trained"):
        stage_to_json("eval-train", stage_from_json("train-control", OLD[5][1]))


def test_a_loop_whose_stages_were_logged_as_old_dicts_resumes_and_reports(world, deps, config):
    store = Store.open(":memory:")
    world.crash_on = "t-r1-treatment"
    with pytest.raises(KeyboardInterrupt):
        run_loop(store, config, deps=deps)
    # Rewrite the finished stages as an older lessons logged them: the build without the keys
    # it gained later, the target without its probe, and keys no record knows.
    logged = store.stages(config.name)
    old_build = {k: v for k, v in logged[(1, "build")].items()
                 if k not in ("posed", "probed", "weak_slices", "by_builder", "built", "wall_s")}
    store.save_stage(config.name, 1, "build", old_build | {"retired": 1}, 4.0)
    store.save_stage(config.name, 1, "target", {"slices": logged[(1, "target")]["slices"]}, 1.0)
    for stage in ("eval-train", "diagnose"):
        old = {k: v for k, v in logged[(1, stage)].items() if k != "wall_s"}
        store.save_stage(config.name, 1, stage, old | {"retired": 1}, 1.0)
    skipped: list[tuple[int, str]] = []
    state = run_loop(store, config, Hooks(skipped=lambda r, s: skipped.append((r, s))), deps)
    assert skipped == [(0, "heldout-base"), (1, "eval-train"), (1, "diagnose"), (1, "target"), (1, "build")]
    built = state.get(1, "build")
    assert built.rows == old_build["rows"] and built.posed == {} and built.wall_s == 4.0
    assert state.get(1, "heldout-treatment").model == "t-r1-treatment"
    data = loop_report_data(store, config.name)
    assert data.rounds[0].rows == old_build["rows"] and data.rounds[0].posed == {}
    assert data.rounds[0].lessons == {} and data.headline.treatment.name == "t-r1-treatment"
