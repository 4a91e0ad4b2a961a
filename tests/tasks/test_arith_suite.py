import re
from collections import Counter
from fractions import Fraction
from itertools import islice

import pytest

from lessons.tasks import ArithSuite, split_for
from lessons.tasks.arith import SKILLS

TOKENS = re.compile(r"\s*(\d+(?:\.\d+)?|[-+*/×÷()])")


def evaluate(expr: str) -> Fraction:
    """Exact value of an arithmetic expression (+ - * / × ÷, parentheses), without eval."""
    tokens, pos = [], 0
    while pos < len(expr.rstrip()):
        match = TOKENS.match(expr, pos)
        assert match, f"cannot parse {expr!r} at {pos}"
        tokens.append(match.group(1))
        pos = match.end()
    value, rest = _sum(tokens)
    assert not rest, f"trailing tokens {rest} in {expr!r}"
    return value


def _sum(tokens):
    value, tokens = _product(tokens)
    while tokens and tokens[0] in "+-":
        op, (right, tokens) = tokens[0], _product(tokens[1:])
        value = value + right if op == "+" else value - right
    return value, tokens


def _product(tokens):
    value, tokens = _atom(tokens)
    while tokens and tokens[0] in "*/×÷":
        op, (right, tokens) = tokens[0], _atom(tokens[1:])
        value = value * right if op in "*×" else value / right
    return value, tokens


def _atom(tokens):
    if tokens[0] == "(":
        value, rest = _sum(tokens[1:])
        assert rest and rest[0] == ")"
        return value, rest[1:]
    if tokens[0] == "-":
        value, rest = _atom(tokens[1:])
        return -value, rest
    return Fraction(tokens[0]), tokens[1:]


@pytest.mark.parametrize(
    "expr, value",
    [("48 / 2", 24), ("1/3 + 1/4", Fraction(7, 12)), ("2/3 * 3/4", Fraction(1, 2)),
     ("80 * 15 / 100", 12), ("(11 + 14) - 24", 1), ("2 + 3 * 4", 14), ("56 × 99", 5544)],
)
def test_evaluator(expr, value):
    assert evaluate(expr) == value


def check_step(text: str, value: str) -> None:
    lhs, _, rhs = text.partition(" = ")
    if "remainder" in rhs:  # "47 / 5 = 9 remainder 2": value is the quotient
        a, b = (int(x) for x in lhs.split(" / "))
        q, r = (int(x) for x in rhs.split(" remainder "))
        assert a == b * q + r and 0 <= r < b, text
        assert value == str(q), text
    else:
        assert evaluate(lhs) == Fraction(rhs), text
        assert rhs == value, text


TASKS = list(ArithSuite(seed=0).tasks(2000))


def test_every_step_recomputes_and_last_step_is_the_answer():
    for task in TASKS:
        assert task.steps, task.id
        assert task.steps[-1].value == task.answer, task.id
        for step in task.steps:
            check_step(step.text, step.value)


def test_answers_are_exact_positive_and_reduced():
    for task in TASKS:
        assert re.fullmatch(r"\d+(/\d+)?", task.answer), (task.id, task.answer)
        value = Fraction(task.answer)
        assert value > 0, task.id
        if "/" in task.answer:  # Fraction("4/8") != text "4/8": the text must already be reduced
            assert f"{value.numerator}/{value.denominator}" == task.answer


def test_same_task_whatever_the_limit():
    short = list(ArithSuite(seed=7).tasks(10))
    long = list(islice(ArithSuite(seed=7).tasks(1000), 10))
    assert short == long
    assert [t.metadata for t in short] == [t.metadata for t in long]
    assert ArithSuite(seed=7).task(500) == list(ArithSuite(seed=7).tasks(501))[-1]


def test_different_seed_gives_different_tasks():
    a, b = ArithSuite(seed=1).tasks(20), ArithSuite(seed=2).tasks(20)
    assert sum(x.prompt == y.prompt for x, y in zip(a, b)) < 5


@pytest.mark.parametrize("limit", [0, 1, 7, 24, 333])
def test_limit_yields_exactly_that_many(limit):
    assert len(list(ArithSuite().tasks(limit))) == limit


def test_large_limit_is_lazy_and_no_limit_is_finite():
    assert next(ArithSuite().tasks(100_000)).id == "arith-s0-000000"
    assert len(list(ArithSuite().tasks())) == ArithSuite.DEFAULT_LIMIT
    with pytest.raises(ValueError):
        list(ArithSuite().tasks(-1))


@pytest.mark.parametrize("seed", [0, 1, 42])
def test_first_24_tasks_cover_every_skill_at_every_difficulty(seed):
    first = list(ArithSuite(seed).tasks(24))
    assert {t.skill for t in first[:8]} == set(SKILLS)
    assert {(t.skill, t.metadata["difficulty"]) for t in first} == {(s, d) for s in SKILLS for d in (1, 2, 3)}


def test_metadata_and_ids():
    for i, task in enumerate(TASKS[:200]):
        assert task.id == f"arith-s0-{i:06d}"
        assert task.metadata["source"] == "arith"
        assert task.metadata["skill"] in SKILLS
        assert task.metadata["difficulty"] in (1, 2, 3)
        assert task.metadata["n_steps"] == len(task.steps)
        assert task.split == split_for(task.id)


def test_word_problems_have_one_to_five_steps_and_vary():
    words = [t for t in TASKS if t.skill == "word_problem"]
    assert Counter(t.metadata["n_steps"] for t in words).keys() == {1, 2, 3, 4, 5}
    questions = {t.prompt.rsplit(". ", 1)[-1] for t in words}
    assert len(questions) >= 10  # six stories, each with two questions and named people


def test_harder_tasks_have_more_steps_or_longer_answers():
    def effort(difficulty):
        tasks = [t for t in TASKS if t.metadata["difficulty"] == difficulty]
        return sum(len(t.answer) + len(t.steps) for t in tasks) / len(tasks)

    assert effort(1) < effort(2) < effort(3)


def test_split_is_stable_and_about_a_fifth_heldout():
    again = list(ArithSuite(seed=0).tasks(2000))
    assert [t.split for t in TASKS] == [t.split for t in again]
    heldout = sum(t.split == "heldout" for t in TASKS) / len(TASKS)
    assert 0.17 < heldout < 0.23


def test_info_identifies_generator_and_seed():
    a, b = ArithSuite(seed=3).info, ArithSuite(seed=4).info
    assert (a.name, a.version, a.source, a.params) == ("arith", "1", "builtin:arith", {"seed": 3})
    assert a.fingerprint == ArithSuite(seed=3).info.fingerprint != b.fingerprint
    assert len(a.fingerprint) == 64


def test_seed_must_be_an_integer():
    with pytest.raises(TypeError):
        ArithSuite(seed="3")
