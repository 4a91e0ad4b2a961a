"""Every builder on a real run: an embedded model answers arith tasks twice each, the run is
diagnosed, and each kind of lesson is built through the CLI.

SmolLM2-135M by default, for speed; `LESSONS_TEST_BUILD_MODEL=qwen2.5-coder-0.5b` runs it
on the embedded default model (a few minutes more on a CPU).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from lessons.builders import check_row
from lessons.models.embedded import PACKAGED, is_installed

MODEL = os.environ.get("LESSONS_TEST_BUILD_MODEL", "smollm2-135m")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not is_installed(PACKAGED[MODEL]), reason=f"{MODEL} is not installed"),
]
LESSONS = [sys.executable, "-m", "lessons.cli"]
KINDS = {  # kind -> extra options
    "prompt": [], "correction": [], "rejection": [], "pairs": ["-x", "gold_fallback=true"], "injected": [],
    "practice": [], "stepwise": [],
}


def run_cli(*args, db, timeout=1200):
    env = dict(os.environ, LESSONS_DB=str(db))
    # One torch thread unless told otherwise: on a shared CPU two threads collapse about
    # tenfold (see benchmarks/RESULTS.md), and one is as fast on a box of two cores.
    env.setdefault("OMP_NUM_THREADS", "1")
    done = subprocess.run([*LESSONS, *map(str, args)], env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    db = tmp_path_factory.mktemp("real") / "log.db"
    evaluation = run_cli("eval", "--model", MODEL, "--suite", "arith", "--limit", 40, "--samples", 2, "--max-new-tokens", 256,
            "--run", "real", "--json", db=db)
    diagnosis = run_cli("diagnose", "real", "--json", db=db)
    return db, evaluation, diagnosis


def test_every_builder_builds_from_a_real_run(real_run, tmp_path):
    db, evaluation, diagnosis = real_run
    assert diagnosis["mistakes"] > 0
    counts = {}
    for kind, options in KINDS.items():
        payload = run_cli("build", kind, "--run", "real", "--out", tmp_path / kind, *options, "--json", db=db)
        counts[kind] = payload["records"]
        rows = [json.loads(x) for x in (tmp_path / kind / "lessons.jsonl").read_text().splitlines()]
        assert len(rows) == payload["records"]
        for row in rows:
            check_row(payload["format"], row)
    print(f"\n{MODEL}: {evaluation['correct']} correct, {diagnosis['mistakes']} mistakes, "
          f"{diagnosis['located']} located; lessons {counts}")
    # Built from mistakes (gold stands in where the model never succeeds): always some.
    assert all(counts[k] > 0 for k in ("prompt", "correction", "pairs", "injected", "practice")), counts
    if evaluation["correct"] >= 5:  # built from correct samples
        assert counts["rejection"] > 0, counts
    if diagnosis["located"] or evaluation["correct"] >= 5:
        assert counts["stepwise"] > 0, counts
