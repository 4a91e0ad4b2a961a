"""`refusal` (R-Tuning) on the planted run, and the abstention figures of a run."""

from __future__ import annotations

import re

import pytest
from fakes import ListSuite, ScriptedBackend, question_of, solve, sum_tasks

from lessons.builders import check_row, load_source, make_builder, make_config
from lessons.runner import EvalConfig, evaluate
from lessons.store import Store
from lessons.verify.abstention import UNSURE, abstained


def build(store, **options):
    builder = make_builder("refusal")
    source = load_source(store, "planted")
    return source, builder.build(source, make_config(builder, options))


def test_refusal_rows_are_the_train_tasks_never_solved_answered_with_the_unsure_statement(store, kinds, heldout_ids):
    source, lessons = build(store)
    # kind 2 of the planted run: a wrong answer, then no answer; kinds 0 and 1 are solved once at least
    assert {l.provenance.task_id for l in lessons} == kinds[2]
    for lesson in lessons:
        check_row("messages", lesson.row)
        task = source.tasks[lesson.provenance.task_id]
        assert lesson.row["messages"] == source.render(task) + [{"role": "assistant", "content": UNSURE}]
        assert len(lesson.provenance.attempt_ids) == 2 and lesson.provenance.task_id not in heldout_ids


def test_refusal_needs_min_samples_attempts_before_calling_a_task_never_solved(store):
    assert build(store, min_samples=3)[1] == []  # the planted run has 2 samples a task
    with pytest.raises(ValueError, match="min_samples must be at least 1"):
        build(store, min_samples=0)


@pytest.mark.parametrize("text, status, expected", [
    (UNSURE, "missing", True),
    ("I'm not sure how to solve this.", "missing", True),
    ("I am not sure, but 3 + 4 = 7.\nAnswer: 7", "ok", False),  # a hedged answer is an answer
    ("Step 1: 3 + 4 = 7\nAnswer: 7", "ok", False),
    ("I think it is about a dozen.", "missing", False),  # no answer, but no abstention either
])
def test_an_abstention_is_an_unsure_statement_without_an_answer(text, status, expected):
    assert abstained(text, status) is expected


def test_eval_reports_abstentions_and_accuracy_on_the_answered_tasks(tmp_path):
    def unsure_on_wrong(chat, sample=0):  # abstains exactly where `solve` would be wrong
        a = int(re.findall(r"\d+", question_of(chat))[0])
        return UNSURE if a % 3 == 0 else solve(chat, sample)

    tasks = sum_tasks(12)
    s = evaluate(Store.open(tmp_path / "log.db"), ScriptedBackend(unsure_on_wrong), ListSuite(tasks),
                 EvalConfig()).summary
    wrong = sum(1 for t in tasks if int(t.prompt.split()[2]) % 3 == 0)
    assert s.abstained == wrong and s.accuracy == pytest.approx((12 - wrong) / 12)
    assert s.answered_accuracy == 1.0  # every answer given is right: the abstentions took the mistakes
