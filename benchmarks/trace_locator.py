"""The `trace` locator's first wrong line against a known one: HumanEval's canonical
solutions with one line mutated, each mutant judged by its tests and, when it fails them,
traced beside the canonical solution (`lessons.sandbox.trace.first_wrong_line`).

A mutation changes one line of the solution's body: a comparison (`<` and `<=`, `>` and
`>=`, `==` and `!=`), an operator (`+` and `-`, `*` to `+`), `and` and `or`, `True` and
`False`, or an integer literal plus one; lines and mutations are tried in an order drawn
by `--seed` until the mutant parses and fails at least one test (one mutant a problem).
The mutated line is the truth. Reported: the share of mutants located at exactly that
line, at a later line, at an earlier one, and nowhere, and, as the baseline a user has
without a reference, the line the judged run itself names (the exception's line in the
program, none for a wrong answer).

    .venv/bin/python benchmarks/trace_locator.py --seed 0
"""

from __future__ import annotations

import argparse
import ast
import json
import platform
import random
import re
import time
from concurrent.futures import ThreadPoolExecutor

from lessons.sandbox import Limits, isolation, run_program
from lessons.sandbox.trace import first_wrong_line
from lessons.tasks import load_suite
from lessons.verify.code import entry_point, task_tests

SWAPS = [(" <= ", " < "), (" < ", " <= "), (" >= ", " > "), (" > ", " >= "), (" == ", " != "), (" != ", " == "),
         (" + ", " - "), (" - ", " + "), (" * ", " + "), (" and ", " or "), (" or ", " and "),
         ("True", "False"), ("False", "True")]
INTEGER = re.compile(r"(?<![\w.])(\d+)(?![\w.])")
LIMITS = Limits(cpu_s=3, wall_s=10)


def mutants(line: str) -> list[str]:
    out = [line.replace(a, b, 1) for a, b in SWAPS if a in line]
    m = INTEGER.search(line)
    if m:
        out.append(line[:m.start()] + str(int(m.group(1)) + 1) + line[m.end():])
    return out


def mutate(task, rng: random.Random):
    """(program, 1-based mutated line, its run) of a mutant that parses and fails a test, or None."""
    program = task.answer
    lines = program.split("\n")
    body_start = len(task.prompt.split("\n")) - 1  # the solution's lines come after the prompt's
    order = [i for i in range(body_start, len(lines)) if lines[i].strip() and not lines[i].strip().startswith("#")]
    rng.shuffle(order)
    tests, entry = task_tests(task.id, task.metadata), entry_point(task.id, task.metadata)
    for i in order:
        options = mutants(lines[i])
        rng.shuffle(options)
        for changed in options:
            candidate = "\n".join(lines[:i] + [changed] + lines[i + 1:])
            try:
                ast.parse(candidate)
            except SyntaxError:
                continue
            run = run_program(candidate, tests, LIMITS, entry_point=entry)
            if not run.passed:
                return candidate, i + 1, run
    return None


def judge(task, rng_seed: int) -> dict | None:
    found = mutate(task, random.Random(f"{rng_seed}/{task.id}"))
    if found is None:
        return None
    program, truth, run = found
    tests, entry = task_tests(task.id, task.metadata), entry_point(task.id, task.metadata)
    start = time.perf_counter()
    traced = first_wrong_line(program, task.answer, tests, entry, LIMITS)
    body = [ln for ln in task.answer.split("\n")[len(task.prompt.split("\n")) - 1:] if ln.strip()]
    control = program.split("\n")[truth - 1].strip().startswith(("if ", "elif ", "while ", "for ", "else"))
    return {"task": task.id, "truth": truth, "control": control, "trace": traced.line, "branch": traced.branch, "run_line": run.line, "body_lines": len(body),
            "trace_s": time.perf_counter() - start, "problem": traced.problem}


def where(line: int | None, truth: int) -> str:
    if line is None:
        return "nowhere"
    return "exact" if line == truth else ("later" if line > truth else "earlier")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    tasks = list(load_suite("humaneval").tasks())
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        rows = [r for r in pool.map(lambda t: judge(t, args.seed), tasks) if r is not None]
    wall = time.perf_counter() - start
    n = len(rows)
    summary = {"machine": f"{platform.machine()}, {platform.python_version()}", "isolation": isolation().method,
               "problems": len(tasks), "mutants": n, "wall_s": round(wall, 1),
               "trace_s_mean": round(sum(r["trace_s"] for r in rows) / max(n, 1), 3)}
    for name in ("trace", "run_line"):
        counts = {k: 0 for k in ("exact", "later", "earlier", "nowhere")}
        for r in rows:
            counts[where(r[name], r["truth"])] += 1
        summary[name] = {k: f"{v} ({100 * v / max(n, 1):.1f}%)" for k, v in counts.items()}
    multi = [r for r in rows if r["body_lines"] > 1]
    summary["multi_line_bodies"] = len(multi)
    summary["trace_exact_multi_line"] = sum(where(r["trace"], r["truth"]) == "exact" for r in multi)
    summary["trace_line_or_its_branch_exact"] = sum(r["truth"] in (r["trace"], r["branch"]) for r in rows)
    summary["with_a_branch"] = sum(r["branch"] is not None for r in rows)
    later = [r for r in rows if where(r["trace"], r["truth"]) == "later"]
    summary["later_at_a_condition_or_loop_line"] = sum(r["control"] for r in later)  # such lines make no value
    summary["mutants_at_a_condition_or_loop_line"] = sum(r["control"] for r in rows)
    summary["problems_nowhere"] = sorted({r["problem"] for r in rows if r["trace"] is None})
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
