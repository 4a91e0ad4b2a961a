"""The fault matrix's modules (harness, cases) import each other by name, as the driver
and matrix.py do when run as scripts."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
