"""Answer aggregation on a run with k samples per task: maj@m against RPC@m, m = 1..k.

Reads a run from the mistake log (make one with `lessons eval --samples 8 --temperature
0.7`), and for each m uses every task's first m samples: majority vote, perplexity
consistency without pruning (PC), and RPC (PC with reasoning pruning), with 95% bootstrap
intervals over tasks at m = k and the paired interval of RPC - maj.

    .venv/bin/lessons eval --model qwen2.5-coder-0.5b --suite arith --split heldout --limit 40 \\
        --samples 8 --temperature 0.7 --max-new-tokens 320 --batch-size 32 --db /tmp/exp/rpc.db
    .venv/bin/python benchmarks/aggregation.py --db /tmp/exp/rpc.db RUN
"""

from __future__ import annotations

import argparse

import numpy as np

from lessons.consistency import majority_correct, rpc_correct
from lessons.metrics import bootstrap_ci, by_task, paired_bootstrap
from lessons.store import Store


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run")
    ap.add_argument("--db", required=True)
    args = ap.parse_args()
    store = Store.open(args.db)
    run = store.get_run(args.run)
    tasks = [sorted(g, key=lambda a: a.sample) for g in by_task(store.attempts(run.id)).values()]
    k = min(len(g) for g in tasks)
    print(f"{run.name}: {len(tasks)} tasks, {k} samples each\n")
    print("| m | maj@m | PC@m (no pruning) | RPC@m |\n|---|---|---|---|")
    for m in range(1, k + 1):
        maj = np.mean([majority_correct(g[:m]) for g in tasks])
        pc = np.mean([rpc_correct(g[:m], prune=False) for g in tasks])
        rpc = np.mean([rpc_correct(g[:m]) for g in tasks])
        print(f"| {m} | {100 * maj:.1f} | {100 * pc:.1f} | {100 * rpc:.1f} |")
    maj_k = np.array([float(majority_correct(g)) for g in tasks])
    rpc_k = np.array([rpc_correct(g) for g in tasks], dtype=float)
    lo, hi = paired_bootstrap(maj_k, rpc_k)
    print(f"\nat m = {k}: maj {100 * maj_k.mean():.1f} {_ci(bootstrap_ci(maj_k))}, "
          f"RPC {100 * rpc_k.mean():.1f} {_ci(bootstrap_ci(rpc_k))}, "
          f"RPC - maj {100 * (rpc_k.mean() - maj_k.mean()):+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}] pts")


def _ci(ci: tuple[float, float]) -> str:
    return f"[{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"


if __name__ == "__main__":
    main()
