"""Charts as inline SVG, built in Python so the report needs no JavaScript.

Every piece of text that reaches the SVG goes through `Markup.format`, which escapes its
arguments: slice names, error types and model names come from model output or user data
and are untrusted. Colours come from the page's CSS classes (`s-base`, `s-treatment`,
`s-control`), so the palette lives in one place. Coordinates are in viewBox units; the
charts scale to the page width.
"""

from __future__ import annotations

import math
from typing import Sequence

from markupsafe import Markup

from lessons.formatting import ci_pct, ci_pts, pct, pts
from lessons.report.data import SliceFigure

SERIES = ("base", "treatment", "control")
CHAR_W = 6.6  # mean width of a 12-unit system-font character, to size label margins


def _svg(chart_id: str, width: float, height: float, label: str, body: Markup) -> Markup:
    return Markup(
        '<svg id="{id}" class="chart" viewBox="0 0 {w:.0f} {h:.0f}" role="img" '
        'aria-labelledby="{id}-title"><title id="{id}-title">{label}</title>{body}</svg>'
    ).format(id=chart_id, w=width, h=height, label=label, body=body)


def _text(x: float, y: float, text: str, cls: str = "", anchor: str = "start", extra: str = "") -> Markup:
    return Markup('<text x="{:.1f}" y="{:.1f}" class="{}" text-anchor="{}"{}>{}</text>').format(
        x, y, cls, anchor, Markup(extra), text
    )


def _clip(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"


def nice_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """Round tick values covering [lo, hi]: steps of 1, 2 or 5 times a power of ten."""
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / max(target, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.floor(lo / step) * step
    ticks, t = [], first
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 10))
        t += step
    if ticks[-1] < hi:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _whisker(x0: float, x1: float, y: float, cap: float = 4) -> Markup:
    return Markup(
        '<path class="whisker" d="M{a:.1f},{y:.1f}H{b:.1f}M{a:.1f},{t:.1f}V{u:.1f}M{b:.1f},{t:.1f}V{u:.1f}"/>'
    ).format(a=x0, b=x1, y=y, t=y - cap, u=y + cap)


def delta_chart(rows: Sequence[dict], chart_id: str = "chart-headline") -> Markup:
    """A forest plot of accuracy differences in points: one row per
    {"label", "series", "delta", "ci95"}, a dot with its 95% interval, and a zero line."""
    rows = [r for r in rows if r.get("delta") is not None]
    if not rows:
        return Markup("")
    values = [0.0] + [100 * v for r in rows for v in [r["delta"], *(r.get("ci95") or [])]]
    ticks = nice_ticks(min(values), max(max(values), min(values) + 2.0), 6)
    lo, hi = ticks[0], ticks[-1]
    left = max(len(r["label"]) for r in rows) * CHAR_W + 24
    width, right, row_h, top = 860, 200, 34, 16
    height = top + row_h * len(rows) + 34
    x = lambda v: left + (100 * v - lo) / (hi - lo) * (width - left - right)  # noqa: E731
    parts = []
    for t in ticks:
        xt = left + (t - lo) / (hi - lo) * (width - left - right)
        parts.append(Markup('<line class="{}" x1="{:.1f}" x2="{:.1f}" y1="{}" y2="{}"/>').format(
            "zero" if t == 0 else "grid", xt, xt, top - 6, height - 28))
        parts.append(_text(xt, height - 12, f"{t:+g} pts" if t else "0", "tick", "middle"))
    for i, r in enumerate(rows):
        y = top + row_h * i + row_h / 2
        ci = r.get("ci95")
        tip = f"{r['label']}: {pts(r['delta'])} {ci_pts(ci)}"
        parts.append(Markup('<g class="row s-{}"><title>{}</title>').format(r["series"], tip))
        parts.append(_text(left - 12, y + 4, r["label"], "label", "end"))
        if ci:
            parts.append(_whisker(x(ci[0]), x(ci[1]), y, 6))
        parts.append(Markup('<circle class="dot" cx="{:.1f}" cy="{:.1f}" r="6"/>').format(x(r["delta"]), y))
        parts.append(_text(width - right + 12, y + 4, f"{pts(r['delta'])}  {ci_pts(ci)}", "value"))
        parts.append(Markup("</g>"))
    label = "Accuracy change in points with 95% intervals"
    return _svg(chart_id, width, height, label, Markup("").join(parts))


def slice_chart(slices: Sequence[SliceFigure], series: Sequence[str], chart_id: str = "chart-slices") -> Markup:
    """Grouped horizontal bars: accuracy per slice for each series, with 95% whiskers."""
    if not slices or not series:
        return Markup("")
    names = [_clip(str(s.name), 36) for s in slices]
    left = max(len(n) for n in names) * CHAR_W + 40
    width, right, bar_h, gap, top = 760, 56, 12, 14, 8
    group_h = bar_h * len(series) + gap
    height = top + group_h * len(slices) + 28
    plot_w = width - left - right
    x = lambda v: left + max(0.0, min(1.0, v)) * plot_w  # noqa: E731
    parts = []
    for t in range(0, 101, 20):
        xt = left + t / 100 * plot_w
        parts.append(Markup('<line class="grid" x1="{:.1f}" x2="{:.1f}" y1="{}" y2="{}"/>').format(
            xt, xt, top - 4, height - 26))
        parts.append(_text(xt, height - 10, f"{t}%", "tick", "middle"))
    for i, (s, name) in enumerate(zip(slices, names)):
        y0 = top + group_h * i
        mid = y0 + bar_h * len(series) / 2
        cls = "label weak" if s.weak else "label"
        tip = f"{s.name} ({'?' if s.tasks is None else s.tasks} tasks)" + "".join(
            f"; {k} {pct(getattr(s, k))} {ci_pct(getattr(s, k + '_ci95'))}" for k in series
            if getattr(s, k) is not None)
        parts.append(Markup('<g class="slice"><title>{}</title>').format(tip))
        parts.append(_text(left - 10, mid + 4, name + (" ▲" if s.weak else ""), cls, "end"))
        for j, k in enumerate(series):
            v = getattr(s, k)
            if v is None:
                continue
            yb = y0 + j * bar_h
            parts.append(Markup('<rect class="bar s-{}" x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{}"/>').format(
                k, left, yb + 1, x(v) - left, bar_h - 2))
            ci = getattr(s, k + "_ci95")
            if ci:
                parts.append(_whisker(x(ci[0]), x(ci[1]), yb + bar_h / 2, 3))
            end = x(ci[1]) if ci else x(v)
            parts.append(_text(end + 4, yb + bar_h - 2.5, pct(v, 0), "value small"))
        parts.append(Markup("</g>"))
    label = "Accuracy per slice, " + ", ".join(series) + ", with 95% intervals"
    return _svg(chart_id, width, height, label, Markup("").join(parts))


def pareto_chart(counts: Sequence[tuple[str, int]], chart_id: str = "chart-pareto") -> Markup:
    """Error types as bars sorted by count (descending) with the cumulative share as a
    line on a 0-100% right axis and a dashed 80% reference."""
    counts = sorted(((str(t), int(n)) for t, n in counts if n), key=lambda c: (-c[1], c[0]))
    if not counts:
        return Markup("")
    total = sum(n for _, n in counts)
    longest = max(len(_clip(t, 22)) for t, _ in counts)
    width, left, right, top = 760, 48, 52, 18
    bottom = 24 + longest * CHAR_W * 0.64  # labels are rotated 40 degrees
    height = top + 220 + bottom
    plot_w, plot_h = width - left - right, 220
    ticks = nice_ticks(0, counts[0][1], 4)
    y = lambda n: top + plot_h - n / ticks[-1] * plot_h  # noqa: E731
    yp = lambda f: top + plot_h - f * plot_h  # noqa: E731
    step = plot_w / len(counts)
    bar_w = min(56.0, step * 0.7)
    parts = []
    for t in ticks:
        parts.append(Markup('<line class="grid" x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}"/>').format(
            left, width - right, y(t), y(t)))
        parts.append(_text(left - 8, y(t) + 4, f"{t:g}", "tick", "end"))
    for f in (0, 0.2, 0.4, 0.6, 0.8, 1.0):
        parts.append(_text(width - right + 8, yp(f) + 4, f"{f:.0%}", "tick cum"))
    parts.append(Markup('<line class="ref80" x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}"/>').format(
        left, width - right, yp(0.8), yp(0.8)))
    cum, points = 0, []
    for i, (name, n) in enumerate(counts):
        cum += n
        cx = left + step * i + step / 2
        points.append((cx, yp(cum / total)))
        tip = f"{name}: {n} mistakes ({n / total:.1%}), cumulative {cum / total:.1%}"
        parts.append(Markup('<g class="etype"><title>{}</title>').format(tip))
        parts.append(Markup('<rect class="bar s-base" x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}"/>').format(
            cx - bar_w / 2, y(n), bar_w, top + plot_h - y(n)))
        parts.append(_text(cx, y(n) - 5, str(n), "value small", "middle"))
        parts.append(_text(cx, top + plot_h + 14, _clip(name, 22), "label small", "end",
                           f' transform="rotate(-40 {cx:.1f} {top + plot_h + 14:.1f})"'))
        parts.append(Markup("</g>"))
    path = "M" + "L".join(f"{px:.1f},{py:.1f}" for px, py in points)
    parts.append(Markup('<path class="cum-line" d="{}"/>').format(path))
    for px, py in points:
        parts.append(Markup('<circle class="cum-dot" cx="{:.1f}" cy="{:.1f}" r="3.5"/>').format(px, py))
    label = f"Pareto chart of {total} mistakes by error type, with cumulative share"
    return _svg(chart_id, width, height, label, Markup("").join(parts))
