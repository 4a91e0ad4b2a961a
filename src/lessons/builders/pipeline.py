"""Build one lesson set from a run: load the source, run the builder, write the set."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lessons.builders.base import NotDiagnosed, config_args, make_builder, make_config
from lessons.builders.source import load_heldout, load_source
from lessons.builders.write import LessonSetInfo, WriteReport, write_lesson_set
from lessons.deps import Deps
from lessons.lesson_set import LESSON_FORMATS
from lessons.store.db import Store


@dataclass(frozen=True)
class BuildSummary:
    builder: str
    format: str
    run_id: str
    run_name: str
    report: WriteReport
    excluded_attempts: int  # attempts on held-out tasks, never offered to the builder
    train_method: str | None  # what `lessons train` does with this format
    rejected: dict[str, int] = field(default_factory=dict)  # candidates the builder dropped, by reason (if it counts)


def build_lesson_set(
    store: Store, run_name: str, kind: str, out_dir: str | Path, options: dict[str, Any] | None = None,
    limit: int | None = None, embedder: Any = None, diagnosis_method: str | None = None, teacher: Any = None,
) -> BuildSummary:
    """Build lessons of `kind` from the run's train split and write them to `out_dir`.
    `options` set fields of the builder's config (text values are converted); `limit`
    caps the rows written (the first ones, in the builder's order). `embedder` and
    `teacher` (a model backend) go to the builders that take them."""
    builder = make_builder(kind, embedder=embedder, teacher=teacher)
    config = make_config(builder, options)
    source = load_source(store, run_name, diagnosis_method)
    if getattr(builder, "needs_diagnoses", False) and source.mistakes() and not source.diagnoses:
        raise NotDiagnosed(kind, source.run.name)
    lessons = builder.build(source, config)
    run = source.run
    info = LessonSetInfo(
        builder=kind, format=builder.format, args=config_args(config),
        run={"id": run.id, "name": run.name, "model": run.model_name, "model_version_id": run.model_version_id,
             "suite_id": run.suite_id, "template": source.template.name},
        tally=tuple(getattr(builder, "tally", ())),
    )
    report = write_lesson_set(lessons, out_dir, info, load_heldout(store, run), limit)
    return BuildSummary(kind, builder.format, run.id, run.name, report, source.excluded_attempts,
                        LESSON_FORMATS[builder.format].method, dict(getattr(builder, "rejected", None) or {}))


def build(
    store: Store, run_name: str, kind: str, out_dir: str | Path, options: dict[str, Any] | None = None,
    deps: Deps | None = None, limit: int | None = None, diagnosis_method: str | None = None,
) -> BuildSummary:
    """`build_lesson_set` with the builder's resources made by `deps` (`lessons.deps`): the
    embedder for builders that take one, the backend of the `teacher` the options name."""
    deps = deps or Deps()
    resources = deps.builder_resources(kind, options or {}, store)
    return build_lesson_set(store, run_name, kind, out_dir, options, limit, diagnosis_method=diagnosis_method,
                            **resources)
