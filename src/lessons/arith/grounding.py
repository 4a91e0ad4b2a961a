"""Where a solution's numbers may come from: the rule "a number must come from the
question or an earlier step" and the constants it lets a solution bring in unasked.

One set of constants for every check that applies the rule (the error types' copied-value
rule, the practice builder's test that a teacher's problem states every fact it needs).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable

from lessons.arith.numbers import Number

# Numbers a solution may bring in without copying them from anywhere: identities, halves
# and doubles, place values and percent bases, minutes per hour.
CORE_CONSTANTS = frozenset((0, 1, 2, 10, 100, 1000, 60))
# Conversion factors, allowed only where a unit of their kind is named (else a copied 7 or
# 12 would hide): "3 eggs a day for 4 weeks" may multiply by 7 out of the blue.
DIMENSION_CONSTANTS = {
    "time": frozenset((4, 7, 12, 24, 30, 52, 60, 365, 3600)),  # 4 weeks or 30 days: a month
    "length": frozenset((3, 12, 100, 1000, 5280)),
    "mass": frozenset((16, 1000)), "volume": frozenset((1000,)), "money": frozenset((100,)),
}
UNIT_CONSTANTS = frozenset().union(*DIMENSION_CONSTANTS.values()) - {52, 365, 5280}
UNIT_SKILLS = frozenset({"unit_conversion", "units", "unit conversion", "measurement"})

_UNIT_GROUPS = {  # (dimension, unit): spellings; abbreviations count only after a number
    ("length", "mm"): "millimeter millimeters millimetre millimetres mm",
    ("length", "cm"): "centimeter centimeters centimetre centimetres cm",
    ("length", "m"): "meter meters metre metres m",
    ("length", "km"): "kilometer kilometers kilometre kilometres km",
    ("length", "in"): "inch inches", ("length", "ft"): "foot feet", ("length", "yd"): "yard yards",
    ("length", "mi"): "mile miles", ("mass", "g"): "gram grams g", ("mass", "kg"): "kilogram kilograms kg",
    ("mass", "lb"): "pound pounds lb lbs", ("mass", "oz"): "ounce ounces oz",
    ("time", "s"): "second seconds sec", ("time", "min"): "minute minutes min",
    ("time", "h"): "hour hours hr hrs h", ("time", "d"): "day days", ("time", "wk"): "week weeks",
    ("time", "mo"): "month months", ("time", "yr"): "year years",
    ("volume", "ml"): "milliliter milliliters millilitre millilitres ml",
    ("volume", "l"): "liter liters litre litres l", ("money", "ct"): "cent cents",
    ("money", "$"): "dollar dollars",
}
_UNIT_OF = {word: key for key, words in _UNIT_GROUPS.items() for word in words.split()}
_LONG_FIRST = sorted(_UNIT_OF, key=len, reverse=True)
_UNIT_WORD = re.compile(r"\b(" + "|".join(w for w in _LONG_FIRST if len(w) > 3) + r")\b")
_UNIT_ABBREV = re.compile(r"[0-9] ?(" + "|".join(w for w in _LONG_FIRST if len(w) <= 3) + r")\b")
_UNIT_SCAN_CHARS = 4_000  # units are named early; no need to scan a whole loop


def free_constants(dimensions: Iterable[str] = (), units: bool = False) -> frozenset[Number]:
    """Numbers a solution may use though neither the question nor an earlier step gave
    them: `CORE_CONSTANTS`, every conversion factor in a task about units, and the factors
    of each kind of unit named (`units_named`)."""
    return CORE_CONSTANTS.union(UNIT_CONSTANTS if units else (), *(DIMENSION_CONSTANTS[d] for d in dimensions))


@lru_cache(maxsize=4096)  # cached for questions; responses go through __wrapped__
def units_named(text: str) -> frozenset[tuple[str, str]]:
    """(dimension, unit) of every unit named in the start of `text`."""
    source = text[:_UNIT_SCAN_CHARS].lower()
    return frozenset(_UNIT_OF[w] for w in _UNIT_WORD.findall(source) + _UNIT_ABBREV.findall(source))
