"""The Markdown migration report: the HTML report's summary, senders and findings for a PR or a wiki page."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Optional

import jinja2

from .model import SEVERITIES, TRIAGE_LABELS, JsonDict, MergedReport
from .builder import merge_documents

_SEVERITY_RANK = {severity: rank for rank, severity in enumerate(SEVERITIES)}
# Characters that change meaning inside a GitHub-flavoured Markdown line (table cells, emphasis, links, code);
# line-start syntax (#, -, 1.) cannot occur because every value is placed after other text.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def escape_markdown(value: object) -> str:
    """Make any value inert Markdown table-cell text: no HTML, no pipes, no code spans, one line."""
    if value is None or isinstance(value, jinja2.Undefined):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return str(value)
    text = str(value)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    # A table row is one line; a newline inside a cell would end the table.
    return re.sub(r"\s*[\r\n\u2028\u2029]+\s*", " ", text)


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader(__package__, "templates"),
        autoescape=False,  # Markdown, not HTML: `finalize` escapes every expression for Markdown instead
        finalize=escape_markdown,
        # Scan and audit JSON is input: a missing optional field renders as an empty cell, not an error.
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _line(finding: JsonDict) -> int:
    line = finding.get("line")
    return line if isinstance(line, int) else 0


def _grouped(findings: list[JsonDict]) -> list[tuple[str, str, list[JsonDict]]]:
    """Findings grouped by script; scripts in the order of work (their most urgent call), then by repository and path."""
    groups: dict[tuple[str, str], list[JsonDict]] = {}
    for finding in findings:
        groups.setdefault((str(finding.get("repo", "")), str(finding.get("path", ""))), []).append(finding)

    def rank(finding: JsonDict) -> int:
        return _SEVERITY_RANK.get(str(finding.get("severity")), len(SEVERITIES))

    def urgency(finding: JsonDict) -> tuple[int, int]:
        step = finding.get("work_step")
        return (step if isinstance(step, int) else 4, rank(finding))

    result = []
    for (repo, path), members in groups.items():
        members.sort(key=lambda f: (urgency(f), _line(f)))
        result.append((repo, path, members))
    result.sort(key=lambda group: (min(urgency(f) for f in group[2]), group[0], group[1]))
    return result


def render_report_markdown(report: MergedReport) -> str:
    """Render a merged report as Markdown."""
    template = _environment().get_template("report.md.j2")
    labels = {triage.value: label for triage, label in TRIAGE_LABELS.items()}
    from .terminal import owner_sources

    return template.render(report=report, groups=_grouped(report.findings), triage_labels=labels,
                           owner_sources=owner_sources(report))


def render_markdown(documents: list[dict[str, object]], *, now: Optional[datetime] = None) -> str:
    """Render scan (and audit) JSON documents as one Markdown report (same summary, senders and findings as HTML).

    `now` defaults to the newest document's `generated_at`. Raises reports.model.ReportInputError on a bad document.
    """
    docs: list[JsonDict] = documents
    return render_report_markdown(merge_documents(docs, now=now))
