"""Reading lesson sets: `lessons build` directories (lessons.jsonl or dataset/), plain
JSONL files, TRL format detection, and errors that name the file and line."""

import json

import pytest

from lessons.train import LessonDataError, check_method, load_lessons


def test_plain_jsonl_file(sft_file):
    lessons = load_lessons(sft_file)
    assert lessons.format == "messages" and lessons.conversational and lessons.method == "sft"
    assert len(lessons.rows) == 16 and lessons.path == str(sft_file.resolve())
    assert len(lessons.content_hash) == 64 and lessons.manifest == {}


def test_build_directory_with_manifest(tmp_path, rows):
    rows.write(tmp_path / "out" / "lessons.jsonl", rows.preference(4))
    (tmp_path / "out" / "lesson_set.json").write_text(json.dumps({"format": "preference", "content_hash": "f00"}))
    lessons = load_lessons(tmp_path / "out")
    assert lessons.format == "preference" and lessons.method == "dpo"
    assert lessons.path.endswith("lessons.jsonl")
    described = lessons.describe()
    assert (described["declared_format"], described["declared_hash"], described["rows"]) == ("preference", "f00", 4)


def test_dataset_directory_alone_gives_the_same_rows_and_hash(tmp_path, rows):
    from datasets import Dataset

    data = rows.sft(5)
    Dataset.from_list(data).save_to_disk(str(tmp_path / "built" / "dataset"))
    from_disk = load_lessons(tmp_path / "built")
    from_jsonl = load_lessons(rows.write(tmp_path / "same.jsonl", data))
    assert from_disk.rows == from_jsonl.rows
    assert from_disk.content_hash == from_jsonl.content_hash
    assert from_disk.path.endswith("dataset")


def test_prompt_completion_rows_plain_and_conversational(tmp_path, rows):
    plain = load_lessons(rows.write(tmp_path / "a.jsonl", [{"prompt": "1+1=", "completion": "2"}]))
    assert (plain.format, plain.conversational, plain.method) == ("prompt_completion", False, "sft")
    conv = load_lessons(rows.write(tmp_path / "b.jsonl", [
        {"prompt": [{"role": "user", "content": "1+1?"}], "completion": [{"role": "assistant", "content": "2"}]}
    ]))
    assert (conv.format, conv.conversational) == ("prompt_completion", True)


def test_extra_columns_are_dropped_and_blank_lines_skipped(tmp_path, rows):
    path = tmp_path / "x.jsonl"
    row = rows.sft(1)[0] | {"source": {"attempt_id": 3}}
    path.write_text(json.dumps(row) + "\n\n" + json.dumps(row) + "\n")
    lessons = load_lessons(path)
    assert [set(r) for r in lessons.rows] == [{"messages"}, {"messages"}]


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"messages": [', "invalid JSON"),
        ("[1, 2]", "expected a JSON object, got list"),
        ('{"text": "hello"}', "keys \\['text'\\] match no TRL format"),
        ('{"messages": []}', "'messages' must be a non-empty list of messages"),
        ('{"messages": [{"role": "robot", "content": "hi"}]}', "messages\\[0\\] must be"),
        ('{"messages": [{"role": "user", "content": "hi"}]}', "no assistant message"),
        ('{"prompt": "p", "completion": ""}', "'completion' must be a non-empty string"),
        ('{"prompt": "p", "chosen": "a", "rejected": "b"}', "a plain-text preference row among conversational messages rows"),
    ],
)
def test_a_bad_line_stops_with_file_and_line(tmp_path, rows, line, message):
    path = tmp_path / "bad.jsonl"
    good = "".join(json.dumps(r) + "\n" for r in rows.sft(2))
    path.write_text(good + line + "\n" + good)
    with pytest.raises(LessonDataError, match=message) as info:
        load_lessons(path)
    assert f"{path}:3:" in str(info.value)


def test_missing_and_empty_inputs(tmp_path):
    with pytest.raises(LessonDataError, match="no such file or directory"):
        load_lessons(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(LessonDataError, match="no lessons.jsonl or dataset/ inside"):
        load_lessons(tmp_path / "empty")
    (tmp_path / "blank.jsonl").write_text("\n")
    with pytest.raises(LessonDataError, match="no lessons in it"):
        load_lessons(tmp_path / "blank.jsonl")


@pytest.mark.parametrize(
    "manifest, message",
    [
        ({"version": 99, "format": "messages"}, "newer lessons \\(lesson set version 99\\)"),
        ({"version": 1, "format": "tasks"}, "practice tasks \\(tasks\\) has no answers to train on"),
        ({"version": 1, "format": "prompt"}, "prompt-only rows"),
    ],
)
def test_manifest_refusals(tmp_path, rows, manifest, message):
    rows.write(tmp_path / "lessons.jsonl", rows.sft(1))
    (tmp_path / "lesson_set.json").write_text(json.dumps(manifest))
    with pytest.raises(LessonDataError, match=message):
        load_lessons(tmp_path)


def test_a_prompt_only_row_is_named(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps({"prompt": [{"role": "user", "content": "q"}], "task_id": "t"}) + "\n")
    with pytest.raises(LessonDataError, match=f"{path}:1: a prompt without a completion"):
        load_lessons(path)


def test_bad_manifest_is_named(tmp_path, rows):
    rows.write(tmp_path / "lessons.jsonl", rows.sft(1))
    (tmp_path / "lesson_set.json").write_text("{oops")
    with pytest.raises(LessonDataError, match="lesson_set.json: invalid JSON"):
        load_lessons(tmp_path)


def test_method_must_fit_the_format(sft_file, dpo_file, tmp_path, rows):
    check_method(load_lessons(sft_file), "sft")
    check_method(load_lessons(dpo_file), "dpo")
    with pytest.raises(LessonDataError, match="use --method dpo"):
        check_method(load_lessons(dpo_file), "sft")
    with pytest.raises(LessonDataError, match="use --method sft"):
        check_method(load_lessons(sft_file), "dpo")
    stepwise = rows.write(tmp_path / "s.jsonl", [{"prompt": "p", "completions": ["a", "b"], "labels": [True, False]}])
    with pytest.raises(LessonDataError, match="process reward model"):
        check_method(load_lessons(stepwise), "sft")
