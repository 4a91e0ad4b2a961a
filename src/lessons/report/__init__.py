"""The report: one self-contained HTML page (inline CSS, inline SVG charts, no scripts,
no network) from a `ReportData` of a loop's or a run's figures (data.py says what each
section holds; figures.py computes them from the log).

    render_report(data) -> str         write_report(data, path) -> Path
"""

from lessons.report.data import ReportData
from lessons.report.render import render_report, write_report

__all__ = ["ReportData", "render_report", "write_report"]
