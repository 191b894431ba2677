"""The fake tenant itself behaves as Microsoft documents (so tests built on it mean something)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import requests

from fakes.fixtures import APP_ID, SECRET, TENANT, cert_files, tenant  # noqa: F401
from fakes.tenant import FakeTenant

GOOD: dict[str, Any] = {
    "subject": "s",
    "body": {"contentType": "HTML", "content": "<p>x</p>"},
    "toRecipients": [{"emailAddress": {"address": "me@contoso.com", "name": "Me"}}],
}


def app_token(fake: FakeTenant) -> str:
    answer = requests.post(f"{fake.base_url}/{TENANT}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": APP_ID, "client_secret": SECRET,
        "scope": "https://graph.microsoft.com/.default"}, timeout=10)
    assert answer.status_code == 200
    return str(answer.json()["access_token"])


def send(fake: FakeTenant, payload: Any, mailbox: str = "alerts@contoso.com", **kwargs: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {app_token(fake)}", **kwargs.pop("headers", {})}
    if "data" in kwargs:
        return requests.post(f"{fake.graph_url}/users/{mailbox}/sendMail", headers=headers, timeout=10, **kwargs)
    return requests.post(f"{fake.graph_url}/users/{mailbox}/sendMail", json=payload, headers=headers, timeout=10)


def error_of(response: requests.Response) -> tuple[int, str]:
    body = response.json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"])
    return response.status_code, str(body["error"]["code"])


def test_oidc_discovery(tenant: FakeTenant) -> None:
    config = requests.get(f"{tenant.base_url}/{TENANT}/v2.0/.well-known/openid-configuration", timeout=10).json()
    assert config["token_endpoint"] == f"{tenant.base_url}/{TENANT}/oauth2/v2.0/token"
    assert config["device_authorization_endpoint"].endswith("/oauth2/v2.0/devicecode")
    unknown = requests.get(f"{tenant.base_url}/nope.onmicrosoft.com/v2.0/.well-known/openid-configuration", timeout=10)
    assert unknown.status_code == 400 and unknown.json()["error"] == "invalid_tenant"


def test_client_credentials_need_default_scope(tenant: FakeTenant) -> None:
    answer = requests.post(f"{tenant.base_url}/{TENANT}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": APP_ID, "client_secret": SECRET,
        "scope": "https://graph.microsoft.com/Mail.Send"}, timeout=10)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_scope"
    assert 1002012 in answer.json()["error_codes"]


def test_send_mail_accepts_a_documented_message(tenant: FakeTenant) -> None:
    response = send(tenant, {"message": GOOD, "saveToSentItems": False})
    assert response.status_code == 202 and response.content == b""
    assert tenant.sent == [{"mailbox": "alerts@contoso.com", "message": GOOD, "saveToSentItems": False}]


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"body": {"contentType": "Markdown", "content": "x"}}, 400, "RequestBodyRead"),
        ({"toRecipients": []}, 400, "ErrorInvalidRecipients"),
        ({"toRecipients": ["me@contoso.com"]}, 400, "ErrorInvalidRecipients"),
        ({"toRecipients": [{"emailAddress": {"address": "not-an-address"}}]}, 400, "ErrorInvalidRecipients"),
        ({"internetMessageHeaders": [{"name": "Priority", "value": "1"}]}, 400, "InvalidInternetMessageHeader"),
        ({"internetMessageHeaders": [{"name": f"x-h{i}", "value": "1"} for i in range(6)]}, 400,
         "InvalidInternetMessageHeader"),
        ({"importance": "urgent"}, 400, "RequestBodyRead"),
        ({"attachments": [{"name": "a.txt", "contentBytes": "aGk="}]}, 400, "ErrorInvalidAttachment"),
        ({"attachments": [{"@odata.type": "#microsoft.graph.fileAttachment", "name": "a", "contentBytes": "%%"}]},
         400, "ErrorInvalidAttachment"),
    ],
)
def test_send_mail_rejects_bad_shapes(tenant: FakeTenant, change: dict[str, Any], status: int, code: str) -> None:
    assert error_of(send(tenant, {"message": {**GOOD, **change}})) == (status, code)
    assert tenant.sent == []


def test_send_mail_rejects_unknown_top_level_property(tenant: FakeTenant) -> None:
    assert error_of(send(tenant, {"message": GOOD, "saveToSent": True})) == (400, "RequestBodyRead")


def test_send_mail_size_cap(tenant: FakeTenant) -> None:
    big = {**GOOD, "body": {"contentType": "Text", "content": "x" * (4 * 1024 * 1024 + 1)}}
    assert error_of(send(tenant, {"message": big})) == (413, "ErrorMessageSizeExceeded")


def test_send_mail_mime(tenant: FakeTenant) -> None:
    mime = b"From: alerts@contoso.com\r\nTo: me@contoso.com\r\nX-Ticket: 42\r\nSubject: s\r\n\r\nbody\r\n"
    ok = send(tenant, None, data=base64.b64encode(mime), headers={"Content-Type": "text/plain"})
    assert ok.status_code == 202 and tenant.sent[0]["mime"] == mime
    bad = send(tenant, None, data=b"not base64!!", headers={"Content-Type": "text/plain"})
    assert error_of(bad) == (400, "ErrorMimeContentInvalidBase64String")


def test_scope_denial_and_unknown_user_bodies(tenant: FakeTenant) -> None:
    denied = send(tenant, {"message": GOOD}, mailbox="ceo@contoso.com")
    assert error_of(denied) == (403, "ErrorAccessDenied")
    assert denied.json()["error"]["message"] == "Access to OData is disabled."
    unknown = send(tenant, {"message": GOOD}, mailbox="ghost@contoso.com")
    assert error_of(unknown) == (404, "ErrorInvalidUser")


def test_throttling_sends_retry_after(tenant: FakeTenant) -> None:
    tenant.throttle["alerts@contoso.com"] = 1
    tenant.retry_after = 3
    first = send(tenant, {"message": GOOD})
    assert error_of(first) == (429, "ApplicationThrottled") and first.headers["Retry-After"] == "3"
    assert send(tenant, {"message": GOOD}).status_code == 202


def test_me_is_refused_for_app_only_tokens(tenant: FakeTenant) -> None:
    response = requests.post(f"{tenant.graph_url}/me/sendMail", json={"message": GOOD},
                             headers={"Authorization": f"Bearer {app_token(tenant)}"}, timeout=10)
    assert error_of(response) == (400, "BadRequest")


def test_no_token_is_401(tenant: FakeTenant) -> None:
    response = requests.post(f"{tenant.graph_url}/users/alerts@contoso.com/sendMail", json={"message": GOOD}, timeout=10)
    assert error_of(response) == (401, "InvalidAuthenticationToken")


def test_upload_session_ranges(tenant: FakeTenant) -> None:
    auth = {"Authorization": f"Bearer {app_token(tenant)}"}
    draft = requests.post(f"{tenant.graph_url}/users/alerts@contoso.com/messages", json=GOOD, headers=auth, timeout=10)
    assert draft.status_code == 201
    session = requests.post(
        f"{tenant.graph_url}/users/alerts@contoso.com/messages/{draft.json()['id']}/attachments/createUploadSession",
        json={"AttachmentItem": {"attachmentType": "file", "name": "a.bin", "size": 10}}, headers=auth, timeout=10).json()
    assert session["nextExpectedRanges"] == ["0-"]
    url = session["uploadUrl"]
    with_token = requests.put(url, data=b"01234", headers={**auth, "Content-Range": "bytes 0-4/10"}, timeout=10)
    assert with_token.status_code == 401
    first = requests.put(url, data=b"01234", headers={"Content-Range": "bytes 0-4/10"}, timeout=10)
    assert first.status_code == 200 and first.json()["nextExpectedRanges"] == ["5-"]
    gap = requests.put(url, data=b"789", headers={"Content-Range": "bytes 7-9/10"}, timeout=10)
    assert gap.status_code == 416
    last = requests.put(url, data=b"56789", headers={"Content-Range": "bytes 5-9/10"}, timeout=10)
    assert last.status_code == 201


def test_sign_in_filter_is_validated(tenant: FakeTenant) -> None:
    response = requests.get(f"{tenant.graph_url}/auditLogs/signIns", params={"$filter": "contains(x,'y')"},
                            headers={"Authorization": f"Bearer {app_token(tenant)}"}, timeout=10)
    assert error_of(response) == (400, "BadRequest")


def test_every_request_is_recorded(tenant: FakeTenant) -> None:
    send(tenant, {"message": GOOD})
    assert [(r.method, r.path) for r in tenant.requests] == [
        ("POST", f"/{TENANT}/oauth2/v2.0/token"), ("POST", "/v1.0/users/alerts@contoso.com/sendMail")]
    assert json.loads(tenant.requests[1].body) == {"message": GOOD}


def test_audit_json_is_accepted_by_the_report_merger() -> None:
    """The audit JSON contract is what the HTML/Markdown report owner classifies as an audit document."""
    from datetime import datetime, timezone

    from scanner.graph.audit import AuditReport, MailSendApp, Section, SmtpAuthAccount
    from scanner.reports.builder import classify_document
    from scanner.reports.model import DocumentKind

    report = AuditReport(TENANT, datetime(2026, 11, 26, tzinfo=timezone.utc), 30,
                         Section(items=[MailSendApp("Alerts", APP_ID, "sp", "2025-01-01T00:00:00Z")]),
                         Section(items=[SmtpAuthAccount("svc-mail@contoso.com", 1, 1, 0, "2026-11-25T00:00:00Z",
                                                        ["203.0.113.10"])]))
    assert classify_document(json.loads(json.dumps(report.to_json()))) == DocumentKind.AUDIT
