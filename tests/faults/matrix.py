"""Run the whole fault matrix and print it as the markdown kept in RELIABILITY.md.

    .venv/bin/python tests/faults/matrix.py [--with-train] [--only eval,loop]

Each kill and re-run is a fresh process; the train case (real TRL on a tiny model) takes
a few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]  # harness; tiny

from cases import FAST, TRAIN  # noqa: E402
from harness import run_case, table, totals  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--with-train", action="store_true", help="include the real-training case")
    parser.add_argument("--only", help="comma-separated commands")
    args = parser.parse_args()
    cases = FAST + ([TRAIN] if args.with_train else [])
    if args.only:
        cases = [c for c in cases if c.command in args.only.split(",")]
    outcomes, started = [], time.perf_counter()
    with tempfile.TemporaryDirectory() as root:
        for case in cases:
            t0 = time.perf_counter()
            got = run_case(case, Path(root) / case.command)
            outcomes += got
            print(f"{case.command}: {len(got)} kills in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
            for o in got:
                if o.detail:
                    print(f"  {o.fault}: {o.detail}", file=sys.stderr)
    print(table(outcomes))
    print()
    print(", ".join(f"{k}: {v}" for k, v in totals(outcomes).items()) + f" ({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
