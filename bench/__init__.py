"""Benchmarks for leadrelay: ``python -m bench`` (or ``make bench``) prints figures, asserts none.

Run from the repository root. When leadrelay is not installed into the interpreter, the
repository's ``src`` directory is put on the path so a fresh checkout can run them.
"""

from __future__ import annotations

import sys
from importlib.util import find_spec
from pathlib import Path

if find_spec("leadrelay") is None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
