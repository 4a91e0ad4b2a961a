import json
import time
from pathlib import Path

import pytest

from lessons.diagnose.arith_check import ArithLocator
from lessons.diagnose.base import Location
from lessons.diagnose.processbench import (
    ProcessBenchError,
    ProcessBenchItem,
    load_processbench,
    run_processbench,
    score_processbench,
    to_case,
)

# The shared benchmark files live beside the repository (../shared/data), never inside it.


def item(label: int, n_steps: int = 4, id: str = "x") -> ProcessBenchItem:
    steps = tuple(f"step {i}" for i in range(n_steps))
    return ProcessBenchItem(id, "gen", "problem", steps, label, label == -1)


def loc(step: int | None) -> Location:
    return Location(step, "test", 0.5)


def test_scores_on_a_hand_made_list():
    items = [item(1), item(2), item(0), item(3), item(-1), item(-1), item(-1), item(-1)]
    preds = [loc(1), loc(0), loc(None), loc(3), loc(None), loc(None), loc(2), loc(None)]
    s = score_processbench(items, preds)
    assert (s["n"], s["n_error"], s["n_correct"], s["n_flagged"]) == (8, 4, 4, 4)
    assert s["acc_error"] == pytest.approx(2 / 4)  # items 0 and 3
    assert s["acc_correct"] == pytest.approx(3 / 4)
    assert s["f1"] == pytest.approx(2 * 0.5 * 0.75 / 1.25)
    assert s["flag_precision"] == pytest.approx(2 / 4)  # 4 flags, 2 on the labelled step
    assert s["coverage"] == pytest.approx(3 / 4)  # erroneous items with any flag


@pytest.mark.parametrize(
    "labels, preds, expected",
    [
        ([-1, -1], [None, None], {"acc_error": 0.0, "acc_correct": 1.0, "f1": 0.0, "flag_precision": 0.0}),
        ([2, 0], [None, None], {"acc_error": 0.0, "acc_correct": 0.0, "f1": 0.0, "coverage": 0.0}),
        ([2, -1], [2, None], {"acc_error": 1.0, "acc_correct": 1.0, "f1": 1.0, "flag_precision": 1.0, "coverage": 1.0}),
        ([], [], {"n": 0, "f1": 0.0}),
    ],
)
def test_score_edge_cases(labels, preds, expected):
    s = score_processbench([item(x) for x in labels], [loc(p) for p in preds])
    assert {k: s[k] for k in expected} == pytest.approx(expected)


def test_score_needs_one_location_per_item():
    with pytest.raises(ValueError, match="2 items but 1 locations"):
        score_processbench([item(0), item(1)], [loc(None)])


def write(tmp_path: Path, data) -> Path:
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


GOOD = {"id": "g-0", "generator": "m", "problem": "p", "steps": ["a", "b"], "label": 1, "final_answer_correct": False}


def test_load(tmp_path):
    (it,) = load_processbench(write(tmp_path, [GOOD]))
    assert it == ProcessBenchItem("g-0", "m", "p", ("a", "b"), 1, False)
    case = to_case(it)
    assert case.answer is None and case.key == "g-0" and [s.text for s in case.steps] == ["a", "b"]


@pytest.mark.parametrize(
    "bad, message",
    [
        ({k: v for k, v in GOOD.items() if k != "steps"}, "item 1: missing field"),
        ({**GOOD, "label": 2}, "item 1: 'label' must be -1 or a step index below 2"),
        ({**GOOD, "label": -2}, "item 1: 'label'"),
        ({**GOOD, "label": "1"}, "item 1: 'label'"),
        ({**GOOD, "label": True}, "item 1: 'label'"),
        ({**GOOD, "steps": "a b"}, "item 1: 'steps' must be a list of strings"),
        ({**GOOD, "steps": ["a", 2]}, "item 1: 'steps' must be a list of strings"),
        ("just text", "item 1: expected an object"),
    ],
)
def test_malformed_item_names_file_and_index(tmp_path, bad, message):
    path = write(tmp_path, [GOOD, bad])
    with pytest.raises(ProcessBenchError, match=message) as err:
        load_processbench(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("content", ["{not json", json.dumps({"id": 1})])
def test_malformed_file(tmp_path, content):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ProcessBenchError, match="bad.json"):
        load_processbench(path)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ProcessBenchError, match="nope.json"):
        load_processbench(tmp_path / "nope.json")


class RecordingLocator:
    """Flags the step that says "wrong"; records the batches it was given."""

    name = "recording"

    def __init__(self):
        self.batches = []

    def locate(self, cases):
        self.batches.append([c.key for c in cases])
        return [loc(next((s.index for s in c.steps if "wrong" in s.text), None)) for c in cases]


def test_run_batches_and_scores():
    items = [
        ProcessBenchItem(f"i{i}", "g", "p", ("ok", "wrong" if i % 2 else "ok"), 1 if i % 2 else -1, i % 2 == 0)
        for i in range(5)
    ]
    locator = RecordingLocator()
    scores, locations = run_processbench(items, locator, batch_size=2)
    assert locator.batches == [["i0", "i1"], ["i2", "i3"], ["i4"]]
    assert [l.step for l in locations] == [None, 1, None, 1, None]
    assert scores["f1"] == 1.0 and scores["flag_precision"] == 1.0
    with pytest.raises(ValueError, match="batch_size"):
        run_processbench(items, locator, batch_size=0)


def test_run_with_the_arith_locator():
    items = [
        ProcessBenchItem("a", "g", "p", ("3 × 4 = 12.", "12 + 5 = 18.", "Answer 18."), 1, False),
        ProcessBenchItem("b", "g", "p", ("3 × 4 = 12.", "12 + 5 = 17."), -1, True),
        ProcessBenchItem("c", "g", "p", ("She has twice as many.", "So 2 + 2 = 4."), 0, False),
    ]
    scores, locations = run_processbench(items, ArithLocator(), batch_size=64)
    assert [l.step for l in locations] == [1, None, None]
    assert scores["acc_error"] == 0.5 and scores["acc_correct"] == 1.0 and scores["flag_precision"] == 1.0


def test_arith_flags_on_real_gsm8k_are_precise(shared_data):
    items = load_processbench(shared_data / "processbench" / "gsm8k.json")
    assert len(items) == 400
    start = time.process_time()  # CPU time: a loaded machine does not add to it, as it does to wall time
    scores, _ = run_processbench(items, ArithLocator(), batch_size=64)
    assert time.process_time() - start < 120  # a runaway, not a slow machine: about a second on a laptop
    assert scores["flag_precision"] >= 0.8, scores
    assert scores["n_flagged"] >= 15 and scores["acc_correct"] >= 0.97, scores
