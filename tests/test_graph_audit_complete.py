"""A complete audit (issue 14 item 5): every way an app can send, every trace of SMTP AUTH, matched per script."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from fakes.fixtures import APP_ID, SECRET, TENANT, cert_files, tenant  # noqa: F401
from fakes.tenant import FakeApp, FakeTenant, SignIn
from scanner.graph.commands import ConnectionOptions, Runtime, audit_command
from scanner.graph.formats import OutputFormat

FIXTURES = Path(__file__).parent / "fixtures" / "graph"
NOW = datetime.now(timezone.utc)
CRM = "b2d4f6a8-0000-4000-8000-00000000c0de"


def audit(fake: FakeTenant, monkeypatch: pytest.MonkeyPatch, *, scan: bool = True, days: int = 30,
          output: OutputFormat = OutputFormat.JSON) -> tuple[int, Any, str]:
    monkeypatch.setenv("SMTP2GRAPH_CLIENT_SECRET", SECRET)
    out, err = io.StringIO(), io.StringIO()
    options = ConnectionOptions(tenant=TENANT, client_id=APP_ID, authority_host=fake.authority_host,
                                graph_url=fake.graph_url)
    code = audit_command(options, scan=FIXTURES / "scan.json" if scan else None, days=days, output=output,
                         runtime=Runtime(stdout=out, stderr=err, sleep=lambda _s: None))
    text = out.getvalue()
    return code, json.loads(text) if output is OutputFormat.JSON and text else text, err.getvalue()


@pytest.fixture
def estate(tenant: FakeTenant) -> FakeTenant:
    tenant.apps[APP_ID].roles = tenant.apps[APP_ID].roles + ("Reports.Read.All",)
    tenant.add_app(FakeApp(CRM, "Legacy CRM mailer", roles=("Mail.Send",), granted="2023-06-01T08:00:00Z"))
    helpdesk = tenant.add_app(FakeApp("d4e6f8a0-0000-4000-8000-0000000decaf", "Helpdesk ticketing",
                                      roles=("User.Read.All",)))
    tenant.delegated_grants = [
        {"clientId": helpdesk.service_principal_id, "consentType": "AllPrincipals", "scope": "User.Read Mail.Send"},
        {"clientId": helpdesk.service_principal_id, "consentType": "Principal", "principalId": "user-42",
         "scope": "Mail.Send.Shared"},
        {"clientId": helpdesk.service_principal_id, "consentType": "AllPrincipals", "scope": "User.Read Calendars.Read"},
    ]
    tenant.sign_ins = [
        SignIn("svc-mail@contoso.com", NOW - timedelta(days=1), "203.0.113.10"),
        SignIn("svc-mail@contoso.com", NOW - timedelta(days=2), "203.0.113.10"),
        *[SignIn("finance@contoso.com", NOW - timedelta(hours=h), "192.0.2.66", error_code=50126) for h in (1, 2, 3)],
        SignIn("scanner@contoso.com", NOW - timedelta(hours=5), "198.51.100.7"),
    ]
    tenant.email_app_usage = [
        {"upn": "svc-mail@contoso.com", "display_name": "Mail service", "smtp": True},
        {"upn": "alerts@contoso.com", "display_name": "Alerts", "smtp": True},
        {"upn": "ceo@contoso.com", "display_name": "CEO", "outlook": True},
    ]
    return tenant


def test_unreadable_principal_marks_only_its_row(estate: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    estate.unreadable_principals.add(estate.apps[CRM].service_principal_id)
    _, doc, _ = audit(estate, monkeypatch)
    section = doc["mail_send_apps"]
    assert section["status"] == "ok" and "1 principal(s) could not be read" in section["message"]
    rows = {r["display_name"]: r for r in section["items"]}
    assert rows["Legacy CRM mailer"]["app_id"] == "" and rows["Legacy CRM mailer"]["note"].startswith(
        "unreadable: 403 Authorization_RequestDenied")
    assert rows["Contoso alerts sender"]["app_id"] == APP_ID and rows["Contoso alerts sender"]["note"] == ""


def test_delegated_mail_send_grants(estate: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    _, doc, _ = audit(estate, monkeypatch)
    section = doc["delegated_mail_send"]
    assert section["status"] == "ok"
    assert [(g["client_display_name"], g["consent_type"], g["principal_id"], g["scope"]) for g in section["items"]] == [
        ("Helpdesk ticketing", "AllPrincipals", "", "Mail.Send"),
        ("Helpdesk ticketing", "Principal", "user-42", "Mail.Send.Shared"),
    ]
    grants = [r for r in estate.graph_requests() if r.path == "/v1.0/oauth2PermissionGrants"]
    assert grants[0].query["$filter"] == [f"resourceId eq '{estate.graph_service_principal_id}'"]
    # The EWS section asks for its own resource's grants (Office 365 Exchange Online), after these.
    assert grants[-1].query["$filter"] == [f"resourceId eq '{estate.exchange_service_principal_id}'"]


def test_delegated_grants_unreadable_is_degraded(estate: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    estate.apps[APP_ID].roles = ("AuditLog.Read.All",)
    _, doc, _ = audit(estate, monkeypatch)
    assert doc["delegated_mail_send"]["status"] == "degraded"
    assert "Directory.Read.All" in doc["delegated_mail_send"]["message"]
    assert doc["smtp_auth_signins"]["status"] == "ok"


def test_exchange_scoping_gives_the_commands(estate: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    _, doc, _ = audit(estate, monkeypatch)
    section = doc["exchange_scoping"]
    assert section["status"] == "commands" and "Graph cannot read" in section["message"]
    commands = section["commands"]
    assert any(c.startswith("Get-ManagementRoleAssignment -RoleAssigneeType ServicePrincipal") for c in commands)
    assert "Get-ApplicationAccessPolicy | Format-Table AppId,PolicyScopeGroupId,AccessRight,Description" in commands
    assert f"Test-ServicePrincipalAuthorization -Identity {CRM} -Resource alerts@contoso.com | Format-Table" in commands


def test_email_app_usage_report(estate: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    _, doc, _ = audit(estate, monkeypatch, days=90)
    section = doc["email_app_usage"]
    assert section["status"] == "ok" and section["message"] == "period D90"
    assert [r["account"] for r in section["items"]] == ["alerts@contoso.com", "svc-mail@contoso.com"]
    report = [r for r in estate.requests if "getEmailAppUsageUserDetail" in r.path]
    assert report and report[0].path.endswith("(period='D90')")
    # The pre-authenticated download URL never sees the token.
    download = [r for r in estate.requests if r.path.startswith("/reports-download/")]
    assert download and "authorization" not in download[0].headers
    assert "sign-in logs cover at most 30 days" in doc["smtp_auth_signins"]["message"]


def test_concealed_user_names_are_said(estate: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    estate.concealed_names = True
    _, doc, _ = audit(estate, monkeypatch)
    assert "user names are CONCEALED by the tenant's privacy setting" in doc["email_app_usage"]["message"]


def test_usage_report_without_permission_is_degraded(estate: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    estate.apps[APP_ID].roles = tuple(r for r in estate.apps[APP_ID].roles if r != "Reports.Read.All")
    _, doc, _ = audit(estate, monkeypatch)
    assert doc["email_app_usage"]["status"] == "degraded" and "Reports.Read.All" in doc["email_app_usage"]["message"]


def test_smtp_auth_switch_commands(estate: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    _, doc, _ = audit(estate, monkeypatch)
    commands = doc["smtp_auth_switches"]["commands"]
    assert "Get-TransportConfig | Format-List SmtpClientAuthenticationDisabled" in commands
    assert "Get-CASMailbox -Identity svc-mail@contoso.com | Format-List SmtpClientAuthenticationDisabled" in commands
    assert any(c.startswith("Get-CASMailbox -ResultSize Unlimited") for c in commands)


def test_correlation_per_script_counts_the_credential_account(estate: FakeTenant,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """nightly-report.ps1 sends From reports@ with credential svc-mail@, which signs in: the script is active."""
    _, doc, _ = audit(estate, monkeypatch)
    scripts = {s["script"]: s for s in doc["correlation"]["scripts"]}
    nightly = scripts["jobs/nightly-report.ps1"]
    assert nightly["accounts"] == ["reports@contoso.com", "svc-mail@contoso.com"]
    assert nightly["state"] == "active" and "svc-mail@contoso.com: 2 successful SMTP AUTH sign-in(s)" in \
        nightly["evidence"]
    # alerts@ never signs in, but the usage report shows it using SMTP.
    assert scripts["alerts/disk-space.ps1"]["state"] == "active"
    assert "SMTP in the email app usage report" in scripts["alerts/disk-space.ps1"]["evidence"]
    silent = [s["account"] for s in doc["correlation"]["silent_senders"]]
    assert silent == ["reports@contoso.com"]


def test_all_failed_sign_ins_are_a_possible_password_spray(estate: FakeTenant,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    _, doc, _ = audit(estate, monkeypatch)
    unscanned = {u["account"]: u for u in doc["correlation"]["unscanned_accounts"]}
    assert unscanned["finance@contoso.com"]["advice"].startswith("possible password spray")
    assert "devices" not in unscanned["finance@contoso.com"]["advice"]
    assert "Set-CASMailbox -Identity finance@contoso.com -SmtpClientAuthenticationDisabled $true" in \
        unscanned["finance@contoso.com"]["advice"]
    assert unscanned["scanner@contoso.com"]["advice"] == "look elsewhere: devices, other repos, apps"


def test_table_prints_commands_whole(estate: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    _, text, _ = audit(estate, monkeypatch, output=OutputFormat.TABLE)
    line = next(line for line in text.splitlines() if "Get-ManagementRoleAssignment" in line)
    assert line.strip().endswith("Format-Table Name,Role,RoleAssignee,CustomResourceScope")
    assert "Delegated Mail.Send grants" in text and "Scanned scripts and their accounts" in text
