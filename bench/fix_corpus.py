"""Measure `smtp2graph fix` on the public corpus with PowerShell's own parser as the referee.

For each configuration (style module / inline, with and without --unsafe-fixes) the corpus is copied
to a temporary folder, fix runs over the copy exactly as the CLI does (PowerShell's parser judges
each patch) and the patched files are written into the copy. Then every patched file and its
original are parsed again by PowerShell's parser, in one pwsh process, and counted:

- patched files, patched calls;
- patched files that parse worse (a parse error the original did not have) - target 0;
- patched files whose structure changed (param block, named blocks, functions and their blocks) - target 0;
- refused patches by reason, and calls that are display-only.

The same is done once per style with the tree-sitter judge (the fallback when pwsh is absent), to
show what PowerShell's parser catches that tree-sitter lets through.

    python bench/fix_corpus.py [--corpus /work/corpus/public] [--json out.json]

Needs pwsh (PowerShell 7). The corpus is re-created by bench/public_corpus.py and never committed.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scanner.migrate import commands
from scanner.migrate.judge import (
    PatchJudge,
    PowerShellJudge,
    TreeSitterJudge,
    _structure_change,
)
from scanner.migrate.safety import FixStyle
from scanner.model import FixApplicability
from scanner.powershell import find_pwsh, parse_scripts


@dataclass
class Figures:
    """What one configuration of fix did to the corpus, as PowerShell's parser sees it."""

    style: str
    unsafe_fixes: bool
    judge: str
    files_with_calls: int = 0
    calls: int = 0
    safe: int = 0
    unsafe: int = 0
    display_only: int = 0
    patched_files: int = 0
    patched_calls: int = 0
    parse_worse: int = 0
    structure_lost: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)  # rel: what went wrong (first few)
    seconds: float = 0.0


_NUMBERS = re.compile(r"\d+:\d+|line \d+|\(line \d+\)")


def refusal_reason(text: str) -> str:
    """A refusal grouped by its kind (positions and names dropped)."""
    if text.startswith("unsafe:"):
        return "unsafe (needs --unsafe-fixes)"
    if text.startswith("PowerShell's parser reports a new parse error"):
        ids = re.findall(r"\d+:\d+ (\w+)", text)
        return "PowerShell's parser: new parse error " + (ids[0] if ids else "")
    if text.startswith("PowerShell's parser: the patch changes the script's structure"):
        return "PowerShell's parser: structure would change"
    if text.startswith("the rewritten call would not parse cleanly"):
        return "tree-sitter: new ERROR/MISSING nodes"
    if text.startswith("the patch changes the script's structure"):
        return "lexer: named blocks would change"
    return _NUMBERS.sub("", text.split(";")[0])[:90]


def measure(corpus: Path, style: FixStyle, unsafe: bool, judge: PatchJudge, work: Path) -> Figures:
    copy = work / f"{style.value}-{'unsafe' if unsafe else 'safe'}-{judge.name.value}"
    shutil.copytree(corpus, copy, symlinks=True)
    started = time.monotonic()
    choice = "powershell" if judge.name.value == "powershell" else "tree-sitter"
    run = commands.collect_patches([copy], commands.FixOptions(style=style, unsafe_fixes=unsafe, judge=choice, use_cache=False))
    written = commands._write_outputs(run, None, force=True)
    figures = Figures(style.value, unsafe, judge.description)
    refused: Counter[str] = Counter()
    for patch in run.patches:
        figures.files_with_calls += 1
        for fix in patch.fixes:
            figures.calls += 1
            if fix.applicability is FixApplicability.SAFE:
                figures.safe += 1
            elif fix.applicability is FixApplicability.UNSAFE:
                figures.unsafe += 1
            else:
                figures.display_only += 1
            if fix.applied:
                figures.patched_calls += 1
            elif fix.refused:
                refused[refusal_reason(fix.refused)] += 1
    changed = [patch for patch in run.patches if patch.changed]
    figures.patched_files = len(written)
    # The referee: PowerShell's parser on the original text and on the bytes fix wrote.
    from scanner.files import read_source

    pairs: list[tuple[str, str, str]] = []
    for patch in changed:
        path = run.sources[patch.rel]
        pairs.append((patch.rel, patch.text_before, read_source(path, copy).text))
    texts = [text for _, old, new in pairs for text in (old, new)]
    # A lone surrogate (undecodable UTF-16) reaches the parser as U+FFFD, as in the judge.
    shapes = parse_scripts([t.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace") for t in texts])
    for index, (rel, _, _) in enumerate(pairs):
        before, after = shapes[2 * index], shapes[2 * index + 1]
        new_errors = Counter(e.split(" ", 2)[1] for e in after.errors) - Counter(e.split(" ", 2)[1] for e in before.errors)
        if new_errors:
            figures.parse_worse += 1
            if len(figures.examples) < 8:
                figures.examples.append(f"{rel}: new parse error {sorted(new_errors)}")
        change = _structure_change(before, after)
        if change:
            figures.structure_lost += 1
            if len(figures.examples) < 8:
                figures.examples.append(f"{rel}: {change}")
    figures.refused = dict(refused.most_common())
    figures.seconds = round(time.monotonic() - started, 1)
    shutil.rmtree(copy, ignore_errors=True)
    return figures


def table(rows: list[Figures]) -> str:
    head = ("| style | --unsafe-fixes | judge | files with calls | calls (safe / unsafe / display-only) | "
            "patched files | patched calls | parse worse | structure lost |")
    out = [head, "|" + "---|" * 9]
    for row in rows:
        judge = "PowerShell" if row.judge.startswith("PowerShell") else "tree-sitter"
        out.append(f"| {row.style} | {'yes' if row.unsafe_fixes else 'no'} | {judge} | {row.files_with_calls} | "
                   f"{row.calls} ({row.safe} / {row.unsafe} / {row.display_only}) | {row.patched_files} | "
                   f"{row.patched_calls} | {row.parse_worse} | {row.structure_lost} |")
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path("/work/corpus/public"))
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON here")
    parser.add_argument("--no-tree-sitter", action="store_true", help="skip the tree-sitter judge runs")
    args = parser.parse_args()
    pwsh = find_pwsh()
    if pwsh is None:
        print("fix_corpus: pwsh (PowerShell 7) is needed: run bash .ci/install-powershell", file=sys.stderr)
        return 2
    if not (args.corpus / "READY").exists():
        print(f"fix_corpus: {args.corpus} is not ready (no READY file); run bench/public_corpus.py", file=sys.stderr)
        return 2
    rows: list[Figures] = []
    with tempfile.TemporaryDirectory(prefix="smtp2graph-fix-corpus-") as folder:
        work = Path(folder)
        configurations: list[tuple[FixStyle, bool, PatchJudge]] = [
            (style, unsafe, PowerShellJudge(pwsh)) for style in (FixStyle.MODULE, FixStyle.INLINE) for unsafe in (False, True)
        ]
        if not args.no_tree_sitter:
            configurations += [(style, True, TreeSitterJudge("bench comparison")) for style in (FixStyle.MODULE, FixStyle.INLINE)]
        for style, unsafe, judge in configurations:
            row = measure(args.corpus, style, unsafe, judge, work)
            rows.append(row)
            print(f"{row.style:7} unsafe={row.unsafe_fixes!s:5} {judge.name.value:11} patched {row.patched_files} files / "
                  f"{row.patched_calls} calls; parse worse {row.parse_worse}; structure lost {row.structure_lost}; "
                  f"{row.seconds} s", file=sys.stderr)
            for reason, count in row.refused.items():
                print(f"    refused {count:4}  {reason}", file=sys.stderr)
            for example in row.examples:
                print(f"    ! {example}", file=sys.stderr)
    print(table(rows))
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(row) for row in rows], indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
