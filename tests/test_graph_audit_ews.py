"""`smtp2graph audit`, the EWS side (issue 24, item 4), against the fake tenant.

The fake's Office 365 Exchange Online service principal gives its app roles and scopes made-up ids:
the audit finds full_access_as_app, SMTP.SendAsApp and EWS.AccessAsUser.All by value, so it cannot
be hard-coding Microsoft's ids.
"""

from __future__ import annotations

import io
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from fakes.fixtures import APP_ID, SECRET, TENANT, cert_files, tenant  # noqa: F401
from fakes.tenant import EXCHANGE_APP_ID, FakeApp, FakeTenant, exchange_role_id
from scanner.cli import app
from scanner.graph.commands import ConnectionOptions, Runtime, audit_command
from scanner.graph.formats import OutputFormat

EWS_FIXTURES = Path(__file__).parent / "fixtures" / "ews"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
PAYROLL = "5e0c1a8f-2b7d-4c36-9a41-0f3e8d6b7c21"  # the app id managed_autodiscover_oauth.ps1 names
ARCHIVER = "a1b2c3d4-0000-4000-8000-0000000000e5"
MAILER = "a1b2c3d4-0000-4000-8000-00000000051a"
OUTLOOK_ADDIN = "a1b2c3d4-0000-4000-8000-0000000000de"


def populate(fake: FakeTenant) -> None:
    fake.add_app(FakeApp(PAYROLL, "Payroll notifier", roles=(), exchange_roles=("full_access_as_app",), granted="2024-02-01T10:00:00Z"))
    fake.add_app(FakeApp(ARCHIVER, "Mailbox archiver", roles=(), exchange_roles=("full_access_as_app", "Exchange.ManageAsApp")))
    fake.add_app(FakeApp(MAILER, "Printer SMTP OAuth", roles=(), exchange_roles=("SMTP.SendAsApp",)))
    fake.add_app(FakeApp("a1b2c3d4-0000-4000-8000-0000000000aa", "Exchange admin tool", roles=(), exchange_roles=("Exchange.ManageAsApp",)))
    addin = fake.add_app(FakeApp(OUTLOOK_ADDIN, "Old Outlook add-in", roles=()))
    fake.delegated_grants = [
        {"clientId": addin.service_principal_id, "consentType": "AllPrincipals", "scope": "EWS.AccessAsUser.All SMTP.Send", "resource": "exchange"},
        {"clientId": addin.service_principal_id, "consentType": "Principal", "principalId": "user-7", "scope": "IMAP.AccessAsUser.All", "resource": "exchange"},
        {"clientId": addin.service_principal_id, "consentType": "AllPrincipals", "scope": "Mail.Send"},  # on Graph: the Graph section's
    ]


def scan_json(tmp_path: Path) -> Path:
    tree = tmp_path / "scripts"
    tree.mkdir()
    for name in ("managed_autodiscover_oauth.ps1", "managed_exo_password.ps1"):
        (tree / name).write_bytes((EWS_FIXTURES / name).read_bytes())
    (tree / "other-app.ps1").write_text(
        "$token = Get-MsalToken -ClientId 'ffffffff-1111-4222-8333-444444444444' -TenantId contoso.onmicrosoft.com\n"
        "$svc = New-Object Microsoft.Exchange.WebServices.Data.ExchangeService\n"
        "$svc.Url = 'https://outlook.office365.com/EWS/Exchange.asmx'\n"
        "$svc.Credentials = New-Object Microsoft.Exchange.WebServices.Data.OAuthCredentials($token.AccessToken)\n"
        "$found = $svc.FindItems('Inbox', $view)\n", encoding="utf-8")
    out = tmp_path / "scan.json"
    result = CliRunner().invoke(app, ["scan", str(tree), "-f", "json", "-o", str(out), "--no-cache", "--jobs", "1", "--exit-zero"])
    assert result.exit_code == 0, result.stderr
    return out


def run(fake: FakeTenant, monkeypatch: pytest.MonkeyPatch, scan: Path | None = None, output: OutputFormat = OutputFormat.JSON) -> tuple[int, Any]:
    monkeypatch.setenv("SMTP2GRAPH_CLIENT_SECRET", SECRET)
    out, err = io.StringIO(), io.StringIO()
    options = ConnectionOptions(tenant=TENANT, client_id=APP_ID, authority_host=fake.authority_host, graph_url=fake.graph_url)
    code = audit_command(options, scan=scan, days=30, output=output, runtime=Runtime(stdout=out, stderr=err, sleep=lambda _s: None, now=lambda: NOW))
    text = out.getvalue()
    return code, json.loads(text) if output is OutputFormat.JSON else text


def test_apps_with_ews_and_smtp_oauth_permissions_resolved_by_value(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    populate(tenant)
    tenant.page_size = 2  # the Exchange Online assignments come in three pages
    code, document = run(tenant, monkeypatch)
    assert code == 0
    section = document["ews_apps"]
    assert section["status"] == "ok"
    rows = [(a["display_name"], a["app_id"], a["permission"], a["kind"]) for a in section["items"]]
    assert rows == [
        ("Mailbox archiver", ARCHIVER, "full_access_as_app", "application"),
        ("Old Outlook add-in", OUTLOOK_ADDIN, "EWS.AccessAsUser.All", "delegated"),
        ("Payroll notifier", PAYROLL, "full_access_as_app", "application"),
        ("Printer SMTP OAuth", MAILER, "SMTP.SendAsApp", "application"),
    ]
    payroll = section["items"][2]
    assert payroll["granted"] == "2024-02-01T10:00:00Z" and payroll["service_principal_id"] == tenant.apps[PAYROLL].service_principal_id
    requests = tenant.graph_requests()
    resource = [r for r in requests if r.path == f"/v1.0/servicePrincipals(appId='{EXCHANGE_APP_ID}')"]
    assert resource and "appRoles" in resource[0].query["$select"][0] and "oauth2PermissionScopes" in resource[0].query["$select"][0]
    pages = [r for r in requests if r.path == f"/v1.0/servicePrincipals(appId='{EXCHANGE_APP_ID}')/appRoleAssignedTo"]
    assert len(pages) == 3  # 6 assignments, 2 per page, followed through @odata.nextLink
    grants = [r for r in requests if r.path == "/v1.0/oauth2PermissionGrants"]
    assert grants[-1].query["$filter"] == [f"resourceId eq '{tenant.exchange_service_principal_id}'"]
    assert exchange_role_id("full_access_as_app") != "dc890d15-9560-4a4c-9b7f-a736ec74ec40"  # not Microsoft's id


def test_ews_switch_commands_name_the_properties_and_the_scanned_mailboxes(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    populate(tenant)
    _, document = run(tenant, monkeypatch, scan=scan_json(tmp_path))
    switches = document["ews_switches"]
    assert switches["status"] == "commands" and "1 April 2027" in switches["message"]
    commands = switches["commands"]
    assert "Get-OrganizationConfig | Format-List EwsEnabled,EwsApplicationAccessPolicy,EwsAllowList,EwsBlockList" in commands
    assert any(c.startswith("Get-CASMailbox -ResultSize Unlimited") and "EwsEnabled" in c for c in commands)
    assert "Get-CASMailbox -Identity payroll@contoso.com | Format-List EwsEnabled,EwsApplicationAccessPolicy,EwsAllowList,EwsBlockList" in commands
    assert any("capacity@contoso.com" in c for c in commands)


def test_scripts_are_matched_with_the_app_they_name(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    populate(tenant)
    _, document = run(tenant, monkeypatch, scan=scan_json(tmp_path))
    rows = {r["script"]: r for r in document["ews_correlation"]["items"]}
    assert rows["managed_autodiscover_oauth.ps1"]["app_id"] == PAYROLL and rows["managed_autodiscover_oauth.ps1"]["state"] == "permitted"
    assert rows["other-app.ps1"]["state"] == "no-ews-permission"
    assert rows["managed_exo_password.ps1"]["state"] == "unnamed"
    payroll = next(a for a in document["ews_apps"]["items"] if a["app_id"] == PAYROLL)
    assert payroll["scripts"] == ["managed_autodiscover_oauth.ps1"]


def test_missing_permission_degrades_only_the_ews_section(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    populate(tenant)
    tenant.apps[APP_ID].roles = ("Mail.Send", "AuditLog.Read.All")  # no Application.Read.All / Directory.Read.All
    code, document = run(tenant, monkeypatch)
    assert code == 0
    assert document["ews_apps"]["status"] == "degraded" and "Application.Read.All" in document["ews_apps"]["message"]
    assert document["ews_switches"]["status"] == "commands"
    assert document["smtp_auth_signins"]["status"] == "ok"


def test_text_output_shows_the_ews_sections(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    populate(tenant)
    _, text = run(tenant, monkeypatch, scan=scan_json(tmp_path), output=OutputFormat.TABLE)
    assert "Apps holding EWS or SMTP OAuth permissions" in text and "Payroll notifier" in text
    assert "Get-OrganizationConfig | Format-List EwsEnabled" in text
    assert "Scanned EWS scripts and their apps" in text and "other-app.ps1" in text
