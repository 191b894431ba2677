"""Time of the fix preview's diff and of `fix` on brace-heavy files, at 1x, 10x and 100x input sizes.

    python bench/linear_time.py [--base 1000] [--scales 1,10,100] [--workdir /tmp/s2g-linear]

Inputs (generated, written to --workdir):
- repeated: a mail call, BASE x scale identical lines, another mail call (difflib's SequenceMatcher
  with autojunk off took 13 s at 8,000 such lines, minutes at 50,000);
- unclosed `@{`, `{`, `(`, `[` and `function f {`: a mail call, BASE x scale lines each opening a
  bracket that never closes, another mail call (brace matching once took 14 s at 8,000).

For each it prints the seconds of the diff alone (scanner.migrate.diffs.safe_diff, through the file's
mask) and of `smtp2graph fix` as a preview (in process, tree-sitter judge, no cache), and the ratio to
the 1x time: a linear cost grows about 10x per step. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
from pathlib import Path

CALL = "Send-MailMessage -From alerts@contoso.com -To ops@contoso.com -Subject 'nightly' -SmtpServer smtp.office365.com -UseSsl -Credential $c\n"
SHAPES = {
    "repeated": "Write-Host 'working'\n",
    "unclosed @{": "$h{n} = @{{\n",
    "unclosed {": "if ($x) {{\n",
    "unclosed (": "$v{n} = (\n",
    "unclosed [": "$a{n} = $b[\n",
    "unclosed function": "function f{n} {{\n",
}


def script(shape: str, lines: int) -> str:
    line = SHAPES[shape]
    return CALL + "".join(line.format(n=i) for i in range(lines)) + CALL


def time_diff(text: str) -> float:
    """The preview diff of the module-style rewrite of the file's calls, alone."""
    from scanner.check import analyze_script
    from scanner.findings import file_mask
    from scanner.migrate.diffs import safe_diff
    from scanner.migrate.patch import apply_plan
    from scanner.migrate.safety import FixStyle
    from scanner.ruleconfig import RuleConfig
    from scanner.script import Script

    script_ = Script(text, "bench.ps1")
    analysis = analyze_script(script_, RuleConfig(), fix_style=FixStyle.MODULE)
    if analysis.plan is None:
        # No rewrite (the file does not parse): diff a hand-made rename of both calls instead.
        after = text.replace("Send-MailMessage", "Send-GraphMailMessage")
    else:
        after = apply_plan(analysis.plan, unsafe_fixes=True).patched
    mask = file_mask(script_)
    started = time.perf_counter()
    safe_diff("bench.ps1", text, after, mask)
    return time.perf_counter() - started


def time_fix(folder: Path) -> float:
    """`smtp2graph fix FOLDER` (a preview), in process, output discarded."""
    from scanner.migrate.commands import FixOptions, run_fix

    options = FixOptions(judge="tree-sitter", use_cache=False, jobs=1)
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        run_fix([folder], None, False, False, options)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=int, default=1000, help="lines at 1x")
    parser.add_argument("--scales", default="1,10,100")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/s2g-linear"))
    parser.add_argument("--shapes", default=",".join(SHAPES))
    args = parser.parse_args(argv)
    scales = [int(s) for s in args.scales.split(",")]
    shapes = [s for s in args.shapes.split(",") if s in SHAPES]
    print(f"{'input':20} {'scale':>6} {'lines':>8} {'diff s':>8} {'x 1x':>6} {'fix s':>8} {'x 1x':>6}")
    for shape in shapes:
        first: tuple[float, float] | None = None
        for scale in scales:
            lines = args.base * scale
            folder = args.workdir / f"{shape.replace(' ', '-').replace('{', 'brace').replace('(', 'paren').replace('[', 'bracket').replace('@', 'at')}-{scale}"
            folder.mkdir(parents=True, exist_ok=True)
            text = script(shape, lines)
            (folder / "bench.ps1").write_text(text, encoding="utf-8")
            diff = time_diff(text)
            fix = time_fix(folder)
            if first is None:
                first = (diff, fix)
            print(f"{shape:20} {scale:>5}x {lines:>8,} {diff:8.3f} {diff / max(first[0], 1e-6):6.1f} {fix:8.2f} {fix / max(first[1], 1e-6):6.1f}",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
