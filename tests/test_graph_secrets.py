"""No secret, passphrase, client assertion or token in any output or log, whatever the auth mode or outcome."""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Callable

import pytest

from fakes.fixtures import APP_ID, PFX_PASSPHRASE, SECRET, TENANT, CertFiles, cert_files, tenant  # noqa: F401
from fakes.tenant import FakeApp, FakeTenant, SignIn
from scanner.graph.commands import ConnectionOptions, Runtime, audit_command, verify_command
from scanner.graph.formats import OutputFormat

MI_APP = "0a9b8c7d-1111-2222-3333-444455556666"


def secret_values(fake: FakeTenant) -> list[str]:
    """Everything that must never be shown: secrets, passphrases, assertions, access/refresh/id tokens."""
    values = [SECRET, PFX_PASSPHRASE, fake.managed_identity_header, *fake.issued_tokens]
    for request in fake.token_requests():
        form = request.form()
        values += [form[k] for k in ("client_secret", "client_assertion", "refresh_token", "device_code") if k in form]
    # A token's signature part alone would also be a leak worth catching.
    values += [t.rsplit(".", 1)[-1] for t in fake.issued_tokens]
    return [v for v in values if v]


def configure(mode: str, fake: FakeTenant, certs: CertFiles, monkeypatch: pytest.MonkeyPatch,
              tmp_path: Path) -> tuple[ConnectionOptions, Callable[[str], str] | None]:
    options = ConnectionOptions(tenant=TENANT, client_id=APP_ID, authority_host=fake.authority_host,
                                graph_url=fake.graph_url)
    prompt = None
    if mode == "secret-env":
        monkeypatch.setenv("SMTP2GRAPH_CLIENT_SECRET", SECRET)
    elif mode == "secret-prompt":
        options.prompt_secret = True
        prompt = lambda _text: SECRET  # noqa: E731
    elif mode == "pem":
        options.certificate = certs.pem
    elif mode == "pfx":
        monkeypatch.setenv("SMTP2GRAPH_CERTIFICATE_PASSPHRASE", PFX_PASSPHRASE)
        options.certificate = certs.pfx
    elif mode == "device-code":
        fake.apps[APP_ID].public_client = True
        fake.device_user = "alerts@contoso.com"
        options.device_code = True
        options.token_cache = tmp_path / "cache.json"
    elif mode == "managed-identity":
        fake.managed_identity_app = FakeApp(MI_APP, "automation", roles=fake.apps[APP_ID].roles,
                                            allowed_mailboxes={"alerts@contoso.com"})
        monkeypatch.setenv("IDENTITY_ENDPOINT", fake.managed_identity_endpoint)
        monkeypatch.setenv("IDENTITY_HEADER", fake.managed_identity_header)
        options.client_id = None
        options.managed_identity = True
    return options, prompt


MODES = ["secret-env", "secret-prompt", "pem", "pfx", "device-code", "managed-identity"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("output", [OutputFormat.TABLE, OutputFormat.JSON])
def test_no_secret_in_verify_and_audit_output(mode: str, output: OutputFormat, tenant: FakeTenant,
                                              cert_files: CertFiles, monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)  # MSAL, urllib3 and our own loggers at their most talkative
    tenant.sign_ins = [SignIn("svc-mail@contoso.com", __import__("datetime").datetime.now(
        __import__("datetime").timezone.utc), "203.0.113.10")]
    tenant.throttle["alerts@contoso.com"] = 1  # exercise the retry log line too
    options, prompt = configure(mode, tenant, cert_files, monkeypatch, tmp_path)
    out, err = io.StringIO(), io.StringIO()
    runtime = Runtime(stdout=out, stderr=err, sleep=lambda _s: None, prompt=prompt)
    verify_code = verify_command(options, senders=["alerts@contoso.com"], senders_from=None, to="me@contoso.com",
                                 expect_denied=["ceo@contoso.com"], dry_run=False, output=output, runtime=runtime)
    audit_code = audit_command(options, scan=None, days=30, output=output, runtime=runtime)
    # A delegated token cannot prove --expect-denied: inconclusive (exit 3), never a green 0.
    assert verify_code == (3 if mode == "device-code" else 0), err.getvalue()
    assert audit_code == 0, err.getvalue()
    assert tenant.sent, "the run must really have sent, or the check below proves nothing"
    captured = capsys.readouterr()
    everything = "\n".join([out.getvalue(), err.getvalue(), captured.out, captured.err, caplog.text,
                            *(str(r.args) for r in caplog.records)])
    leaks = [value[:12] + "…" for value in secret_values(tenant) if value in everything]
    assert leaks == []
    assert len(secret_values(tenant)) >= 3


def test_no_secret_in_failure_messages(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch,
                                       caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    tenant.apps[APP_ID].secret = "the-registered-one"
    monkeypatch.setenv("SMTP2GRAPH_CLIENT_SECRET", SECRET)
    options = ConnectionOptions(tenant=TENANT, client_id=APP_ID, authority_host=tenant.authority_host,
                                graph_url=tenant.graph_url)
    err = io.StringIO()
    code = verify_command(options, senders=["alerts@contoso.com"], senders_from=None, to="me@contoso.com",
                          expect_denied=[], dry_run=False, output=OutputFormat.JSON,
                          runtime=Runtime(stdout=io.StringIO(), stderr=err))
    assert code == 2
    assert SECRET not in err.getvalue() + caplog.text
    assert "the-registered-one" not in err.getvalue() + caplog.text


def test_dry_run_masks_authorization(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP2GRAPH_CLIENT_SECRET", SECRET)
    options = ConnectionOptions(tenant=TENANT, client_id=APP_ID, authority_host=tenant.authority_host,
                                graph_url=tenant.graph_url)
    out = io.StringIO()
    verify_command(options, senders=["alerts@contoso.com"], senders_from=None, to="me@contoso.com",
                   expect_denied=[], dry_run=True, output=OutputFormat.TABLE,
                   runtime=Runtime(stdout=out, stderr=io.StringIO()))
    assert "Bearer ***" in out.getvalue() and SECRET not in out.getvalue()
    assert tenant.issued_tokens == []


def test_redaction_filter_masks_credentials_in_third_party_logs(caplog: pytest.LogCaptureFixture) -> None:
    from scanner.graph.redact import install_log_redaction, redact

    assert redact('{"code": "abc123", "client_id": "x"}') == '{"code": "********", "client_id": "x"}'
    assert redact("Authorization: Bearer eyJ0.eyJ1.sig") == "Authorization: Bearer ********"
    assert redact('"PUT /upload/s1?authtoken=tok3n HTTP/1.1"') == '"PUT /upload/s1?authtoken=******** HTTP/1.1"'
    install_log_redaction()
    caplog.set_level(logging.DEBUG)
    logging.getLogger("msal.token_cache").debug("event=%s", '{"refresh_token": "rt-value-1"}')
    logging.getLogger("urllib3.connectionpool").debug('"%s %s" %s', "PUT", "/upload/a?authtoken=up-tok", 200)
    assert "rt-value-1" not in caplog.text and "up-tok" not in caplog.text
    assert "********" in caplog.text
