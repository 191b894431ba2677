"""Differential execution oracle: the original script over SMTP vs the patched script over Graph.

`python -m tests.oracle` (from the repository root) runs every shape and prints the table;
tests/test_oracle.py runs the same matrix under pytest (marked pwsh).
"""

from __future__ import annotations

import sys
from pathlib import Path

# The Graph fake is imported as `fakes` (as the rest of the test suite does), under pytest and under -m alike.
_TESTS = str(Path(__file__).resolve().parent.parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)
