"""The verifiers: whether an extracted answer matches the gold one, by kind of task.

Each has a `name` and `equivalent(gold, answer) -> bool`; those that can say why they gave
no judgement (a timeout, a gold regex that does not compile) also have
`judge(gold, answer) -> (equivalent, detail)`. Other packages add verifiers through the
`lessons.verifiers` entry-point group; a registered class is instantiated with no arguments.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from fractions import Fraction

from lessons.registry import Registry
from lessons.verify._mathverify import MathVerifier
from lessons.arith import parse_number
from lessons.verify.base import Verifier

__all__ = [
    "ChoiceVerifier", "ExactVerifier", "MathVerifier", "NumericVerifier", "RegexVerifier",
    "get_verifier", "unreadable_golds", "verifiers",
]


def _normalize_text(text: str) -> str:
    return " ".join(text.split()).casefold()


@dataclass(frozen=True)
class ExactVerifier:
    """Equal after trimming, case-folding and collapsing runs of whitespace."""

    name: str = "exact"

    def equivalent(self, gold: str, answer: str) -> bool:
        return _normalize_text(gold) == _normalize_text(answer)


@dataclass(frozen=True)
class NumericVerifier:
    """Numbers equal within a tolerance: |a - g| <= max(rel_tol * max(|a|, |g|), abs_tol).
    Reads "1,234.50", "$12", "3/4", "\\frac{3}{4}", "1.5e3"; a percent sign is dropped on
    both sides ("25%" = "25"). When either side is not a number, they must match exactly."""

    name: str = "numeric"
    rel_tol: float = 1e-6
    abs_tol: float = 1e-9

    def equivalent(self, gold: str, answer: str) -> bool:
        g, a = parse_number(gold), parse_number(answer)
        if g is None or a is None:
            return _normalize_text(gold) == _normalize_text(answer)
        # Exact rational arithmetic: no overflow or rounding on huge or tiny values.
        bound = max(Fraction(self.rel_tol) * max(abs(g), abs(a)), Fraction(self.abs_tol))
        return abs(g - a) <= bound


@functools.lru_cache(maxsize=1024)  # one gold pattern serves every sample of its task
def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@dataclass(frozen=True)
class RegexVerifier:
    """The gold answer is a regular expression that must match the whole (trimmed) answer;
    flags go inline, e.g. "(?i)yes|true"."""

    name: str = "regex"

    def equivalent(self, gold: str, answer: str) -> bool:
        return self.judge(gold, answer)[0]

    def judge(self, gold: str, answer: str) -> tuple[bool, str]:
        try:
            pattern = _compile(gold)
        except re.error as exc:
            return False, f"invalid gold regex: {exc}"
        return pattern.fullmatch(answer.strip()) is not None, ""


_CHOICE_PREFIX = re.compile(
    r"^(?:the\s+)?(?:correct\s+)?(?:option|choice|answer)(?:\s+is)?\s*[:\-]?\s*", re.IGNORECASE
)
_CHOICE_ALONE = re.compile(r"[(\[]?([A-Za-z])[)\].:]?")  # "B", "(B)", "B.", "[B]", "B:"
_CHOICE_LEADING = re.compile(r"(?:[(\[]([A-Za-z])[)\]]|([A-Za-z])[).:])\s")  # "(B) 42", "B. 42"
_CHOICE_LATEX = re.compile(r"\\(?:text|textbf|mathrm|mathbf)\s*\{([^{}]*)\}")


def choice_letter(text: str) -> str | None:
    """The option letter in "(B)", "B.", "b", "Option B", "(B) 42", "\\text{B}"; None if none.
    A bare letter must stand alone or be bracketed or punctuated, so "a lot" is no answer."""
    s = _CHOICE_LATEX.sub(r"\1", text).strip().strip("*$`").strip()
    s = _CHOICE_PREFIX.sub("", s).rstrip(".").strip()
    m = _CHOICE_ALONE.fullmatch(s) or _CHOICE_LEADING.match(s)
    if m is None:
        return None
    return next(g for g in m.groups() if g).upper()


@dataclass(frozen=True)
class ChoiceVerifier:
    """Multiple choice: the answer names the gold option letter ("(B)", "B.", "b" all match
    "B"). Without a letter on either side, the texts must match exactly."""

    name: str = "choice"

    def equivalent(self, gold: str, answer: str) -> bool:
        g, a = choice_letter(gold), choice_letter(answer)
        if g is None or a is None:
            return _normalize_text(gold) == _normalize_text(answer)
        return g == a


verifiers: Registry[Verifier] = Registry("verifier")
for _verifier in (MathVerifier(), NumericVerifier(), ExactVerifier(), RegexVerifier(), ChoiceVerifier()):
    verifiers.register(_verifier.name, _verifier)
del _verifier
# Lazily: it brings in the sandbox, which only code tasks need.
verifiers.register("tests", "lessons.verify.code:TestsVerifier")


def get_verifier(name: str) -> Verifier:
    """The verifier registered as `name`; raises UnknownName listing the known ones."""
    target = verifiers.get(name)
    return target() if isinstance(target, type) else target


# What each verifier can read as a gold answer, said as the warning says it: a gold answer
# it cannot read makes every attempt at the task wrong, which looks like a weak model.
_LATEX_COMMAND = re.compile(r"\\[A-Za-z]+")
_WORD = re.compile(r"[A-Za-z]{2,}")


def _reads_math(gold: str) -> bool:
    """A number, or math that math-verify parses ("x+1", "\\frac{1}{2}", "(1, 2]"): no
    word of two letters or more once LaTeX commands are set aside ("Paris" is not math)."""
    return parse_number(gold) is not None or _WORD.search(_LATEX_COMMAND.sub(" ", gold)) is None


def _reads_regex(gold: str) -> bool:
    try:
        _compile(gold)
    except re.error:
        return False
    return True


_READS = {
    "math": (_reads_math, "numbers or math"),
    "numeric": (lambda gold: parse_number(gold) is not None, "numbers"),
    "choice": (lambda gold: choice_letter(gold) is not None, "option letters"),
    "regex": (_reads_regex, "valid regular expressions"),
}


def unreadable_golds(golds: list[str], verifier: str) -> str | None:
    """A one-line warning when some gold answers are not what `verifier` reads, else None
    (also for verifiers that read any text, such as `exact`, and plugins)."""
    reads, what = _READS.get(verifier, (None, ""))
    if reads is None or not golds:
        return None
    bad = [g for g in golds if not reads(g)]
    if not bad:
        return None
    return (f"{len(bad):,} of {len(golds):,} gold answers are not {what} (e.g. {bad[0][:40]!r}): "
            f"check --field answer or --verifier")
