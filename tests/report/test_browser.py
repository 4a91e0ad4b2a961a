"""The rendered report in a real browser: headless Chromium parses it, draws the charts,
runs none of the planted payloads, and paints a non-trivial page."""

import re
import struct
import zlib

import pytest

from lessons.report import ReportData, write_report
from lessons.report.browser import dump_dom, find_chromium, page_height, screenshot

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(find_chromium() is None,
                       reason="no chromium on PATH (scripts/setup.sh test installs Debian's chromium)"),
]


def png_pixels(data: bytes) -> tuple[int, int, bytes]:
    """(width, height, decompressed scanlines) of a PNG, without PIL."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        (length,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    return width, height, zlib.decompress(idat)


@pytest.fixture(scope="module")
def hostile_page(tmp_path_factory):
    from report.sample import hostile_report

    return write_report(ReportData.from_json(hostile_report()), tmp_path_factory.mktemp("report") / "report.html")


def test_dom_has_the_charts_and_no_payload_ran(hostile_page):
    dom = dump_dom(hostile_page)
    for chart in ("chart-headline", "chart-slices", "chart-pareto"):
        assert re.search(rf'<svg id="{chart}" class="chart"', dom)
    assert dom.count('class="bar s-treatment"') == 8  # one per slice
    title = re.search(r"<title>(.*?)</title>", dom).group(1)
    assert title == "lessons loop: qwen2.5-coder-0.5b on arith"
    assert "PWNED" not in title and "data-pwned" not in dom.split("<body")[1].split(">")[0]
    assert not re.search(r"<(script|img)\b", dom, re.I)  # the payloads stayed text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom


def test_screenshot_is_a_full_nontrivial_page(hostile_page, tmp_path):
    height = page_height(hostile_page)
    assert height > 3000  # every section laid out
    out = screenshot(hostile_page, tmp_path / "report.png", width=1280)
    data = out.read_bytes()
    assert len(data) > 10_000
    width, png_height, raw = png_pixels(data)
    assert (width, png_height) == (1280, min(height, 20000))
    assert len(set(raw[: 1_000_000])) > 32  # many colours, not one flat fill
