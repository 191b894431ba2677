"""`smtp2graph verify`: test-send as each sender, and prove out-of-scope mailboxes are refused."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any, Callable, Optional

from scanner import __version__
from scanner.graph.client import GraphClient, PlannedRequest, user_path
from scanner.graph.errors import GraphError, GraphForbidden, GraphNotFound, INVALID_USER
from scanner.graph.ratelimit import MailboxRateLimiter

TEST_HEADER = "X-smtp2graph-test"


class Expectation(str, Enum):
    """What the run expects Graph to do for a sender."""

    SEND = "send"
    DENIED = "denied"


class Outcome(str, Enum):
    """What Graph actually did."""

    SENT = "sent"
    DENIED = "denied"
    NOT_SCOPED = "not-scoped"
    UNKNOWN_SENDER = "unknown-sender"
    ERROR = "error"


@dataclass(frozen=True)
class VerifyTarget:
    """One mailbox to test and what we expect."""

    sender: str
    expectation: Expectation


@dataclass
class VerifyResult:
    """The verdict for one mailbox."""

    sender: str
    expectation: Expectation
    outcome: Outcome
    status: Optional[int]
    message: str
    ok: bool

    def to_json(self) -> dict[str, Any]:
        """The result as in the verify JSON contract."""
        return {
            "sender": self.sender,
            "expectation": self.expectation.value,
            "outcome": self.outcome.value,
            "status": self.status,
            "message": self.message,
            "ok": self.ok,
        }


@dataclass
class VerifyReport:
    """All results of one verify run."""

    app_id: str
    tenant: str
    generated_at: datetime
    results: list[VerifyResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every expectation held (exit code 0)."""
        return bool(self.results) and all(r.ok for r in self.results)

    def to_json(self) -> dict[str, Any]:
        """The verify JSON contract (schema_version 1)."""
        return {
            "schema_version": 1,
            "kind": "verify",
            "tool": {"name": "smtp2graph", "version": __version__},
            "app_id": self.app_id,
            "tenant": self.tenant,
            "generated_at": iso_utc(self.generated_at),
            "results": [r.to_json() for r in self.results],
        }


def iso_utc(moment: datetime) -> str:
    """ISO-8601 in UTC with a Z suffix."""
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def build_targets(senders: list[str], expect_denied: list[str]) -> list[VerifyTarget]:
    """Deduplicated targets; a mailbox listed as both is treated as expected-denied (the stricter test)."""
    denied = {m.strip().lower() for m in expect_denied if m.strip()}
    targets: list[VerifyTarget] = []
    seen: set[str] = set()
    for sender in senders:
        key = sender.strip().lower()
        if key and key not in seen and key not in denied:
            seen.add(key)
            targets.append(VerifyTarget(key, Expectation.SEND))
    for mailbox in expect_denied:
        key = mailbox.strip().lower()
        if key and key not in seen:
            seen.add(key)
            targets.append(VerifyTarget(key, Expectation.DENIED))
    return targets


def build_test_message(sender: str, to: str, app_id: str, now: datetime, expectation: Expectation) -> dict[str, Any]:
    """A clearly labelled Graph message: the subject says it is a smtp2graph test, the body names the app and time."""
    purpose = (
        "This mailbox should be OUT of the app's scope; if you received this, the scope does not hold."
        if expectation is Expectation.DENIED
        else "It proves the app can send as this mailbox through Microsoft Graph sendMail."
    )
    body = "\n".join([
        "This is a smtp2graph test message. You can delete it.",
        purpose,
        "",
        f"Sender mailbox: {sender}",
        f"App (client) id: {app_id}",
        f"Sent at (UTC): {iso_utc(now)}",
        f"Tool: smtp2graph {__version__}",
    ])
    return {
        "subject": f"[smtp2graph test] Graph sendMail check for {sender}",
        "body": {"contentType": "Text", "content": body},
        "toRecipients": [{"emailAddress": {"address": to}}],
        "internetMessageHeaders": [{"name": TEST_HEADER, "value": "verify"}],
    }


def plan_requests(client: GraphClient, targets: list[VerifyTarget], to: str, app_id: str,
                  now: datetime) -> list[PlannedRequest]:
    """The exact requests a run would send, with Authorization masked; touches no network and no token."""
    return [
        PlannedRequest(
            "POST",
            client.url(user_path(t.sender, "/sendMail")),
            {"Authorization": "Bearer ***", "Content-Type": "application/json", "client-request-id": "<new uuid per request>"},
            {"message": build_test_message(t.sender, to, app_id, now, t.expectation), "saveToSentItems": False},
        )
        for t in targets
    ]


def classify(target: VerifyTarget, status: Optional[int], error: Optional[GraphError]) -> VerifyResult:
    """Turn a Graph answer (202 or an error) into the verdict for this target."""
    sender, expectation = target.sender, target.expectation
    if error is None:
        if expectation is Expectation.SEND:
            return VerifyResult(sender, expectation, Outcome.SENT, status, "sent (202 Accepted): ready for cut-over", True)
        return VerifyResult(
            sender, expectation, Outcome.NOT_SCOPED, status,
            f"NOT SCOPED: the app can send as {sender} — restrict it with RBAC for Applications "
            "(New-ManagementScope + New-ManagementRoleAssignment) and remove tenant-wide Mail.Send consent",
            False,
        )
    if isinstance(error, GraphNotFound) and (error.code == INVALID_USER or "user" in error.message.lower()):
        return VerifyResult(sender, expectation, Outcome.UNKNOWN_SENDER, error.status, error.advice(sender), False)
    if isinstance(error, GraphForbidden):
        if expectation is Expectation.DENIED:
            return VerifyResult(
                sender, expectation, Outcome.DENIED, error.status,
                f"denied as expected ({error.code}): the app's scope excludes {sender}", True,
            )
        return VerifyResult(sender, expectation, Outcome.DENIED, error.status, error.advice(sender), False)
    return VerifyResult(sender, expectation, Outcome.ERROR, error.status or None, error.one_line(sender), False)


def run_verify(
    client: GraphClient,
    targets: list[VerifyTarget],
    to: str,
    *,
    app_id: str,
    tenant: str,
    limiter: Optional[MailboxRateLimiter] = None,
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
) -> VerifyReport:
    """Test-send once per target, rate-limited per mailbox, and classify each answer."""
    limiter = limiter or MailboxRateLimiter()
    report = VerifyReport(app_id=app_id, tenant=tenant, generated_at=now())
    for target in targets:
        limiter.acquire(target.sender)
        message = build_test_message(target.sender, to, app_id, now(), target.expectation)
        try:
            response = client.send_mail(target.sender, message, save_to_sent_items=False)
        except GraphError as error:
            report.results.append(classify(target, None, error))
        else:
            report.results.append(classify(target, response.status, None))
    return report
