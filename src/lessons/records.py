"""Records that cross stage boundaries and land in the mistake log: attempts, runs,
diagnoses and the taxonomy's clusters. They live here, below both `store/` and the stages
that make them, so the store reads and writes them without importing a stage."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Mapping

import numpy as np

from lessons.models.base import Completion, SamplingParams
from lessons.sandbox.records import Execution
from lessons.verify.base import Verdict


@dataclass(frozen=True)
class Attempt:
    """One model response to one task, with its verdict. `sample` numbers the
    responses to the same task within a run (0..n-1)."""

    run_id: str
    task_id: str
    sample: int
    completion: Completion
    verdict: Verdict

    @property
    def is_mistake(self) -> bool:
        return not self.verdict.correct


@dataclass(frozen=True)
class ModelComponent:
    name: str = ""  # what the user typed or the registered name
    backend: str = ""  # "transformers", "openai", ...
    source: str = ""  # where the weights or endpoint come from
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SuiteComponent:
    name: str = ""
    id: str = ""
    source: str = ""  # "builtin:arith" or a task file's path
    args: dict[str, Any] = field(default_factory=dict)  # the suite's parameters, enough to rebuild it


@dataclass(frozen=True)
class TemplateComponent:
    name: str = ""
    id: str = ""


@dataclass(frozen=True)
class VerifierComponent:
    name: str = "math"
    extract: tuple[str, ...] = ()  # answer extraction methods; empty: the verifier's defaults


@dataclass(frozen=True)
class Selection:
    """Which of the suite's tasks the run covers."""

    split: str = "all"
    limit: int | None = None


@dataclass(frozen=True)
class LessonsComponent:
    """In-context lessons that prompted the run (`lessons eval --lessons DIR`), if any."""

    name: str = ""  # the arm: "lessons", or "few-shot" (its same-length control)
    path: str = ""  # the lesson set's folder
    content_hash: str = ""  # which lessons
    source_run: str = ""  # the run they were built from
    examples: int = 0  # past mistakes shown per question
    seed: int | None = None  # the few-shot draw


@dataclass(frozen=True)
class SourceComponent:
    """Where an imported run came from (`lessons import`): the tool, its log, its settings,
    its aggregate metrics and its own score of each attempt, keyed "task_id#sample"."""

    tool: str = ""  # "lm-eval" or "inspect"
    path: str = ""
    task: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    scores: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunComponents:
    """Every component of a run as (name, args), so a run can be rebuilt and compared
    honestly. `to_json`/`from_json` are the one place its JSON is written and read; a
    component or field missing from a log reads as its default."""

    model: ModelComponent = ModelComponent()
    suite: SuiteComponent = SuiteComponent()
    template: TemplateComponent = TemplateComponent()
    verifier: VerifierComponent = VerifierComponent()
    selection: Selection = Selection()
    lessons: LessonsComponent | None = None  # absent from the JSON of a run without them
    source: SourceComponent | None = None  # an imported run's tool and scores; absent otherwise

    def to_json(self) -> dict[str, Any]:
        out = {f.name: asdict(getattr(self, f.name)) for f in fields(self) if getattr(self, f.name) is not None}
        out["verifier"]["extract"] = list(self.verifier.extract)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "RunComponents":
        optional = {"lessons": LessonsComponent, "source": SourceComponent}
        parts = {f.name: _component(f.default.__class__, data.get(f.name) or {}) for f in fields(cls)
                 if f.name not in optional}
        verifier = parts["verifier"]
        parts["verifier"] = VerifierComponent(verifier.name, tuple(verifier.extract or ()))
        extra = {name: _component(kind, data[name]) if data.get(name) else None for name, kind in optional.items()}
        return cls(**parts, **extra)


def _component(cls: type, data: Mapping[str, Any]) -> Any:
    """`cls` from its JSON, keys it does not know left out."""
    known = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class RunRecord:
    id: str
    name: str
    suite_id: str
    model_version_id: str
    model_name: str
    template_id: str
    sampling: SamplingParams
    components: RunComponents
    task_ids: tuple[str, ...]
    status: str
    created_at: str
    finished_at: str | None


@dataclass(frozen=True)
class LoopRecord:
    """A `lessons loop` in the log: its name, the identity it was started with (the
    config's settings that decide its results, as `LoopConfig.identity` gives them), where
    it writes, and when it started and finished."""

    name: str
    config: Mapping[str, Any]
    out_dir: str
    created_at: str
    finished_at: str | None


@dataclass(frozen=True)
class ModelVersion:
    """A model version in the log: its identity (backend, source, args), the version it
    was trained from, and its lineage (empty for a model not trained here): base model,
    lesson set, training config and outcome, as `lessons.train.lineage` records them."""

    id: str
    name: str
    backend: str
    source: str
    args: Mapping[str, Any]
    parent_id: str | None
    lineage: Mapping[str, Any]
    created_at: str

    @property
    def trained(self) -> bool:
        return bool(self.lineage)


@dataclass(frozen=True)
class AttemptRow:
    """An attempt as stored, with the task fields a reader needs beside it."""

    id: int
    run_id: str
    task_id: str
    sample: int
    text: str
    answer: str | None
    extraction_status: str
    extraction_method: str | None
    correct: bool
    verifier: str
    verdict_detail: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    logprob: float | None
    latency_s: float
    created_at: str
    prompt: str
    gold: str
    skill: str | None
    split: str
    metadata: dict[str, Any]
    execution: Execution | None = None  # code attempts: what running the tests gave


@dataclass(frozen=True)
class Step:
    """One step of a response; `text == response[start:end]`."""

    index: int  # 0-based position among the response's steps
    text: str
    start: int  # character offsets into the response
    end: int


@dataclass(frozen=True)
class Location:
    """Where a solution first goes wrong, by one method."""

    step: int | None  # 0-based index of the first wrong step; None: nothing found wrong
    method: str  # "arith", "rollout", "critic", "consensus"
    confidence: float  # 0..1: how sure the method is of this step (or of "no error")
    detail: str = ""  # human-readable reason, e.g. "7 × 8 = 54 (is 56)"
    tokens: int = 0  # tokens the method generated to decide (0 for rule-based methods)
    evidence: str = ""  # what kind of finding: "false_statement", "gold_mismatch", "wrong_answer", ...


@dataclass(frozen=True)
class Diagnosis:
    """What is known about one mistake: its steps, where it first goes wrong (by one
    method) and its error types."""

    attempt_id: int
    steps: tuple[Step, ...]
    location: Location
    error_types: tuple[str, ...]  # most specific first, never empty
    # The locating method's arguments (JSON values), recorded as a run records its
    # components: the same method with other arguments is another diagnosis, not a rewrite.
    method_args: dict[str, Any] = field(default_factory=dict)

    @property
    def error_type(self) -> str:
        return self.error_types[0]


@dataclass(frozen=True, eq=False)  # eq=False: numpy centroids do not compare as booleans
class Cluster:
    """A group of similar mistakes in the living taxonomy; its id never changes."""

    id: int
    name: str
    terms: tuple[str, ...]  # most distinctive terms, best first
    centroid: np.ndarray  # (dim,) float32, unit length; fixed once the cluster exists
    size: int  # members (in the log: all members; from an update: the items it placed)
    examples: tuple[str, ...]  # keys of the items closest to the centroid
    radius: float = 1.0  # similarity its least similar founding member had; joins need min(threshold, radius)
    generation: int = 0  # update in which it was born; older generations are offered items first
