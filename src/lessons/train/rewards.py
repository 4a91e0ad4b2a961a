"""The GRPO reward: the project's own verifier on each completion (1 when it judges the
answer right, 0 otherwise), plus an optional reward for ending with the answer line.

Every call logs the rewards of each group (the `num_generations` completions TRL samples
for one prompt, consecutive in the batch) to `rewards.jsonl`, one line a group:

    {"step": 3, "task_id": "arith-train-12", "rewards": [1.0, 0.0, ...], "correct": [...], "answer_line": [...]}

`step` is the optimizer step the group trains (1-based). No heavy imports here.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

from lessons import atomic
from lessons.verify import DEFAULT_METHODS, extract_answer, verify

ANSWER_LINE = ("answer_line",)  # the extraction method that finds "Answer: <x>"


@dataclass(frozen=True)
class GroupRewards:
    step: int
    task_id: str
    rewards: tuple[float, ...]  # what the trainer got: correct + format weight x answer_line
    correct: tuple[bool, ...]  # the verifier's verdicts
    answer_line: tuple[bool, ...]  # whether each completion has an answer line


def completion_text(completion: Any) -> str:
    """A TRL completion as text: a plain string, or the content of its assistant messages."""
    if isinstance(completion, str):
        return completion
    return "".join(m.get("content") or "" for m in completion if isinstance(m, dict))


def has_answer_line(text: str) -> bool:
    return extract_answer(text, "stop", ANSWER_LINE).status == "ok"


class VerifierReward:
    """A TRL reward function (called with the batch's completions and dataset columns)."""

    __name__ = "verifier"  # TRL names the reward in its logs after the function

    def __init__(self, num_generations: int, max_completion_length: int, format_weight: float = 0.0,
                 log_path: str | Path | None = None):
        self.num_generations = num_generations
        self.max_completion_length = max_completion_length
        self.format_weight = format_weight
        self.log_path = Path(log_path) if log_path else None

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Any], task_id: Sequence[str],
                 answer: Sequence[str], verifier: Sequence[str], extract: Sequence[Any] | None = None,
                 completion_ids: Sequence[Sequence[int]] | None = None, trainer_state: Any = None,
                 **_: Any) -> list[float]:
        texts = [completion_text(c) for c in completions]
        finish = ["length" if completion_ids and len(ids) >= self.max_completion_length else "stop"
                  for ids in (completion_ids or [()] * len(texts))]
        methods = [tuple(m) if m else DEFAULT_METHODS for m in (extract or [None] * len(texts))]
        correct = [verify(gold, text, fin, verifier=name, methods=m).correct
                   for gold, text, fin, name, m in zip(answer, texts, finish, verifier, methods)]
        lines = [has_answer_line(t) for t in texts]
        rewards = [float(c) + self.format_weight * float(f) for c, f in zip(correct, lines)]
        step = (trainer_state.global_step if trainer_state is not None else 0) + 1
        self._log(self.groups(step, list(task_id), rewards, correct, lines))
        return rewards

    def groups(self, step: int, task_ids: list[str], rewards: list[float], correct: list[bool],
               lines: list[bool]) -> list[GroupRewards]:
        """The batch cut into its groups: TRL samples a prompt's completions consecutively."""
        g = self.num_generations
        return [GroupRewards(step, task_ids[i], tuple(rewards[i:i + g]), tuple(correct[i:i + g]),
                             tuple(lines[i:i + g])) for i in range(0, len(rewards), g)]

    def _log(self, groups: list[GroupRewards]) -> None:
        if self.log_path is None:
            return
        with open(self.log_path, "a", encoding="utf-8") as f:
            f.write("".join(_line(g) for g in groups))


def read_reward_log(path: str | Path) -> list[GroupRewards]:
    """The groups logged so far, in order ([] when there is no log)."""
    path = Path(path)
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            out.append(GroupRewards(d["step"], d["task_id"], tuple(d["rewards"]), tuple(d["correct"]),
                                    tuple(d["answer_line"])))
    return out


def trim_reward_log(path: str | Path, last_step: int) -> None:
    """Drop groups logged for steps after `last_step` (a killed run's steps the resume
    repeats), so every step is logged once."""
    path = Path(path)
    kept = [g for g in read_reward_log(path) if g.step <= last_step]
    if path.is_file():
        atomic.write_text(path, "".join(_line(g) for g in kept))


def _line(group: GroupRewards) -> str:
    return json.dumps(asdict(group)) + "\n"


def logged_rewards(log_history: list[dict[str, Any]]) -> tuple[float | None, float | None]:
    """Mean reward of the first and of the last logged step (TRL logs it as `reward`)."""
    rewards = [float(e["reward"]) for e in log_history if "reward" in e]
    return (rewards[0], rewards[-1]) if rewards else (None, None)
