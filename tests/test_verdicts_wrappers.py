"""Wrappers (issue 13, item 3): a function that wraps Send-MailMessage / SmtpClient and takes the
server or sender as a parameter gets its values from each call site; each call site gets its own
verdict, and the fix stays in the wrapper body (migrated once).

tests/fixtures/scan/wrappertree: modules/Notify.psm1 defines the wrappers, tasks/*.ps1 call them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from scanner.cli import app
from scanner.analysis.functions import function_parameters
from scanner.script import Script

TREE = Path(__file__).parent / "fixtures" / "scan" / "wrappertree"
runner = CliRunner()


@pytest.fixture(scope="module")
def findings() -> list[dict[str, Any]]:
    result = runner.invoke(app, ["scan", str(TREE), "-f", "json", "--no-cache", "--jobs", "1"])
    return [f for f in json.loads(result.stdout)["findings"] if f["rule"].startswith("SMTP")]


def _at(findings: list[dict[str, Any]], path: str, line: int) -> dict[str, Any]:
    (found,) = [f for f in findings if f["path"] == path and f["line"] == line]
    return found


def test_each_call_site_gets_its_own_verdict_from_the_values_it_passes(findings: list[dict[str, Any]]) -> None:
    office = _at(findings, "tasks/Rotate-Logs.ps1", 2)
    assert office["call"]["form"] == "wrapper-call-site"
    assert office["assessment"]["breaks"] is True and office["assessment"]["server_text"] == "smtp.office365.com"
    assert office["sender"] == "ops-robot@proseware.example"  # the wrapper's default, not passed here
    server = office["call"]["params"]["SmtpServer"]
    assert server["provenance"] == "call-site" and "passed as -Relay to Send-OpsNotice at tasks/Rotate-Logs.ps1:2" in server["reason"]
    internal = _at(findings, "tasks/Rotate-Logs.ps1", 4)
    assert internal["assessment"]["breaks"] is False and internal["sender"] == "rotate@proseware.example"
    positional = _at(findings, "tasks/Check-Disks.ps1", 2)
    assert positional["assessment"]["breaks"] is True and positional["sender"] == "disks@proseware.example"
    environment = _at(findings, "tasks/Check-Disks.ps1", 3)
    assert environment["assessment"]["breaks"] is None and environment["assessment"]["undecided"][0]["written"] == "$env:OPS_RELAY"
    # -Account is not passed at Rotate-Logs.ps1:4 and has no default: -Credential $Account is $null there.
    assert internal["assessment"]["credential"] == "none"
    assert any("-Account is not passed to Send-OpsNotice" in note for note in internal["call"]["notes"])
    assert office["assessment"]["credential"] != "none"  # passed: -Account $svc


def test_smtpclient_wrappers_with_header_parameters(findings: list[dict[str, Any]]) -> None:
    site = _at(findings, "tasks/Check-Disks.ps1", 4)
    assert site["rule"] == "SMTP002" and site["assessment"]["breaks"] is True
    assert site["sender"] == "disks-client@proseware.example"


def test_the_wrapper_body_keeps_the_one_fix_and_points_at_its_callers(findings: list[dict[str, Any]]) -> None:
    body = _at(findings, "modules/Notify.psm1", 9)
    assert body["call"]["form"] != "wrapper-call-site"
    assert body["assessment"]["breaks"] is None  # whoever calls it from outside the tree decides
    assert {(r["path"], r["line"]) for r in body["related_locations"] if r["role"] == "call-site"} >= {
        ("tasks/Rotate-Logs.ps1", 2), ("tasks/Rotate-Logs.ps1", 4), ("tasks/Check-Disks.ps1", 2), ("tasks/Check-Disks.ps1", 3)
    }
    for site in (f for f in findings if f["call"]["form"] == "wrapper-call-site"):
        assert site["fix"]["applicability"] == "display-only" and "fixed once in the wrapper" in site["fix"]["reason"]
        assert any(r["role"] == "wrapper" and r["path"] == "modules/Notify.psm1" for r in site["related_locations"])
    prints = [f["fingerprint"] for f in findings]
    assert len(prints) == len(set(prints))


def test_call_site_findings_survive_the_cache(tmp_path: Path) -> None:
    args = ["scan", str(TREE), "-f", "json", "--jobs", "1", "--cache-dir", str(tmp_path / "cache")]
    first = runner.invoke(app, args).stdout
    second = runner.invoke(app, args).stdout
    strip = lambda out: sorted((f["path"], f["line"], f["assessment"]["breaks"]) for f in json.loads(out)["findings"])  # noqa: E731
    assert strip(first) == strip(second)
    assert ("tasks/Check-Disks.ps1", 2, True) in strip(second)


def test_function_parameters_in_declaration_order() -> None:
    script = Script(
        "function A { param([Parameter(Mandatory=$true)][string]$Relay, [string]$From = $env:X, [switch]$Html) }\n"
        "function B($Server, [int]$Port = 25) { }\n",
        "f.ps1",
    )
    a, b = script.structure.functions
    assert function_parameters(script, a) == ["Relay", "From", "Html"]
    assert function_parameters(script, b) == ["Server", "Port"]


def test_a_caller_links_to_the_nearest_definition_and_ties_are_not_guessed() -> None:
    from scanner.estate.wrappers import WrapperDef, _nearest_definition

    here = WrapperDef("Send-X", "repo-a/lib/mail.psm1", 1, 0, 10)
    there = WrapperDef("Send-X", "repo-b/lib/mail.psm1", 1, 0, 10)
    twin = WrapperDef("Send-X", "repo-a/lib/other.psm1", 1, 0, 10)
    assert _nearest_definition("repo-a/jobs/a.ps1", [here, there]) is here
    assert _nearest_definition("repo-b/x.ps1", [here, there]) is there
    assert _nearest_definition("repo-a/jobs/a.ps1", [here, twin]) is None
    assert _nearest_definition("repo-a/lib/other.psm1", [here, twin]) is twin
    assert _nearest_definition("anything.ps1", [there]) is there


def test_a_call_that_passes_none_of_the_values_has_no_finding_of_its_own(tmp_path: Path) -> None:
    (tmp_path / "lib.psm1").write_text(
        "function Send-Note([string]$Server = 'smtp.office365.com', [string]$Text) {\n"
        "    Send-MailMessage -To a@x.example -From b@x.example -Subject $Text -SmtpServer $Server -UseSsl -Credential $c\n}\n"
    )
    (tmp_path / "job.ps1").write_text("Send-Note -Text 'hello'\nSend-Note -Server 'relay.x.local' -Text 'there'\n")
    result = runner.invoke(app, ["scan", str(tmp_path), "-f", "json", "--no-cache", "--jobs", "1"])
    found = {(f["path"], f["line"]): f for f in json.loads(result.stdout)["findings"]}
    assert ("job.ps1", 1) not in found  # the wrapper's own finding (its default server) stands for it
    assert found[("lib.psm1", 2)]["assessment"]["breaks"] is True
    assert found[("job.ps1", 2)]["assessment"]["breaks"] is False


def test_a_wrapper_called_in_its_own_file(tmp_path: Path) -> None:
    (tmp_path / "one.ps1").write_text(
        "function Send-Status([string]$Server, [string]$Who) {\n"
        "    Send-MailMessage -To 'a@x.example' -From $Who -Subject 'status' -SmtpServer $Server -UseSsl -Credential $c\n}\n"
        "Send-Status -Server 'smtp.office365.com' -Who 'me@x.example'\n"
        "Send-Status 'relay.x.local' 'you@x.example'\n"
    )
    result = runner.invoke(app, ["scan", str(tmp_path), "-f", "json", "--no-cache", "--jobs", "1"])
    found = {f["line"]: f for f in json.loads(result.stdout)["findings"]}
    assert found[2]["assessment"]["breaks"] is None
    assert (found[4]["assessment"]["breaks"], found[4]["sender"]) == (True, "me@x.example")
    assert (found[5]["assessment"]["breaks"], found[5]["sender"]) == (False, "you@x.example")


def test_a_wrapper_that_hands_its_arguments_on_with_args(tmp_path: Path) -> None:
    # `Send-MailMessage @args` in a function without parameters: each caller's arguments, named or
    # positional, are the call's own, and what a caller does not pass the call does not get.
    (tmp_path / "Relay.psm1").write_text("function Send-TeamMail {\n    # all arguments go through\n    Send-MailMessage @args\n}\n")
    (tmp_path / "jobs.ps1").write_text(
        "$cred = Get-Credential\n"
        "Send-TeamMail -To 'ops@x.example' -From 'jobs@x.example' -Subject 'Nightly' -SmtpServer 'smtp.office365.com' -Port 587 -UseSsl -Credential $cred\n"
        "Send-TeamMail 'ops@x.example' 'Weekly' 'body text' 'relay.x.local' -From 'weekly@x.example'\n"
        "Send-TeamMail -To 'ops@x.example' -From 'plain@x.example' -Subject 'No login' -SmtpServer 'smtp.office365.com'\n"
    )
    result = runner.invoke(app, ["scan", str(tmp_path), "-f", "json", "--no-cache", "--jobs", "1"])
    found = {(f["path"], f["line"]): f for f in json.loads(result.stdout)["findings"] if f["rule"] == "SMTP001"}
    assert found[("Relay.psm1", 3)]["assessment"]["breaks"] is None  # on its own the wrapper decides nothing
    named, positional, bare = found[("jobs.ps1", 2)], found[("jobs.ps1", 3)], found[("jobs.ps1", 4)]
    assert named["call"]["form"] == "wrapper-call-site"
    assert (named["assessment"]["breaks"], named["sender"]) == (True, "jobs@x.example")
    assert (positional["assessment"]["server_text"], positional["assessment"]["breaks"]) == ("relay.x.local", False)
    assert positional["sender"] == "weekly@x.example"
    # No credential through @args: what the scan says of any Exchange Online send without one.
    assert bare["assessment"]["credential"] == "default-windows-logon" and "fails already" in bare["assessment"]["verdict"]
    assert any("@args does not hold it" in note for note in bare["call"]["notes"])


def test_an_advanced_function_does_not_hand_on_undeclared_arguments(tmp_path: Path) -> None:
    # [CmdletBinding()] refuses an argument it does not declare: its @args is empty, the callers decide nothing.
    (tmp_path / "Strict.psm1").write_text("function Send-Strict {\n    [CmdletBinding()] param()\n    Send-MailMessage @args\n}\n")
    (tmp_path / "job.ps1").write_text("Send-Strict -SmtpServer 'smtp.office365.com' -To 'a@x.example' -From 'b@x.example' -Subject 's'\n")
    result = runner.invoke(app, ["scan", str(tmp_path), "-f", "json", "--no-cache", "--jobs", "1"])
    paths = {f["path"] for f in json.loads(result.stdout)["findings"]}
    assert "job.ps1" not in paths and "Strict.psm1" in paths
