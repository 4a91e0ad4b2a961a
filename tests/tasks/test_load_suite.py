import json

import pytest

from lessons.registry import UnknownName
from lessons.tasks import SUITES, ArithSuite, FieldMap, FileSuite, Task, load_suite, summarize


@pytest.mark.parametrize("spec, seed", [("arith", 0), ("arith:seed=3", 3), ("arith:seed=-2", -2), ("arith: seed = 5 ", 5)])
def test_builtin_arith(spec, seed):
    suite = load_suite(spec)
    assert isinstance(suite, ArithSuite) and suite.info.params == {"seed": seed}


def test_path_gives_a_file_suite_with_mapping(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps({"q": "Q?", "a": "1"}) + "\n")
    suite = load_suite(str(path), FieldMap("q", "a"))
    assert isinstance(suite, FileSuite) and next(suite.tasks()).answer == "1"


@pytest.mark.parametrize("spec, start", [("nope", "unknown suite 'nope'"), ("data/missing.jsonl", "no such file")])
def test_unknown_spec_lists_builtins_and_mentions_paths(spec, start):
    with pytest.raises(UnknownName) as caught:
        load_suite(spec)
    message = str(caught.value)
    assert message.startswith(start) and "arith" in message and "path of a task file" in message


@pytest.mark.parametrize("spec", ["arith:seed", "arith:colour=red", "arith:seed=x"])
def test_bad_builtin_parameters(spec):
    with pytest.raises((ValueError, TypeError)):
        load_suite(spec)


def test_plugins_register_suites(monkeypatch):
    made = []

    def tiny(size=1):
        made.append(size)
        return ArithSuite(seed=size)

    monkeypatch.setitem(SUITES._entries, "tiny", tiny)
    assert load_suite("tiny:size=4").info.params == {"seed": 4} and made == [4]


def test_summarize():
    tasks = [
        Task("a", "Q", "72", metadata={"skill": "add"}, split="train"),
        Task("b", "Q", "7/12", metadata={"skill": "add"}, split="heldout"),
        Task("c", "Q", "1,234", metadata={"skill": "mul"}),
        Task("d", "Q", "-12.5"),
        Task("e", "Q", "B"),
        Task("f", "Q", "1/0"),
    ]
    assert summarize(iter(tasks)) == {
        "tasks": 6,
        "by_skill": {"add": 2, "mul": 1},
        "by_split": {"train": 5, "heldout": 1},
        "numeric_answers": 4,
    }


def test_summarize_arith():
    summary = summarize(load_suite("arith").tasks(80))
    assert summary["tasks"] == 80 == summary["numeric_answers"]
    assert set(summary["by_skill"].values()) == {10}
