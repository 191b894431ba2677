"""The action plan a project manager works from: CSV and Excel, one row per finding, in the order of work.

Every cell a scanned file can influence (paths, messages, senders, owners) is neutralised against
formula injection: a value that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
gets a leading apostrophe, so a spreadsheet shows it as text instead of evaluating it.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Union

from .model import TRIAGE_LABELS, WORK_LABELS, JsonDict, MergedReport, Triage, WorkStep

COLUMNS = (
    "repository", "path", "line", "column", "rule", "severity", "status", "breaks", "verdict", "server",
    "sender", "credential account", "fix safety", "work step", "owner", "owner source", "due", "message",
    "fingerprint", "retirement", "retirement date",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}

Cell = Union[str, int]


def neutralise(value: str) -> str:
    """A cell value a spreadsheet cannot evaluate: formula-like text (after any blanks) gets a leading apostrophe."""
    return "'" + value if value.startswith(_FORMULA_START) or value.lstrip(" \n").startswith(_FORMULA_START) else value


def _text(value: object) -> str:
    if value is None:
        return ""
    # One cell, one line: a newline would still be inside quotes, but readers paste cells into tickets.
    return re.sub(r"[\r\n\u2028\u2029]+", " ", neutralise(str(value)))


def _obj(value: object) -> JsonDict:
    return value if isinstance(value, dict) else {}


def _breaks(finding: JsonDict) -> str:
    triage = Triage(str(finding.get("triage")))
    if triage in (Triage.SECRET, Triage.GRAPH):
        return ""
    breaks = _obj(finding.get("assessment")).get("breaks")
    return "yes" if breaks is True else "no" if breaks is False else "unknown"


def ordered_findings(report: MergedReport) -> list[JsonDict]:
    """The findings in the order of work, then by severity, repository, path and line."""
    def key(f: JsonDict) -> tuple[int, int, str, str, int]:
        line = f.get("line")
        return (int(str(f.get("work_step") or 4)), _SEVERITY_RANK.get(str(f.get("severity")), 9),
                str(f.get("repo")), str(f.get("repository_path") or f.get("path")), line if isinstance(line, int) else 0)

    return sorted(report.findings, key=key)


def finding_row(finding: JsonDict) -> list[Cell]:
    """One finding as the action plan's columns (COLUMNS)."""
    assessment = _obj(finding.get("assessment"))
    line, column = finding.get("line"), finding.get("column")
    triage = Triage(str(finding.get("triage")))
    safety = str(finding.get("fix_safety") or "none")
    return [
        _text(finding.get("repo")),
        _text(finding.get("repository_path") or finding.get("path")),
        line if isinstance(line, int) else 0,
        column if isinstance(column, int) else 0,
        _text(finding.get("rule")),
        _text(finding.get("severity")),
        _text(TRIAGE_LABELS[triage]),
        _breaks(finding),
        _text(assessment.get("verdict")),
        _text(assessment.get("server_text") or assessment.get("server")),
        _text(finding.get("sender") or ("dynamic" if finding.get("call") else "")),
        _text(finding.get("credential_user")),
        "no fix" if safety == "none" else _text(safety),
        int(str(finding.get("work_step") or 4)),
        _text(finding.get("owner")),
        _text(finding.get("owner_source")),
        _text(finding.get("due")),
        _text(finding.get("message")),
        _text(finding.get("fingerprint")),
        *retirement_cells(finding),
    ]


_RETIREMENT_WORDS = {"smtp-auth": "SMTP AUTH basic auth", "ews": "EWS in Exchange Online"}


def retirement_cells(finding: JsonDict) -> list[Cell]:
    """Which Exchange Online retirement the finding's send depends on, and its date (issue 24)."""
    key = str(finding.get("retirement") or "")
    return [_RETIREMENT_WORDS.get(key, ""), _text(finding.get("retirement_date"))]


def format_csv(report: MergedReport) -> str:
    """The action plan as CSV (RFC 4180, CRLF line ends, a header row)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for finding in ordered_findings(report):
        writer.writerow(finding_row(finding))
    return buffer.getvalue()


def _sheet_name(name: str, taken: set[str]) -> str:
    """An Excel sheet name: at most 31 characters, none of []:*?/\\, unique without regard to case."""
    base = _SHEET_FORBIDDEN.sub("_", name).strip("'") or "owner"
    base = base[:31]
    candidate, number = base, 1
    while candidate.lower() in taken:
        number += 1
        suffix = f" ({number})"
        candidate = base[: 31 - len(suffix)] + suffix
    taken.add(candidate.lower())
    return candidate


def format_xlsx(report: MergedReport) -> bytes:
    """The action plan as an Excel workbook: a summary sheet, every finding, then one sheet per owner."""
    import xlsxwriter

    buffer = io.BytesIO()
    # Nothing written is ever a formula or a link: every value is written as what it is.
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False,
                                            "strings_to_urls": False, "strings_to_numbers": False})
    bold = workbook.add_format({"bold": True})
    title = workbook.add_format({"bold": True, "font_size": 14})
    taken: set[str] = set()

    summary = workbook.add_worksheet(_sheet_name("Summary", taken))
    summary.set_column(0, 0, 60)
    summary.set_column(1, 3, 14)
    row = 0
    summary.write_string(row, 0, "smtp2graph action plan", title)
    row += 1
    summary.write_string(row, 0, _text(f"Generated {report.generated_at}; due {report.due}; "
                                       f"{len(report.repositories)} repositories; {report.summary.findings} findings"))
    row += 2
    summary.write_row(row, 0, ["Status", "Findings", "Scripts"], bold)
    row += 1
    scripts = {tile.key: tile.scripts for tile in report.summary.tiles}
    for triage in Triage:
        summary.write_string(row, 0, TRIAGE_LABELS[triage])
        summary.write_number(row, 1, report.summary.by_triage.get(triage.value, 0))
        summary.write_number(row, 2, scripts.get(triage.value, 0))
        row += 1
    row += 1
    summary.write_row(row, 0, ["Order of work", "Findings", "Scripts"], bold)
    row += 1
    for item in report.summary.work_order:
        summary.write_string(row, 0, f"{item.step}. {WORK_LABELS[WorkStep(item.step)]}")
        summary.write_number(row, 1, item.findings)
        summary.write_number(row, 2, item.scripts)
        row += 1
    row = _retirement_rows(summary, row, report, bold)
    for heading, groups in (("Repository", report.summary.by_repository), ("Owner", report.summary.by_owner)):
        row += 1
        summary.write_row(row, 0, [heading, "Will break", "May break", "Findings"], bold)
        row += 1
        for group in groups:
            summary.write_string(row, 0, _text(group.name))
            summary.write_number(row, 1, group.counts.get(Triage.WILL_BREAK.value, 0))
            summary.write_number(row, 2, group.counts.get(Triage.MAY_BREAK.value, 0))
            summary.write_number(row, 3, group.findings)
            row += 1

    ordered = ordered_findings(report)
    _findings_sheet(workbook, _sheet_name("All findings", taken), ordered, bold)
    by_owner: dict[str, list[JsonDict]] = {}
    for finding in ordered:
        by_owner.setdefault(str(finding.get("owner") or "(no owner)"), []).append(finding)
    for group in report.summary.by_owner:
        if group.name in by_owner:
            _findings_sheet(workbook, _sheet_name(group.name, taken), by_owner[group.name], bold)
    workbook.close()
    return buffer.getvalue()


def _findings_sheet(workbook, name: str, findings: list[JsonDict], bold) -> None:  # type: ignore[no-untyped-def]
    sheet = workbook.add_worksheet(name)
    sheet.write_row(0, 0, COLUMNS, bold)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(1, len(findings)), len(COLUMNS) - 1)
    for index, finding in enumerate(findings, 1):
        for col, value in enumerate(finding_row(finding)):
            if isinstance(value, int):
                sheet.write_number(index, col, value)
            else:
                sheet.write_string(index, col, value)
    for col, width in enumerate((18, 40, 6, 6, 9, 9, 22, 8, 50, 26, 26, 22, 12, 6, 22, 12, 11, 60, 18, 22, 12)):
        sheet.set_column(col, col, width)


def _retirement_rows(sheet, row: int, report: MergedReport, bold) -> int:  # type: ignore[no-untyped-def]
    """The deadline summary on the summary sheet: each retirement, its dates and its sends."""
    row += 1
    sheet.write_row(row, 0, ["Deadline", "Sends", "Will break", "May break", "Already broken"], bold)
    row += 1
    for retirement in report.retirements:
        dates = "; ".join(f"{m.date}: {m.text}" for m in retirement.milestones)
        sheet.write_string(row, 0, _text(f"{retirement.label} — {dates}"))
        for col, value in enumerate((retirement.sends, retirement.will_break, retirement.may_break, retirement.already_broken), 1):
            sheet.write_number(row, col, value)
        row += 1
    return row
