"""What a report shows: `ReportData`, built by `loop_report_data` (a loop) and
`run_report_data` (one run) and rendered by `render.py`. Its JSON form (`to_json`,
`from_json`) is what `--json` prints and what a report can be rendered from.

Every section but `title` is optional; a section left out (None) or empty is not shown,
so a single run's report, with no treatment or control, renders too. Accuracies and their
intervals are fractions in [0, 1]; deltas are differences of them. The sections' rows::

    headline: Headline           # every arm on the random sample (Figures), weak_slices, target
    target: TargetFigures        # the same shape on the target's tasks + slices, from_sample,
                                 # fixed, new, persistent, error_types
    rounds: [RoundRow]           # train run, lessons by builder, budget, models, losses
    slices: [SliceFigure]        # typed records (below) all; their JSON leaves out None fields
    error_types: [ErrorTypeRow]
    clusters: [ClusterRow]       # examples: [ClusterExample]
    changes: Changes             # fixed / new: [Change], before / after: ChangeSide
    lineage: [ModelLineage]      # lessons: LineageLessons
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar, Mapping, Sequence


@dataclass(frozen=True, kw_only=True)
class _Record:
    """A typed row of the report. Its JSON is the fields it has, in order (None ones left
    out, as a row that lacks an arm lacks its keys), nested records as their JSON; it is
    read back from that JSON by `read`, an unknown or missing key being a one-line error
    that names the section."""

    _nested: ClassVar[Mapping[str, type]] = {}  # field -> the record it holds
    _lists: ClassVar[Mapping[str, type]] = {}  # field -> the record each of its items is
    _keep_none: ClassVar[bool] = False  # a row whose None fields are shown as null

    def to_json(self) -> dict[str, Any]:
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and not self._keep_none:
                continue
            if f.name in self._nested and value is not None:
                value = value.to_json()
            elif f.name in self._lists and value is not None:
                value = [item.to_json() for item in value]
            out[f.name] = value
        return out

    @classmethod
    def read(cls, section: str, row: Mapping[str, Any]) -> Any:
        if not isinstance(row, Mapping):
            raise ValueError(f"report data: {section}: expected an object, got {type(row).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(row) - known)
        if unknown:
            raise ValueError(f"report data: {section}: unknown keys {unknown}; known: {', '.join(sorted(known))}")
        values = dict(row)
        for name, record in cls._nested.items():
            if values.get(name) is not None:
                values[name] = record.read(f"{section}: {name}", values[name])
        for name, record in cls._lists.items():
            if values.get(name) is not None:
                values[name] = tuple(record.read(f"{section}: {name}", item) for item in values[name])
        try:
            return cls(**values)
        except TypeError as e:
            raise ValueError(f"report data: {section}: {e}") from None


@dataclass(frozen=True, kw_only=True)
class _ArmRow(_Record):
    """A row of figures per arm: the treatment's fixed/new/persistent counts when there is
    one."""

    fixed: int | None = None
    new: int | None = None
    persistent: int | None = None


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
class RoundRow(_Record):
    """What one round of a loop did (`loop.measure`): its train run, lessons, budget,
    models, losses and wall time; None for what it has not done (yet)."""

    round: int
    train_run: str | None = None
    train_accuracy: float | None = None
    mistakes: int | None = None
    lessons: Mapping[str, int] | None = None  # treatment rows by builder
    rows: int | None = None
    control_rows: int | None = None
    steps: int | None = None
    treatment_model: str | None = None
    control_model: str | None = None
    pairs: int | None = None
    treatment_loss: float | None = None
    control_loss: float | None = None
    wall_s: float | None = None
    weak_slices: Sequence[str] | None = None
    target: Sequence[str] | None = None
    posed: Mapping[str, int] | None = None  # samples asked for, by arm


@dataclass(frozen=True, kw_only=True)
class ErrorTypeRow(_ArmRow):
    """Mistakes of one error type in each arm (counts)."""

    type: str
    base: int | None = None
    treatment: int | None = None
    control: int | None = None


@dataclass(frozen=True, kw_only=True)
class Figure(_Record):
    """One arm's accuracy on a set of tasks, with its 95% interval; for the treatment and
    the control also the paired change from the base, with its interval."""

    name: str | None = None  # the model
    run: str | None = None  # the run measured
    accuracy: float | None = None
    ci95: Sequence[float] | None = None
    delta: float | None = None
    delta_ci95: Sequence[float] | None = None


@dataclass(frozen=True, kw_only=True)
class Advantage(_Record):
    """Treatment − control, paired by task, with its 95% interval."""

    delta: float | None = None
    ci95: Sequence[float] | None = None


@dataclass(frozen=True, kw_only=True)
class Figures(_Record):
    """Every arm on the same tasks: base, treatment and control, and the advantage."""

    _nested = {"base": Figure, "treatment": Figure, "control": Figure, "advantage": Advantage}

    tasks: int | None = None
    base: Figure | None = None
    treatment: Figure | None = None
    control: Figure | None = None
    advantage: Advantage | None = None

    @property
    def arms(self) -> dict[str, Figure]:
        """The arms there are, base first."""
        return {k: getattr(self, k) for k in ("base", "treatment", "control") if getattr(self, k) is not None}


@dataclass(frozen=True, kw_only=True)
class WeakSlices(_Record):
    """The held-out tasks in any of the round's weak slices: accuracy (fractions) of each
    arm and the paired changes, with their intervals."""

    tasks: int | None = None
    slices: Sequence[str] | None = None
    base: float | None = None
    treatment: float | None = None
    control: float | None = None
    treatment_delta: float | None = None
    treatment_delta_ci95: Sequence[float] | None = None
    control_delta: float | None = None
    control_delta_ci95: Sequence[float] | None = None
    advantage: float | None = None
    advantage_ci95: Sequence[float] | None = None


@dataclass(frozen=True, kw_only=True)
class TargetFigures(Figures):
    """The round's target, chosen before training: the figures of every arm on its
    held-out tasks, how many of them came from the random sample, the treatment's fixed,
    new and persistent mistakes there, and its error types (left out of the headline's
    copy)."""

    _lists = {"error_types": ErrorTypeRow}

    slices: Sequence[str] | None = None
    from_sample: int | None = None
    fixed: int | None = None
    new: int | None = None
    persistent: int | None = None
    error_types: Sequence[ErrorTypeRow] | None = None


@dataclass(frozen=True, kw_only=True)
class Headline(Figures):
    """What the report leads with: every arm on the random held-out sample, the weak
    slices, and the target."""

    _nested = {**Figures._nested, "weak_slices": WeakSlices, "target": TargetFigures}

    weak_slices: WeakSlices | None = None
    target: TargetFigures | None = None


@dataclass(frozen=True, kw_only=True)
class ChangeSide(_Record):
    """A task's first sample before (base) or after (treatment)."""

    _keep_none = True

    attempt_id: int
    answer: str | None
    correct: bool
    response: str


@dataclass(frozen=True, kw_only=True)
class Change(_Record):
    """A held-out task fixed or newly failed, with both answers."""

    _nested = {"before": ChangeSide, "after": ChangeSide}

    task_id: str
    question: str | None = None
    gold: str | None = None
    slice: str | None = None
    weak: bool | None = None
    error_type: str | None = None
    before: ChangeSide | None = None
    after: ChangeSide | None = None


@dataclass(frozen=True, kw_only=True)
class Changes(_Record):
    """The first `MAX_CHANGES` fixed and new mistakes in full, and how many there are."""

    _lists = {"fixed": Change, "new": Change}

    fixed: tuple[Change, ...] = ()
    new: tuple[Change, ...] = ()
    fixed_total: int | None = None
    new_total: int | None = None
    persistent: int | None = None


@dataclass(frozen=True, kw_only=True)
class ClusterExample(_Record):
    """A mistake shown under its cluster: the task, the response and its first wrong step
    (None where the diagnosis found none)."""

    attempt_id: int | None = None
    task_id: str | None = None
    question: str | None = None
    response: str | None = None
    wrong_step: str | None = None
    error_type: str | None = None
    gold: str | None = None
    answer: str | None = None


@dataclass(frozen=True, kw_only=True)
class ClusterRow(_Record):
    """A cluster of the error taxonomy: its name, size, top terms, error types and a few
    of its mistakes."""

    _lists = {"examples": ClusterExample}

    name: str
    id: int | None = None
    size: int | None = None
    terms: Sequence[str] | None = None
    error_types: Mapping[str, int] | None = None
    examples: Sequence[ClusterExample] | None = None


@dataclass(frozen=True, kw_only=True)
class LineageLessons(_Record):
    """The lesson set a model version was trained on (its hash cut to 12 characters)."""

    builder: str | None = None
    rows: int | None = None
    content_hash: str | None = None
    path: str | None = None


@dataclass(frozen=True, kw_only=True)
class ModelLineage(_Record):
    """A model in the report: packaged, or trained from `base` on `lessons` with a few of
    its training settings."""

    _nested = {"lessons": LineageLessons}

    name: str
    base: str | None = None
    kind: str | None = None  # "packaged" or "trained"
    lessons: LineageLessons | None = None
    config: Mapping[str, Any] | None = None
    train_loss: float | None = None
    created_at: str | None = None


_SECTIONS: Mapping[str, type] = {"headline": Headline, "target": TargetFigures, "changes": Changes}
_ROWS: Mapping[str, type] = {"rounds": RoundRow, "slices": SliceFigure, "error_types": ErrorTypeRow,
                             "clusters": ClusterRow, "lineage": ModelLineage}  # lists of one record


@dataclass(frozen=True)
class ReportData:
    title: str
    subtitle: str | None = None
    generated_at: str | None = None  # "YYYY-MM-DD HH:MM UTC"
    config: Mapping[str, Any] | None = None  # shown as a collapsible table
    runs: Mapping[str, str] | None = None  # base/treatment/control -> the held-out run measured
    wall_s: float | None = None  # a loop's stages, summed
    headline: Headline | None = None
    target: TargetFigures | None = None  # the last round's target, with its error types
    rounds: Sequence[RoundRow] | None = None
    slices: Sequence[SliceFigure] | None = None
    error_types: Sequence[ErrorTypeRow] | None = None
    clusters: Sequence[ClusterRow] | None = None
    changes: Changes | None = None
    lineage: Sequence[ModelLineage] | None = None

    def to_json(self) -> dict[str, Any]:
        """The sections that are there (None ones left out), as JSON values."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}
        for name in _SECTIONS:
            if name in out:
                out[name] = out[name].to_json()
        for name in _ROWS:
            if name in out:
                out[name] = [row.to_json() for row in out[name]]
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "ReportData":
        if not data.get("title"):
            raise ValueError("report data needs a 'title'")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"report data: unknown sections {unknown}; known: {', '.join(sorted(known))}")
        typed = {name: record.read(name, data[name]) for name, record in _SECTIONS.items()
                 if data.get(name) is not None}
        typed |= {name: [row_cls.read(name, row) for row in data[name]]
                  for name, row_cls in _ROWS.items() if data.get(name) is not None}
        return cls(**{**data, **typed})
