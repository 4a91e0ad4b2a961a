"""Look at a rendered report through headless Chromium: its DOM after parsing, and a
full-page screenshot (for docs/report.png and for the tests).

Chromium is an optional system tool (`scripts/setup.sh test` installs Debian's
`chromium`); `find_chromium()` returns None where it is missing.
"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
MAX_HEIGHT = 20000  # px; a screenshot taller than this is cut (Chromium's own limit is near 16k-32k)


class BrowserError(RuntimeError):
    pass


def find_chromium() -> str | None:
    """The path of a Chromium-family browser on PATH, or None."""
    for name in NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def _run(args: list[str], chromium: str | None, timeout: float) -> str:
    exe = chromium or find_chromium()
    if exe is None:
        raise BrowserError("no chromium on PATH (scripts/setup.sh test installs it)")
    with tempfile.TemporaryDirectory(prefix="lessons-chromium-") as profile:
        # A private profile: concurrent runs would otherwise fight over the default one.
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--no-first-run", "--disable-extensions", f"--user-data-dir={profile}", *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise BrowserError(f"{exe} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return proc.stdout


def dump_dom(html: str | Path, *, width: int = 1280, chromium: str | None = None, timeout: float = 120) -> str:
    """The serialized DOM of the page at `html` after Chromium has parsed it (and run
    whatever scripts the page allowed)."""
    url = Path(html).resolve().as_uri()
    return _run(["--dump-dom", f"--window-size={width},900", url], chromium, timeout)


def page_height(html: str | Path, *, width: int = 1280, chromium: str | None = None, timeout: float = 120) -> int:
    """The page's laid-out height in CSS pixels at `width`. The report runs no scripts, so
    this measures a copy whose Content-Security-Policy admits exactly one script: ours,
    by nonce."""
    nonce = secrets.token_hex(12)
    text = Path(html).read_text(encoding="utf-8")
    text = re.sub(r'(http-equiv="Content-Security-Policy" content="[^"]*)"',
                  lambda m: f"{m.group(1)}; script-src 'nonce-{nonce}'\"", text, count=1)
    probe = (f'<script nonce="{nonce}">document.documentElement.setAttribute("data-page-height", '
             "Math.ceil(document.documentElement.scrollHeight))</script>")
    text = text.replace("</body>", probe + "</body>", 1) if "</body>" in text else text + probe
    with tempfile.TemporaryDirectory(prefix="lessons-report-") as tmp:
        copy = Path(tmp) / "measure.html"
        copy.write_text(text, encoding="utf-8")
        dom = dump_dom(copy, width=width, chromium=chromium, timeout=timeout)
    match = re.search(r'data-page-height="(\d+)"', dom)
    if not match:
        raise BrowserError("could not measure the page height")
    return int(match.group(1))


def screenshot(html: str | Path, out: str | Path, *, width: int = 1280, height: int | None = None,
               chromium: str | None = None, timeout: float = 120) -> Path:
    """A PNG of the page at `html`, `width` px wide and the full page tall (or `height`)."""
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    if height is None:
        height = page_height(html, width=width, chromium=chromium, timeout=timeout)
    height = max(200, min(height, MAX_HEIGHT))
    url = Path(html).resolve().as_uri()
    _run([f"--screenshot={out}", f"--window-size={width},{height}", url], chromium, timeout)
    if not out.exists():
        raise BrowserError(f"chromium wrote no screenshot to {out}")
    return out
