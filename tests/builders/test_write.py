"""Writing lesson sets: the files, deduplication, decontamination, limits, refusals."""

from __future__ import annotations

import hashlib
import json

import datasets
import pytest

from lessons.builders import FormatError, HeldOut, Lesson, LessonSetInfo, Provenance, read_lesson_set
from lessons.builders.write import write_lesson_set

HELD = HeldOut("suite", frozenset({"h1"}), ("What is 45 + 67?",))
INFO = LessonSetInfo("test", "prompt_completion", {"k": 1}, {"id": "r", "name": "run"})


def lesson(question: str, answer: str, task: str = "t") -> Lesson:
    row = {"prompt": [{"role": "user", "content": question}],
           "completion": [{"role": "assistant", "content": f"Answer: {answer}"}]}
    return Lesson(row, Provenance("test", "r", task, (1,)))


def test_files_and_counts(tmp_path):
    lessons = [lesson("What is 1 + 2?", "3"), lesson("What is 1 + 2?", "3"),  # a duplicate
               lesson("What is 45 + 67?", "112"),  # a held-out question
               lesson("What is 2 + 2?", "4"), lesson("What is 3 + 3?", "6")]
    report = write_lesson_set(lessons, tmp_path / "set", INFO, HELD, limit=1)
    assert (report.records, report.built) == (1, 5)  # 5 - 1 duplicate - 1 held-out = 3, of which 1 kept
    assert report.dropped == {"duplicates": 1, "heldout_overlap": 1, "limit": 2}
    folder = tmp_path / "set"
    lines = (folder / "lessons.jsonl").read_text()
    assert [json.loads(x) for x in lines.splitlines()] == [lessons[0].row]
    assert report.content_hash == hashlib.sha256(lines.encode()).hexdigest()
    assert json.loads((folder / "provenance.jsonl").read_text())["task_id"] == "t"
    assert datasets.load_from_disk(str(folder / "dataset")).to_list() == [lessons[0].row]
    meta = read_lesson_set(folder)
    assert meta["builder"] == "test" and meta["format"] == "prompt_completion" and meta["args"] == {"k": 1}
    assert meta["counts"] == {"records": 1, "built": 5, "dropped": report.dropped}
    assert meta["content_hash"] == report.content_hash and meta["heldout"]["n"] == 8
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left


def test_an_empty_set_is_written(tmp_path):
    report = write_lesson_set([], tmp_path / "set", INFO, HELD)
    assert report.records == 0 and (tmp_path / "set" / "lessons.jsonl").read_text() == ""


def test_rewriting_replaces_an_earlier_set_and_refuses_other_folders(tmp_path):
    write_lesson_set([lesson("What is 1 + 2?", "3")], tmp_path / "set", INFO, HELD)
    write_lesson_set([lesson("What is 2 + 2?", "4")], tmp_path / "set", INFO, HELD)
    assert "2 + 2" in (tmp_path / "set" / "lessons.jsonl").read_text()
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not a lesson set"):
        write_lesson_set([lesson("What is 1 + 2?", "3")], other, INFO, HELD)
    assert (other / "notes.txt").read_text() == "keep me"


def test_a_row_in_the_wrong_format_stops_the_write(tmp_path):
    bad = Lesson({"messages": [{"role": "user", "content": "q"}]}, Provenance("test", "r", "t"))
    with pytest.raises(FormatError):
        write_lesson_set([bad], tmp_path / "set", INFO, HELD)
    assert not (tmp_path / "set").exists()


def test_a_newer_lesson_set_is_refused(tmp_path):
    write_lesson_set([], tmp_path / "set", INFO, HELD)
    meta = json.loads((tmp_path / "set" / "lesson_set.json").read_text())
    (tmp_path / "set" / "lesson_set.json").write_text(json.dumps({**meta, "version": 99}))
    with pytest.raises(ValueError, match="newer"):
        read_lesson_set(tmp_path / "set")
