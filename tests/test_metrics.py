import numpy as np
import pytest

from lessons.consistency import majority_correct
from lessons.metrics import compare_runs, paired_bootstrap, pass_at_k
from lessons.store.db import AttemptRow


def row(task, correct, answer="1", sample=0):
    return AttemptRow(
        id=0, run_id="r", task_id=task, sample=sample, text="", answer=answer, extraction_status="ok",
        extraction_method="answer_line", correct=correct, verifier="math", verdict_detail="", prompt_tokens=1,
        completion_tokens=1, finish_reason="stop", logprob=None, latency_s=0.0, created_at="", prompt="",
        gold="1", skill=None, split="train", metadata={},
    )


@pytest.mark.parametrize("n,c,k,expected", [
    (1, 1, 1, 1.0), (1, 0, 1, 0.0), (4, 1, 1, 0.25), (4, 1, 4, 1.0), (4, 0, 4, 0.0), (5, 2, 2, 1 - 3 / 10),
])
def test_pass_at_k(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected)


def test_majority_vote_counts_answers_not_verdicts():
    samples = [row("t", False, "3"), row("t", True, "2"), row("t", True, "2")]
    assert majority_correct(samples)
    assert not majority_correct([row("t", False, "3"), row("t", False, "3"), row("t", True, "2")])


def test_paired_bootstrap_interval_brackets_the_delta_and_excludes_zero_for_a_clear_gain():
    a = np.array([0.0] * 50 + [1.0] * 50)
    b = np.array([1.0] * 90 + [0.0] * 10)
    lo, hi = paired_bootstrap(a, b)
    assert lo < 0.4 < hi and lo > 0


def test_compare_counts_fixed_new_persistent_on_common_tasks():
    a = [row("t1", False), row("t2", True), row("t3", False), row("t4", True), row("only-a", True)]
    b = [row("t1", True), row("t2", False), row("t3", False), row("t4", True), row("only-b", False)]
    c = compare_runs(a, b)
    assert (c.tasks, c.fixed, c.new, c.persistent) == (4, 1, 1, 1)
    assert c.accuracy_a == c.accuracy_b == 0.5 and c.delta == 0.0
    assert c.ci95[0] <= 0.0 <= c.ci95[1]


def test_outcomes_split_tasks_by_before_and_after_in_order():
    from lessons.metrics import outcomes

    before = {"a": False, "b": True, "c": False, "d": True, "e": False}
    after = {"a": True, "b": False, "c": False, "d": True, "e": True}
    split = outcomes("abcde", before.__getitem__, after.__getitem__)
    assert (split.fixed, split.new, split.persistent) == (("a", "e"), ("b",), ("c",))
    assert split.counts() == {"fixed": 2, "new": 1, "persistent": 1}
