"""The report: one self-contained HTML page (inline CSS, inline SVG charts, no scripts,
no network) from a plain, JSON-able dict of the loop's figures.

    render_report(data) -> str         write_report(data, path) -> Path

`data` (every key optional except `title`; lists may be empty; sections without data
are left out, so a single run's report, with no treatment or control, renders too)::

    title, subtitle, generated_at: str
    config: {name: value}                       shown as a collapsible table
    headline: {tasks, base: {name, accuracy, ci95},
               treatment / control: {name, accuracy, ci95, delta, delta_ci95},
               advantage: {delta, ci95},          # treatment - control, paired
               weak_slices: {tasks, base, treatment, control, treatment_delta,
                             treatment_delta_ci95, control_delta, control_delta_ci95}}
    rounds: [{round, train_run, train_accuracy, mistakes, lessons: {kind: rows},
              rows, steps, treatment_model, control_model, wall_s}]
    slices: [{name, weak, tasks, base, treatment, control,
              base_ci95, treatment_ci95, control_ci95}]
    error_types: [{type, base, treatment, control, fixed, new, persistent}]
    clusters: [{id, name, size, terms, examples: [{attempt_id, task_id, question,
                response, wrong_step, error_type}]}]
    changes: {fixed: [CHANGE], new: [CHANGE], persistent: int}
    lineage: [{name, base, kind, lessons: {builder, rows, content_hash} | None,
               config, created_at}]
    CHANGE = {task_id, question, gold, slice, error_type,
              before / after: {attempt_id, answer, correct, response}}

Accuracies and their intervals are fractions in [0, 1]; deltas are differences of them.
"""

from lessons.report.render import render_report, write_report

__all__ = ["render_report", "write_report"]
