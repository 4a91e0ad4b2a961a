"""Task files: GSM8K JSONL, SVAMP JSON, and generic JSONL / JSON / CSV / Parquet with a
field mapping.

A file is read and validated whole before any task is handed out (files are small), so a
bad record stops the load with an error naming the file, the place and the field, and a
caller never stores part of a suite.

A *labels file* adds metadata the task file does not carry (`FileSuite(..., labels=)`):
one JSON object, `{"about": {...}, "tasks": {"<task id>": {"topic": "t2-eggs-hens"}}}`,
every task of the file labelled. The loop writes one from question topics
(`lessons.diagnose.topics`) so that unlabelled files have slices; a user may write their
own. Its content hash is part of the suite's fingerprint: other labels, another suite.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from lessons.tasks.base import CODE_DEFAULTS, GoldStep, ListedSuite, SuiteDefaults, SuiteInfo, Task, split_for
from lessons.tasks.fields import FieldError, parse_fields, parse_path, plain_gold

TASK_FILE_FORMATS = ("gsm8k", "svamp", "jsonl", "json", "csv", "parquet")
_CONTAINERS = {".jsonl": "jsonl", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
_ANNOTATION = re.compile(r"<<([^<>]*)>>")  # GSM8K calculator call: <<48/2=24>>


class TaskFileError(ValueError):
    """A task file that cannot be loaded; the message names file, place and field."""


@dataclass(frozen=True)
class FieldMap:
    """Which record fields hold what, for generic files; each a field expression
    (`Body+Question`, `meta.level`, `solutions[0]`: see `lessons.tasks.fields`)."""

    question: str = "question"
    answer: str = "answer"
    solution: str | None = None  # worked solution; one gold step per non-empty line
    id: str | None = None  # task id field; default "<file stem>-<record number>"
    metadata: tuple[str, ...] = ()  # fields copied into task.metadata, each under its last key
    # Code tasks (judged by the `tests` verifier): the tests, a test source defining
    # check(candidate) or test_* functions, or a list of assert statements; the function they
    # call. With tests, the answer (a reference solution) may be absent.
    tests: str | None = None
    entry_point: str | None = None

    def __post_init__(self) -> None:
        if (self.tests is None) != (self.entry_point is None):
            raise ValueError("a code task file needs both fields: tests= and entry_point=")

    @classmethod
    def from_mapping(cls, mapping: dict[str, Any]) -> "FieldMap":
        """From `{"question": "Body+Question", "metadata": "level,topic"}` (a loop config's
        `fields`, the CLI's `--field` pairs): metadata may be a list or comma-separated."""
        unknown = sorted(set(mapping) - {f for f in cls.__dataclass_fields__})
        if unknown:
            raise ValueError(f"unknown fields {unknown}: use question, answer, solution, id, metadata, tests, entry_point")
        values = dict(mapping)
        if isinstance(values.get("metadata"), str):
            values["metadata"] = tuple(v.strip() for v in values["metadata"].split(",") if v.strip())
        elif values.get("metadata") is not None:
            values["metadata"] = tuple(values["metadata"])
        return cls(**values)


@dataclass(frozen=True)
class _Record:
    where: str  # "data.jsonl:3" or "data.json: record 3"; used in every error message
    number: int  # 1-based line (JSONL/CSV) or record number (JSON/Parquet)
    fields: dict[str, Any]

    def fail(self, message: str) -> TaskFileError:
        return TaskFileError(f"{self.where}: {message}")

    def text(self, name: str) -> str:
        """A required, non-empty text field (numbers are accepted and written exactly);
        `name` is a field expression, whose parts are joined by a space."""
        try:
            values = [(name, self.fields[name])] if name in self.fields else [
                (p.text, p.read(self.fields)) for p in parse_fields(name)]
        except FieldError as e:
            raise self.fail(str(e)) from None
        texts = []
        for part, value in values:
            if value is None or isinstance(value, (bool, list, dict)):
                raise self.fail(f"field {part!r} must be text or a number, got {type(value).__name__}")
            texts.append(_number_text(value) if isinstance(value, (int, float)) else str(value).strip())
        text = " ".join(filter(None, texts))
        if not text:
            raise self.fail(f"empty field {name!r}")
        return text

    def value(self, name: str) -> Any:
        """Any value at a field path (metadata may be a list, a bool or a number)."""
        try:
            return parse_path(name).read(self.fields)
        except FieldError as e:
            raise self.fail(str(e)) from None


class FileSuite(ListedSuite):
    """A suite loaded from a file; `format` is one of TASK_FILE_FORMATS, or None to detect it."""

    def __init__(self, path: str | Path, field_map: FieldMap | None = None, format: str | None = None,
                 labels: str | Path | None = None):
        self.path = Path(path)
        if format is not None and format not in TASK_FILE_FORMATS:
            raise ValueError(f"unknown task file format {format!r}; expected one of {', '.join(TASK_FILE_FORMATS)}")
        try:
            data = self.path.read_bytes()
        except OSError as e:
            raise TaskFileError(f"{self.path}: cannot read ({e.strerror or e})") from e
        container = _container(self.path, format)
        records = _read_records(self.path, data, container)
        self.format = format or _detect(container, records, field_map)
        self._tasks = _to_tasks(self.path, self.format, records, field_map or FieldMap())
        params: dict[str, Any] = {"format": self.format, "field_map": asdict(field_map or FieldMap())}
        if any("gold_text" in t.metadata for t in self._tasks):
            params["gold"] = "plain"  # answers were reduced to their numbers: other tasks, another fingerprint
        if labels is not None:
            self._tasks, digest = _labelled(self.path, self._tasks, Path(labels))
            params["labels"] = {"sha256": digest}
        mapping = json.dumps(params, sort_keys=True).encode()
        fingerprint = hashlib.sha256(data + b"\0" + mapping).hexdigest()
        if labels is not None:  # where the labels are is not what they are: kept out of the fingerprint
            params["labels"] = params["labels"] | {"file": str(Path(labels).resolve())}
        name = _suite_name(self.path, self.format)
        self.info = SuiteInfo(name, "1", str(self.path.resolve()), fingerprint, params)
        self.defaults = CODE_DEFAULTS if field_map is not None and field_map.tests else SuiteDefaults()


# Labels files: metadata for every task of a file, kept beside it.


def write_labels(path: str | Path, labels: dict[str, dict[str, Any]], about: dict[str, Any]) -> str:
    """Write a labels file (whole or not at all); returns its content hash."""
    from lessons.atomic import write_text

    text = json.dumps({"about": about, "tasks": labels}, sort_keys=True, ensure_ascii=False) + "\n"
    write_text(path, text)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_labels(path: str | Path) -> tuple[dict[str, dict[str, Any]], str]:
    """A labels file's labels by task id, and its content hash."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise TaskFileError(f"{path}: cannot read labels ({e.strerror or e})") from e
    try:
        labels = json.loads(data).get("tasks")
    except (ValueError, AttributeError) as e:
        raise TaskFileError(f"{path}: not a labels file ({' '.join(str(e).split())})") from None
    if not isinstance(labels, dict) or not all(isinstance(v, dict) for v in labels.values()):
        raise TaskFileError(f'{path}: not a labels file: expected {{"tasks": {{"<task id>": {{"<feature>": value}}}}}}')
    return labels, hashlib.sha256(data).hexdigest()


def _labelled(path: Path, tasks: list[Task], labels_path: Path) -> tuple[list[Task], str]:
    labels, digest = read_labels(labels_path)
    missing = [t.id for t in tasks if t.id not in labels]
    if missing:
        raise TaskFileError(f"{labels_path}: no labels for task {missing[0]!r} of {path} ({len(missing)} of "
                            f"{len(tasks)} tasks unlabelled): the labels were made for another file")
    return [replace(t, metadata=t.metadata | labels[t.id]) for t in tasks], digest


# Reading: bytes -> records with their place in the file.


def _container(path: Path, format: str | None) -> str:
    """How the file is stored: jsonl, json, csv or parquet."""
    if format is not None:
        return {"gsm8k": "jsonl", "svamp": "json"}.get(format, format)
    container = _CONTAINERS.get(path.suffix.lower())
    if container is None:
        known = ", ".join(_CONTAINERS)
        raise TaskFileError(
            f"{path}: unsupported file type {path.suffix!r}; expected {known} (or pass a format)"
        )
    return container


def _read_records(path: Path, data: bytes, container: str) -> list[_Record]:
    if container == "parquet":
        return _read_parquet(path, data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise TaskFileError(f"{path}: not UTF-8 text (byte {e.start}: {e.reason})") from e
    reader = {"jsonl": _read_jsonl, "json": _read_json, "csv": _read_csv}[container]
    return reader(path, text)


def _read_jsonl(path: Path, text: str) -> list[_Record]:
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue  # blank lines (often a trailing one) carry no record
        try:
            value = json.loads(line)
        except json.JSONDecodeError as e:
            raise TaskFileError(f"{path}:{number}: invalid JSON ({e.msg} at column {e.colno})") from e
        if not isinstance(value, dict):
            raise TaskFileError(f"{path}:{number}: expected a JSON object, got {type(value).__name__}")
        records.append(_Record(f"{path}:{number}", number, value))
    return records


def _read_json(path: Path, text: str) -> list[_Record]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise TaskFileError(f"{path}:{e.lineno}: invalid JSON ({e.msg} at column {e.colno})") from e
    if isinstance(value, dict) and isinstance(value.get("data"), list):
        value = value["data"]  # a common wrapper: {"data": [...]}
    if not isinstance(value, list):
        raise TaskFileError(f"{path}: expected a JSON list of records, got {type(value).__name__}")
    records = []
    for number, item in enumerate(value, start=1):
        if not isinstance(item, dict):
            raise TaskFileError(f"{path}: record {number}: expected a JSON object, got {type(item).__name__}")
        records.append(_Record(f"{path}: record {number}", number, item))
    return records


def _read_csv(path: Path, text: str) -> list[_Record]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    records, start = [], 2  # line 1 is the header
    try:
        for row in reader:
            if None in row:  # DictReader files surplus cells under the key None
                raise TaskFileError(f"{path}:{start}: more cells than header columns")
            if any(v is not None and v.strip() for v in row.values()):
                cells = {k: v for k, v in row.items() if v is not None}  # None: a short row
                records.append(_Record(f"{path}:{start}", start, cells))
            start = reader.line_num + 1  # a quoted cell may span lines; the next record starts after
    except csv.Error as e:
        raise TaskFileError(f"{path}:{reader.line_num}: invalid CSV ({e})") from e
    return records


def _read_parquet(path: Path, data: bytes) -> list[_Record]:
    import pyarrow as pa  # lazily: only Parquet files need it
    import pyarrow.parquet as pq

    try:
        rows = pq.read_table(pa.BufferReader(data)).to_pylist()
    except (pa.ArrowException, OSError) as e:
        raise TaskFileError(f"{path}: not a readable Parquet file ({e})") from e
    return [_Record(f"{path}: record {n}", n, row) for n, row in enumerate(rows, start=1)]


# Detecting and converting.


def _detect(container: str, records: list[_Record], field_map: FieldMap | None) -> str:
    """Known formats are recognised from the first record, unless a mapping was given."""
    first = records[0].fields if records else {}
    if field_map is not None:
        return container
    if container == "jsonl" and "question" in first and "####" in str(first.get("answer", "")):
        return "gsm8k"
    if container == "json" and {"Body", "Question", "Equation"} <= first.keys():
        return "svamp"
    return container


def _to_tasks(path: Path, format: str, records: list[_Record], field_map: FieldMap) -> list[Task]:
    if not records:
        raise TaskFileError(f"{path}: no records")
    convert = {"gsm8k": _gsm8k_task, "svamp": _svamp_task}.get(format)
    tasks, seen = [], {}
    for record in records:
        task = convert(record) if convert else _generic_task(record, field_map, path.stem)
        if task.id in seen:
            raise record.fail(f"duplicate task id {task.id!r} (first at {seen[task.id]})")
        seen[task.id] = record.where
        tasks.append(task)
    return tasks


def _make(task_id: str, prompt: str, answer: str, steps: tuple[GoldStep, ...], metadata: dict) -> Task:
    return Task(task_id, prompt, answer, steps, metadata, split_for(task_id))


def _gsm8k_task(record: _Record) -> Task:
    solution, marker, final = record.text("answer").rpartition("####")
    if not marker:
        raise record.fail("field 'answer' has no final '#### <answer>' line")
    answer = final.strip().replace(",", "")
    if not answer:
        raise record.fail("field 'answer' has an empty '####' line")
    steps = solution_steps(solution)
    task_id = record.text("id") if "id" in record.fields else f"gsm8k-{record.number:05d}"
    return _make(task_id, record.text("question"), answer, steps, {"source": "gsm8k", "n_steps": len(steps)})


def solution_steps(solution: str) -> tuple[GoldStep, ...]:
    """One step per non-empty line; a GSM8K annotation <<expr=result>> is removed from the
    text and its result (the last one on the line) becomes the step's value."""
    steps = []
    for line in solution.splitlines():
        results = [call.rpartition("=")[2].strip() for call in _ANNOTATION.findall(line)]
        text = " ".join(_ANNOTATION.sub("", line).split())
        if text:
            steps.append(GoldStep(text, results[-1] if results and results[-1] else None))
    return tuple(steps)


def _svamp_task(record: _Record) -> Task:
    prompt = " ".join(f"{record.text('Body')} {record.text('Question')}".split())
    answer = record.text("Answer")
    equation = record.text("Equation")
    step = GoldStep(f"{_clean_equation(equation)} = {answer}", answer)
    metadata = {
        "source": "svamp",
        "skill": record.text("Type") if "Type" in record.fields else None,
        "equation": equation,
        "n_steps": len(re.findall(r"[-+*/]", equation)),  # one operation per step
    }
    return _make(record.text("ID"), prompt, answer, (step,), metadata)


def _clean_equation(equation: str) -> str:
    """ "( ( 11.0 + 14.0 ) - 24.0 )" -> "(11 + 14) - 24", as a person would write it."""
    text = re.sub(r"(\d+)\.0\b", r"\1", " ".join(equation.split()))
    text = text.replace("( ", "(").replace(" )", ")")
    if text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1]
    return text


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def _generic_task(record: _Record, field_map: FieldMap, stem: str) -> Task:
    if field_map.tests and not _has(record, field_map.answer):
        question, gold = record.text(field_map.question), ""  # a code task without a reference solution
    else:
        question, gold = record.text(field_map.question), record.text(field_map.answer)
    steps = solution_steps(record.text(field_map.solution)) if field_map.solution else ()
    task_id = record.text(field_map.id) if field_map.id else f"{stem}-{record.number:05d}"
    metadata: dict[str, Any] = {"source": stem}
    for name in ("skill", "difficulty"):
        if name in record.fields:
            metadata[name] = _metadata_value(name, record.fields[name])
    for expression in field_map.metadata:
        key = _metadata_key(record, expression)
        metadata[key] = _metadata_value(key, record.value(expression))
    if steps:
        metadata["n_steps"] = len(steps)
    if field_map.tests and field_map.entry_point:
        metadata |= {"entry_point": record.text(field_map.entry_point), "tests": _tests(record, field_map.tests)}
        return _make(task_id, question, gold, steps, metadata)  # a program is no number to reduce
    answer = plain_gold(gold)
    if answer != gold:
        metadata["gold_text"] = gold  # as the file wrote it
    return _make(task_id, question, answer, steps, metadata)


def _has(record: _Record, expression: str) -> bool:
    try:
        parse_path(expression).read(record.fields)
    except FieldError:
        return False
    return True


def _tests(record: _Record, expression: str) -> str | list[dict[str, str]]:
    """A test source as it stands, or a list of assert statements as named cases."""
    value = record.value(expression)
    if isinstance(value, list):
        if not value or not all(isinstance(v, str) and v.strip() for v in value):
            raise record.fail(f"field {expression!r} must be a test source or a non-empty list of assert statements")
        return [{"name": f"case {i}", "source": v} for i, v in enumerate(value, start=1)]
    return record.text(expression)


def _metadata_key(record: _Record, expression: str) -> str:
    try:
        return parse_path(expression).name
    except FieldError as e:
        raise record.fail(str(e)) from None


def _metadata_value(key: str, value: Any) -> Any:
    if key == "difficulty" and isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)  # CSV cells are text; slices compare difficulty as a number
    return value


def _number_text(value: int | float | str) -> str:
    """A number as exact text without a trailing ".0": 51.0 -> "51", 2.5 -> "2.5"."""
    if isinstance(value, str):
        value = value.strip()
        return value[:-2] if re.fullmatch(r"-?\d+\.0", value) else value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value)


def _suite_name(path: Path, format: str) -> str:
    stem = path.stem
    if format == "gsm8k":
        return stem if stem.lower().startswith("gsm8k") else f"gsm8k-{stem}"
    if format == "svamp":
        return "svamp" if stem.lower() == "svamp" else f"svamp-{stem}"
    return stem
