"""The held-out overlap rule: number-bearing 8-grams plus every number of the question."""

from __future__ import annotations

import pytest

from lessons.builders.overlap import OverlapIndex, signatures, tokens

DIVISION = ("Maya has 47 muffins and packs them into boxes that hold 6 each. "
            "After filling as many boxes as possible, how many muffins are left over?")
GSM = ("Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
       "How many clips did Natalia sell altogether in April and May?")


def test_tokens_keep_numbers_and_fractions_whole():
    assert tokens("What is 1,200 + 3/4?") == ["what", "is", "1200", "+", "3/4", "?"]


def test_short_questions_must_appear_whole():
    assert signatures("What is 45 + 67?") == {("what", "is", "45", "+", "67", "?")}


@pytest.mark.parametrize("text, held, overlaps", [
    ("What is 45 + 67?", "What is 45 + 67?", True),
    ("Solve this. What is 45 + 67? Show steps.", "What is 45 + 67?", True),
    ("What is 45 + 68?", "What is 45 + 67?", False),
    ("What is 45 - 67?", "What is 45 + 67?", False),
    ("What is 45 + 67 + 8?", "What is 45 + 67?", False),  # another problem that starts alike
    (DIVISION, DIVISION, True),
    (DIVISION.replace("47", "52"), DIVISION, False),  # same template, other numbers
    (DIVISION.replace("Maya", "Liam"), DIVISION, True),  # the same problem, renamed
    (GSM, GSM, True),
    ("Some preamble. " + GSM[:60] + " whatever follows", GSM, True),  # its one number, in context
    (GSM.replace("48", "50"), GSM, False),
    ("How many feet are in 2 yards?", "How many feet are in 2 yards?", True),
    ("How many feet are in 3 yards?", "How many feet are in 2 yards?", False),
    ("What is 2/3 + 1/4? Give the answer as a fraction in lowest terms.",
     "What is 2/3 + 1/5? Give the answer as a fraction in lowest terms.", False),
])
def test_overlap_rule(text, held, overlaps):
    assert OverlapIndex([held]).overlaps(text) is overlaps


def test_index_over_many_questions():
    index = OverlapIndex([f"What is {a} + {a + 1}?" for a in range(100)])
    assert len(index) == 100
    assert index.overlaps("Q: What is 17 + 18?") and not index.overlaps("What is 17 + 19?")


def test_a_code_stub_overlaps_only_when_it_appears_whole_not_its_siblings_of_the_same_family():
    from lessons.tasks import load_suite

    tasks = list(load_suite("code").tasks(400))
    held = next(t for t in tasks if t.split == "heldout" and t.metadata["family"] == "clean_palindrome")
    siblings = [t for t in tasks if t.split == "train" and t.metadata["family"] == "clean_palindrome"]
    index = OverlapIndex([held.prompt])
    assert siblings and not any(index.overlaps(t.prompt) for t in siblings)  # shared docstring, other examples
    assert index.overlaps("Complete this:\n\n" + held.prompt.replace("    ", "  ").upper())
    assert not index.overlaps(held.prompt[: len(held.prompt) // 2])
