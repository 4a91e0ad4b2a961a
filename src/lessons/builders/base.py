"""What lesson building works on and produces: lessons, their provenance, the builder
Protocol and the registry of builders.

A *lesson* is one row in one of TRL's dataset formats plus the record of where it came
from. A *builder* turns a run's train-split attempts and diagnoses (a `LessonSource`)
into lessons of one declared format. Builders are registered by name as lazy
"module:Class" strings, so naming "prompt" never imports what "practice" needs; other
packages add builders through the entry-point group `lessons.builders`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from lessons.registry import Registry

if TYPE_CHECKING:
    from lessons.builders.source import LessonSource

# A builder's declared format: a key of `lessons.lesson_set.LESSON_FORMATS`.
Format = Literal["messages", "prompt_completion", "preference", "stepwise", "prompt", "tasks", "prompts"]


@dataclass(frozen=True)
class Provenance:
    """Where one row came from, so any lesson can be traced to attempts in the log."""

    builder: str
    run_id: str
    task_id: str  # the task the row teaches (for practice: the new task's id)
    attempt_ids: tuple[int, ...] = ()  # attempts the row quotes or was derived from
    source_tasks: tuple[str, ...] = ()  # other tasks the row draws on (in-context examples, practice seeds)
    diagnosis_method: str | None = None  # locator whose first wrong step the row relies on
    args: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)  # the builder's config
    detail: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)  # kind, step, mutation ...

    @property
    def tasks(self) -> tuple[str, ...]:
        """Every task the row depends on: none of them may be held out."""
        return (self.task_id, *self.source_tasks)


@dataclass(frozen=True, eq=False)  # eq=False: rows are dicts; two lessons are the same object or not
class Lesson:
    """One row in TRL's exact format (`row`), and where it came from."""

    row: dict[str, Any]
    provenance: Provenance


class LessonBuilder(Protocol):
    name: str
    format: Format
    needs_diagnoses: bool  # True: the run must be diagnosed first (`lessons diagnose RUN`)
    config_class: type  # a frozen dataclass with commented defaults; saved with every lesson set

    def build(self, source: "LessonSource", config: Any = None) -> list[Lesson]:
        """Lessons from the source's train-split attempts, in a stable order."""
        ...


class NotDiagnosed(ValueError):
    """A builder needs first-wrong-step diagnoses that the run does not have yet."""

    def __init__(self, builder: str, run_name: str):
        super().__init__(
            f"builder {builder!r} needs diagnosed mistakes, and run {run_name!r} has none: "
            f"run `lessons diagnose {run_name}` first"
        )


def require_teacher(builder: str, named: str | None, teacher: Any) -> None:
    """A builder whose config names a teacher model must have been given its backend."""
    if named and teacher is None:
        raise ValueError(
            f"{builder} teacher {named!r} is configured but no teacher model was given: pass the backend as "
            f"make_builder({builder!r}, teacher=backend) (`lessons build` resolves -x teacher= itself)")


class HeldOutLeak(RuntimeError):
    """A lesson draws on a held-out task. Never expected: lesson sources exclude held-out
    tasks when loaded; this is the writer's second check."""


builders: Registry = Registry("builder")
builders.register("prompt", "lessons.builders.prompt:PromptBuilder")
builders.register("correction", "lessons.builders.correction:CorrectionBuilder")
builders.register("rejection", "lessons.builders.rejection:RejectionBuilder")
builders.register("pairs", "lessons.builders.pairs:PairsBuilder")
builders.register("injected", "lessons.builders.injected:InjectedBuilder")
builders.register("practice", "lessons.builders.practice:PracticeBuilder")
builders.register("stepwise", "lessons.builders.stepwise:StepwiseBuilder")
builders.register("rl", "lessons.builders.rl:RLBuilder")
builders.register("feedback", "lessons.builders.feedback:FeedbackBuilder")
builders.register("refusal", "lessons.builders.refusal:RefusalBuilder")
builders.register("retry", "lessons.builders.retry:RetryBuilder")


def make_builder(name: str, **resources: Any) -> LessonBuilder:
    """The builder registered as `name`. `resources` (e.g. `embedder=`) go to the builder
    classes whose constructor takes them; the others ignore them."""
    cls = builders.get(name)
    wanted = getattr(cls, "resources", ())
    return cls(**{k: v for k, v in resources.items() if k in wanted and v is not None})


def make_config(builder: LessonBuilder, options: dict[str, Any] | None = None) -> Any:
    """The builder's config with `options` ({field: value}) applied; values given as text
    (from the command line) are converted to the field's type. Unknown fields are an
    error that lists the known ones."""
    cls = getattr(builder, "config_class", None)
    if cls is None:  # a plugin builder without options
        if options:
            raise ValueError(f"builder {builder.name!r} takes no options")
        return None
    fields = {f.name: f for f in dataclasses.fields(cls)}
    options = options or {}
    unknown = sorted(set(options) - set(fields))
    if unknown:
        raise ValueError(
            f"builder {builder.name!r} has no option {unknown[0]!r}; options: {', '.join(fields) or '(none)'}"
        )
    defaults = cls()
    values = {k: _convert(k, v, getattr(defaults, k), str(fields[k].type)) for k, v in options.items()}
    return cls(**values)


def _convert(name: str, value: Any, default: Any, annotation: str = "") -> Any:
    if not isinstance(value, str) or isinstance(default, str):
        return value
    if default is None and "str" in annotation:  # optional text (a model name): empty means None
        return value or None
    try:
        if isinstance(default, bool):
            if value.lower() in ("1", "true", "yes", "on"):
                return True
            if value.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
        if isinstance(default, tuple):
            return tuple(v.strip() for v in value.split(",") if v.strip())
        if default is None:  # optional number: whole numbers become ints
            return int(value) if value.lstrip("-").isdigit() else float(value)
    except ValueError:
        raise ValueError(f"option {name}={value!r}: expected a {type(default).__name__}") from None
    return value


def config_args(config: Any) -> dict[str, Any]:
    """A config as plain JSON-ready values, for provenance and lesson_set.json."""
    if config is None:
        return {}
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()}
