"""Code tasks from any JSONL file: a field mapping names the prompt, the tests and the entry
point, through the same machinery as math files."""

import json

import pytest

from lessons.models.base import Completion
from lessons.tasks import FieldMap, FileSuite, TaskFileError, suite_defaults
from lessons.verify import get_verifier

CODE_MAP = FieldMap(question="spec.prompt", answer="solution", tests="checks", entry_point="fn", id="name")


def write(tmp_path, records):
    path = tmp_path / "mbpp-like.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_a_code_file_maps_prompt_tests_and_entry_point(tmp_path):
    path = write(tmp_path, [
        {"name": "p1", "spec": {"prompt": "Write double(x)."}, "fn": "double",
         "checks": ["assert double(2) == 4", "assert double(0) == 0"], "solution": "def double(x):\n    return 2 * x\n"},
        {"name": "p2", "spec": {"prompt": "Write neg(x)."}, "fn": "neg",
         "checks": "def check(candidate):\n    assert candidate(3) == -3\n"},
    ])
    suite = FileSuite(path, CODE_MAP)
    first, second = suite.tasks()
    assert suite_defaults(suite).verifier == "tests"
    assert first.prompt == "Write double(x)." and first.answer.startswith("def double")
    assert first.metadata["tests"] == [{"name": "case 1", "source": "assert double(2) == 4"},
                                       {"name": "case 2", "source": "assert double(0) == 0"}]
    assert second.answer == "" and second.metadata["entry_point"] == "neg"  # no reference: allowed for code
    right = [Completion("```python\ndef double(x):\n    return x + x\n```", 1, 1, "stop"),
             Completion("```python\ndef neg(x):\n    return x\n```", 1, 1, "stop")]
    ok, wrong = get_verifier("tests").judge_responses([first, second], right)
    assert ok.correct and not wrong.correct and wrong.execution.first_failure == "check"


def test_a_bad_code_record_names_file_line_and_field(tmp_path):
    path = write(tmp_path, [{"name": "p1", "spec": {"prompt": "x"}, "checks": ["assert f()"]}])
    with pytest.raises(TaskFileError, match=r"mbpp-like.jsonl:1: missing field 'fn'"):
        FileSuite(path, CODE_MAP)
    path = write(tmp_path, [{"name": "p1", "spec": {"prompt": "x"}, "fn": "f", "checks": []}])
    with pytest.raises(TaskFileError, match=r"mbpp-like.jsonl:1: field 'checks' must be a test source"):
        FileSuite(path, CODE_MAP)


def test_tests_without_an_entry_point_is_refused():
    with pytest.raises(ValueError, match="both fields: tests= and entry_point="):
        FieldMap(tests="checks")
