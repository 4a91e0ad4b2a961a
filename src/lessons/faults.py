"""Fault points: named places where the fault-injection tests kill this process.

Crash safety is claimed only where it is proven, and a kill "at some moment" proves
little: the tests instead kill the process (SIGKILL, no cleanup runs) exactly the k-th
time it reaches a named point, then run the same command again and compare the result
with an uninterrupted run's. The points sit where a kill hurts most: inside a log
transaction before its COMMIT, between writing a file and renaming it into place,
inside a training checkpoint, between two loop stages.

    LESSONS_FAULT=log-commit:3        kill at the 3rd commit (several: "a:1,b:2")
    LESSONS_FAULT_TRACE=FILE          append each point's name to FILE as it is reached

Unset (always, outside the tests), `point` is a dictionary lookup.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

POINTS = (
    "log-commit",        # a write transaction of the mistake log, before COMMIT
    "atomic-rename",     # a file or folder written beside its target, before the rename
    "checkpoint-write",  # a training checkpoint whose weights are written, optimizer state not yet
    "checkpoint-saved",  # a complete training checkpoint
    "train-merged",      # the merged model written, result and registration not yet
    "loop-stage",        # a loop stage recorded, the next not started
)

_hits: Counter[str] = Counter()


def point(name: str) -> None:
    """Reached `name`: record it when tracing, and die here if this is the planned hit."""
    plan, trace = os.environ.get("LESSONS_FAULT"), os.environ.get("LESSONS_FAULT_TRACE")
    if not plan and not trace:
        return
    _hits[name] += 1
    if trace:
        with open(trace, "a", encoding="utf-8") as f:
            f.write(name + "\n")
    if plan and f"{name}:{_hits[name]}" in plan.split(","):
        os.kill(os.getpid(), signal.SIGKILL)
