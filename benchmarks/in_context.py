"""Lessons without training: a prompt lesson set against its same-length few-shot control.

The model answers train tasks; its mistakes are diagnosed (`arith`) and turned into a
`prompt` lesson set; then it answers the same held-out tasks three ways, greedy: plain,
prompted with the lessons (`lessons eval --lessons DIR`), and with the control
(`--few-shot`: solved train problems, as long). The held-out tasks never enter the set.
Reported: accuracy of each arm with a 95% interval, and each treatment-minus-arm delta
with its paired-bootstrap interval (metrics.compare_runs). Everything is a run in the log
(`--db`), so a killed benchmark resumes.

    .venv/bin/python benchmarks/in_context.py --model qwen2.5-coder-0.5b --train 96 --heldout 96
    .venv/bin/python benchmarks/in_context.py --model openai:NAME --base-url URL ...
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

from lessons.builders.in_context import LessonPrompts, load_in_context
from lessons.builders.pipeline import build_lesson_set
from lessons.deps import Deps
from lessons.diagnose import diagnose
from lessons.diagnose.pipeline import DiagnoseConfig
from lessons.metrics import bootstrap_ci, by_task, compare_runs
from lessons.models import ModelOptions
from lessons.runner import EvalConfig, evaluate
from lessons.store import Store
from lessons.tasks import load_suite


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="qwen2.5-coder-0.5b")
    ap.add_argument("--base-url", default=None)
    ap.add_argument("--suite", default="arith")
    ap.add_argument("--train", type=int, default=96, help="train tasks whose mistakes make the lessons")
    ap.add_argument("--heldout", type=int, default=96, help="held-out tasks every arm answers")
    ap.add_argument("--examples", type=int, default=3, help="past mistakes shown per question")
    ap.add_argument("--max-new-tokens", type=int, default=320)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--db", default="out/in_context.db")  # out/ is git-ignored
    ap.add_argument("--out", default="out/in_context-lessons")
    args = ap.parse_args()

    Path(args.db).parent.mkdir(parents=True, exist_ok=True)
    store = Store.open(args.db)
    deps = Deps(model_options=ModelOptions(base_url=args.base_url, batch_size=args.batch_size))
    backend = deps.make_backend(args.model, store)
    embedder = deps.make_embedder()
    suite = load_suite(args.suite)
    settings = dict(max_new_tokens=args.max_new_tokens, batch_size=args.batch_size)
    started = time.perf_counter()
    train = evaluate(store, backend, suite, EvalConfig(split="train", limit=args.train, **settings)).summary
    diagnose(store, store.get_run(train.run_id), "arith", deps, config=DiagnoseConfig(cluster=False))
    build_lesson_set(store, train.run_name, "prompt", args.out, {"examples": str(args.examples)}, embedder=embedder)
    lessons = load_in_context(store, args.out)
    heldout = EvalConfig(split="heldout", limit=args.heldout, **settings)
    runs = {"plain": evaluate(store, backend, suite, heldout).summary}
    for arm in ("lessons", "few-shot"):
        runs[arm] = evaluate(store, backend, suite, heldout, lessons=LessonPrompts(lessons, embedder, arm)).summary
    attempts = {arm: store.attempts(s.run_id) for arm, s in runs.items()}
    result = {
        "command": "benchmarks/in_context.py " + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()
                                                          if v is not None),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(), "train_accuracy": train.accuracy,
        "train_mistakes": train.mistakes, "seconds": round(time.perf_counter() - started, 1),
        "arms": {arm: {"run": s.run_name, "accuracy": s.accuracy, "ci95": bootstrap_ci(_scores(attempts[arm]))}
                 for arm, s in runs.items()},
    }
    for other in ("plain", "few-shot"):
        c = compare_runs(attempts[other], attempts["lessons"])
        result[f"lessons_minus_{other}"] = {"tasks": c.tasks, "delta": c.delta, "ci95": c.ci95, "fixed": c.fixed,
                                            "new": c.new}
    print(json.dumps(result, indent=2))
    Path(args.db).with_suffix(".json").write_text(json.dumps(result, indent=2))


def _scores(attempts):
    import numpy as np

    return np.array([np.mean([a.correct for a in group]) for group in by_task(attempts).values()], dtype=float)


if __name__ == "__main__":
    main()
