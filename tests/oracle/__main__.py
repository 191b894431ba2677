"""`python -m tests.oracle [--shape NAME ...] [--keep DIR] [--details]`: run the oracle and print its table."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .harness import run_oracle
from .report import classify_all, render_table, rows_as_json
from .shapes import all_shapes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.oracle", description=__doc__)
    parser.add_argument("--shape", action="append", default=[], help="run only these shapes (repeatable; prefix match)")
    parser.add_argument("--keep", type=Path, help="keep the work folder here (scripts, patched copies, kit)")
    parser.add_argument("--details", action="store_true", help="print every difference under its row")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write every row (verdict, differences) as JSON here")
    options = parser.parse_args(argv)
    shapes = all_shapes()
    if options.shape:
        shapes = [s for s in shapes if any(s.name.startswith(p) for p in options.shape)]
    result = run_oracle(shapes, workers=options.workers, keep=options.keep)
    rows = classify_all(result.outcomes)
    sys.stdout.write(render_table(rows, details=options.details, seconds=result.seconds))
    if options.json is not None:
        options.json.write_text(json.dumps(rows_as_json(rows), indent=1), encoding="utf-8")
    return 1 if any(row.verdict == "FAIL" for row in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
