"""Every auth mode against the fake Entra ID: secret (env / hidden prompt), PEM, PFX, device code, managed identity."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import jwt
import pytest

from fakes.fixtures import APP_ID, PFX_PASSPHRASE, SECRET, TENANT, CertFiles, cert_files, other_cert_files, tenant  # noqa: F401
from fakes.tenant import FakeApp, FakeTenant
from scanner.graph.auth import AuthMode, AuthSettings, TokenProvider, authority_base, infer_mode
from scanner.graph.claims import MailSendGrant, decode_claims
from scanner.graph.errors import AuthError, ToolError


def settings_for(fake: FakeTenant, mode: AuthMode, **kwargs: object) -> AuthSettings:
    return AuthSettings(tenant=TENANT, client_id=APP_ID, mode=mode, authority_host=fake.authority_host, **kwargs)  # type: ignore[arg-type]


def test_secret_from_environment(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP2GRAPH_CLIENT_SECRET", SECRET)
    token = TokenProvider(settings_for(tenant, AuthMode.SECRET))()
    assert token in tenant.issued_tokens
    form = tenant.token_requests()[0].form()
    assert form["grant_type"] == "client_credentials"
    assert form["client_secret"] == SECRET
    assert form["scope"] == "https://graph.microsoft.com/.default"
    claims = decode_claims(token)
    assert claims.app_id == APP_ID and claims.tenant_id == tenant.tenant_id
    assert claims.mail_send is MailSendGrant.APPLICATION_ROLE
    assert claims.expires_at is not None


def test_secret_from_a_custom_env_var_name(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALERTS_APP_SECRET", SECRET)
    token = TokenProvider(settings_for(tenant, AuthMode.SECRET, secret_env="ALERTS_APP_SECRET"))()
    assert token in tenant.issued_tokens


def test_secret_from_hidden_prompt(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def fake_getpass(prompt: str) -> str:
        asked.append(prompt)
        return SECRET

    # The default prompt is getpass (no echo); replace it the way a terminal would answer.
    monkeypatch.setattr("getpass.getpass", fake_getpass)
    token = TokenProvider(settings_for(tenant, AuthMode.SECRET, prompt_for_secret=True))()
    assert token in tenant.issued_tokens
    assert asked == ["Client secret (hidden): "]


def test_missing_secret_names_the_env_var(tenant: FakeTenant) -> None:
    with pytest.raises(ToolError, match=r"\$SMTP2GRAPH_CLIENT_SECRET"):
        TokenProvider(settings_for(tenant, AuthMode.SECRET))()
    assert tenant.token_requests() == []


def test_wrong_secret_is_an_actionable_auth_error(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP2GRAPH_CLIENT_SECRET", "wrong-secret-123")
    with pytest.raises(AuthError) as caught:
        TokenProvider(settings_for(tenant, AuthMode.SECRET))()
    text = str(caught.value)
    assert "AADSTS7000215" in text and "create a new one" in text
    assert "wrong-secret-123" not in text
    assert "\n" not in text and "Trace ID" not in text


def test_certificate_pem_signs_ps256_with_sha256_thumbprint(tenant: FakeTenant, cert_files: CertFiles) -> None:
    token = TokenProvider(settings_for(tenant, AuthMode.CERTIFICATE, certificate=cert_files.pem))()
    assert token in tenant.issued_tokens
    form = tenant.token_requests()[0].form()
    assert "client_secret" not in form
    assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    header = jwt.get_unverified_header(form["client_assertion"])
    assert header["alg"] == "PS256"
    assert "x5t#S256" in header


def test_certificate_pfx_with_passphrase_from_env(tenant: FakeTenant, cert_files: CertFiles,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP2GRAPH_CERTIFICATE_PASSPHRASE", PFX_PASSPHRASE)
    token = TokenProvider(settings_for(tenant, AuthMode.CERTIFICATE, certificate=cert_files.pfx))()
    assert token in tenant.issued_tokens
    header = jwt.get_unverified_header(tenant.token_requests()[0].form()["client_assertion"])
    assert header["alg"] == "PS256" and "x5c" in header


def test_certificate_pfx_passphrase_from_hidden_prompt(tenant: FakeTenant, cert_files: CertFiles) -> None:
    provider = TokenProvider(settings_for(tenant, AuthMode.CERTIFICATE, certificate=cert_files.pfx,
                                          prompt_for_secret=True), prompt=lambda _text: PFX_PASSPHRASE)
    assert provider() in tenant.issued_tokens


def test_pfx_with_wrong_passphrase_is_one_line(tenant: FakeTenant, cert_files: CertFiles,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP2GRAPH_CERTIFICATE_PASSPHRASE", "not-the-passphrase")
    with pytest.raises(ToolError, match=r"app\.pfx: cannot open the PFX"):
        TokenProvider(settings_for(tenant, AuthMode.CERTIFICATE, certificate=cert_files.pfx))()


def test_unregistered_certificate_is_refused(tenant: FakeTenant, other_cert_files: CertFiles) -> None:
    with pytest.raises(AuthError, match="AADSTS700027.*not the one registered"):
        TokenProvider(settings_for(tenant, AuthMode.CERTIFICATE, certificate=other_cert_files.pem))()


def test_fake_verifies_the_assertion_signature(tenant: FakeTenant, cert_files: CertFiles,
                                               other_cert_files: CertFiles, tmp_path: Path) -> None:
    """Registered certificate (thumbprint matches) but a different private key: the signature must fail."""
    other_key = other_cert_files.pem.read_text().split("-----BEGIN CERTIFICATE-----")[0]
    forged = tmp_path / "forged.pem"
    forged.write_text(other_key + cert_files.certificate_pem.decode())
    with pytest.raises(AuthError, match="signature validation"):
        TokenProvider(settings_for(tenant, AuthMode.CERTIFICATE, certificate=forged))()


def test_pem_without_public_certificate(tenant: FakeTenant, cert_files: CertFiles, tmp_path: Path) -> None:
    key_only = tmp_path / "key-only.pem"
    key_only.write_text(cert_files.pem.read_text().split("-----BEGIN CERTIFICATE-----")[0])
    with pytest.raises(ToolError, match="key-only.pem: no public certificate"):
        TokenProvider(settings_for(tenant, AuthMode.CERTIFICATE, certificate=key_only))()


def test_missing_certificate_file(tenant: FakeTenant, tmp_path: Path) -> None:
    with pytest.raises(ToolError, match="missing.pem: certificate file not found"):
        TokenProvider(settings_for(tenant, AuthMode.CERTIFICATE, certificate=tmp_path / "missing.pem"))()


def _public_client(tenant: FakeTenant) -> None:
    tenant.apps[APP_ID].public_client = True


def test_device_code_flow_with_private_cache(tenant: FakeTenant, tmp_path: Path) -> None:
    _public_client(tenant)
    cache = tmp_path / "cache" / "tokens.json"
    shown: list[str] = []
    settings = settings_for(tenant, AuthMode.DEVICE_CODE, token_cache=cache)
    token = TokenProvider(settings, notify=shown.append)()
    assert token in tenant.issued_tokens
    assert len(shown) == 1 and "enter the code" in shown[0]
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    claims = decode_claims(token)
    assert claims.mail_send is MailSendGrant.DELEGATED_SCOPE and claims.identity_type == "user"
    assert "Mail.Send" in claims.scopes
    # A second run reuses the cache: no new device code, no new prompt.
    device_requests = len([r for r in tenant.requests if r.path.endswith("/devicecode")])
    again = TokenProvider(settings, notify=shown.append)()
    assert again == token
    assert len(shown) == 1
    assert len([r for r in tenant.requests if r.path.endswith("/devicecode")]) == device_requests


def test_device_code_cache_permissions_are_tightened(tenant: FakeTenant, tmp_path: Path) -> None:
    _public_client(tenant)
    cache = tmp_path / "tokens.json"
    cache.write_text("{}")
    cache.chmod(0o644)
    TokenProvider(settings_for(tenant, AuthMode.DEVICE_CODE, token_cache=cache), notify=lambda _t: None)()
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert "AccessToken" in json.loads(cache.read_text())


def test_device_code_waits_for_the_user(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    _public_client(tenant)
    tenant.auto_approve_device_code = False
    # MSAL polls with time.sleep(1) between attempts; approve during the first wait instead of sleeping.
    monkeypatch.setattr("msal.oauth2cli.oauth2.time.sleep", lambda _s: tenant.approve_device_code(codes[0]))
    codes: list[str] = []
    provider = TokenProvider(settings_for(tenant, AuthMode.DEVICE_CODE),
                             notify=lambda text: codes.append(text.split("enter the code ")[1].split()[0]))
    assert provider() in tenant.issued_tokens
    polls = [r.form() for r in tenant.token_requests()]
    assert len(polls) == 2  # authorization_pending, then the token


def test_device_code_declined(tenant: FakeTenant) -> None:
    _public_client(tenant)
    tenant.auto_approve_device_code = False

    def decline(text: str) -> None:
        tenant.approve_device_code(text.split("enter the code ")[1].split()[0], approve=False)

    with pytest.raises(AuthError, match="declined"):
        TokenProvider(settings_for(tenant, AuthMode.DEVICE_CODE), notify=decline)()


def test_managed_identity_app_service_endpoint(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    tenant.managed_identity_app = FakeApp("0a9b8c7d-1111-2222-3333-444455556666", "automation-account",
                                          roles=("Mail.Send",))
    monkeypatch.setenv("IDENTITY_ENDPOINT", tenant.managed_identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", tenant.managed_identity_header)
    settings = AuthSettings(tenant=TENANT, client_id=None, mode=AuthMode.MANAGED_IDENTITY)
    token = TokenProvider(settings)()
    assert decode_claims(token).app_id == "0a9b8c7d-1111-2222-3333-444455556666"
    msi = [r for r in tenant.requests if r.path == "/msi/token"]
    assert len(msi) == 1
    assert msi[0].headers["x-identity-header"] == tenant.managed_identity_header
    assert msi[0].query["resource"] == ["https://graph.microsoft.com"]
    assert not tenant.token_requests()


def test_managed_identity_refused(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    tenant.managed_identity_app = FakeApp("0a9b8c7d-1111-2222-3333-444455556666", "automation-account")
    monkeypatch.setenv("IDENTITY_ENDPOINT", tenant.managed_identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", "wrong-header")
    with pytest.raises(ToolError):
        TokenProvider(AuthSettings(tenant=TENANT, client_id=None, mode=AuthMode.MANAGED_IDENTITY))()


def test_unknown_tenant(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP2GRAPH_CLIENT_SECRET", SECRET)
    settings = AuthSettings(tenant="fabrikam.onmicrosoft.com", client_id=APP_ID, mode=AuthMode.SECRET,
                            authority_host=tenant.authority_host)
    with pytest.raises(ToolError, match="cannot use authority .*fabrikam"):
        TokenProvider(settings)()


def test_unknown_client_id(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP2GRAPH_CLIENT_SECRET", SECRET)
    settings = AuthSettings(tenant=TENANT, client_id="00000000-0000-0000-0000-00000000dead", mode=AuthMode.SECRET,
                            authority_host=tenant.authority_host)
    with pytest.raises(AuthError, match="AADSTS700016.*check --client-id"):
        TokenProvider(settings)()


def test_authority_must_be_https() -> None:
    assert authority_base("127.0.0.1:8443") == "https://127.0.0.1:8443"
    with pytest.raises(ToolError, match="https"):
        authority_base("http://127.0.0.1:8443")


def test_mode_inference(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SMTP2GRAPH_CLIENT_SECRET", raising=False)
    assert infer_mode(tmp_path / "a.pem", False, False, "SMTP2GRAPH_CLIENT_SECRET", False) is AuthMode.CERTIFICATE
    assert infer_mode(None, True, False, "SMTP2GRAPH_CLIENT_SECRET", False) is AuthMode.DEVICE_CODE
    assert infer_mode(None, False, True, "SMTP2GRAPH_CLIENT_SECRET", False) is AuthMode.MANAGED_IDENTITY
    assert infer_mode(None, False, False, "SMTP2GRAPH_CLIENT_SECRET", True) is AuthMode.SECRET
    with pytest.raises(ToolError, match="no credential"):
        infer_mode(None, False, False, "SMTP2GRAPH_CLIENT_SECRET", False)
    with pytest.raises(ToolError, match="choose one"):
        infer_mode(tmp_path / "a.pem", True, False, "SMTP2GRAPH_CLIENT_SECRET", False)
    monkeypatch.setenv("SMTP2GRAPH_CLIENT_SECRET", "x")
    assert infer_mode(None, False, False, "SMTP2GRAPH_CLIENT_SECRET", False) is AuthMode.SECRET


def test_claims_of_a_non_jwt_do_not_echo_it() -> None:
    with pytest.raises(ToolError) as caught:
        decode_claims("opaque-token-value")
    assert "opaque-token-value" not in str(caught.value)


@pytest.mark.parametrize(
    ("graph_url", "resource"),
    [
        ("https://graph.microsoft.com/v1.0", "https://graph.microsoft.com"),
        ("https://graph.microsoft.us/v1.0", "https://graph.microsoft.us"),
        ("https://microsoftgraph.chinacloudapi.cn/v1.0", "https://microsoftgraph.chinacloudapi.cn"),
        ("https://127.0.0.1:8443/v1.0", "https://graph.microsoft.com"),
    ],
)
def test_token_resource_follows_the_graph_cloud(graph_url: str, resource: str) -> None:
    from scanner.graph.auth import graph_resource_for

    assert graph_resource_for(graph_url) == resource
    settings = AuthSettings(tenant=TENANT, client_id=APP_ID, mode=AuthMode.SECRET, graph_resource=resource)
    assert settings.app_only_scopes == [f"{resource}/.default"]
    assert settings.delegated_scopes == [f"{resource}/Mail.Send"]


def test_unreachable_identity_platform_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP2GRAPH_CLIENT_SECRET", SECRET)
    settings = AuthSettings(tenant=TENANT, client_id=APP_ID, mode=AuthMode.SECRET, authority_host="127.0.0.1:9",
                            timeout=2)
    with pytest.raises(ToolError) as caught:
        TokenProvider(settings)()
    assert "127.0.0.1:9" in str(caught.value) and "\n" not in str(caught.value)


def test_device_code_cache_defaults_to_the_user_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from scanner.graph.commands import ConnectionOptions

    monkeypatch.setattr("platformdirs.user_cache_dir", lambda appname: str(tmp_path / appname))
    settings = ConnectionOptions(tenant=TENANT, client_id=APP_ID, device_code=True).settings(("Mail.Send",))
    assert settings.token_cache == tmp_path / "smtp2graph" / "msal-token-cache.json"
    monkeypatch.setenv("SMTP2GRAPH_CLIENT_SECRET", SECRET)
    assert ConnectionOptions(tenant=TENANT, client_id=APP_ID).settings(("Mail.Send",)).token_cache is None
