"""Credential health, AADSTS explanations, token refresh and clouds (issue 14 items 4 and 6), against the fake."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from typer.testing import CliRunner

from fakes.fixtures import APP_ID, SECRET, TENANT, CertFiles, cert_files, scope_with_rbac, tenant  # noqa: F401
from fakes.tenant import FakeTenant
from scanner.cli import app
from scanner.graph.auth import AuthMode, AuthSettings, TokenProvider
from scanner.graph.client import GraphClient, RetryPolicy
from scanner.graph.commands import ConnectionOptions, Runtime, audit_command, verify_command
from scanner.graph.formats import OutputFormat

NOW = dt.datetime.now(dt.timezone.utc)


def certificate(directory: Path, name: str, *, not_after: dt.datetime,
                not_before: dt.datetime | None = None) -> tuple[Path, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(not_before or NOW - dt.timedelta(days=400))
            .not_valid_after(not_after).sign(key, hashes.SHA256()))
    pem = directory / f"{name}.pem"
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()) + cert_pem)
    return pem, cert_pem


def verify(fake: FakeTenant, *, certificate_path: Path | None = None, cloud: str = "global",
           output: OutputFormat = OutputFormat.JSON, **extra: Any) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    options = ConnectionOptions(tenant=TENANT, client_id=APP_ID, authority_host=fake.authority_host,
                                graph_url=fake.graph_url, certificate=certificate_path, cloud=cloud, **extra)
    code = verify_command(options, senders=["alerts@contoso.com"], senders_from=None, to="me@contoso.com",
                          expect_denied=[], dry_run=False, output=output,
                          runtime=Runtime(stdout=out, stderr=err, sleep=lambda _s: None))
    return code, out.getvalue(), err.getvalue()


# ---- item 4: credential health --------------------------------------------------------------------------


def test_certificate_and_secret_expiry_are_reported_and_warned(tenant: FakeTenant, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    scope_with_rbac(tenant)
    pem, public = certificate(tmp_path, "soon", not_after=NOW + dt.timedelta(days=12))
    tenant.apps[APP_ID].certificate_pem = public
    tenant.apps[APP_ID].secret_expires = NOW - dt.timedelta(days=3)
    code, out, _ = verify(tenant, certificate_path=pem)
    assert code == 0
    health = json.loads(out)["credentials"]
    assert health["status"] == "expired"
    by_kind = {(i["source"], i["kind"]): i for i in health["items"]}
    assert by_kind[("app registration", "certificate")]["state"] == "expiring"
    assert by_kind[("app registration", "certificate")]["days_left"] in (11, 12)
    assert by_kind[("app registration", "secret")]["state"] == "expired"
    assert by_kind[("local file", "certificate")]["state"] == "expiring"
    code, text, _ = verify(tenant, certificate_path=pem, output=OutputFormat.TABLE)
    assert "WARNING: credential: certificate 'CN=soon' (local file)" in text and "renew it within" in text
    assert "WARNING: credential: secret 'smtp2graph' (app registration)" in text and "EXPIRED" in text


def test_unreadable_app_registration_says_why(tenant: FakeTenant, cert_files: CertFiles) -> None:
    scope_with_rbac(tenant)
    tenant.apps[APP_ID].roles = ()
    code, out, _ = verify(tenant, certificate_path=cert_files.pem)
    assert code == 0
    health = json.loads(out)["credentials"]
    assert any("needs Application.Read.All" in m for m in health["messages"])
    assert [i["source"] for i in health["items"]] == ["local file"] and health["status"] == "ok"


def test_expired_certificate_is_explained(tenant: FakeTenant, tmp_path: Path) -> None:
    pem, public = certificate(tmp_path, "old", not_after=NOW - dt.timedelta(days=2))
    tenant.apps[APP_ID].certificate_pem = public
    code, _, err = verify(tenant, certificate_path=pem)
    assert code == 2 and "AADSTS700027" in err and "the certificate has expired" in err


def test_clock_skew_is_explained(tenant: FakeTenant, cert_files: CertFiles) -> None:
    tenant.clock_skew = 3 * 3600
    code, _, err = verify(tenant, certificate_path=cert_files.pem)
    assert code == 2 and "AADSTS700024" in err and "clock is off" in err


def test_wrong_cloud_is_explained(tenant: FakeTenant, cert_files: CertFiles) -> None:
    """The fake tenant lives in the global cloud; --cloud usgov asks for a graph.microsoft.us token."""
    code, _, err = verify(tenant, certificate_path=cert_files.pem, cloud="usgov")
    assert code == 2 and "AADSTS500011" in err and "wrong cloud" in err
    assert tenant.token_requests()[0].form()["scope"] == "https://graph.microsoft.us/.default"


def test_token_is_refreshed_during_a_long_run(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP2GRAPH_CLIENT_SECRET", SECRET)
    provider = TokenProvider(AuthSettings(tenant=TENANT, client_id=APP_ID, mode=AuthMode.SECRET,
                                          authority_host=tenant.authority_host))
    client = GraphClient(provider, base_url=tenant.graph_url, retry=RetryPolicy(sleep=lambda _s: None))
    message = {"subject": "s", "toRecipients": [{"emailAddress": {"address": "me@contoso.com"}}]}
    assert client.send_mail("alerts@contoso.com", message).status == 202
    # The token runs out mid-run: Graph answers 401 once, a new token is fetched, the send goes through.
    tenant.expire_tokens()
    assert client.send_mail("alerts@contoso.com", message).status == 202
    assert provider.acquired == 2 and len(tenant.sent) == 2
    # Close to expiry (under 5 minutes left), the provider renews before Graph refuses.
    clock = [provider.clock() + 3599 - 200]
    provider.clock = lambda: clock[0]
    client.send_mail("alerts@contoso.com", message)
    assert provider.acquired == 3
    assert [r.headers["authorization"] for r in tenant.graph_requests()].count(
        tenant.graph_requests()[-1].headers["authorization"]) == 1


# ---- item 6: clouds ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("cloud,resource", [
    ("global", "https://graph.microsoft.com"),
    ("usgov", "https://graph.microsoft.us"),
    ("usgovdod", "https://dod-graph.microsoft.us"),
    ("china", "https://microsoftgraph.chinacloudapi.cn"),
])
def test_cloud_sets_authority_graph_and_resource_together(cloud: str, resource: str) -> None:
    from scanner.graph.clouds import endpoints

    options = ConnectionOptions(tenant=TENANT, client_id=APP_ID, cloud=cloud, prompt_secret=True)
    settings = options.settings(("Mail.Send",))
    cloud_endpoints = endpoints(cloud)
    assert settings.graph_resource == resource
    assert settings.app_only_scopes == [f"{resource}/.default"]
    assert options.resolved_graph_url() == f"{resource}/v1.0"
    assert settings.authority_host == cloud_endpoints.authority_host
    assert cloud_endpoints.module_settings()["SMTP2GRAPH_GRAPH_ENDPOINT"] == resource


@pytest.mark.parametrize("graph_url,authority,message", [
    ("https://graph.microsoft.com/v1.0", None, "is Graph in the 'global' cloud but --cloud is 'china'"),
    (None, "login.microsoftonline.com", "signs in to the global cloud but --cloud is 'china'"),
])
def test_cloud_mismatch_is_explained(graph_url: str | None, authority: str | None, message: str) -> None:
    result = CliRunner().invoke(app, ["verify", "--tenant", TENANT, "--client-id", APP_ID, "--prompt-secret",
                                      "--cloud", "china", "--from", "alerts@contoso.com", "--to", "me@contoso.com",
                                      *(["--graph-url", graph_url] if graph_url else []),
                                      *(["--authority-host", authority] if authority else [])])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_china_lacks_sign_in_logs_and_the_usage_report(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    """Said up front, and the sections say 'unavailable' instead of pretending nothing was found."""
    tenant.graph_resource = "https://microsoftgraph.chinacloudapi.cn"
    monkeypatch.setenv("SMTP2GRAPH_CLIENT_SECRET", SECRET)
    out, err = io.StringIO(), io.StringIO()
    options = ConnectionOptions(tenant=TENANT, client_id=APP_ID, authority_host=tenant.authority_host,
                                graph_url=tenant.graph_url, cloud="china")
    code = audit_command(options, scan=None, days=30, output=OutputFormat.JSON,
                         runtime=Runtime(stdout=out, stderr=err, sleep=lambda _s: None))
    assert code == 0, err.getvalue()
    first_lines = err.getvalue().splitlines()[:2]
    assert any("does not offer sign-in logs" in line for line in first_lines)
    assert any("does not offer the email app usage report" in line for line in first_lines)
    document = json.loads(out.getvalue())
    assert document["cloud"] == "china"
    assert document["smtp_auth_signins"]["status"] == "unavailable"
    assert document["email_app_usage"]["status"] == "unavailable"
    assert not [r for r in tenant.graph_requests() if r.path.startswith(("/v1.0/auditLogs", "/v1.0/reports"))]
