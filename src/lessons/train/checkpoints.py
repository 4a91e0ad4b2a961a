"""Which training checkpoint a re-run may resume from.

The Trainer writes `checkpoints/checkpoint-N/` in place, file by file (weights, optimizer,
scheduler, RNG state, `trainer_state.json` last), so a run killed mid-save leaves a folder
that looks like the newest checkpoint and is not one. A re-run resumes from the newest
checkpoint that is complete: its trainer state names step N, and its weights, optimizer
and scheduler are present and load. Incomplete ones are moved aside to
`checkpoints.incomplete/checkpoint-N-<time>` (kept for inspection, and out of the
Trainer's sight: its rotation deletes anything matching `checkpoint-<digits>`).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

_NAME = re.compile(r"^checkpoint-(\d+)$")
_WEIGHTS = ("adapter_model.safetensors", "model.safetensors")  # a LoRA run saves the adapter
_STATE = ("optimizer.pt", "scheduler.pt")


def resumable_checkpoint(checkpoints: Path) -> Path | None:
    """The newest complete checkpoint under `checkpoints` (None: train from scratch); every
    newer, incomplete one is moved aside first."""
    if not checkpoints.is_dir():
        return None
    found = sorted(((int(m.group(1)), p) for p in checkpoints.iterdir()
                    if p.is_dir() and (m := _NAME.match(p.name))), reverse=True)
    for step, path in found:
        problem = incomplete_because(path, step)
        if problem is None:
            return path
        set_aside(path, checkpoints.with_name(checkpoints.name + ".incomplete"), problem)
    return None


def incomplete_because(path: Path, step: int) -> str | None:
    """Why the checkpoint at `path` cannot be resumed from, or None when it can."""
    try:
        state = json.loads((path / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        return f"trainer_state.json unreadable ({type(err).__name__})"
    if state.get("global_step") != step:
        return f"trainer_state.json is at step {state.get('global_step')}, not {step}"
    weights = next((path / w for w in _WEIGHTS if (path / w).is_file()), None)
    if weights is None:
        return "no weights file"
    try:
        from safetensors import safe_open

        with safe_open(str(weights), framework="pt") as f:
            list(f.keys())
    except Exception as err:  # safetensors raises its own error types for a torn file
        return f"{weights.name} unreadable ({type(err).__name__})"
    for name in _STATE:
        problem = _unloadable(path / name)
        if problem:
            return problem
    return None


def _unloadable(path: Path) -> str | None:
    import torch

    if not path.is_file():
        return f"no {path.name}"
    try:
        torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a torn zip archive raises RuntimeError or a pickle error
        return f"{path.name} unreadable ({type(err).__name__})"
    return None


def set_aside(path: Path, aside: Path, reason: str) -> Path:
    """Move an incomplete checkpoint out of the checkpoints folder, with a note of why."""
    aside.mkdir(parents=True, exist_ok=True)
    target = aside / f"{path.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    n = 1
    while target.exists():
        target, n = aside / f"{path.name}-{time.strftime('%Y%m%d-%H%M%S')}-{n}", n + 1
    path.rename(target)
    (target / "INCOMPLETE").write_text(reason + "\n", encoding="utf-8")
    return target
