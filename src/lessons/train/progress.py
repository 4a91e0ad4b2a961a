"""A trainer callback that turns TRL's step and log events into `TrainProgress` reports.
Imports transformers, so `trainer.py` imports it only when a run starts."""

from __future__ import annotations

import time
from typing import Callable

from transformers import TrainerCallback

from lessons.train.results import TrainProgress


class ProgressReporter(TrainerCallback):
    """Turns trainer events into `TrainProgress` reports: one per optimizer step, sent after
    that step's loss is logged when it is logged at all."""

    def __init__(self, on_progress: Callable[[TrainProgress], None] | None):
        self.on_progress = on_progress
        self.loss: float | None = None
        self.reward: float | None = None
        self.started = time.perf_counter()
        self.tokens_at_start = 0
        self.step_at_start = 0

    def on_train_begin(self, args, state, control, **kwargs):
        # the checkpoint's state is loaded by now: these are the resumed counts
        self.started = time.perf_counter()
        self.tokens_at_start = state.num_input_tokens_seen
        self.step_at_start = state.global_step

    def on_step_end(self, args, state, control, **kwargs):
        if not control.should_log:  # otherwise on_log reports, with this step's loss
            self._report(state)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            self.loss = float(logs["loss"])
            self.reward = float(logs["reward"]) if "reward" in logs else self.reward
            self._report(state)

    def _report(self, state) -> None:
        if self.on_progress is None:
            return
        elapsed = time.perf_counter() - self.started
        tokens = state.num_input_tokens_seen
        rate = (tokens - self.tokens_at_start) / elapsed if elapsed > 0 else 0.0
        self.on_progress(TrainProgress(state.global_step, state.max_steps, self.loss, int(tokens), rate, elapsed,
                                       self.reward))
