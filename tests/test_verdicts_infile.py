"""Verdicts without guessing, inside one file: values followed, the verdict taxonomy, unknown stays visible.

Issue 13 items 2, 5 and 6. The call bindings of the fixtures are checked in test_scan_fixtures.py
(tests/fixtures/scan/verdict_*.expected.json); here the verdicts, fixes and outputs they lead to.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from typer.testing import CliRunner

from scanner.cli import app
from scanner.check import analyze_script
from scanner.ruleconfig import RuleConfig
from scanner.model import Finding, Outcome
from scanner.script import Script

FIXTURES = Path(__file__).parent / "fixtures" / "scan"
SARIF_SCHEMA = Path(__file__).resolve().parent / "data" / "sarif-schema-2.1.0.json"
runner = CliRunner()


def findings_of(text: str, path: str = "s.ps1") -> list[Finding]:
    return [f for f in analyze_script(Script(text, path), RuleConfig()).findings if f.rule.startswith("SMTP")]


def fixture_findings(name: str) -> dict[int, Finding]:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    return {f.location.line: f for f in findings_of(text, name)}


# --------------------------------------------------------------------------- item 2: in-file gaps


def test_quoted_variables_and_param_defaults_through_casts_give_a_verdict_and_a_safe_fix() -> None:
    found = fixture_findings("verdict_quoted_param_defaults.ps1")
    for line in (10, 12):
        finding = found[line]
        assert finding.assessment is not None and finding.assessment.breaks is True, line
        assert finding.sender == "nightly@fabrikam.example"
        assert finding.fix.applicability.value == "safe", finding.fix.reason


def test_a_splat_whose_paths_agree_on_the_server_is_known_and_one_path_alone_is_not() -> None:
    found = fixture_findings("verdict_splat_paths_agree.ps1")
    agreed = found[8]
    assert agreed.assessment is not None and agreed.assessment.breaks is True
    assert agreed.sender == "robot@tailspin.example"
    one_path = found[14]
    assert one_path.assessment is not None and one_path.assessment.breaks is None
    # Two paths that disagree: each is assessed, the worst applies (as configuration rows and SmtpClient
    # objects built on two paths already were), and the verdict names both.
    disagree = found[19]
    assert disagree.assessment is not None and disagree.assessment.breaks is True
    assert "The settings differ by path; the worst applies" in disagree.assessment.verdict
    assert "not affected (relay.tailspin.local)" in disagree.assessment.verdict
    assert disagree.call is not None and disagree.call.params["SmtpServer"].conditional


def test_a_cloned_hashtable_completed_afterwards_is_rebuilt() -> None:
    found = fixture_findings("verdict_clone_then_keys.ps1")
    assert [(line, f.assessment.breaks if f.assessment else None, f.sender) for line, f in sorted(found.items())] == [
        (12, True, "alerts@wingtip.example"),
        (16, True, "digest@wingtip.example"),
    ]


def test_script_scope_using_and_script_prefixes_reach_functions_and_remote_blocks() -> None:
    found = fixture_findings("verdict_scopes.ps1")
    assert found[4].assessment is not None and found[4].assessment.breaks is True
    assert found[4].call is not None and "script scope" in found[4].call.params["SmtpServer"].reason
    # A function parameter shadows the script variable: its value comes from the caller, not from here.
    assert found[9].assessment is not None and found[9].assessment.breaks is None
    assert found[15].assessment is not None and found[15].assessment.breaks is True
    assert found[15].sender == "noc-bot@litware.example"


def test_mailaddress_constructions_give_the_sender() -> None:
    found = fixture_findings("verdict_mailaddress_from.ps1")
    assert [found[line].sender for line in (10, 13, 16)] == ["reports@adatum.example", "billing@adatum.example", "payroll@adatum.example"]


def test_a_value_that_depends_on_the_run_is_not_guessed() -> None:
    text = (
        "$server = Read-Host 'relay'\n"
        'Send-MailMessage -To a@x.example -From b@x.example -Subject s -SmtpServer "$server" -UseSsl -Credential $c\n'
        "$name = 'smtp'\n"
        'Send-MailMessage -To a@x.example -From b@x.example -Subject s -SmtpServer "$name.$(Get-Domain)" -UseSsl -Credential $c\n'
    )
    first, second = findings_of(text)
    assert first.assessment is not None and first.assessment.breaks is None
    assert second.assessment is not None and second.assessment.breaks is None


def test_an_embedded_variable_in_a_host_name_is_expanded() -> None:
    text = "$tenant = 'office365'\nSend-MailMessage -To a@x.example -From b@x.example -Subject s -SmtpServer \"smtp.$tenant.com\" -UseSsl -Credential $c\n"
    (finding,) = findings_of(text)
    assert finding.assessment is not None and finding.assessment.server_text == "smtp.office365.com" and finding.assessment.breaks is True


# --------------------------------------------------------------------------- item 5: taxonomy


def test_outlook_com_consumer_smtp_with_a_password_is_its_own_verdict() -> None:
    text = (
        "Send-MailMessage -To a@x.example -From me@outlook.com -Subject s -SmtpServer smtp-mail.outlook.com -Port 587 -UseSsl -Credential $c\n"
        "Send-MailMessage -To a@x.example -From me@hotmail.com -Subject s -SmtpServer 'smtp.live.com' -UseSsl -Credential $c\n"
    )
    for finding in findings_of(text):
        assessment = finding.assessment
        assert assessment is not None
        assert assessment.outcome is Outcome.CONSUMER_BASIC_AUTH and assessment.breaks is True
        assert "September 2024" in assessment.verdict and "app-only Graph" in assessment.verdict
        assert "app password" in assessment.migration and "device-code" in assessment.migration
        assert "not affected" not in finding.message
        assert finding.fix.applicability.value != "safe"


def test_high_volume_email_with_an_oauth_token_is_not_basic_auth() -> None:
    text = (
        "$client = New-Object MailKit.Net.Smtp.SmtpClient\n"
        "$client.Connect('smtp-hve.office365.com', 587, [MailKit.Security.SecureSocketOptions]::StartTls)\n"
        "$oauth = New-Object MailKit.Security.SaslMechanismOAuth2('hve@x.example', $token)\n"
        "$client.Authenticate($oauth)\n"
        "$client.Send($message)\n"
        "Send-EmailMessage -To a@x.example -From hve@x.example -Subject s -Server smtp-hve.office365.com -Credential $tokenCred -oAuth2\n"
        "Send-EmailMessage -To a@x.example -From hve@x.example -Subject s -Server smtp-hve.office365.com -Credential $cred\n"
    )
    mailkit, oauth_cmdlet, basic_cmdlet = [f for f in findings_of(text) if f.call is not None and f.call.sent]
    for finding in (mailkit, oauth_cmdlet):
        assert finding.assessment is not None and finding.assessment.breaks is False
        assert "OAuth 2.0" in finding.assessment.verdict and "September 2028" in finding.assessment.verdict
        assert finding.assessment.outcome is Outcome.NOT_AFFECTED
    assert basic_cmdlet.assessment is not None and basic_cmdlet.assessment.outcome is Outcome.HVE_UNTIL_2028


def test_mailozaurr_send_emailmessage_with_a_password_is_smtp_auth_and_its_password_is_a_secret() -> None:
    text = (
        "Send-EmailMessage -To ops@x.example -From bot@x.example -Subject s -Server smtp.office365.com -Port 587 "
        "-Username bot@x.example -Password 'Winter-Orchid-42'\n"
        "Send-EmailMessage -To ops@x.example -From bot@x.example -Subject s -Server smtp.office365.com -Credential $botCred\n"
    )
    analysis = analyze_script(Script(text, "m.ps1"), RuleConfig())
    smtp = [f for f in analysis.findings if f.rule == "SMTP003"]
    assert [f.assessment.breaks if f.assessment else None for f in smtp] == [True, True]
    assert all("SMTP AUTH basic" in f.message for f in smtp)
    assert any(f.rule == "SEC002" or f.rule.startswith("SEC") for f in analysis.findings)
    for finding in analysis.findings:
        blob = json.dumps([finding.message, finding.snippet, finding.context_lines, {k: v.text for k, v in (finding.call.params.items() if finding.call else [])}])
        assert "Winter-Orchid-42" not in blob


def test_password_only_apis_to_exchange_online_break_whatever_the_credential_is() -> None:
    text = "$p = Get-MailSettings\nSend-MailMessage @p -To a@x.example -From b@x.example -Subject s -SmtpServer smtp.office365.com\n"
    (finding,) = findings_of(text)
    assert finding.assessment is not None and finding.assessment.breaks is True
    assert "only log on with a password" in finding.assessment.verdict


# --------------------------------------------------------------------------- item 6: unknown stays visible

UNKNOWN = "Send-MailMessage -To a@x.example -From b@x.example -Subject s -SmtpServer $env:MAILHOST -Credential $cred\n"


def test_a_send_without_a_password_to_an_unknown_server_is_not_affected() -> None:
    """A relay is not affected, and Exchange Online without SMTP AUTH fails already: the retirement changes
    nothing, whichever server it is (issue 21): never "may break", and no fix to migrate it."""
    for text in ("Send-MailMessage -To a@x.example -From b@x.example -Subject s -SmtpServer $env:MAILHOST\n",
                 "Send-MailMessage -To a@x.example -From b@x.example -Subject s -SmtpServer $env:MAILHOST -UseSsl\n"):
        (finding,) = findings_of(text)
        assert finding.assessment is not None and finding.assessment.breaks is False, text
        assert not finding.may_break and finding.assessment.outcome is Outcome.NOT_AFFECTED
        assert "the retirement changes nothing" in finding.assessment.verdict
        assert not finding.fix.available


def test_an_unknown_verdict_is_at_least_medium_and_says_what_would_decide_it() -> None:
    (finding,) = findings_of(UNKNOWN)
    assert finding.assessment is not None and finding.assessment.breaks is None
    assert finding.assessment.outcome is Outcome.UNKNOWN and finding.may_break
    assert finding.severity.rank >= 2  # medium: never counted as fine
    (undecided,) = finding.assessment.undecided
    assert undecided.parameter == "SmtpServer" and undecided.written == "$env:MAILHOST"
    assert undecided.declare == '[assume] "$env:MAILHOST" = "smtp.office365.com"'


def _scan(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["scan", *args, "--no-cache", "--jobs", "1"])
    return result.exit_code, result.stdout


def test_unknown_counts_as_may_break_in_json_sarif_fail_on_and_exit_code(tmp_path: Path) -> None:
    script = tmp_path / "unknown.ps1"
    script.write_text(UNKNOWN)
    code, out = _scan(str(script), "-f", "json")
    assert code == 1
    (finding,) = json.loads(out)["findings"]
    assessment = finding["assessment"]
    assert assessment["breaks"] is None and assessment["verdict_unknown"] is True
    assert assessment["may_break"] is True and assessment["outcome"] == "unknown"
    assert assessment["undecided"][0]["declare"].startswith("[assume]")
    # --fail-on high: an unknown verdict counts as if it broke.
    assert _scan(str(script), "--fail-on", "high")[0] == 1
    assert _scan(str(script), "--fail-on", "critical")[0] == 0
    assert _scan(str(script), "--fail-on", "may-break")[0] == 1
    sarif = tmp_path / "out.sarif"
    _scan(str(script), "-f", "sarif", "-o", str(sarif))
    document = json.loads(sarif.read_text())
    jsonschema.validate(document, json.loads(SARIF_SCHEMA.read_text()))
    (result,) = document["runs"][0]["results"]
    assert result["level"] in ("warning", "error")
    assert result["properties"]["may-break"] is True and result["properties"]["verdict"] == "unknown"


def test_fail_on_may_break_ignores_calls_that_keep_working(tmp_path: Path) -> None:
    relay = tmp_path / "relay.ps1"
    relay.write_text("Send-MailMessage -To a@x.example -From b@x.example -Subject s -SmtpServer relay.corp.local\n")
    assert _scan(str(relay))[0] == 1  # a low finding still fails the default --fail-on low
    assert _scan(str(relay), "--fail-on", "may-break")[0] == 0
    _, out = _scan(str(relay), "-f", "json")
    (finding,) = json.loads(out)["findings"]
    assert finding["assessment"]["may_break"] is False and finding["assessment"]["outcome"] == "not-affected"


# --------------------------------------------------------------------------- keys of a table the script writes


def test_keys_of_a_settings_table_written_in_the_script_decide_the_verdict() -> None:
    """`$Settings = @{ Mail = @{ Server = … } }` then `-SmtpServer $Settings.Mail.Server` (or `['Mail']['Server']`,
    or a [pscustomobject]): the key's value, followed through a variable; an edit on some path leaves it
    undecided, and a nested key set after the literal is not the written one."""
    text = (
        "$relay = 'smtp.office365.com'\n"
        "$Settings = @{ Mail = @{ Server = $relay; From = 'reports@fabrikam.com' }; Port = 587 }\n"
        "$cred = Import-Clixml \"$PSScriptRoot\\mail.xml\"\n"
        "Send-MailMessage -SmtpServer $Settings.Mail.Server -Port $Settings.Port -From $Settings['Mail']['From'] -To 'it@fabrikam.com' -Subject 'Daily' -UseSsl -Credential $cred\n"
        "$Job = [PSCustomObject]@{ Host = 'smtp.office365.com' }\n"
        "Send-MailMessage -SmtpServer $Job.Host -From 'reports@fabrikam.com' -To 'it@fabrikam.com' -Subject 'Job' -UseSsl -Credential $cred\n"
        "$Edited = @{ Server = 'relay.fabrikam.local' }\n"
        "if ($env:USE_CLOUD) { $Edited.Server = 'smtp.office365.com' }\n"
        "Send-MailMessage -SmtpServer $Edited.Server -From 'reports@fabrikam.com' -To 'it@fabrikam.com' -Subject 'Edited' -UseSsl -Credential $cred\n"
        "$Settings.Mail.From = $env:MAIL_FROM\n"
        "Send-MailMessage -SmtpServer $Settings.Mail.Server -From $Settings.Mail.From -To 'it@fabrikam.com' -Subject 'Later' -UseSsl -Credential $cred\n"
    )
    found = {f.location.line: f for f in findings_of(text)}
    daily, job, edited, later = found[4], found[6], found[9], found[11]
    assert daily.assessment is not None and daily.assessment.breaks is True
    assert (daily.call.params["Port"].value, daily.sender) == (587, "reports@fabrikam.com")
    assert "$Settings.Mail.Server" in daily.call.params["SmtpServer"].reason
    assert job.assessment is not None and job.assessment.breaks is True
    assert edited.assessment is not None and edited.assessment.breaks is None  # relay or Exchange Online: depends on the run
    assert later.assessment is not None and later.assessment.breaks is None and later.sender is None


def test_a_variable_set_from_its_own_member_is_no_table(tmp_path: Path) -> None:
    # `$days = $days.Days`: following `$days` meets `$days.Days` again; the scan must not recurse on it.
    (tmp_path / "expiry.ps1").write_text(
        "$days = New-TimeSpan -Start (Get-Date) -End $expires\n"
        "$days = $days.Days\n"
        "$subject = \"Your password expires in $days days\"\n"
        "$client = New-Object Net.Mail.SmtpClient('smtp.office365.com', 587)\n"
        "$client.EnableSsl = $true\n"
        "$client.Credentials = New-Object System.Net.NetworkCredential('it@fabrikam.com', $pw)\n"
        "$client.Send('it@fabrikam.com', $to, $subject, $days.Days)\n"
    )
    result = runner.invoke(app, ["scan", str(tmp_path), "-f", "json", "--no-cache", "--jobs", "1", "--exit-zero"])
    data = json.loads(result.stdout)
    assert data["errors"] == []
    assert [(f["rule"], f["assessment"]["breaks"]) for f in data["findings"]] == [("SMTP002", True)]


def test_an_if_or_switch_written_as_a_value_gives_the_value_every_branch_agrees_on() -> None:
    """`$server = if (…) { 'x' } else { 'x' }` and `switch (…) { … default { 'x' } }` decide the value when
    every path gives the same constant, as the statement form does; without an else or a default one
    path gives $null (undecided); branches that give different constants are each assessed, the worst
    applies."""
    text = (
        "$a = if ($env:STAGE -eq 'test') { 'smtp.office365.com' } elseif ($late) { \"smtp.office365.com\" } else { 'smtp.office365.com' }\n"
        "Send-MailMessage -SmtpServer $a -From 'x@fabrikam.com' -To 'y@fabrikam.com' -Subject 'a' -UseSsl -Credential $cred\n"
        "$b = switch ($env:STAGE) {\n    'prod' { 'smtp.office365.com' }\n    default { 'smtp.office365.com' }\n}\n"
        "Send-MailMessage -SmtpServer $b -From 'x@fabrikam.com' -To 'y@fabrikam.com' -Subject 'b' -UseSsl -Credential $cred\n"
        "$c = if ($env:STAGE) { 'smtp.office365.com' }\n"
        "Send-MailMessage -SmtpServer $c -From 'x@fabrikam.com' -To 'y@fabrikam.com' -Subject 'c' -UseSsl -Credential $cred\n"
        "$d = if ($env:STAGE) { 'relay.fabrikam.local' } else { 'smtp.office365.com' }\n"
        "Send-MailMessage -SmtpServer $d -From 'x@fabrikam.com' -To 'y@fabrikam.com' -Subject 'd' -UseSsl -Credential $cred\n"
        "$e = switch ($env:STAGE) { 'prod' { 'smtp.office365.com' } }\n"
        "Send-MailMessage -SmtpServer $e -From 'x@fabrikam.com' -To 'y@fabrikam.com' -Subject 'e' -UseSsl -Credential $cred\n"
    )
    found = {f.location.line: f for f in findings_of(text)}
    verdicts = {line: f.assessment.breaks if f.assessment else "?" for line, f in found.items()}
    assert verdicts == {2: True, 7: True, 9: None, 11: True, 13: None}
    assert "the same value in every branch (3)" in found[2].call.params["SmtpServer"].reason
    assert found[11].assessment is not None and "branch 1 (line 10): not affected (relay.fabrikam.local)" in found[11].assessment.verdict
