"""Split, locate (`arith`) and classify on the same mistakes under two or more versions of
the code, alternately (ABBA...) in one process, so that a shared or busy machine slows
every version alike: the ratios mean something where absolute times do not.

Each `--commit` is exported with `git archive` into a temporary folder as a package of its
own (`lessons_<commit>`, its imports renamed), beside the working tree's `lessons`. The
mistakes are `diagnose_100k.py`'s, taken in batches of 64 (each located, then classified,
as `diagnose_run` does); every variant's caches are cleared before each pass.
It checks that every variant gives the same locations and error types as the first.

    PYTHONPATH=src .venv/bin/python benchmarks/diagnose_ab.py --commit c8260d8 --mistakes 10000
"""

from __future__ import annotations

import argparse
import gc
import importlib
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from io import BytesIO
from pathlib import Path

import diagnose_100k as bench

ROOT = Path(__file__).resolve().parents[1]


def export(commit: str, into: Path) -> str:
    """`src/lessons` at `commit` as the package `lessons_<commit>` under `into`."""
    name = f"lessons_{commit}"
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "src/lessons"], check=True,
                             capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into / "x")
    (into / "x" / "src" / "lessons").rename(into / name)
    for path in (into / name).rglob("*.py"):
        text = path.read_text()
        text = re.sub(r"\b(from|import) lessons\b", rf"\1 {name}", text)
        path.write_text(re.sub(r"([\"'])lessons\.", rf"\1{name}.", text))
    return name


class Variant:
    def __init__(self, package: str):
        self.package = package
        self.split = importlib.import_module(package + ".diagnose.steps").split_steps
        self.case = importlib.import_module(package + ".diagnose.base").Case
        self.locator = importlib.import_module(package + ".diagnose.arith_check").ArithLocator
        self.classify = importlib.import_module(package + ".diagnose.error_types").classify_mistake

    def clear(self) -> None:
        for name, module in list(sys.modules.items()):
            if name == self.package or name.startswith(self.package + "."):
                for obj in vars(module).values():
                    if callable(getattr(obj, "cache_clear", None)):
                        obj.cache_clear()

    def run(self, mistakes, batch: int = 64) -> tuple[tuple[float, float, float], list, list]:
        """CPU seconds of split, locate, classify; the locations and the types. In batches
        of `batch` mistakes, located and then classified, as `diagnose_run` does."""
        self.clear()
        gc.collect()
        spent = [0.0, 0.0, 0.0]
        locations, types = [], []
        for start in range(0, len(mistakes), batch):
            part = mistakes[start : start + batch]
            t0 = time.process_time()
            steps = [self.split(text) for _, text, _, _, _ in part]
            t1 = time.process_time()
            cases = [self.case(task.prompt, s, task.answer, task.steps, str(start + i))
                     for i, ((task, *_), s) in enumerate(zip(part, steps))]
            found = self.locator().locate(cases)
            t2 = time.process_time()
            types += [self.classify(task, text, finish, status, s, loc)
                      for (task, text, finish, status, _), s, loc in zip(part, steps, found)]
            t3 = time.process_time()
            locations += found
            for k, t in enumerate((t1 - t0, t2 - t1, t3 - t2)):
                spent[k] += t
        return (spent[0], spent[1], spent[2]), [(x.step, x.evidence, x.detail) for x in locations], types


def shares(mistakes, types) -> str:
    """How often the primary type names the injected fault, as `diagnose_100k.py` prints it."""
    expected, hits, total = {"refusal": "no_attempt"}, Counter(), Counter()
    for (_, _, _, _, kind), ty in zip(mistakes, types):
        total[kind] += 1
        hits[kind] += expected.get(kind, kind) == ty[0]
    return " ".join(f"{k} {hits[k] / total[k]:.1%}" for k in sorted(total))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commit", action="append", default=[], help="a version to compare (repeatable)")
    parser.add_argument("--mistakes", type=int, default=10_000)
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="diagnose_ab_"))
    sys.path.insert(0, str(folder))
    variants = [Variant(export(c, folder)) for c in args.commit] + [Variant("lessons")]
    mistakes = bench.make_mistakes(args.mistakes, args.tasks, 0)
    n, times, outputs = len(mistakes), {v.package: [] for v in variants}, {}
    for r in range(args.rounds):
        for v in variants if r % 2 == 0 else variants[::-1]:
            t, locations, types = v.run(mistakes)
            times[v.package].append(t)
            outputs.setdefault(v.package, (locations, types))
            print(f"round {r} {v.package:>16}: locate {t[1] / n * 1e6:5.0f}  classify {t[2] / n * 1e6:5.0f}  "
                  f"all three {sum(t) / n * 1e6:5.0f} µs/mistake", flush=True)
    first = variants[0].package
    print(f"best of {args.rounds}, CPU µs / mistake; same output as {first}:")
    for v in variants:
        locate, classify = (min(t[k] for t in times[v.package]) / n * 1e6 for k in (1, 2))
        total = min(sum(t) for t in times[v.package]) / n * 1e6
        locations, types = outputs[v.package]
        same = locations == outputs[first][0] and types == outputs[first][1]
        print(f"  {v.package:>16}: locate {locate:5.0f}  classify {classify:5.0f}  all three {total:5.0f}  "
              f"identical {same}")
    for v in variants:
        print(f"  {v.package:>16} shares: {shares(mistakes, outputs[v.package][1])}")


if __name__ == "__main__":
    main()
