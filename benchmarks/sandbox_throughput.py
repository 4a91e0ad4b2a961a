"""Sandbox throughput: programs judged per second, each in its own isolated process.

N tiny programs (half correct, half wrong, each with three asserts) are judged by
`run_programs` with 1 and then W workers; the figure is programs per second of wall time,
interpreter start, namespace setup, limits and teardown included. The isolation in force is
printed with it, since that is what the figure pays for.

    .venv/bin/python benchmarks/sandbox_throughput.py --programs 60 --workers 2
"""

from __future__ import annotations

import argparse
import os
import platform
import time

from lessons.sandbox import Limits, Program, TestCase, isolation, run_programs

TESTS = (TestCase("small", "assert add(2, 3) == 5"), TestCase("negative", "assert add(-4, 1) == -3"),
         TestCase("zero", "assert add(0, 0) == 0"))


def programs(n: int) -> list[Program]:
    """Half right, half wrong: both outcomes are judged, as in a real evaluation."""
    bodies = ("return a + b", "return a - b")
    return [Program(f"def add(a, b):\n    {bodies[i % 2]}\n", TESTS) for i in range(n)]


def judge(n: int, workers: int) -> tuple[float, int]:
    batch = programs(n)
    start = time.perf_counter()
    runs = run_programs(batch, Limits(cpu_s=2, wall_s=10), workers=workers)
    elapsed = time.perf_counter() - start
    passed = sum(r.passed for r in runs)
    if passed != (n + 1) // 2:
        raise SystemExit(f"wrong verdicts: {passed} passed, expected {(n + 1) // 2}")
    return n / elapsed, passed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=60, help="programs judged per setting")
    parser.add_argument("--workers", type=int, default=2, help="the parallel setting (1 is always run)")
    args = parser.parse_args()
    if args.programs < 1 or args.workers < 1:
        parser.error("--programs and --workers must be at least 1")
    setup = isolation()
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"python {platform.python_version()}, isolation: {setup.method} ({setup.user})")
    judge(min(4, args.programs), 1)  # warm the probe and the page cache
    for workers in sorted({1, args.workers}):
        rate, _ = judge(args.programs, workers)
        print(f"workers={workers}: {rate:.1f} programs/s ({args.programs} programs)")


if __name__ == "__main__":
    main()
