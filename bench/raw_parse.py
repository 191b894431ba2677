"""Baseline for the benchmark: read and tree-sitter-parse every file of a corpus in one process, nothing else.

This is the floor a full scan of a mail-dense corpus (where the prefilter cannot skip
anything) is compared with: the scan adds discovery, decoding, recognizers, rules and the
report on top of exactly this work.

Usage:
    python bench/raw_parse.py CORPUS_DIR

It parses the files the corpus manifest lists as not ignored by `.gitignore` (the files a
scan reads). UTF-16 files are transcoded to UTF-8 first, as the grammar needs; everything
else is handed to the parser as the bytes on disk.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import List, Sequence

MANIFEST_NAME = ".bench-manifest.json"


def scanned_paths(corpus: Path) -> List[Path]:
    """The files of `corpus` a scan reads: every manifest entry not excluded by the .gitignore; a folder
    without a manifest (a public corpus) gives every .ps1/.psm1/.psd1 below it, in name order."""
    manifest = corpus / MANIFEST_NAME
    if not manifest.exists():
        return sorted(p for p in corpus.rglob("*") if p.suffix.lower() in (".ps1", ".psm1", ".psd1") and p.is_file())
    payload = json.loads(manifest.read_text(encoding="utf-8"))
    return [corpus / entry["path"] for entry in payload["files"] if not entry["ignored"]]


def parse_all(paths: Sequence[Path]) -> tuple[int, int, int]:
    """Parse every file; return (files, bytes read, files whose tree has errors)."""
    import tree_sitter as ts
    import tree_sitter_powershell as tsp

    parser = ts.Parser(ts.Language(tsp.language()))
    total = 0
    with_errors = 0
    for path in paths:
        data = path.read_bytes()
        total += len(data)
        if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
            data = data.decode("utf-16").encode("utf-8")
        tree = parser.parse(data)
        with_errors += tree.root_node.has_error
    return len(paths), total, with_errors


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: prints one summary line."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: raw_parse.py CORPUS_DIR", file=sys.stderr)
        return 2
    corpus = Path(args[0])
    try:
        paths = scanned_paths(corpus)
    except (OSError, ValueError, KeyError) as exc:
        print(f"raw_parse: {corpus}: not a benchmark corpus ({exc})", file=sys.stderr)
        return 2
    start = time.perf_counter()
    files, total, with_errors = parse_all(paths)
    elapsed = time.perf_counter() - start
    print(f"parsed {files} files, {total / 1048576:.1f} MiB in {elapsed:.2f} s "
          f"({total / 1048576 / max(elapsed, 1e-9):.1f} MiB/s), {with_errors} with parse errors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
