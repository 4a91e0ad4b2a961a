"""ProcessBench: find the first wrong step of solutions labelled by people.

Each item is a problem, a solution already split into steps, and `label`: the 0-based
index of the first wrong step, or -1 when every step is right. A locator is scored as
ProcessBench scores a model: accuracy on erroneous items (exact step), accuracy on correct
items (nothing flagged), and their harmonic mean F1. Two more numbers say what a rule-based
locator is good for: `flag_precision` (how often a flag is the labelled step) and
`coverage` (how many erroneous items get any flag).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from lessons.diagnose.base import Case, Location, Locator, locate_all
from lessons.diagnose.steps import steps_from_list

SUBSETS = ("gsm8k", "math", "olympiadbench", "omnimath")


@dataclass(frozen=True)
class ProcessBenchItem:
    id: str
    generator: str  # the model that wrote the solution
    problem: str
    steps: tuple[str, ...]
    label: int  # -1: no wrong step; else 0-based index of the first wrong step
    final_answer_correct: bool


class ProcessBenchError(ValueError):
    """A ProcessBench file or item that does not have the expected shape."""


def load_processbench(path: str | Path) -> list[ProcessBenchItem]:
    """Items of one ProcessBench subset file (a JSON list, as released)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ProcessBenchError(f"{path}: cannot read ProcessBench JSON: {exc}") from exc
    if not isinstance(data, list):
        raise ProcessBenchError(f"{path}: expected a JSON list of items, got {type(data).__name__}")
    return [_item(raw, path, i) for i, raw in enumerate(data)]


def _item(raw: Any, path: Path, index: int) -> ProcessBenchItem:
    where = f"{path}: item {index}"
    if not isinstance(raw, dict):
        raise ProcessBenchError(f"{where}: expected an object, got {type(raw).__name__}")
    missing = [k for k in ("id", "problem", "steps", "label") if k not in raw]
    if missing:
        raise ProcessBenchError(f"{where}: missing field(s) {', '.join(missing)}")
    steps, label = raw["steps"], raw["label"]
    if not isinstance(steps, list) or not all(isinstance(s, str) for s in steps):
        raise ProcessBenchError(f"{where}: 'steps' must be a list of strings")
    if isinstance(label, bool) or not isinstance(label, int) or not -1 <= label < len(steps):
        raise ProcessBenchError(f"{where}: 'label' must be -1 or a step index below {len(steps)}, got {label!r}")
    return ProcessBenchItem(
        id=str(raw["id"]),
        generator=str(raw.get("generator", "")),
        problem=str(raw["problem"]),
        steps=tuple(steps),
        label=label,
        final_answer_correct=bool(raw.get("final_answer_correct", label == -1)),
    )


def to_case(item: ProcessBenchItem) -> Case:
    """The item as a case: ProcessBench gives no gold answer, so `answer` stays None."""
    return Case(question=item.problem, steps=steps_from_list(item.steps), answer=None, key=item.id)


def score_processbench(items: Sequence[ProcessBenchItem], locations: Sequence[Location]) -> dict[str, float]:
    """ProcessBench's scores for one locator's predictions (same order as `items`).

    acc_error: erroneous items whose predicted step is the label; acc_correct: correct
    items with nothing flagged; f1: their harmonic mean (0 when both are 0), as in
    ProcessBench's evaluation. flag_precision: flagged predictions, over all items, whose
    step is the label; coverage: erroneous items with any flag.
    """
    if len(items) != len(locations):
        raise ValueError(f"{len(items)} items but {len(locations)} locations")
    pairs = list(zip(items, locations))
    erroneous = [(it, loc) for it, loc in pairs if it.label != -1]
    correct = [(it, loc) for it, loc in pairs if it.label == -1]
    flagged = [(it, loc) for it, loc in pairs if loc.step is not None]
    acc_error = _share(sum(loc.step == it.label for it, loc in erroneous), len(erroneous))
    acc_correct = _share(sum(loc.step is None for _, loc in correct), len(correct))
    f1 = 2 * acc_error * acc_correct / (acc_error + acc_correct) if acc_error + acc_correct else 0.0
    return {
        "n": len(pairs),
        "n_error": len(erroneous),
        "n_correct": len(correct),
        "acc_error": acc_error,
        "acc_correct": acc_correct,
        "f1": f1,
        "n_flagged": len(flagged),
        "flag_precision": _share(sum(loc.step == it.label for it, loc in flagged), len(flagged)),
        "coverage": _share(sum(loc.step is not None for _, loc in erroneous), len(erroneous)),
    }


def _share(hits: int, total: int) -> float:
    return hits / total if total else 0.0


def run_processbench(
    items: Sequence[ProcessBenchItem], locator: Locator, batch_size: int = 64
) -> tuple[dict[str, float], list[Location]]:
    """Locate the first wrong step of every item with `locator`, in batches, and score."""
    locations = locate_all([to_case(item) for item in items], locator, batch_size)
    return score_processbench(items, locations), locations
