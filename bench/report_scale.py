"""How merging scans and rendering the HTML page scale: ratios measured in one run (not a test).

    python bench/report_scale.py

Merges 100 and 400 synthetic scan files (10 findings each) and renders pages of 2,500 and 10,000
findings, and prints the CPU time of each and the ratio (4x the input should cost about 4x, not 16x).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "reports"))

from report_corpus import synthetic_scan  # noqa: E402

from scanner.reports.html import render_html  # noqa: E402
from scanner.reports.builder import ReportBuilder
from scanner.reports.command import iter_documents  # noqa: E402


def merge_seconds(paths: list[Path]) -> float:
    """CPU seconds to merge the scan files at ``paths`` (best of three)."""
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        builder = ReportBuilder()
        problems: list[object] = []
        for document in iter_documents(paths, problems):
            builder.add(document)
        builder.build()
        best = min(best, time.process_time() - started)
    return best


def render_seconds(findings: int) -> float:
    """CPU seconds to render a page of ``findings`` findings (best of three)."""
    document = synthetic_scan(findings, seed=7)
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        render_html([document])
        best = min(best, time.process_time() - started)
    return best


def main() -> int:
    """Print the table."""
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for index in range(400):
            path = Path(folder) / f"scan-{index}.json"
            path.write_text(json.dumps(synthetic_scan(10, seed=index, root=f"repo-{index}", scripts=4)), encoding="utf-8")
            paths.append(path)
        merge_seconds(paths[:50])  # warm-up: imports and caches
        small, large = merge_seconds(paths[:100]), merge_seconds(paths)
    page_small, page_large = render_seconds(2_500), render_seconds(10_000)
    print("| what | 1x | 4x | ratio (linear = 4) |")
    print("|---|---|---|---|")
    print(f"| merge 100 -> 400 scan files | {small:.3f} s | {large:.3f} s | {large / small:.2f} |")
    print(f"| HTML page 2,500 -> 10,000 findings | {page_small:.3f} s | {page_large:.3f} s | {page_large / page_small:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
