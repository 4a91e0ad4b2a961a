"""Turn a step's text into items for the arithmetic checker: LaTeX and unicode folded to
plain operators, then tokens grouped into quantities ("12 apples", "20%", "$3.50").

Nothing here evaluates model text with `eval`; quantities carry exact Fractions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple

# LaTeX and unicode spellings of operators, applied in order (longest commands first),
# each with the strings one of which any match contains: most steps are plain text, and a
# substring test skips a pattern's pass over them (empty: always run).
_REPLACEMENTS: tuple[tuple[re.Pattern[str], str, tuple[str, ...]], ...] = tuple(
    (re.compile(p), r, tuple(g))
    for p, r, g in [
        (r"<<[^<>]{0,200}>>", " ", ("<<",)),  # GSM8K calculator annotations: always right, noisy
        (r"\*\*|__", " ", ("**", "__")),  # markdown bold
        (r"\\%", "%", ("\\",)),
        (r"\\\$|\$(?=\d)", " ", ("$",)),  # currency carries no arithmetic
        # Math delimiters, bullets and line ends bound a statement: "\(2^9 = 512\) - \(3 = 3\)"
        # must not read as "512 - 3".
        (r"(?m)\\\\|\$\$?|\\[()\[\]]|^[ \t]*[-*•+][ \t]+|\n", " ¦ ", ()),
        (r"\\(?:left|right|big|Big|bigg|Bigg)(?![A-Za-z])", "", ("\\",)),
        (r"\\(?:times|cdot|ast)(?![A-Za-z])|[·∙⋅∗]", " × ", ("\\", "·", "∙", "⋅", "∗")),
        (r"\\div(?![A-Za-z])", " ÷ ", ("\\",)),
        (r"\\(?:approx|simeq|thickapprox)(?![A-Za-z])|≃|≅", " ≈ ", ("\\", "≃", "≅")),
        (r"(?<=\d)(?:\{,\}|\\,)(?=\d{3})", ",", ("{,}", "\\,")),  # LaTeX thousands separators
        (r"\\[,;:! ]|\\quad|\\qquad|&", " ", ("\\", "&")),
        (r"/\s*\\(?:text|mathrm)\s*\{\s*([A-Za-z]{2,})\s*\}", r"/\1", ("\\",)),  # "\$12/\text{month}"
        (r"\\(?:text|textbf|textit|mathrm|mathbf|mbox|operatorname|boxed)\s*\{([^{}]*)\}", r" \1 ", ("\\",)),
        (r"\^\{(-?\d{1,3})\}", r"^\1", ("^{",)),
        (r"²", "^2", ("²",)),
        (r"³", "^3", ("³",)),
        (r"[−‐]", "-", ("−", "‐")),  # unicode minus and hyphen; en and em dashes stay: they mark ranges
        (r"(?<=[\d)])\s*=\s*~|=\s*(?:about|approximately|approx\.?|roughly|around)\b", " ≈ ", ("=",)),
        (r"(?<=\d)\s+(?:times|multiplied\s+by)\s+(?=[\d(])", " × ", ("times", "multiplied")),
        (r"(?<=\d)\s+divided\s+by\s+(?=[\d(])", " ÷ ", ("divided",)),
        (r"(?<=\d)\s+plus\s+(?=[\d(])", " + ", ("plus",)),
        (r"(?<=\d)\s+minus\s+(?=[\d(])", " - ", ("minus",)),
        (r"(?<=[\d%)])\s+(?:equals|is\s+equal\s+to)\s+(?=[\d(-])", " = ", ("equal",)),
    ]
)
_FRAC = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_TEMPLATE = re.compile(r"\\(\d)")  # a group reference in a replacement: split, literals and numbers alternate
# "x" as a times sign: only between two numbers, and only where the step never uses x as
# a variable elsewhere (checked by comparing counts).
_X_TIMES = re.compile(r"(?<=[\d)])\s*[xX]\s*(?=[\d(])")
_X_ANY = re.compile(r"(?<![A-Za-z])[xX](?![A-Za-z])")
_MAX_DIGITS = 60  # longer digit strings are ids or garbage, and slow to compute with
_ORDINAL = {"st", "nd", "rd", "th"}
# Units written glued to a number ("5km"); any other glued letters make a term ("2x").
_GLUED_UNITS = frozenset("km cm mm kg mg lb lbs oz ft yd mi hr hrs min mins sec ml mph kph am pm".split())
_SCALES = {"dozen": 12, "hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9}
# Words that never name a unit: joining them to a number would swallow sentence structure.
_NOT_UNITS = frozenset(
    "of and or is are was were be so then to for in on at by the a an which that with from "
    "plus minus times remainder rem per equals gives makes more less than as into if we it "
    "this these those x r mod modulo".split()
)

_TOKEN = re.compile(
    r"(?P<annot>\((?=[^()\n]{0,80}[A-Za-z])[^()\d=+*/×÷^<>\n]{1,80}\))"  # "(math and science)"
    r"|(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"|(?P<word>[^\W\d_]+(?:['’][^\W\d_]+)?(?:/[^\W\d_]{2,})*)"  # any script: "apples", "π", "漢字"
    r"|(?P<eq>=|≈)|(?P<op>[-+*/×÷^])|(?P<lp>\()|(?P<rp>\))|(?P<pct>%)|(?P<other>\S)"
)


class Quantity(NamedTuple):
    """A number as written, with what is attached to it (a named tuple, as `Item` is)."""

    value: Fraction
    decimals: int  # digits written after the point
    percent: bool
    unit: str | None  # normalised ("apple"), None when bare
    scale: int  # 12 for "dozen", 10**6 for "million", else 1


class Item(NamedTuple):
    """A token or a grouped quantity, with its span in the normalised text.

    kind: "qty", "op", "lp", "rp", "eq", "word", "var" (a letter glued to a number or a
    lone letter: a variable), "bad" (an ordinal or other number that is not a quantity),
    "cmd" (a LaTeX command), "annot" (a parenthesised remark), "other".
    A named tuple, not a frozen dataclass: a step makes dozens and a diagnosis reads
    thousands of steps, and a tuple is made in a third of the time.
    """

    kind: str
    text: str
    start: int
    end: int
    qty: Quantity | None = None


Edits = tuple[tuple[int, int, int], ...]  # one folding pass: (start, end, replacement length)


@dataclass(frozen=True)
class Origin:
    """Where the characters of normalised text came from in the text as written, so that
    a statement read in the one can be edited in the other. Each pass that changed the
    text keeps its edits; a character a pass wrote comes from the whole stretch it
    replaced, a character it kept from its own place."""

    passes: tuple[Edits, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the written text that normalised [start, end) came from (end >
        start: the spans of its first and last characters, joined)."""
        lo, hi = start, end
        for edits in reversed(self.passes):
            first, last = _source(edits, lo), _source(edits, hi - 1)
            lo, hi = first[0], max(first[1], last[1])  # an inserted character has an empty span
        return lo, hi


def _source(edits: Edits, i: int) -> tuple[int, int]:
    """The span of a pass's input that character `i` of its output came from."""
    shift = 0
    for start, end, length in edits:
        at = start + shift
        if i < at:
            break
        if i < at + length:
            return start, end
        shift += length - (end - start)
    return i - shift, i - shift + 1


def normalize(text: str) -> str:
    """Plain-operator text: LaTeX commands, unicode signs and word operators folded."""
    return _fold(text, None)


def normalize_with_origin(text: str) -> tuple[str, Origin]:
    """`normalize(text)` and where each of its characters came from in `text`."""
    passes: list[Edits] = []
    return _fold(text, passes), Origin(tuple(passes))


def _fold(text: str, passes: list[Edits] | None) -> str:
    for _ in range(4 if "frac" in text else 0):  # nested fractions fold from the inside out
        # A space before, none after: "2\frac12" stays a mixed number (skipped), and
        # "\frac45(x-3)" stays a product with a variable (skipped too).
        folded = _sub(_FRAC, r" ((\1)/(\2))", text, passes)
        if folded == text:
            break
        text = folded
    for pattern, repl, guards in _REPLACEMENTS:
        for guard in guards:
            if guard in text:
                break
        else:
            if guards:
                continue  # no match possible
        text = _sub(pattern, repl, text, passes)
    times = _X_TIMES.findall(text)
    if times and len(times) == len(_X_ANY.findall(text)):
        text = _sub(_X_TIMES, " × ", text, passes)
    return text


def _sub(pattern: re.Pattern[str], repl: str, text: str, passes: list[Edits] | None) -> str:
    """`pattern.sub(repl, text)`, recording its edits in `passes` when given (only the
    span-keeping reader needs them: the plain substitution is several times faster)."""
    if passes is None:
        return pattern.sub(repl, text)
    out, edits, last = [], [], 0
    template = _TEMPLATE.split(repl)
    for m in pattern.finditer(text):
        new = m.expand(repl)
        out += (text[last : m.start()], new)
        edits += _match_edits(m, template, len(new))
        last = m.end()
    if not edits:
        return text
    passes.append(tuple(edits))
    out.append(text[last:])
    return "".join(out)


def _match_edits(m: re.Match[str], template: list[str], length: int) -> list[tuple[int, int, int]]:
    """One match's edits: the literal parts of the replacement replace the stretches
    around the groups it copies, so a copied group ("\\text{12 apples}" -> " 12 apples ")
    keeps its characters' own places; one edit for the whole match where the groups are
    missing or out of order."""
    cuts = [m.span(int(g)) for g in template[1::2]]
    at = m.start()
    if any(start < end_before for (start, _), end_before in zip(cuts, [at, *(end for _, end in cuts)])):
        return [(m.start(), m.end(), length)]
    edits = []
    for literal, (start, end) in zip(template[::2], [*cuts, (m.end(), m.end())]):
        if start > at or literal:
            edits.append((at, start, len(literal)))
        at = end
    return edits


def items(text: str) -> list[Item]:
    """Items of normalised text: quantities grouped with their percent sign and unit."""
    toks = [(m.lastgroup or "other", m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]
    out: list[Item] = []
    i = 0
    while i < len(toks):
        kind, tok, start, end = toks[i]
        if kind == "num":
            item, i = _quantity(toks, i, text)
            out.append(item)
            continue
        if kind == "word":
            glued_cmd = out and out[-1].text == "\\" and out[-1].end == start
            kind = "cmd" if glued_cmd else "var" if _variable(tok, text, end) else "word"
        out.append(Item(kind, tok, start, end))
        i += 1
    return _mark_of(out)


def _mark_of(out: list[Item]) -> list[Item]:
    """"of" multiplies after a percentage or a fraction ("20% of 50", "1/3 of 18") only."""
    for k in range(1, len(out) - 1):
        it, prev, nxt = out[k], out[k - 1], out[k + 1]
        if it.kind != "word" or it.text.lower() != "of" or nxt.kind not in ("qty", "lp"):
            continue
        fraction = prev.kind == "qty" and k >= 3 and out[k - 2].text in "/÷" and out[k - 3].kind == "qty"
        percent = prev.kind == "qty" and prev.qty is not None and prev.qty.percent and prev.qty.unit is None
        if percent or fraction or prev.kind == "rp":
            out[k] = Item("op", "of", it.start, it.end)
    return out


def _quantity(toks: list[tuple[str, str, int, int]], i: int, text: str) -> tuple[Item, int]:
    """Group the number at toks[i] with a following %, unit words and remark."""
    _, num, start, end = toks[i]
    whole, _, frac = num.replace(",", "").partition(".")
    if len(whole) + len(frac) > _MAX_DIGITS or (len(whole) > 1 and whole[0] == "0" and "," not in num):
        # Too long to be a quantity, or zero-padded: a date, a time or a code ("2023-01-05").
        return Item("bad", num, start, end), i + 1
    value = Fraction(int(whole + frac), 10 ** len(frac)) if frac else Fraction(int(whole))
    j, percent, unit = i + 1, False, None
    n = len(toks)

    def at(k: int, kind: str) -> bool:
        return k < n and toks[k][0] == kind

    if at(j, "word") and toks[j][2] == end:  # letters glued to the digits
        word = toks[j][1]
        if word.lower() not in _GLUED_UNITS:  # "3rd" is no quantity, "2x" and "3ab" are terms
            kind = "bad" if word.lower() in _ORDINAL else "var"
            return Item(kind, num + word, start, toks[j][3]), j + 1
        unit, end, j = word, toks[j][3], j + 1
    if unit is None and at(j, "pct"):
        percent, end, j = True, toks[j][3], j + 1
    if unit is None and at(j, "op") and toks[j][1] == "/" and toks[j][2] == end and at(j + 1, "word"):
        if len(toks[j + 1][1]) >= 2 and toks[j + 1][2] == toks[j][3]:  # "$15/student"
            unit, end, j = "per " + toks[j + 1][1], toks[j + 1][3], j + 2
    if unit is None and at(j, "word") and _unit_word(toks[j][1], text, toks[j][3]):
        unit, end, j = toks[j][1], toks[j][3], j + 1
        # A two-word unit ("36 book slots ÷ 2") only where an operator follows it, so a
        # sentence ("3 apples went ...") is never swallowed.
        if at(j, "word") and _unit_word(toks[j][1], text, toks[j][3]) and toks[j + 1 : j + 2]:
            if toks[j + 1][0] in ("op", "eq", "rp"):
                unit, end, j = f"{unit} {toks[j][1]}", toks[j][3], j + 1
        if at(j, "word") and toks[j][1].lower() == "per" and at(j + 1, "word"):
            unit, end, j = f"{unit} per {toks[j + 1][1]}", toks[j + 1][3], j + 2
    if at(j, "annot"):
        end, j = toks[j][3], j + 1
    scale = _SCALES.get((unit or "").lower(), 1)
    qty = Quantity(value, len(frac), percent, _norm_unit(unit), scale)
    return Item("qty", num, start, end, qty), j


def _variable(word: str, text: str, end: int) -> bool:
    """Letters that name a quantity in math: "x", "AB", "cQ", "OP^2", "f(3)"."""
    if len(word) == 1:
        return word not in "aAI"
    if any(c.isupper() for c in word[1:]):
        return True  # "AD", "HP", "cQ": not an English word
    return text[end : end + 1] in ("^", "_", "(")


def _unit_word(word: str, text: str, end: int) -> bool:
    return len(word) >= 2 and word.lower() not in _NOT_UNITS and not _variable(word, text, end)


def _norm_unit(unit: str | None) -> str | None:
    """Compare units loosely: case and a plural "s" do not make a different unit."""
    if unit is None:
        return None
    unit = unit.lower()
    return unit[:-1] if unit.endswith("s") and len(unit) > 3 else unit
