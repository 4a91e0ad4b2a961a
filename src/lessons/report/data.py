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
    slices: [SliceFigure]        # typed records below; their JSON leaves out None fields
    error_types: [ErrorTypeRow]
    clusters: [{id, name, size, terms, error_types, examples: [{attempt_id, task_id,
                question, response, wrong_step, error_type, gold, answer}]}]
    changes: Changes             # fixed / new: [Change], before / after: ChangeSide
    lineage: [{name, base, kind, lessons: {builder, rows, content_hash, path} | None,
               config, train_loss, created_at}]
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping, Sequence


def _present(record: Any) -> dict[str, Any]:
    """A row's JSON: the fields it has, in order (None ones left out, as a row that lacks
    an arm lacks its keys)."""
    return {f.name: getattr(record, f.name) for f in fields(record) if getattr(record, f.name) is not None}


def _read(cls: type, section: str, row: Mapping[str, Any]) -> Any:
    """`cls` from one JSON row; an unknown or missing key is a one-line error naming the section."""
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(row) - known)
    if unknown:
        raise ValueError(f"report data: {section}: unknown keys {unknown}; known: {', '.join(sorted(known))}")
    try:
        return cls(**row)
    except TypeError as e:
        raise ValueError(f"report data: {section}: {e}") from None


@dataclass(frozen=True, kw_only=True)
class _ArmRow:
    """A row of figures per arm: the treatment's fixed/new/persistent counts when there is
    one; its JSON is the fields it has."""

    fixed: int | None = None
    new: int | None = None
    persistent: int | None = None

    def to_json(self) -> dict[str, Any]:
        return _present(self)


@dataclass(frozen=True, kw_only=True)
class SliceFigure(_ArmRow):
    """One slice's accuracy in each arm (fractions), with 95% intervals."""

    name: str
    weak: bool | None = None
    tasks: int | None = None
    base: float | None = None
    treatment: float | None = None
    control: float | None = None
    base_ci95: Sequence[float] | None = None
    treatment_ci95: Sequence[float] | None = None
    control_ci95: Sequence[float] | None = None


@dataclass(frozen=True, kw_only=True)
class ErrorTypeRow(_ArmRow):
    """Mistakes of one error type in each arm (counts)."""

    type: str
    base: int | None = None
    treatment: int | None = None
    control: int | None = None


@dataclass(frozen=True)
class ChangeSide:
    """A task's first sample before (base) or after (treatment)."""

    attempt_id: int
    answer: str | None
    correct: bool
    response: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Change:
    """A held-out task fixed or newly failed, with both answers."""

    task_id: str
    question: str | None = None
    gold: str | None = None
    slice: str | None = None
    weak: bool | None = None
    error_type: str | None = None
    before: ChangeSide | None = None
    after: ChangeSide | None = None

    def to_json(self) -> dict[str, Any]:
        out = _present(self)
        for side in ("before", "after"):
            if side in out:
                out[side] = out[side].to_json()
        return out

    @classmethod
    def from_json(cls, row: Mapping[str, Any]) -> "Change":
        sides = {k: _read(ChangeSide, f"changes: {k}", row[k]) for k in ("before", "after") if row.get(k) is not None}
        return _read(cls, "changes", {**row, **sides})


@dataclass(frozen=True)
class Changes:
    """The first `MAX_CHANGES` fixed and new mistakes in full, and how many there are."""

    fixed: tuple[Change, ...] = ()
    new: tuple[Change, ...] = ()
    fixed_total: int | None = None
    new_total: int | None = None
    persistent: int | None = None

    def to_json(self) -> dict[str, Any]:
        out = _present(self)
        out["fixed"], out["new"] = [c.to_json() for c in self.fixed], [c.to_json() for c in self.new]
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Changes":
        lists = {k: tuple(Change.from_json(c) for c in data.get(k) or []) for k in ("fixed", "new")}
        return _read(cls, "changes", {**data, **lists})


_ROWS = {"slices": SliceFigure, "error_types": ErrorTypeRow}  # sections that are lists of one record


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
    slices: Sequence[SliceFigure] | None = None
    error_types: Sequence[ErrorTypeRow] | None = None
    clusters: list[Mapping[str, Any]] | None = None
    changes: Changes | None = None
    lineage: list[Mapping[str, Any]] | None = None

    def to_json(self) -> dict[str, Any]:
        """The sections that are there (None ones left out), as JSON values."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}
        for name in _ROWS:
            if name in out:
                out[name] = [row.to_json() for row in out[name]]
        if "changes" in out:
            out["changes"] = out["changes"].to_json()
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "ReportData":
        if not data.get("title"):
            raise ValueError("report data needs a 'title'")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"report data: unknown sections {unknown}; known: {', '.join(sorted(known))}")
        typed = {name: [_read(row_cls, name, row) for row in data[name]]
                 for name, row_cls in _ROWS.items() if data.get(name) is not None}
        if data.get("changes") is not None:
            typed["changes"] = Changes.from_json(data["changes"])
        return cls(**{**data, **typed})
