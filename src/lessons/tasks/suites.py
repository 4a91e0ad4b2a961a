"""Finding a suite by name or path, and summarising a list of tasks."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterable

from lessons.arith import parse_number
from lessons.registry import Registry, UnknownName
from lessons.tasks.base import Suite, Task
from lessons.tasks.files import TASK_FILE_FORMATS, FieldMap, FileSuite

# Built-in suites: name -> a factory taking the spec's keyword parameters ("arith:seed=3").
# Other packages add suites through the entry-point group `lessons.suites`.
SUITES: Registry[Callable[..., Suite]] = Registry("suite")
SUITES.register("arith", "lessons.tasks.arith:ArithSuite")
SUITES.register("humaneval", "lessons.tasks.humaneval:HumanEvalSuite")
SUITES.register("code", "lessons.tasks.code:CodeSuite")


class UnknownSuite(UnknownName):
    """Neither a built-in suite nor an existing file; the message says both are accepted."""

    def __init__(self, name: str, known: list[str]):
        super().__init__("suite", name, known)
        looks_like_path = Path(name).suffix.lower() in {f".{f}" for f in TASK_FILE_FORMATS} or "/" in name
        reason = f"no such file {name!r}" if looks_like_path else f"unknown suite {name!r}"
        self.args = (
            f"{reason}; built-in suites: {', '.join(known) or '(none)'}; "
            "or give the path of a task file (.jsonl, .json, .csv, .parquet)",
        )


def load_suite(spec: str, field_map: FieldMap | None = None, labels: str | Path | None = None) -> Suite:
    """A suite from a spec: a built-in name with optional parameters ("arith",
    "arith:seed=3,other=x") or the path of an existing task file, with `labels` (a task
    file's labels file: `lessons.tasks.files`) added to its tasks' metadata."""
    name, _, params = spec.partition(":")
    if name in SUITES.names():
        if labels is not None:
            raise ValueError(f"suite {spec!r} is built in and labels its own tasks: a labels file is for task files")
        factory = SUITES.get(name)
        kwargs = _parse_params(spec, params)
        try:
            return factory(**kwargs)
        except TypeError as e:
            raise ValueError(f"bad parameters for suite {name!r} in {spec!r}: {e}") from e
    if Path(spec).is_file():
        return FileSuite(spec, field_map, labels=labels)
    raise UnknownSuite(spec, SUITES.names())


def _parse_params(spec: str, params: str) -> dict[str, Any]:
    """ "seed=3,name=x" -> {"seed": 3, "name": "x"}; whole numbers become ints."""
    kwargs: dict[str, Any] = {}
    for item in filter(None, (p.strip() for p in params.split(","))):
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise ValueError(f"bad suite parameter {item!r} in {spec!r}; expected key=value")
        value = value.strip()
        kwargs[key.strip()] = int(value) if value.lstrip("-").isdigit() else value
    return kwargs


def summarize(tasks: Iterable[Task]) -> dict[str, Any]:
    """Counts for `lessons tasks`: tasks, by skill (tasks with a skill only), by split,
    and how many gold answers read as a number or fraction."""
    tasks = list(tasks)
    by_skill = Counter(t.skill for t in tasks if t.skill is not None)
    by_split = Counter(t.split for t in tasks)
    return {
        "tasks": len(tasks),
        "by_skill": dict(sorted(by_skill.items())),
        "by_split": {"train": by_split["train"], "heldout": by_split["heldout"]},
        "numeric_answers": sum(is_numeric(t.answer) for t in tasks),
    }


def is_numeric(answer: str) -> bool:
    """Whether an answer reads as one number: "72", "-3", "12.5", "7/12", "1,234", "$5"."""
    return parse_number(answer) is not None
