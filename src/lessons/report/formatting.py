"""How numbers read in the report: accuracies as `58.3%`, differences as `+4.2 pts`,
intervals as `[55.1%, 61.4%]` or `[+2.1, +9.8] pts`. Missing values read as an em dash."""

from __future__ import annotations

from typing import Sequence

DASH = "—"


def pct(value: float | None, digits: int = 1) -> str:
    """A fraction in [0, 1] as a percentage."""
    return DASH if value is None else f"{100 * value:.{digits}f}%"


def pts(delta: float | None, digits: int = 1) -> str:
    """A difference of two fractions, in percentage points, always signed."""
    return DASH if delta is None else f"{100 * delta:+.{digits}f} pts"


def ci_pct(ci: Sequence[float] | None) -> str:
    if not ci or len(ci) != 2 or None in ci:
        return ""
    return f"[{100 * ci[0]:.1f}%, {100 * ci[1]:.1f}%]"


def ci_pts(ci: Sequence[float] | None) -> str:
    if not ci or len(ci) != 2 or None in ci:
        return ""
    return f"[{100 * ci[0]:+.1f}, {100 * ci[1]:+.1f}] pts"


def excludes_zero(ci: Sequence[float] | None) -> bool:
    """Whether a 95% interval of a difference lies wholly on one side of zero."""
    return bool(ci) and len(ci) == 2 and None not in ci and (ci[0] > 0 or ci[1] < 0)


def duration(seconds: float | None) -> str:
    if seconds is None:
        return DASH
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    return f"{s // 3600}h {s % 3600 // 60:02d}m"


def count(value: int | None) -> str:
    return DASH if value is None else f"{value:,}"
