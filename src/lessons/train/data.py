"""Reading a lesson set for training: a `lessons build` output directory, or a JSONL file.

Rows must already be in one of TRL's dataset formats; the target model's chat template is
applied later, by TRL, at training time. Every row is checked here so that a bad line
stops the run before a model is loaded, with the file and line named.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

# format -> the columns TRL reads; extra columns in a row are dropped
FORMATS: dict[str, tuple[str, ...]] = {
    "preference": ("prompt", "chosen", "rejected"),
    "stepwise": ("prompt", "completions", "labels"),
    "prompt_completion": ("prompt", "completion"),
    "messages": ("messages",),
}
METHOD_OF_FORMAT = {"messages": "sft", "prompt_completion": "sft", "preference": "dpo", "stepwise": None}
ROLES = {"system", "user", "assistant"}
# Lesson sets without anything to learn from: prompt additions and practice tasks are used by
# `lessons eval`, not trained on (format names as `lessons build` writes them).
UNTRAINABLE = {"prompt": "prompt-only rows", "tasks": "practice tasks"}
LESSON_SET_VERSION = 1  # newest lesson_set.json version understood (builders/write.py writes it)


class LessonDataError(ValueError):
    """A lesson set that cannot be trained on; the message names the file and line."""


@dataclass(frozen=True)
class LessonSet:
    path: str  # the file or dataset directory the rows came from
    rows: tuple[dict[str, Any], ...] = field(repr=False)  # only the format's columns
    format: str  # a key of FORMATS
    conversational: bool  # messages lists (chat template applied by TRL) rather than plain strings
    content_hash: str  # sha256 of the rows as canonical JSON: the same lessons hash the same from any source
    manifest: dict[str, Any] = field(default_factory=dict)  # lesson_set.json written by `lessons build`, if any

    @property
    def method(self) -> str | None:
        return METHOD_OF_FORMAT[self.format]

    def describe(self) -> dict[str, Any]:
        """What the lineage of a trained version records about its lessons."""
        return {
            "path": self.path, "format": self.format, "rows": len(self.rows), "content_hash": self.content_hash,
            "declared_format": self.manifest.get("format"), "declared_hash": self.manifest.get("content_hash"),
            "builder": self.manifest.get("builder"), "run": self.manifest.get("run"),
        }


def load_lessons(path: str | Path) -> LessonSet:
    """Lessons from a JSONL file, or from a directory holding `lessons.jsonl` (preferred: its
    errors can name a line) or `dataset/` (datasets.save_to_disk), plus `lesson_set.json`."""
    path = Path(path).expanduser()
    manifest: dict[str, Any] = {}
    if path.is_dir():
        manifest = _read_manifest(path / "lesson_set.json")
        _check_manifest(path, manifest)
        if (path / "lessons.jsonl").is_file():
            source, records = path / "lessons.jsonl", _jsonl_records(path / "lessons.jsonl")
        elif (path / "dataset").is_dir():
            source, records = path / "dataset", _dataset_records(path / "dataset")
        else:
            raise LessonDataError(f"{path}: no lessons.jsonl or dataset/ inside (is it a `lessons build` output?)")
    elif path.is_file():
        source, records = path, _jsonl_records(path)
    else:
        raise LessonDataError(f"{path}: no such file or directory")
    rows, fmt, conversational = _check_rows(records)
    if not rows:
        raise LessonDataError(f"{source}: no lessons in it")
    digest = hashlib.sha256(json.dumps(rows, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    return LessonSet(str(source.resolve()), tuple(rows), fmt, conversational, digest, manifest)


def _read_manifest(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise LessonDataError(f"{path}: invalid JSON ({e.msg} at line {e.lineno})") from None
    if not isinstance(data, dict):
        raise LessonDataError(f"{path}: expected a JSON object")
    return data


def _check_manifest(path: Path, manifest: dict[str, Any]) -> None:
    if manifest.get("version", 0) > LESSON_SET_VERSION:
        raise LessonDataError(
            f"{path} was written by a newer lessons (lesson set version {manifest['version']}); upgrade"
        )
    declared = manifest.get("format")
    if declared in UNTRAINABLE:
        raise LessonDataError(
            f"{path}: a lesson set of {UNTRAINABLE[declared]} ({declared}) has no answers to train on; "
            "train on SFT (messages, prompt_completion) or preference lessons"
        )


def _jsonl_records(path: Path) -> Iterator[tuple[str, Any]]:
    """(where, parsed value) per non-blank line; `where` is `file:line`."""
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                yield where, json.loads(line)
            except json.JSONDecodeError as e:
                raise LessonDataError(f"{where}: invalid JSON ({e.msg} at column {e.colno})") from None


def _dataset_records(path: Path) -> Iterator[tuple[str, Any]]:
    from datasets import DatasetDict, load_from_disk

    ds = load_from_disk(str(path))
    if isinstance(ds, DatasetDict):
        if "train" not in ds:
            raise LessonDataError(f"{path}: a DatasetDict without a 'train' split ({', '.join(ds)})")
        ds = ds["train"]
    for i, row in enumerate(ds):
        yield f"{path} row {i}", row


def _check_rows(records: Iterable[tuple[str, Any]]) -> tuple[list[dict[str, Any]], str, bool]:
    """Rows cut to their format's columns, the format, and whether they are conversational.
    Every row must have the first row's format and kind (datasets needs one schema)."""
    rows: list[dict[str, Any]] = []
    fmt, conversational = "", False
    for where, rec in records:
        if not isinstance(rec, dict):
            raise LessonDataError(f"{where}: expected a JSON object, got {type(rec).__name__}")
        row_fmt = detect_format(rec)
        if row_fmt is None and "prompt" in rec:
            raise LessonDataError(f"{where}: a prompt without a completion, chosen/rejected or messages to learn from")
        if row_fmt is None:
            raise LessonDataError(
                f"{where}: keys {sorted(rec)} match no TRL format; expected one of "
                + "; ".join("/".join(cols) for cols in FORMATS.values())
            )
        row = {k: rec[k] for k in FORMATS[row_fmt]}
        row_conv = _check_fields(where, row_fmt, row)
        if not rows:
            fmt, conversational = row_fmt, row_conv
        elif (row_fmt, row_conv) != (fmt, conversational):
            raise LessonDataError(
                f"{where}: a {_kind(row_fmt, row_conv)} row among {_kind(fmt, conversational)} rows; "
                "one lesson set holds one format"
            )
        rows.append(row)
    return rows, fmt, conversational


def detect_format(row: dict[str, Any]) -> str | None:
    for fmt, cols in FORMATS.items():  # ordered most specific first: preference rows also have a prompt
        if all(c in row for c in cols):
            return fmt
    return None


def _kind(fmt: str, conversational: bool) -> str:
    return f"{'conversational' if conversational else 'plain-text'} {fmt}"


def _check_fields(where: str, fmt: str, row: dict[str, Any]) -> bool:
    """Check each column's shape; return whether the row is conversational."""
    if fmt == "messages":
        _check_chat(where, "messages", row["messages"], need_assistant=True)
        return True
    if fmt == "stepwise":
        return isinstance(row["prompt"], list)
    texts = [c for c in FORMATS[fmt] if c in ("prompt", "completion", "chosen", "rejected")]
    conversational = isinstance(row["prompt"], list)
    for col in texts:
        value = row[col]
        if conversational:
            _check_chat(where, col, value, need_assistant=col != "prompt")
        elif not isinstance(value, str) or not value:
            raise LessonDataError(f"{where}: {col!r} must be a non-empty string or a list of messages")
    return conversational


def _check_chat(where: str, col: str, messages: Any, need_assistant: bool) -> None:
    if not isinstance(messages, list) or not messages:
        raise LessonDataError(f"{where}: {col!r} must be a non-empty list of messages")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or not isinstance(m.get("content"), str) or m.get("role") not in ROLES:
            raise LessonDataError(
                f"{where}: {col}[{i}] must be {{'role': system|user|assistant, 'content': str}}, got {m!r:.120}"
            )
    if need_assistant and not any(m["role"] == "assistant" for m in messages):
        raise LessonDataError(f"{where}: {col!r} has no assistant message to learn from")


def check_method(lessons: LessonSet, method: str) -> None:
    """Refuse a method that cannot read the lessons' format, saying which one can."""
    wanted = lessons.method
    if wanted == method:
        return
    if wanted is None:
        raise LessonDataError(
            f"{lessons.path}: stepwise lessons (prompt/completions/labels) train a process reward model, "
            "which `lessons train` does not do; use SFT or preference lessons"
        )
    columns = "/".join(FORMATS[lessons.format])
    raise LessonDataError(f"{lessons.path}: {columns} rows are {wanted.upper()} data; use --method {wanted}")
