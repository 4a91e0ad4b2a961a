"""What each loop stage hands on: one frozen record per stage, written to the log's
`loop_stages` table and read back here and only here (`stage_to_json`, `stage_from_json`,
keyed by stage name), so `run.py` and `measure.py` read attributes, not string keys.

The JSON is the shape the stages have always written, so loops logged before these
records existed resume and report as they did: keys a stage added later read as their
defaults, keys no record knows are left out, and the `wall_s` the store adds beside each
output becomes the record's `wall_s`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any, Mapping

from lessons.builders.practice import WeakSlice
from lessons.diagnose.slices import SliceSpec
from lessons.loop.target import TargetSlice
from lessons.store import Store

ARMS = ("treatment", "control")


@dataclass(frozen=True)
class StageRecord:
    # Seconds the stage took when it ran (0 until it has run); not part of its JSON, which
    # the store keeps in a column of its own.
    wall_s: float = field(default=0.0, kw_only=True, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self) if f.name != "wall_s"}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Any:
        return cls(**_known(cls, data))


@dataclass(frozen=True)
class Evaluated(StageRecord):
    """heldout-base, eval-train, heldout-<arm>: a model's run on tasks of one split."""

    run: str  # the run's name
    run_id: str
    model: str
    tasks: int
    accuracy: float
    mistakes: int
    tokens_per_second: float = 0.0


@dataclass(frozen=True)
class Diagnosed(StageRecord):
    """diagnose: a run's mistakes located, typed and (on the train split) clustered."""

    run: str
    mistakes: int
    typed: int
    located: int
    by_type: dict[str, int] = field(default_factory=dict)
    clusters: int = 0


@dataclass(frozen=True)
class Topics(StageRecord):
    """topics: the suite's question topics, written as a labels file every later stage
    loads the suite with (`LoopConfig.load_suite`)."""

    path: str
    sha256: str
    sizes: dict[str, int] = field(default_factory=dict)  # tasks of the file by topic, train and held-out


@dataclass(frozen=True)
class HeldoutDiagnosed(StageRecord):
    """diagnose-heldout: the held-out mistakes of every arm, by run name."""

    runs: dict[str, Diagnosed] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"runs": {name: d.to_json() for name, d in self.runs.items()}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "HeldoutDiagnosed":
        return cls({name: Diagnosed.from_json(d) for name, d in (data.get("runs") or {}).items()})


@dataclass(frozen=True)
class Posed:
    """A run of its own in which a model answered given tasks (`_Stages.pose`)."""

    run_name: str
    run_id: str


@dataclass(frozen=True)
class Probe:
    """The run that probed the best target candidates: `samples` of each of `tasks`."""

    run_name: str
    run_id: str
    tasks: int
    samples: int


@dataclass(frozen=True)
class Targeted(StageRecord):
    """target: the slices the round aims at, and the probe that chose them (if any)."""

    slices: tuple[TargetSlice, ...] = ()
    probe: Probe | None = None

    def to_json(self) -> dict[str, Any]:
        return {"slices": [s.to_json() for s in self.slices],
                "probe": dataclasses.asdict(self.probe) if self.probe else None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Targeted":
        probe = data.get("probe")
        return cls(tuple(TargetSlice.from_json(s) for s in data.get("slices") or ()),
                   Probe(**_known(Probe, probe)) if probe else None)


@dataclass(frozen=True)
class PairSets:
    """Each arm's preference pairs (`_Stages.pairs`): `size` for every arm, by arm the
    lesson set's path and content hash."""

    size: int
    paths: dict[str, str] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Built(StageRecord):
    """build: the treatment mix and control set (with DPO, each arm's pairs), as written."""

    rows: int  # treatment rows
    treatment_path: str
    treatment_hash: str
    by_builder: dict[str, int] = field(default_factory=dict)  # treatment rows by builder
    built: dict[str, int] = field(default_factory=dict)  # rows each builder produced, before the mix
    weak_slices: tuple[WeakSlice, ...] = ()  # the train run's weakest slices, worst first
    posed: dict[str, int] = field(default_factory=dict)  # samples asked for, by arm
    probed: int = 0  # samples the target's probe drew
    control_rows: int | None = None  # None: the loop has no control arm
    control_path: str | None = None
    control_hash: str | None = None
    pairs: PairSets | None = None  # None: the loop trains no DPO step

    def rows_of(self, arm: str) -> int | None:
        return self.rows if arm == "treatment" else self.control_rows

    def lessons_path(self, arm: str) -> str | None:
        return self.treatment_path if arm == "treatment" else self.control_path

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in super().to_json().items() if k not in ("pairs", "weak_slices")}
        out = {k: v for k, v in out.items() if v is not None or not k.startswith("control_")}
        out["weak_slices"] = [{"predicates": w.predicates, "error_rate": w.error_rate, "failed": list(w.failed)}
                              for w in self.weak_slices]
        if self.pairs is not None:  # flat, as the build stage has always written them
            out["pairs"] = self.pairs.size
            for arm in self.pairs.paths:
                out |= {f"{arm}_pairs_path": self.pairs.paths[arm], f"{arm}_pairs_hash": self.pairs.hashes[arm]}
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Built":
        weak = tuple(WeakSlice(SliceSpec.from_labels(w["predicates"]), tuple(w.get("failed") or ()),
                               w["error_rate"]) for w in data.get("weak_slices") or ())
        pairs = None
        if "pairs" in data:
            arms = [a for a in ARMS if f"{a}_pairs_path" in data]
            pairs = PairSets(data["pairs"], {a: data[f"{a}_pairs_path"] for a in arms},
                             {a: data.get(f"{a}_pairs_hash", "") for a in arms})
        rest = {k: v for k, v in data.items() if k not in ("weak_slices", "pairs")}
        return cls(**_known(cls, rest), weak_slices=weak, pairs=pairs)


@dataclass(frozen=True)
class Trained(StageRecord):
    """train-<arm>, dpo-<arm>: the model a training run made."""

    model: str  # its registered name
    path: str
    steps: int
    train_loss: float | None = None
    tokens_per_second: float = 0.0
    resumed_from_step: int | None = None


@dataclass(frozen=True)
class Judged(StageRecord):
    """heldout-target: each model's run on the target's further held-out tasks."""

    runs: dict[str, str] = field(default_factory=dict)  # base/treatment/control -> run name
    tasks: int = 0


_BY_STAGE: dict[str, type[StageRecord]] = {
    "topics": Topics, "heldout-base": Evaluated, "eval-train": Evaluated, "diagnose": Diagnosed, "target": Targeted, "build": Built,
    "heldout-target": Judged, "diagnose-heldout": HeldoutDiagnosed,
} | {f"heldout-{arm}": Evaluated for arm in ARMS} | {
    f"{kind}-{arm}": Trained for kind in ("train", "dpo") for arm in ARMS}


def stage_to_json(stage: str, record: StageRecord) -> dict[str, Any]:
    """The stage's output as the log stores it."""
    expected = _record_type(stage)
    if not isinstance(record, expected):
        raise TypeError(f"loop stage {stage!r} outputs {expected.__name__}, not {type(record).__name__}")
    return record.to_json()


def stage_from_json(stage: str, data: Mapping[str, Any]) -> StageRecord:
    """The record of a stage's output as the log stores it (with or without `wall_s`)."""
    try:
        record = _record_type(stage).from_json(data)
    except (KeyError, TypeError) as e:
        raise ValueError(f"loop stage {stage!r} in the log cannot be read ({e}): "
                         "was it written by another lessons?") from None
    return dataclasses.replace(record, wall_s=float(data.get("wall_s") or 0.0))


def load_stages(store: Store, loop: str) -> dict[tuple[int, str], StageRecord]:
    """(round, stage) -> record of every finished stage of the loop."""
    return {(r, stage): stage_from_json(stage, data) for (r, stage), data in store.stages(loop).items()}


def _record_type(stage: str) -> type[StageRecord]:
    if stage not in _BY_STAGE:
        raise ValueError(f"unknown loop stage {stage!r}: use one of {', '.join(_BY_STAGE)}")
    return _BY_STAGE[stage]


def _known(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    """The keys of `data` that are fields of `cls` (`wall_s` aside)."""
    names = {f.name for f in fields(cls)} - {"wall_s"}
    return {k: v for k, v in data.items() if k in names}


def _plain(value: Any) -> Any:
    return dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value
