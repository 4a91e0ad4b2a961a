"""Inspect AI logs, made by Inspect with mockllm in the session fixture, read and written as runs.
inspect_ai is optional: without it these tests skip, but the message its absence gives does not."""

import sys

import pytest
from import_logs import QUESTIONS

from lessons.imports import ImportFileError, import_inspect, read_inspect, source_scores
from lessons.store import Store


@pytest.fixture
def store(tmp_path):
    s = Store.open(tmp_path / "log.db")
    yield s
    s.close()


@pytest.mark.parametrize("fmt", ["eval", "json"])
def test_each_sample_becomes_a_task_with_its_score_and_tokens(inspect_logs, fmt):
    run = read_inspect(getattr(inspect_logs, fmt))
    assert (run.tool, run.task, run.model.name, run.model.backend) == (
        "inspect", "tiny_arith", "mockllm/model", "inspect:mockllm")
    assert run.sampling.n == 1 and run.sampling.max_new_tokens == 64 and run.sampling.temperature == 0.0
    assert run.settings["solvers"] == ["generate"] and run.settings["scorers"] == ["match"]
    by_id = {s.task_id: s for s in run.samples}
    assert {(s.prompt, s.gold) for s in run.samples} == set(QUESTIONS)
    assert by_id["q1"].response.endswith("Answer: 48") and by_id["q1"].score.correct is False
    assert by_id["q0"].score.correct is True and by_id["q0"].score.scores["match"]["value"] == "C"
    assert by_id["q0"].prompt_tokens == 12 and by_id["q0"].completion_tokens > 0
    assert by_id["q0"].metadata == {"op": "+"}
    assert run.metrics["match/accuracy"] == pytest.approx(sum(s.score.correct for s in run.samples) / 6)


def test_both_formats_import_onto_one_suite_and_again_adds_nothing(inspect_logs, store):
    from_eval = import_inspect(store, inspect_logs.eval)
    from_json = import_inspect(store, inspect_logs.json)
    assert (from_eval.tasks, from_eval.attempts) == (6, 6)
    assert store.get_run(from_eval.run_id).suite_id == store.get_run(from_json.run_id).suite_id
    again = import_inspect(store, inspect_logs.eval)
    assert again.run_id == from_eval.run_id and again.new_attempts == 0 and len(store.runs()) == 2
    attempts = {a.task_id: a for a in store.attempts(from_eval.run_id)}
    assert attempts["q1"].answer == "48" and not attempts["q1"].correct
    assert attempts["q5"].extraction_status == "missing"
    scores = source_scores(store.get_run(from_eval.run_id))
    assert scores[("q0", 0)].correct is True and from_eval.agreement is not None


def test_without_inspect_ai_the_error_says_what_to_install(tmp_path, monkeypatch):
    log = tmp_path / "x.eval"
    log.write_bytes(b"PK")
    monkeypatch.setitem(sys.modules, "inspect_ai.log", None)  # as if not installed
    with pytest.raises(ImportFileError, match="needs inspect_ai, which is not installed: pip install inspect-ai"):
        read_inspect(log)


def test_a_file_that_is_no_inspect_log_is_one_clear_error(tmp_path):
    pytest.importorskip("inspect_ai")
    log = tmp_path / "broken.json"
    log.write_text('{"version": 2, "status": "success"')
    with pytest.raises(ImportFileError, match=r"broken.json: not a readable Inspect log"):
        read_inspect(log)
