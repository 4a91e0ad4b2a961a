import csv
import json
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lessons.tasks import FieldMap, FileSuite, GoldStep, TaskFileError, split_for
from lessons.tasks.suites import is_numeric

# --- the real benchmark files (skipped when ../shared/data is absent) ---


def test_gsm8k_test_set_loads(shared_data):
    suite = FileSuite(shared_data / "gsm8k" / "test.jsonl")
    tasks = list(suite.tasks())
    assert len(tasks) == 1319 and suite.format == "gsm8k"
    assert suite.info.name == "gsm8k-test"
    assert all(is_numeric(t.answer) and "," not in t.answer for t in tasks)
    assert len({t.id for t in tasks}) == 1319 and tasks[0].id == "gsm8k-00001"
    first = tasks[0]
    assert first.answer == "18" and first.metadata == {"source": "gsm8k", "n_steps": 2}
    assert first.steps[0] == GoldStep("Janet sells 16 - 3 - 4 = 9 duck eggs a day.", "9")
    assert all("<<" not in s.text for t in tasks for s in t.steps)


def test_svamp_loads(shared_data):
    suite = FileSuite(shared_data / "svamp" / "SVAMP.json")
    tasks = list(suite.tasks())
    assert len(tasks) == 1000 and suite.info.name == "svamp"
    first = tasks[0]
    assert first.id == "chal-1" and first.answer == "51"
    assert first.prompt.startswith("Each pack of dvds costs 76 dollars.") and "  " not in first.prompt
    assert first.steps == (GoldStep("76 - 25 = 51", "51"),)
    assert first.metadata["skill"] == "Subtraction" and first.metadata["equation"] == "( 76.0 - 25.0 )"
    assert all(is_numeric(t.answer) and not t.answer.endswith(".0") for t in tasks)


# --- small files written here ---


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def write_json(path, records):
    path.write_text(json.dumps(records, indent=2))
    return path


def write_csv(path, records):
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)
    return path


def write_parquet(path, records):
    pq.write_table(pa.Table.from_pylist(records), path)
    return path


WRITERS = {"jsonl": write_jsonl, "json": write_json, "csv": write_csv, "parquet": write_parquet}
ROWS = [
    {"qid": "p1", "problem": "What is 2 + 3?", "final": "5", "work": "2 + 3 = 5", "topic": "add", "level": "1"},
    {"qid": "p2", "problem": "Half of 9?", "final": "4.5", "work": "9 / 2 = <<9/2=4.5>>4.5\n\n", "topic": "div", "level": "2"},
]


def test_gsm8k_detected_with_id_field_and_commas(tmp_path):
    path = write_jsonl(tmp_path / "mine.jsonl", [
        {"id": "a", "question": "Q1?", "answer": "3 * 2 = <<3*2=6>>6\nSo 6 * 1000 = <<6*1000=6000>>6,000\n#### 6,000"},
        {"id": "b", "question": "Q2?", "answer": "No calculator here.\n#### 7"},
    ])
    suite = FileSuite(path)
    a, b = suite.tasks()
    assert (suite.format, suite.info.name) == ("gsm8k", "gsm8k-mine")
    assert (a.id, a.answer, a.metadata) == ("a", "6000", {"source": "gsm8k", "n_steps": 2})
    assert a.steps == (GoldStep("3 * 2 = 6", "6"), GoldStep("So 6 * 1000 = 6,000", "6000"))
    assert b.steps == (GoldStep("No calculator here.", None),)
    assert a.split == split_for("a")


def test_svamp_shaped_json_detected(tmp_path):
    record = {"ID": "x-1", "Body": "Tom has 3 apples.  ", "Question": " He eats 1.", "Equation": "( ( 3.0 - 1.0 ) * 2.0 )",
              "Answer": 4.0, "Type": "Subtraction"}
    suite = FileSuite(write_json(tmp_path / "svamp_small.json", [record]))
    (task,) = suite.tasks()
    assert suite.format == "svamp" and suite.info.name == "svamp-svamp_small"
    assert (task.id, task.prompt, task.answer) == ("x-1", "Tom has 3 apples. He eats 1.", "4")
    assert task.steps == (GoldStep("(3 - 1) * 2 = 4", "4"),)
    assert task.metadata["n_steps"] == 2


@pytest.mark.parametrize("container", WRITERS)
def test_generic_file_with_field_map(tmp_path, container):
    path = WRITERS[container](tmp_path / f"data.{container}", ROWS)
    mapping = FieldMap(question="problem", answer="final", solution="work", id="qid", metadata=("topic", "level"))
    suite = FileSuite(path, mapping)
    one, two = suite.tasks()
    assert suite.format == container and suite.info.name == "data"
    assert (one.id, one.prompt, one.answer) == ("p1", "What is 2 + 3?", "5")
    assert one.steps == (GoldStep("2 + 3 = 5"),)
    assert two.steps == (GoldStep("9 / 2 = 4.5", "4.5"),)
    assert one.metadata == {"source": "data", "topic": "add", "level": "1", "n_steps": 1}


@pytest.mark.parametrize("container", WRITERS)
def test_default_mapping_numbers_and_recognised_metadata(tmp_path, container):
    rows = [{"question": "Six times seven?", "answer": 42, "skill": "mult", "difficulty": 2},
            {"question": "Half of five?", "answer": 2.5, "skill": "div", "difficulty": 3}]
    tasks = list(FileSuite(WRITERS[container](tmp_path / f"plain.{container}", rows)).tasks())
    assert [t.answer for t in tasks] == ["42", "2.5"]
    assert [t.id for t in tasks] == (
        ["plain-00002", "plain-00003"] if container == "csv" else ["plain-00001", "plain-00002"]
    )
    assert tasks[0].skill == "mult" and tasks[0].metadata["difficulty"] == 2  # an int even from CSV text


def test_field_map_turns_off_format_detection(tmp_path):
    path = write_jsonl(tmp_path / "g.jsonl", [{"question": "Q?", "answer": "1 + 1 = 2\n#### 2"}])
    assert FileSuite(path).format == "gsm8k"
    generic = FileSuite(path, FieldMap())
    assert generic.format == "jsonl" and next(generic.tasks()).answer == "1 + 1 = 2\n#### 2"


def test_fingerprint_follows_bytes_and_mapping(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"q": "A?", "a": "1", "b": "2"}])
    by_a, by_b = FileSuite(path, FieldMap("q", "a")).info, FileSuite(path, FieldMap("q", "b")).info
    assert by_a.fingerprint != by_b.fingerprint
    assert by_a.fingerprint == FileSuite(path, FieldMap("q", "a")).info.fingerprint
    assert by_a.source == str(path.resolve()) and by_a.version == "1"
    write_jsonl(path, [{"q": "A?", "a": "11", "b": "2"}])
    assert FileSuite(path, FieldMap("q", "a")).info.fingerprint != by_a.fingerprint


def test_limit(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"question": f"Q{i}?", "answer": str(i)} for i in range(5)])
    assert [t.answer for t in FileSuite(path).tasks(3)] == ["0", "1", "2"]
    assert len(list(FileSuite(path).tasks(50))) == 5


# --- bad input: one clear error before any task is handed out ---

GOOD = '{"question": "Q?", "answer": "1"}'


@pytest.mark.parametrize(
    "name, text, where, message",
    [
        ("gsm.jsonl", "\n".join([GOOD] * 16 + ['{"question": "Q?", "answer": ']), "gsm.jsonl:17:", "invalid JSON"),
        ("d.jsonl", f'{GOOD}\n\n{{"question": "Q?", "solution": "x"}}\n', "d.jsonl:3:",
         "missing field 'answer' (record keys: 'question', 'solution')"),
        ("d.jsonl", '{"question": "  ", "answer": "1"}\n', "d.jsonl:1:", "empty field 'question'"),
        ("d.jsonl", '{"question": "Q?", "answer": null}\n', "d.jsonl:1:", "field 'answer' must be text or a number"),
        ("d.jsonl", "[1, 2]\n", "d.jsonl:1:", "expected a JSON object"),
        ("d.json", '[{"question": "Q?", "answer": "1"}, {"question": "Q?"}]', "d.json: record 2:", "missing field 'answer'"),
        ("d.json", '{"question": 1}', "d.json:", "expected a JSON list"),
        ("d.csv", 'question,answer\nQ?,1\n"multi\nline",2\nQ3?,\n', "d.csv:5:", "empty field 'answer'"),
        ("d.csv", "question,answer\nQ?,1,extra\n", "d.csv:2:", "more cells than header columns"),
        ("d.txt", GOOD, "d.txt:", "unsupported file type '.txt'"),
        ("d.parquet", "not parquet", "d.parquet:", "not a readable Parquet file"),
        ("g.jsonl", '{"question": "Q?", "answer": "x #### 1"}\n{"question": "Q?", "answer": "no final line"}\n',
         "g.jsonl:2:", "has no final '#### <answer>' line"),
        ("e.jsonl", "\n\n", "e.jsonl:", "no records"),
    ],
)
def test_bad_file_names_file_place_and_field(tmp_path, name, text, where, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(TaskFileError) as caught:
        FileSuite(path)
    assert str(caught.value).startswith(str(path.parent / where)), str(caught.value)
    assert message in str(caught.value)


def test_bad_parquet_record_names_its_index(tmp_path):
    path = write_parquet(tmp_path / "d.parquet", [{"question": "Q?", "answer": "1"}, {"question": "Q?", "answer": ""}])
    with pytest.raises(TaskFileError, match=re.escape(f"{path}: record 2: empty field 'answer'")):
        FileSuite(path)


def test_duplicate_ids_name_both_places(tmp_path):
    rows = [{"id": "a", "q": "Q?", "a": "1"}, {"id": "b", "q": "Q?", "a": "2"}, {"id": "a", "q": "Q?", "a": "3"}]
    path = write_jsonl(tmp_path / "dup.jsonl", rows)
    with pytest.raises(TaskFileError, match=re.escape(f"{path}:3: duplicate task id 'a' (first at {path}:1)")):
        FileSuite(path, FieldMap("q", "a", id="id"))


def test_missing_mapped_metadata_field(tmp_path):
    path = write_jsonl(tmp_path / "m.jsonl", [{"question": "Q?", "answer": "1", "topic": "t"}, {"question": "Q?", "answer": "2"}])
    with pytest.raises(TaskFileError, match=re.escape(f"{path}:2: missing field 'topic'")):
        FileSuite(path, FieldMap(metadata=("topic",)))


def test_all_or_nothing(tmp_path):
    """A bad last record fails the load itself, before a caller can take any task."""
    path = tmp_path / "late.jsonl"
    path.write_text("\n".join([GOOD] * 99 + ["{broken"]) + "\n")
    with pytest.raises(TaskFileError, match="late.jsonl:100: invalid JSON"):
        FileSuite(path)


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(TaskFileError, match="cannot read"):
        FileSuite(tmp_path / "absent.jsonl")
    with pytest.raises(ValueError, match="unknown task file format 'yaml'"):
        FileSuite(tmp_path / "absent.jsonl", format="yaml")


def test_explicit_format_overrides_extension(tmp_path):
    path = tmp_path / "data.txt"
    path.write_text('{"question": "Q?", "answer": "a\\n#### 3"}\n')
    assert next(FileSuite(path, format="gsm8k").tasks()).answer == "3"
    assert next(FileSuite(path, format="jsonl").tasks()).answer == "a\n#### 3"
