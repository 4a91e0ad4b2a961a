"""Field expressions for task files, and gold answers made readable for the verifiers.

Real files rarely keep a question in one flat field: SVAMP splits it over `Body` and
`Question`, others nest it (`meta.level`) or keep several answers (`solutions[0]`). A field
expression names what to read:

    question            the field `question`
    Body+Question       both fields, joined by a space
    meta.level          key `level` of the object in `meta`
    solutions[0]        the first element of the list in `solutions`
    data.answers[-1].text

A name that is itself a key of the record wins over its reading as a path, so a CSV column
called `meta.level` is read as it stands.

Gold answers arrive decorated: `9 (apples)`, `$1,200`, `12 cm`. `plain_gold` reduces such an
answer to its number ("9", "1200", "12"), so every verifier, `exact` included, compares
numbers with numbers; a text answer ("Paris", "B") is left as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lessons.arith import numeric_core

_STEP = re.compile(r"\.([^.\[\]+]+)|\[(-?[0-9]+)\]")  # ".key" or "[index]" after the first name
_HEAD = re.compile(r"[^.\[\]+]+")
_NOTE = re.compile(r"\s*\([^()]*\)\s*$")  # a trailing "(apples)" says what was counted


class FieldError(ValueError):
    """A field expression that does not parse, or that a record cannot answer; the message
    says which part failed (the caller adds the file and place)."""


@dataclass(frozen=True)
class FieldPath:
    """One field: a top-level name, then object keys (str) and list indices (int)."""

    text: str  # as the user wrote it
    head: str
    steps: tuple[str | int, ...] = ()

    @property
    def name(self) -> str:
        """The name a value read from here is filed under in task metadata: the last key."""
        keys = [s for s in self.steps if isinstance(s, str)]
        return keys[-1] if keys else self.head

    def read(self, record: dict[str, Any]) -> Any:
        if self.text in record:
            return record[self.text]
        if self.head not in record:
            keys = ", ".join(map(repr, record)) or "none"
            raise FieldError(f"missing field {self.head!r} (record keys: {keys})")
        value, where = record[self.head], self.head
        for step in self.steps:
            if isinstance(step, int):
                if not isinstance(value, list):
                    raise FieldError(f"field {where!r} is {type(value).__name__}, not a list: cannot take [{step}]")
                if not -len(value) <= step < len(value):
                    raise FieldError(f"field {where!r} has {len(value)} elements: no [{step}]")
                value, where = value[step], f"{where}[{step}]"
            else:
                if not isinstance(value, dict):
                    raise FieldError(f"field {where!r} is {type(value).__name__}, not an object: cannot take .{step}")
                if step not in value:
                    keys = ", ".join(map(repr, value)) or "none"
                    raise FieldError(f"field {where!r} has no key {step!r} (keys: {keys})")
                value, where = value[step], f"{where}.{step}"
        return value


def parse_path(text: str) -> FieldPath:
    text = text.strip()
    head = _HEAD.match(text)
    if head is None:
        raise FieldError(f"field {text!r}: expected NAME, NAME.KEY or NAME[INDEX]")
    steps: list[str | int] = []
    at = head.end()
    while at < len(text):
        m = _STEP.match(text, at)
        if m is None:
            raise FieldError(f"field {text!r}: cannot read {text[at:]!r} (expected .KEY or [INDEX])")
        steps.append(m[1] if m[1] is not None else int(m[2]))
        at = m.end()
    return FieldPath(text, head[0].strip(), tuple(steps))


def parse_fields(text: str) -> tuple[FieldPath, ...]:
    """`Body+Question` -> two paths whose texts are joined by a space."""
    parts = text.split("+")
    if not text.strip() or any(not p.strip() for p in parts):
        raise FieldError(f"field {text!r}: expected NAME or NAME+NAME")
    return tuple(parse_path(p) for p in parts)


def plain_gold(answer: str) -> str:
    """A gold answer's number without what decorates it: "9 (apples)" -> "9", "$1,200" ->
    "1200", "12 cm" -> "12", "-3/4" -> "-3/4"; any other answer unchanged. A percent sign
    stays ("25%"): the verifiers read it, and "25" alone would lose what it meant."""
    core = numeric_core(_NOTE.sub("", answer)) or numeric_core(answer)
    if core is None:
        return answer
    return core.replace(",", "").replace(" ", "")
