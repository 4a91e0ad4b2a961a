"""Numbers as models write them: "$1,234.50", "-3/4", "\\frac{3}{4}", "25%", "42 apples".

Shared by extraction (to reduce a decorated number to its digits) and by the verifiers
(to compare numbers exactly or within a tolerance). All patterns are anchored or
possessive so that no input makes them backtrack badly.
"""

from __future__ import annotations

import re
from fractions import Fraction

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
