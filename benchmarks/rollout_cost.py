"""Rollout locator cost: binary search with early stopping against rolling out from every prefix.

Both modes of RolloutLocator locate the first wrong step of the SAME real mistakes, with
the same k, sampling settings and seed. The mistakes are the model's own: greedy answers
to the built-in arith suite (step-by-step template) that the verifier rejects and that
have at least `--min-steps` steps. Reported: generated tokens per case and per located
mistake in each mode, their ratio (target <= 0.5), how often the two modes name the same
step, and wall times. The modes run one after the other in one process on one backend.
The baseline gets the same free knowledge as the search (a response whose own answer is
wrong needs no rollouts from its full prefix), so the ratio measures the search and the
early stop alone. Token counts do not depend on the machine; wall times do (on a shared
2-core CPU a 0.5B model generates ~10 tokens/s, so keep --mistakes small there).

    .venv/bin/python benchmarks/rollout_cost.py --model qwen2.5-coder-0.5b --tasks 48 --mistakes 10
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

from lessons.diagnose.base import Case, Location
from lessons.diagnose.rollout import RolloutLocator
from lessons.diagnose.steps import split_steps
from lessons.models import ModelOptions, resolve_model
from lessons.models.base import SamplingParams
from lessons.prompts import templates
from lessons.tasks import load_suite
from lessons.verify import verify


def find_mistakes(backend, n_tasks: int, want: int, min_steps: int, max_new_tokens: int, batch: int) -> list[dict]:
    """Greedy attempts at the first `n_tasks` arith tasks, batch by batch, until `want` wrong
    ones with at least `min_steps` steps are found: {key, question, answer, response} each."""
    template = templates.get("step-by-step")
    tasks = list(load_suite("arith").tasks(n_tasks))
    params = SamplingParams(max_new_tokens=max_new_tokens)
    cases: list[dict] = []
    for start in range(0, len(tasks), batch):
        chunk = tasks[start : start + batch]
        rows = backend.generate([template.render(t) for t in chunk], params)
        for task, [c] in zip(chunk, rows):
            steps = split_steps(c.text)
            if c.finish_reason == "stop" and not verify(task.answer, c.text).correct and len(steps) >= min_steps:
                cases.append({"key": task.id, "question": task.prompt, "answer": task.answer, "response": c.text})
        print(f"  attempted {start + len(chunk)} tasks: {len(cases)} usable mistakes", flush=True)
        if len(cases) >= want:
            break
    return cases[:want]


class Logged:
    """The backend, printing one line per generate() call (these runs are long on a CPU)."""

    def __init__(self, backend, label: str):
        self.backend, self.label, self.info, self.calls = backend, label, backend.info, 0

    def generate(self, prompts, params):
        started = time.perf_counter()
        rows = self.backend.generate(prompts, params)
        self.calls += 1
        tokens = sum(c.completion_tokens for row in rows for c in row)
        print(f"  {self.label} call {self.calls}: {len(prompts)} prefixes x {params.n}, {tokens} tokens, "
              f"{time.perf_counter() - started:.0f} s", flush=True)
        return rows


def run_mode(backend, cases: list[Case], mode: str, args) -> tuple[list[Location], float]:
    locator = RolloutLocator(Logged(backend, mode), rollouts=args.k, round_size=args.round_size, temperature=args.temperature,
                             max_new_tokens=args.rollout_tokens, seed=args.seed, mode=mode)
    started = time.perf_counter()
    locations = locator.locate(cases)
    return locations, time.perf_counter() - started


def summarize(name: str, locations: list[Location], wall: float) -> dict:
    tokens = sum(loc.tokens for loc in locations)
    located = sum(loc.step is not None for loc in locations)
    per_located = tokens / located if located else float("nan")
    print(f"{name:>13}: {tokens:7d} tokens, {located}/{len(locations)} located, "
          f"{tokens / len(locations):7.0f} tokens/case, {per_located:7.0f} tokens/located mistake, wall {wall:6.1f} s")
    return {"tokens": tokens, "located": located, "per_located": per_located, "wall": wall}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="qwen2.5-coder-0.5b")
    ap.add_argument("--tasks", type=int, default=48, help="arith tasks to attempt at most")
    ap.add_argument("--mistakes", type=int, default=10)
    ap.add_argument("--min-steps", type=int, default=3)
    ap.add_argument("--k", type=int, default=4, help="rollouts before a prefix is called bad")
    ap.add_argument("--round-size", type=int, default=2)
    ap.add_argument("--temperature", type=float, default=0.7)
    ap.add_argument("--rollout-tokens", type=int, default=192)
    ap.add_argument("--answer-tokens", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mistakes-file", help="JSON of mistakes: read if it exists, else written")
    args = ap.parse_args()

    print(f"{args.model} on {platform.processor() or platform.machine()}; k={args.k}, "
          f"round={args.round_size}, T={args.temperature}, rollout tokens<={args.rollout_tokens}")
    started = time.perf_counter()
    backend = resolve_model(args.model, ModelOptions(batch_size=args.batch_size))
    print(f"loaded in {time.perf_counter() - started:.0f} s; finding mistakes", flush=True)
    t0 = time.perf_counter()
    cache = Path(args.mistakes_file) if args.mistakes_file else None
    if cache and cache.is_file():
        found = json.loads(cache.read_text())[: args.mistakes]
    else:
        found = find_mistakes(backend, args.tasks, args.mistakes, args.min_steps, args.answer_tokens, args.batch_size)
        if cache:
            cache.write_text(json.dumps(found, indent=1))
    cases = [Case(m["question"], split_steps(m["response"]), m["answer"], key=m["key"]) for m in found]
    print(f"{len(cases)} mistakes ({', '.join(str(len(c.steps)) for c in cases)} steps) in "
          f"{time.perf_counter() - t0:.0f} s", flush=True)
    if not cases:
        raise SystemExit("no usable mistakes: attempt more tasks (--tasks)")

    fast_locs, fast_wall = run_mode(backend, cases, "binary", args)
    slow_locs, slow_wall = run_mode(backend, cases, "every_prefix", args)
    print(f"\n{'case':<22}{'steps':>6}{'binary':>10}{'tokens':>8}{'every':>10}{'tokens':>8}")
    for case, f, s in zip(cases, fast_locs, slow_locs):
        print(f"{case.key:<22}{len(case.steps):>6}{str(f.step):>10}{f.tokens:>8}{str(s.step):>10}{s.tokens:>8}")
    print()
    fast = summarize("binary+early", fast_locs, fast_wall)
    slow = summarize("every prefix", slow_locs, slow_wall)
    agree = sum(f.step == s.step for f, s in zip(fast_locs, slow_locs))
    print(f"token ratio (binary / every prefix): {fast['tokens'] / slow['tokens']:.2f} overall, "
          f"{fast['per_located'] / slow['per_located']:.2f} per located mistake (target <= 0.5)")
    print(f"same step located: {agree}/{len(cases)}; wall ratio {fast_wall / slow_wall:.2f}")


if __name__ == "__main__":
    main()
