"""verify through the production path (issue 10 item 6) and the dry-run plan (issue 15 item 6).

`--through module` test-sends with Send-GraphMailMessage of the generated Smtp2Graph module in a real
pwsh, configured with the SMTP2GRAPH_* settings the kit documents, against the fake tenant (pwsh trusts
the fake's CA through SSL_CERT_FILE, which the `tenant` fixture sets for child processes too).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from fakes.fixtures import APP_ID, PFX_PASSPHRASE, SECRET, TENANT, CertFiles, cert_files, scope_with_rbac, tenant  # noqa: F401
from fakes.tenant import FakeTenant
from scanner.graph.commands import ConnectionOptions, Runtime, verify_command
from scanner.graph.formats import OutputFormat

FIXTURES = Path(__file__).parent / "fixtures" / "graph"


def verify(fake: FakeTenant, monkeypatch: pytest.MonkeyPatch, *, senders: list[str] | None = None,
           expect_denied: list[str] | None = None, through: str = "module", module: Path | None = None,
           certificate: Path | None = None, device_code: bool = False, senders_from: Path | None = None,
           include_relay: bool = False, dry_run: bool = False,
           output: OutputFormat = OutputFormat.JSON) -> tuple[int, Any, str]:
    if certificate is None and not device_code:
        monkeypatch.setenv("SMTP2GRAPH_CLIENT_SECRET", SECRET)
    out, err = io.StringIO(), io.StringIO()
    options = ConnectionOptions(tenant=TENANT, client_id=APP_ID, authority_host=fake.authority_host,
                                graph_url=fake.graph_url, certificate=certificate, device_code=device_code)
    code = verify_command(options, senders=senders or [], senders_from=senders_from, to="me@contoso.com",
                          expect_denied=expect_denied or [], dry_run=dry_run, output=output, through=through,
                          module=module, include_relay=include_relay,
                          runtime=Runtime(stdout=out, stderr=err, sleep=lambda _s: None))
    text = out.getvalue()
    return code, json.loads(text) if output is OutputFormat.JSON and text else text, err.getvalue()


def by_sender(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["sender"]: r for r in document["results"]}


@pytest.mark.pwsh
def test_module_path_proves_the_scope(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    scope_with_rbac(tenant)
    code, doc, err = verify(tenant, monkeypatch, senders=["alerts@contoso.com", "ghost@contoso.com"],
                            expect_denied=["ceo@contoso.com"])
    assert code == 1, err
    assert doc["send_path"] == "smtp2graph-module"
    results = by_sender(doc)
    assert (results["alerts@contoso.com"]["outcome"], results["alerts@contoso.com"]["verdict"]) == ("accepted", "pass")
    assert (results["ghost@contoso.com"]["outcome"], results["ghost@contoso.com"]["status"]) == ("unknown-sender", 404)
    assert (results["ceo@contoso.com"]["status"], results["ceo@contoso.com"]["verdict"]) == (403, "pass")
    # The sends came from PowerShell (the module), with the module's own token request.
    sends = [r for r in tenant.graph_requests() if r.path.endswith("/sendMail")]
    assert len(sends) == 3 and all("PowerShell" in r.headers.get("user-agent", "") for r in sends)
    module_token = [r for r in tenant.token_requests() if "PowerShell" in r.headers.get("user-agent", "")]
    assert module_token and module_token[0].form()["client_secret"] == SECRET
    assert tenant.sent[0]["mailbox"] == "alerts@contoso.com" and tenant.sent[0]["saveToSentItems"] is False
    assert tenant.sent[0]["message"]["subject"] == "[smtp2graph test] Graph sendMail check for alerts@contoso.com"
    assert SECRET not in json.dumps(doc) + err


@pytest.mark.pwsh
def test_module_from_a_kit_folder_with_a_pfx(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                             cert_files: CertFiles) -> None:
    from scanner.migrate.commands import run_kit

    scope_with_rbac(tenant)
    kit = tmp_path / "kit"
    assert run_kit(kit, None) == 0
    monkeypatch.setenv("SMTP2GRAPH_CERTIFICATE_PASSPHRASE", PFX_PASSPHRASE)
    code, doc, err = verify(tenant, monkeypatch, senders=["alerts@contoso.com"], module=kit,
                            certificate=cert_files.pfx)
    assert code == 0, err
    assert by_sender(doc)["alerts@contoso.com"]["outcome"] == "accepted"
    assertion = [r.form() for r in tenant.token_requests() if "PowerShell" in r.headers.get("user-agent", "")]
    assert assertion and "client_assertion" in assertion[0] and "client_secret" not in assertion[0]


@pytest.mark.pwsh
def test_module_without_permission_is_judged_like_the_client(tenant: FakeTenant,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    tenant.apps[APP_ID].roles = ("User.Read.All",)
    tenant.apps[APP_ID].allowed_mailboxes = None
    code, doc, _ = verify(tenant, monkeypatch, expect_denied=["ceo@contoso.com"])
    assert code == 3 and by_sender(doc)["ceo@contoso.com"]["verdict"] == "inconclusive"


@pytest.mark.pwsh
@pytest.mark.parametrize("kwargs,message", [
    ({"device_code": True}, "--device-code cannot verify through it"),
    ({"module": Path("/nonexistent-kit")}, "no Smtp2Graph.psd1 here"),
    ({"certificate": "pem"}, "the module reads a .pfx"),
])
def test_module_usage_errors_are_one_line(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch,
                                          cert_files: CertFiles, kwargs: dict[str, Any], message: str) -> None:
    tenant.apps[APP_ID].public_client = True
    if kwargs.get("certificate") == "pem":
        kwargs = {"certificate": cert_files.pem}
    code, _, err = verify(tenant, monkeypatch, senders=["alerts@contoso.com"], **kwargs)
    assert code == 2 and message in err and "Traceback" not in err
    assert tenant.sent == []
    if "module" not in kwargs:
        # Refused before any sign-in: no token was requested, no device code shown.
        assert tenant.token_requests() == [] and "devicelogin" not in err


# ---- verify --dry-run: the plan first -----------------------------------------------------------------


def test_dry_run_plan_table_then_requests(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    code, text, err = verify(tenant, monkeypatch, senders=["alerts@contoso.com"], expect_denied=["ceo@contoso.com"],
                             through="graph", dry_run=True, output=OutputFormat.TABLE)
    assert code == 0 and tenant.requests == []
    lines = text.splitlines()
    assert "the plan (nothing is sent)" in lines[0]
    header = next(i for i, line in enumerate(lines) if "Sender" in line and "Purpose" in line and "Request" in line)
    alerts = next(i for i, line in enumerate(lines) if "alerts@contoso.com" in line and "send" in line)
    ceo = next(i for i, line in enumerate(lines) if "ceo@contoso.com" in line and "expect-denied" in line)
    first_request = next(i for i, line in enumerate(lines) if line.startswith("POST "))
    assert header < alerts < ceo < first_request
    assert f"POST {tenant.graph_url}/users/alerts@contoso.com/sendMail" in lines[first_request]
    assert "Authorization: Bearer ***" in text and "nothing sent" in err


def test_dry_run_relay_only_senders_are_not_test_sent(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    scan = FIXTURES / "scan-relay.json"
    code, plan, _ = verify(tenant, monkeypatch, senders_from=scan, through="graph", dry_run=True)
    assert code == 0
    # alerts@ also sends through smtp.office365.com in another script, so it is tested.
    assert [p["sender"] for p in plan["plan"]] == ["alerts@contoso.com", "reports@contoso.com"]
    skipped = {s["sender"]: s["reason"] for s in plan["skipped"]}
    assert set(skipped) == {"erp@contoso.com", "printer@contoso.com"}
    assert "direct send" in skipped["printer@contoso.com"] and "--include-relay" in skipped["printer@contoso.com"]
    code, plan, _ = verify(tenant, monkeypatch, senders_from=scan, through="graph", dry_run=True, include_relay=True)
    assert len(plan["plan"]) == 4 and plan["skipped"] == []
    # Named with --from, a relay-only sender is tested: the user asked.
    code, plan, _ = verify(tenant, monkeypatch, senders=["printer@contoso.com"], senders_from=scan, through="graph",
                           dry_run=True)
    assert "printer@contoso.com" in [p["sender"] for p in plan["plan"]]


def test_real_run_lists_skipped_relay_senders(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    scope_with_rbac(tenant)
    code, doc, _ = verify(tenant, monkeypatch, senders_from=FIXTURES / "scan-relay.json", through="graph")
    assert [s["sender"] for s in doc["skipped"]] == ["erp@contoso.com", "printer@contoso.com"]
    assert sorted(s["mailbox"] for s in tenant.sent) == ["alerts@contoso.com", "reports@contoso.com"]
    assert code == 0


def test_dry_run_json_for_the_module_path(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    code, plan, _ = verify(tenant, monkeypatch, senders=["alerts@contoso.com"], dry_run=True)
    assert code == 0 and plan["kind"] == "verify-plan" and plan["send_path"] == "smtp2graph-module"
    assert plan["plan"][0]["body"]["message"]["toRecipients"] == [{"emailAddress": {"address": "me@contoso.com"}}]
    assert tenant.requests == []
