"""The Graph request preview (issue 25, item 4): which values of a finding's sendMail body are PowerShell
expressions the script computes at run time, and which are constants (written or resolved)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from scanner.cli import app
from scanner.reports.builder import merge_documents
from scanner.reports.request_preview import request_expressions

SCRIPT = """param([string]$EmailTo, [switch]$Html)
$subject = 'Weekly report'
$cred = Get-Credential
Send-MailMessage -To $EmailTo -From 'reports@contoso.com' -Subject $subject -Body $body -BodyAsHtml:$Html -Attachments "$PSScriptRoot\\report.csv" -SmtpServer smtp.office365.com -Port 587 -UseSsl -Credential $cred
Send-MailMessage -To 'ops@contoso.com' -From 'reports@contoso.com' -Subject '$5 off' -Body "Hello $env:USERNAME" -SmtpServer smtp.office365.com -Credential $cred -UseSsl
Send-MailMessage -To 'ops@contoso.com' -From 'reports@contoso.com' -Subject Hello -Body 'Hi' -SmtpServer smtp.office365.com -Credential $cred -UseSsl
$params = Get-MailParams
Send-MailMessage @params -To 'ops@contoso.com' -From 'reports@contoso.com' -SmtpServer smtp.office365.com -Credential $cred -UseSsl
"""


@pytest.fixture(scope="module")
def requests(tmp_path_factory: pytest.TempPathFactory) -> dict[int, tuple[dict, list[list[object]]]]:
    """The scanner's own request of each call of SCRIPT (by line), with the paths the merge marks."""
    folder = tmp_path_factory.mktemp("preview")
    (folder / "Send-Weekly.ps1").write_text(SCRIPT, encoding="utf-8")
    output = folder / "scan.json"
    result = CliRunner().invoke(app, ["scan", str(folder), "--format", "json", "--output", str(output), "--no-cache",
                                      "--jobs", "1", "--no-blame"])
    assert result.exit_code == 1, result.stderr
    report = merge_documents([json.loads(output.read_text(encoding="utf-8"))])
    return {f["line"]: (f["fix"]["graph_request"], f["fix"]["graph_request_expressions"]) for f in report.findings}


def test_run_time_values_are_expressions(requests: dict[int, tuple[dict, list[list[object]]]]) -> None:
    request, paths = requests[4]
    message = request["message"]
    assert message["toRecipients"] == "$EmailTo"  # the scan's JSON: PowerShell text where Graph wants an array
    assert sorted(map(tuple, paths)) == sorted([
        ("message", "toRecipients"), ("message", "body", "content"), ("message", "body", "contentType"),
        ("message", "attachments")])
    assert message["subject"] == "Weekly report"  # resolved from $subject: a value, not an expression
    assert ["message", "subject"] not in paths


def test_constants_that_look_like_powershell_stay_constants(requests: dict[int, tuple[dict, list[list[object]]]]) -> None:
    request, paths = requests[5]
    assert request["message"]["subject"] == "$5 off"  # a single-quoted literal: the text itself
    assert paths == [["message", "body", "content"]]  # "Hello $env:USERNAME" expands at run time
    request, paths = requests[6]
    assert request["message"]["subject"] == "Hello"  # a bare word is a constant
    assert paths == []
    request, paths = requests[8]
    assert request["message"]["subject"] == "(@params)"  # may be set by a splat the binder could not read
    assert paths == [["message", "subject"]]


@pytest.mark.parametrize(("request_json", "params", "expected"), [
    ({"message": "$mail"}, {}, [["message"]]),  # a MailMessage object built at run time
    ({"message": {"from": "$Sender", "importance": "([string]$p).ToLower()", "importance2": "x"}}, {},
     [["message", "from"], ["message", "importance"]]),
    ({"message": {"importance": "high", "isDeliveryReceiptRequested": True}}, {}, []),
    ({"message": {"isDeliveryReceiptRequested": "([string]$n -match 'OnSuccess')"}}, {}, [["message", "isDeliveryReceiptRequested"]]),
    ({"message": {"attachments": [{"name": "a.csv", "contentBytes": "[Convert]::ToBase64String(...)"}]}}, {},
     [["message", "attachments", 0, "contentBytes"]]),
    ({"message": {"subject": "$x"}}, {"Subject": {"text": "'$x'", "kind": "literal"}}, []),
    ({"message": {"subject": "$x"}}, {"Subject": {"text": "$x", "kind": "expression"}}, [["message", "subject"]]),
    ({"message": {"subject": "$x"}}, {}, [["message", "subject"]]),  # no parameter to compare with: it looks computed
    ({"message": {"subject": "Total: 5"}}, {}, []),
    ("not a request", {}, []),
])
def test_request_expressions(request_json: object, params: object, expected: list[list[object]]) -> None:
    assert request_expressions(request_json, params) == expected
