"""Processes for tests/store/test_concurrency.py. Each opens the mistake log itself, as a
second `lessons` command would:

    python tests/store/_workers.py write DB RUN N    # evaluate N sums, one task per transaction
    python tests/store/_workers.py read DB RUN N     # read the run until it has N attempts

(PYTHONPATH=tests, for fakes.py). They print one JSON line on success. LESSONS_TEST_SYNC,
a JSON object {"dir", "name", "peers", "at"}, makes a process stop at the point `at` names,
mark `dir/name` and wait there until `peers` marks are in `dir`: processes started together
are then all at that point when they go on, so their work truly overlaps.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

DEADLINE_S = 300.0  # generous: a loaded 2-core machine starts Python slowly


def rendezvous(folder: str | Path, name: str, peers: int, deadline_s: float = DEADLINE_S) -> None:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).touch()
    end = time.monotonic() + deadline_s
    while len(list(folder.iterdir())) < peers:
        if time.monotonic() > end:
            sys.exit(f"rendezvous in {folder}: {name} waited {deadline_s:g} s for {peers} peers")
        time.sleep(0.005)  # polling a folder, not waiting for timing


def sync_at(point: str) -> None:
    """Rendezvous here when LESSONS_TEST_SYNC names this point."""
    spec = json.loads(os.environ.get("LESSONS_TEST_SYNC") or "{}")
    if spec.get("at") == point:
        rendezvous(spec["dir"], spec["name"], spec["peers"])


def write(db: str, run: str, n: int) -> dict:
    """Evaluate n sums with a scripted backend, one task per generate call and per
    transaction; meet the peers (`at: "writing"`) once two batches are in the log."""
    from fakes import ListSuite, ScriptedBackend, solve, sum_tasks

    from lessons.runner import EvalConfig, evaluate
    from lessons.store import Store

    calls = 0

    def respond(chat, sample):
        nonlocal calls
        calls += 1
        if calls == 3:
            sync_at("writing")
        return solve(chat, sample)

    sync_at("start")  # before opening: the opens themselves race (a fresh log's migrations)
    store = Store.open(db)
    result = evaluate(store, ScriptedBackend(respond), ListSuite(sum_tasks(n)), EvalConfig(batch_size=1, run_name=run))
    store.close()
    return {"attempts": result.summary.attempts, "new": result.new_attempts}


def read(db: str, run: str, n: int) -> dict:
    """Read the run's attempts (and the list of runs) until there are n; the count must
    never go down."""
    from lessons.store import Store

    store = Store.open(db)
    sync_at("open")
    counts, end = [0], time.monotonic() + DEADLINE_S
    while counts[-1] < n:
        if time.monotonic() > end:
            sys.exit(f"read: {run} stuck at {counts[-1]} of {n} attempts")
        record = store.find_run(run)
        count = len(store.attempts(record.id)) if record else 0
        assert count >= counts[-1], f"attempts went from {counts[-1]} to {count}"
        assert run in {r.name for r in store.runs()} or record is None
        counts.append(count)
    store.close()
    return {"reads": len(counts) - 1, "distinct": len(set(counts))}


if __name__ == "__main__":
    kind, db, run, n = sys.argv[1:5]
    print(json.dumps({"write": write, "read": read}[kind](db, run, int(n))))
