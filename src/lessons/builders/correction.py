"""`correction`: SFT on corrected versions of the model's own mistakes (LEMMA; Agent-R's
splice at the first error).

Two kinds of row, both prompt/completion:

- `splice`: the prompt is the run's chat; the completion is the model's own text before
  its first wrong step, optionally a short re-check phrase, then a corrected continuation.
  The continuation comes from one of the model's own correct samples of the task when one
  agrees with the kept prefix (same numbers step by step), else from the gold solution,
  starting at the first gold step whose value the prefix has not reached yet.
- `fix`: the error-correction task. The prompt shows the wrong solution and asks for a
  corrected one; the completion is the spliced solution (or a correct sample, or gold).

Every completion is checked with the run's verifier before use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from lessons.arith import parse_number, values_in
from lessons.builders._solutions import (
    answer_line, gold_solution, labelled_steps, numbered, step_lines, steps_check_out,
)
from lessons.builders.base import Lesson, Provenance, config_args
from lessons.builders.source import LessonSource
from lessons.diagnose.base import Diagnosis
from lessons.diagnose.steps import split_steps
from lessons.store.db import AttemptRow
from lessons.tasks.base import Task

RECHECK_PHRASES = (  # short and neutral: they mark a pause to check, not a confession
    "Let me double-check the next step.",
    "Let me recompute this step carefully.",
    "Careful: let me check this calculation.",
)
FIX_REQUEST = "Here is a solution that contains a mistake:\n\n{wrong}\n\nFind the mistake and write a corrected solution."


@dataclass(frozen=True)
class CorrectionConfig:
    kinds: tuple[str, ...] = ("splice", "fix")  # which rows to build
    recheck: bool = True  # a re-check phrase between the kept prefix and the correction
    prefer_own: bool = True  # continue from the model's own correct sample when one fits, else gold
    min_confidence: float = 0.0  # skip first-wrong-step locations less sure than this (0..1)
    max_wrong_chars: int = 4000  # longer wrong solutions are not shown in `fix` prompts


@dataclass(frozen=True)
class Correction:
    text: str  # the corrected solution
    origin: str  # "own" (a correct sample) or "gold"
    used: int | None  # attempt id of the correct sample used
    first_wrong_step: int | None


class CorrectionBuilder:
    name = "correction"
    format = "prompt_completion"
    needs_diagnoses = True
    config_class = CorrectionConfig

    def build(self, source: LessonSource, config: CorrectionConfig | None = None) -> list[Lesson]:
        config = config or CorrectionConfig()
        unknown = set(config.kinds) - {"splice", "fix"}
        if unknown:
            raise ValueError(f"correction kinds are splice and fix, not {sorted(unknown)}")
        lessons = []
        for attempt in source.mistakes():
            d = source.diagnoses.get(attempt.id)
            if d is None or not attempt.text.strip():
                continue
            task = source.tasks[attempt.task_id]
            located = d.location.step is not None and d.location.confidence >= config.min_confidence
            for kind in config.kinds:
                recheck = config.recheck and kind == "splice"  # a `fix` answer is a clean solution
                splice = correct_at(source, task, attempt, d, config, recheck) if located else None
                fixed = splice if kind == "splice" else (splice or whole_correction(source, task, config))
                if fixed is None or (kind == "fix" and len(attempt.text) > config.max_wrong_chars):
                    continue
                lessons.append(self._lesson(source, task, attempt, d, kind, fixed, config))
        return lessons

    def _lesson(self, source: LessonSource, task: Task, attempt: AttemptRow, d: Diagnosis, kind: str,
                fixed: Correction, config: CorrectionConfig) -> Lesson:
        prompt = source.render(task)
        if kind == "fix":
            question = prompt[-1]["content"]
            prompt = prompt[:-1] + [{"role": "user", "content": question + "\n\n" + FIX_REQUEST.format(
                wrong=attempt.text.strip())}]
        row = {"prompt": prompt, "completion": [{"role": "assistant", "content": fixed.text}]}
        ids = (attempt.id,) + ((fixed.used,) if fixed.used is not None else ())
        return Lesson(row, Provenance(
            builder=self.name, run_id=source.run.id, task_id=task.id, attempt_ids=ids,
            diagnosis_method=d.location.method, args=config_args(config),
            detail={"kind": kind, "first_wrong_step": fixed.first_wrong_step, "continuation": fixed.origin},
        ))


def correct_at(source: LessonSource, task: Task, attempt: AttemptRow, d: Diagnosis, config: CorrectionConfig,
               recheck: bool) -> Correction | None:
    """The model's text before its first wrong step, then a corrected continuation."""
    k = d.location.step
    assert k is not None
    prefix = attempt.text[: d.steps[k].start] if k < len(d.steps) else attempt.text
    own = own_continuation(source, task, d, k) if config.prefer_own else None
    if own is not None:
        continuation, origin, used = own[0], "own", own[1]
    else:
        continuation, origin, used = gold_continuation(source, task, prefix), "gold", None
    phrase = RECHECK_PHRASES[attempt.id % len(RECHECK_PHRASES)] + "\n" if recheck and prefix.strip() else ""
    text = prefix + phrase + continuation
    if not source.is_correct(task, text):
        return None
    return Correction(text.strip(), origin, used, k)


def own_continuation(source: LessonSource, task: Task, d: Diagnosis, k: int) -> tuple[str, int] | None:
    """The rest of a correct sample from its step k on, if its first k steps hold the
    same numbers as the kept steps (so the splice reads as one solution)."""
    kept = [sorted(values_in(s.text)) for s in d.steps[:k]]
    for sample in source.by_task.get(task.id, []):
        if not sample.correct or sample.finish_reason == "length" or not steps_check_out(task, sample.text):
            continue
        steps = split_steps(sample.text)
        if len(steps) <= k:
            continue
        if k == 0 or [sorted(values_in(s.text)) for s in steps[:k]] == kept:
            return sample.text[steps[k].start :].strip(), sample.id
    return None


def gold_continuation(source: LessonSource, task: Task, prefix: str) -> str:
    """Gold steps from the first one whose value the prefix has not reached, numbered on
    from the prefix's last step label, then the answer line."""
    reached = sorted(values_in(prefix))
    start = 0
    while start < len(task.steps) and _value_in(task.steps[start].value, reached):
        start += 1
    lines = step_lines(task.steps[start:], labelled_steps(prefix) + 1, numbered(source.template))
    return "\n".join(lines + [answer_line(task.answer)])


def whole_correction(source: LessonSource, task: Task, config: CorrectionConfig) -> Correction | None:
    """A whole correct solution: the model's own correct sample when there is one, else gold."""
    if config.prefer_own:
        for sample in source.by_task.get(task.id, []):
            if sample.correct and sample.finish_reason != "length" and steps_check_out(task, sample.text):
                return Correction(sample.text.strip(), "own", sample.id, None)
    text = gold_solution(task, source.template)
    return Correction(text, "gold", None, None) if source.is_correct(task, text) else None


def _value_in(value: str | None, reached: Sequence) -> bool:
    parsed = parse_number(value) if value else None
    return parsed is not None and parsed in reached
