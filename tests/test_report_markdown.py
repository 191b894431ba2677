"""The Markdown report: same summary, senders and findings as the HTML one, inert for GitHub Markdown."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from scanner.reports.markdown import escape_markdown, render_markdown
from scanner.reports.builder import merge_documents

FIXTURES = Path(__file__).parent / "fixtures" / "reports"


def fixture_documents() -> list[dict[str, object]]:
    return [json.loads((FIXTURES / name).read_text(encoding="utf-8"))
            for name in ("scan-ops.json", "scan-hr.json", "scan-xss.json", "audit-contoso.json")]


@pytest.fixture(scope="module")
def markdown() -> str:
    return render_markdown(fixture_documents())


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a|b", "a\\|b"),
        ("`Send-MailMessage`", "\\`Send-MailMessage\\`"),
        ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"),
        ("[click](javascript:alert(1))", "\\[click\\](javascript:alert(1))"),
        ("line one\r\nline two", "line one line two"),
        ("__init__ *bold*", "\\_\\_init\\_\\_ \\*bold\\*"),
        ("C:\\temp", "C:\\\\temp"),
        (None, ""),
        (True, "yes"),
        (42, "42"),
    ],
)
def test_escape_markdown(raw: object, escaped: str) -> None:
    assert escape_markdown(raw) == escaped


def _cells(row: str) -> int:
    return len(re.findall(r"(?<!\\)\|", row)) - 1


def test_every_table_row_keeps_its_columns(markdown: str) -> None:
    columns = None
    rows = 0
    for line in markdown.splitlines():
        if not line.startswith("|"):
            columns = None
            continue
        if columns is None:
            columns = _cells(line)
        assert _cells(line) == columns, line
        rows += 1
    assert rows > 40


def test_no_raw_html_or_secrets(markdown: str) -> None:
    assert "<" not in markdown and ">" not in markdown.replace("&gt;", "")
    assert "Winter2026!" not in markdown


def test_same_summary_senders_and_findings_as_the_model(markdown: str) -> None:
    report = merge_documents(fixture_documents())
    assert "**35 days** left until Exchange Online switches basic auth for SMTP AUTH off by default (end of December 2026)." in markdown
    for tile in report.summary.tiles:
        if tile.key == "ews-send" and not tile.findings:
            assert "EWS sends" not in markdown  # an estate without EWS gets no EWS row (issue 24)
            continue
        assert f"| {escape_markdown(tile.label)} | {tile.scripts} | {tile.findings} |" in markdown
    for sender in report.senders:
        assert f"| {escape_markdown(sender.mailbox)} | " in markdown
    for dynamic in report.dynamic_senders:
        assert f"| {escape_markdown(f'{dynamic.repo} / {dynamic.path}:{dynamic.line}')} | " in markdown
    finding_rows = [line for line in markdown.split("## Findings", 1)[1].split("## Scan problems")[0].splitlines()
                    if re.match(r"^\| \d+ \|", line)]
    assert len(finding_rows) == len(report.findings)
    headings = re.findall(r"^### (.+)$", markdown.split("## Findings", 1)[1].split("## Scan problems")[0], re.M)
    assert len(headings) == report.summary.scripts


def test_triage_order_of_work_and_owners_lead() -> None:
    import sys

    sys.path.insert(0, str(FIXTURES))
    document = json.loads((FIXTURES / "scan-ops.json").read_text(encoding="utf-8"))
    owners = ["@ops", "", "@ops", "@sec", "", "@graph"]
    for finding, owner in zip(document["findings"], owners):
        if owner:
            finding["owner"], finding["owner_source"] = owner, "CODEOWNERS"
    text = render_markdown([document])
    ready = text.split("## Senders")[0]
    assert ready.index("| Will break |") < ready.index("| May break (verdict unknown) |") < ready.index("### Order of work")
    assert "| 1. Breaking, with a safe automatic fix: run smtp2graph fix | 1 | 1 |" in ready
    assert "### By owner" in ready and "| @ops | CODEOWNERS | 2 | 0 | 0 | 2 |" in ready
    findings = text.split("## Findings")[1].split("## Scan problems")[0]
    headings = re.findall(r"^### (.+)$", findings, re.M)
    assert headings[0] == "ops-scripts / reports/Nightly-Report.ps1"  # the breaking call with a safe fix comes first


def test_audit_section(markdown: str) -> None:
    assert "## Tenant audit: contoso.onmicrosoft.com" in markdown
    assert "Status: degraded: sign-in logs need Entra ID P1; showing 7 days" in markdown
    assert "| svc-mail@contoso.com | 412 | 410 | 2 |" in markdown
    assert "| scanner@contoso.com | 12 | A device or a script outside the scanned repositories sends as this account. |" in markdown


def test_days_after_the_deadline() -> None:
    from datetime import datetime, timezone

    text = render_markdown(fixture_documents()[:1], now=datetime(2027, 1, 5, tzinfo=timezone.utc))
    assert "has been off by default since the end of December 2026: **5 days** ago." in text


def test_sparse_and_malformed_findings() -> None:
    document = json.loads((FIXTURES / "scan-minimal.json").read_text(encoding="utf-8"))
    text = render_markdown([document])
    rows = [line for line in text.splitlines() if re.match(r"^\| \d+ \| ", line)]
    assert len(rows) == 3
    # No verdict in an older scan: "may break", never fine.
    assert "| 12 | May break (verdict unknown) | bogus | SMTP003 | dynamic |  | unsafe | wrong types everywhere |" in text
    assert "| 7 | May break (verdict unknown) | high | SMTP002 |  |  | no fix | every optional part is null |" in text


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("|`<>&*_[]()\\\n\r #-!~")) | st.characters(), max_size=40))
def test_any_text_stays_inside_its_cell(text: str) -> None:
    cell = escape_markdown(text)
    assert "\n" not in cell and "\r" not in cell and "<" not in cell
    assert _cells(f"| {cell} | x |") == 2
    assert "`" not in cell.replace("\\`", "")


def test_the_header_counts_scans_not_repositories() -> None:
    """Issue 25: one scan of a folder of three repositories said "from 3 scans"."""
    document = json.loads((FIXTURES / "scan-ops.json").read_text(encoding="utf-8"))
    document["repositories"] = [{"name": name, "path": name, "kind": "git", "files_scanned": 4}
                                for name in ("billing", "hr-tools", "misc")]
    header = render_markdown([document]).splitlines()[2]
    assert header.startswith("Generated 2026-11-26T15:00:00Z from 1 scan of 3 repositories (billing, hr-tools, misc): ")
    older = json.loads(json.dumps(document))
    older["generated_at"] = "2026-10-01T08:00:00Z"
    header = render_markdown([older, document]).splitlines()[2]
    assert " from 2 scans of 3 repositories (billing, hr-tools, misc): 12 files scanned" in header  # the older scan is history
    many = dict(document, repositories=[{"name": f"repo{i}", "files_scanned": 1} for i in range(32)])
    header = render_markdown([many]).splitlines()[2]
    assert " from 1 scan of 32 repositories: 32 files scanned" in header  # 32 names would bury the sentence
    assert "from 3 scans of 3 repositories (ops-scripts, hr-automation, evil&lt;b&gt;repo&lt;/b&gt;) and 1 tenant audit: " in \
        render_markdown(fixture_documents()).splitlines()[2]


def test_no_zero_rows() -> None:
    """Issue 25: a count of zero is not a row (no "| cdo | 0 |")."""
    document = json.loads((FIXTURES / "scan-ops.json").read_text(encoding="utf-8"))
    text = render_markdown([document])
    report = merge_documents([document])
    zero = [api for api, count in report.summary.by_api.items() if not count]
    assert zero and all(f"| {api} | 0 |" not in text for api in zero)
    assert [s for s, n in report.summary.by_severity.items() if n] == [
        line.split(" | ")[0][2:] for line in text.split("| Severity | Findings |")[1].split("\n\n")[0].splitlines()[2:]]


def test_unowned_findings_say_how_to_name_an_owner() -> None:
    document = json.loads((FIXTURES / "scan-ops.json").read_text(encoding="utf-8"))
    text = render_markdown([document])
    assert "No finding has an owner. Name an owner in a CODEOWNERS file" in text
    assert "\\[owners\\] map of .smtp2graph.toml" in text
    document["findings"][0]["owner"] = "@ops"
    assert f"\n{len(document['findings']) - 1} of {len(document['findings'])} findings have no owner. Name an owner" in \
        render_markdown([document])
    for finding in document["findings"]:
        finding["owner"] = "@ops"
    assert "have no owner" not in render_markdown([document]) and "CODEOWNERS" not in render_markdown([document])


def test_an_estate_without_ews_sends_has_no_line_of_zeros() -> None:
    document = json.loads((FIXTURES / "scan-ops.json").read_text(encoding="utf-8"))
    reads = dict(document["findings"][0], rule="EWS002", name="ews-other-use", path="mail/Read-Inbox.ps1",
                 call={"api": "ews", "command": "EWS FindItems", "form": "other-ews-use", "sent": False, "params": {}},
                 assessment=None)
    document["findings"].append(reads)
    text = render_markdown([document])
    assert "0 EWS sends" not in text
    assert "1 script uses EWS for other things than sending (reads, searches, calendar): " in text
