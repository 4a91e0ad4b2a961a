"""`lessons report` reads a loop's figures while another `lessons loop` writes to the same
log: both finish, and the report is whole."""

from __future__ import annotations

import pytest

from cases import LOOP
from harness import check, lessons, start

pytestmark = pytest.mark.slow  # two scripted loops


def test_a_report_while_a_loop_writes_to_the_same_log(tmp_path):
    check(lessons(LOOP, tmp_path), "the loop to report on")

    meet = {"dir": str(tmp_path / "meet"), "peers": 2}
    other = [a if a != "t" else "u" for a in LOOP]
    other[other.index("{dir}/loop")] = "{dir}/loop-u"
    with start(other, tmp_path, sync=meet | {"name": "loop", "at": "write:10"}) as writer, \
            start(("report", "t", "-o", "{dir}/busy.html"), tmp_path, sync=meet | {"name": "report", "at": "open"}) \
            as reader:
        _, reader_err = reader.communicate(timeout=900)
        _, writer_err = writer.communicate(timeout=900)
    assert reader.returncode == 0, reader_err[-3000:]
    assert writer.returncode == 0, writer_err[-3000:]
    html = (tmp_path / "busy.html").read_text(encoding="utf-8")
    assert html.rstrip().endswith("</html>") and "t-r1-treatment" in html and "t-r1-control" in html
    assert (tmp_path / "loop-u" / "report.html").is_file()
