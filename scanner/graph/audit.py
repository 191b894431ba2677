"""`smtp2graph audit`: who holds Mail.Send, who still signs in with SMTP AUTH, and how that matches the scan."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any, Callable, Generic, Optional, TypeVar
from urllib.parse import quote

from scanner import __version__
from scanner.graph.client import GraphClient
from scanner.graph.errors import (
    NO_PREMIUM_LICENCE,
    REQUEST_DENIED,
    GraphError,
    GraphMalformedResponse,
    GraphTimeout,
)
from scanner.graph.senders import ScannedAccounts
from scanner.graph.verify import iso_utc

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
MAIL_SEND_ROLE_ID = "b633e1c5-b582-4048-a93e-9f11b44c7e96"
SMTP_CLIENT_APP = "Authenticated SMTP"
UNSCANNED_ADVICE = "look elsewhere: devices, other repos, apps"
SILENT_ADVICE = "relay, dead script, or other path"

T = TypeVar("T")


class SectionStatus(str, Enum):
    OK = "ok"
    DEGRADED = "degraded"


@dataclass
class MailSendApp:
    """A service principal holding Microsoft Graph Mail.Send as an application role."""

    display_name: str
    app_id: str
    service_principal_id: str
    granted: str  # ISO date of the role assignment


@dataclass
class SmtpAuthAccount:
    """SMTP AUTH sign-ins of one account over the audited period."""

    account: str
    count: int = 0
    success: int = 0
    failure: int = 0
    last_seen: str = ""
    client_ips: list[str] = field(default_factory=list)


@dataclass
class Section(Generic[T]):
    """One audit section; degraded when a permission or licence is missing, with a message naming it."""

    status: SectionStatus = SectionStatus.OK
    message: str = ""
    items: list[T] = field(default_factory=list)


@dataclass
class UnscannedAccount:
    account: str
    count: int
    advice: str = UNSCANNED_ADVICE


@dataclass
class SilentSender:
    account: str
    scripts: list[str]
    advice: str = SILENT_ADVICE


@dataclass
class Correlation:
    """SMTP AUTH accounts versus what the scanned scripts use."""

    status: SectionStatus = SectionStatus.OK
    message: str = ""
    unscanned_accounts: list[UnscannedAccount] = field(default_factory=list)
    silent_senders: list[SilentSender] = field(default_factory=list)


@dataclass
class AuditReport:
    tenant: str
    generated_at: datetime
    days: int
    mail_send_apps: Section[MailSendApp]
    smtp_auth_signins: Section[SmtpAuthAccount]
    correlation: Optional[Correlation] = None

    def to_json(self) -> dict[str, Any]:
        """The audit JSON contract (schema_version 1) the HTML report renders as a section."""
        return {
            "schema_version": 1,
            "kind": "audit",
            "tool": {"name": "smtp2graph", "version": __version__},
            "tenant": self.tenant,
            "generated_at": iso_utc(self.generated_at),
            "days": self.days,
            "mail_send_apps": {
                "status": self.mail_send_apps.status.value,
                "message": self.mail_send_apps.message,
                "items": [vars(a).copy() for a in self.mail_send_apps.items],
            },
            "smtp_auth_signins": {
                "status": self.smtp_auth_signins.status.value,
                "message": self.smtp_auth_signins.message,
                "items": [dict(vars(a), client_ips=list(a.client_ips)) for a in self.smtp_auth_signins.items],
            },
            "correlation": None if self.correlation is None else {
                "status": self.correlation.status.value,
                "message": self.correlation.message,
                "unscanned_accounts": [vars(u).copy() for u in self.correlation.unscanned_accounts],
                "silent_senders": [dict(vars(s), scripts=list(s.scripts)) for s in self.correlation.silent_senders],
            },
        }


def _aborts_audit(error: GraphError) -> bool:
    """No network at all or a refused token: no section can run, so the audit stops with one line."""
    if isinstance(error, (GraphMalformedResponse, GraphTimeout)):
        return False
    return error.status in (0, 401)


def _degraded_message(error: GraphError, permission: str, read: int = 0) -> str:
    if isinstance(error, (GraphMalformedResponse, GraphTimeout)):
        partial = f"; {read} item(s) read before that, so the list is incomplete" if read else ""
        return f"incomplete: {error.one_line()}{partial}"
    if error.code == NO_PREMIUM_LICENCE:
        return "skipped: reading sign-in logs through Graph needs an Entra ID P1 or P2 licence in the tenant"
    if error.status == 403 or error.code == REQUEST_DENIED:
        return f"skipped: the app lacks {permission} (application permission, admin consent) — grant it and run again"
    return f"skipped: {error.one_line()}"


def list_mail_send_apps(client: GraphClient) -> Section[MailSendApp]:
    """Service principals with the Graph Mail.Send app role (needs Application.Read.All)."""
    section: Section[MailSendApp] = Section()
    path = f"/servicePrincipals(appId='{GRAPH_APP_ID}')/appRoleAssignedTo"
    try:
        assignments = [a for a in client.get_paged(path, {"$top": "999"}) if a.get("appRoleId") == MAIL_SEND_ROLE_ID]
        for assignment in assignments:
            principal_id = str(assignment.get("principalId") or "")
            # The assignment names the principal but not its app id; one lookup per app holding Mail.Send.
            principal = client.request(
                "GET", f"/servicePrincipals/{quote(principal_id, safe='')}", params={"$select": "id,appId,displayName"}
            ).body or {}
            section.items.append(MailSendApp(
                display_name=str(assignment.get("principalDisplayName") or principal.get("displayName") or ""),
                app_id=str(principal.get("appId") or ""),
                service_principal_id=principal_id,
                granted=str(assignment.get("createdDateTime") or ""),
            ))
    except GraphError as error:
        if _aborts_audit(error):
            raise
        return Section(SectionStatus.DEGRADED, _degraded_message(error, "Application.Read.All", len(section.items)),
                       section.items)
    section.items.sort(key=lambda a: (a.display_name.lower(), a.app_id))
    return section


def list_smtp_auth_signins(client: GraphClient, days: int, now: datetime) -> Section[SmtpAuthAccount]:
    """SMTP AUTH sign-ins of the last `days` days per account (needs AuditLog.Read.All and Entra ID P1)."""
    since = iso_utc(now - timedelta(days=days))
    query = {
        "$filter": f"clientAppUsed eq '{SMTP_CLIENT_APP}' and createdDateTime ge {since}",
        "$top": "1000",
    }
    accounts: dict[str, SmtpAuthAccount] = {}
    try:
        for sign_in in client.get_paged("/auditLogs/signIns", query):
            upn = str(sign_in.get("userPrincipalName") or sign_in.get("userId") or "?").lower()
            entry = accounts.setdefault(upn, SmtpAuthAccount(upn))
            entry.count += 1
            raw_status = sign_in.get("status")
            status: dict[str, Any] = raw_status if isinstance(raw_status, dict) else {}
            if _error_code(status) == 0:
                entry.success += 1
            else:
                entry.failure += 1
            created = str(sign_in.get("createdDateTime") or "")
            entry.last_seen = max(entry.last_seen, created)
            ip = str(sign_in.get("ipAddress") or "")
            if ip and ip not in entry.client_ips:
                entry.client_ips.append(ip)
    except GraphError as error:
        if _aborts_audit(error):
            raise
        read = sum(a.count for a in accounts.values())
        return Section(SectionStatus.DEGRADED, _degraded_message(error, "AuditLog.Read.All", read),
                       sorted(accounts.values(), key=lambda a: (-a.count, a.account)))
    items = sorted(accounts.values(), key=lambda a: (-a.count, a.account))
    for item in items:
        item.client_ips.sort()
    return Section(SectionStatus.OK, "", items)


def _error_code(status: dict[str, Any]) -> int:
    """The sign-in's errorCode (0 = success); a value of the wrong type counts as a failure."""
    try:
        return int(status.get("errorCode") or 0)
    except (TypeError, ValueError):
        return -1


def correlate(signins: Section[SmtpAuthAccount], scanned: ScannedAccounts) -> Correlation:
    """Accounts using SMTP AUTH that no script uses, and script accounts never seen signing in."""
    if signins.status is SectionStatus.DEGRADED:
        return Correlation(SectionStatus.DEGRADED, "no sign-in data to correlate: " + signins.message)
    known = scanned.all_accounts()
    seen = {a.account: a for a in signins.items}
    return Correlation(
        SectionStatus.OK,
        "",
        [UnscannedAccount(a.account, a.count) for a in signins.items if a.account not in known],
        [SilentSender(account, sorted(scripts)) for account, scripts in sorted(known.items()) if account not in seen],
    )


def run_audit(
    client: GraphClient,
    *,
    tenant: str,
    days: int,
    scanned: Optional[ScannedAccounts] = None,
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
) -> AuditReport:
    """Run all audit sections; a missing permission degrades its section instead of failing the run."""
    moment = now()
    apps = list_mail_send_apps(client)
    signins = list_smtp_auth_signins(client, days, moment)
    return AuditReport(
        tenant=tenant,
        generated_at=moment,
        days=days,
        mail_send_apps=apps,
        smtp_auth_signins=signins,
        correlation=correlate(signins, scanned) if scanned is not None else None,
    )
