"""Graph client hardening (issue 12 item 2): fault scenarios played by the fake tenant.

Each scenario is a broken answer from Graph or the identity platform. The tool must never show a
credential, never send the token off the Graph host, never hang past --timeout, never report an
incomplete section as "ok", and never print a traceback: one clear line, or a degraded section.
"""

from __future__ import annotations

import io
import json
import logging
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from fakes.fixtures import APP_ID, SECRET, TENANT, CertFiles, cert_files, tenant  # noqa: F401
from fakes.tenant import FakeTenant, Fault, SignIn
from scanner.graph.commands import ConnectionOptions, Runtime, audit_command, verify_command
from scanner.graph.formats import OutputFormat

SIGNINS = "/v1.0/auditLogs/signIns"
TOKEN = f"/{TENANT}/oauth2/v2.0/token"


def json_fault(body: Any, status: int = 200, **kwargs: Any) -> Fault:
    return Fault("raw", status, json.dumps(body).encode(), **kwargs)


def populate(fake: FakeTenant) -> None:
    now = datetime.now(timezone.utc)
    fake.sign_ins = [SignIn(f"user{i}@contoso.com", now - timedelta(hours=i), "203.0.113.9") for i in range(5)]
    fake.page_size = 2


def audit(fake: FakeTenant, monkeypatch: pytest.MonkeyPatch, *, timeout: float = 30.0,
          certificate: CertFiles | None = None) -> tuple[int, Any, str]:
    if certificate is None:
        monkeypatch.setenv("SMTP2GRAPH_CLIENT_SECRET", SECRET)
    out, err = io.StringIO(), io.StringIO()
    options = ConnectionOptions(tenant=TENANT, client_id=APP_ID, authority_host=fake.authority_host,
                                graph_url=fake.graph_url, timeout=timeout,
                                certificate=certificate.pem if certificate else None)
    code = audit_command(options, scan=None, days=30, output=OutputFormat.JSON,
                         runtime=Runtime(stdout=out, stderr=err, sleep=lambda _s: None))
    text = out.getvalue()
    return code, json.loads(text) if text else None, err.getvalue()


def page_link(fake: FakeTenant, base: str | None = None, skip: int = 2) -> str:
    return f"{base or fake.base_url}{SIGNINS}?$top=1000&$skiptoken={skip}"


def first_page(fake: FakeTenant, link: str) -> Fault:
    row = SignIn("user0@contoso.com", datetime.now(timezone.utc), "203.0.113.9").to_graph()
    return json_fault({"value": [row], "@odata.nextLink": link})


# Each case: (id, faults to install given the fake, words the degraded message must contain).
def _cases() -> list[tuple[str, Any, str]]:
    return [
        ("malformed-json", lambda f: [Fault("raw", 200, b'{"value": [ {"id": ')], "not valid JSON"),
        ("html-200", lambda f: [Fault("raw", 200, b"<html><body>Sign in to the proxy</body></html>",
                                      {"Content-Type": "text/html"})], "text/html, not JSON"),
        ("truncated-page", lambda f: [Fault("truncate", 200, b'{"value": [')], "broke off before its end"),
        ("wrong-shape-object", lambda f: [json_fault({"value": {"id": "x"}})], "is not a collection"),
        ("wrong-shape-no-value", lambda f: [json_fault({"error": None})], "is not a collection"),
        ("wrong-shape-items", lambda f: [json_fault({"value": [1, 2]})], "non-object item"),
        ("empty-200", lambda f: [Fault("raw", 200, b"")], "is not a collection"),
        ("redirect-elsewhere", lambda f: [Fault("raw", 302, b"", {"Location": "https://evil.example/v1.0/x"})],
         "is not a collection"),
        ("nextlink-http", lambda f: [first_page(f, page_link(f, f"http://127.0.0.1:{f.port}"))],
         "refused to follow @odata.nextLink to http://"),
        ("nextlink-other-host", lambda f: [first_page(f, page_link(f, f"https://localhost:{f.port}"))],
         "refused to follow @odata.nextLink to https://localhost"),
        ("nextlink-repeating", lambda f: [first_page(f, page_link(f, skip=7)), first_page(f, page_link(f, skip=7))],
         "had sent before"),
    ]


@pytest.mark.parametrize("name,faults,expected", _cases(), ids=[c[0] for c in _cases()])
def test_broken_sign_in_page_degrades_the_section(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch,
                                                 name: str, faults: Any, expected: str) -> None:
    populate(tenant)
    tenant.faults[SIGNINS] = faults(tenant)
    code, doc, err = audit(tenant, monkeypatch)
    assert code == 0 and "Traceback" not in err, err
    section = doc["smtp_auth_signins"]
    assert section["status"] == "degraded", section
    assert expected in section["message"]
    assert doc["mail_send_apps"]["status"] == "ok"  # one broken section marks only itself
    # The token went to the Graph host only, never to another origin or over http.
    assert all(r.headers.get("host") == f"127.0.0.1:{tenant.port}" for r in tenant.requests)
    if name == "nextlink-repeating":
        assert len([r for r in tenant.requests if r.path == SIGNINS]) == 2


def test_partial_items_are_marked_incomplete(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    populate(tenant)
    tenant.faults[SIGNINS] = [first_page(tenant, page_link(tenant, f"http://127.0.0.1:{tenant.port}"))]
    _, doc, _ = audit(tenant, monkeypatch)
    section = doc["smtp_auth_signins"]
    assert section["status"] == "degraded" and "1 item(s) read before that, so the list is incomplete" in \
        section["message"]


def test_dribbling_body_cannot_outlast_the_timeout(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    """A valid page sent one byte every 0.25 s (about 12 s): with --timeout 1 the section gives up, degraded."""
    populate(tenant)
    body = json.dumps({"value": []}).encode() + b" " * 36
    tenant.faults[SIGNINS] = [Fault("dribble", 200, body, delay=0.25)]
    code, doc, err = audit(tenant, monkeypatch, timeout=1.0)
    assert code == 0, err
    section = doc["smtp_auth_signins"]
    assert section["status"] == "degraded"
    assert "did not complete within 1 s" in section["message"]


def test_claims_challenge_is_one_clear_line(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    challenge = ('Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
                 'error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZX19fQ=="')
    fault = json_fault({"error": {"code": "InvalidAuthenticationToken", "message": "Continuous access evaluation "
                                  "resulted in challenge with result: InteractionRequired"}}, 401,
                       headers={"Content-Type": "application/json", "WWW-Authenticate": challenge})
    tenant.faults["/v1.0/servicePrincipals"] = [fault]
    code, doc, err = audit(tenant, monkeypatch)
    assert code == 2 and doc is None
    lines = err.strip().splitlines()
    assert len(lines[1:]) == 1 and "Traceback" not in err  # first line: the token summary
    assert "Graph asks for a new token with extra claims" in lines[-1]


def test_graph_error_echoing_the_token_is_masked(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    echo = Fault("echo", 403, b'{"error": {"code": "ErrorAccessDenied", "message": "Denied for header '
                            b'{authorization} and body {request_body}"}}')
    tenant.faults["/v1.0/users/alerts@contoso.com/sendMail"] = [echo]
    monkeypatch.setenv("SMTP2GRAPH_CLIENT_SECRET", SECRET)
    out, err = io.StringIO(), io.StringIO()
    options = ConnectionOptions(tenant=TENANT, client_id=APP_ID, authority_host=tenant.authority_host,
                                graph_url=tenant.graph_url)
    code = verify_command(options, senders=["alerts@contoso.com"], senders_from=None, to="me@contoso.com",
                          expect_denied=[], dry_run=False, output=OutputFormat.TABLE,
                          runtime=Runtime(stdout=out, stderr=err))
    assert code == 1
    everything = out.getvalue() + err.getvalue() + caplog.text
    assert tenant.issued_tokens and all(token not in everything for token in tenant.issued_tokens)
    assert all(token.rsplit(".", 1)[-1] not in everything for token in tenant.issued_tokens)


@pytest.mark.parametrize("mode", ["secret", "certificate"])
def test_token_endpoint_echoing_the_request_is_masked(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch,
                                                      cert_files: CertFiles, mode: str,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    tenant.faults[TOKEN] = [Fault("echo", 400, b'{"error": "invalid_request", "error_description": '
                                               b'"AADSTS900144: bad request: {request_body}"}')]
    code, _, err = audit(tenant, monkeypatch, certificate=cert_files if mode == "certificate" else None)
    assert code == 2 and "AADSTS900144" in err and len(err.strip().splitlines()) == 1
    sent = tenant.token_requests()[0].form()
    credential = sent["client_secret"] if mode == "secret" else sent["client_assertion"]
    assert credential not in err + caplog.text
    assert credential[-20:] not in err + caplog.text


@pytest.mark.parametrize("status,body,content_type,expected", [
    (503, b"<html><h1>Service Unavailable</h1></html>", "text/html", "answered HTTP 503 (an HTML page), not a token"),
    (500, b'{"error": "server_error"}', "application/json", "answered HTTP 500"),
    (200, b"<html>Welcome to the hotel wifi</html>", "text/html", "answered HTTP 200 with an HTML page"),
    (200, b"not json at all", "text/plain", "answered HTTP 200 with text/plain instead of a token response"),
])
def test_token_endpoint_failures_are_one_line(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch, status: int,
                                              body: bytes, content_type: str, expected: str) -> None:
    # MSAL may retry a 5xx once; every answer is broken.
    tenant.faults[TOKEN] = [Fault("raw", status, body, {"Content-Type": content_type}) for _ in range(3)]
    code, _, err = audit(tenant, monkeypatch)
    assert code == 2 and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert expected in err


def test_token_answer_without_access_token_is_one_line(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    tenant.faults[TOKEN] = [json_fault({"token_type": "Bearer", "expires_in": 3599})]
    code, _, err = audit(tenant, monkeypatch)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_send_answer_that_dribbles_is_unconfirmed_not_hung(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 202 whose (unexpected) body never ends: the deadline fires, and the send may have happened."""
    tenant.faults["/v1.0/users/alerts@contoso.com/sendMail"] = [Fault("dribble", 202, b" " * 60, delay=0.25)]
    monkeypatch.setenv("SMTP2GRAPH_CLIENT_SECRET", SECRET)
    out = io.StringIO()
    options = ConnectionOptions(tenant=TENANT, client_id=APP_ID, authority_host=tenant.authority_host,
                                graph_url=tenant.graph_url, timeout=1.0)
    code = verify_command(options, senders=["alerts@contoso.com"], senders_from=None, to="me@contoso.com",
                          expect_denied=[], dry_run=False, output=OutputFormat.JSON,
                          runtime=Runtime(stdout=out, stderr=io.StringIO(), sleep=lambda _s: None))
    assert code == 3
    result = json.loads(out.getvalue())["results"][0]
    assert (result["outcome"], result["verdict"]) == ("unconfirmed", "inconclusive")
    assert len([r for r in tenant.requests if r.path.endswith("/sendMail")]) == 1

