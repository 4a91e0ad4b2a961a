"""Numbers as models write them: "$1,234.50", "-3/4", "\\frac{3}{4}", "25%", "42 apples".

Shared by extraction (to reduce a decorated number to its digits) and by the verifiers
(to compare numbers exactly or within a tolerance). All patterns are anchored or
possessive so that no input makes them backtrack badly.
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache

MAX_NUMBER_CHARS = 200  # longer "numbers" are garbage; int() of >4300 digits even raises
MAX_EXPONENT = 400  # 1e999999999 would make Fraction build a huge integer

# Digits with optional thousands separators ("1,234,567") and a decimal part; ASCII digits
# only, since \d would also accept digits from other scripts.
_PLAIN = r"(?:[0-9]{1,3}(?:,[0-9]{3})++(?![0-9])|[0-9]++)(?:\.[0-9]*+)?|\.[0-9]++"
_EXPONENT = r"(?:[eE][-+]?[0-9]{1,6})?"
_NUMBER = re.compile(
    r"(?P<sign1>[-+]?)[ \t]*+(?:US\$|\$|€|£|¥|₹|USD\b|Rs\.?)?[ \t]*+(?P<sign2>[-+]?)[ \t]*+"
    r"(?P<body>\\[dt]?frac\{(?P<fnum>-?[0-9]++)\}\{(?P<fden>[0-9]++)\}"
    rf"|(?P<num>(?:{_PLAIN}){_EXPONENT})(?:[ \t]*+/[ \t]*+(?P<den>{_PLAIN}))?)"
    r"[ \t]*+(?P<pct>%)?"
)
# A word of a unit: "apples", "km/h", "m^2", "sq.", "m²"; several may follow a number.
_UNIT_WORD = re.compile(r"[A-Za-z][A-Za-z.]*+(?:[/^·*-][A-Za-z0-9.]++)*+[²³]?")
# Words that look like units but change the value ("2 pi") or continue an expression.
_NOT_UNITS = frozenset({"pi", "sqrt", "inf", "infty", "infinity", "ln", "log", "sin", "cos",
                        "tan", "exp", "mod", "times", "plus", "minus", "over", "divided"})
_MAX_UNIT_WORDS = 4
_ONE_LETTER_UNITS = frozenset("mgslLhkNJWV")  # "m^2", "m/s" are units; "x^2" is not
_LATEX_TEXT = re.compile(r"\\(?:text|textrm|textbf|mathrm|mbox|operatorname)\s*\{([^{}]*)\}")
_LATEX_SPACES = re.compile(r"\\[,;:! ]|~")
_DEGREES = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|°")


def _normalize(text: str) -> str:
    s = text.strip().replace("−", "-").replace("{,}", ",").replace("\\%", "%").replace("\\$", "$")
    s = _LATEX_SPACES.sub(" ", s)
    s = _LATEX_TEXT.sub(r" \1 ", s)  # "42\text{ apples}": the text is a unit
    return _DEGREES.sub("", s).strip()


def _is_units(rest: str) -> bool:
    """Whether `rest` (what follows a number) is only unit words."""
    words = rest.split()
    return 0 < len(words) <= _MAX_UNIT_WORDS and all(_is_unit(w) for w in words)


def _is_unit(word: str) -> bool:
    # A lone letter is a variable ("5 x" is an expression, not five of a unit called x),
    # unless it is a unit's symbol with a power or a ratio ("m^2", "m/s").
    if _UNIT_WORD.fullmatch(word) is None or word.lower().rstrip(".") in _NOT_UNITS:
        return False
    head = len(word) - len(word.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"))
    return head > 1 or (len(word) > 1 and word[0] in _ONE_LETTER_UNITS)


def _match(text: str) -> re.Match[str] | None:
    if len(text) > 4 * MAX_NUMBER_CHARS:
        return None
    s = _normalize(text)
    m = _NUMBER.match(s)
    if m is None or (m["sign1"] and m["sign2"]) or len(m["body"]) > MAX_NUMBER_CHARS:
        return None
    rest = s[m.end():].strip().rstrip(".").strip()
    return m if not rest or _is_units(rest) else None


def numeric_core(text: str) -> str | None:
    """The number in `text` without currency signs or trailing unit words, as written
    ("1,234.50", "-3/4", "\\frac{3}{4}", "25%"); None unless `text` is one number."""
    m = _match(text)
    if m is None:
        return None
    sign = "-" if "-" in m["sign1"] + m["sign2"] else ""
    return sign + m["body"] + ("%" if m["pct"] else "")


def parse_number(text: str) -> Fraction | None:
    """The exact value of `text` when it is one number, else None. A percent sign is
    dropped, not divided out ("25%" -> 25), so that "25%" and "25" compare equal."""
    m = _match(text)
    if m is None:
        return None
    try:
        if m["fnum"] is not None:
            value = Fraction(int(m["fnum"]), int(m["fden"]))
        else:
            value = _to_fraction(m["num"])
            if value is not None and m["den"] is not None:
                value /= _to_fraction(m["den"])  # type: ignore[operator]  # no exponent: never None
    except (ValueError, ZeroDivisionError, OverflowError):
        return None
    if value is None:
        return None
    return -value if "-" in m["sign1"] + m["sign2"] else value


def _to_fraction(plain: str) -> Fraction | None:
    mantissa, _, exponent = plain.replace(",", "").lower().partition("e")
    if exponent and abs(int(exponent)) > MAX_EXPONENT:
        return None
    return Fraction(mantissa) * Fraction(10) ** int(exponent or 0)


def is_terminating(value: Fraction) -> bool:
    """Whether `value` has a finite decimal expansion (its denominator is 2^a 5^b)."""
    d = value.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return d == 1


# Finding numbers in running text (as opposed to reading a text that is one number, above).

# A number: "1,234", "3.5", "3/4", "25%", but not a label: "Step 3", or "2." / "2)" opening
# a list item at a line's start. It starts with a digit so that the regex engine can skip
# ahead to the next digit; a sign or a leading "." in front is read by answer extraction
# (`verify.extract`), which searches for the last one.
ANSWER_NUMBER = re.compile(
    r"[0-9](?<![\w][0-9])(?<![0-9.]\.[0-9])"  # not the tail of a word or number ("x2", "1.5.2")
    r"(?<!step [0-9])(?!(?<![^\n][0-9])[0-9]*+[.)][ \t])"  # not a label
    r"(?:[0-9]{0,2}(?:,[0-9]{3})++(?![0-9])(?:\.[0-9]+)?|[0-9]*+(?:\.[0-9]+)?)"
    r"(?:/[0-9]++)?%?",
    re.ASCII | re.IGNORECASE,
)

_REPLACEMENTS = (
    ("\\left", ""), ("\\right", ""), ("\\times", "*"), ("\\cdot", "*"), ("\\div", "/"),
    ("\\(", " "), ("\\)", " "), ("\\[", " "), ("\\]", " "), ("\\%", "%"), ("\\$", ""), ("{,}", ""),
    ("$", ""), ("×", "*"), ("·", "*"), ("∗", "*"), ("÷", "/"), ("−", "-"), ("–", "-"),
)
_FRAC = re.compile(r"\\[dt]?frac\{([^{}]{1,40})\}\{([^{}]{1,40})\}")
_BARE_DECIMAL = re.compile(r"(?<![0-9.])\.(?=[0-9])")  # ".5" -> "0.5"
_THOUSANDS = re.compile(r"(?<=[0-9]),(?=[0-9]{3}(?![0-9]))")
_TIMES_X = re.compile(r"(?<=[0-9)]) ?[xX] ?(?=[0-9(])")
# A step label is not a number of the solution: "Step 2:", "**Step 2.**", "2." / "2)".
_LABEL = re.compile(r"^[ \t>#*_-]*(?:step[ \t]*[0-9]+|[0-9]{1,3}[.)](?=[ \t]))", re.IGNORECASE | re.MULTILINE)
NUMBER = re.compile(r"([0-9]+(?:\.[0-9]+)?)(?:/([0-9]+))?( ?%)?")  # "3/4" unspaced is a fraction

Number = int | Fraction  # ints where whole: they hash and add far faster than Fractions


@lru_cache(maxsize=65_536)  # the same few number strings recur a lot
def number(text: str) -> Number:
    """ "12" -> 12, "2.50" -> 5/2, "2.0" -> 2."""
    if text.isdigit():
        return int(text)
    value = Fraction(text)
    return value.numerator if value.denominator == 1 else value

def div(a: Number, b: Number) -> Number:
    """Exact a / b (b != 0), an int when whole; never a float."""
    if isinstance(a, int) and isinstance(b, int):
        q, r = divmod(a, b)
        return q if r == 0 else Fraction(a, b)
    value = Fraction(a) / b
    return value.numerator if value.denominator == 1 else value

def plain_text(text: str) -> str:
    """Text with LaTeX, unicode signs, thousands separators and step labels folded, so that
    `numbers_in` and the equation reader see plain digits and + - * /."""
    for old, new in _REPLACEMENTS:
        if old in text:
            text = text.replace(old, new)
    if "frac" in text:
        text = _FRAC.sub(_frac, text)
    if "," in text:
        text = _THOUSANDS.sub("", text)
    if "." in text:
        text = _BARE_DECIMAL.sub("0.", text)
    if "x" in text or "X" in text:
        text = _TIMES_X.sub(" * ", text)
    return _LABEL.sub(" ", text)


def _frac(m: re.Match[str]) -> str:
    a, b = m[1].strip(), m[2].strip()
    return f"{a}/{b}" if a.isdigit() and b.isdigit() else f"(({a})/({b}))"


def numbers_in(s: str) -> set[Number]:
    """Every number written in `s`, plus the value of each a/b and each percentage."""
    found: set[Number] = set()
    for a, b, pct in NUMBER.findall(s):
        x = number(a)
        found.add(x)
        if b:
            y = number(b)
            found.add(y)
            if y:
                found.add(div(x, y))
        if pct:
            found.add(div(x, 100))
    return found


def format_number(value: Fraction, like: str = "") -> str:
    """A value written the way `like` was: whole numbers plainly; a fraction a/b when
    `like` was one or the value has no short decimal form; else a decimal ("9.6")."""
    if value.denominator == 1:
        return str(value.numerator)
    if "/" not in like and is_terminating(value) and _places(value) <= 6:
        return f"{float(value):.{_places(value)}f}"
    return f"{value.numerator}/{value.denominator}"


def _places(value: Fraction) -> int:
    places, v = 0, value
    while v.denominator != 1 and places < 12:
        v *= 10
        places += 1
    return places


# Lone numbers with their spans, for code that edits text in place. A number glued to
# letters ("5km", "x2") or part of a longer token ("1.2.3", "3/4" for LONE_NUMBER) is skipped.
NUMBER_PATTERN = r"\d+(?:,\d{3})*(?:\.\d+)?"
LONE_NUMBER = re.compile(rf"(?<![\w.,/]){NUMBER_PATTERN}(?![\w]|[.,/]\d)")
VALUE = re.compile(rf"(?<![\w.,/]){NUMBER_PATTERN}(?:/\d+)?(?![\w]|[.,/]\d)")  # a lone number or fraction "3/4"
_STEP_LABEL = re.compile(r"\bstep\s*\d+", re.IGNORECASE)
_DIGIT_RUN = re.compile(r"[0-9]+(?:[.,][0-9]+)*")  # "1,234.5", "1.2.3": all of it is the number's
_LEADING = re.compile(rf"^\$?\s*(-?{NUMBER_PATTERN}(?:/\d+)?)(?![\d/])")
_DECIMALS = re.compile(r"-?[\d,]*\.(\d+)")


def values_in(text: str) -> list[Fraction]:
    """The exact values of the lone numbers and fractions a text states, in order ("1,200"
    and "1200" are one value, "3/4" is 3/4); step labels ("Step 2") state no number."""
    text = _STEP_LABEL.sub(" ", text)
    return [v for v in (parse_number(m.group()) for m in VALUE.finditer(text)) if v is not None]


def leading_number(text: str) -> str | None:
    """The number that opens `text`, as written less thousands separators ("$1,200 a
    month" -> "1200", "3/4 cup" -> "3/4"); None when `text` does not open with one."""
    m = _LEADING.match(text)
    return m.group(1).replace(",", "") if m else None


def written_decimals(text: str) -> int | None:
    """Digits written after the point of the number that opens `text` ("0.9167" -> 4);
    None when it has no decimal point ("12", "3/4")."""
    m = _DECIMALS.match(text)
    return len(m.group(1)) if m else None


def mask_numbers(text: str, mask: str = "N") -> str:
    """`text` with each run of digits (and the points and commas inside it) as `mask`:
    "3 boxes of 1,200" -> "N boxes of N", so that texts alike but for their numbers match."""
    return _DIGIT_RUN.sub(mask, text)
