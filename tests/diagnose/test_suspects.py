import pytest

from lessons.diagnose.suspects import Suspect, SuspectGroup, find_suspects, normalize_answer


def group(task_id, gold, *samples):
    return SuspectGroup(task_id, gold, tuple(samples))


@pytest.mark.parametrize(
    "a, b",
    [("1,000", "1000"), ("1000.0", "1000"), ("$1,000", "1000"), ("0.5", "1/2"), (" Paris ", "paris")],
)
def test_normalize_answer_meets_equal_answers(a, b):
    assert normalize_answer(a) == normalize_answer(b)


def test_confident_wrong_answer_is_suspect():
    g = group("t1", "12", ("15", False), ("15.0", False), ("1,5", False), ("15", False), (None, False))
    # "1,5" is not 15: three of four answered samples agree
    assert find_suspects([g], agreement=0.75) == [Suspect("t1", "12", "15", 0.75, 4)]
    assert find_suspects([g], agreement=0.8) == []


def test_thresholds_and_gold_agreement():
    few = group("few", "3", ("4", False), ("4", False))  # two answered samples < min_samples
    right = group("right", "3", ("3", True), ("3", True), ("3", True))
    verifier_miss = group("miss", "1000", ("1,000", False), ("1000", False), ("1000.0", False))
    split = group("split", "3", ("4", False), ("5", False), ("6", False))
    assert find_suspects([few, right, verifier_miss, split]) == []
    assert [s.task_id for s in find_suspects([few], min_samples=2)] == ["few"]


def test_sorted_by_agreement_then_samples():
    a = group("a", "1", *[("2", False)] * 4, ("3", False))  # 0.8, 5 samples
    b = group("b", "1", *[("2", False)] * 3)  # 1.0, 3 samples
    c = group("c", "1", *[("2", False)] * 6)  # 1.0, 6 samples
    assert [s.task_id for s in find_suspects([a, b, c])] == ["c", "b", "a"]


def test_empty_and_blank_answers():
    assert find_suspects([]) == []
    assert find_suspects([group("x", "1", ("", False), ("  ", False), (None, False))]) == []
