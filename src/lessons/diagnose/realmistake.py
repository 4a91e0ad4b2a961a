"""ReaLMistake: do our detectors see the errors experts found in real LLM responses?

ReaLMistake ("Evaluating LLMs at Detecting Errors in LLM Responses", Kamoi et al., COLM
2024) has GPT-4 and Llama-2-70B responses to tasks built so that their errors are
objective, each labelled `error` or `no_error` by experts. Its math word problem generation
task asks for a problem meeting constraints and its solution; errors there are reasoning
and arithmetic slips, instruction-following and context misses. A detector (a locator:
`arith`, or `critic` with any model) says `error` when it flags any step of the response,
and is scored as the paper scores detectors: precision, recall and F1 of the `error` label.

The data is published encrypted, with a request not to publish its examples in plain
text: the zip is opened in memory and nothing of an item is ever written out, only scores.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from lessons.diagnose.base import Case, Location, Locator, locate_all
from lessons.diagnose.steps import split_steps

PASSWORD = b"open-realmistake"  # given in the upstream README
TASKS = ("math_word_problem_generation", "finegrained_fact_verification", "answerability_classification")
MODELS = ("gpt-4-0613", "Llama-2-70b-chat-hf")


class RealMistakeError(ValueError):
    """The zip or an item does not have the shape ReaLMistake publishes."""


@dataclass(frozen=True)
class RealMistakeItem:
    id: str
    model: str  # which LLM wrote the response
    input: str  # the task as the LLM saw it
    response: str
    error: bool  # the experts' label
    categories: tuple[str, ...]  # error categories, for error items


def load_realmistake(path: str | Path, task: str = "math_word_problem_generation") -> list[RealMistakeItem]:
    """Every item of `task`, both models, read from the encrypted zip in memory."""
    if task not in TASKS:
        raise RealMistakeError(f"unknown ReaLMistake task {task!r}; expected one of {', '.join(TASKS)}")
    try:
        with zipfile.ZipFile(path) as archive:
            archive.setpassword(PASSWORD)
            texts = {model: archive.read(f"data/{task}/{model}.jsonl").decode("utf-8") for model in MODELS}
    except (OSError, KeyError, zipfile.BadZipFile, RuntimeError) as exc:
        raise RealMistakeError(f"{path}: cannot read ReaLMistake data for {task} ({exc})") from None
    return [_item(line, f"{path}:{task}/{model}.jsonl:{n}", model)
            for model, text in texts.items() for n, line in enumerate(text.splitlines(), start=1) if line.strip()]


def _item(line: str, where: str, model: str) -> RealMistakeItem:
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as exc:
        raise RealMistakeError(f"{where}: invalid JSON ({exc.msg})") from None
    missing = [k for k in ("input", "llm_response", "error_label") if k not in raw]
    if missing:
        raise RealMistakeError(f"{where}: missing field(s) {', '.join(missing)}")
    if raw["error_label"] not in ("error", "no_error"):
        raise RealMistakeError(f"{where}: error_label must be 'error' or 'no_error', got {raw['error_label']!r}")
    return RealMistakeItem(
        id=str((raw.get("metadata") or {}).get("id", where)), model=model, input=str(raw["input"]),
        response=str(raw["llm_response"]), error=raw["error_label"] == "error",
        categories=tuple(raw.get("error_categories") or ()),
    )


def to_case(item: RealMistakeItem) -> Case:
    """The response cut into steps as a model's solution would be; no gold answer."""
    return Case(question=item.input, steps=split_steps(item.response), answer=None, key=item.id)


def score_detection(items: Sequence[RealMistakeItem], locations: Sequence[Location]) -> dict[str, float]:
    """Precision, recall and F1 of the `error` label, a detection being any flagged step."""
    if len(items) != len(locations):
        raise ValueError(f"{len(items)} items but {len(locations)} locations")
    said = [loc.step is not None for loc in locations]
    hits = sum(s and it.error for s, it in zip(said, items))
    flagged, errors = sum(said), sum(it.error for it in items)
    precision = hits / flagged if flagged else 0.0
    recall = hits / errors if errors else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"n": len(items), "n_error": errors, "n_flagged": flagged, "precision": precision, "recall": recall,
            "f1": f1, "error_rate": errors / len(items) if items else 0.0}


def run_realmistake(items: Sequence[RealMistakeItem], locator: Locator, batch_size: int = 64
                    ) -> tuple[dict[str, float], list[Location]]:
    """Run `locator` over every item in batches and score its detections."""
    locations = locate_all([to_case(item) for item in items], locator, batch_size)
    return score_detection(items, locations), locations
