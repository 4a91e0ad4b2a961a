"""The `tests` verifier: a response's program run with its task's tests in the sandbox;
extraction statuses kept apart from failing tests; the run stored in one serialised form."""

import pytest

from lessons.models.base import Completion
from lessons.sandbox import Execution, TestOutcome, execution_from_json, execution_to_json
from lessons.sandbox.records import STORED_OUTPUT_CHARS
from lessons.tasks import Task
from lessons.verify import get_verifier, verifiers
from lessons.verify.code import CodeTaskError, TestsVerifier, task_tests

CASES = [{"name": "small", "source": "assert add(2, 3) == 5"},
         {"name": "negative", "source": "assert add(-1, -1) == -2"}]
TASK = Task("t1", "def add(a, b):", "", metadata={"entry_point": "add", "tests": CASES})


def completion(text: str, finish: str = "stop") -> Completion:
    return Completion(text=text, prompt_tokens=1, completion_tokens=1, finish_reason=finish)


def judge(*completions):
    return get_verifier("tests").judge_responses([TASK] * len(completions), list(completions))


def test_tests_is_a_registered_verifier():
    assert "tests" in verifiers.names() and isinstance(get_verifier("tests"), TestsVerifier)


def test_a_right_program_passes_and_a_wrong_one_records_each_test():
    right, wrong, crash = judge(
        completion("Here:\n```python\ndef add(a, b):\n    return a + b\n```"),
        completion("```python\ndef add(a, b):\n    if a < 0:\n        return a\n    return a + b\n```"),
        completion("```python\ndef add(a, b):\n    return [][a]\n```"),
    )
    assert right.correct and right.extraction.status == "ok" and right.execution.status == "passed"
    assert [t.status for t in right.execution.tests] == ["passed", "passed"]
    assert not wrong.correct and wrong.extraction.status == "ok"
    assert [t.status for t in wrong.execution.tests] == ["passed", "failed"]
    assert wrong.execution.first_failure == "negative"
    assert crash.execution.status == "error" and crash.execution.exception == "IndexError"
    assert crash.execution.line == 2  # the line in the model's program


@pytest.mark.parametrize("text, finish, status", [
    ("I would add them.", "stop", "missing"),
    ("```python\ndef add(a, b):\n    return a +", "length", "truncated"),
    ("```python\ndef add(a, b)\n    return a + b\n```", "stop", "malformed"),
])
def test_extraction_failures_are_not_run_and_keep_their_status(text, finish, status):
    (verdict,) = judge(completion(text, finish))
    assert not verdict.correct and verdict.extraction.status == status and verdict.execution is None
    assert verdict.detail  # why, in words


def test_a_task_without_tests_is_refused_naming_it():
    with pytest.raises(CodeTaskError, match="task t2: metadata 'tests'"):
        task_tests("t2", {"entry_point": "f", "tests": []})
    bad = Task("t3", "p", "", metadata={"tests": CASES})
    with pytest.raises(CodeTaskError, match="task t3: metadata 'entry_point'"):
        get_verifier("tests").judge_responses([bad], [completion("x")])


def test_a_run_round_trips_through_its_stored_form_with_output_cut():
    run = Execution("failed", (TestOutcome("a", "passed"), TestOutcome("b", "failed", "AssertionError", "", 3, 1)),
                    "b", "AssertionError", 3, "test b failed", "x" * (STORED_OUTPUT_CHARS + 5), "err", False, False,
                    0.1, 0.05, "namespaces")
    back = execution_from_json(execution_to_json(run))
    assert back.tests == run.tests and back.first_failure == "b" and back.line == 3
    assert len(back.stdout) == STORED_OUTPUT_CHARS and back.stdout_truncated and not back.stderr_truncated
    with pytest.raises(ValueError, match="not a stored sandbox run"):
        execution_from_json('{"status": "passed"}')


def test_the_prompts_imports_run_before_a_program_that_leaves_them_out_and_lines_stay_the_programs():
    # HumanEval's prompts import what their signatures use; a whole function written
    # without the import is judged as HumanEval's prompt + completion would be
    prompt = 'from typing import List\nimport math\n\n\ndef total(xs: List[int]) -> int:\n    """Sum."""\n'
    task = Task("h1", prompt, "", metadata={"entry_point": "total", "tests": [
        {"name": "sum", "source": "assert total([1, 2]) == 3"}, {"name": "pi", "source": "assert total([]) == 0"}]})
    fine, crash = get_verifier("tests").judge_responses([task, task], [
        completion("```python\ndef total(xs: List[int]) -> int:\n    return math.floor(sum(xs))\n```"),
        completion("```python\ndef total(xs: List[int]) -> int:\n    return [][0]\n```")])
    assert fine.correct, fine.detail
    assert crash.execution.exception == "IndexError" and crash.execution.line == 2
    assert not get_verifier("tests").judge_responses([TASK], [completion(
        "```python\ndef add(a, b):\n    return math.floor(a + b)\n```")])[0].correct  # no import: NameError
