"""`smtp2graph audit` against the fake tenant: Mail.Send apps, SMTP AUTH sign-ins, correlation, degraded sections."""

from __future__ import annotations

import io
import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fakes.fixtures import APP_ID, SECRET, TENANT, cert_files, tenant  # noqa: F401
from fakes.tenant import FakeApp, FakeTenant, SignIn
from scanner import __version__
from scanner.cli import app
from scanner.graph.audit import MAIL_SEND_ROLE_ID
from scanner.graph.commands import ConnectionOptions, Runtime, audit_command
from scanner.graph.formats import OutputFormat

FIXTURES = Path(__file__).parent / "fixtures" / "graph"
NOW = datetime(2026, 11, 26, 15, 0, tzinfo=timezone.utc)


def populate(fake: FakeTenant) -> None:
    """Two more apps (one with Mail.Send), other role assignments, and a month of sign-ins."""
    fake.add_app(FakeApp("b2d4f6a8-0000-4000-8000-00000000c0de", "Legacy CRM mailer", roles=("Mail.Send",),
                         granted="2023-06-01T08:00:00Z"))
    fake.add_app(FakeApp("c3e5a7b9-0000-4000-8000-00000000beef", "HR directory sync", roles=("User.Read.All",)))
    fake.sign_ins = [
        SignIn("svc-mail@contoso.com", NOW - timedelta(days=1), "203.0.113.10"),
        SignIn("svc-mail@contoso.com", NOW - timedelta(days=2), "203.0.113.11"),
        SignIn("svc-mail@contoso.com", NOW - timedelta(days=3), "203.0.113.10", error_code=50126),
        SignIn("scanner@contoso.com", NOW - timedelta(hours=5), "198.51.100.7"),
        SignIn("reports@contoso.com", NOW - timedelta(days=40), "203.0.113.12"),  # outside the 30-day window
        SignIn("svc-mail@contoso.com", NOW - timedelta(days=1), "203.0.113.10", client_app_used="Browser"),
    ]


def run(fake: FakeTenant, monkeypatch: pytest.MonkeyPatch, *, scan: Path | None = None, days: int = 30,
        output: OutputFormat = OutputFormat.JSON) -> tuple[int, str, str]:
    monkeypatch.setenv("SMTP2GRAPH_CLIENT_SECRET", SECRET)
    out, err = io.StringIO(), io.StringIO()
    options = ConnectionOptions(tenant=TENANT, client_id=APP_ID, authority_host=fake.authority_host,
                                graph_url=fake.graph_url)
    code = audit_command(options, scan=scan, days=days, output=output,
                         runtime=Runtime(stdout=out, stderr=err, sleep=lambda _s: None, now=lambda: NOW))
    return code, out.getvalue(), err.getvalue()


def test_mail_send_apps_and_signins(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    populate(tenant)
    code, out, _ = run(tenant, monkeypatch)
    assert code == 0
    document = json.loads(out)
    apps = document["mail_send_apps"]
    assert apps["status"] == "ok" and apps["message"] == ""
    assert [(a["display_name"], a["app_id"]) for a in apps["items"]] == [
        ("Contoso alerts sender", APP_ID),
        ("Legacy CRM mailer", "b2d4f6a8-0000-4000-8000-00000000c0de"),
    ]
    crm = apps["items"][1]
    assert crm["granted"] == "2023-06-01T08:00:00Z"
    assert crm["service_principal_id"] == tenant.apps["b2d4f6a8-0000-4000-8000-00000000c0de"].service_principal_id
    signins = document["smtp_auth_signins"]
    assert signins["status"] == "ok"
    by_account = {i["account"]: i for i in signins["items"]}
    assert set(by_account) == {"svc-mail@contoso.com", "scanner@contoso.com"}
    svc = by_account["svc-mail@contoso.com"]
    assert (svc["count"], svc["success"], svc["failure"]) == (3, 2, 1)
    assert svc["last_seen"] == "2026-11-25T15:00:00Z"
    assert svc["client_ips"] == ["203.0.113.10", "203.0.113.11"]
    assert document["correlation"] is None


def test_audit_queries_filter_and_page(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    populate(tenant)
    tenant.page_size = 2
    run(tenant, monkeypatch)
    signin_pages = [r for r in tenant.graph_requests() if r.path == "/v1.0/auditLogs/signIns"]
    assert len(signin_pages) == 2  # 4 matching rows, 2 per page
    assert signin_pages[0].query["$filter"] == [
        "clientAppUsed eq 'Authenticated SMTP' and createdDateTime ge 2026-10-27T15:00:00Z"]
    assignment_pages = [r for r in tenant.graph_requests() if r.path.endswith("/appRoleAssignedTo") and "00000003-" in r.path]
    assert len(assignment_pages) == 3  # 6 assignments (4 + 1 + 1), 2 per page


def test_correlation_with_scan(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    populate(tenant)
    code, out, _ = run(tenant, monkeypatch, scan=FIXTURES / "scan.json")
    assert code == 0
    correlation = json.loads(out)["correlation"]
    assert correlation["status"] == "ok"
    assert correlation["unscanned_accounts"] == [
        {"account": "scanner@contoso.com", "count": 1, "advice": "look elsewhere: devices, other repos, apps"}]
    assert correlation["silent_senders"] == [
        {"account": "alerts@contoso.com", "scripts": ["alerts/disk-space.ps1"],
         "advice": "relay, dead script, or other path"},
        {"account": "reports@contoso.com", "scripts": ["jobs/nightly-report.ps1"],
         "advice": "relay, dead script, or other path"},
    ]


def test_without_audit_log_permission(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    populate(tenant)
    tenant.apps[APP_ID].roles = ("Mail.Send", "Application.Read.All")
    code, out, _ = run(tenant, monkeypatch, scan=FIXTURES / "scan.json")
    assert code == 0
    document = json.loads(out)
    assert document["mail_send_apps"]["status"] == "ok"
    signins = document["smtp_auth_signins"]
    assert signins["status"] == "degraded" and signins["items"] == []
    assert "AuditLog.Read.All" in signins["message"]
    assert document["correlation"]["status"] == "degraded"


def test_without_application_read_permission(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    populate(tenant)
    tenant.apps[APP_ID].roles = ("Mail.Send", "AuditLog.Read.All")
    code, out, _ = run(tenant, monkeypatch)
    assert code == 0
    document = json.loads(out)
    apps = document["mail_send_apps"]
    assert apps["status"] == "degraded" and "Application.Read.All" in apps["message"] and apps["items"] == []
    assert document["smtp_auth_signins"]["status"] == "ok"


def test_without_entra_id_p1(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    populate(tenant)
    tenant.licence_p1 = False
    code, out, err = run(tenant, monkeypatch, output=OutputFormat.TABLE)
    assert code == 0
    assert "Entra ID P1" in out
    assert "Legacy CRM mailer" in out
    assert "Traceback" not in err


def test_audit_json_contract(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    populate(tenant)
    _, out, _ = run(tenant, monkeypatch, scan=FIXTURES / "scan.json", days=7)
    document = json.loads(out)
    assert set(document) == {"schema_version", "kind", "tool", "tenant", "cloud", "generated_at", "days", "notes",
                             "mail_send_apps", "delegated_mail_send", "exchange_scoping", "smtp_auth_signins",
                             "email_app_usage", "smtp_auth_switches", "correlation",
                             "ews_apps", "ews_switches", "ews_correlation"}  # issue 24: the EWS sections
    assert (document["schema_version"], document["kind"], document["days"]) == (2, "audit", 7)
    assert document["tool"] == {"name": "smtp2graph", "version": __version__}
    assert document["generated_at"] == "2026-11-26T15:00:00Z" and document["tenant"] == TENANT
    for section in ("mail_send_apps", "smtp_auth_signins", "delegated_mail_send", "email_app_usage"):
        assert {"status", "message", "items"} <= set(document[section])
    assert set(document["mail_send_apps"]["items"][0]) == {"display_name", "app_id", "service_principal_id", "granted",
                                                          "note"}
    assert set(document["smtp_auth_signins"]["items"][0]) == {"account", "count", "success", "failure", "last_seen",
                                                             "client_ips"}
    assert set(document["correlation"]) == {"status", "message", "unscanned_accounts", "silent_senders", "scripts"}


def test_role_filter_is_client_side_on_the_mail_send_role_id(tenant: FakeTenant,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    tenant.extra_assignments.append({
        "id": "x", "appRoleId": "00000000-0000-0000-0000-000000000000", "createdDateTime": "2024-01-01T00:00:00Z",
        "principalDisplayName": "Default access", "principalId": "nope", "principalType": "ServicePrincipal",
        "resourceDisplayName": "Microsoft Graph", "resourceId": "r",
    })
    _, out, _ = run(tenant, monkeypatch)
    names = [a["display_name"] for a in json.loads(out)["mail_send_apps"]["items"]]
    assert names == ["Contoso alerts sender"]
    assert MAIL_SEND_ROLE_ID == "b633e1c5-b582-4048-a93e-9f11b44c7e96"


def test_days_out_of_range(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run(tenant, monkeypatch, days=200)
    assert code == 2 and out == "" and "--days 200" in err
    assert tenant.requests == []


def test_cli_audit_writes_output_file(tenant: FakeTenant, cert_files: object, tmp_path: Path) -> None:
    populate(tenant)
    target = tmp_path / "audit.json"
    result = CliRunner().invoke(app, [
        "audit", "--tenant", TENANT, "--client-id", APP_ID, "--certificate", str(cert_files.pem),  # type: ignore[attr-defined]
        "--scan", str(FIXTURES / "scan.json"), "--days", "30", "--format", "json", "-o", str(target),
        "--authority-host", tenant.authority_host, "--graph-url", tenant.graph_url,
    ])
    assert result.exit_code == 0, result.output
    document = json.loads(target.read_text())
    assert document["kind"] == "audit" and document["correlation"]["unscanned_accounts"][0]["account"] == "scanner@contoso.com"


def test_docs_demo_runs_against_the_fake(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The example in docs/verify-audit.md comes from fakes.demo; keep it producing the same verdicts."""
    from fakes import demo

    monkeypatch.delenv("SMTP2GRAPH_CLIENT_SECRET", raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    # demo.main() points REQUESTS_CA_BUNDLE at its own CA; registering it here restores it afterwards.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", os.environ.get("REQUESTS_CA_BUNDLE", ""))
    demo.main()
    out = capsys.readouterr().out
    runs = [block.split("\n", 1) for block in out.split("$ smtp2graph ")[1:]]
    codes = [(head.split()[0], next(l for l in body.splitlines() if l.startswith("(exit code"))) for head, body in runs]
    assert codes == [("verify", "(exit code 0)"), ("verify", "(exit code 3)"), ("verify", "(exit code 3)"),
                     ("audit", "(exit code 0)"), ("verify", "(exit code 1)"), ("audit", "(exit code 0)")]
    assert "no Mail.Send role in the token: expected for an app scoped with RBAC for Applications" in out
    assert "OK denied" in out and "INCONCLUSIVE denied" in out and "FAIL not-scoped" in out
    assert "propagation window" in out and "the token is" in out and "delegated" in out
    assert "Legacy CRM mailer" in out and "look elsewhere" in out and "relay, dead script" in out
    assert "possible password spray" in out and "Helpdesk ticketing" in out and "Scanned scripts" in out
