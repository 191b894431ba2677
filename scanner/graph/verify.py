"""`smtp2graph verify`: test-send as each sender, and prove out-of-scope mailboxes are refused.

A verdict is green only when it is proven. A 403 for an `--expect-denied` mailbox proves the app's
scope only when, in the same run and with the same app-only token, a send as an in-scope sender got
202: otherwise the app may have no permission at all, or a delegated token was refused because it
is not the signed-in user (GRAPH_NOTES.md, "Facts that decide verify and audit verdicts").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import TYPE_CHECKING, Any, Callable, Optional

from scanner import __version__
from scanner.graph.claims import MailSendGrant, TokenClaims
from scanner.graph.client import GraphClient, PlannedRequest, user_path
from scanner.graph.errors import (
    NOT_ENABLED_FOR_REST,
    UNKNOWN_SENDER_CODES,
    GraphError,
    GraphForbidden,
    scope_check_commands,
)
from scanner.graph.ratelimit import MailboxRateLimiter

if TYPE_CHECKING:
    from scanner.graph.credentials import CredentialHealth

TEST_HEADER = "X-smtp2graph-test"
# Exchange Online applies RBAC for Applications changes within 30 minutes to 2 hours.
PROPAGATION_WINDOW = timedelta(hours=2)
SCHEMA_VERSION = 2


class Expectation(str, Enum):
    """What the run expects Graph to do for a sender."""

    SEND = "send"
    DENIED = "denied"


class Outcome(str, Enum):
    """What Graph actually did."""

    ACCEPTED = "accepted"  # 202: queued by Graph, not yet delivered
    DELIVERED = "delivered"  # 202, and read back from the --to mailbox (--wait-for-arrival)
    DENIED = "denied"  # 403
    NOT_SCOPED = "not-scoped"  # 202 for a mailbox that should be out of scope
    UNKNOWN_SENDER = "unknown-sender"  # 404 ErrorInvalidUser / ResourceNotFound
    NO_MAILBOX = "no-exchange-mailbox"  # MailboxNotEnabledForRESTAPI
    UNCONFIRMED = "unconfirmed"  # 503/504 or a lost answer: may have been accepted, not retried
    ERROR = "error"


class Verdict(str, Enum):
    """Whether the expectation was proven."""

    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"


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
    verdict: Verdict
    code: str = ""
    request_id: str = ""  # Graph's request-id
    client_request_id: str = ""
    date: str = ""

    @property
    def ok(self) -> bool:
        """True only for a proven expectation."""
        return self.verdict is Verdict.PASS

    def to_json(self) -> dict[str, Any]:
        """The result as in the verify JSON contract."""
        return {
            "sender": self.sender,
            "expectation": self.expectation.value,
            "outcome": self.outcome.value,
            "status": self.status,
            "code": self.code,
            "verdict": self.verdict.value,
            "ok": self.ok,
            "message": self.message,
            "request_id": self.request_id,
            "client_request_id": self.client_request_id,
            "date": self.date,
        }


@dataclass(frozen=True)
class TokenFacts:
    """What the token in use says, as far as verdicts depend on it."""

    delegated: bool
    user: str = ""
    mail_send_role: bool = False
    line: str = ""

    @classmethod
    def from_claims(cls, claims: TokenClaims) -> "TokenFacts":
        """Facts from decoded claims."""
        return cls(claims.delegated, claims.upn, claims.mail_send is MailSendGrant.APPLICATION_ROLE,
                   claims.mail_send_line())

    @property
    def kind(self) -> str:
        return "delegated" if self.delegated else "app-only"


@dataclass
class VerifyReport:
    """All results of one verify run."""

    app_id: str
    tenant: str
    generated_at: datetime
    token: Optional[TokenFacts] = None
    scope_changed_at: Optional[datetime] = None
    results: list[VerifyResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    credentials: Optional["CredentialHealth"] = None
    send_path: str = "graph-client"  # or "smtp2graph-module": who carried the test sends
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (sender, why it was not test-sent)

    @property
    def verdict(self) -> Verdict:
        """fail if any expectation failed, else inconclusive if one was not proven, else pass."""
        if not self.results or any(r.verdict is Verdict.FAIL for r in self.results):
            return Verdict.FAIL
        if any(r.verdict is Verdict.INCONCLUSIVE for r in self.results):
            return Verdict.INCONCLUSIVE
        return Verdict.PASS

    @property
    def ok(self) -> bool:
        """True when every expectation was proven (exit code 0)."""
        return self.verdict is Verdict.PASS

    def to_json(self) -> dict[str, Any]:
        """The verify JSON contract (schema_version 2)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": "verify",
            "tool": {"name": "smtp2graph", "version": __version__},
            "app_id": self.app_id,
            "tenant": self.tenant,
            "generated_at": iso_utc(self.generated_at),
            "verdict": self.verdict.value,
            "token": None if self.token is None else {
                "kind": self.token.kind, "user": self.token.user, "mail_send_role": self.token.mail_send_role,
                "summary": self.token.line,
            },
            "scope_changed_at": iso_utc(self.scope_changed_at) if self.scope_changed_at else None,
            "notes": list(self.notes),
            "credentials": None if self.credentials is None else self.credentials.to_json(),
            "send_path": self.send_path,
            "skipped": [{"sender": sender, "reason": reason} for sender, reason in self.skipped],
            "results": [r.to_json() for r in self.results],
        }


def iso_utc(moment: datetime) -> str:
    """ISO-8601 in UTC with a Z suffix."""
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def build_targets(senders: list[str], expect_denied: list[str]) -> list[VerifyTarget]:
    """Deduplicated targets, in-scope senders first; a mailbox listed as both is expected-denied (the stricter test)."""
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


def test_subject(sender: str, run_id: str = "") -> str:
    """The test message's subject; a run id makes it findable in the recipient mailbox."""
    return f"[smtp2graph test] Graph sendMail check for {sender}" + (f" (run {run_id})" if run_id else "")


def build_test_message(sender: str, to: str, app_id: str, now: datetime, expectation: Expectation,
                       run_id: str = "") -> dict[str, Any]:
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
        "subject": test_subject(sender, run_id),
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


@dataclass
class Attempt:
    """What one test send got back."""

    target: VerifyTarget
    status: Optional[int]
    error: Optional[GraphError]
    mailbox_detail: str = ""  # for MailboxNotEnabledForRESTAPI: unlicensed or on-premises


def describe_missing_mailbox(client: GraphClient, mailbox: str) -> str:
    """Tell an unlicensed user from a hybrid user whose mailbox is still on-premises (needs User.Read.All)."""
    try:
        user = client.request("GET", user_path(mailbox), params={
            "$select": "userPrincipalName,onPremisesSyncEnabled,assignedPlans"}).body
    except GraphError as error:
        return (f"cannot tell unlicensed from on-premises ({error.code}; reading the user needs User.Read.All): "
                f"run in Exchange Online PowerShell: Get-Recipient -Identity {mailbox} | Format-List RecipientTypeDetails "
                "(RemoteUserMailbox or MailUser = mailbox on-premises), and check the user's licences")
    user = user if isinstance(user, dict) else {}
    raw_plans = user.get("assignedPlans")
    plans: list[Any] = raw_plans if isinstance(raw_plans, list) else []
    has_exchange = any(isinstance(p, dict) and p.get("service") == "exchange" and p.get("capabilityStatus") == "Enabled"
                       for p in plans)
    if user.get("onPremisesSyncEnabled"):
        return (f"{mailbox} is synced from on-premises AD and has no Exchange Online mailbox: in a hybrid tenant its "
                "mailbox is most likely still on Exchange Server — move it to Exchange Online (a migration batch) "
                "or send as a cloud mailbox")
    if not has_exchange:
        return (f"{mailbox} is unlicensed for Exchange Online: assign a licence that includes Exchange Online, "
                "or convert it to a shared mailbox (shared mailboxes need no licence)")
    return f"{mailbox} is licensed but its mailbox is inactive or soft-deleted: restore it or use another sender"


def ordered_targets(targets: list[VerifyTarget]) -> list[VerifyTarget]:
    """In-scope senders first, then the mailboxes expected to be denied (their 403 is judged by the 202s)."""
    return ([t for t in targets if t.expectation is Expectation.SEND]
            + [t for t in targets if t.expectation is Expectation.DENIED])


def run_verify(
    client: GraphClient,
    targets: list[VerifyTarget],
    to: str,
    *,
    app_id: str,
    tenant: str,
    token: Optional[TokenFacts] = None,
    scope_changed_at: Optional[datetime] = None,
    limiter: Optional[MailboxRateLimiter] = None,
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    run_id: str = "",
) -> VerifyReport:
    """Test-send once per target (in-scope senders first), rate-limited per mailbox, then judge every answer."""
    limiter = limiter or MailboxRateLimiter()
    started = now()
    attempts: list[Attempt] = []
    for target in ordered_targets(targets):
        limiter.acquire(target.sender)
        message = build_test_message(target.sender, to, app_id, now(), target.expectation, run_id)
        try:
            response = client.send_mail(target.sender, message, save_to_sent_items=False)
        except GraphError as error:
            attempt = Attempt(target, error.status or None, error)
            if error.code == NOT_ENABLED_FOR_REST:
                attempt.mailbox_detail = describe_missing_mailbox(client, target.sender)
            attempts.append(attempt)
        else:
            attempts.append(Attempt(target, response.status, None))
    return judge_attempts(attempts, targets, to, app_id=app_id, tenant=tenant, token=token,
                          scope_changed_at=scope_changed_at, started=started, now=now())


def judge_attempts(attempts: list[Attempt], targets: list[VerifyTarget], to: str, *, app_id: str, tenant: str,
                   token: Optional[TokenFacts], scope_changed_at: Optional[datetime], started: datetime,
                   now: datetime) -> VerifyReport:
    """The report for a run's answers, whichever path sent them (Python client or the generated module)."""
    report = VerifyReport(app_id=app_id, tenant=tenant, generated_at=started, token=token,
                          scope_changed_at=scope_changed_at)
    judge = Judge(token, [a.target.sender for a in attempts
                          if a.target.expectation is Expectation.SEND and a.error is None],
                  scope_changed_at, now, app_id, to)
    report.results = [judge.classify(a) for a in attempts]
    report.notes = judge.notes(targets)
    return report


@dataclass
class Judge:
    """Turns answers into verdicts with what the whole run showed: token kind, same-run 202s, propagation."""

    token: Optional[TokenFacts]
    accepted_senders: list[str]
    scope_changed_at: Optional[datetime]
    now: datetime
    app_id: str
    to: str

    @property
    def delegated(self) -> bool:
        return self.token is not None and self.token.delegated

    def propagating(self) -> Optional[str]:
        """A sentence when the user's RBAC change is younger than the propagation window, else None."""
        if self.scope_changed_at is None:
            return None
        age = self.now - self.scope_changed_at
        if age >= PROPAGATION_WINDOW:
            return None
        minutes = max(0, int(age.total_seconds() // 60))
        until = iso_utc(self.scope_changed_at + PROPAGATION_WINDOW)
        return (f"the scope changed {minutes} min ago, inside Exchange's 30 min - 2 h propagation window: "
                f"Exchange may still apply the old scope — run verify again after {until}")

    def notes(self, targets: list[VerifyTarget]) -> list[str]:
        """Run-wide remarks shown above the table."""
        notes: list[str] = []
        if any(t.expectation is Expectation.DENIED for t in targets) and not any(
                t.expectation is Expectation.SEND for t in targets):
            notes.append("no in-scope sender was tested: add --from <a mailbox the app should send as>, so a 403 for "
                         "--expect-denied can prove the scope")
        if self.delegated:
            notes.append("delegated token: --expect-denied cannot prove the app's scope; run verify with the app's own "
                         "credential (certificate, secret or managed identity)")
        propagating = self.propagating()
        if propagating:
            notes.append(propagating)
        return notes

    def _result(self, attempt: Attempt, outcome: Outcome, message: str, verdict: Verdict) -> VerifyResult:
        error = attempt.error
        return VerifyResult(
            attempt.target.sender, attempt.target.expectation, outcome, attempt.status, message, verdict,
            code=error.code if error else "",
            request_id=error.server_request_id if error else "",
            client_request_id=error.request_id if error else "",
            date=error.date if error else "",
        )

    def _with_ids(self, text: str, error: GraphError) -> str:
        ids = error.support_ids()
        return f"{text} ({ids})" if ids else text

    def classify(self, attempt: Attempt) -> VerifyResult:
        """The verdict for one attempt."""
        if attempt.target.expectation is Expectation.SEND:
            return self._classify_send(attempt)
        return self._classify_denied(attempt)

    def _common_error(self, attempt: Attempt, verdict_if_final: Verdict) -> Optional[VerifyResult]:
        """Answers that mean the same whatever was expected: no such sender, no mailbox, maybe accepted."""
        error = attempt.error
        assert error is not None
        sender = attempt.target.sender
        if error.code in UNKNOWN_SENDER_CODES:
            return self._result(attempt, Outcome.UNKNOWN_SENDER, self._with_ids(error.advice(sender, self.app_id), error),
                                verdict_if_final)
        if error.code == NOT_ENABLED_FOR_REST:
            text = attempt.mailbox_detail or error.advice(sender, self.app_id)
            return self._result(attempt, Outcome.NO_MAILBOX, self._with_ids(f"no Exchange Online mailbox: {text}", error),
                                verdict_if_final)
        if error.maybe_accepted:
            text = (f"{error.code}: Graph may have accepted this message although no 202 came back; not retried, "
                    f"so no duplicate is sent — look for the test message in {self.to} before running again")
            return self._result(attempt, Outcome.UNCONFIRMED, self._with_ids(text, error), Verdict.INCONCLUSIVE)
        return None

    def _classify_send(self, attempt: Attempt) -> VerifyResult:
        sender, error = attempt.target.sender, attempt.error
        if error is None:
            return self._result(attempt, Outcome.ACCEPTED,
                                f"202 accepted: Graph queued the message as {sender} (queued, not yet delivered: "
                                f"check that it arrives in {self.to})", Verdict.PASS)
        common = self._common_error(attempt, Verdict.FAIL)
        if common is not None:
            return common
        if isinstance(error, GraphForbidden):
            if self.delegated:
                user = self.token.user if self.token else ""
                text = (f"{error.code}: a delegated token (signed in as {user or 'a user'}) sends only as that user "
                        "or mailboxes it has SendAs on; run verify with the app's own credential")
                return self._result(attempt, Outcome.DENIED, self._with_ids(text, error), Verdict.FAIL)
            propagating = self.propagating()
            if propagating and error.is_scope_denial:
                return self._result(attempt, Outcome.DENIED, self._with_ids(f"403 {error.code}: {propagating}", error),
                                    Verdict.INCONCLUSIVE)
            return self._result(attempt, Outcome.DENIED, self._with_ids(error.advice(sender, self.app_id), error),
                                Verdict.FAIL)
        return self._result(attempt, Outcome.ERROR, error.one_line(sender, self.app_id), Verdict.FAIL)

    def _classify_denied(self, attempt: Attempt) -> VerifyResult:
        sender, error = attempt.target.sender, attempt.error
        if error is None:
            if self.delegated:
                return self._result(attempt, Outcome.NOT_SCOPED,
                                    f"202: the signed-in user can send as {sender} (SendAs), which says nothing about "
                                    "the app's scope; run verify with the app's own credential", Verdict.INCONCLUSIVE)
            text = (f"NOT SCOPED: the app can send as {sender} — restrict it with RBAC for Applications "
                    "(New-ManagementScope + New-ManagementRoleAssignment) and remove the tenant-wide Mail.Send "
                    "consent, which would otherwise widen any scope")
            propagating = self.propagating()
            if propagating:
                text += f"; note: {propagating}"
            return self._result(attempt, Outcome.NOT_SCOPED, text, Verdict.FAIL)
        common = self._common_error(attempt, Verdict.INCONCLUSIVE)
        if common is not None:
            if common.outcome in (Outcome.UNKNOWN_SENDER, Outcome.NO_MAILBOX):
                common.message = f"inconclusive: a mailbox that cannot send proves no scope — {common.message}"
            return common
        if not (isinstance(error, GraphForbidden) and error.is_scope_denial):
            text = (f"inconclusive: {error.status} {error.code} is not a scope denial, so it proves nothing about the "
                    f"app's scope — {error.advice(sender, self.app_id)}")
            return self._result(attempt, Outcome.DENIED if error.status == 403 else Outcome.ERROR,
                                self._with_ids(text, error), Verdict.INCONCLUSIVE)
        reason = self._why_not_proof()
        if reason:
            return self._result(attempt, Outcome.DENIED, self._with_ids(f"inconclusive: 403 {error.code}, but {reason}",
                                                                        error), Verdict.INCONCLUSIVE)
        proof = ", ".join(self.accepted_senders[:3])
        return self._result(attempt, Outcome.DENIED,
                            f"denied as expected: the same app-only token sent as {proof} (202) in this run, so "
                            f"this 403 {error.code} is the app's scope excluding {sender}", Verdict.PASS)

    def _why_not_proof(self) -> str:
        """Why a scope-denial 403 does not prove the scope in this run ("" when it does)."""
        if self.token is None:
            return "the token could not be read, so it is unknown whether it is app-only"
        if self.delegated:
            return ("the token is delegated: it can send only as the signed-in user or mailboxes it has SendAs on, "
                    "so any other mailbox is refused whatever the app's scope")
        if not self.accepted_senders:
            if not self.token.mail_send_role:
                return ("no send succeeded in this run and the token carries no Mail.Send role: the app may have no "
                        "send permission at all — test an in-scope sender in the same run (--from), and check with "
                        f"{scope_check_commands('<in-scope mailbox>', self.app_id)}")
            return ("no send as an in-scope sender succeeded in this run, so the app may simply be refused "
                    "everywhere — add --from <in-scope mailbox> to the same run")
        propagating = self.propagating()
        if propagating:
            return propagating
        return ""


def confirm_arrival(client: GraphClient, report: VerifyReport, to: str, *, wait: float, run_id: str,
                    sleep: Callable[[float], None], interval: float = 5.0) -> None:
    """Read the accepted test messages back from `to` (needs Mail.Read on it); delivered or inconclusive.

    Only then is a send more than "queued": a 202 that never arrives within `wait` seconds is inconclusive.
    """
    pending = {r.sender: r for r in report.results
               if r.expectation is Expectation.SEND and r.outcome is Outcome.ACCEPTED}
    rounds = max(1, math.ceil(wait / interval))
    for round_number in range(rounds):
        for sender, result in list(pending.items()):
            subject = test_subject(sender, run_id).replace("'", "''")
            try:
                body = client.request("GET", user_path(to, "/messages"), params={
                    "$filter": f"subject eq '{subject}'", "$select": "id,subject,receivedDateTime", "$top": "5"}).body
            except GraphError as error:
                for waiting in pending.values():
                    waiting.verdict = Verdict.INCONCLUSIVE
                    waiting.message = (f"202 accepted, but {to} cannot be read to confirm delivery ({error.status} "
                                       f"{error.code}): the app needs Mail.Read on that mailbox (an Exchange "
                                       "'Application Mail.Read' assignment scoped to it), or check it by hand")
                return
            found = body.get("value") if isinstance(body, dict) else None
            if isinstance(found, list) and found:
                received = found[0].get("receivedDateTime", "?") if isinstance(found[0], dict) else "?"
                result.outcome = Outcome.DELIVERED
                result.message = f"delivered: the test message arrived in {to} at {received}"
                del pending[sender]
        if not pending:
            return
        if round_number < rounds - 1:
            sleep(interval)
    for waiting in pending.values():
        waiting.verdict = Verdict.INCONCLUSIVE
        waiting.message = (f"202 accepted, but the test message did not arrive in {to} within {wait:g} s: still "
                           "queued, delayed or filtered — look for it, then run verify again")
