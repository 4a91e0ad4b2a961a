"""Reading a lesson set for training: a `lessons build` output directory, or a JSONL file.

Rows must already be in one of TRL's dataset formats (the contract, with the row checks
and the content hash, is `lessons.lesson_set`); the target model's chat template is
applied later, by TRL, at training time. Every row is checked here so that a bad line
stops the run before a model is loaded, with the file and line named.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from lessons.lesson_set import (
    DETECTED, LESSON_FORMATS, LessonDataError, check_trainable_row, content_hash, detect_format, read_manifest,
)
from lessons.train.config import METHODS


@dataclass(frozen=True)
class LessonSet:
    path: str  # the file or dataset directory the rows came from
    rows: tuple[dict[str, Any], ...] = field(repr=False)  # only the format's columns
    format: str  # a key of LESSON_FORMATS that detect_format recognises
    conversational: bool  # messages lists (chat template applied by TRL) rather than plain strings
    content_hash: str  # lesson_set.content_hash of the rows: the hash `lessons build` records for them
    manifest: dict[str, Any] = field(default_factory=dict)  # lesson_set.json written by `lessons build`, if any

    @property
    def method(self) -> str | None:
        return LESSON_FORMATS[self.format].method

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
        manifest = read_manifest(path)
        _check_trainable(path, manifest)
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
    # A manifest's own content_hash is not checked against it: sets written before the
    # hash was shared recorded it the same way, and a hand-edited manifest should not stop a run.
    return LessonSet(str(source.resolve()), tuple(rows), fmt, conversational, content_hash(rows), manifest)


def _check_trainable(path: Path, manifest: dict[str, Any]) -> None:
    declared = LESSON_FORMATS.get(manifest.get("format") or "")
    if declared is not None and declared.method is None:
        raise LessonDataError(
            f"{path}: a lesson set of {declared.untrainable} ({declared.name}) has no answers to train on; "
            "train on SFT (messages, prompt_completion), preference or RL (prompts) lessons"
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
            raise LessonDataError(
                f"{where}: a prompt without a completion, chosen/rejected, messages or answer/verifier to learn from")
        if row_fmt is None:
            raise LessonDataError(
                f"{where}: keys {sorted(rec)} match no TRL format; expected one of "
                + "; ".join("/".join(LESSON_FORMATS[f].columns) for f in DETECTED)
            )
        spec = LESSON_FORMATS[row_fmt]
        row = {k: rec[k] for k in spec.columns + spec.optional if k in rec}
        row_conv = check_trainable_row(where, row_fmt, row)
        if row_fmt == "prompts":
            _check_reward_columns(where, row)
        if not rows:
            fmt, conversational = row_fmt, row_conv
        elif (row_fmt, row_conv) != (fmt, conversational):
            raise LessonDataError(
                f"{where}: a {_kind(row_fmt, row_conv)} row among {_kind(fmt, conversational)} rows; "
                "one lesson set holds one format"
            )
        rows.append(row)
    return rows, fmt, conversational


def _check_reward_columns(where: str, row: dict[str, Any]) -> None:
    """A prompts row's verifier and extraction methods must exist: the reward needs them."""
    from lessons.verify import METHODS as EXTRACT_METHODS, verifiers

    if row["verifier"] not in verifiers.names():
        raise LessonDataError(f"{where}: verifier {row['verifier']!r} is not one of {', '.join(verifiers.names())}")
    unknown = [m for m in row.get("extract") or () if m not in EXTRACT_METHODS]
    if unknown:
        raise LessonDataError(f"{where}: extract method {unknown[0]!r} is not one of {', '.join(EXTRACT_METHODS)}")


def _kind(fmt: str, conversational: bool) -> str:
    return f"{'conversational' if conversational else 'plain-text'} {fmt}"


def check_method(lessons: LessonSet, method: str) -> None:
    """Refuse a method that cannot read the lessons' format, saying which one can."""
    wanted = lessons.method
    if wanted == method:
        return
    if wanted not in METHODS:  # stepwise rows train a process reward model
        raise LessonDataError(
            f"{lessons.path}: stepwise lessons (prompt/completions/labels) train a process reward model, "
            "which `lessons train` does not do; use SFT or preference lessons"
        )
    columns = "/".join(LESSON_FORMATS[lessons.format].columns)
    raise LessonDataError(f"{lessons.path}: {columns} rows are {wanted.upper()} data; use --method {wanted}")
