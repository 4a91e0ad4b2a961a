"""A report of one run (`ReportData`, rendered by `render.py`)."""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict

from lessons.report.data import Headline, ReportData
from lessons.report.figures import Arm, accuracy_figure, clusters, lineage, slice_rows, type_rows
from lessons.store import Store


def run_report_data(store: Store, run_name: str) -> ReportData:
    """A report of one run: accuracy, per-skill slices, error types, taxonomy clusters."""
    run = store.get_run(run_name)
    arm = Arm(store, run.name, run.model_name)
    tasks = sorted(arm.scores)
    return ReportData(
        title=f"lessons run {run.name}", subtitle=f"{run.model_name} on {run.components.suite.name}",
        generated_at=generated_now(),
        config={"run": run.name, "model": run.model_name, "suite": run.suite_id, **asdict(run.components.selection)},
        runs={"base": run.name},
        headline=Headline(tasks=len(tasks), base=accuracy_figure(arm, tasks, 0)),
        slices=slice_rows(arm, None, None, tasks, [], 0),
        error_types=type_rows(arm, None, None, tasks),
        clusters=clusters(store, run.name),
        lineage=lineage(store, [run.model_name]),
    )


def generated_now() -> str:
    """When a report was made, as its header shows it."""
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
