"""How much context a reader loses to masking: masked literals per finding on a corpus.

    python bench/context_loss.py [--corpus /work/corpus/public] [--json OUT]

For every finding of a scan (no cache, one process) it counts the masked stretches (``***``) in what a
report shows of it: the snippet and the context lines. It prints the total, the mean per finding, the
share of findings with at least one, and the same per rule family (SMTP, SEC, other). Run it with two
builds (bench/ab_builds.py lays out two checkouts; or two venvs) to compare before and after a change
to the masking. Uses only `scanner.estate.scan.scan` (`scanner.engine.scan` in a build before issue 21).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

MASK = re.compile(r"\*\*\*")


def measure(corpus: Path) -> dict[str, object]:
    try:
        from scanner.estate.options import ScanOptions
        from scanner.estate.scan import scan
    except ImportError:  # a build before the estate package (issue 21): the same call in scanner.engine
        from scanner.engine import ScanOptions, scan  # type: ignore[no-redef]

    started = time.perf_counter()
    result = scan([corpus], ScanOptions(use_cache=False, jobs=1))
    elapsed = time.perf_counter() - started
    per_family: Counter[str] = Counter()
    findings_family: Counter[str] = Counter()
    masked_total = 0
    with_mask = 0
    lines_total = 0
    for finding in result.findings:
        shown = finding.snippet + "\n" + "\n".join(finding.context_lines)
        count = len(MASK.findall(shown))
        family = "SMTP" if finding.rule.startswith("SMTP") else "SEC" if finding.rule.startswith("SEC") else "other"
        per_family[family] += count
        findings_family[family] += 1
        masked_total += count
        with_mask += count > 0
        lines_total += len(finding.context_lines)
    n = len(result.findings) or 1
    return {
        "corpus": str(corpus),
        "files_scanned": result.files_scanned,
        "findings": len(result.findings),
        "masked": masked_total,
        "masked_per_finding": round(masked_total / n, 3),
        "findings_with_a_mask": round(with_mask / n, 3),
        "context_lines": lines_total,
        "per_family": {k: {"findings": findings_family[k], "masked_per_finding": round(per_family[k] / max(1, findings_family[k]), 3)}
                       for k in sorted(findings_family)},
        "seconds": round(elapsed, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path("/work/corpus/public"))
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"{args.corpus}: no such folder (re-create it with bench/public_corpus.py)", file=sys.stderr)
        return 2
    figures = measure(args.corpus)
    print(f"{figures['findings']} findings in {figures['files_scanned']} files: {figures['masked']} masked stretches, "
          f"{figures['masked_per_finding']} per finding, {figures['findings_with_a_mask']:.1%} of findings with one")
    for family, row in figures["per_family"].items():  # type: ignore[union-attr]
        print(f"  {family:5} {row['findings']:5} findings, {row['masked_per_finding']} masked per finding")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
