"""`retry` (RISE): a wrong attempt, feedback with its first wrong step, a correct attempt;
and `lessons eval --retries N`, the same feedback as a second turn."""

from __future__ import annotations

import json

import pytest
from fakes import ListSuite, ScriptedBackend, solve, sum_tasks

from lessons.builders import check_row, load_source, make_builder, make_config
from lessons.builders.retry import AGAIN, retry_turns
from lessons.diagnose import make_locator
from lessons.runner import EvalConfig, evaluate
from lessons.store import Store


def test_a_wrong_attempt_its_located_step_and_a_correct_attempt_make_a_row(store, kinds, heldout_ids):
    builder = make_builder("retry")
    source = load_source(store, "planted")
    lessons = builder.build(source, make_config(builder, {}))
    by_kind = {k: [l for l in lessons if l.provenance.task_id in kinds[k]] for k in range(3)}
    assert not by_kind[0] and by_kind[1] and by_kind[2]  # kind 0 is never wrong
    for lesson in lessons:
        check_row("prompt_completion", lesson.row)
        task = source.tasks[lesson.provenance.task_id]
        chat = lesson.row["prompt"]
        assert chat[:-2] == source.render(task) and chat[-2]["role"] == "assistant"
        assert chat[-1]["role"] == "user" and chat[-1]["content"].endswith(AGAIN)
        assert lesson.provenance.task_id not in heldout_ids
    kind1 = by_kind[1][0]  # sample 0 wrong in its first step, sample 1 right: its own correct attempt
    own = next(a for a in source.by_task[kind1.provenance.task_id] if a.correct)
    assert kind1.row["prompt"][-1]["content"] == f"Your answer {kind1.row['prompt'][-2]['content'].split()[-1]} is not " \
                                                  f"correct. Step 1 is wrong. {AGAIN}"  # where, never what it should say
    assert kind1.row["completion"][0]["content"] == own.text and kind1.provenance.detail["correct"] == "own"
    kind2 = by_kind[2][0]  # never solved: the gold solution, the wrong last step named
    assert kind2.provenance.detail["correct"] == "gold"
    assert f"Step {len(source.tasks[kind2.provenance.task_id].steps)} is wrong" in kind2.row["prompt"][-1]["content"]
    without_gold = builder.build(source, make_config(builder, {"gold": "false"}))
    assert [l.row for l in without_gold] == [l.row for l in by_kind[1]]  # only tasks it solved itself


def retried(chat, sample):
    """Wrong at first for every third task; right once told it was wrong."""
    if "is not correct" in chat[-1]["content"]:
        question = next(m for m in chat if m["role"] == "user")
        return solve([question], wrong_every=10**9)
    return solve(chat)


def test_retries_give_wrong_answers_a_second_turn_with_the_located_step(tmp_path):
    store = Store.open(str(tmp_path / "log.db"))
    suite, backend = ListSuite(sum_tasks(12)), ScriptedBackend(retried)
    config = EvalConfig(run_name="r", template="step-by-step")
    first = evaluate(store, backend, suite, config)
    wrong = first.summary.mistakes
    assert 0 < wrong < 12
    turns = retry_turns(store, backend, suite, config, "r", 2, make_locator("arith"))
    assert len(turns) == 1 and turns[0].retried == turns[0].solved == wrong and turns[0].accuracy == 1.0
    run = store.get_run(turns[0].run)
    assert run.components.lessons.name == "retry-1" and run.components.lessons.source_run == "r"
    sent = backend.calls[-1][0][0]
    assert [m["role"] for m in sent][-3:] == ["user", "assistant", "user"]
    assert "Step 1 is wrong." in sent[-1]["content"]  # the arith locator found the false sum
    calls = len(backend.calls)
    assert retry_turns(store, backend, suite, config, "r", 2, make_locator("arith")) == turns
    assert len(backend.calls) == calls  # resumed from the log: nothing asked again


def test_eval_retries_from_the_cli(run_cli, register_model, tmp_path):
    register_model("retrier", lambda name, options: ScriptedBackend(lambda chat, sample: "Step 1: 1 + 1 = 3\nAnswer: 3"))
    refused = run_cli("eval", "--model", "retrier", "--retries", 1, "--samples", 2, "--db", tmp_path / "x.db", ok=False)
    assert "--retries gives a wrong answer a second turn: use it with --samples 1" in refused.output
    shown = json.loads(run_cli("eval", "--model", "retrier", "--suite", "arith", "--limit", 3, "--retries", 1,
                               "--db", tmp_path / "x.db", "--json").stdout)
    assert shown["accuracy"] == 0 and shown["retries"][0]["retried"] == 3 and shown["retries"][0]["solved"] == 0
