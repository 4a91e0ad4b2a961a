"""Rule-based diagnosis and the error taxonomy at scale: 100,000 mistakes on a CPU.

Mistakes are made from the built-in arith suite's gold solutions, written out the way a
small model writes them ("Step 2: Subtract: 45 − 12 = 33."), with one fault injected
each: a wrong result in a random step (carried forward), a miscopied number, a wrong
operation, a skipped step, a wrong conversion factor, an extra step, a cut-off, an empty
response, a refusal or a missing answer. Only responses whose answer really is wrong (or
missing) are kept. Then, timed stage by stage:

    split      split_steps on every response
    locate     the arithmetic locator (check_step on every step, against gold)
    classify   classify_mistake with the locator's result
    taxonomy   describe (number-masked), embed the distinct descriptions with the
               packaged MiniLM on the CPU, cluster, name

The target is under 60 s for all four on a 2-core CPU (model loading reported apart).
Split, locate and classify are maps over mistakes and run in `--workers` processes (2:
one per core); embedding uses both cores through torch. It also prints how often the
primary type names the injected fault.

    .venv/bin/python benchmarks/diagnose_100k.py --mistakes 100000 --tasks 2000 --workers 2
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import re
import time
from collections import Counter
from fractions import Fraction

from lessons.diagnose.arith_check import ArithLocator
from lessons.diagnose.base import Case
from lessons.diagnose.error_types import classify_mistake
from lessons.diagnose.steps import split_steps
from lessons.diagnose.taxonomy import MiniLMEmbedder, TaxonomyConfig, TaxonomyItem, mistake_step_text, update_taxonomy
from lessons.tasks import ArithSuite, Task
from lessons.tasks._steps import fmt
from lessons.arith import parse_number
from lessons.verify.extract import extract_answer

KINDS = {  # injected fault -> weight
    "calculation": 30, "copied_value": 12, "wrong_operation": 12, "skipped_step": 8, "unit": 6,
    "reasoning": 10, "truncated": 8, "format": 7, "no_attempt": 4, "refusal": 3,
}
SHOWN = {"*": ["×", "*", "x", "\\times"], "/": ["÷", "/"], "+": ["+"], "-": ["-", "−"]}
PHRASES = {
    "+": ["Add:", "Adding,", "Now add the extra:", "The total is", "Together that makes"],
    "-": ["Subtract:", "Take away:", "What is left:", "The difference is", "After that there are"],
    "*": ["Multiply:", "Multiplying,", "The product is", "In all that is", "Each group gives"],
    "/": ["Divide:", "Share equally:", "Each one gets", "Splitting evenly,", "Per part that is"],
}
OPENERS = ["", "", "First,", "Next,", "Then", "So", "We compute", "Now,", "Finally,"]
NOUNS = ["apples", "dollars", "marbles", "eggs", "books", "km", "minutes", "meters", "cents", "muffins", "pencils",
         "cookies", "hours", "seconds", "days", "centimeters", "grams", "kilograms", "liters", "inches", "feet"]
REFUSALS = ["I'm sorry, but I can't help with that.", "I cannot solve this problem.", "I don't know."]
FORMAT_ENDINGS = ["The answer is unclear.", "Answer:", "Answer: \\boxed{", "So that is the result."]
_STEP = re.compile(r"^(?P<expr>.+?) = (?P<value>\S+)(?: remainder (?P<rem>\d+))?$")


def gold_chain(task: Task) -> list[list]:
    """[tokens, value] per gold step; tokens are operands (strings) and operators."""
    chain = []
    for g in task.steps:
        m = _STEP.match(g.text)
        if m is None:
            return []
        chain.append([m["expr"].split(" "), Fraction(m["value"])])
    return chain


def evaluate(tokens: list[str]) -> Fraction | None:
    src = " ".join(f'F("{t}")' if t not in "+-*/" else t for t in tokens)
    try:
        return eval(src, {"F": Fraction})  # our own generated tokens, never model text
    except ZeroDivisionError:
        return None


def recompute(chain: list[list], start: int, old: Fraction, new: Fraction, is_division_task: bool) -> bool:
    """Carry a changed value forward: later steps use every changed value (as the
    response wrote it) and are recomputed."""
    changed = {fmt(old): new}
    for step in chain[start:]:
        step[0] = [show(changed[t], "fractions" if "/" in t else "") if t in changed else t for t in step[0]]
        value = evaluate(step[0])
        if value is None:
            return False
        if is_division_task and "/" in step[0] and value.denominator != 1:
            value = Fraction(value.numerator // value.denominator)
        changed[fmt(step[1])] = value
        step[1] = value
    return True


def mutate_number(rng: random.Random, s: str) -> str:
    if "/" in s:
        n, d = s.split("/")
        return f"{int(n) + rng.randint(1, 3)}/{d}"
    digits = list(s)
    if len(digits) >= 2 and digits[1] != "0" and digits[0] != digits[1] and rng.random() < 0.5:
        digits[0], digits[1] = digits[1], digits[0]  # transposed digits
        return "".join(digits)
    return str(int(s) + rng.choice([-1, 1]) * rng.randint(3, 9))


def inject(rng: random.Random, task: Task, kind: str) -> tuple[list[list], str] | None:
    """A perturbed copy of the gold chain, or None where the kind does not apply."""
    chain = [[list(t), v] for t, v in gold_chain(task)]
    if not chain:
        return None
    division = task.metadata["skill"] == "division"
    j = rng.randrange(len(chain))
    if kind == "calculation":
        old = chain[j][1]
        slip = rng.choice([-10, -2, -1, 1, 2, 10]) if old.denominator == 1 else Fraction(1, old.denominator)
        chain[j][1] = old + slip
        return (chain, kind) if recompute(chain, j + 1, old, chain[j][1], division) else None
    if kind in ("copied_value", "unit"):
        return _replace_operand(rng, task, chain, j, kind, division)
    if kind == "wrong_operation":
        ops = [i for i, t in enumerate(chain[j][0]) if t in "+-*/"]
        if len(ops) != 1:
            return None
        i = ops[0]
        chain[j][0][i] = {"+": "-", "-": "+", "*": "/", "/": "*"}[chain[j][0][i]]
        old, chain[j][1] = chain[j][1], evaluate(chain[j][0])
        if chain[j][1] is None or chain[j][1] <= 0:
            return None
        return (chain, kind) if recompute(chain, j + 1, old, chain[j][1], division) else None
    if kind == "skipped_step":
        if len(chain) < 2 or j == len(chain) - 1:
            return None
        skipped = chain.pop(j)
        return (chain, kind) if recompute(chain, j, skipped[1], Fraction(skipped[0][0]), division) else None
    if kind == "reasoning":  # one step too many: the right numbers, to the wrong end
        extra = rng.choice([t for t in re.findall(r"\d+", task.prompt)] or ["2"])
        chain.append([[fmt(chain[-1][1]), rng.choice("+-"), extra], None])
        chain[-1][1] = evaluate(chain[-1][0])
        return (chain, kind) if chain[-1][1] and chain[-1][1] > 0 else None
    return chain, kind  # the text-level kinds start from the gold chain


def _replace_operand(rng, task, chain, j, kind, division):
    factors = {"10", "100", "1000", "60", "24", "12", "7", "3"}
    tokens = chain[j][0]
    if kind == "unit":
        spots = [i for i, t in enumerate(tokens) if t in factors]
        if task.metadata["skill"] != "unit_conversion" or not spots:
            return None
        i = spots[-1]  # "n * f": the factor comes last
        tokens[i] = rng.choice(sorted(factors - {tokens[i], "7", "3"}))
    else:
        spots = [i for i, t in enumerate(tokens) if t not in "+-*/" and re.search(rf"\b{re.escape(t)}\b", task.prompt)]
        if not spots:
            return None
        i = rng.choice(spots)
        tokens[i] = mutate_number(rng, tokens[i])
    old, chain[j][1] = chain[j][1], evaluate(tokens)
    if division and chain[j][1] is not None and "/" in tokens:
        chain[j][1] = Fraction(chain[j][1].numerator // chain[j][1].denominator)  # full boxes
    if chain[j][1] is None or chain[j][1] <= 0:
        return None
    return (chain, kind) if recompute(chain, j + 1, old, chain[j][1], division) else None


def show(value: Fraction, skill: str) -> str:
    """A value as a model writes it: a fraction in the fractions skill, else a decimal."""
    if skill == "fractions" or value.denominator == 1:
        return fmt(value)
    return f"{float(value):.2f}".rstrip("0").rstrip(".")


def render(rng: random.Random, task: Task, chain: list[list], kind: str) -> tuple[str, str]:
    """Response text and finish reason for a chain, with the text-level faults applied."""
    if kind == "no_attempt":
        return rng.choice(["", " ", "\n"]), "stop"
    if kind == "refusal":
        return rng.choice(REFUSALS), "stop"
    lines, skill = [], task.metadata["skill"]
    nouns = [n for n in NOUNS if n in task.prompt] + [""]  # a model names what the question names
    for k, (tokens, value) in enumerate(chain, 1):
        op = next((t for t in tokens if t in "+-*/"), "+")
        expr = " ".join(rng.choice(SHOWN[t]) if t in SHOWN else t for t in tokens)
        lead = " ".join(p for p in (rng.choice(OPENERS), rng.choice(PHRASES[op])) if p)
        noun = rng.choice(nouns)
        lines.append(f"Step {k}: {lead} {expr} = {show(value, skill)}{' ' + noun if noun else ''}.")
    answer = show(chain[-1][1], skill)
    ending = rng.choice([f"Answer: {answer}", f"**Answer:** {answer}", f"The final answer is \\boxed{{{answer}}}."])
    if kind == "format":
        ending = rng.choice(FORMAT_ENDINGS)
        lines = [re.sub(r"\d", "", line) for line in lines] if ending == FORMAT_ENDINGS[0] else lines
    text = "\n".join([*lines, ending])
    if kind == "truncated":
        return text[: rng.randint(len(text) // 3, max(len(text) // 3 + 1, len(text) - len(ending) - 2))], "length"
    return text, "stop"


def make_mistakes(n: int, n_tasks: int, seed: int) -> list[tuple[Task, str, str, str, str]]:
    """(task, text, finish reason, extraction status, injected kind) for n real mistakes."""
    rng = random.Random(seed)
    tasks = [t for t in ArithSuite(seed).tasks(n_tasks) if gold_chain(t)]
    kinds, weights = list(KINDS), list(KINDS.values())
    out = []
    while len(out) < n:
        task = rng.choice(tasks)
        kind = rng.choices(kinds, weights)[0]
        made = inject(rng, task, kind)
        if made is None:
            continue
        text, finish = render(rng, task, made[0], kind)
        extraction = extract_answer(text, finish)
        if extraction.status == "ok" and parse_number(extraction.answer or "") == parse_number(task.answer):
            continue  # the fault happened to give the right answer: not a mistake
        out.append((task, text, finish, extraction.status, kind))
    return out


class TimedEmbedder:
    """Wraps the embedder to tell embedding time apart from clustering time."""

    def __init__(self, inner):
        self.inner, self.wall, self.cpu, self.texts = inner, 0.0, 0.0, 0

    def embed(self, texts):
        wall, cpu = time.perf_counter(), time.process_time()
        out = self.inner.embed(texts)
        self.wall += time.perf_counter() - wall
        self.cpu += time.process_time() - cpu
        self.texts += len(texts)
        return out


class Stages:
    """Wall and CPU seconds per stage. CPU counts every thread of this process (MiniLM
    uses both cores); on a shared machine wall exceeds CPU."""

    def __init__(self):
        self.times: dict[str, tuple[float, float]] = {}

    def run(self, name, fn):
        wall, cpu = time.perf_counter(), time.process_time()
        out = fn()
        self.times[name] = (time.perf_counter() - wall, time.process_time() - cpu)
        return out


MISTAKES: list = []  # set before the worker pool forks, so workers read it without pickling


def diagnose(bounds: tuple[int, int]) -> tuple[list, dict[str, float]]:
    """split, locate, classify for MISTAKES[start:end]: (location, types, step text) each,
    and the CPU seconds of each stage."""
    start, end = bounds
    part, cpu = MISTAKES[start:end], {}
    t = time.process_time()
    steps = [split_steps(text) for _, text, _, _, _ in part]
    cpu["split"], t = time.process_time() - t, time.process_time()
    cases = [Case(task.prompt, s, task.answer, task.steps, str(i))
             for i, ((task, *_), s) in enumerate(zip(part, steps))]
    locations = ArithLocator().locate(cases)
    cpu["locate"], t = time.process_time() - t, time.process_time()
    types = [classify_mistake(task, text, finish, status, s, loc)
             for (task, text, finish, status, _), s, loc in zip(part, steps, locations)]
    cpu["classify"] = time.process_time() - t
    return [(loc, ty, mistake_step_text(s, loc.step)) for loc, ty, s in zip(locations, types, steps)], cpu


def diagnose_all(workers: int) -> tuple[list, dict[str, float]]:
    """The rule-based stages, in `workers` processes over contiguous chunks (they are maps)."""
    n = len(MISTAKES)
    chunks = [(i, min(n, i + 5000)) for i in range(0, n, 5000)]
    if workers <= 1:
        results = [diagnose(c) for c in chunks]
    else:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            results = pool.map(diagnose, chunks)
    cpu: dict[str, float] = {}
    for _, part_cpu in results:
        for stage, seconds in part_cpu.items():
            cpu[stage] = cpu.get(stage, 0.0) + seconds
    return [row for rows, _ in results for row in rows], cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mistakes", type=int, default=100_000)
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2, help="processes for split/locate/classify")
    parser.add_argument("--max-embedded", type=int, default=TaxonomyConfig.max_embedded)
    args = parser.parse_args()

    started = time.perf_counter()
    MISTAKES[:] = make_mistakes(args.mistakes, args.tasks, args.seed)
    print(f"generated {len(MISTAKES):,} mistakes in {time.perf_counter() - started:.1f} s (not timed below)")
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (2 cores: above 2 means shared)")
    stages = Stages()
    # the pool forks before torch is loaded: forking a process with OpenMP threads can hang
    rows, cpu = stages.run("diagnose", lambda: diagnose_all(args.workers))

    embedder = TimedEmbedder(MiniLMEmbedder())
    t = time.perf_counter()
    embedder.inner.embed(["warm up"])
    print(f"MiniLM load: {time.perf_counter() - t:.1f} s (once per process, not counted)")
    items = [TaxonomyItem(str(i), text, ty, task.metadata["skill"])
             for i, ((task, *_), (_, ty, text)) in enumerate(zip(MISTAKES, rows))]
    config = TaxonomyConfig(max_embedded=args.max_embedded)
    result = stages.run("taxonomy", lambda: update_taxonomy(None, items, embedder, config))
    report(MISTAKES, [ty for _, ty, _ in rows], result, stages, cpu, embedder, args.workers)


def report(mistakes, types, result, stages, diagnose_cpu, embedder, workers) -> None:
    n = len(mistakes)
    print(f"{'stage':>10}  {'wall s':>7}  {'cpu s':>7}  {'cpu µs/mistake':>14}")
    wall, _ = stages.times["diagnose"]
    print(f"{'diagnose':>10}  {wall:7.1f}  {sum(diagnose_cpu.values()):7.1f}  ({workers} worker processes)")
    for stage, cpu in diagnose_cpu.items():
        print(f"{'  ' + stage:>10}  {'':>7}  {cpu:7.1f}  {cpu / n * 1e6:14.0f}")
    wall, cpu = stages.times["taxonomy"]
    print(f"{'taxonomy':>10}  {wall:7.1f}  {cpu:7.1f}  {cpu / n * 1e6:14.0f}")
    print(f"{'  embed':>10}  {embedder.wall:7.1f}  {embedder.cpu:7.1f}  ({embedder.texts:,} texts, 2 torch threads)")
    print(f"{'total':>10}  {sum(w for w, _ in stages.times.values()):7.1f}")
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"distinct descriptions: {result.unique_descriptions:,}; embedded: {result.embedded:,}; "
          f"clusters: {len(result.clusters)}")
    expected = {"refusal": "no_attempt"}
    hits = Counter()
    confusion: dict[str, Counter] = {}
    for (_, _, _, _, kind), ty in zip(mistakes, types):
        want = expected.get(kind, kind)
        hits[kind] += want == ty[0]
        confusion.setdefault(kind, Counter())[ty[0]] += 1
    print("injected fault -> primary type (share right; most common types)")
    for kind, counter in sorted(confusion.items()):
        total = sum(counter.values())
        common = ", ".join(f"{k} {v / total:.0%}" for k, v in counter.most_common(3))
        print(f"  {kind:>15}: {hits[kind] / total:5.1%}  [{common}]")
    for c in sorted(result.clusters, key=lambda c: -c.size)[:12]:
        print(f"  cluster {c.id:>2} {c.size:>6,}  {c.name}")


if __name__ == "__main__":
    main()
