"""The built-in procedural suite `code`: small Python functions over named skills, judged by
hidden tests in the sandbox (the `tests` verifier).

A task is a function stub (signature and a docstring with two examples); its gold answer
is a reference solution, and its hidden tests are asserts on several inputs, the examples
among them. Each family of functions below is written twice, as the reference source the
model is measured against and as the Python that computes the expected values; the suite's
tests check that the two agree (every reference passes its own tests in the sandbox).

As in `arith`, task i comes from its own RNG seeded from (generator version, seed, i), so it
is the same whatever `limit` is asked for, and every block of consecutive tasks holds each
skill once.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from typing import Any, Callable

from lessons.tasks.base import CODE_DEFAULTS, GeneratedSuite, Task, seeded_rng, split_for

GENERATOR_VERSION = "1"  # bump on any change that alters a generated task
SKILLS = ("strings", "lists_dicts", "loops_ranges", "recursion", "sorting", "parsing", "math")
_WORDS = ("apple", "kiwi", "banana", "fig", "cherry", "plum", "mango", "pear", "lime", "date", "grape")


@dataclass(frozen=True)
class Spec:
    """One function: what it is called and takes, what it does, how it is done, and its inputs."""

    name: str
    params: str  # "text: str, k: int"
    returns: str  # "int"
    description: str
    body: str  # the reference's body, indented four spaces
    compute: Callable[..., Any]  # the same function, here, for the expected values
    inputs: tuple[tuple[Any, ...], ...]  # argument tuples: edge cases, then drawn ones


@dataclass(frozen=True)
class Family:
    skill: str
    difficulty: int  # 1 easy .. 3 hard
    make: Callable[[random.Random], Spec]


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(words))


def _nums(rng: random.Random, n: int, low: int = -9, high: int = 9) -> list[int]:
    return [rng.randint(low, high) for _ in range(n)]


# -- strings


def count_letter(rng: random.Random) -> Spec:
    c = rng.choice("aeinr")
    texts = ["Banana Bread", "", *(_text(rng, rng.randint(1, 4)).title() for _ in range(4))]
    return Spec(f"count_{c}", "text: str", "int",
                f"Return how many times the letter '{c}' occurs in text, upper or lower case.",
                f"    return text.lower().count({c!r})\n", lambda text: text.lower().count(c),
                tuple((t,) for t in texts))


def shift_letters(rng: random.Random) -> Spec:
    k = rng.randint(1, 5)

    def compute(text: str) -> str:
        return "".join(chr((ord(ch) - 97 + k) % 26 + 97) if "a" <= ch <= "z" else ch for ch in text)

    texts = ["abc", "xyz!", *(_text(rng, rng.randint(1, 3)) for _ in range(3)), "Zoo 42"]
    body = ("    out = []\n    for ch in text:\n        if 'a' <= ch <= 'z':\n"
            f"            out.append(chr((ord(ch) - ord('a') + {k}) % 26 + ord('a')))\n"
            "        else:\n            out.append(ch)\n    return ''.join(out)\n")
    return Spec(f"shift_by_{k}", "text: str", "str",
                f"Shift every lowercase letter {k} places forward in the alphabet, wrapping from 'z' "
                "back to 'a'; leave every other character as it is.", body, compute, tuple((t,) for t in texts))


def clean_palindrome(rng: random.Random) -> Spec:
    def compute(text: str) -> bool:
        kept = [ch.lower() for ch in text if ch.isalnum()]
        return kept == kept[::-1]

    word = rng.choice(_WORDS)
    texts = ["Never odd or even", "abca", f"{word}{word[::-1]}", f"{word}!", "", "No 'x' in Nixon", "1a2"]
    body = "    kept = [ch.lower() for ch in text if ch.isalnum()]\n    return kept == kept[::-1]\n"
    return Spec("is_clean_palindrome", "text: str", "bool",
                "Return True if text reads the same backwards as forwards, counting only letters and "
                "digits and ignoring case.", body, compute, tuple((t,) for t in texts))


# -- lists and dicts


def count_long_words(rng: random.Random) -> Spec:
    n = rng.randint(4, 5)

    def compute(words: list[str]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for w in words:
            if len(w) >= n:
                counts[w] = counts.get(w, 0) + 1
        return counts

    lists = [["apple", "fig", "apple", "mango"], ["a", "b"],
             *([rng.choice(_WORDS) for _ in range(rng.randint(0, 7))] for _ in range(4))]
    body = (f"    counts = {{}}\n    for w in words:\n        if len(w) >= {n}:\n"
            "            counts[w] = counts.get(w, 0) + 1\n    return counts\n")
    return Spec(f"count_words_of_{n}_or_more", "words: list[str]", "dict[str, int]",
                f"Count the words of at least {n} letters: a dict from each such word to how many times "
                "it occurs.", body, compute, tuple((w,) for w in lists))


def invert_mapping(rng: random.Random) -> Spec:
    def compute(mapping: dict[str, int]) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for key, value in mapping.items():
            out.setdefault(value, []).append(key)
        return {value: sorted(keys) for value, keys in out.items()}

    dicts = [{"b": 1, "a": 1, "c": 2}, {}, *({w: rng.randint(1, 3) for w in rng.sample(_WORDS, rng.randint(1, 6))}
                                           for _ in range(4))]
    body = ("    out = {}\n    for key, value in mapping.items():\n        out.setdefault(value, []).append(key)\n"
            "    return {value: sorted(keys) for value, keys in out.items()}\n")
    return Spec("invert_mapping", "mapping: dict[str, int]", "dict[int, list[str]]",
                "Invert mapping: a dict from each value to the sorted list of the keys that map to it.",
                body, compute, tuple((d,) for d in dicts))


def running_max(rng: random.Random) -> Spec:
    def compute(nums: list[int]) -> list[int]:
        out: list[int] = []
        for x in nums:
            out.append(x if not out else max(out[-1], x))
        return out

    lists = [[1, 3, 2, 5, 4], [], *(_nums(rng, rng.randint(1, 7)) for _ in range(4))]
    body = ("    out = []\n    for x in nums:\n        out.append(x if not out else max(out[-1], x))\n"
            "    return out\n")
    return Spec("running_max", "nums: list[int]", "list[int]",
                "Return the list whose i-th element is the largest of nums[0] .. nums[i].",
                body, compute, tuple((n,) for n in lists))


# -- loops and ranges (off by one is the point)


def sum_every(rng: random.Random) -> Spec:
    s = rng.randint(1, 3)
    pairs = [(1, 10), (5, 5), (3, 2), *((a, a + rng.randint(0, 12)) for a in _nums(rng, 3, -5, 8))]
    return Spec(f"sum_every_{s}", "a: int, b: int", "int",
                f"Return a + (a + {s}) + (a + {2 * s}) + ... over the numbers that do not pass b "
                "(b itself included when reached); 0 when a > b.",
                f"    return sum(range(a, b + 1, {s}))\n", lambda a, b: sum(range(a, b + 1, s)), tuple(pairs))


def every_nth(rng: random.Random) -> Spec:
    n = rng.randint(2, 4)
    lists = [list(range(1, 11)), [7], *(_nums(rng, rng.randint(0, 12), 0, 20) for _ in range(4))]
    return Spec(f"every_{n}th", "items: list[int]", "list[int]",
                f"Return the items at positions {n}, {2 * n}, {3 * n}, ... counting the first item as "
                "position 1.", f"    return items[{n} - 1::{n}]\n", lambda items: items[n - 1::n],
                tuple((x,) for x in lists))


def window_sums(rng: random.Random) -> Spec:
    w = rng.randint(2, 4)
    lists = [[1, 2, 3, 4, 5], [1], *(_nums(rng, rng.randint(0, 8)) for _ in range(4))]
    body = f"    return [sum(nums[i:i + {w}]) for i in range(len(nums) - {w} + 1)]\n"
    return Spec(f"window_sums_{w}", "nums: list[int]", "list[int]",
                f"Return the sum of every run of {w} consecutive numbers, in order; an empty list when "
                f"there are fewer than {w} numbers.", body,
                lambda nums: [sum(nums[i:i + w]) for i in range(len(nums) - w + 1)], tuple((x,) for x in lists))


def adjacent_differences(rng: random.Random) -> Spec:
    lists = [[1, 4, 9, 16], [5], *(_nums(rng, rng.randint(0, 7)) for _ in range(4))]
    body = "    return [nums[i + 1] - nums[i] for i in range(len(nums) - 1)]\n"
    return Spec("adjacent_differences", "nums: list[int]", "list[int]",
                "Return each number minus the one before it, from the second number on.", body,
                lambda nums: [nums[i + 1] - nums[i] for i in range(len(nums) - 1)], tuple((x,) for x in lists))


# -- recursion


def _flatten(nested: list) -> list:
    return [y for x in nested for y in (_flatten(x) if isinstance(x, list) else [x])]


def _depth(nested: list) -> int:
    return 1 + max((_depth(x) for x in nested if isinstance(x, list)), default=0)


def _nested(rng: random.Random, depth: int) -> list:
    return [_nested(rng, depth - 1) if depth > 0 and rng.random() < 0.4 else rng.randint(0, 9)
            for _ in range(rng.randint(0, 3))]


def flatten(rng: random.Random) -> Spec:
    lists = [[1, [2, [3, 4]], 5], [], *(_nested(rng, 3) for _ in range(4))]
    body = ("    out = []\n    for x in nested:\n        if isinstance(x, list):\n            out.extend(flatten(x))\n"
            "        else:\n            out.append(x)\n    return out\n")
    return Spec("flatten", "nested: list", "list", "Return the numbers of a list of numbers and nested lists, "
                "in order, in one flat list.", body, _flatten, tuple((x,) for x in lists))


def nesting_depth(rng: random.Random) -> Spec:
    lists = [[1, [2, [3]], 4], [], *(_nested(rng, 3) for _ in range(4))]
    body = "    return 1 + max((nesting_depth(x) for x in nested if isinstance(x, list)), default=0)\n"
    return Spec("nesting_depth", "nested: list", "int", "Return how deeply lists nest: 1 for a list with no list "
                "inside it, else 1 more than its deepest inner list.", body, _depth, tuple((x,) for x in lists))


def lattice_paths(rng: random.Random) -> Spec:
    pairs = [(2, 2), (1, 5), (0, 3), *((rng.randint(0, 6), rng.randint(0, 6)) for _ in range(3))]
    body = ("    if rows == 0 or cols == 0:\n        return 1\n"
            "    return count_paths(rows - 1, cols) + count_paths(rows, cols - 1)\n")
    return Spec("count_paths", "rows: int, cols: int", "int",
                "Return how many ways there are to walk from the top-left to the bottom-right corner of a "
                "grid rows steps down and cols steps right, each move one step down or one step right.",
                body, lambda rows, cols: math.comb(rows + cols, rows), tuple(pairs))


# -- sorting with keys


def sort_by_length(rng: random.Random) -> Spec:
    longest = rng.random() < 0.5
    key = "(-len(w), w)" if longest else "(len(w), w)"
    lists = [["pear", "fig", "apple", "kiwi"], [], *(rng.sample(_WORDS, rng.randint(1, 6)) for _ in range(4))]
    order = "longest first" if longest else "shortest first"
    return Spec(f"sort_{'longest' if longest else 'shortest'}_first", "words: list[str]", "list[str]",
                f"Return the words sorted by length, {order}, words of the same length in alphabetical order.",
                f"    return sorted(words, key=lambda w: {key})\n",
                lambda words: sorted(words, key=lambda w: (-len(w), w) if longest else (len(w), w)),
                tuple((x,) for x in lists))


def rank_by_score(rng: random.Random) -> Spec:
    def compute(scores: list[tuple[str, int]]) -> list[str]:
        return [name for name, _ in sorted(scores, key=lambda p: (-p[1], p[0]))]

    lists = [[("ann", 3), ("bob", 5), ("cat", 3)], [],
             *([(w, rng.randint(0, 4)) for w in rng.sample(_WORDS, rng.randint(1, 6))] for _ in range(4))]
    body = "    return [name for name, _ in sorted(scores, key=lambda p: (-p[1], p[0]))]\n"
    return Spec("rank_by_score", "scores: list[tuple[str, int]]", "list[str]",
                "Return the names, highest score first; names with equal scores in alphabetical order.",
                body, compute, tuple((x,) for x in lists))


# -- parsing


def parse_settings(rng: random.Random) -> Spec:
    sep = rng.choice([";", ","])

    def compute(text: str) -> dict[str, int]:
        out = {}
        for part in text.split(sep):
            if part.strip():
                key, _, value = part.partition("=")
                out[key.strip()] = int(value)
        return out

    def line() -> str:
        return sep.join(f" {w} = {rng.randint(-20, 99)}" for w in rng.sample(_WORDS, rng.randint(1, 4)))

    texts = [f"a=1{sep} b = 22{sep}", "", line(), line(), line(), f"x=-3{sep}{sep}y=4"]
    body = (f"    out = {{}}\n    for part in text.split({sep!r}):\n        if part.strip():\n"
            "            key, _, value = part.partition('=')\n            out[key.strip()] = int(value)\n"
            "    return out\n")
    return Spec("parse_settings", "text: str", "dict[str, int]",
                f"Read 'key=value' pairs separated by '{sep}' into a dict of int values; spaces around keys "
                "and values do not count, and empty pairs are skipped.", body, compute, tuple((t,) for t in texts))


def sum_of_numbers(rng: random.Random) -> Spec:
    def compute(text: str) -> int:
        return sum(int(n) for n in re.findall(r"-?\d+", text))

    def line() -> str:
        return " and ".join(f"{rng.randint(-9, 30)} {rng.choice(_WORDS)}s" for _ in range(rng.randint(1, 3)))

    texts = ["3 apples and 12 pears", "no numbers", "-4 plus 10", line(), line(), line()]
    return Spec("sum_of_numbers", "text: str", "int",
                "Return the sum of the whole numbers written in text (a '-' just before digits makes the "
                "number negative).", "    import re\n    return sum(int(n) for n in re.findall(r'-?\\d+', text))\n",
                compute, tuple((t,) for t in texts))


def clock_minutes(rng: random.Random) -> Spec:
    def compute(clock: str) -> int:
        hours, _, minutes = clock.partition(":")
        return int(hours) * 60 + int(minutes)

    times = ["01:30", "00:00", "23:59", *(f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}" for _ in range(3))]
    body = "    hours, _, minutes = clock.partition(':')\n    return int(hours) * 60 + int(minutes)\n"
    return Spec("minutes_since_midnight", "clock: str", "int",
                "Return the minutes since midnight of a 24-hour time written 'HH:MM'.", body, compute,
                tuple((t,) for t in times))


# -- simple math


def gcd_of_all(rng: random.Random) -> Spec:
    lists = [[12, 18, 24], [7], *([rng.randint(1, 12) * f for _ in range(rng.randint(1, 4))]
                                  for f in rng.sample(range(1, 10), 4))]
    body = "    import math\n    result = 0\n    for n in nums:\n        result = math.gcd(result, n)\n    return result\n"
    return Spec("gcd_of_all", "nums: list[int]", "int", "Return the greatest common divisor of the positive numbers "
                "in nums.", body, lambda nums: math.gcd(*nums), tuple((x,) for x in lists))


def count_primes(rng: random.Random) -> Spec:
    def compute(n: int) -> int:
        return sum(all(k % d for d in range(2, math.isqrt(k) + 1)) for k in range(2, n))

    body = ("    count = 0\n    for k in range(2, n):\n        if all(k % d for d in range(2, int(k ** 0.5) + 1)):\n"
            "            count += 1\n    return count\n")
    values = [10, 2, 3, *(rng.randint(4, 120) for _ in range(3))]
    return Spec("count_primes_below", "n: int", "int", "Return how many prime numbers are smaller than n.",
                body, compute, tuple((v,) for v in values))


def digit_sum_multiple(rng: random.Random) -> Spec:
    k = rng.randint(3, 7)

    def compute(n: int) -> int:
        while sum(map(int, str(n))) % k:
            n += 1
        return n

    body = f"    while sum(int(d) for d in str(n)) % {k}:\n        n += 1\n    return n\n"
    values = [10, k, *(rng.randint(1, 999) for _ in range(4))]
    return Spec(f"next_digit_sum_multiple_of_{k}", "n: int", "int",
                f"Return the smallest number at least n (n >= 1) whose digits add up to a multiple of {k}.",
                body, compute, tuple((v,) for v in values))


FAMILIES: dict[str, tuple[Family, ...]] = {
    "strings": (Family("strings", 1, count_letter), Family("strings", 2, shift_letters),
                Family("strings", 2, clean_palindrome)),
    "lists_dicts": (Family("lists_dicts", 2, count_long_words), Family("lists_dicts", 3, invert_mapping),
                    Family("lists_dicts", 1, running_max)),
    "loops_ranges": (Family("loops_ranges", 1, sum_every), Family("loops_ranges", 2, every_nth),
                     Family("loops_ranges", 2, window_sums), Family("loops_ranges", 1, adjacent_differences)),
    "recursion": (Family("recursion", 2, flatten), Family("recursion", 3, nesting_depth),
                  Family("recursion", 2, lattice_paths)),
    "sorting": (Family("sorting", 1, sort_by_length), Family("sorting", 2, rank_by_score)),
    "parsing": (Family("parsing", 2, parse_settings), Family("parsing", 2, sum_of_numbers),
                Family("parsing", 1, clock_minutes)),
    "math": (Family("math", 1, gcd_of_all), Family("math", 2, count_primes), Family("math", 3, digit_sum_multiple)),
}


def _rng(*parts: object) -> random.Random:
    return seeded_rng("code", GENERATOR_VERSION, *parts)


def _call(name: str, args: tuple[Any, ...]) -> str:
    return f"{name}({', '.join(map(repr, args))})"


def stub(spec: Spec, shown: tuple[int, ...] = (0, 1)) -> str:
    """The signature and a docstring with the inputs numbered `shown` as examples: what the
    model is asked to complete. Every input is also a hidden test."""
    examples = "".join(f"    >>> {_call(spec.name, spec.inputs[i])}\n    {spec.compute(*spec.inputs[i])!r}\n"
                       for i in shown)
    return f'def {spec.name}({spec.params}) -> {spec.returns}:\n    """{spec.description}\n\n{examples}    """\n'


FAMILY_NAMES: dict[str, Family] = {f.make.__name__: f for families in FAMILIES.values() for f in families}


def build_task(task_id: str, family: Family, rng: random.Random, source: str = "code") -> Task:
    """One task of `family` drawn with `rng` (the suite's tasks, and practice tasks drawn in a
    weak slice): its stub, reference, hidden tests and metadata. The split goes by the prompt,
    not the id: two tasks that ask the same question share it, so no held-out question is
    also a train (or practice) question."""
    spec = family.make(rng)
    # examples drawn too, so tasks of one family rarely share a prompt (across splits)
    prompt = stub(spec, tuple(sorted(rng.sample(range(len(spec.inputs)), 2))))
    tests = [{"name": f"case {i + 1}", "source": f"assert {_call(spec.name, args)} == {spec.compute(*args)!r}"}
             for i, args in enumerate(spec.inputs)]
    metadata = {"skill": family.skill, "difficulty": family.difficulty, "family": family.make.__name__,
                "source": source, "entry_point": spec.name, "tests": tests}
    return Task(task_id, prompt, prompt + spec.body, (), metadata, split_for(prompt))


class CodeSuite(GeneratedSuite):
    """Procedural Python function tasks; an endless stream, cut by `limit`."""

    NAME, VERSION = "code", GENERATOR_VERSION
    defaults = CODE_DEFAULTS

    def task(self, index: int) -> Task:
        block, position = divmod(index, len(SKILLS))
        skill = _rng(self.seed, "block", block).sample(SKILLS, len(SKILLS))[position]
        rng = _rng(self.seed, index)
        return build_task(f"code-s{self.seed}-{index:06d}", rng.choice(FAMILIES[skill]), rng)
