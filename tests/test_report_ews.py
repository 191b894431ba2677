"""The report shows EWS sends beside SMTP AUTH sends, each with its own date (issue 24, item 5)."""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scanner.cli import app
from scanner.reports.formats import Format
from scanner.reports.render import render_merged
from scanner.reports.builder import merge_documents
from scanner.reports.terminal import report_summary_line

EWS = Path(__file__).parent / "fixtures" / "ews"
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)
runner = CliRunner()


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tree = tmp_path_factory.mktemp("estate")
    for name in ("managed_exo_password.ps1", "managed_autodiscover_oauth.ps1", "managed_onprem_default.ps1", "reads_only.ps1"):
        shutil.copyfile(EWS / name, tree / name)
    (tree / "smtp.ps1").write_text("Send-MailMessage -To 'a@contoso.com' -From 'b@contoso.com' -Subject x "
                                   "-SmtpServer smtp.office365.com -UseSsl -Credential $c\n", encoding="utf-8")
    result = runner.invoke(app, ["scan", str(tree), "-f", "json", "--no-cache", "--jobs", "1", "--exit-zero"])
    return json.loads(result.stdout)


def test_each_finding_carries_its_retirement_and_date(document: dict) -> None:
    report = merge_documents([document], now=NOW)
    by_path = {f["path"]: f for f in report.findings if f["rule"] in ("SMTP001", "EWS001", "EWS002")}
    assert (by_path["smtp.ps1"]["retirement"], by_path["smtp.ps1"]["retirement_date"]) == ("smtp-auth", "2026-12-31")
    assert (by_path["managed_autodiscover_oauth.ps1"]["retirement"], by_path["managed_autodiscover_oauth.ps1"]["retirement_date"]) == ("ews", "2027-04-01")
    # A password to Exchange Online EWS has failed since October 2022; an OAuth token breaks with the retirement.
    assert by_path["managed_exo_password.ps1"]["triage"] == "already-broken"
    assert by_path["managed_autodiscover_oauth.ps1"]["triage"] == "will-break"
    assert by_path["managed_onprem_default.ps1"]["triage"] == "not-affected"


def test_deadline_summary_has_both_retirements_with_their_dates(document: dict) -> None:
    report = merge_documents([document], now=NOW)
    smtp, ews = report.retirements
    assert (smtp.key, smtp.deadline, smtp.sends, smtp.will_break) == ("smtp-auth", "2026-12-31", 1, 1)
    assert (ews.key, ews.deadline, ews.days_left) == ("ews", "2027-04-01", 115)
    assert [m.date for m in ews.milestones] == ["2026-10-01", "2027-04-01"]
    assert (ews.sends, ews.will_break, ews.already_broken, ews.scripts, ews.other_use_scripts) == (3, 1, 1, 3, 1)
    tiles = {t.key: (t.scripts, t.findings) for t in report.summary.tiles}
    assert tiles["ews-send"] == (3, 3)
    step2 = next(w for w in report.summary.work_order if w.step == 2)
    assert step2.by_retirement.get("ews") == 2  # the OAuth send and the reads: breaking, a person migrates them


def test_markdown_csv_and_summary_line_show_ews_beside_smtp_auth(document: dict) -> None:
    report = merge_documents([document], now=NOW)
    markdown = render_merged(report, Format.MARKDOWN)
    assert isinstance(markdown, str)
    assert "left until Exchange Online switches basic auth for SMTP AUTH off by default" in markdown
    assert "**3 EWS sends** in 3 scripts (1 will break, 0 may break, 1 already broken)" in markdown
    assert "2026-10-01: EWS blocked by default" in markdown and "2027-04-01: EWS switched off for good" in markdown
    assert "| EWS sends (blocked by default since 1 October 2026, off 1 April 2027) | 3 | 3 |" in markdown
    assert "through EWS, due 2027-04-01" in markdown
    table = list(csv.DictReader(io.StringIO(str(render_merged(report, Format.CSV)))))
    ews_rows = [r for r in table if r["rule"] == "EWS001"]
    assert ews_rows and all(r["retirement"] == "EWS in Exchange Online" and r["retirement date"] == "2027-04-01" for r in ews_rows)
    assert next(r for r in table if r["rule"] == "SMTP001")["retirement date"] == "2026-12-31"
    line = report_summary_line(report)
    assert "3 EWS send(s) in 3 script(s)" in line and "off 1 April 2027" in line and "1 script(s) with other EWS use" in line


def test_html_embeds_the_retirements(document: dict) -> None:
    html = render_merged(merge_documents([document], now=NOW), Format.HTML)
    assert isinstance(html, str) and '"retirements"' in html and '"ews-send"' in html and "renderRetirements" in html


def test_a_scan_without_ews_has_no_ews_retirement() -> None:
    report = merge_documents([{"schema_version": "1.0", "findings": [], "root": "x"}], now=NOW)
    assert [r.key for r in report.retirements] == ["smtp-auth"]
