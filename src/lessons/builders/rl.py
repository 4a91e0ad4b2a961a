"""`rl`: prompts for RL (`lessons train --method grpo`) from a run's train split, aimed at
its mistakes. Each row is the chat the run sent plus what the reward needs (gold answer,
the run's verifier and extraction methods): the `prompts` format.

Which tasks: GRPO learns only from groups whose rewards differ, so

- with several samples per task, the learnable band: tasks solved in `band_low` ..
  `band_high` of their samples (12.5-87.5%, as SwS keeps); tasks never solved are kept
  only with a hint, those always solved are left out;
- with one sample per task the band cannot be told, so every failed task is kept (each is
  "never solved" as far as the run knows) and a `solved_share` of the solved ones, drawn
  reproducibly from (run, seed, task), so the set is not all failures.

Failed tasks of the run's weak slices come first, weakest slice first (the slices of
`practice`), then the rest in run order; `--limit` then keeps the most useful prompts.
With `hints`, a task never solved shows the first steps of its gold solution after the
question (Adaptive Guidance); the share of hinted prompts is in the manifest's counts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from lessons.builders._solutions import step_lines
from lessons.builders.base import Lesson, Provenance, config_args
from lessons.builders.practice import weak_slices
from lessons.builders.source import LessonSource
from lessons.models.base import Chat
from lessons.tasks.base import Task

HINT_HEADER = "Hint: a correct solution starts like this:"


@dataclass(frozen=True)
class RLConfig:
    band_low: float = 0.125  # least share of samples solved for a task to be kept (several samples a task)
    band_high: float = 0.875  # most share solved: above it every sample of a group would agree
    solved_share: float = 0.25  # one sample a task: share of the solved tasks kept besides every failed one
    hints: bool = False  # tasks never solved get the first gold steps as a hint, else they are left out
    hint_fraction: float = 0.5  # share of the gold steps a hint shows (at least one, never all of them)
    slices: int = 5  # weak slices whose failed tasks come first
    seed: int = 0  # draws the solved tasks kept with one sample a task


@dataclass(frozen=True)
class Pick:
    """Why a task is kept: its solve rate over `samples` and whether it gets a hint."""

    samples: int
    solved: int
    reason: str  # "band", "never_solved", "failed" (one sample), "solved" (one sample, drawn)
    hinted: bool


class RLBuilder:
    name = "rl"
    format = "prompts"
    needs_diagnoses = False
    config_class = RLConfig
    tally = ("hinted",)  # provenance detail the writer counts into the manifest

    def build(self, source: LessonSource, config: RLConfig | None = None) -> list[Lesson]:
        config = config or RLConfig()
        _check(config)
        several = any(len(a) > 1 for a in source.by_task.values())
        slice_of: dict[str, str] = {}  # failed task -> its weakest slice, weakest slice first
        for weak in weak_slices(source, config.slices):
            for task_id in weak.failed:
                slice_of.setdefault(task_id, str(weak.spec))
        ordered = list(dict.fromkeys([*slice_of, *source.tasks]))
        lessons = []
        for task_id in ordered:
            task = source.tasks[task_id]
            pick = choose(source, task, config, several)
            if pick is not None:
                lessons.append(self._lesson(source, task, pick, slice_of.get(task_id), config))
        return lessons

    def _lesson(self, source: LessonSource, task: Task, pick: Pick, weak: str | None, config: RLConfig) -> Lesson:
        chat = source.render(task)
        row = prompts_row(source, task, with_hint(chat, task, config.hint_fraction) if pick.hinted else chat)
        detail: dict[str, Any] = {"reason": pick.reason, "samples": pick.samples, "solved": pick.solved,
                                  "hinted": pick.hinted, "slice": weak}
        return Lesson(row, Provenance(
            builder=self.name, run_id=source.run.id, task_id=task.id,
            attempt_ids=tuple(a.id for a in source.by_task.get(task.id, [])), args=config_args(config),
            detail=detail,
        ))


def prompts_row(source: LessonSource, task: Task, chat: Chat | None = None) -> dict[str, Any]:
    """A `prompts` row: the chat (the run's template, unless given) and what the reward
    checks the completions against, as the run judged its own attempts."""
    return {"prompt": chat if chat is not None else source.render(task), "task_id": task.id, "answer": task.answer,
            "verifier": source.verifier, "extract": list(source.extract_methods)}


def _check(config: RLConfig) -> None:
    if not 0 <= config.band_low <= config.band_high <= 1:
        raise ValueError(f"rl band_low {config.band_low} and band_high {config.band_high}: need 0 <= low <= high <= 1")
    for key in ("solved_share", "hint_fraction"):
        if not 0 <= getattr(config, key) <= 1:
            raise ValueError(f"rl {key} must be between 0 and 1, got {getattr(config, key)}")


def choose(source: LessonSource, task: Task, config: RLConfig, several: bool) -> Pick | None:
    """Whether (and how) `task` becomes an RL prompt; None leaves it out."""
    attempts = source.by_task.get(task.id, [])
    if not attempts:
        return None
    n, solved = len(attempts), sum(a.correct for a in attempts)
    hintable = config.hints and hint_steps(task, config.hint_fraction) > 0
    if solved == 0:
        if several and not hintable:
            return None  # every sample fails: a group of zeros teaches nothing
        return Pick(n, solved, "never_solved" if several else "failed", hintable)
    if several:
        return Pick(n, solved, "band", False) if config.band_low <= solved / n <= config.band_high else None
    return Pick(n, solved, "solved", False) if _drawn(source, task, config) else None


def _drawn(source: LessonSource, task: Task, config: RLConfig) -> bool:
    digest = hashlib.sha256(f"rl/{source.run.id}/{config.seed}/{task.id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < config.solved_share


def hint_steps(task: Task, fraction: float) -> int:
    """How many gold steps a hint shows: `fraction` of them, at least one, never all (0
    when the task has fewer than two steps: the one step would be the answer)."""
    if len(task.steps) < 2:
        return 0
    return min(len(task.steps) - 1, max(1, round(len(task.steps) * fraction)))


def with_hint(chat: Chat, task: Task, fraction: float) -> Chat:
    """The chat with the first gold steps after the question, in the last user message."""
    shown = step_lines(task.steps[: hint_steps(task, fraction)])
    last = chat[-1]
    hinted = {"role": last["role"], "content": "\n\n".join([last["content"], HINT_HEADER, "\n".join(shown)])}
    return [*chat[:-1], hinted]
