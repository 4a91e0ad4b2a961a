"""Writing a lesson set: the contract between `lessons build` and `lessons train`.

    DIR/dataset/          datasets.Dataset.save_to_disk: the rows, for `load_from_disk`
    DIR/lessons.jsonl     the same rows, one JSON object a line (TRL format)
    DIR/provenance.jsonl  one line per row, same order: builder, run, task, attempts, args
    DIR/lesson_set.json   builder, args, run, format, counts, content hash, overlap rule

Before writing, every row is checked against its format, any row drawing on a held-out
task stops the write (`HeldOutLeak`: sources exclude them, so this is a second line of
defence), duplicate rows are dropped, and so are rows whose prompt overlaps a held-out
question (see `overlap`). A set is written into a staging folder and moved into place, so
DIR never holds half of one.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from lessons.atomic import replace_dir
from lessons.builders.base import HeldOutLeak, Lesson
from lessons.builders.formats import prompt_text
from lessons.builders.overlap import RULE, OverlapIndex
from lessons.builders.source import HeldOut
from lessons.lesson_set import (
    LESSON_FORMATS, MARKER, LessonDataError, check_row, content_hash, new_manifest, read_manifest, row_key, rows_text,
)


@dataclass(frozen=True)
class LessonSetInfo:
    """What is recorded about a set besides its rows."""

    builder: str
    format: str
    args: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    run: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)  # id, name, model, suite, template
    tally: tuple[str, ...] = ()  # provenance detail flags counted among the written rows (e.g. rl's "hinted")


@dataclass(frozen=True)
class WriteReport:
    path: str
    records: int  # rows written
    built: int  # rows the builder produced
    duplicates: int  # dropped as exact duplicates of an earlier row
    heldout_overlap: int  # dropped: prompt overlaps a held-out question
    over_limit: int  # dropped by the limit
    content_hash: str  # SHA-256 of lessons.jsonl (`lesson_set.content_hash`)

    @property
    def dropped(self) -> dict[str, int]:
        return {"duplicates": self.duplicates, "heldout_overlap": self.heldout_overlap, "limit": self.over_limit}


def check_provenance(lessons: Sequence[Lesson], heldout: HeldOut) -> None:
    """Raise HeldOutLeak if any lesson draws on a held-out task."""
    for lesson in lessons:
        leaked = [t for t in lesson.provenance.tasks if t in heldout.task_ids]
        if leaked:
            raise HeldOutLeak(
                f"lesson from builder {lesson.provenance.builder!r} draws on held-out task {leaked[0]!r} "
                f"(suite {heldout.suite_id}); nothing was written"
            )


def select_rows(
    lessons: Sequence[Lesson], format: str, heldout: HeldOut, limit: int | None = None
) -> tuple[list[Lesson], dict[str, int]]:
    """Check, deduplicate and decontaminate; then keep the first `limit` rows."""
    if format not in LESSON_FORMATS:
        raise ValueError(f"unknown lesson format {format!r}; expected one of {', '.join(LESSON_FORMATS)}")
    check_provenance(lessons, heldout)
    for lesson in lessons:
        check_row(format, lesson.row)
    seen: set[str] = set()
    unique = []
    for lesson in lessons:
        key = row_key(lesson.row)
        if key not in seen:
            seen.add(key)
            unique.append(lesson)
    index = OverlapIndex(heldout.prompts)
    clean = [lesson for lesson in unique if not index.overlaps(prompt_text(lesson.row))]
    kept = clean if limit is None else clean[: max(limit, 0)]
    counts = {"duplicates": len(lessons) - len(unique), "heldout_overlap": len(unique) - len(clean),
              "limit": len(clean) - len(kept)}
    return kept, counts


def write_lesson_set(
    lessons: Sequence[Lesson], out_dir: str | Path, info: LessonSetInfo, heldout: HeldOut,
    limit: int | None = None,
) -> WriteReport:
    """Write the lesson set to `out_dir` (replacing an earlier lesson set there; a folder
    holding anything else is refused)."""
    out = Path(out_dir)
    _check_target(out)
    kept, counts = select_rows(lessons, info.format, heldout, limit)
    with replace_dir(out) as staging:  # a killed build leaves the old set or the new one, never half
        digest = _write_files(staging, kept)
        report = WriteReport(str(out), len(kept), len(lessons), counts["duplicates"], counts["heldout_overlap"],
                             counts["limit"], digest)
        meta = new_manifest(
            info.builder, info.format, info.args, info.run,
            {"records": len(kept), "built": len(lessons), "dropped": report.dropped, **tally(kept, info.tally)}, digest,
            {"suite_id": heldout.suite_id, "tasks": len(heldout.task_ids), **RULE})
        (staging / MARKER).write_text(json.dumps(meta, indent=2, ensure_ascii=False, default=str) + "\n")
    return report


def tally(lessons: Sequence[Lesson], flags: Sequence[str]) -> dict[str, Any]:
    """For each flag, how many rows have it set in their provenance detail, and their share."""
    out: dict[str, Any] = {}
    for flag in flags:
        n = sum(bool(lesson.provenance.detail.get(flag)) for lesson in lessons)
        out |= {flag: n, f"{flag}_share": n / len(lessons) if lessons else 0.0}
    return out


def _check_target(out: Path) -> None:
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).is_file())):
        raise ValueError(f"{out} exists and is not a lesson set: choose an empty or new --out folder")


def _write_files(folder: Path, lessons: Sequence[Lesson]) -> str:
    import datasets  # heavy: only when writing

    rows = [lesson.row for lesson in lessons]
    (folder / "lessons.jsonl").write_text(rows_text(rows), encoding="utf-8")
    with open(folder / "provenance.jsonl", "w", encoding="utf-8") as f:
        for lesson in lessons:
            f.write(json.dumps(dataclasses.asdict(lesson.provenance), sort_keys=True, ensure_ascii=False,
                               default=str) + "\n")
    datasets.Dataset.from_list(rows).save_to_disk(str(folder / "dataset"))
    return content_hash(rows)


def read_lesson_set(path: str | Path) -> dict[str, Any]:
    """The lesson_set.json of a set; refuses a folder without one and a set written by a
    newer version."""
    if not (Path(path) / MARKER).is_file():
        raise LessonDataError(f"{path}: not a lesson set (no {MARKER})")
    return read_manifest(path)
