"""Split a response into steps, keeping character offsets into the response.

Every step satisfies `text[step.start:step.end] == step.text` with surrounding whitespace
trimmed, so a diagnosis can point back at the exact span of the response. All splitting is
done with linear regular expressions: responses can be long (50,000 characters) and
arbitrary (LaTeX, unicode, no structure at all).
"""

from __future__ import annotations

import re
from typing import Iterable, Sequence

from lessons.diagnose.base import Step

MODES = ("auto", "numbered", "lines", "sentences")

# "Step 3:" / "**Step 3**" / "### Step 3" markers, at the start of a line.
_STEP_MARKER = re.compile(
    r"^[ \t>]*(?:#{1,6}[ \t]*)?(?:\*\*|__)?[ \t]*step[ \t]*\d{1,4}\b", re.IGNORECASE | re.MULTILINE
)
# "1." / "1)" / "(1)" list markers at the start of a line; the space after them keeps
# decimals such as "3.5 apples" from counting.
_LIST_MARKER = re.compile(r"^[ \t>]*(?:\*\*)?(?:\d{1,3}[.)]|\(\d{1,3}\))(?=[ \t*])", re.MULTILINE)
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
_LINE_BREAK = re.compile(r"\n\s*")
# A sentence ends at . ! ? followed by space and a capital, a digit-free opener or a
# display-math start. Abbreviations and initials are filtered out after matching.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[A-Z\\$(\[*])|\n[ \t]*\n\s*")
_ABBREVIATION = re.compile(r"(?:\b(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|vs|etc|e\.g|i\.e|approx|No)|\b[A-Z])\.$")


def split_steps(text: str, mode: str = "auto") -> tuple[Step, ...]:
    """Steps of `text` by `mode`: "numbered", "lines", "sentences" or "auto".

    "auto" takes numbered markers when there are at least two, else paragraphs or lines
    when there are at least two, else sentences.
    """
    if mode not in MODES:
        raise ValueError(f"unknown step mode {mode!r}; expected one of {', '.join(MODES)}")
    if not text or text.isspace():
        return ()
    if mode == "numbered":
        return _numbered(text) or _whole(text)
    if mode == "lines":
        return _lines(text)
    if mode == "sentences":
        return _sentences(text)
    for split in (_numbered, _lines, _sentences):
        steps = split(text)
        if len(steps) >= 2:
            return steps
    return _whole(text)


def steps_from_list(steps: Sequence[str]) -> tuple[Step, ...]:
    """Steps given already split (ProcessBench), with offsets into "\\n\\n".join(steps).

    Every item keeps its index, even an empty one, because benchmark labels count them.
    """
    out, offset = [], 0
    for index, raw in enumerate(steps):
        lead = len(raw) - len(raw.lstrip())
        stripped = raw.strip()
        start = offset + lead
        out.append(Step(index, stripped, start, start + len(stripped)))
        offset += len(raw) + 2  # the "\n\n" separator
    return tuple(out)


def _numbered(text: str) -> tuple[Step, ...]:
    """Steps starting at "Step N" markers, or at list markers when there are no such."""
    for marker in (_STEP_MARKER, _LIST_MARKER):
        starts = [m.start() for m in marker.finditer(text)]
        if len(starts) >= 2:
            # Text before the first marker (an introduction) is a step of its own.
            return _spans(text, _cuts(0, starts, len(text)))
    return ()


def _lines(text: str) -> tuple[Step, ...]:
    """Paragraphs when there are at least two, else single lines."""
    paragraphs = _spans(text, _between(text, _PARAGRAPH_BREAK.finditer(text)))
    if len(paragraphs) >= 2:
        return paragraphs
    return _spans(text, _between(text, _LINE_BREAK.finditer(text)))


def _sentences(text: str) -> tuple[Step, ...]:
    # Only the few characters before a candidate break can hold an abbreviation; searching
    # that window alone keeps the scan linear.
    cuts = [
        m
        for m in _SENTENCE_END.finditer(text)
        if not _ABBREVIATION.search(text, max(0, m.start() - 8), m.start())
    ]
    return _spans(text, _between(text, cuts))


def _between(text: str, breaks: Iterable[re.Match[str]]) -> list[tuple[int, int]]:
    """Spans between separator matches."""
    spans, start = [], 0
    for m in breaks:
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(text)))
    return spans


def _cuts(first: int, starts: list[int], end: int) -> list[tuple[int, int]]:
    bounds = [first, *starts, end]
    return [(a, b) for a, b in zip(bounds, bounds[1:])]


def _spans(text: str, spans: Iterable[tuple[int, int]]) -> tuple[Step, ...]:
    """Steps from raw spans: whitespace trimmed by moving offsets, empty spans dropped."""
    steps: list[Step] = []
    for start, end in spans:
        piece = text[start:end]
        stripped = piece.strip()
        if not stripped:
            continue
        s = start + (len(piece) - len(piece.lstrip()))
        steps.append(Step(len(steps), stripped, s, s + len(stripped)))
    return tuple(steps)


def _whole(text: str) -> tuple[Step, ...]:
    return _spans(text, [(0, len(text))])
