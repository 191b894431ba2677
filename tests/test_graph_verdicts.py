"""Verify verdicts that are never falsely green (issue 14 items 1-3), against the fake tenant's recommended setup.

The fake models an app scoped with RBAC for Applications (its token has no Mail.Send; Exchange decides
per mailbox), propagation delay, delegated tokens, ResourceNotFound, MailboxNotEnabledForRESTAPI and
gateways that answer 503/504 after taking the message.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from fakes.fixtures import APP_ID, SECRET, TENANT, cert_files, scope_with_rbac, tenant  # noqa: F401
from fakes.tenant import FakeTenant
from scanner.cli import app
from scanner.graph.commands import ConnectionOptions, Runtime, verify_command
from scanner.graph.errors import advice_for
from scanner.graph.formats import OutputFormat
from scanner.graph.senders import parse_address

ROOT = Path(__file__).resolve().parent.parent


def verify(fake: FakeTenant, monkeypatch: pytest.MonkeyPatch, *, senders: list[str] | None = None,
           expect_denied: list[str] | None = None, changed: str | None = None, device_code: bool = False,
           tmp_path: Path | None = None, output: OutputFormat = OutputFormat.JSON,
           wait: float = 0.0) -> tuple[int, Any, str]:
    out, err = io.StringIO(), io.StringIO()
    options = ConnectionOptions(tenant=TENANT, client_id=APP_ID, authority_host=fake.authority_host,
                                graph_url=fake.graph_url)
    if device_code:
        assert tmp_path is not None
        options.device_code = True
        options.token_cache = tmp_path / "cache.json"
    else:
        monkeypatch.setenv("SMTP2GRAPH_CLIENT_SECRET", SECRET)
    code = verify_command(options, senders=senders or [], senders_from=None, to="me@contoso.com",
                          expect_denied=expect_denied or [], dry_run=False, output=output, scope_changed_at=changed,
                          wait_for_arrival=wait, runtime=Runtime(stdout=out, stderr=err, sleep=lambda _s: None))
    text = out.getvalue()
    return code, (json.loads(text) if output is OutputFormat.JSON and text else text), err.getvalue()


def by_sender(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["sender"]: r for r in document["results"]}


def sends(fake: FakeTenant) -> list[str]:
    return [r.path for r in fake.graph_requests() if r.path.endswith("/sendMail")]


# ---- item 1: --expect-denied proves a scope or says it can't ---------------------------------------


def test_rbac_scoped_app_proves_its_scope(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    scope_with_rbac(tenant)
    code, doc, err = verify(tenant, monkeypatch, senders=["alerts@contoso.com"], expect_denied=["ceo@contoso.com"])
    assert code == 0, doc
    # The scoped app's token has no Mail.Send role, and the tool says that is expected.
    assert "no Mail.Send role in the token: expected for an app scoped with RBAC for Applications" in err
    assert doc["token"] == {"kind": "app-only", "user": "", "mail_send_role": False,
                            "summary": doc["token"]["summary"]}
    ceo = by_sender(doc)["ceo@contoso.com"]
    assert (ceo["outcome"], ceo["status"], ceo["verdict"]) == ("denied", 403, "pass")
    assert "same app-only token sent as alerts@contoso.com (202) in this run" in ceo["message"]
    assert [s["mailbox"] for s in tenant.sent] == ["alerts@contoso.com"]


def test_expect_denied_without_a_successful_send_is_inconclusive(tenant: FakeTenant,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    scope_with_rbac(tenant)
    code, doc, _ = verify(tenant, monkeypatch, expect_denied=["ceo@contoso.com"])
    assert code == 3 and doc["verdict"] == "inconclusive"
    ceo = by_sender(doc)["ceo@contoso.com"]
    assert (ceo["outcome"], ceo["verdict"], ceo["ok"]) == ("denied", "inconclusive", False)
    assert "no send succeeded in this run" in ceo["message"]
    assert any("no in-scope sender was tested" in note for note in doc["notes"])


def test_app_with_no_permission_at_all_proves_nothing(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    """The old false green: every 403 looked like "denied as expected" although the app could send as nobody."""
    tenant.apps[APP_ID].roles = ("User.Read.All",)
    tenant.apps[APP_ID].allowed_mailboxes = None
    code, doc, _ = verify(tenant, monkeypatch, senders=["alerts@contoso.com"], expect_denied=["ceo@contoso.com"])
    assert code == 1
    results = by_sender(doc)
    assert results["alerts@contoso.com"]["verdict"] == "fail"
    ceo = results["ceo@contoso.com"]
    assert ceo["verdict"] == "inconclusive"
    assert "the token carries no Mail.Send role: the app may have no send permission at all" in ceo["message"]
    assert f"Test-ServicePrincipalAuthorization -Identity {APP_ID}" in ceo["message"]
    # Only the denied check: inconclusive, exit 3, never 0.
    code, doc, _ = verify(tenant, monkeypatch, expect_denied=["ceo@contoso.com"])
    assert code == 3 and by_sender(doc)["ceo@contoso.com"]["verdict"] == "inconclusive"


def test_delegated_token_cannot_prove_a_scope(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    tenant.apps[APP_ID].public_client = True
    tenant.device_user = "alerts@contoso.com"
    code, doc, err = verify(tenant, monkeypatch, senders=["alerts@contoso.com"], expect_denied=["ceo@contoso.com"],
                            device_code=True, tmp_path=tmp_path)
    assert code == 3
    assert "delegated token for app" in err and "signed in as alerts@contoso.com" in err
    assert doc["token"]["kind"] == "delegated" and doc["token"]["user"] == "alerts@contoso.com"
    results = by_sender(doc)
    assert results["alerts@contoso.com"]["verdict"] == "pass"
    ceo = results["ceo@contoso.com"]
    assert (ceo["status"], ceo["verdict"]) == (403, "inconclusive")
    assert "the token is delegated" in ceo["message"]
    assert any("delegated token: --expect-denied cannot prove" in note for note in doc["notes"])


def test_propagation_window_makes_a_403_inconclusive(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    """reports@ was added to the scope a moment ago: Exchange still applies the old scope (alerts@ only)."""
    app_ = scope_with_rbac(tenant, frozenset({"alerts@contoso.com"}))
    app_.set_exchange_scope({"alerts@contoso.com", "reports@contoso.com"}, effective_in=3600)
    senders, denied = ["alerts@contoso.com", "reports@contoso.com"], ["ceo@contoso.com"]

    code, doc, _ = verify(tenant, monkeypatch, senders=senders, expect_denied=denied, changed="10m")
    assert code == 3
    results = by_sender(doc)
    assert results["alerts@contoso.com"]["verdict"] == "pass"
    for mailbox in ("reports@contoso.com", "ceo@contoso.com"):
        assert results[mailbox]["verdict"] == "inconclusive"
        assert "propagation window" in results[mailbox]["message"] and "run verify again after" in \
            results[mailbox]["message"]
    assert doc["scope_changed_at"] is not None

    # Without the change time, the same refusal of an in-scope sender is a failure with advice that keeps the scope.
    code, doc, _ = verify(tenant, monkeypatch, senders=senders, expect_denied=denied)
    assert code == 1
    reports = by_sender(doc)["reports@contoso.com"]
    assert reports["verdict"] == "fail"
    assert "Test-ServicePrincipalAuthorization -Identity" in reports["message"] and "30 min - 2 h" in reports["message"]
    assert by_sender(doc)["ceo@contoso.com"]["verdict"] == "pass"

    # A change older than the window no longer excuses anything.
    code, doc, _ = verify(tenant, monkeypatch, senders=senders, expect_denied=denied, changed="3h")
    assert code == 1 and by_sender(doc)["reports@contoso.com"]["verdict"] == "fail"


def test_a_403_that_is_not_a_scope_denial_is_inconclusive(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    scope_with_rbac(tenant)
    tenant.send_faults["ceo@contoso.com"] = [(403, "ErrorSendAsDenied")]
    tenant.apps[APP_ID].set_exchange_scope({"alerts@contoso.com", "ceo@contoso.com"})
    code, doc, _ = verify(tenant, monkeypatch, senders=["alerts@contoso.com"], expect_denied=["ceo@contoso.com"])
    assert code == 3
    ceo = by_sender(doc)["ceo@contoso.com"]
    assert ceo["verdict"] == "inconclusive" and "403 ErrorSendAsDenied is not a scope denial" in ceo["message"]


def test_tenant_wide_mail_send_still_fails_expect_denied(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    """Grants add up: an app holding the Entra Mail.Send role is not narrowed by its RBAC scope."""
    scope_with_rbac(tenant)
    tenant.apps[APP_ID].roles = ("Mail.Send",)
    code, doc, err = verify(tenant, monkeypatch, senders=["alerts@contoso.com"], expect_denied=["ceo@contoso.com"])
    assert code == 1
    assert "with RBAC for Applications remove this consent" in err
    ceo = by_sender(doc)["ceo@contoso.com"]
    assert (ceo["outcome"], ceo["verdict"]) == ("not-scoped", "fail")
    assert "remove the tenant-wide Mail.Send consent" in ceo["message"]


# ---- item 2: advice that keeps the scope -------------------------------------------------------------


GRANT_MAIL_SEND = re.compile(r"grant[^.;]*Mail\.Send|Mail\.Send[^.;]*admin consent", re.IGNORECASE)


@pytest.mark.parametrize("status,code,message", [
    (403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."),
    (403, "ErrorAccessDenied", "Access to OData is disabled."),
    (403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."),
    (401, "InvalidAuthenticationToken", "Access token is empty."),
    (404, "ErrorInvalidUser", "The requested user is invalid."),
    (403, "ErrorSendAsDenied", ""),
])
def test_advice_never_grants_tenant_wide_mail_send(status: int, code: str, message: str) -> None:
    advice = advice_for(status, code, message, "alerts@contoso.com", APP_ID)
    assert not GRANT_MAIL_SEND.search(advice), advice


def test_refused_send_prints_a_ready_to_run_check(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    scope_with_rbac(tenant)
    code, doc, _ = verify(tenant, monkeypatch, senders=["ceo@contoso.com"])
    assert code == 1
    message = by_sender(doc)["ceo@contoso.com"]["message"]
    assert f"Test-ServicePrincipalAuthorization -Identity {APP_ID} -Resource ceo@contoso.com | Format-Table" in message
    assert "Test-ApplicationAccessPolicy -Identity ceo@contoso.com" in message
    assert not GRANT_MAIL_SEND.search(message)


def test_docs_never_advise_granting_mail_send() -> None:
    text = (ROOT / "docs" / "verify-audit.md").read_text(encoding="utf-8")
    offending = [line for line in text.splitlines() if GRANT_MAIL_SEND.search(line) and "never" not in line.lower()
                 and "remove" not in line.lower() and "not" not in line.lower()]
    assert offending == []
    assert "Test-ServicePrincipalAuthorization" in text and "inconclusive" in text


# ---- item 3: honest results ----------------------------------------------------------------------------


def test_202_is_accepted_not_ready_for_cut_over(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    scope_with_rbac(tenant)
    code, text, _ = verify(tenant, monkeypatch, senders=["alerts@contoso.com"], output=OutputFormat.TABLE)
    assert code == 0
    assert "202 accepted" in text and "queued" in text and "ready for cut-over" not in text


@pytest.mark.parametrize("code_name", ["ErrorInvalidUser", "ResourceNotFound"])
def test_unknown_sender_either_way(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch, code_name: str) -> None:
    scope_with_rbac(tenant)
    tenant.unknown_user_code = code_name
    code, doc, _ = verify(tenant, monkeypatch, senders=["ghost@contoso.com"])
    assert code == 1
    ghost = by_sender(doc)["ghost@contoso.com"]
    assert (ghost["outcome"], ghost["status"], ghost["code"]) == ("unknown-sender", 404, code_name)
    assert "no such sender" in ghost["message"]


@pytest.mark.parametrize("state,expected", [
    ("unlicensed", "unlicensed for Exchange Online"),
    ("on-premises", "synced from on-premises AD"),
])
def test_mailbox_not_enabled_tells_unlicensed_from_on_premises(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch,
                                                               state: str, expected: str) -> None:
    scope_with_rbac(tenant, frozenset({"alerts@contoso.com", "hybrid@contoso.com"}))
    tenant.mailbox_state["hybrid@contoso.com"] = state
    code, doc, _ = verify(tenant, monkeypatch, senders=["hybrid@contoso.com"])
    assert code == 1
    result = by_sender(doc)["hybrid@contoso.com"]
    assert (result["outcome"], result["code"]) == ("no-exchange-mailbox", "MailboxNotEnabledForRESTAPI")
    assert expected in result["message"]
    other = "synced from on-premises AD" if state == "unlicensed" else "unlicensed for Exchange Online"
    assert other not in result["message"]


def test_mailbox_not_enabled_without_user_read_prints_the_command(tenant: FakeTenant,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    scope_with_rbac(tenant, frozenset({"hybrid@contoso.com"}))
    tenant.apps[APP_ID].roles = ()
    tenant.mailbox_state["hybrid@contoso.com"] = "on-premises"
    _, doc, _ = verify(tenant, monkeypatch, senders=["hybrid@contoso.com"])
    message = by_sender(doc)["hybrid@contoso.com"]["message"]
    assert "cannot tell unlicensed from on-premises" in message
    assert "Get-Recipient -Identity hybrid@contoso.com | Format-List RecipientTypeDetails" in message


def test_every_error_shows_request_id_and_date(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    scope_with_rbac(tenant)
    _, doc, _ = verify(tenant, monkeypatch, senders=["ghost@contoso.com", "ceo@contoso.com"])
    for result in doc["results"]:
        assert re.fullmatch(r"[0-9a-f-]{36}", result["request_id"]), result
        assert result["date"].endswith("GMT")
        assert f"request-id {result['request_id']}" in result["message"]
        assert f"date {result['date']}" in result["message"]


@pytest.mark.parametrize("status,code_name", [(503, "ServiceUnavailable"), (504, "GatewayTimeout")])
def test_no_retry_after_an_answer_that_may_have_been_accepted(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch,
                                                              status: int, code_name: str) -> None:
    scope_with_rbac(tenant)
    tenant.send_faults["alerts@contoso.com"] = [(status, code_name)]
    code, doc, _ = verify(tenant, monkeypatch, senders=["alerts@contoso.com"])
    assert code == 3
    result = by_sender(doc)["alerts@contoso.com"]
    assert (result["outcome"], result["status"], result["verdict"]) == ("unconfirmed", status, "inconclusive")
    assert "not retried" in result["message"] and "me@contoso.com" in result["message"]
    # The gateway took the message: exactly one request, exactly one mail, no duplicate.
    assert len(sends(tenant)) == 1 and len(tenant.sent) == 1


def test_throttled_send_is_still_retried(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    """429 means Graph did nothing: retrying cannot duplicate."""
    scope_with_rbac(tenant)
    tenant.throttle["alerts@contoso.com"] = 1
    code, _, _ = verify(tenant, monkeypatch, senders=["alerts@contoso.com"])
    assert code == 0 and len(sends(tenant)) == 2 and len(tenant.sent) == 1


def test_apostrophe_address_is_valid(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    scope_with_rbac(tenant, frozenset({"o'brien@contoso.com"}))
    tenant.add_mailboxes("o'brien@contoso.com")
    code, doc, _ = verify(tenant, monkeypatch, senders=["o'brien@contoso.com"])
    assert code == 0 and by_sender(doc)["o'brien@contoso.com"]["outcome"] == "accepted"
    assert tenant.sent[0]["mailbox"] == "o'brien@contoso.com"
    assert parse_address("'O''Brien <o''brien@contoso.com>'") == "o'brien@contoso.com"
    assert parse_address('"o\'brien@contoso.com"') == "o'brien@contoso.com"
    assert parse_address("o'brien@contoso'.com") is None


def test_expired_secret_is_explained(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import datetime, timedelta, timezone

    tenant.apps[APP_ID].secret_expires = datetime.now(timezone.utc) - timedelta(days=1)
    code, _, err = verify(tenant, monkeypatch, senders=["alerts@contoso.com"])
    assert code == 2
    assert "AADSTS7000222" in err and "the client secret has expired" in err and SECRET not in err


def test_cli_exit_code_3_and_scope_changed_at(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    scope_with_rbac(tenant)
    monkeypatch.setenv("SMTP2GRAPH_CLIENT_SECRET", SECRET)
    base = ["verify", "--tenant", TENANT, "--client-id", APP_ID, "--to", "me@contoso.com",
            "--authority-host", tenant.authority_host, "--graph-url", tenant.graph_url]
    result = CliRunner().invoke(app, base + ["--expect-denied", "ceo@contoso.com"])
    assert result.exit_code == 3, result.output
    assert "INCONCLUSIVE denied" in result.stdout and "verdict: INCONCLUSIVE" in result.stdout
    result = CliRunner().invoke(app, base + ["--from", "alerts@contoso.com", "--expect-denied", "ceo@contoso.com",
                                             "--scope-changed-at", "2020-01-01T00:00Z"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(app, base + ["--from", "alerts@contoso.com", "--scope-changed-at", "yesterday"])
    assert result.exit_code == 2 and "--scope-changed-at yesterday" in result.output


# ---- item 3 (optional part): wait for the test message to arrive ----------------------------------------


def test_wait_for_arrival_reads_the_message_back(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    scope_with_rbac(tenant).exchange_read_mailboxes.add("me@contoso.com")
    code, doc, _ = verify(tenant, monkeypatch, senders=["alerts@contoso.com"], wait=30)
    assert code == 0
    result = by_sender(doc)["alerts@contoso.com"]
    assert (result["outcome"], result["verdict"]) == ("delivered", "pass")
    assert "arrived in me@contoso.com" in result["message"]
    reads = [r for r in tenant.graph_requests() if r.method == "GET" and r.path == "/v1.0/users/me@contoso.com/messages"]
    assert reads and "(run " in reads[0].query["$filter"][0]


def test_a_message_that_never_arrives_is_inconclusive(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    scope_with_rbac(tenant).exchange_read_mailboxes.add("me@contoso.com")
    tenant.deliver_mail = False
    code, doc, _ = verify(tenant, monkeypatch, senders=["alerts@contoso.com"], wait=20)
    assert code == 3
    result = by_sender(doc)["alerts@contoso.com"]
    assert (result["outcome"], result["verdict"]) == ("accepted", "inconclusive")
    assert "did not arrive in me@contoso.com within 20 s" in result["message"]
    reads = [r for r in tenant.graph_requests() if r.method == "GET" and r.path.endswith("/messages")]
    assert len(reads) == 4  # every 5 s for 20 s, no more


def test_an_unreadable_recipient_is_inconclusive(tenant: FakeTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    scope_with_rbac(tenant)
    code, doc, _ = verify(tenant, monkeypatch, senders=["alerts@contoso.com"], wait=10)
    assert code == 3
    assert "needs Mail.Read on that mailbox" in by_sender(doc)["alerts@contoso.com"]["message"]
