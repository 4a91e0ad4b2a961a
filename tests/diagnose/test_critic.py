"""CriticLocator: ProcessBench's prompt, parsing the critique, votes and token counts."""

from __future__ import annotations

import pytest
from fakes import ScriptedBackend

from lessons.diagnose.base import Case, Step
from lessons.diagnose.critic import CRITIC_TRUST, CriticLocator, critique_prompt, parse_critique


def make_case(n_steps: int = 4) -> Case:
    steps = tuple(Step(j, f"Step {j + 1}: {j} + 1 = {j + 1}", 0, 0) for j in range(n_steps))
    return Case(question="What is 3 + 1?", steps=steps, answer="4", key="k")


@pytest.mark.parametrize("text, index", [
    ("Paragraph 2 adds wrongly.\n\n\\boxed{2}", 2),
    ("All paragraphs are correct. \\boxed{-1}", -1),
    ("\\boxed{ 0 }", 0),
    ("First I thought \\boxed{1}, but on reflection \\boxed{3}", 3),
    ("The earliest error is in paragraph 3.", 3),
    ("The error occurs in <paragraph_1> where 2 + 2 = 5.", 1),
    ("Paragraph 0 says 3 + 4 = 7, which is fine.\nSo the index is\n2", 2),
    ("I cannot tell.", None),
    ("", None),
])
def test_parse_critique(text, index):
    assert parse_critique(text) == index


def test_prompt_is_processbench_word_for_word():
    [message] = critique_prompt(make_case(2))
    assert message["role"] == "user"
    assert message["content"] == (
        "The following is a math problem and a solution (split into paragraphs, enclosed with tags and indexed "
        "from 0):\n\n[Math Problem]\n\nWhat is 3 + 1?\n\n[Solution]\n\n"
        "<paragraph_0>\nStep 1: 0 + 1 = 1\n</paragraph_0>\n\n<paragraph_1>\nStep 2: 1 + 1 = 2\n</paragraph_1>\n\n"
        "Your task is to review and critique the solution paragraph by paragraph. Once you identify an error in a "
        "paragraph, return the index of the paragraph where the earliest error occurs. Otherwise, return the index "
        'of -1 (which typically denotes "not found").\n\nPlease put your final answer (i.e., the index) in \\boxed{}.'
    )


@pytest.mark.parametrize("critique, step, confident, detail", [
    ("Paragraph 2 is wrong. \\boxed{2}", 2, True, "paragraph 2"),
    ("Everything checks out. \\boxed{-1}", None, True, "no error found"),
    ("The earliest error is in paragraph 3.", 3, True, "paragraph 3"),
    ("\\boxed{9}", None, False, "unparseable critique"),  # no paragraph 9 in 4 steps
    ("Looks fine to me!", None, False, "unparseable critique"),
])
def test_locate_one_critique(critique, step, confident, detail):
    backend = ScriptedBackend(lambda chat, sample: critique)
    [loc] = CriticLocator(backend).locate([make_case(4)])
    assert (loc.step, loc.method) == (step, "critic")
    assert (loc.confidence > 0) is confident and loc.confidence <= CRITIC_TRUST
    assert loc.detail.startswith(detail)
    assert loc.tokens == len(critique.split())
    assert backend.calls[0][1].temperature == 0  # one critique: greedy


def test_votes_over_sampled_critiques():
    answers = ["\\boxed{1}", "\\boxed{2}", "\\boxed{1}"]
    backend = ScriptedBackend(lambda chat, sample: answers[sample])
    [loc] = CriticLocator(backend, samples=3).locate([make_case(4)])
    assert loc.step == 1 and loc.confidence == pytest.approx(CRITIC_TRUST * 2 / 3, abs=1e-3)
    assert "2/3 votes" in loc.detail and loc.tokens == 3
    params = backend.calls[0][1]
    assert params.n == 3 and params.temperature > 0


def test_all_cases_in_one_call_and_stepless_cases_skipped():
    backend = ScriptedBackend(lambda chat, sample: "\\boxed{0}")
    empty = Case("q", (), "1")
    locs = CriticLocator(backend).locate([make_case(3), empty, make_case(2)])
    assert [loc.step for loc in locs] == [0, None, 0]
    assert locs[1].confidence == 0 and locs[1].tokens == 0
    assert len(backend.calls) == 1 and len(backend.calls[0][0]) == 2
