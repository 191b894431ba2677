"""An SmtpClient handed to a function of the same file that sends with it (oracle finding P11).

`function Send-Status { param($Client, $Message) $Client.Send($Message) }` called with a client
and a message used to be reported as "a mail client is configured but nothing in this file sends
with it": a missed send. The fixtures in tests/fixtures/scan/clientparam pass the client by name
and by position, through the four-string overload, and from two callers whose clients differ.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from scanner.cli import app

TREE = Path(__file__).parent / "fixtures" / "scan" / "clientparam"
runner = CliRunner()


@pytest.fixture(scope="module")
def findings() -> dict[str, list[dict[str, Any]]]:
    result = runner.invoke(app, ["scan", str(TREE), "--jobs", "1", "-f", "json", "--no-cache"])
    by_path: dict[str, list[dict[str, Any]]] = {}
    for finding in json.loads(result.stdout)["findings"]:
        if finding["rule"].startswith("SMTP"):
            by_path.setdefault(finding["path"], []).append(finding)
    return by_path


def _body_send(findings: dict[str, list[dict[str, Any]]], path: str) -> dict[str, Any]:
    (send,) = [f for f in findings[path] if f["call"]["form"] != "wrapper-call-site"]
    return send


def test_a_client_passed_by_name_is_sent_inside_the_function(findings: dict[str, list[dict[str, Any]]]) -> None:
    send = _body_send(findings, "Send-Nightly.ps1")
    assert send["call"]["sent"] is True and send["call"]["form"] == "method"
    assert send["line"] == 8 and send["call"]["command"] == "$Transport.Send"  # where the send is written
    assert send["assessment"]["breaks"] is True and send["assessment"]["server"] == "exchange-online-submission"
    assert send["sender"] == "nightly@tailspin.example"
    assert send["call"]["params"]["Subject"]["text"] == "'Nightly index rebuild'"  # the caller's message
    assert send["fix"]["applicability"] == "safe"
    assert "passed to Invoke-Delivery as -Transport (line 21)" in send["call"]["notes"][0]
    assert not any("nothing in this file sends" in f["fix"]["reason"] for f in findings["Send-Nightly.ps1"])


def test_a_client_passed_by_position_to_a_relay_keeps_working(findings: dict[str, list[dict[str, Any]]]) -> None:
    send = _body_send(findings, "Send-LocalRelay.ps1")
    assert send["call"]["sent"] is True and send["line"] == 3
    assert send["assessment"]["breaks"] is False and send["assessment"]["server_text"] == "mailhub.tailspin.local"
    assert send["sender"] == "printers@tailspin.example"
    assert send["fix"]["applicability"] == "display-only" and send["fix"]["reason"].startswith("no change needed")


def test_the_four_string_overload_takes_the_sender_from_the_call_site(findings: dict[str, list[dict[str, Any]]]) -> None:
    send = _body_send(findings, "Send-Strings.ps1")
    assert send["assessment"]["breaks"] is True and send["sender"] == "brief@tailspin.example"
    assert "passed as -Sender 'brief@tailspin.example' to Send-Brief at line 8" in send["call"]["params"]["From"]["reason"]


def test_callers_with_different_clients_get_the_worst_verdict_and_no_safe_fix(findings: dict[str, list[dict[str, Any]]]) -> None:
    send = _body_send(findings, "Send-TwoWays.ps1")
    assessment = send["assessment"]
    assert assessment["breaks"] is True and assessment["server"] == "exchange-online-submission"
    verdict = assessment["verdict"]
    assert "called at line 12 with $cloud: breaks (smtp.office365.com)" in verdict
    assert "called at line 13 with $hub: not affected (mailhub.tailspin.local)" in verdict
    server = send["call"]["params"]["SmtpServer"]
    assert server["kind"] == "unresolved"
    assert "line 12: 'smtp.office365.com'; line 13: 'mailhub.tailspin.local'" in server["reason"]
    assert send["fix"]["applicability"] == "unsafe" and "differ on SmtpServer" in send["fix"]["reason"]


def test_a_caller_passing_an_unknown_client_makes_the_other_callers_fix_unsafe(tmp_path: Path) -> None:
    (tmp_path / "job.ps1").write_text(
        "function Send-It($c, $m) { $c.Send($m) }\n"
        "$o = New-Object Net.Mail.SmtpClient('smtp.office365.com', 587)\n$o.EnableSsl = $true\n$o.Credentials = $k\n"
        "$mail = New-Object Net.Mail.MailMessage('a@tailspin.example', 'b@tailspin.example', 's', 'b')\n"
        "Send-It $o $mail\nSend-It $clientFromElsewhere $mail\n"
    )
    result = runner.invoke(app, ["scan", str(tmp_path), "--jobs", "1", "-f", "json", "--no-cache"])
    (send,) = [f for f in json.loads(result.stdout)["findings"] if f["rule"].startswith("SMTP")]
    assert send["assessment"]["breaks"] is True  # the known caller breaks
    assert "called at line 7 with $clientFromElsewhere: cannot tell" in send["assessment"]["verdict"]
    assert "$clientFromElsewhere is not a client built in this file" in send["call"]["params"]["SmtpServer"]["reason"]
    assert send["fix"]["applicability"] == "unsafe"


def test_fix_patches_the_send_inside_the_function(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(TREE, tree)
    result = runner.invoke(app, ["fix", str(tree / "Send-Nightly.ps1"), "--judge", "tree-sitter"])
    assert result.exit_code in (0, 1), result.output  # 1: a preview with fixes to apply
    assert "-    $Transport.Send($Letter)" in result.stdout
    assert "+    Send-GraphMailMessage -MailMessage $Letter" in result.stdout
    assert "Invoke-Delivery -Transport $relay -Letter $note" in (tree / "Send-Nightly.ps1").read_text()  # preview only


def test_a_client_passed_to_a_function_that_does_not_send_stays_unsent(tmp_path: Path) -> None:
    (tmp_path / "job.ps1").write_text(
        "function Set-Timeout($c) { $c.Timeout = 5000 }\n"
        "$o = New-Object Net.Mail.SmtpClient('smtp.office365.com', 587)\nSet-Timeout -c $o\n"
    )
    result = runner.invoke(app, ["scan", str(tmp_path), "--jobs", "1", "-f", "json", "--no-cache"])
    (only,) = json.loads(result.stdout)["findings"]
    assert only["call"]["form"] == "client-without-send" and only["call"]["sent"] is False


def test_a_send_written_with_braced_variables_is_found(tmp_path: Path) -> None:
    # `${client}.Send( ${message} )`: the braced variable syntax some generators write (a missed send before).
    (tmp_path / "job.ps1").write_text(
        "$_client = New-Object Net.Mail.SmtpClient\n$_client.Host = 'smtp.office365.com'\n$_client.EnableSsl = $true\n"
        "$_client.Credentials = $k\n$_note = New-Object Net.Mail.MailMessage\n$_note.From = 'ops@tailspin.example'\n"
        "try {\n    ${_client}.Send( ${_note} )\n} finally {\n    ${_client}.Dispose()\n}\n"
    )
    result = runner.invoke(app, ["scan", str(tmp_path), "--jobs", "1", "-f", "json", "--no-cache"])
    (send,) = json.loads(result.stdout)["findings"]
    assert send["call"]["sent"] is True and send["line"] == 8
    assert send["assessment"]["breaks"] is True and send["sender"] == "ops@tailspin.example"
    assert send["fix"]["applicability"] == "safe"


def test_a_client_returned_by_a_function_is_sent_by_the_caller(findings: dict[str, list[dict[str, Any]]]) -> None:
    (send,) = findings["Send-Built.ps1"]  # no "configured but never sent" client inside the builder any more
    assert send["call"]["sent"] is True and send["line"] == 10 and send["call"]["command"] == "$sender.Send"
    assert send["assessment"]["breaks"] is True and send["assessment"]["server"] == "exchange-online-submission"
    assert send["sender"] == "inventory@tailspin.example"
    assert send["fix"]["applicability"] == "safe"
    assert "built by New-TenantMailer (line 2), which returns $mailer" in send["call"]["notes"][0]


def test_a_returned_client_takes_the_builders_parameters_from_the_call_and_later_settings(findings: dict[str, list[dict[str, Any]]]) -> None:
    (send,) = findings["Send-BuiltFor.ps1"]
    server = send["call"]["params"]["SmtpServer"]
    assert server["text"] == "'mailhub.tailspin.local'" and "passed as -Hub" in server["reason"]
    assert send["assessment"]["breaks"] is False and send["assessment"]["credential"] == "default-windows-logon"
    assert send["sender"] == "scanner@tailspin.example"


def test_a_client_handed_to_a_command_defined_elsewhere_says_where_the_send_may_be(tmp_path: Path) -> None:
    (tmp_path / "job.ps1").write_text(
        ". \"$PSScriptRoot\\lib.ps1\"\n$o = New-Object Net.Mail.SmtpClient('smtp.office365.com', 587)\n$o.Credentials = $k\n"
        "Write-Verbose \"client: $o\"\nInvoke-Notify -Client $o -Body 'x'\n"
    )
    result = runner.invoke(app, ["scan", str(tmp_path), "--jobs", "1", "-f", "json", "--no-cache"])
    (only,) = json.loads(result.stdout)["findings"]
    assert only["call"]["sent"] is False
    (handed,) = only["call"]["notes"][1:]
    assert handed.startswith("the client is passed to Invoke-Notify (line 5), which is not defined in this file")


def test_a_function_with_a_fallback_client_of_its_own_reports_one_send_with_both_paths(tmp_path: Path) -> None:
    (tmp_path / "job.ps1").write_text(
        "function Send-Status {\n    param($Client, $Message)\n"
        "    if (-not $Client) { $Client = New-Object System.Net.Mail.SmtpClient('relay.tailspin.local') }\n"
        "    $Client.Send($Message)\n}\n"
        "$smtp = New-Object System.Net.Mail.SmtpClient('smtp.office365.com', 587)\n$smtp.Credentials = $k\n"
        "$msg = New-Object System.Net.Mail.MailMessage('a@tailspin.example', 'b@tailspin.example', 's', 'x')\n"
        "Send-Status -Client $smtp -Message $msg\n"
    )
    result = runner.invoke(app, ["scan", str(tmp_path), "--jobs", "1", "-f", "json", "--no-cache"])
    (send,) = json.loads(result.stdout)["findings"]  # one send, not one per client
    assert send["line"] == 4 and send["assessment"]["breaks"] is True
    assert "Send-Status's own client (line 3): not affected (relay.tailspin.local)" in send["assessment"]["verdict"]
    assert send["fix"]["applicability"] == "unsafe"
