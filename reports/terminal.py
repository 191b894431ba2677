"""The human view on the terminal: findings grouped by file, then a summary line."""

from __future__ import annotations

import io
import os
import shutil
import sys
from collections import Counter, defaultdict
from typing import Optional

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from scanner.model import Finding, ScanResult, Severity

_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


def summary_line(result: ScanResult) -> str:
    """One line: files, findings by severity, breakers, errors."""
    counts = Counter(f.severity for f in result.findings)
    breaks = len({f.location.path for f in result.findings if f.assessment is not None and f.assessment.breaks})
    by_sev = ", ".join(f"{counts[s]} {s.value}" for s in reversed(list(Severity)) if counts[s])
    parts = [
        f"{result.files_scanned} file(s) scanned",
        f"{len(result.findings)} finding(s)" + (f" ({by_sev})" if by_sev else ""),
        f"{breaks} script(s) break when basic auth is disabled",
    ]
    if result.errors:
        parts.append(f"{len(result.errors)} error(s)")
    if result.unused_suppressions:
        parts.append(f"{len(result.unused_suppressions)} unused suppression(s)")
    return "; ".join(parts)


def format_terminal(result: ScanResult, width: Optional[int] = None, color: Optional[bool] = None) -> str:
    """Render the findings as rich tables grouped by file (returned as text).

    Width and color follow the terminal standard output is attached to (NO_COLOR disables color).
    """
    if width is None:
        width = max(80, shutil.get_terminal_size((120, 24)).columns)
    if color is None:
        color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=color, no_color=not color, highlight=False, soft_wrap=False)
    by_file: dict[str, list[Finding]] = defaultdict(list)
    for finding in result.findings:
        by_file[finding.location.path].append(finding)
    for path in sorted(by_file):
        console.print(Text(path, style="bold underline"))
        table = Table(show_header=True, header_style="bold", box=None, padding=(0, 1), expand=False)
        table.add_column("line", justify="right", no_wrap=True)
        table.add_column("rule", no_wrap=True)
        table.add_column("severity", no_wrap=True)
        table.add_column("fix", no_wrap=True)
        table.add_column("message", overflow="fold")
        for f in sorted(by_file[path], key=lambda f: (f.location.line, f.location.column)):
            table.add_row(
                f"{f.location.line}:{f.location.column}",
                f.rule,
                Text(f.severity.value, style=_STYLE[f.severity]),
                f.fix.applicability.value,
                escape(f.message),
            )
        console.print(table)
        console.print()
    for error in result.errors:
        console.print(Text(f"error: {error.path}: {error.message}", style="red"))
    for unused in result.unused_suppressions:
        rules = ",".join(unused.rules) or "all rules"
        console.print(Text(f"warning: {unused.path}:{unused.line}: unused suppression ({rules})", style="yellow"))
    console.print(Text(summary_line(result), style="bold"))
    return buffer.getvalue()
