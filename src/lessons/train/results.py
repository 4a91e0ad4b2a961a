"""What training reports while it runs and what it returns (no heavy imports here)."""

from __future__ import annotations

from dataclasses import dataclass


class TrainError(RuntimeError):
    """A training run that cannot start or go on (e.g. its output dir belongs to another run)."""


@dataclass(frozen=True)
class TrainProgress:
    step: int  # optimizer steps done, counting those before a resume
    total: int  # optimizer steps the run will take
    loss: float | None  # latest logged training loss
    tokens: int  # non-padding tokens seen, whole run
    tokens_per_second: float  # this invocation only, so a resume does not inflate it
    elapsed_s: float  # this invocation
    reward: float | None = None  # GRPO: latest logged mean reward


@dataclass(frozen=True)
class TrainResult:
    model_name: str  # the new version's name: what `lessons eval --model` accepts
    path: str  # merged model directory
    steps: int
    train_loss: float | None  # mean logged loss over the whole run (resumed steps included)
    tokens: int  # non-padding tokens seen over the whole run
    tokens_per_second: float  # training loop of the last invocation
    adapter_dir: str
    merged_dir: str
    output_dir: str = ""
    resumed_from_step: int = 0  # 0 when the run started fresh
    train_seconds: float = 0.0  # wall time of the training loop in the last invocation
    version_id: str | None = None  # set when registered in a mistake log
    reward_first: float | None = None  # GRPO: mean reward of the first logged step (of the whole run)
    reward_last: float | None = None  # GRPO: mean reward of the last logged step
    rewards_log: str = ""  # GRPO: rewards.jsonl, one line per group
    dense_layers: list[int] | None = None  # target_modules auto: the decoder layers the adapter went on
