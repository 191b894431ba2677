"""The human view on the terminal: triage first, then the findings in the order of work, one line each.

What an admin reads at 80 columns: how many calls will break, may break (verdict unknown), are
already broken, are not affected, are on Graph, and which secrets were found; then the breaking
calls with a safe fix, the breaking calls needing manual work, the may-break calls, then the rest.
The last line says how many `smtp2graph fix` rewrites.
"""

from __future__ import annotations

import io
import os
import posixpath
import re
import shutil
import sys
from collections import Counter
from typing import Optional

from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from scanner.model import Finding, ScanResult
from scanner.outputs import ERROR_PREFIX, WARNING_PREFIX

from .model import TRIAGE_LABELS, WORK_LABELS, JsonDict, MergedReport, Triage, WorkStep
from .builder import finding_triage
from .retirements import ews_summary_clause

_SEVERITY_STYLE = {"critical": "bold white on red", "high": "bold red", "medium": "yellow", "low": "cyan", "info": "dim"}
_TRIAGE_STYLE = {
    Triage.WILL_BREAK: "bold red",
    Triage.MAY_BREAK: "bold yellow",
    Triage.ALREADY_BROKEN: "magenta",
    Triage.NOT_AFFECTED: "green",
    Triage.GRAPH: "cyan",
    Triage.SECRET: "bold magenta",
}
_SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
# The rest of the work, in the order a reader wants it: what fails today first, what needs nothing last.
_REST_ORDER = {Triage.ALREADY_BROKEN: 0, Triage.SECRET: 1, Triage.GRAPH: 2, Triage.NOT_AFFECTED: 3}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: object) -> str:
    """Text with control characters shown as escapes, so a file name or message cannot drive the terminal."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}",
                        "" if text is None else str(text))


def display_path(root: str, path: str) -> str:
    """The path a person (or an editor) opens: the scan root joined with the finding's path, relative to the
    current folder when it is inside it (as ruff prints them)."""
    if not root or root in (".", "./"):
        return path
    joined = posixpath.normpath(posixpath.join(root.replace("\\", "/"), path))
    if posixpath.isabs(joined):
        try:
            here = os.getcwd().replace("\\", "/")
        except OSError:
            return joined
        if joined.startswith(here.rstrip("/") + "/"):
            return joined[len(here.rstrip("/")) + 1 :]
    return joined


def _roots(report: MergedReport) -> dict[str, str]:
    return {repo.name: repo.root for repo in report.repositories}


def finding_location(finding: JsonDict, roots: dict[str, str]) -> str:
    """`path:line:col` of a merged finding, the path joined with its scan root."""
    path = display_path(roots.get(str(finding.get("repo", "")), ""), str(finding.get("path", "")))
    return f"{path}:{finding.get('line') or 1}:{finding.get('column') or 1}"


def _plural(count: int, word: str, words: Optional[str] = None) -> str:
    return f"{count:,} {word if count == 1 else (words or word + 's')}"


def _triage_of(finding: Finding) -> Triage:
    assessment = finding.assessment
    return finding_triage({
        "rule": finding.rule,
        "call": {"api": finding.call.api.value} if finding.call is not None else None,
        "assessment": None if assessment is None else {
            "breaks": assessment.breaks, "server": assessment.server.value, "credential": assessment.credential.value,
        },
    })


def summary_line(result: ScanResult) -> str:
    """One line: files, findings by severity, scripts that break and that may break (verdict unknown), errors."""
    counts = Counter(f.severity.value for f in result.findings)
    scripts: dict[Triage, set[str]] = {triage: set() for triage in Triage}
    for finding in result.findings:
        scripts[_triage_of(finding)].add(finding.location.path)
    breaks = scripts[Triage.WILL_BREAK]
    may = scripts[Triage.MAY_BREAK] - breaks
    broken = scripts[Triage.ALREADY_BROKEN] - breaks - may
    by_sev = ", ".join(f"{counts[s]} {s}" for s in _SEVERITY_RANK if counts[s])
    verdicts = f"{len(breaks)} script(s) break when basic auth is disabled, {len(may)} more may break (verdict unknown)"
    if broken:
        verdicts += f", {len(broken)} already broken"
    parts = [
        f"{result.files_scanned} file(s) scanned",
        f"{len(result.findings)} finding(s)" + (f" ({by_sev})" if by_sev else ""),
        verdicts,
    ]
    ews = [f for f in result.findings if f.call is not None and f.call.api.value == "ews" and f.call.sent]
    if ews:
        parts.append(f"{len(ews)} EWS send(s) in {len({f.location.path for f in ews})} script(s) (EWS in Exchange Online "
                     "blocked by default since 1 October 2026, off 1 April 2027)")
    if result.errors:
        parts.append(f"{len(result.errors)} error(s)")
    if result.unused_suppressions:
        parts.append(f"{len(result.unused_suppressions)} unused suppression(s)")
    return "; ".join(parts)


def fix_line(report: MergedReport) -> str:
    """The closing sentence: how many findings `smtp2graph fix` rewrites."""
    return (f"{report.summary.fixable_safe:,} of these are fixed by `smtp2graph fix` "
            f"({report.summary.fixable_unsafe:,} more with --unsafe-fixes)")


def _ordered(findings: list[JsonDict]) -> dict[WorkStep, list[JsonDict]]:
    steps: dict[WorkStep, list[JsonDict]] = {step: [] for step in WorkStep}
    for finding in findings:
        steps[WorkStep(int(str(finding.get("work_step") or 4)))].append(finding)

    def key(f: JsonDict) -> tuple[int, int, str, str, int]:
        rest = _REST_ORDER.get(Triage(str(f.get("triage"))), 9)
        return (rest, _SEVERITY_RANK.get(str(f.get("severity")), 9), str(f.get("repo")), str(f.get("path")),
                int(str(f.get("line") or 0)))

    for members in steps.values():
        members.sort(key=key)
    return steps


Segment = tuple[str, str]  # (text, rich style)


def _chop(word: str, width: int) -> list[str]:
    """A word wider than ``width`` cells, cut into pieces that fit (a long URL or path in a message)."""
    pieces: list[str] = []
    current = ""
    for char in word:
        if current and cell_len(current + char) > width:
            pieces.append(current)
            current = ""
        current += char
    return pieces + ([current] if current else [])


def wrap_segments(parts: tuple[Segment, ...], width: int, indent: int) -> list[list[Segment]]:
    """Styled text broken at spaces into lines of at most ``width`` cells, every line after the first
    indented by ``indent`` spaces. Nothing is left out: a word wider than a line is cut across lines."""
    indent = max(0, min(indent, width - 1))
    lines: list[list[Segment]] = [[]]
    used = 0

    def new_line() -> int:
        lines.append([(" " * indent, "")])
        return indent

    for text, style in parts:
        for index, word in enumerate(text.split(" ")):
            space = " " if index > 0 else ""
            if not word:  # a run of spaces (the two between columns): kept while the line has room
                if space and used < width:
                    lines[-1].append((" ", style))
                    used += 1
                continue
            if used + cell_len(space + word) <= width:
                lines[-1].append((space + word, style))
                used += cell_len(space + word)
                continue
            if used > (indent if len(lines) > 1 else 0):
                used = new_line()
            for number, piece in enumerate(_chop(word, max(1, min(width - used, width - indent)))):
                if number:
                    used = new_line()
                lines[-1].append((piece, style))
                used += cell_len(piece)
    return lines


class _Writer:
    """Lines for the terminal. On a terminal (``fit``) every line fits its width without losing a word:
    long text wraps onto indented lines; in a file or a pipe every line stays whole (grep, editors)."""

    def __init__(self, width: int, color: bool, fit: bool) -> None:
        self.buffer = io.StringIO()
        self.width = width
        self.fit = fit
        self.console = Console(file=self.buffer, width=100_000, force_terminal=color, no_color=not color,
                               highlight=False, soft_wrap=True, emoji=False, markup=False)

    def line(self, *parts: Segment, indent: int = 4) -> None:
        """One logical line; on a terminal wider than ``width`` it wraps, continuation lines indented."""
        rows = wrap_segments(parts, self.width, indent) if self.fit else [list(parts)]
        for row in rows:
            text = Text()
            for content, style in row:
                text.append(content.replace("\u00a0", " "), style=style or None)
            text.rstrip()
            self.console.print(text, no_wrap=True, overflow="ignore", crop=False)

    def blank(self) -> None:
        self.console.print()


def shorten_location(location: str, width: int) -> str:
    """`path:line:col` in at most ``width`` cells: the middle of the path gives way ("…"), never the file
    name's end or the line and column."""
    if cell_len(location) <= width:
        return location
    path, _, where = location.rpartition(":")
    path, _, line = path.rpartition(":")
    tail = f":{line}:{where}"
    parts = path.split("/")
    # Keep the last folders and the file name that fit after the first part and "…".
    kept: list[str] = []
    head = parts[0] + "/…/" if len(parts) > 1 else "…"
    for part in reversed(parts[1:] if len(parts) > 1 else parts):
        candidate = "/".join([part, *kept])
        if cell_len(head + candidate + tail) > width:
            break
        kept.insert(0, part)
    if kept:
        return head + "/".join(kept) + tail
    # Not even the file name fits after a folder: its end, with the line and column.
    name = parts[-1]
    room = max(1, width - cell_len(tail) - 1)
    while name and cell_len(name) > room:
        name = name[1:]
    return "…" + name + tail


def _counts_block(out: _Writer, report: MergedReport) -> None:
    scripts = {tile.key: tile.scripts for tile in report.summary.tiles}
    label_width = max(len(label) for label in TRIAGE_LABELS.values())
    number_width = max(len(f"{n:,}") for n in report.summary.by_triage.values()) if report.summary.by_triage else 1
    for triage in Triage:
        count = report.summary.by_triage.get(triage.value, 0)
        where = f"  in {_plural(scripts.get(triage.value, 0), 'script')}" if count else ""
        out.line(("  " + TRIAGE_LABELS[triage].ljust(label_width) + "  ", ""),
                 (f"{count:,}".rjust(number_width), _TRIAGE_STYLE[triage] if count else "dim"), (where, "dim"))


def _group_block(out: _Writer, title: str, groups: list, sources: dict[str, str], limit: int = 10) -> None:
    if len(groups) < 2:
        return
    out.line((title, "bold"), (" (most breaking calls first)", "dim"))
    shown = groups[:limit]
    name_width = min(40, max(len(printable(g.name)) for g in shown))
    for group in shown:
        source = f" ({sources[group.name]})" if sources.get(group.name) else ""
        will, may = group.counts.get(Triage.WILL_BREAK.value, 0), group.counts.get(Triage.MAY_BREAK.value, 0)
        out.line(("  " + printable(group.name)[:name_width].ljust(name_width), ""),
                 (f"  {will:>4} will break", "red" if will else "dim"),
                 (f"  {may:>4} may break", "yellow" if may else "dim"),
                 (f"  {group.findings:>5} findings", "dim"), (source, "dim"))
    if len(groups) > limit:
        out.line((f"  … and {len(groups) - limit} more", "dim"))
    out.blank()


def owner_sources(report: MergedReport) -> dict[str, str]:
    """Owner -> where the name came from (CODEOWNERS, config, git blame), for "say which source"."""
    sources: dict[str, set[str]] = {}
    for finding in report.findings:
        if finding.get("owner"):
            sources.setdefault(str(finding["owner"]), set()).add(str(finding.get("owner_source") or "").replace("-", " "))
    return {owner: ", ".join(sorted(s for s in found if s)) for owner, found in sources.items()}


def _finding_line(out: _Writer, finding: JsonDict, roots: dict[str, str], show_owner: bool) -> None:
    """One finding: `path:line:col  RULE severity  message  — owner`. On a terminal the location, rule and
    severity always stay on the first line (a long path gives way in its middle) and the message wraps
    below: at 120 columns and more it starts on the same line, narrower it starts on the next one."""
    severity = str(finding.get("severity") or "info")
    owner = str(finding.get("owner") or "")
    rule = printable(finding.get("rule"))
    location = printable(finding_location(finding, roots))
    if out.fit:
        location = shorten_location(location, out.width - cell_len(f"    {rule} {severity}"))
    head: list[Segment] = [("  " + location, "bold"), ("  " + rule, ""), (" " + severity, _SEVERITY_STYLE.get(severity, ""))]
    message: Segment = ("  " + printable(finding.get("message")), "")
    # "—" and the owner never part at a wrap (a no-break space, printed as a space).
    owned: Segment = ("  —\u00a0" + printable(owner), "cyan") if show_owner and owner else ("", "")
    if out.fit and out.width < 120:
        # A narrow terminal: the location and rule on one line, the message wrapped below it.
        out.line(*head)
        out.line(("    " + message[0].strip(), ""), owned, indent=4)
        return
    out.line(*head, message, owned, indent=4)


def format_report_terminal(
    report: MergedReport, *, width: Optional[int] = None, color: Optional[bool] = None,
    truncate: Optional[bool] = None, group_by: str = "work",
) -> str:
    """Render a merged report for the terminal: triage, order of work, one line per finding, the fix count.

    On a terminal, long lines wrap at its width onto indented lines (nothing is cut); written to a file or a
    pipe, every line is whole.
    """
    tty = sys.stdout.isatty()
    if width is None:
        width = max(60, shutil.get_terminal_size((100, 24)).columns)
    if color is None:
        color = tty and "NO_COLOR" not in os.environ
    if truncate is None:
        truncate = tty
    out = _Writer(width, color, fit=truncate)
    roots = _roots(report)
    repos = report.repositories
    files = sum(repo.files_scanned for repo in repos)
    days = (_date(report.due) - _date(report.generated_at[:10])).days if report.due and report.generated_at else 0
    due = f"due {report.due} ({_plural(days, 'day')} left)" if days >= 0 else f"due {report.due} ({_plural(-days, 'day')} ago)"
    out.line(("smtp2graph: ", "bold"),
             (f"{_plural(len(repos), 'repository', 'repositories')}, {_plural(files, 'file')} scanned, "
              f"{_plural(report.summary.findings, 'finding')}", ""))
    out.line((f"  {due[0].upper()}{due[1:]}", "bold"))
    _counts_block(out, report)
    out.blank()
    show_owner = any(finding.get("owner") for finding in report.findings)
    if group_by in ("owner", "repository"):
        _grouped_listing(out, report, roots, group_by)
    else:
        for step, members in _ordered(report.findings).items():
            if not members:
                continue
            out.line((f"{step.value}. {WORK_LABELS[step]}", "bold underline"), (f" ({len(members):,})", "bold"))
            for finding in members:
                _finding_line(out, finding, roots, show_owner)
            out.blank()
    _group_block(out, "By repository", report.summary.by_repository, {})
    _group_block(out, "By owner", report.summary.by_owner, owner_sources(report))
    for error in report.errors:
        out.line((f"{ERROR_PREFIX}{printable(error.get('path'))}: {printable(error.get('message'))}", "red"))
    for unused in report.unused_suppressions:
        listed = unused.get("rules")
        rules = ",".join(str(r) for r in listed) if isinstance(listed, list) and listed else "all rules"
        out.line((f"{WARNING_PREFIX}{printable(unused.get('path'))}:{unused.get('line')}: unused suppression ({rules})", "yellow"))
    out.line((report_summary_line(report), ""))
    out.line((fix_line(report), "bold"))
    return out.buffer.getvalue()


def report_summary_line(report: MergedReport) -> str:
    """The scan summary line (as `summary_line`) computed from a merged report."""
    scripts: dict[str, set[tuple[str, str]]] = {t.value: set() for t in Triage}
    for finding in report.findings:
        scripts[str(finding.get("triage"))].add((str(finding.get("repo")), str(finding.get("path"))))
    breaks = scripts[Triage.WILL_BREAK.value]
    may = scripts[Triage.MAY_BREAK.value] - breaks
    broken = scripts[Triage.ALREADY_BROKEN.value] - breaks - may
    by_sev = ", ".join(f"{count} {sev}" for sev, count in report.summary.by_severity.items() if count)
    files = sum(repo.files_scanned for repo in report.repositories)
    text = (f"{files} file(s) scanned; {report.summary.findings} finding(s)" + (f" ({by_sev})" if by_sev else "")
            + f"; {len(breaks)} script(s) break when basic auth is disabled, {len(may)} more may break (verdict unknown)")
    if broken:
        text += f", {len(broken)} already broken"
    ews = ews_summary_clause(report.retirements)
    if ews:
        text += f"; {ews}"
    if report.errors:
        text += f"; {len(report.errors)} error(s)"
    if report.unused_suppressions:
        text += f"; {len(report.unused_suppressions)} unused suppression(s)"
    return text


def _grouped_listing(out: _Writer, report: MergedReport, roots: dict[str, str], group_by: str) -> None:
    key = "owner" if group_by == "owner" else "repo"
    groups = report.summary.by_owner if group_by == "owner" else report.summary.by_repository
    members: dict[str, list[JsonDict]] = {}
    for finding in report.findings:
        members.setdefault(str(finding.get(key) or "(no owner)"), []).append(finding)
    for group in groups:
        found = members.get(group.name, [])
        if not found:
            continue
        will = group.counts.get(Triage.WILL_BREAK.value, 0)
        may = group.counts.get(Triage.MAY_BREAK.value, 0)
        out.line((printable(group.name), "bold underline"), (f"  {will} will break, {may} may break", "bold"))
        for step_members in _ordered(found).values():
            for finding in step_members:
                _finding_line(out, finding, roots, group_by != "owner")
        out.blank()


def _date(text: str):  # type: ignore[no-untyped-def]
    from datetime import date

    return date.fromisoformat(text[:10])


def format_terminal(result: ScanResult, width: Optional[int] = None, color: Optional[bool] = None) -> str:
    """Render a scan for the terminal (see format_report_terminal)."""
    from .json_report import to_document
    from .builder import merge_documents

    return format_report_terminal(merge_documents([to_document(result)]), width=width, color=color)
