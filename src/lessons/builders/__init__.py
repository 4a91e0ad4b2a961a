"""Lessons: a run's mistakes turned into training data and prompts in TRL's formats.

    from lessons.builders import build
    summary = build(store, "my-run", "correction", "lessons/correction")
    summary.report.records, summary.format          # 120, "prompt_completion"

`build` makes what a builder takes besides options (an embedder, a teacher model) with
`lessons.deps.Deps`; `build_lesson_set` takes them made already.

Builders (`builders.names()`): prompt, correction, rejection, pairs, injected, practice,
stepwise, rl, feedback (code runs), refusal, retry; others join through the entry-point group
`lessons.builders`. No builder ever sees a held-out task: `load_source` leaves them out and the writer checks again.
"""

from lessons.builders.base import (
    HeldOutLeak, Lesson, LessonBuilder, NotDiagnosed, Provenance, builders, make_builder, make_config,
)
from lessons.builders.pipeline import BuildSummary, build, build_lesson_set
# checks of a worked solution the loop's stages share with the builders
from lessons.builders._solutions import gold_solution, normalized, steps_check_out
from lessons.builders.source import HeldOut, LessonSource, load_heldout, load_source
from lessons.builders.write import LessonSetInfo, WriteReport, read_lesson_set, write_lesson_set
from lessons.lesson_set import LESSON_FORMATS, FormatError, check_row

__all__ = [
    "LESSON_FORMATS", "BuildSummary", "FormatError", "HeldOut", "HeldOutLeak", "Lesson", "LessonBuilder",
    "LessonSetInfo", "LessonSource", "NotDiagnosed", "Provenance", "WriteReport", "build", "build_lesson_set",
    "builders",
    "check_row", "gold_solution", "load_heldout", "normalized", "steps_check_out", "load_source", "make_builder", "make_config", "read_lesson_set",
    "write_lesson_set",
]
