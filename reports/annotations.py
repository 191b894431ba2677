"""One line per finding for editors and CI: `--format concise` and GitHub Actions annotations (`--format github`)."""

from __future__ import annotations

import re

from .action_plan import ordered_findings
from .model import TRIAGE_LABELS, JsonDict, MergedReport, Triage
from .terminal import display_path, printable

_NEWLINES = re.compile(r"\s*[\r\n\u2028\u2029]+\s*")


def _one_line(text: object) -> str:
    return printable(_NEWLINES.sub(" ", "" if text is None else str(text)))


def _path(finding: JsonDict, roots: dict[str, str]) -> str:
    return display_path(roots.get(str(finding.get("repo", "")), ""), str(finding.get("path", "")))


def _position(finding: JsonDict, key: str) -> int:
    value = finding.get(key)
    return value if isinstance(value, int) and value > 0 else 1


def format_concise(report: MergedReport) -> str:
    """`path:line:col: RULE severity message`, one line per finding, in the order of work (never wrapped)."""
    roots = {repo.name: repo.root for repo in report.repositories}
    lines = []
    for finding in ordered_findings(report):
        triage = Triage(str(finding.get("triage")))
        status = "" if triage in (Triage.SECRET, Triage.GRAPH) else f"[{TRIAGE_LABELS[triage].split(' (')[0].lower()}] "
        lines.append(
            f"{printable(_path(finding, roots))}:{_position(finding, 'line')}:{_position(finding, 'column')}: "
            f"{_one_line(finding.get('rule'))} {_one_line(finding.get('severity'))} {status}{_one_line(finding.get('message'))}"
        )
    return "".join(line + "\n" for line in lines)


def escape_data(text: str) -> str:
    """A workflow command's message: %, CR and LF are the only special characters."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value: also `:` and `,` (they separate properties)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation_level(finding: JsonDict) -> str:
    """error for what breaks (or already fails) and for secrets, warning for may-break, notice for the rest."""
    triage = Triage(str(finding.get("triage")))
    if triage in (Triage.WILL_BREAK, Triage.ALREADY_BROKEN, Triage.SECRET):
        return "error"
    if triage is Triage.MAY_BREAK:
        return "warning"
    if triage is Triage.GRAPH and finding.get("severity") in ("critical", "high"):
        return "error"
    if finding.get("severity") in ("critical", "high", "medium"):
        return "warning"
    return "notice"


def format_github(report: MergedReport) -> str:
    """GitHub Actions workflow commands (`::error file=…,line=…::message`), one per finding."""
    roots = {repo.name: repo.root for repo in report.repositories}
    lines = []
    for finding in ordered_findings(report):
        triage = Triage(str(finding.get("triage")))
        title = f"{finding.get('rule')} {finding.get('name') or ''}".strip()
        if triage not in (Triage.SECRET, Triage.GRAPH):
            title += f" ({TRIAGE_LABELS[triage].split(' (')[0].lower()})"
        properties = {
            "file": _path(finding, roots),
            "line": str(_position(finding, "line")),
            "col": str(_position(finding, "column")),
            "endLine": str(max(_position(finding, "end_line"), _position(finding, "line"))),
            "title": title,
        }
        props = ",".join(f"{key}={escape_property(_controls(value))}" for key, value in properties.items())
        lines.append(f"::{annotation_level(finding)} {props}::{escape_data(_controls(str(finding.get('message') or '')))}")
    return "".join(line + "\n" for line in lines)


def _controls(text: str) -> str:
    """Other control characters (ESC, BEL, …) escaped; CR and LF are left to the workflow-command escaping."""
    return re.sub(r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f]", lambda m: f"\\x{ord(m.group()):02x}", text)
