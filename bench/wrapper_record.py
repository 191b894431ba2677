"""Issue 16 item 2, measured: should the wrapper call-site pass work from identifiers the first pass
records per file, instead of reading the files again?

Wrapper names (functions that send mail) are known only when the first pass has analysed every
mail-sending file, so a record would have to be taken of every file, before anyone knows which
names matter. This prints, on one corpus and in one process (CPU seconds, median of --runs):

- files the first pass only reads and prefilters (most of a tree):
  * what the second pass costs now: read again + one re2 search for the wrapper names;
  * what a record would cost in the first pass: four ways to list a file's identifiers
    (every word; command-position words; line-start words; Verb-Noun words), and its size;
- files the first pass analyses (it holds their masked code): the cost of a record of their
  code words (crc32 of each distinct word, the smallest record that answers "does this file
  name X"), against the wrapper pass of the whole scan, measured inside a real --jobs 1 scan.

Usage: .venv/bin/python bench/wrapper_record.py CORPUS [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import scanner.estate.scan as estate_scan
from scanner.estate.options import ScanOptions
from scanner.estate.prefilter import Prefilter, default_prefilter
from scanner.files import decode, discover, read_bytes
from scanner.script import Script

_IDENT = bytes(c if chr(c).isalnum() or chr(c) in "_-" else 32 for c in range(256)).translate(
    bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz")
)
_COMMAND_WORD = re.compile(rb"(?:^|[;|{(=&.])[ \t]*([A-Za-z_][\w-]*)", re.MULTILINE)
_LINE_START = re.compile(rb"(?m)^[ \t]*([A-Za-z_][\w-]*)")
_VERB_NOUN = re.compile(rb"[A-Za-z]+-[A-Za-z][\w-]*")
_CODE_WORD = re.compile(r"[\w-]+")


def _cpu(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    root = args.corpus.resolve()
    paths = [d.file for d in discover([root], root) if d.file is not None]
    prefilter = default_prefilter()
    raw_of = {p: read_bytes(p, 1 << 30)[0] or b"" for p in paths}
    mail = [p for p in paths if prefilter.matches(raw_of[p])]
    mail_set = set(mail)
    rest = [p for p in paths if p not in mail_set]

    # The wrapper names of this corpus, from a real scan (what the second pass searches for).
    result_wrappers: list[str] = []
    real_link = estate_scan.link_wrapper_call_sites
    spent = {"pass": 0.0}

    def link(*a, **k):  # type: ignore[no-untyped-def]
        result_wrappers.extend(w.name.lower() for w in a[3])
        start = time.process_time()
        real_link(*a, **k)
        spent["pass"] = time.process_time() - start

    estate_scan.link_wrapper_call_sites = link  # type: ignore[assignment]
    try:
        estate_scan.scan([root], ScanOptions(jobs=1, use_cache=False))
    finally:
        estate_scan.link_wrapper_call_sites = real_link  # type: ignore[assignment]
    names = sorted(set(result_wrappers)) or ["send-report"]
    wrapper_prefilter = Prefilter(tuple(names))

    def reread() -> None:
        for p in rest:
            raw, _ = read_bytes(p, 1 << 30)
            wrapper_prefilter.matches(raw or b"")

    data = [raw_of[p] for p in rest]
    variants = {
        "every word (translate + split + set)": lambda: [set(d.translate(_IDENT).split()) for d in data],
        "command-position words (re.findall + set)": lambda: [set(_COMMAND_WORD.findall(d)) for d in data],
        "line-start words (re.findall + set)": lambda: [set(_LINE_START.findall(d)) for d in data],
        "Verb-Noun words (re.findall + set)": lambda: [set(_VERB_NOUN.findall(d)) for d in data],
    }
    mb = sum(map(len, data)) / 1e6
    print(f"corpus {root}: {len(paths)} files, {len(mail)} pass the mail prefilter, {len(rest)} do not ({mb:.1f} MB); "
          f"{len(names)} wrapper names; CPU seconds, median of {args.runs}, one process")
    print("\nfiles the first pass only reads and prefilters:")
    base = _cpu(reread, args.runs)
    print(f"  {base:7.3f} s  now: second pass (read again + re2 search of the wrapper names)")
    for label, fn in variants.items():
        sample = fn()
        size = sum(len(s) for s in sample) / max(1, len(sample))
        print(f"  {_cpu(fn, args.runs):7.3f} s  record in pass 1: {label}; {size:.0f} identifiers per file to keep")

    scripts = []
    for p in mail:
        try:
            script = Script(decode(raw_of[p])[0], p)
        except Exception:  # noqa: BLE001 - an undecodable file is not analysed either
            continue
        _ = script.structure.code_lower  # built in pass 1 anyway
        scripts.append(script)

    def record() -> None:
        for s in scripts:
            sorted({zlib.crc32(w.encode("utf-8", "surrogatepass")) for w in set(_CODE_WORD.findall(s.structure.code_lower))})

    print("\nfiles the first pass analyses (their masked code is at hand):")
    print(f"  {_cpu(record, args.runs):7.3f} s  record in pass 1: crc32 of each distinct code word, {len(scripts)} files")
    print(f"  {spent['pass']:7.3f} s  the whole wrapper pass of a --jobs 1 scan (all files, second lexes included)")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main(sys.argv[1:]))
