"""How numbers read, in the report and on the terminal alike: accuracies as `58.3%`,
differences of them in percentage points as `+4.2 pts`, intervals as `[55.1%, 61.4%]` or
`[+2.1, +9.8] pts`. A missing value reads as an em dash unless the caller names another
mark (terminal tables use "-")."""

from __future__ import annotations

from typing import Sequence

DASH = "—"


def percent(value: float, digits: int = 1) -> str:
    """A fraction in [0, 1] as a bare percentage number: 0.583 -> "58.3"."""
    return f"{100 * value:.{digits}f}"


def points(delta: float, digits: int = 1) -> str:
    """A difference of two fractions as bare percentage points, always signed: "+4.2"."""
    return f"{100 * delta:+.{digits}f}"


def pct(value: float | None, digits: int = 1, missing: str = DASH) -> str:
    """A fraction in [0, 1] as a percentage."""
    return missing if value is None else f"{percent(value, digits)}%"


def pts(delta: float | None, digits: int = 1, missing: str = DASH) -> str:
    """A difference of two fractions, in percentage points, always signed."""
    return missing if delta is None else f"{points(delta, digits)} pts"


def _interval(ci: Sequence[float] | None) -> bool:
    return bool(ci) and len(ci) == 2 and None not in ci  # type: ignore[arg-type]


def ci_pct(ci: Sequence[float] | None) -> str:
    return f"[{percent(ci[0])}%, {percent(ci[1])}%]" if _interval(ci) else ""  # type: ignore[index]


def ci_points(ci: Sequence[float] | None) -> str:
    """An interval of a difference as signed points, without the unit: "[+2.1, +9.8]"."""
    return f"[{points(ci[0])}, {points(ci[1])}]" if _interval(ci) else ""  # type: ignore[index]


def ci_pts(ci: Sequence[float] | None) -> str:
    return f"{ci_points(ci)} pts" if _interval(ci) else ""


def excludes_zero(ci: Sequence[float] | None) -> bool:
    """Whether a 95% interval of a difference lies wholly on one side of zero."""
    return _interval(ci) and (ci[0] > 0 or ci[1] < 0)  # type: ignore[index]


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
