"""Where an arithmetic statement starts and ends among a step's items.

A statement is read off the maximal expression on each side of an `=`; these helpers find
those boundaries and refuse the ones that are not safe to read (a variable, a function, a
mixed number, a time or a congruence right next to the expression).
"""

from __future__ import annotations

import re

from lessons.arith._text import Item

# Run items that an expression is made of.
_EXPR = ("qty", "op", "lp", "rp")
# Characters glued to an expression that make it part of something else: "3:30", ".5",
# "x^2", "a_1", "\sqrt{...}", "|3 - 5|", "2,3" (decimal comma).
_GLUE = set(":^_\\{}|'’#@!")
_PLAIN = "¦“”"  # non-ASCII signs that are punctuation, not mathematics
_FUNCTIONS = {"sqrt", "log", "ln", "sin", "cos", "tan", "exp", "mod", "gcd", "lcm", "max", "min"}
# Results that hold in modular or another base's arithmetic, not in ours.
_OTHER_ARITHMETIC = re.compile(
    r"\(?\s*(?:mod|modulo|pmod|bmod)\b|\\\s*(?:pmod|bmod|mod)\b|in (?:base|binary|octal|hex)", re.I
)


def statement_label(norm: str, its: list[Item], e: int, after: int) -> str | None:
    """The words naming what an `=` defines ("total earnings", "S"), from the start of its
    sentence or from `after`, where the previous statement ended."""
    k = e - 1
    while k >= max(after, 0) and e - k <= 12 and its[k].kind in ("word", "var", "annot"):
        k -= 1
    if k >= 0 and (after == 0 or k != after - 1) and not (its[k].kind == "other" and its[k].text in "¦.:;"):
        return None  # not at a sentence start: "so the total = ..." may reuse a name loosely
    names = its[k + 1 : e]
    if not names:
        return None
    if after and any(it.kind != "other" or it.text not in "¦." for it in its[after : k + 1]):
        return None  # "a = -3/4 or a = 5/6", "n = 2/3, n = 7": alternatives, not a restatement
    return " ".join(norm[names[0].start : names[-1].end].lower().split())


def left_start(its: list[Item], e: int) -> int | None:
    """Start of the maximal expression ending just before its[e], or None if unsafe."""
    k, depth = e - 1, 0
    while k >= 0 and its[k].kind in _EXPR:
        if its[k].kind == "lp":
            if depth == 0:
                break
            depth -= 1
        elif its[k].kind == "rp":
            depth += 1
        if k < e - 1 and not _joins(its[k], its[k + 1]):
            break
        k -= 1
    start = k + 1
    if start >= e:
        return None
    first, prev = its[start], its[start - 1] if start > 0 else None
    if first.kind == "op":
        # Only a unary minus may open an expression; "x + 3" has a hidden operand.
        glued = start + 1 < e and its[start + 1].start == first.end
        opens = prev is None or prev.kind in ("eq", "lp") or prev.text in "¦,;:"
        if first.text != "-" or not glued or not opens:
            return None  # "Total -5 + 3": a minus with a hidden left operand
    return start if _safe_before(its, start) else None


def between_inequalities(its: list[Item], start: int, end: int) -> bool:
    """`90/123 < k < 180/123 ≈ 0.732 < k`: inside a chain of inequalities an `=` or `≈`
    may belong to a term further away."""
    signs = "<>≤≥"
    before = start > 0 and its[start - 1].text in signs
    return before and end < len(its) and its[end].text in signs


def _safe_before(its: list[Item], start: int) -> bool:
    """Whether the item before an expression leaves it whole: not a number, a variable, a
    function name, or a sign glued to it ("3:30", "√91/3", "x^2 + 1", "2,3 + 1")."""
    if start == 0:
        return True
    prev, first = its[start - 1], its[start]
    if prev.kind in ("eq", "lp", "annot"):
        return True
    if prev.kind in ("qty", "var", "bad", "cmd", "rp", "op", "pct"):
        return False  # "2 1/2", "2x + 3", "\sqrt 9", "(2) 3"
    glued = prev.end == first.start
    if prev.kind == "word":
        return not glued and prev.text.lower() not in _FUNCTIONS
    if not glued:
        return prev.text not in "|–—" and (prev.text.isascii() or prev.text in _PLAIN)
    if prev.text in ":,":  # "3:30", "2,3": glued to a number on both sides
        return not (start >= 2 and its[start - 2].end == prev.start and its[start - 2].kind == "qty")
    return prev.text in "([\"<>;" or prev.text in _PLAIN


def right_end(its: list[Item], e: int) -> int | None:
    """End of the maximal expression starting just after its[e], or None if unsafe."""
    k, depth = e + 1, 0
    while k < len(its) and its[k].kind in _EXPR:
        if its[k].kind == "rp":
            if depth == 0:
                break
            depth -= 1
        elif its[k].kind == "lp":
            depth += 1
        if k > e + 1 and not _joins(its[k - 1], its[k]):
            break
        k += 1
    if k == e + 1 or its[k - 1].kind == "op":
        return None  # nothing stated, or "= 12 + x"
    if _OTHER_ARITHMETIC.match(_after(its, k - 1)):
        return None  # "= 1 (mod 7)", "= 10 in binary"
    if k < len(its):
        nxt, last = its[k], its[k - 1]
        glued = nxt.start == last.end
        if nxt.kind in ("qty", "var", "bad", "cmd") or (glued and nxt.kind in ("word", "lp")):
            return None  # "= 2 1/2", "= 5x", "= 3rd"
        if nxt.kind == "lp" and not _remark(its, k):
            return None  # "= 4/5 (x - 3)" multiplies; "= 0.20 (20 cents)" only restates
        if nxt.text == "\\":
            return None  # "= 12 \\cos C"
        if glued and (nxt.text in _GLUE or nxt.kind == "pct" or not (nxt.text.isascii() or nxt.text in _PLAIN)):
            return None  # "= 3:30", "= 2^x", "= 3!", "= 2√3"
    return k


def _after(its: list[Item], k: int) -> str:
    """A little of the text after its[k], rebuilt from items (enough for a keyword test)."""
    return " ".join(item.text for item in its[k + 1 : k + 4])


def _remark(its: list[Item], k: int) -> bool:
    """Whether the parenthesis at its[k] holds words (a remark) rather than math."""
    words = False
    for item in its[k + 1 : k + 30]:
        if item.kind == "rp":
            return words
        if item.kind in ("var", "cmd", "lp", "eq") or item.text.lower() in ("mod", "modulo"):
            return False
        words = words or item.kind == "word" or (item.qty is not None and item.qty.unit is not None)
    return False


def _joins(a: Item, b: Item) -> bool:
    """Whether `a` may stand just left of `b` inside one expression."""
    if a.kind in ("qty", "rp"):
        return b.kind in ("op", "rp") or (b.kind == "lp" and b.start == a.end)
    if a.kind in ("op", "lp"):
        return b.kind in ("qty", "lp") or (b.kind == "op" and b.text == "-")
    return False
