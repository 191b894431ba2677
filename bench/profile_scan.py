"""Where a scan spends its time: cProfile of `smtp2graph scan --jobs 1` over a corpus, summarised.

Usage:
    .venv/bin/python bench/profile_scan.py CORPUS_DIR [--top 25] [--jobs N] [--extra-arg=--no-cache ...]

`--jobs 1` keeps all the work in one process so cProfile sees it. The summary lists the
top functions by own time and by cumulative time (file:line:function), and the own time
summed per source file, which is usually the quickest way to see which stage dominates
(discovery, decoding, prefilter, tree-sitter parse, recognizers, report).
The raw profile is kept as $TMPDIR/smtp2graph-profile-NAME.prof (or --out) for snakeviz / pstats:
a corpus folder may be read-only, and a profile does not belong in it.
"""

from __future__ import annotations

import argparse
import io
import pstats
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Sequence


def profile(corpus: Path, out: Path, extra: Sequence[str], jobs: int = 1) -> int:
    """Run the scan under cProfile (the parent process only); return its exit code."""
    cmd = [sys.executable, "-m", "cProfile", "-o", str(out), "-m", "scanner", "scan", str(corpus),
           "--jobs", str(jobs), "--format", "json", "--output", "/dev/null", "--quiet", *extra]
    return subprocess.run(cmd).returncode


def summarise(prof: Path, top: int) -> str:
    """Top functions by own and cumulative time, and own time per source file."""
    buf = io.StringIO()
    stats = pstats.Stats(str(prof), stream=buf)
    total = stats.total_tt  # type: ignore[attr-defined]
    lines: List[str] = [f"total profiled time {total:.2f} s"]
    raw: Dict = stats.stats  # type: ignore[attr-defined]
    per_file: Dict[str, float] = defaultdict(float)
    rows = []
    for (filename, lineno, func), (_cc, ncalls, tottime, cumtime, _callers) in raw.items():
        short = _short(filename)
        per_file[short] += tottime
        rows.append((tottime, cumtime, ncalls, f"{short}:{lineno}:{func}"))
    lines.append(f"\nown time per source file (top {top}):")
    for name, t in sorted(per_file.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"  {t:8.2f} s  {100 * t / total:5.1f}%  {name}")
    lines.append(f"\nfunctions by own time (top {top}):")
    for tottime, cumtime, ncalls, where in sorted(rows, reverse=True)[:top]:
        lines.append(f"  {tottime:8.2f} s own  {cumtime:8.2f} s cum  {ncalls:>9} calls  {where}")
    lines.append(f"\nfunctions by cumulative time (top {top}):")
    for tottime, cumtime, ncalls, where in sorted(rows, key=lambda r: -r[1])[:top]:
        lines.append(f"  {cumtime:8.2f} s cum  {tottime:8.2f} s own  {ncalls:>9} calls  {where}")
    return "\n".join(lines)


def _short(filename: str) -> str:
    """Trim site-packages and repository prefixes so file names stay readable."""
    for marker in ("site-packages/", "/work/main/", "lib/python3."):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description="Profile one smtp2graph scan (jobs 1) and summarise it.")
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--jobs", type=int, default=1,
                        help="1 (default) profiles all the work; N > 1 profiles the parent's serial work around the pool")
    parser.add_argument("--out", type=Path, default=None, help="where the raw profile goes")
    parser.add_argument("--extra-arg", action="append", default=None,
                        help="extra scan argument (repeatable); default --no-cache")
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"profile_scan: {args.corpus}: not a folder", file=sys.stderr)
        return 2
    import tempfile

    out = args.out or Path(tempfile.gettempdir()) / f"smtp2graph-profile-{args.corpus.resolve().name}.prof"
    code = profile(args.corpus, out, args.extra_arg if args.extra_arg is not None else ["--no-cache"], args.jobs)
    if code not in (0, 1):
        print(f"profile_scan: scan exited {code}", file=sys.stderr)
        return 2
    print(summarise(out, args.top))
    print(f"\nraw profile: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
