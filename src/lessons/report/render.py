"""A `ReportData` → one self-contained HTML page.

The page holds everything inline (CSS, SVG charts) and loads nothing, so it opens
offline and can be mailed as one file. Model output and task text are untrusted: the
Jinja environment autoescapes every value, charts escape their text through
`Markup.format`, and a Content-Security-Policy forbids scripts and remote loads as a
second line of defence. Sections whose data are missing or empty are left out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from jinja2 import Environment, PackageLoader, Undefined
from markupsafe import Markup, escape

from lessons.atomic import write_text
from lessons import formatting
from lessons.report import charts
from lessons.report.data import Changes, Headline, ModelLineage, ReportData, SliceFigure
from lessons.report.figures import MAX_CHANGES, MAX_EXAMPLES
LONG_RESPONSE = 700  # characters after which a response starts collapsed


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("lessons.report", "templates"),
        autoescape=True,  # the template is .html.j2, which select_autoescape would miss
        trim_blocks=True,
        lstrip_blocks=True,
    )
    filters = dict(
        pct=formatting.pct, pts=formatting.pts, ci_pct=formatting.ci_pct, ci_pts=formatting.ci_pts,
        duration=formatting.duration, count=formatting.count, highlight=highlight, plain=plain_value,
    )
    env.filters.update({name: _missing_as_none(f) for name, f in filters.items()})
    env.tests["significant"] = _missing_as_none(formatting.excludes_zero)
    env.tests["present"] = lambda value: value is not None and not isinstance(value, Undefined)
    env.globals["LONG_RESPONSE"] = LONG_RESPONSE
    return env


def _missing_as_none(f: Callable[..., Any]) -> Callable[..., Any]:
    """Optional keys reach filters as Undefined; the formatters read None as missing."""
    def wrapped(*args: Any) -> Any:
        return f(*(None if isinstance(a, Undefined) else a for a in args))
    return wrapped


def highlight(text: str | None, needle: str | None) -> Markup:
    """`text` escaped, with the first occurrence of `needle` (the first wrong step) marked."""
    text = text or ""
    at = text.find(needle) if needle else -1
    if at < 0:
        return escape(text)
    end = at + len(needle)
    return escape(text[:at]) + Markup('<mark class="wrong-step">') + escape(needle) + Markup("</mark>") + escape(text[end:])


def plain_value(value: Any) -> str:
    """A config or lineage value as short text (the template escapes it)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def flatten(config: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Nested dicts become dotted keys, so a config reads as one two-column table."""
    rows: list[tuple[str, Any]] = []
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            rows.extend(flatten(value, name + "."))
        else:
            rows.append((name, value))
    return rows


def headline_rows(headline: Headline) -> list[dict]:
    """Rows of the forest plot: the target first (each arm against base, treatment against
    control), then the same overall, then the weak slices."""
    rows = []
    for prefix, figs in (("Target: ", headline.target), ("", headline)):
        if figs is None:
            continue
        for arm in ("treatment", "control"):
            a = getattr(figs, arm)
            if a is not None and a.delta is not None:
                label = f"{prefix}{arm} − base" if prefix else f"{arm.capitalize()} − base"
                rows.append({"label": label, "series": arm, "delta": a.delta, "ci95": a.delta_ci95})
        if figs.advantage is not None and figs.advantage.delta is not None:
            label = f"{prefix}treatment − control" if prefix else "Treatment − control"
            rows.append({"label": label, "series": "advantage", "delta": figs.advantage.delta,
                         "ci95": figs.advantage.ci95})
    weak = headline.weak_slices
    for arm in ("treatment", "control"):
        if weak is not None and getattr(weak, f"{arm}_delta") is not None:
            rows.append({"label": f"Weak slices: {arm} − base", "series": arm,
                         "delta": getattr(weak, f"{arm}_delta"), "ci95": getattr(weak, f"{arm}_delta_ci95")})
    return rows


def series_present(rows: Sequence[SliceFigure]) -> list[str]:
    return [k for k in charts.SERIES if any(getattr(r, k) is not None for r in rows)]


def lineage_tree(models: Sequence[ModelLineage]) -> list[tuple[ModelLineage, int]]:
    """Model versions in depth-first order from their roots, each with its depth, so the
    table reads as a tree: packaged base, then each model trained from it."""
    names = {m.name for m in models}
    children: dict[str | None, list[ModelLineage]] = {}
    for m in models:
        parent = m.base if m.base in names and m.base != m.name else None
        children.setdefault(parent, []).append(m)
    out: list[tuple[ModelLineage, int]] = []
    seen: set[int] = set()

    def walk(parent: str | None, depth: int) -> None:
        for m in children.get(parent, []):
            if id(m) in seen:
                continue
            seen.add(id(m))
            out.append((m, depth))
            walk(m.name, depth + 1)

    walk(None, 0)
    out.extend((m, 0) for m in models if id(m) not in seen)  # cycles: list flat
    return out


def build_context(data: ReportData, max_changes: int = MAX_CHANGES) -> dict[str, Any]:
    """What the template needs, with each section None when its data are missing."""
    if not data.title:
        raise ValueError("report data needs a 'title'")
    headline = data.headline or Headline()
    slices = list(data.slices or [])
    etypes = sorted(data.error_types or [], key=lambda e: -(e.base or 0))
    clusters = sorted(data.clusters or [], key=lambda c: -(c.size or 0))
    cluster_total = sum(c.size or 0 for c in clusters) or 1
    changes = data.changes or Changes()
    fixed, new = list(changes.fixed), list(changes.new)
    slice_series = series_present(slices)
    etype_cols = [k for k in ("base", "treatment", "control", "fixed", "new", "persistent")
                  if any(getattr(e, k) is not None for e in etypes)]
    ctx: dict[str, Any] = {
        "title": data.title, "subtitle": data.subtitle, "generated_at": data.generated_at,
        "config": flatten(data.config or {}),
        "headline": headline if headline.arms else None,
        "headline_chart": charts.delta_chart(headline_rows(headline)),
        "rounds": list(data.rounds or []),
        "slices": slices, "slice_series": slice_series,
        "slice_chart": charts.slice_chart(slices, slice_series),
        "error_types": etypes, "etype_cols": etype_cols,
        "pareto_chart": charts.pareto_chart([(e.type, e.base or 0) for e in etypes]),
        "clusters": [(c, (c.size or 0) / cluster_total) for c in clusters],
        "max_examples": MAX_EXAMPLES,
        "fixed": fixed[:max_changes], "fixed_more": max(0, len(fixed) - max_changes), "fixed_total": len(fixed),
        "new": new[:max_changes], "new_more": max(0, len(new) - max_changes), "new_total": len(new),
        "persistent": changes.persistent,
        "lineage": lineage_tree(list(data.lineage or [])),
    }
    ctx["has_changes"] = bool(fixed or new or ctx["persistent"])
    ctx["sections"] = [(anchor, name) for anchor, name, present in [
        ("headline", "Headline", ctx["headline"]), ("rounds", "Rounds", ctx["rounds"]),
        ("slices", "Slices", ctx["slices"]), ("error-types", "Error types", ctx["error_types"]),
        ("clusters", "Clusters", ctx["clusters"]), ("changes", "Fixed & new", ctx["has_changes"]),
        ("lineage", "Lineage", ctx["lineage"]), ("config", "Config", ctx["config"]),
    ] if present]
    return ctx


def render_report(data: ReportData, *, max_changes: int = MAX_CHANGES) -> str:
    """The report as one HTML document (a str); every section of `data` but `title` is optional."""
    template = _environment().get_template("report.html.j2")
    return template.render(**build_context(data, max_changes=max_changes))


def write_report(data: ReportData, path: str | Path, *, max_changes: int = MAX_CHANGES) -> Path:
    """Render `data` and write it to `path` (UTF-8); returns the path."""
    return write_text(path, render_report(data, max_changes=max_changes))
