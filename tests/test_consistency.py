"""Answer aggregation: majority vote with number-aware votes, and RPC (perplexity
consistency with reasoning pruning) from the recorded log-probs."""

import math
from dataclasses import replace

import pytest

from lessons.consistency import answer_key, majority_correct, rpc_correct, rpc_curve, samples_to_match
from lessons.metrics import summarize_run
from lessons.store.db import AttemptRow

GOLD = "5"


def sample(answer, p, text=None, tokens=10, task="t"):
    """An attempt whose path probability (exp of the mean token log-prob) is `p`."""
    return AttemptRow(
        id=0, run_id="r", task_id=task, sample=0, text=text or f"... so {answer} ({p})", answer=answer,
        extraction_status="ok", extraction_method="answer_line", correct=answer_key(answer) == answer_key(GOLD),
        verifier="math", verdict_detail="", prompt_tokens=1, completion_tokens=tokens,
        finish_reason="stop", logprob=None if p is None else tokens * math.log(p), latency_s=0.0, created_at="",
        prompt="", gold=GOLD, skill=None, split="train", metadata={},
    )


def test_answers_that_read_as_one_number_are_one_vote():
    assert answer_key("12") == answer_key("12.0") == answer_key("$12") != answer_key("twelve")
    # "5.0" and "5" together outvote "7" only when counted as one answer
    assert majority_correct([sample("7", .5), sample("7", .5), sample("5", .5), sample("5.0", .5)]) is False
    assert majority_correct([sample("5", .5), sample("7", .5), sample("5.0", .5)]) is True


def test_probable_paths_outweigh_a_majority_of_improbable_ones():
    samples = [sample("7", .30), sample("7", .32), sample("5", .95)]
    assert majority_correct(samples) is False
    assert rpc_correct(samples, prune=False) == 1.0


def test_a_path_sampled_twice_counts_once():
    twice = [sample("7", .6, text="same path"), sample("7", .6, text="same path"), sample("5", .7)]
    assert rpc_correct(twice, prune=False) == 1.0  # 0.7 against 0.6, not against 1.2


def test_pruning_drops_the_low_probability_paths():
    """Many distinct improbable paths to a wrong answer would outweigh two probable right
    ones; the Weibull mixture puts them in the low component and pruning drops them."""
    low = [sample("7", p) for p in (.20, .21, .22, .23, .24, .25, .26, .27, .28, .29)]
    samples = [sample("5", .90), sample("5", .92)] + low
    assert rpc_correct(samples, prune=False) == 0.0
    assert rpc_correct(samples) == 1.0


def test_ties_share_the_credit_and_missing_logprobs_leave_rpc_undefined():
    assert rpc_correct([sample("5", .5, text="a"), sample("7", .5, text="b")], prune=False) == 0.5
    assert rpc_correct([sample("5", None), sample("5", .5)]) is None
    assert rpc_correct([replace(sample("5", .5), extraction_status="missing", answer=None)]) == 0.0


def test_curve_and_samples_to_match():
    tasks = [[sample("7", .3, task="a"), sample("5", .9, task="a"), sample("7", .31, task="a")],
             [sample("5", .8, task="b"), sample("5", .7, task="b"), sample("7", .2, task="b")]]
    curve = rpc_curve(tasks)
    assert curve == [0.5, 1.0, 1.0]
    assert samples_to_match(curve, 1.0) == 2 and samples_to_match([0.2, 0.4], 0.5) is None
    summary = summarize_run("r", "r", [a for t in tasks for a in t], 3, aggregate=True)
    # maj@3 is 0.5 here (task a votes 7), which RPC already reaches with one sample per task
    assert summary.maj_at_k == 0.5 and summary.rpc_at_k == 1.0 and summary.rpc_samples_to_match == 1
    assert summarize_run("r", "r", [a for t in tasks for a in t], 3).rpc_at_k is None  # only when asked


@pytest.mark.parametrize("k", [4, 8])
def test_pruning_keeps_everything_when_paths_are_alike(k):
    samples = [sample("5" if i % 2 else "7", .5, text=str(i)) for i in range(k)]
    assert rpc_correct(samples) == rpc_correct(samples, prune=False)
