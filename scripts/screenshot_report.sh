#!/usr/bin/env bash
# A full-page PNG of a rendered report through headless Chromium, 1280 px wide.
#   scripts/screenshot_report.sh REPORT.html OUT.png [WIDTH]
# e.g. scripts/screenshot_report.sh runs/loop/report.html docs/report.png
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 REPORT.html OUT.png [WIDTH]" >&2; exit 2; }
python="$(dirname "$0")/../.venv/bin/python"
[ -x "$python" ] || python=python3
exec "$python" -c '
import sys
from lessons.report.browser import BrowserError, screenshot
try:
    print(screenshot(sys.argv[1], sys.argv[2], width=int(sys.argv[3])))
except BrowserError as e:
    sys.exit(f"screenshot failed: {e}")
' "$1" "$2" "${3:-1280}"
