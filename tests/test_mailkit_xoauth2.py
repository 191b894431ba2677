"""Keep MailKit, drop the password (issue 24): a MailKit SmtpClient that logs on to Exchange Online with a password
gets, beside the Graph snippets, a display-only alternative that keeps MailKit and authenticates with an app-only
OAuth 2.0 token (XOAUTH2), with the admin setup it needs. Nothing else gets it, and it never carries the script's secret.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from scanner.assess import assess
from scanner.check import calls_in_text
from scanner.cli import app
from scanner.migrate.safety import fix_info
from scanner.migrate.syntax import parse_problems
from scanner.migrate.xoauth2 import KEY, LABEL

FIXTURES = Path(__file__).parent / "fixtures" / "xoauth2"
PASSWORD = "Qu3ue-Watch-Fixture-9731"  # the literal password of the fixtures: it must never come out


def scan_json(path: Path) -> tuple[dict, str]:
    """The scanner's own JSON report for one file, and its text."""
    run = subprocess.run([sys.executable, "-m", "scanner", "scan", str(path), "--format", "json"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode in (0, 1), run.stderr
    return json.loads(run.stdout), run.stdout


def call_findings(document: dict) -> list[dict]:
    return [f for f in document["findings"] if f.get("call")]


def snippet_of(text: str) -> dict[str, str] | None:
    (call,) = calls_in_text(text, "watchdog.ps1", False)
    return fix_info(call, assess(call)).snippet


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def test_a_mailkit_password_logon_to_exchange_online_gets_the_alternative_with_the_admin_setup() -> None:
    document, raw = scan_json(FIXTURES / "print-queue-password.ps1")
    (finding,) = call_findings(document)
    assert finding["rule"] == "SMTP003"
    snippet = finding["fix"]["snippet"]
    # Additive: the Graph snippets are still there, first, and unchanged in name.
    assert list(snippet) == ["invoke_restmethod", "send_mgusermail", KEY]
    alternative = snippet[KEY]
    assert alternative.startswith(f"# {LABEL}")
    assert "display-only" in alternative.splitlines()[0]
    # The setup an administrator must do, each step as Microsoft documents it.
    for step in (
        "Office 365 Exchange Online > Application permissions > SMTP.SendAsApp",
        "Grant admin consent",
        "New-ServicePrincipal -AppId <application (client) id> -ObjectId <enterprise application object id>",
        "Enterprise applications page, not on",
        "Add-MailboxPermission -Identity <mailbox> -User <service principal id> -AccessRights FullAccess",
        "Set-CASMailbox -Identity <mailbox> -SmtpClientAuthenticationDisabled $false",
    ):
        assert step in alternative, step
    # The token: client credentials for the Exchange Online resource, the secret from the environment.
    assert "grant_type    = 'client_credentials'" in alternative
    assert "scope         = 'https://outlook.office365.com/.default'" in alternative
    assert "'https://login.microsoftonline.com/' + $env:SMTP_OAUTH_TENANT_ID + '/oauth2/v2.0/token'" in alternative
    assert "client_secret = $env:SMTP_OAUTH_CLIENT_SECRET" in alternative
    # The script's own client, message and mailbox, on the documented endpoint.
    assert "$smtpMailbox = 'printwatch@fabrikam.com'" in alternative
    assert "$mailer.Connect('smtp.office365.com', 587, [MailKit.Security.SecureSocketOptions]::StartTls)" in alternative
    assert "$mailer.Authenticate([MailKit.Security.SaslMechanismOAuth2]::new($smtpMailbox, $tokenResponse.access_token))" in alternative
    assert "$mailer.Send($note)" in alternative
    # Display-only: the finding's fix stays a hand edit.
    assert finding["fix"]["applicability"] == "display-only" and not finding["fix"]["available"]
    assert PASSWORD not in raw  # nowhere in the report, snippets included
    assert parse_problems(alternative) == []


@pytest.mark.parametrize("name", ["print-queue-oauth.ps1", "print-queue-send-mailmessage.ps1"])
def test_a_call_already_on_xoauth2_and_a_send_mailmessage_call_get_no_alternative(name: str) -> None:
    document, raw = scan_json(FIXTURES / name)
    findings = call_findings(document)
    assert findings
    for finding in findings:
        snippet = finding["fix"].get("snippet") or {}
        assert KEY not in snippet
        assert "SaslMechanismOAuth2]::new($smtpMailbox" not in raw
    if name == "print-queue-send-mailmessage.ps1":
        (finding,) = findings
        assert set(finding["fix"]["snippet"]) == {"invoke_restmethod", "send_mgusermail"}
        assert PASSWORD not in raw


@pytest.mark.parametrize(
    ("authenticate", "server", "offered"),
    [
        ("$mailer.Authenticate('printwatch@fabrikam.com', $secret)", "smtp.office365.com", True),
        ("$mailer.Authenticate($account, $secret)", "smtp.office365.com", True),
        ("$mailer.Authenticate($credential)", "smtp.office365.com", True),  # a NetworkCredential
        ("$mailer.Authenticate('printwatch@fabrikam.com', $secret)", "mail.fabrikam.local", False),  # not Exchange Online
        ("$mailer.Authenticate('printwatch@fabrikam.com', $secret)", "smtp-hve.office365.com", False),  # HVE: not this setup
        ("$mailer.Authenticate('printwatch@fabrikam.com', $secret)", "smtp.office365.us", False),  # another cloud's endpoints
        ("$mailer.Authenticate($oauth)", "smtp.office365.com", False),  # $oauth is a SaslMechanismOAuth2 (below)
        ("", "smtp.office365.com", False),  # no logon at all
    ],
)
def test_only_a_mailkit_password_logon_to_exchange_online_is_offered(authenticate: str, server: str, offered: bool) -> None:
    text = (
        "$oauth = [MailKit.Security.SaslMechanismOAuth2]::new('printwatch@fabrikam.com', $accessToken)\n"
        "$mailer = New-Object MailKit.Net.Smtp.SmtpClient\n"
        f"$mailer.Connect('{server}', 587, [MailKit.Security.SecureSocketOptions]::StartTls)\n"
        f"{authenticate}\n"
        "$mailer.Send($note)\n"
    )
    snippet = snippet_of(text)
    assert snippet is not None
    assert (KEY in snippet) is offered


def test_the_mailbox_is_the_logon_name_only_when_it_is_an_address_or_a_variable() -> None:
    base = ("$mailer = New-Object MailKit.Net.Smtp.SmtpClient\n"
            "$mailer.Connect('smtp.office365.com', 587, [MailKit.Security.SecureSocketOptions]::StartTls)\n"
            "{auth}\n$mailer.Send($note)\n")
    by_variable = snippet_of(base.format(auth="$mailer.Authenticate($account, $secret)"))
    assert by_variable is not None and "$smtpMailbox = $account  #" in by_variable[KEY]
    # A down-level logon name is not a mailbox address: a placeholder, not the script's text.
    by_domain = snippet_of(base.format(auth=f"$mailer.Authenticate('FABRIKAM\\printwatch', '{PASSWORD}')"))
    assert by_domain is not None
    assert "$smtpMailbox = '<mailbox@contoso.com>'" in by_domain[KEY]
    assert "FABRIKAM" not in by_domain[KEY] and PASSWORD not in by_domain[KEY]
    # Text that would end the quotes it is written back in (PowerShell also ends them at a typographic quote) is not copied.
    hostile = snippet_of(base.format(auth="$mailer.Authenticate('ops\u2019;Stop-Computer;\u2018@fabrikam.com', $secret)"))
    assert hostile is not None and "Stop-Computer" not in hostile[KEY]
    # A credential object: nothing of it is copied.
    by_credential = snippet_of(base.format(auth="$mailer.Authenticate($credential)"))
    assert by_credential is not None and "$smtpMailbox = '<mailbox@contoso.com>'" in by_credential[KEY]


def test_the_snippet_command_prints_the_alternative_on_request_and_points_to_it_by_default() -> None:
    location = f"{FIXTURES / 'print-queue-password.ps1'}:11"
    chosen = invoke("snippet", location, "--flavour", "mailkit-xoauth2")
    assert chosen.exit_code == 0, chosen.stderr
    assert chosen.stdout.startswith(f"# {LABEL}")
    assert "Invoke-RestMethod @sendParams" not in chosen.stdout  # not the Graph flavours
    assert PASSWORD not in chosen.stdout
    assert parse_problems(chosen.stdout) == []
    default = invoke("snippet", location)
    assert default.exit_code == 0, default.stderr
    assert "SaslMechanismOAuth2" not in default.stdout  # `both` stays the two Graph flavours
    assert "--flavour mailkit-xoauth2" in default.stderr
    refused = invoke("snippet", f"{FIXTURES / 'print-queue-oauth.ps1'}:11", "--flavour", "mailkit-xoauth2")
    assert refused.exit_code == 2
    assert "offered only for a MailKit SmtpClient that logs on to smtp.office365.com with a password" in refused.stderr
    assert "Traceback" not in refused.stderr + refused.stdout


@pytest.mark.pwsh
def test_the_snippet_parses_with_powershell_and_authenticates_with_the_token() -> None:
    """PowerShell's own parser accepts it, and run against stand-ins (MailKit's types, the token endpoint) it asks for
    a client-credentials token for Exchange Online and hands MailKit the mailbox and that token, not a password."""
    from scanner.powershell import parse_scripts, run_pwsh

    alternative = snippet_of((FIXTURES / "print-queue-password.ps1").read_text(encoding="utf-8"))[KEY]  # type: ignore[index]
    (shape,) = parse_scripts([alternative])
    assert shape.errors == ()
    stand_ins = (
        "Add-Type -TypeDefinition 'namespace MailKit.Security { public enum SecureSocketOptions { None, Auto, SslOnConnect, "
        "StartTls, StartTlsWhenAvailable } public class SaslMechanismOAuth2 { public string User; public string Token; "
        "public SaslMechanismOAuth2(string user, string token) { User = user; Token = token; } } }'\n"
        "$global:log = [System.Collections.Generic.List[string]]::new()\n"
        "function Invoke-RestMethod { param($Method, $Uri, $ContentType, $Body) "
        "$global:log.Add(\"token $Method $Uri $ContentType $($Body.grant_type) $($Body.scope) $($Body.client_id) $($Body.client_secret)\"); "
        "[pscustomobject]@{ access_token = 'eyJ-test-token' } }\n"
        "$mailer = [pscustomobject]@{}\n"
        "$mailer | Add-Member ScriptMethod Connect { param($h, $p, $o) $global:log.Add(\"connect $h $p $o\") }\n"
        "$mailer | Add-Member ScriptMethod Authenticate { param($m) $global:log.Add(\"auth $($m.GetType().Name) $($m.User) $($m.Token)\") }\n"
        "$mailer | Add-Member ScriptMethod Send { param($m) $global:log.Add(\"send $m\") }\n"
        "$mailer | Add-Member ScriptMethod Disconnect { param($q) $global:log.Add('disconnect') }\n"
        "$note = 'the note'\n"
        "$env:SMTP_OAUTH_TENANT_ID = 'fabrikam.onmicrosoft.com'\n"
        "$env:SMTP_OAUTH_CLIENT_ID = '11111111-2222-3333-4444-555555555555'\n"
        "$env:SMTP_OAUTH_CLIENT_SECRET = 'from-the-environment'\n"
    )
    run = run_pwsh(stand_ins + alternative + "$global:log -join \"`n\"\n", timeout=60)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().splitlines() == [
        "token Post https://login.microsoftonline.com/fabrikam.onmicrosoft.com/oauth2/v2.0/token "
        "application/x-www-form-urlencoded client_credentials https://outlook.office365.com/.default "
        "11111111-2222-3333-4444-555555555555 from-the-environment",
        "connect smtp.office365.com 587 StartTls",
        "auth SaslMechanismOAuth2 printwatch@fabrikam.com eyJ-test-token",
        "send the note",
        "disconnect",
    ]
    # Without the environment it stops before asking for a token, and says what to set.
    missing = run_pwsh(stand_ins + "$env:SMTP_OAUTH_CLIENT_SECRET = $null\n" + alternative, timeout=60)
    assert missing.returncode != 0
    assert "Set the environment variable SMTP_OAUTH_CLIENT_SECRET first." in missing.stderr + missing.stdout
