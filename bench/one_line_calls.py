"""Linear cost on one very long line: N mail calls on a single line (a generated or minified script).

Writes a one-line script of ``--calls`` Send-MailMessage calls (20,000 calls is 1.2 MB), scans it
with the CLI in a child process and prints the wall time, the peak RSS of the process tree and the
number of findings. Before the fix, every finding carried the whole line as its context and its fix
preview (20,000 x 1.2 MB: 24 GB, then BrokenProcessPool) and `$PSDefaultParameterValues` was
searched from the start of the file for every call.

    python bench/one_line_calls.py --calls 20000 [--format json] [--jobs 2]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CALL = "Send-MailMessage -To a@b.com -Subject s -SmtpServer relay1; "  # 60 bytes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--format", default="json", choices=["json", "terminal", "sarif", "html", "markdown"])
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "one-line.ps1"
        script.write_text(CALL * args.calls, encoding="utf-8")
        report = Path(folder) / f"report.{args.format}"
        command = [sys.executable, "-m", "scanner", "scan", str(script), "--no-cache", "-j", str(args.jobs),
                   "-f", args.format, "-o", str(report), "-q", "--exit-zero"]
        started = time.perf_counter()
        proc = subprocess.run(command, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        findings = len(json.loads(report.read_text(encoding="utf-8"))["findings"]) if args.format == "json" and proc.returncode == 0 else None
        print(json.dumps({
            "calls": args.calls, "bytes": script.stat().st_size, "format": args.format, "jobs": args.jobs,
            "exit": proc.returncode, "seconds": round(elapsed, 2), "peak_rss_mb": round(peak_kb / 1024, 1),
            "findings": findings, "report_bytes": report.stat().st_size if report.exists() else 0,
            "stderr": proc.stderr.strip()[-300:],
        }))
        return 0 if proc.returncode == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
