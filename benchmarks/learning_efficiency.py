"""Learning efficiency: the loop's held-out gain against the control's, same budget, same
seeds, one or more lesson mixes, each a full `lessons loop` through the CLI.

Every variant shares the base model's evaluation runs (they are named by model and
settings), so the second and later mixes pay only for building, training and judging.
Prints one JSON line per variant and, with --results, appends a section to
benchmarks/RESULTS.md with the command, budget, figures with intervals and wall time.

    .venv/bin/python benchmarks/learning_efficiency.py --config loop.yaml \\
        --mix practice=1 --mix practice=0.5,correction=0.5 --db /tmp/le/lessons.db --results
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LESSONS = str(Path(sys.executable).parent / "lessons")


def run_variant(config: str, mix: str, db: str, out: Path, extra: list[str], name: str | None = None) -> dict:
    name = name or "le-" + mix.replace("=", "").replace(",", "-").replace(".", "")
    cmd = [LESSONS, "loop", "--config", config, "--name", name, "--mix", mix, "--db", db,
           "--out", str(out / name), "--json", *extra]
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout)
    # the loop's own stage times: a variant resumed from an earlier run reports its real cost
    return {"mix": mix, "name": name, "command": " ".join(cmd[1:]), "process_s": wall, **result}


def pts(x: float) -> str:
    return f"{100 * x:+.1f}"


def ci(c: list[float]) -> str:
    return f"[{100 * c[0]:+.1f}, {100 * c[1]:+.1f}]"


def section(variants: list[dict], args: argparse.Namespace) -> str:
    import yaml

    cfg = yaml.safe_load(Path(args.config).read_text())
    extra = f"with `{' '.join(args.extra)}`" if args.extra else ""
    lines = [
        "## Learning efficiency: treatment against a same-size control (issue 5)",
        "",
        f"`{' '.join(['.venv/bin/python', 'benchmarks/learning_efficiency.py', *sys.argv[1:]])}`",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch threads default. "
        f"Config `{args.config}` ({', '.join(f'{k}: {v}' for k, v in cfg.items() if k not in ('mix', 'options'))}) "
        f"{extra}. Budget per arm: {variants[0]['rounds'][0]['rows']} rows, "
        f"{variants[0]['rounds'][0]['steps']} LoRA steps; same seeds, same held-out tasks for every arm.",
        "",
        "| mix | held-out tasks | base | treatment − base | control − base | treatment − control | weak-slice tasks | weak: treatment − base | weak: control − base | wall |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for v in variants:
        b, t, c, a, w = v["base"], v["treatment"], v["control"], v["advantage"], v.get("weak_slices") or {}
        weak = (f"{w.get('tasks', 0)} | {pts(w['treatment_delta'])} {ci(w['treatment_delta_ci95'])} | "
                f"{pts(w['control_delta'])} {ci(w['control_delta_ci95'])}") if w else "0 | - | -"
        lines.append(
            f"| {v['mix']} | {v['tasks']} | {100 * b['accuracy']:.1f}% | {pts(t['delta'])} {ci(t['delta_ci95'])} | "
            f"{pts(c['delta'])} {ci(c['delta_ci95'])} | {pts(a['delta'])} {ci(a['ci95'])} | {weak} | "
            f"{v['wall_s'] / 60:.1f} min |")
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(ROOT / "loop.yaml"))
    parser.add_argument("--mix", action="append", help="a lesson mix (repeatable); default: practice=1")
    parser.add_argument("--name", help="loop name (one mix only); default: le-<mix>")
    parser.add_argument("--db", default="lessons-benchmark.db")
    parser.add_argument("--out", default="lessons-loops")
    parser.add_argument("--results", action="store_true", help="append a section to benchmarks/RESULTS.md")
    parser.add_argument("extra", nargs="*", help="more `lessons loop` flags, after --")
    args = parser.parse_args()
    mixes = args.mix or ["practice=1"]
    variants = []
    for mix in mixes:
        v = run_variant(args.config, mix, args.db, Path(args.out), args.extra, args.name)
        print(json.dumps({k: v[k] for k in ("mix", "base", "treatment", "control", "advantage", "weak_slices",
                                             "wall_s", "report")}), flush=True)
        variants.append(v)
    if args.results:
        with open(ROOT / "benchmarks" / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write("\n" + section(variants, args))


if __name__ == "__main__":
    main()
