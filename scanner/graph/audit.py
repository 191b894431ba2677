"""`smtp2graph audit`: who can send, who still uses SMTP AUTH, and how that matches the scanned scripts.

Sections: Entra Mail.Send application grants, delegated Mail.Send grants, Exchange-side scoping (RBAC
for Applications / application access policies: Graph cannot read them, so the exact Exchange Online
PowerShell commands are printed), SMTP AUTH sign-ins, the email app usage report, the SMTP AUTH
switches (commands), and a per-script correlation. A section that cannot be read is `degraded` with
the reason; one unreadable row marks only that row.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any, Callable, Generic, Optional, TypeVar
from urllib.parse import quote

from scanner import __version__
from scanner.graph.audit_ews import EwsApp, EwsScriptApp, correlate_ews, ews_switch_commands, list_ews_apps
from scanner.graph.audit_ews import EWS_DELEGATED_SCOPE, EWS_SWITCH_MESSAGE, EXCHANGE_ONLINE_APP_ID
from scanner.graph.client import GraphClient
from scanner.graph.clouds import SIGN_IN_LOGS, USAGE_REPORT, CloudEndpoints, CLOUDS, Cloud
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
MAIL_SEND_SCOPES = frozenset({"Mail.Send", "Mail.Send.Shared"})
SMTP_CLIENT_APP = "Authenticated SMTP"
SIGN_IN_DAYS_MAX = 30  # Entra ID keeps sign-in logs 30 days (P1/P2)
USAGE_PERIODS = (7, 30, 90, 180)
UNSCANNED_ADVICE = "look elsewhere: devices, other repos, apps"
SPRAY_ADVICE = ("possible password spray: every SMTP AUTH sign-in failed — check the client IPs, and turn SMTP AUTH "
                "off for this mailbox (Set-CASMailbox -Identity {account} -SmtpClientAuthenticationDisabled $true)")
SILENT_ADVICE = "relay, dead script, or other path"
SCHEMA_VERSION = 2

EXCHANGE_SCOPING_COMMANDS = (
    "Connect-ExchangeOnline",
    "Get-ServicePrincipal | Format-Table DisplayName,AppId,ObjectId",
    "Get-ManagementRoleAssignment -RoleAssigneeType ServicePrincipal | Where-Object { $_.Role -like 'Application Mail*' } "
    "| Format-Table Name,Role,RoleAssignee,CustomResourceScope",
    "Get-ManagementScope | Format-Table Name,RecipientRestrictionFilter",
    "Get-ApplicationAccessPolicy | Format-Table AppId,PolicyScopeGroupId,AccessRight,Description",
)
SMTP_SWITCH_COMMANDS = (
    "Connect-ExchangeOnline",
    "Get-TransportConfig | Format-List SmtpClientAuthenticationDisabled",
    "Get-CASMailbox -ResultSize Unlimited | Where-Object { $_.SmtpClientAuthenticationDisabled -ne $true } "
    "| Format-Table PrimarySmtpAddress,SmtpClientAuthenticationDisabled",
)

T = TypeVar("T")


class SectionStatus(str, Enum):
    OK = "ok"
    DEGRADED = "degraded"
    UNAVAILABLE = "unavailable"  # the cloud does not offer it
    COMMANDS = "commands"  # Graph cannot read it: the commands to run are given


@dataclass
class MailSendApp:
    """A service principal holding Microsoft Graph Mail.Send as an application role."""

    display_name: str
    app_id: str
    service_principal_id: str
    granted: str  # ISO date of the role assignment
    note: str = ""  # set when this principal could not be read


@dataclass
class DelegatedGrant:
    """An oauth2PermissionGrant giving a client delegated Mail.Send on Microsoft Graph."""

    client_display_name: str
    client_app_id: str
    client_service_principal_id: str
    consent_type: str  # AllPrincipals (admin consent for everyone) or Principal (one user)
    principal_id: str
    scope: str
    note: str = ""


@dataclass
class SmtpAuthAccount:
    """SMTP AUTH sign-ins of one account over the audited period."""

    account: str
    count: int = 0
    success: int = 0
    failure: int = 0
    last_seen: str = ""
    client_ips: list[str] = field(default_factory=list)

    @property
    def all_failed(self) -> bool:
        return self.count > 0 and self.success == 0


@dataclass
class UsageRow:
    """One account the email app usage report shows using SMTP."""

    account: str
    display_name: str
    last_activity: str


@dataclass
class Section(Generic[T]):
    """One audit section; degraded when a permission or licence is missing, with a message naming it."""

    status: SectionStatus = SectionStatus.OK
    message: str = ""
    items: list[T] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"status": self.status.value, "message": self.message,
                                "items": [_plain(item) for item in self.items]}
        if self.commands:
            data["commands"] = list(self.commands)
        return data


def _plain(item: Any) -> Any:
    if isinstance(item, str):
        return item
    return {k: list(v) if isinstance(v, list) else v for k, v in vars(item).items()}


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
class ScriptActivity:
    """What the tenant shows for one scanned script's accounts (sender and credential account)."""

    script: str
    accounts: list[str]
    state: str  # active / failing / no-evidence / unknown
    evidence: str


@dataclass
class Correlation:
    """SMTP AUTH accounts versus what the scanned scripts use."""

    status: SectionStatus = SectionStatus.OK
    message: str = ""
    unscanned_accounts: list[UnscannedAccount] = field(default_factory=list)
    silent_senders: list[SilentSender] = field(default_factory=list)
    scripts: list[ScriptActivity] = field(default_factory=list)


@dataclass
class AuditReport:
    tenant: str
    generated_at: datetime
    days: int
    mail_send_apps: Section[MailSendApp]
    smtp_auth_signins: Section[SmtpAuthAccount]
    correlation: Optional[Correlation] = None
    delegated_mail_send: Section[DelegatedGrant] = field(default_factory=Section)
    exchange_scoping: Section[str] = field(default_factory=Section)
    email_app_usage: Section[UsageRow] = field(default_factory=Section)
    smtp_auth_switches: Section[str] = field(default_factory=Section)
    # The EWS retirement (issue 24): apps with EWS / SMTP OAuth permissions, the EWS switches, scripts per app.
    ews_apps: Section[EwsApp] = field(default_factory=Section)
    ews_switches: Section[str] = field(default_factory=Section)
    ews_correlation: Optional[Section[EwsScriptApp]] = None
    cloud: str = Cloud.GLOBAL.value
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The audit JSON contract (schema_version 2) the HTML report renders as a section."""
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": "audit",
            "tool": {"name": "smtp2graph", "version": __version__},
            "tenant": self.tenant,
            "cloud": self.cloud,
            "generated_at": iso_utc(self.generated_at),
            "days": self.days,
            "notes": list(self.notes),
            "mail_send_apps": self.mail_send_apps.to_json(),
            "delegated_mail_send": self.delegated_mail_send.to_json(),
            "exchange_scoping": self.exchange_scoping.to_json(),
            "smtp_auth_signins": self.smtp_auth_signins.to_json(),
            "email_app_usage": self.email_app_usage.to_json(),
            "smtp_auth_switches": self.smtp_auth_switches.to_json(),
            "ews_apps": self.ews_apps.to_json(),
            "ews_switches": self.ews_switches.to_json(),
            "ews_correlation": None if self.ews_correlation is None else self.ews_correlation.to_json(),
            "correlation": None if self.correlation is None else {
                "status": self.correlation.status.value,
                "message": self.correlation.message,
                "unscanned_accounts": [vars(u).copy() for u in self.correlation.unscanned_accounts],
                "silent_senders": [dict(vars(s), scripts=list(s.scripts)) for s in self.correlation.silent_senders],
                "scripts": [_plain(s) for s in self.correlation.scripts],
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
        return (f"skipped: the token lacks {permission} — grant it with admin consent (an application permission for "
                "app-only sign-in, a delegated one for --device-code) and run again")
    return f"skipped: {error.one_line()}"


def _principal(client: GraphClient, principal_id: str) -> tuple[dict[str, Any], str]:
    """A service principal's id / appId / displayName, or a note saying why it could not be read."""
    try:
        body = client.request("GET", f"/servicePrincipals/{quote(principal_id, safe='')}",
                              params={"$select": "id,appId,displayName"}).body
    except GraphError as error:
        if _aborts_audit(error):
            raise
        return {}, f"unreadable: {error.status} {error.code} (request-id {error.server_request_id or '?'})"
    return (body if isinstance(body, dict) else {}), ""


def list_mail_send_apps(client: GraphClient) -> Section[MailSendApp]:
    """Service principals with the Graph Mail.Send app role (needs Application.Read.All)."""
    section: Section[MailSendApp] = Section()
    path = f"/servicePrincipals(appId='{GRAPH_APP_ID}')/appRoleAssignedTo"
    try:
        assignments = [a for a in client.get_paged(path, {"$top": "999"}) if a.get("appRoleId") == MAIL_SEND_ROLE_ID]
        for assignment in assignments:
            principal_id = str(assignment.get("principalId") or "")
            # The assignment names the principal but not its app id; one lookup per app holding Mail.Send.
            principal, note = _principal(client, principal_id)
            section.items.append(MailSendApp(
                display_name=str(assignment.get("principalDisplayName") or principal.get("displayName") or ""),
                app_id=str(principal.get("appId") or ""),
                service_principal_id=principal_id,
                granted=str(assignment.get("createdDateTime") or ""),
                note=note,
            ))
    except GraphError as error:
        if _aborts_audit(error):
            raise
        return Section(SectionStatus.DEGRADED, _degraded_message(error, "Application.Read.All", len(section.items)),
                       section.items)
    section.items.sort(key=lambda a: (a.display_name.lower(), a.app_id))
    unreadable = sum(1 for a in section.items if a.note)
    if unreadable:
        section.message = f"{unreadable} principal(s) could not be read: their rows say why"
    return section


def list_delegated_mail_send(client: GraphClient) -> Section[DelegatedGrant]:
    """oauth2PermissionGrants on Microsoft Graph whose scope includes Mail.Send (delegated sending)."""
    section: Section[DelegatedGrant] = Section()
    try:
        graph = client.request("GET", f"/servicePrincipals(appId='{GRAPH_APP_ID}')", params={"$select": "id"}).body
        graph_id = str(graph.get("id") or "") if isinstance(graph, dict) else ""
        if not graph_id:
            raise GraphMalformedResponse(200, "WrongShape", "the Microsoft Graph service principal has no id")
        for grant in client.get_paged("/oauth2PermissionGrants", {"$filter": f"resourceId eq '{graph_id}'"}):
            scopes = set(str(grant.get("scope") or "").split())
            if not scopes & MAIL_SEND_SCOPES:
                continue
            client_id = str(grant.get("clientId") or "")
            principal, note = _principal(client, client_id)
            section.items.append(DelegatedGrant(
                client_display_name=str(principal.get("displayName") or ""),
                client_app_id=str(principal.get("appId") or ""),
                client_service_principal_id=client_id,
                consent_type=str(grant.get("consentType") or ""),
                principal_id=str(grant.get("principalId") or ""),
                scope=" ".join(sorted(scopes & MAIL_SEND_SCOPES)),
                note=note,
            ))
    except GraphError as error:
        if _aborts_audit(error):
            raise
        return Section(SectionStatus.DEGRADED, _degraded_message(error, "Directory.Read.All", len(section.items)),
                       section.items)
    section.items.sort(key=lambda g: (g.client_display_name.lower(), g.consent_type, g.principal_id))
    return section


def exchange_scoping(apps: Section[MailSendApp], scanned: Optional[ScannedAccounts]) -> Section[str]:
    """RBAC for Applications assignments and access policies live in Exchange Online: the commands that list them."""
    commands = list(EXCHANGE_SCOPING_COMMANDS)
    mailbox = sorted(scanned.senders)[0] if scanned is not None and scanned.senders else "<mailbox>"
    for app in apps.items:
        if app.app_id:
            commands.append(f"Test-ServicePrincipalAuthorization -Identity {app.app_id} -Resource {mailbox} "
                            "| Format-Table")
    if len(commands) == len(EXCHANGE_SCOPING_COMMANDS):
        commands.append(f"Test-ServicePrincipalAuthorization -Identity <app id> -Resource {mailbox} | Format-Table")
    return Section(SectionStatus.COMMANDS,
                   "Graph cannot read Exchange Online RBAC for Applications assignments or application access "
                   "policies (an app scoped that way holds no Entra Mail.Send, so it is not in the first section): "
                   "run these in Exchange Online PowerShell", [], commands)


def list_smtp_auth_signins(client: GraphClient, days: int, now: datetime) -> Section[SmtpAuthAccount]:
    """SMTP AUTH sign-ins of the last `days` days per account (needs AuditLog.Read.All and Entra ID P1)."""
    since = iso_utc(now - timedelta(days=min(days, SIGN_IN_DAYS_MAX)))
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
    message = f"sign-in logs cover at most {SIGN_IN_DAYS_MAX} days" if days > SIGN_IN_DAYS_MAX else ""
    return Section(SectionStatus.OK, message, items)


def _error_code(status: dict[str, Any]) -> int:
    """The sign-in's errorCode (0 = success); a value of the wrong type counts as a failure."""
    try:
        return int(status.get("errorCode") or 0)
    except (TypeError, ValueError):
        return -1


def usage_period(days: int) -> str:
    """The report period (D7, D30, D90, D180) that covers `days`."""
    return f"D{next((p for p in USAGE_PERIODS if p >= days), USAGE_PERIODS[-1])}"


def list_email_app_usage(client: GraphClient, days: int) -> Section[UsageRow]:
    """Accounts the Microsoft 365 email app usage report shows using SMTP (Reports.Read.All; no Entra P1 needed)."""
    period = usage_period(days)
    try:
        answer = client.request("GET", f"/reports/getEmailAppUsageUserDetail(period='{period}')", expect_json=False)
        content = answer.content
        if 300 <= answer.status < 400:
            location = next((v for k, v in answer.headers.items() if k.lower() == "location"), "")
            if not location.startswith("https://"):
                raise GraphMalformedResponse(answer.status, "WrongShape", "the report redirect is not an https URL")
            # A pre-authenticated download URL: never send the token there.
            content = client.request("GET", location, authenticated=False, expect_json=False).content
    except GraphError as error:
        if _aborts_audit(error):
            raise
        return Section(SectionStatus.DEGRADED, _degraded_message(error, "Reports.Read.All"))
    text = content.decode("utf-8-sig", errors="replace")
    rows = list(csv.DictReader(io.StringIO(text)))
    if rows and ("SMTP App" not in rows[0] or "User Principal Name" not in rows[0]):
        return Section(SectionStatus.DEGRADED, "incomplete: the usage report has no 'SMTP App' / 'User Principal "
                                               "Name' column")
    if not text.strip():
        return Section(SectionStatus.DEGRADED, "incomplete: the usage report was empty")
    items = [UsageRow(str(r.get("User Principal Name") or "").lower(), str(r.get("Display Name") or ""),
                      str(r.get("Last Activity Date") or ""))
             for r in rows if str(r.get("SMTP App") or "").strip().lower() in ("yes", "true", "1")]
    items.sort(key=lambda r: r.account)
    concealed = any("@" not in str(r.get("User Principal Name") or "@") for r in rows)
    message = f"period {period}"
    if concealed:
        message += (" — user names are CONCEALED by the tenant's privacy setting (Microsoft 365 admin center > "
                    "Settings > Org settings > Reports: 'Display concealed user, group, and site names in all "
                    "reports'): turn it off to match these rows with the scan")
    return Section(SectionStatus.OK, message, items)


def smtp_auth_switches(scanned: Optional[ScannedAccounts]) -> Section[str]:
    """The per-mailbox and org-wide SMTP AUTH switches: readable only in Exchange Online PowerShell."""
    commands = list(SMTP_SWITCH_COMMANDS)
    if scanned is not None:
        for account in sorted(scanned.all_accounts()):
            commands.append(f"Get-CASMailbox -Identity {account} | Format-List SmtpClientAuthenticationDisabled")
    return Section(SectionStatus.COMMANDS, "Graph cannot read the SMTP AUTH switches: run these in Exchange Online "
                   "PowerShell (a mailbox value of $null follows the org-wide setting)", [], commands)


def correlate(signins: Section[SmtpAuthAccount], scanned: ScannedAccounts,
              usage: Optional[Section[UsageRow]] = None) -> Correlation:
    """Accounts using SMTP AUTH that no script uses, script accounts never seen, and each script's evidence."""
    usage_accounts = {row.account for row in usage.items} if usage is not None and \
        usage.status is SectionStatus.OK else set()
    if signins.status is not SectionStatus.OK and not usage_accounts:
        return Correlation(SectionStatus.DEGRADED, "no sign-in data to correlate: " + signins.message)
    known = scanned.all_accounts()
    seen = {a.account: a for a in signins.items} if signins.status is SectionStatus.OK else {}
    unscanned = []
    for account in signins.items if signins.status is SectionStatus.OK else []:
        if account.account in known:
            continue
        advice = SPRAY_ADVICE.format(account=account.account) if account.all_failed else UNSCANNED_ADVICE
        unscanned.append(UnscannedAccount(account.account, account.count, advice))
    silent = [SilentSender(account, sorted(scripts)) for account, scripts in sorted(known.items())
              if account not in seen and account not in usage_accounts]
    message = "" if signins.status is SectionStatus.OK else (
        "sign-in logs unreadable; the scripts are matched with the usage report only: " + signins.message)
    return Correlation(SectionStatus.OK, message, unscanned, silent,
                       _script_activity(scanned, seen, usage_accounts))


def _script_activity(scanned: ScannedAccounts, seen: dict[str, SmtpAuthAccount],
                     usage_accounts: set[str]) -> list[ScriptActivity]:
    """Per script: its sender and credential accounts, and whether the tenant shows them using SMTP AUTH."""
    by_script: dict[str, list[str]] = {}
    for source in (scanned.senders, scanned.credential_users):
        for account, scripts in source.items():
            for script in scripts:
                accounts = by_script.setdefault(script, [])
                if account not in accounts:
                    accounts.append(account)
    rows = []
    for script, accounts in sorted(by_script.items()):
        evidence, state = [], "no-evidence"
        for account in accounts:
            entry = seen.get(account)
            if entry is not None and entry.success:
                evidence.append(f"{account}: {entry.success} successful SMTP AUTH sign-in(s), last {entry.last_seen}")
                state = "active"
            elif entry is not None:
                evidence.append(f"{account}: {entry.failure} SMTP AUTH sign-in(s), all failed "
                                "(a broken script, or a password spray against the account)")
                state = "failing" if state != "active" else state
            if account in usage_accounts:
                evidence.append(f"{account}: SMTP in the email app usage report")
                state = "active"
        rows.append(ScriptActivity(script, accounts, state,
                                   "; ".join(evidence) or "no SMTP AUTH sign-in or usage for its accounts"))
    return rows


def ews_sections(client: GraphClient, scanned: Optional[ScannedAccounts]) -> tuple[Section[EwsApp], Section[str], Optional[Section[EwsScriptApp]]]:
    """Apps holding EWS / SMTP OAuth permissions, the EWS switch commands, and the scanned EWS scripts per app."""
    try:
        apps, _ = list_ews_apps(client)
        section: Section[EwsApp] = Section(SectionStatus.OK, "", apps)
        unreadable = sum(1 for a in apps if a.note)
        if unreadable:
            section.message = f"{unreadable} principal(s) could not be read: their rows say why"
    except GraphError as error:
        if _aborts_audit(error):
            raise
        section = Section(SectionStatus.DEGRADED, _degraded_message(error, "Application.Read.All (Directory.Read.All for delegated grants)"))
    mailboxes = sorted(scanned.ews_senders) if scanned is not None else []
    switches: Section[str] = Section(SectionStatus.COMMANDS, EWS_SWITCH_MESSAGE, [], ews_switch_commands(mailboxes))
    correlation: Optional[Section[EwsScriptApp]] = None
    if scanned is not None:
        rows = correlate_ews(section.items, scanned.ews_app_ids, scanned.ews_scripts)
        status = SectionStatus.OK if section.status is SectionStatus.OK else SectionStatus.DEGRADED
        message = "" if status is SectionStatus.OK else "the EWS apps could not be read: " + section.message
        correlation = Section(status, message, rows)
    return section, switches, correlation


@dataclass(frozen=True)
class PlannedRead:
    """One read `audit` makes, for `audit --dry-run`: the section it fills, the request and what it needs."""

    section: str
    method: str
    url: str
    permission: str
    note: str = ""

    def to_json(self) -> dict[str, str]:
        return {"section": self.section, "method": self.method, "url": self.url, "permission": self.permission,
                "note": self.note}


def audit_plan(graph_url: str, *, days: int, now: datetime, cloud: Optional[CloudEndpoints] = None) -> list[PlannedRead]:
    """Every Graph read `audit` makes, in the order it makes them (a dry run shows them and sends none).
    The audit's own requests are kept in step with this list by a test that runs both against the fake tenant."""
    cloud = cloud or CLOUDS[Cloud.GLOBAL]
    base = graph_url.rstrip("/")
    graph_sp = f"{base}/servicePrincipals(appId='{GRAPH_APP_ID}')"
    exchange_sp = f"{base}/servicePrincipals(appId='{EXCHANGE_ONLINE_APP_ID}')"
    once_per = "then GET /servicePrincipals/{id} once per app found, for its app id"
    plan = [PlannedRead("Apps holding Mail.Send", "GET", f"{graph_sp}/appRoleAssignedTo?$top=999",
                        "Application.Read.All", f"every page (@odata.nextLink); {once_per}")]
    if SIGN_IN_LOGS in cloud.lacks:
        plan.append(PlannedRead("SMTP AUTH sign-ins", "-", "(skipped)", "-", f"not offered in the {cloud.cloud.value} cloud"))
    else:
        since = iso_utc(now - timedelta(days=min(days, SIGN_IN_DAYS_MAX)))
        plan.append(PlannedRead(
            "SMTP AUTH sign-ins", "GET",
            f"{base}/auditLogs/signIns?$filter=clientAppUsed eq '{SMTP_CLIENT_APP}' and createdDateTime ge {since}&$top=1000",
            "AuditLog.Read.All", "needs Entra ID P1 or P2; every page"))
    if USAGE_REPORT in cloud.lacks:
        plan.append(PlannedRead("Email app usage", "-", "(skipped)", "-", f"not offered in the {cloud.cloud.value} cloud"))
    else:
        plan.append(PlannedRead("Email app usage", "GET", f"{base}/reports/getEmailAppUsageUserDetail(period='{usage_period(days)}')",
                                "Reports.Read.All", "then the CSV it redirects to, without the token"))
    plan += [
        PlannedRead("Delegated Mail.Send grants", "GET", f"{graph_sp}?$select=id", "Directory.Read.All",
                    "the Microsoft Graph service principal's id"),
        PlannedRead("Delegated Mail.Send grants", "GET", f"{base}/oauth2PermissionGrants?$filter=resourceId eq '<that id>'",
                    "Directory.Read.All", f"every page; {once_per}"),
        PlannedRead("EWS apps", "GET", f"{exchange_sp}?$select=id,appId,displayName,appRoles,oauth2PermissionScopes",
                    "Application.Read.All", "Office 365 Exchange Online: its role and scope ids"),
        PlannedRead("EWS apps", "GET", f"{exchange_sp}/appRoleAssignedTo?$top=999", "Application.Read.All",
                    f"full_access_as_app, SMTP.SendAsApp; every page; {once_per}"),
        PlannedRead("EWS apps", "GET", f"{base}/oauth2PermissionGrants?$filter=resourceId eq '<Exchange Online id>'",
                    "Directory.Read.All", f"{EWS_DELEGATED_SCOPE}; every page; {once_per}"),
    ]
    return plan


def run_audit(
    client: GraphClient,
    *,
    tenant: str,
    days: int,
    scanned: Optional[ScannedAccounts] = None,
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    cloud: Optional[CloudEndpoints] = None,
) -> AuditReport:
    """Run all audit sections; a missing permission degrades its section instead of failing the run."""
    cloud = cloud or CLOUDS[Cloud.GLOBAL]
    moment = now()
    notes = [f"--cloud {cloud.cloud.value} does not offer {feature}: that section is skipped" for feature in cloud.lacks]
    apps = list_mail_send_apps(client)
    if SIGN_IN_LOGS in cloud.lacks:
        signins: Section[SmtpAuthAccount] = Section(SectionStatus.UNAVAILABLE,
                                                    f"not available in the {cloud.cloud.value} cloud")
    else:
        signins = list_smtp_auth_signins(client, days, moment)
    if USAGE_REPORT in cloud.lacks:
        usage: Section[UsageRow] = Section(SectionStatus.UNAVAILABLE, f"not available in the {cloud.cloud.value} cloud")
    else:
        usage = list_email_app_usage(client, days)
    delegated = list_delegated_mail_send(client)
    ews_apps, ews_switches, ews_correlation = ews_sections(client, scanned)
    return AuditReport(
        tenant=tenant,
        generated_at=moment,
        days=days,
        mail_send_apps=apps,
        smtp_auth_signins=signins,
        correlation=correlate(signins, scanned, usage) if scanned is not None else None,
        delegated_mail_send=delegated,
        exchange_scoping=exchange_scoping(apps, scanned),
        email_app_usage=usage,
        smtp_auth_switches=smtp_auth_switches(scanned),
        ews_apps=ews_apps,
        ews_switches=ews_switches,
        ews_correlation=ews_correlation,
        cloud=cloud.cloud.value,
        notes=notes,
    )
