"""Where the analysis of mail files spends its time, timed directly (no profiler).

cProfile charges a fixed cost to every call it sees, so code that makes many short C calls
(`re.search`, `str.find`) looks several times dearer than it is: a change that the profile
showed as -1.4 s on the mail-dense corpus was slower when timed (docs/performance.md). This
script times each stage of `analyze_script` with `time.process_time` around it, on the files
of a corpus that pass the prefilter, in one process:

- decode: bytes to text (BOM, UTF-16, legacy code pages);
- structure: the masking lexer, line table, blocks, functions, param() blocks;
- parse: tree-sitter (its error regions lower a call's confidence);
- one line per recognizer that runs on the file (its token gate), then the secrets finder;
- rest: everything else `analyze_script` does on the same files (rules, verdicts, fix material,
  secret values, wrappers), as the difference between a full `analyze_script` on fresh scripts
  and the stages above.

Usage: .venv/bin/python bench/stages.py CORPUS [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scanner.check import analyze_script
from scanner.estate.prefilter import default_prefilter
from scanner.ruleconfig import RuleConfig
from scanner.extract import RECOGNIZERS, may_find
from scanner.files import DecodeError, decode, discover, read_bytes
from scanner.script import Script
from scanner.secrets import find_secrets


def _once(files: list[tuple[bytes, str]]) -> dict[str, float]:
    spent: dict[str, float] = defaultdict(float)

    def timed(name: str, fn: Callable[[], object]) -> object:
        start = time.process_time()
        value = fn()
        spent[name] += time.process_time() - start
        return value

    texts = []
    for raw, rel in files:
        try:
            text = timed("decode", lambda: decode(raw)[0])
        except DecodeError:
            continue
        texts.append((text, rel))
        script = Script(text, rel, rel.lower().endswith(".psd1"))  # type: ignore[arg-type]
        timed("structure (masking lexer, lines, blocks, functions)", lambda: script.structure.functions)
        timed("parse (tree-sitter)", lambda: script.parsed)
        for recognizer in RECOGNIZERS:
            if may_find(recognizer, script):
                timed(f"recognizer {recognizer.name}", lambda: recognizer.find(script))
        timed("secrets (find_secrets)", lambda: find_secrets(script))
    staged = sum(spent.values()) - spent["decode"]
    config = RuleConfig()
    start = time.process_time()
    for text, rel in texts:
        analyze_script(Script(text, rel, rel.lower().endswith(".psd1")), config)  # type: ignore[arg-type]
    full = time.process_time() - start
    spent["rest (rules, verdicts, fix material, secret values, wrappers)"] = max(0.0, full - staged)
    spent["= analyze_script in full"] = full
    return spent


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    root = args.corpus.resolve()
    prefilter = default_prefilter()
    files = []
    for item in discover([root], root):
        if item.file is None:
            continue
        raw, _ = read_bytes(item.file, 1 << 30)
        if raw is not None and prefilter.matches(raw):
            files.append((raw, item.rel or item.file))
    runs = [_once(files) for _ in range(args.runs)]
    names = list(runs[0])
    parse = statistics.median(r.get("parse (tree-sitter)", 0.0) for r in runs)
    print(f"{root}: {len(files)} files pass the prefilter; CPU seconds, median of {args.runs}, one process, no profiler")
    for name in names:
        value = statistics.median(r.get(name, 0.0) for r in runs)
        share = f"{value / parse:5.2f}x the parse" if parse else ""
        print(f"  {value:7.3f} s  {share}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
