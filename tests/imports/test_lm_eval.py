"""lm-eval sample logs, made by lm-eval in the session fixture, read and written as runs."""

import json
import shutil

import pytest
from import_logs import QUESTIONS

from lessons.imports import VerifyConfig, import_lm_eval, read_lm_eval, source_scores
from lessons.imports import base as import_base
from lessons.store import Store


@pytest.fixture
def store(tmp_path):
    s = Store.open(tmp_path / "log.db")
    yield s
    s.close()


def test_each_document_becomes_a_task_posed_as_lm_eval_posed_it(lm_eval_logs):
    [run] = read_lm_eval(lm_eval_logs.sloppy, task="tiny_arith")
    assert (run.tool, run.task, run.task_version) == ("lm-eval", "tiny_arith", "1.0")
    assert run.model.name == "scripted/sloppy" and run.model.backend == "lm-eval:lessons-scripted"
    assert run.sampling.n == 1 and run.sampling.stop == ("Question:",) and run.sampling.max_new_tokens == 64
    assert run.settings["num_fewshot"] == 0 and run.settings["filters"] == ["strict-match", "flexible-extract"]
    assert run.metrics["exact_match,strict-match"] == pytest.approx(3 / 6)
    # one sample per document although each is logged once per filter
    assert [(s.prompt, s.gold) for s in run.samples] == [(f"Question: {q}\nAnswer:", a) for q, a in QUESTIONS]
    fourth = run.samples[3]
    assert fourth.response == "9 + 8 makes 17."
    assert fourth.score.scores["strict-match"] == {"exact_match": 0.0, "filtered": "[invalid]"}
    assert fourth.score.scores["flexible-extract"] == {"exact_match": 1.0, "filtered": "17"}
    assert fourth.score.correct is False  # the first filter's first metric decides


def test_import_rejudges_and_keeps_the_tools_score(lm_eval_logs, store):
    [result] = import_lm_eval(store, lm_eval_logs.sloppy, task="tiny_arith")
    assert (result.tasks, result.attempts, result.new_attempts) == (6, 6, 6)
    attempts = store.attempts(result.run_id)
    assert [a.correct for a in attempts] == [True, False, True, True, True, False]
    assert attempts[1].answer == "48" and attempts[5].extraction_status == "missing"
    assert result.accuracy == pytest.approx(4 / 6) and result.source_accuracy == pytest.approx(3 / 6)
    assert result.agreement == pytest.approx(5 / 6)  # they differ on "9 + 8 makes 17."
    run = store.get_run(result.run_id)
    scores = source_scores(run)
    assert scores[("3", 0)].correct is False and scores[("0", 0)].correct is True
    assert run.components.source.tool == "lm-eval" and run.components.template.name == "as-posed"
    assert run.components.model.args == {"pretrained": "scripted/sloppy"}


def test_repeats_are_samples_of_one_task(lm_eval_logs, store):
    [result] = import_lm_eval(store, lm_eval_logs.sloppy, task="tiny_arith_k2")
    run = store.get_run(result.run_id)
    assert run.sampling.n == 2 and (result.tasks, result.attempts) == (6, 12)
    assert {a.sample for a in store.attempts(run.id)} == {0, 1}


def test_a_folder_imports_every_task_and_again_adds_nothing(lm_eval_logs, store):
    first = import_lm_eval(store, lm_eval_logs.sloppy)
    assert sorted(r.task for r in first) == ["tiny_arith", "tiny_arith_k2"]
    again = import_lm_eval(store, lm_eval_logs.sloppy)
    assert [r.run_name for r in again] == [r.run_name for r in first]
    assert all(r.new_attempts == 0 for r in again) and len(store.runs()) == 2
    assert sum(len(store.attempts(r.run_id)) for r in again) == 18


def test_an_import_stopped_midway_finishes_on_the_next(lm_eval_logs, store, monkeypatch):
    monkeypatch.setattr(import_base, "BATCH", 2)
    real_add = Store.add_attempts
    calls = []

    def dies_on_the_second_batch(self, attempts):
        calls.append(len(attempts))
        if len(calls) == 2:
            raise KeyboardInterrupt  # as a kill between two batches
        return real_add(self, attempts)

    monkeypatch.setattr(Store, "add_attempts", dies_on_the_second_batch)
    with pytest.raises(KeyboardInterrupt):
        import_lm_eval(store, lm_eval_logs.sloppy, task="tiny_arith")
    [run] = store.runs()
    assert run.status == "running" and len(store.attempts(run.id)) == 2
    monkeypatch.setattr(Store, "add_attempts", real_add)
    [result] = import_lm_eval(store, lm_eval_logs.sloppy, task="tiny_arith")
    assert result.run_id == run.id and result.new_attempts == 4 and result.attempts == 6
    assert store.get_run(run.id).status == "done"


def test_two_models_on_one_task_share_a_suite_and_another_verifier_is_another_run(lm_eval_logs, store):
    [sloppy] = import_lm_eval(store, lm_eval_logs.sloppy, task="tiny_arith")
    [careful] = import_lm_eval(store, lm_eval_logs.careful)
    assert store.get_run(sloppy.run_id).suite_id == store.get_run(careful.run_id).suite_id
    assert careful.accuracy == 1.0 and careful.model == "scripted/careful"
    [numeric] = import_lm_eval(store, lm_eval_logs.sloppy, VerifyConfig(verifier="numeric"), task="tiny_arith")
    assert numeric.run_name != sloppy.run_name
    assert store.get_run(numeric.run_id).components.verifier.name == "numeric"


def test_one_results_file_imports_as_its_folder_does(lm_eval_logs):
    [results] = lm_eval_logs.careful.rglob("results_*.json")
    [from_file], [from_folder] = read_lm_eval(results), read_lm_eval(lm_eval_logs.careful)
    assert from_file.samples == from_folder.samples and from_file.model == from_folder.model


@pytest.mark.parametrize("target, gold", [
    ("Half of 10 is <<10/2=5>>5.\n#### 5", "5"),  # gsm8k's targets are whole solutions
    ("$1,200", "1200"),
    (["12 cm", "12"], "12"),
])
def test_gold_answers_are_reduced_to_what_the_verifier_reads(lm_eval_logs, tmp_path, target, gold):
    folder = tmp_path / "copy"
    shutil.copytree(lm_eval_logs.careful, folder)
    [samples] = folder.rglob("samples_*.jsonl")
    lines = [json.loads(line) for line in samples.read_text().splitlines()]
    lines[0]["target"] = target
    samples.write_text("".join(json.dumps(line) + "\n" for line in lines))
    [run] = read_lm_eval(folder)
    assert run.samples[0].gold == gold
