"""What a report shows: `ReportData`, built by `loop_report_data` (a loop) and
`run_report_data` (one run) and rendered by `render.py`. Its JSON form (`to_json`,
`from_json`) is what `--json` prints and what a report can be rendered from.

Every section but `title` is optional; a section left out (None) or empty is not shown,
so a single run's report, with no treatment or control, renders too. Accuracies and their
intervals are fractions in [0, 1]; deltas are differences of them. The sections' rows::

    headline: {tasks, base: FIGURE, treatment / control: FIGURE + {delta, delta_ci95},
               advantage: {delta, ci95},          # treatment - control, paired
               weak_slices: {tasks, slices, base, treatment, control, treatment_delta,
                             treatment_delta_ci95, control_delta, control_delta_ci95},
               target: the headline's shape on the target's tasks + {slices, from_sample, fixed, new}}
    FIGURE = {name, run, accuracy, ci95}
    rounds: [{round, train_run, train_accuracy, mistakes, lessons: {builder: rows}, rows,
              control_rows, steps, treatment_model, control_model, pairs, wall_s, ...}]
    slices: [{name, weak, tasks, base, treatment, control, base_ci95, treatment_ci95,
              control_ci95, fixed, new, persistent}]
    error_types: [{type, base, treatment, control, fixed, new, persistent}]
    clusters: [{id, name, size, terms, error_types, examples: [{attempt_id, task_id,
                question, response, wrong_step, error_type, gold, answer}]}]
    changes: {fixed: [CHANGE], new: [CHANGE], fixed_total, new_total, persistent: int}
    CHANGE = {task_id, question, gold, slice, weak, error_type,
              before / after: {attempt_id, answer, correct, response}}
    lineage: [{name, base, kind, lessons: {builder, rows, content_hash, path} | None,
               config, train_loss, created_at}]
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Mapping


@dataclass(frozen=True)
class ReportData:
    title: str
    subtitle: str | None = None
    generated_at: str | None = None  # "YYYY-MM-DD HH:MM UTC"
    config: Mapping[str, Any] | None = None  # shown as a collapsible table
    runs: Mapping[str, str] | None = None  # base/treatment/control -> the held-out run measured
    wall_s: float | None = None  # a loop's stages, summed
    headline: Mapping[str, Any] | None = None
    target: Mapping[str, Any] | None = None  # the last round's target, with its changes and error types
    rounds: list[Mapping[str, Any]] | None = None
    slices: list[Mapping[str, Any]] | None = None
    error_types: list[Mapping[str, Any]] | None = None
    clusters: list[Mapping[str, Any]] | None = None
    changes: Mapping[str, Any] | None = None
    lineage: list[Mapping[str, Any]] | None = None

    def to_json(self) -> dict[str, Any]:
        """The sections that are there (None ones left out), as JSON values."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "ReportData":
        if not data.get("title"):
            raise ValueError("report data needs a 'title'")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"report data: unknown sections {unknown}; known: {', '.join(sorted(known))}")
        return cls(**data)
