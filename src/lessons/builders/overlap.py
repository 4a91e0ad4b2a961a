"""Held-out decontamination by n-gram overlap.

The rule: a row overlaps a held-out question when the row's prompt text contains one of
the question's *signature n-grams* — runs of N = 8 tokens of the question (the whole
question when it is shorter) that carry at least two of its numbers (or as many as any
run carries, when that is fewer) — and also holds every number of the question. Tokens are lower-case words,
numbers and fractions ("1,200" and "3/4" are one token each) and single signs, so
"What is 45 + 67?" is the 6-token question `what is 45 + 67 ?`.

Why numbers: math problems are written from templates ("... packs them into boxes that
hold 6 each. After filling as many boxes as possible, how many muffins are left over?"),
so a plain 8-gram test would call every problem of a template a copy of every other.
What makes a problem itself is its numbers in their context: a copy carries a
number-bearing n-gram of the question and all of its numbers, while a sibling from the
same template with other numbers does not. Eight tokens is the usual decontamination
window (8- to 13-grams in GPT-3 and later reports); short questions must appear whole.

Code questions (a Python function stub: `def name(...)`) must appear whole, whitespace and
case aside. Their n-grams are the wrong test: the stubs of one function family share their
signature and docstring, and many carry no number at all, so every 8-gram of such a stub
would mark each of its siblings a copy (half the `code` suite's train tasks were). What
makes a code question itself is its examples along with the rest, and a copy holds it all.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Iterable, Sequence

from lessons.arith.numbers import NUMBER_PATTERN
from lessons.builders._solutions import normalized

N = 8  # tokens per n-gram
MIN_NUMBERS = 2  # numbers an n-gram must carry to count (fewer when the question has fewer)

_CODE = re.compile(r"^[ \t]*(?:async[ \t]+)?def[ \t]+\w+[ \t]*\(", re.MULTILINE)  # a function stub

# A number as `lessons.arith` writes it, with an unspaced fraction ("3/4") as one token.
_TOKEN = re.compile(rf"{NUMBER_PATTERN}(?:/\d+)?|[^\W\d_]+|[^\w\s]")

RULE = {
    "n": N, "min_numbers": MIN_NUMBERS,
    "rule": "drop a row whose prompt text holds an 8-token run of a held-out question carrying two of its "
            "numbers (the whole question when shorter) and every number of that question; a code question "
            "(a function stub) only when it holds the whole question",
}


def tokens(text: str) -> list[str]:
    return [t.replace(",", "") for t in _TOKEN.findall(text.lower())]


def _is_number(token: str) -> bool:
    return token[:1].isdecimal()  # tokens are whole: one that starts with a digit is a number


def _number_counts(toks: list[str]) -> Counter:
    return Counter(t for t in toks if _is_number(t))


def signatures(question: str, n: int = N, min_numbers: int = MIN_NUMBERS) -> set[tuple[str, ...]]:
    """The question's n-grams that identify it (see the module docstring)."""
    toks = tokens(question)
    if not toks:
        return set()
    if len(toks) <= n:
        return {tuple(toks)}
    grams = [tuple(toks[i : i + n]) for i in range(len(toks) - n + 1)]
    counts = [sum(1 for t in g if _is_number(t)) for g in grams]
    need = min(min_numbers, max(counts))  # numbers spread wider than n tokens: windows with one
    return {g for g, c in zip(grams, counts) if c >= need}


class OverlapIndex:
    """Signature n-grams of many held-out questions, looked up by the n-grams of a text."""

    def __init__(self, questions: Iterable[str], n: int = N, min_numbers: int = MIN_NUMBERS):
        self.n = n
        self._numbers: list[Counter] = []  # each question's numbers, with multiplicity
        self._grams: dict[int, dict[tuple[str, ...], list[int]]] = {}  # length -> gram -> questions
        self._whole: set[str] = set()  # code questions, normalized: they must appear whole
        for q in questions:
            if _CODE.search(q):
                self._whole.add(normalized(q))
                continue
            self._numbers.append(_number_counts(tokens(q)))
            for g in signatures(q, n, min_numbers):
                self._grams.setdefault(len(g), {}).setdefault(g, []).append(len(self._numbers) - 1)

    def __len__(self) -> int:
        return len(self._numbers) + len(self._whole)

    def overlaps(self, text: str) -> bool:
        if self._whole:
            flat = normalized(text)
            if any(q in flat for q in self._whole):
                return True
        toks = tokens(text)
        have = _number_counts(toks)
        for length, grams in self._grams.items():
            for i in range(len(toks) - length + 1):
                for q in grams.get(tuple(toks[i : i + length]), ()):
                    if not self._numbers[q] - have:  # every number of the question is in the text
                        return True
        return False


def overlapping(texts: Sequence[str], questions: Iterable[str]) -> list[bool]:
    """For each text, whether it overlaps any of `questions`."""
    index = OverlapIndex(questions)
    return [index.overlaps(t) for t in texts]
