"""The Graph client against the fake: retries with Retry-After, bounded wait, paging, request ids, typed errors."""

from __future__ import annotations

import email.utils
import hashlib
import os

import pytest

from fakes.fixtures import APP_ID, SECRET, TENANT, cert_files, tenant  # noqa: F401
from fakes.tenant import FakeTenant, SignIn
from scanner.graph.auth import AuthMode, AuthSettings, TokenProvider
from scanner.graph.client import GraphClient, RetryPolicy, parse_retry_after, user_path
from scanner.graph.errors import (
    GraphBadRequest,
    GraphConnectionError,
    GraphError,
    GraphForbidden,
    GraphNotFound,
    GraphThrottled,
    GraphUnauthorized,
)

MESSAGE = {
    "subject": "hello",
    "body": {"contentType": "Text", "content": "hi"},
    "toRecipients": [{"emailAddress": {"address": "me@contoso.com"}}],
}


def make_client(fake: FakeTenant, monkeypatch: pytest.MonkeyPatch, sleeps: list[float] | None = None,
                max_total_wait: float = 120.0) -> GraphClient:
    monkeypatch.setenv("SMTP2GRAPH_CLIENT_SECRET", SECRET)
    provider = TokenProvider(AuthSettings(tenant=TENANT, client_id=APP_ID, mode=AuthMode.SECRET,
                                          authority_host=fake.authority_host))
    recorded = sleeps if sleeps is not None else []
    return GraphClient(provider, base_url=fake.graph_url,
                       retry=RetryPolicy(max_total_wait=max_total_wait, sleep=recorded.append))


def test_throttled_then_sent_honours_retry_after(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    tenant.throttle["alerts@contoso.com"] = 2
    tenant.retry_after = 7
    sleeps: list[float] = []
    response = make_client(tenant, monkeypatch, sleeps).send_mail("alerts@contoso.com", MESSAGE)
    assert response.status == 202
    assert sleeps == [7.0, 7.0]
    sends = [r for r in tenant.graph_requests() if r.path.endswith("/sendMail")]
    assert len(sends) == 3
    # One logical request keeps one client-request-id across its retries.
    assert len({r.headers["client-request-id"] for r in sends}) == 1
    assert len(tenant.sent) == 1


def test_retry_budget_is_bounded(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    tenant.throttle["alerts@contoso.com"] = 100
    tenant.retry_after = 30
    sleeps: list[float] = []
    with pytest.raises(GraphThrottled) as caught:
        make_client(tenant, monkeypatch, sleeps, max_total_wait=60).send_mail("alerts@contoso.com", MESSAGE)
    assert sum(sleeps) <= 60 and sleeps == [30.0, 30.0]
    assert caught.value.status == 429 and caught.value.retry_after == 30
    assert "30 messages/minute" in caught.value.one_line()
    assert tenant.sent == []


def test_every_graph_request_carries_a_distinct_client_request_id(tenant: FakeTenant,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    client = make_client(tenant, monkeypatch)
    client.send_mail("alerts@contoso.com", MESSAGE)
    list(client.get_paged("/auditLogs/signIns"))
    graph = tenant.graph_requests()
    assert len(graph) >= 2
    ids = [r.headers.get("client-request-id") for r in graph]
    assert all(ids) and len(set(ids)) == len(ids)
    assert all(r.headers["authorization"].startswith("Bearer ") for r in graph)


def test_paging_follows_next_link(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import datetime, timedelta, timezone

    now = datetime.now(timezone.utc)
    tenant.sign_ins = [SignIn(f"user{i}@contoso.com", now - timedelta(hours=i), "203.0.113.9") for i in range(5)]
    tenant.page_size = 2
    items = list(make_client(tenant, monkeypatch).get_paged("/auditLogs/signIns", {"$top": "2"}))
    assert [i["userPrincipalName"] for i in items] == [f"user{i}@contoso.com" for i in range(5)]
    pages = [r for r in tenant.graph_requests() if r.path == "/v1.0/auditLogs/signIns"]
    assert len(pages) == 3
    assert "$skiptoken" not in pages[0].query and pages[1].query["$skiptoken"] == ["2"]


@pytest.mark.parametrize(
    ("mailbox", "error_type", "status", "code", "advice"),
    [
        ("nobody@contoso.com", GraphNotFound, 404, "ErrorInvalidUser", "no such sender"),
        ("ceo@contoso.com", GraphForbidden, 403, "ErrorAccessDenied", "Test-ServicePrincipalAuthorization -Identity"),
    ],
)
def test_typed_errors_and_one_line_messages(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch, mailbox: str,
                                            error_type: type, status: int, code: str, advice: str) -> None:
    with pytest.raises(error_type) as caught:
        make_client(tenant, monkeypatch).send_mail(mailbox, MESSAGE)
    error = caught.value
    assert isinstance(error, GraphError)
    assert (error.status, error.code) == (status, code)
    line = error.one_line(mailbox)
    assert advice in line and "\n" not in line and "client-request-id" in line
    # Graph's own request-id and the Date header: what a Microsoft support case asks for.
    assert error.server_request_id and f"request-id {error.server_request_id}" in line
    assert error.date.endswith("GMT") and f"date {error.date}" in line


def test_missing_permission_is_access_denied_with_advice(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    tenant.apps[APP_ID].roles = ("AuditLog.Read.All",)
    with pytest.raises(GraphForbidden) as caught:
        make_client(tenant, monkeypatch).send_mail("alerts@contoso.com", MESSAGE)
    # The same code as a scope denial: only a same-run 202 tells them apart (verify does that).
    assert caught.value.is_scope_denial and not caught.value.says_scope
    line = caught.value.one_line("alerts@contoso.com", APP_ID)
    assert "grant" not in line.lower()
    assert f"Test-ServicePrincipalAuthorization -Identity {APP_ID} -Resource alerts@contoso.com" in line


def test_bad_header_name_is_a_bad_request(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    message = dict(MESSAGE, internetMessageHeaders=[{"name": "Priority", "value": "1"}])
    with pytest.raises(GraphBadRequest) as caught:
        make_client(tenant, monkeypatch).send_mail("alerts@contoso.com", message)
    assert caught.value.code == "InvalidInternetMessageHeader"
    assert "must start with x-" in caught.value.one_line()


def test_invalid_token_is_unauthorized(tenant: FakeTenant) -> None:
    client = GraphClient(lambda: "not-a-token", base_url=tenant.graph_url, retry=RetryPolicy(sleep=lambda _s: None))
    with pytest.raises(GraphUnauthorized) as caught:
        client.send_mail("alerts@contoso.com", MESSAGE)
    assert "not-a-token" not in caught.value.one_line()


def test_connection_error_is_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    client = GraphClient(lambda: "t", base_url="https://127.0.0.1:9/v1.0", timeout=2,
                         retry=RetryPolicy(sleep=lambda _s: None))
    with pytest.raises(GraphConnectionError) as caught:
        client.send_mail("alerts@contoso.com", MESSAGE)
    assert "no answer from Graph" in caught.value.one_line()


def test_retry_after_http_date() -> None:
    now = 1_800_000_000.0
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after(email.utils.formatdate(now + 20, usegmt=True), now=now) == pytest.approx(20, abs=1)
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_user_path_encodes_the_mailbox() -> None:
    assert user_path("o'brien+x@contoso.com", "/sendMail") == "/users/o%27brien%2Bx@contoso.com/sendMail"


def test_large_attachment_through_upload_session(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    content = os.urandom(700 * 1024)
    response = make_client(tenant, monkeypatch).send_large(
        "alerts@contoso.com", MESSAGE, "report.zip", content, "application/zip", chunk_size=320 * 1024)
    assert response.status == 202
    puts = [r for r in tenant.requests if r.method == "PUT"]
    assert [r.headers["content-range"] for r in puts] == [
        f"bytes 0-{320 * 1024 - 1}/{len(content)}",
        f"bytes {320 * 1024}-{640 * 1024 - 1}/{len(content)}",
        f"bytes {640 * 1024}-{len(content) - 1}/{len(content)}",
    ]
    assert all("authorization" not in r.headers for r in puts)
    attachment = tenant.sent[0]["message"]["attachments"][0]
    assert attachment["sha256"] == hashlib.sha256(content).hexdigest()


def test_upload_session_needs_mail_readwrite(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    tenant.apps[APP_ID].roles = ("Mail.Send",)
    with pytest.raises(GraphForbidden):
        make_client(tenant, monkeypatch).send_large("alerts@contoso.com", MESSAGE, "a.bin", b"x" * 10, "application/octet-stream")
