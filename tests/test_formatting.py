"""One way to write percentages and points, for the report and the terminal."""

import pytest

from lessons.cli.app import fmt_pct
from lessons.formatting import ci_points, ci_pts, pct, percent, points, pts


@pytest.mark.parametrize("f, value, expected", [
    (percent, 0.5833, "58.3"), (points, 0.042, "+4.2"), (points, -0.013, "-1.3"),
    (ci_points, [0.021, 0.098], "[+2.1, +9.8]"), (ci_points, None, ""), (ci_points, [0.1, None], ""),
    (fmt_pct, 0.5833, "58.3%"), (fmt_pct, None, "-"),  # a terminal table marks a missing value "-"
])
def test_terminal_forms(f, value, expected):
    assert f(value) == expected


def test_the_forms_are_built_from_each_other():
    assert pct(0.25, missing="-") == percent(0.25) + "%" == "25.0%"
    assert pts(0.042) == points(0.042) + " pts" and ci_pts([0.021, 0.098]) == ci_points([0.021, 0.098]) + " pts"
    assert pct(None) == pts(None) == "—" and pts(None, missing="n/a") == "n/a"
