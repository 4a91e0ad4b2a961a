"""ReaLMistake: our detectors scored on expert error labels of real GPT-4 / Llama-2 responses
(the data is read from its encrypted zip in memory and never written out)."""

import json
import zipfile

import pytest

from lessons.diagnose.arith_check import ArithLocator
from lessons.diagnose.base import Location
from lessons.diagnose.realmistake import (
    RealMistakeError, RealMistakeItem, load_realmistake, run_realmistake, score_detection,
)



def item(error: bool) -> RealMistakeItem:
    return RealMistakeItem("x", "m", "Write a problem.", "Step 1: 2 + 2 = 4", error, ())


def test_scores_are_precision_recall_and_f1_of_the_error_label():
    items = [item(True), item(True), item(True), item(False)]
    flags = [Location(0, "arith", 1.0), Location(None, "arith", 1.0), Location(None, "arith", 1.0), Location(0, "arith", 1.0)]
    scores = score_detection(items, flags)
    assert scores["precision"] == 0.5 and scores["recall"] == pytest.approx(1 / 3)
    assert scores["f1"] == pytest.approx(0.4) and scores["error_rate"] == 0.75
    assert score_detection(items, [Location(None, "arith", 1.0)] * 4)["f1"] == 0.0


def test_bad_archives_name_file_and_field(tmp_path):
    path = tmp_path / "data.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for model in ("gpt-4-0613", "Llama-2-70b-chat-hf"):
            archive.writestr(f"data/math_word_problem_generation/{model}.jsonl",
                             json.dumps({"input": "q", "llm_response": "r"}) + "\n")
    with pytest.raises(RealMistakeError, match=r"gpt-4-0613.jsonl:1: missing field\(s\) error_label"):
        load_realmistake(path)
    with pytest.raises(RealMistakeError, match="unknown ReaLMistake task"):
        load_realmistake(path, "poetry")
    with pytest.raises(RealMistakeError, match="cannot read ReaLMistake data"):
        load_realmistake(tmp_path / "absent.zip")


def test_arith_detector_on_math_word_problem_generation(shared_data):
    items = load_realmistake(shared_data / "realmistake" / "data.zip")
    assert len(items) == 300 and sum(i.error for i in items) == 215  # the upstream's stats.json counts
    scores, locations = run_realmistake(items, ArithLocator())
    # Rule-based: it flags few responses (a false statement), and those it flags are errors.
    assert scores["n_flagged"] >= 10 and scores["precision"] >= 0.9
    assert 0 < scores["recall"] < 0.5 and len(locations) == 300
