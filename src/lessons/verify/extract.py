"""Answer extraction: find the final answer in a model's response, or say why there is none.

Explicit markers ("Answer: 42", "\\boxed{42}", "#### 42") are tried in the configured order;
the last number in the text is only a fallback, used when no marker was written and the
response was not cut off (a truncated text's last number is a step's, not the answer).
Everything here is linear in the text: patterns are anchored or possessive, the last
number is searched in a window at the end, and brace matching is bounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

from lessons.arith.numbers import ANSWER_NUMBER as _LAST_NUMBER, numeric_core
from lessons.verify.base import Extraction

DEFAULT_METHODS: tuple[str, ...] = ("answer_line", "boxed", "hash", "last_number")
TRUNCATED_REASON = "length"  # the finish_reason of a response cut off at max_new_tokens
MAX_BOXED_CHARS = 4_000  # a \boxed{...} still open after this many characters is malformed
_FOLLOWING_LINES = 3  # "Answer:" on its own line: the answer is in the next few lines

# "Answer: 42", "Final answer: 42", "**Answer:** 42", "**Final Answer**: 42", "> Answer: 42",
# and "### Final Answer" alone on its line (the answer then follows on the next lines).
# Each marker pattern is matched once, from the line of the marker word's first occurrence:
# the greedy (?s:.*) runs to the end and backs up, so the match found is the last marker
# line, in time linear in the text and with no Python loop over earlier markers.
_LAST_LINE = r"(?s:.*)^"
_ANSWER_WORD = re.compile("answer", re.IGNORECASE)
_ANSWER_LINE = re.compile(
    _LAST_LINE + r"[ \t>*_#\-]*+(?:the[ \t]++)?(?:final[ \t]++)?answer[ \t*_]*+"
    r"(?:[:：](?P<value>[^\n]*+)|$)",
    re.IGNORECASE | re.MULTILINE,
)
# GSM8K's "#### 72"; "#### Step 2: ..." and "#### Final Answer" are markdown headings instead.
_HASH_LINE = re.compile(
    _LAST_LINE + r"[ \t]*+####(?!#)[ \t]*+"
    r"(?!(?:step|part|case|solution|problem|final|answer|summary|conclusion|verification|"
    r"explanation|note|check)\b)(?P<value>[^\n]*+)(?<!:)(?<![:][ \t])$",
    re.IGNORECASE | re.MULTILINE,
)
_BOXED = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")
_BRACE = re.compile(r"\\.|[{}]", re.DOTALL)  # an escaped character, or a brace
_DEPTH = {"{": 1, "}": -1}
_NUMBER_WINDOWS = (1_000, 16_000)  # chars from the end searched for the last number first
_WRAPPERS = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"), ("**", "**"), ("`", "`"))
_WHOLE_TEXT = re.compile(r"\\(?:text|textbf|textrm|mathrm|mbox)\{([^{}]*)\}")


@dataclass(frozen=True)
class _Found:
    """A marker found in the text: its cleaned value ("" when empty or unbalanced) and
    whether it runs to the end of the text (so a cut-off text explains the missing value)."""

    value: str
    at_end: bool


def extract_answer(
    text: str, finish_reason: str = "stop", methods: Sequence[str] = DEFAULT_METHODS
) -> Extraction:
    """The final answer in `text` and how it was found; never raises on any text."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown extraction method(s) {unknown}; available: {', '.join(METHODS)}")
    if not isinstance(text, str) or not text.strip():
        return Extraction(None, "missing")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    truncated = finish_reason == TRUNCATED_REASON
    failed: tuple[str, _Found] | None = None  # the first marker found without a value
    for method in methods:
        found = _MARKERS[method](text) if method in _MARKERS else None
        if found is not None and found.value:
            return Extraction(found.value, "ok", method)
        if found is not None and failed is None:
            failed = (method, found)
    if failed is not None:
        method, found = failed
        # A marker left open by the token limit ("\boxed{12") was cut off, not badly written.
        return Extraction(None, "truncated" if truncated and found.at_end else "malformed", method)
    if truncated:
        return Extraction(None, "truncated")
    number = _last_number(text) if "last_number" in methods else None
    return Extraction(number, "ok", "last_number") if number else Extraction(None, "missing")


def clean_answer(value: str) -> str:
    """Strip what surrounds an answer: markdown bold, $...$ and \\(...\\), a trailing
    period, a \\boxed{} around it; and, when what is left is one number, currency signs
    and unit words ("$1,234.50" -> "1,234.50", "42 apples" -> "42")."""
    s = value.strip()
    for _ in range(8):  # "The final answer is $\boxed{42}$. I hope it is correct."
        boxed = _boxed_content(s) if _BOXED.search(s) else None
        if boxed is None:
            break
        if boxed[0] is None:
            return ""  # the box is not closed: a malformed answer
        s = boxed[0].strip()  # boxes may nest; a loop, not recursion, peels them
    for _ in range(6):  # wrappers nest ("**$42$.**"); each pass peels one layer
        before = s
        s = _peel(s.strip().rstrip(".,;。").strip())  # not "!": "5!" is a factorial
        if s == before:
            break
    whole = _WHOLE_TEXT.fullmatch(s)
    if whole:
        s = whole.group(1).strip()
    core = numeric_core(s)
    return core if core is not None else s


def _peel(s: str) -> str:
    for left, right in _WRAPPERS:
        if len(s) >= len(left) + len(right) and s.startswith(left) and s.endswith(right):
            inner = s[len(left):len(s) - len(right)]
            if left != "$" or "$" not in inner.replace("\\$", ""):  # "$1 and $2" is not one span
                return inner
    if s.startswith("**") or s.endswith("**"):  # "** 42" left over from "**Answer:** 42"
        return s.strip("*")
    return s


def _find_answer_line(text: str) -> _Found | None:
    first = _ANSWER_WORD.search(text)
    last = _ANSWER_LINE.match(text, text.rfind("\n", 0, first.start()) + 1) if first else None
    if last is None:
        return None
    value = clean_answer(last["value"] or "")
    if value or _BOXED.search(last["value"] or ""):  # an unclosed box is a value gone wrong
        return _Found(value, at_end=last.end() == len(text))
    following = _following_block(text, last.end())  # "**Answer:**" then the value below
    if following is None:  # a long section follows: "Answer:" was a heading, not a marker
        return None
    return _Found(clean_answer(following), at_end=not following)


def _following_block(text: str, start: int) -> str | None:
    """The lines after a value-less "Answer:" up to the next blank line: "" if none, None
    if there are more than a few (then the marker heads a solution, not an answer)."""
    rest = text[start:start + 2_000].lstrip()
    block = rest.split("\n\n", 1)[0]
    lines = [line.strip() for line in block.split("\n") if line.strip()]
    if len(lines) > _FOLLOWING_LINES:
        return None
    return " ".join(lines)


def _find_boxed(text: str) -> _Found | None:
    """The content of the last \\boxed{...}, braces balanced; "" when it is not closed."""
    boxed = _boxed_content(text)
    if boxed is None:
        return None
    content, at_end = boxed
    return _Found(clean_answer(content) if content is not None else "", at_end)


def _boxed_content(text: str) -> tuple[str | None, bool] | None:
    """(raw content of the last box or None if it is not closed, whether it runs to the end
    of the text); None when there is no box."""
    start = _last_boxed(text)
    if start is None:
        return None
    i = start.end()
    while i < len(text) and text[i] in " \t":
        i += 1
    if i >= len(text) or text[i] != "{":
        token = re.match(r"[^\s{}$]+", text[i:i + 100])  # "\boxed 5" is valid TeX
        return (token.group() if token else None), i >= len(text)
    depth, limit = 0, min(len(text), i + MAX_BOXED_CHARS)
    for m in _BRACE.finditer(text, i, limit):
        depth += _DEPTH.get(m.group(), 0)
        if depth == 0:
            return text[i + 1:m.start()], m.end() == len(text)
    return None, limit == len(text)


def _last_boxed(text: str) -> re.Match[str] | None:
    """The last \\boxed or \\fbox command, found with rfind: no scan of the whole text."""
    best = None
    for name in ("\\boxed", "\\fbox"):
        end = len(text)
        while (pos := text.rfind(name, 0, end)) >= 0:
            m = _BOXED.match(text, pos)
            if m is not None:
                best = m if best is None or m.start() > best.start() else best
                break
            end = pos  # "\\boxedness": not the command; look further back
    return best


def _find_hash(text: str) -> _Found | None:
    first = text.find("####")
    found = _HASH_LINE.match(text, text.rfind("\n", 0, first) + 1) if first >= 0 else None
    if found is None:
        return None
    return _Found(clean_answer(found["value"]), at_end=found.end() == len(text))


def _last_number(text: str) -> str | None:
    """The last number in the text ("1,234", "-3.5", "3/4", "25%") that is not a label,
    searched in a window at the end first, widened only when the window holds none."""
    for window in (*_NUMBER_WINDOWS, len(text)):
        pos = max(0, len(text) - window)
        last = None
        for last in _LAST_NUMBER.finditer(text, pos):
            pass
        # A number starting right at the window's edge may continue before it: widen.
        if last is not None and (last.start() > pos or pos == 0):
            start, number = last.start(), last.group()
            if start > 0 and text[start - 1] == ".":  # ".5"; a "." after a digit was refused above
                start, number = start - 1, "." + number
            return ("-" if _negative(text, start) else "") + number
        if pos == 0:
            return None
    return None


def _negative(text: str, start: int) -> bool:
    """Whether a minus sign stands before the number at `start`: "-5" and "x = -5", but not
    the "-" of "3-5" or "(a)-5", which subtracts."""
    if start == 0 or text[start - 1] not in "-−":
        return False
    before = text[start - 2] if start >= 2 else " "
    return not (before.isalnum() or before in "_)]}")


_MARKERS: dict[str, Callable[[str], _Found | None]] = {
    "answer_line": _find_answer_line,
    "boxed": _find_boxed,
    "hash": _find_hash,
}
METHODS: tuple[str, ...] = (*_MARKERS, "last_number")
