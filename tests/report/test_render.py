import re

import pytest
from report.sample import IMG, SCRIPT, SCRIPT_DOM

from lessons.report import ReportData, render_report, write_report
from lessons.report.charts import nice_ticks, pareto_chart
from lessons.formatting import ci_pct, ci_pts, duration, pct, pts
from lessons.report.data import ModelLineage
from lessons.report.render import highlight, lineage_tree

SECTIONS = ["headline", "rounds", "slices", "error-types", "clusters", "changes", "lineage", "config"]
CHARTS = ["chart-headline", "chart-slices", "chart-pareto"]
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
ESCAPED_IMG = "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"


@pytest.mark.parametrize("f, value, expected", [
    (pct, 0.5833, "58.3%"), (pct, None, "—"), (pct, 1.0, "100.0%"),
    (pts, 0.042, "+4.2 pts"), (pts, -0.013, "-1.3 pts"), (pts, 0.0, "+0.0 pts"),
    (ci_pct, [0.551, 0.614], "[55.1%, 61.4%]"), (ci_pct, None, ""),
    (ci_pts, [0.021, 0.098], "[+2.1, +9.8] pts"), (ci_pts, [-0.013, 0.047], "[-1.3, +4.7] pts"),
    (duration, 42.4, "42s"), (duration, 1843.2, "30m 43s"), (duration, 7260, "2h 01m"),
])
def test_formatting(f, value, expected):
    assert f(value) == expected


@pytest.mark.parametrize("lo, hi, expected", [
    (0, 61, [0, 20, 40, 60, 80]), (-4.2, 21.9, [-5, 0, 5, 10, 15, 20, 25]), (0, 1, [0, 0.2, 0.4, 0.6, 0.8, 1.0]),
])
def test_nice_ticks(lo, hi, expected):
    assert nice_ticks(lo, hi, 6 if lo < 0 else 5) == pytest.approx(expected)


def test_highlight_marks_the_wrong_step_and_escapes_around_it():
    out = str(highlight("a <b> 2+2=5 & c", "2+2=5"))
    assert out == 'a &lt;b&gt; <mark class="wrong-step">2+2=5</mark> &amp; c'
    assert str(highlight("<i>x</i>", None)) == "&lt;i&gt;x&lt;/i&gt;"


def test_pareto_sorts_descending_with_cumulative_line():
    svg = str(pareto_chart([("b", 5), ("a", 20), ("c", 0), ("d", 15)]))
    labels = re.findall(r'class="label small"[^>]*>([^<]*)<', svg)
    assert labels == ["a", "d", "b"]  # zero counts dropped
    assert "cumulative 87.5%" in svg and 'class="cum-line"' in svg


def test_lineage_reads_as_a_tree():
    rows = lineage_tree([ModelLineage(name="t2", base="t1"), ModelLineage(name="base"),
                         ModelLineage(name="t1", base="base"), ModelLineage(name="c1", base="base"),
                         ModelLineage(name="x", base="y"), ModelLineage(name="y", base="x")])
    assert [(m.name, depth) for m, depth in rows] == [("base", 0), ("t1", 1), ("t2", 2), ("c1", 1),
                                                      ("x", 0), ("y", 0)]  # a cycle is listed flat


def test_full_report_has_every_section_and_chart(sample):
    html = render_report(ReportData.from_json(sample))
    assert html.startswith("<!doctype html>")
    for section in SECTIONS:
        assert f'<section id="{section}">' in html
    for chart in CHARTS:
        assert f'<svg id="{chart}" class="chart"' in html
    assert "41.3%" in html and "48.7%" in html and "43.0%" in html
    assert "[+3.7, +11.0] pts" in html and "[+2.0, +9.3] pts" in html
    assert "#1207" in html and "#4811" in html  # attempt ids behind the fixed mistake
    assert '<mark class="wrong-step">' in html
    assert "Lessons beat the control" in html
    assert "<details" in html and "pre class=\"output\"" in html


def test_report_is_self_contained(sample):
    html = render_report(ReportData.from_json(sample))
    assert "http://" not in html and "https://" not in html
    assert not re.search(r"<(script|link|iframe|object|embed|img)\b", html, re.I)
    assert not re.search(r"\b(src|href)=\"(?!#)", html)  # only in-page anchors
    assert "@import" not in html and "url(" not in html


def test_untrusted_text_is_escaped_everywhere(hostile):
    html = render_report(ReportData.from_json(hostile))
    assert not re.search(r"<script|<img", html, re.I)
    assert not re.search(r"<[a-z][^<>]*\bonerror\s*=", html, re.I)
    assert html.count(ESCAPED_SCRIPT) >= 15
    assert html.count(ESCAPED_IMG) >= 12
    assert "&lt;script&gt;document.title=&#39;PWNED&#39;" in html
    slices_svg = re.search(r'<svg id="chart-slices".*?</svg>', html, re.S).group(0)
    assert ESCAPED_SCRIPT in slices_svg  # the SVG <title> tooltip
    pareto_svg = re.search(r'<svg id="chart-pareto".*?</svg>', html, re.S).group(0)
    assert "arithmetic&lt;script&gt;" in pareto_svg
    # A wrong step that is itself a payload is marked, still escaped.
    assert f'<mark class="wrong-step">{ESCAPED_SCRIPT}</mark>' in html
    assert SCRIPT not in html and IMG not in html and SCRIPT_DOM not in html


def test_single_run_report_skips_the_loop_sections(single_run):
    html = render_report(ReportData.from_json(single_run))
    for section in ["headline", "slices", "error-types", "clusters"]:
        assert f'<section id="{section}">' in html
    for section in ["rounds", "changes", "lineage", "config"]:
        assert f'id="{section}"' not in html
    assert "chart-headline" not in html  # no deltas without treatment / control
    assert "chart-slices" in html and "chart-pareto" in html
    assert "treatment" not in html.split("</style>")[1].lower()
    assert "41.3%" in html


@pytest.mark.parametrize("data", [
    {"title": "empty"},
    {"title": "empty lists", "rounds": [], "slices": [], "error_types": [], "clusters": [],
     "changes": {"fixed": [], "new": []}, "lineage": [], "config": {}, "headline": {}},
    {"title": "sparse", "slices": [{"name": "s"}], "error_types": [{"type": "x"}],
     "clusters": [{"name": "c"}], "changes": {"fixed": [{"task_id": "t"}]}, "lineage": [{"name": "m"}],
     "headline": {"base": {"name": "m"}, "treatment": {"name": "t"}}},
])
def test_missing_and_empty_data_render(data):
    html = render_report(ReportData.from_json(data))
    assert "<h1>" in html and "</html>" in html
    if data["title"] != "sparse":
        assert "<section" not in html and "<svg" not in html


def test_title_is_required():
    with pytest.raises(ValueError, match="title"):
        ReportData.from_json({})
    with pytest.raises(ValueError, match="title"):
        render_report(ReportData(title=""))


def test_an_unknown_section_is_a_one_line_error():
    with pytest.raises(ValueError, match=r"unknown sections \['headlines'\]"):
        ReportData.from_json({"title": "t", "headlines": {}})


def test_report_data_writes_back_the_json_it_was_read_from(sample, single_run):
    for data in (sample, single_run):
        assert ReportData.from_json(data).to_json() == data


def test_long_lists_are_capped(sample):
    sample["changes"]["fixed"] = sample["changes"]["fixed"] * 20
    html = render_report(ReportData.from_json(sample), max_changes=10)
    assert html.count('<article class="change fixed">') == 10
    assert "… and 50 more not shown." in html


def test_write_report(tmp_path, sample):
    path = write_report(ReportData.from_json(sample), tmp_path / "out" / "report.html")
    assert path.read_text(encoding="utf-8") == render_report(ReportData.from_json(sample))
