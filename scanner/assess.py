"""What the end of SMTP AUTH basic authentication in Exchange Online does to one mail call.

Facts from GRAPH_NOTES.md: basic auth for client submission is disabled by default at the end of
December 2026; High Volume Email keeps it until September 2028; direct send and connector relays
do not use SMTP AUTH; Outlook.com has already dropped it.
"""

from __future__ import annotations

import re
from typing import Optional

from scanner.extract.smtpclient import credential_is_default
from scanner.model import Api, Assessment, BindKind, CredentialKind, MailCall, ServerClass, Severity

_SERVER_PATTERNS: list[tuple[re.Pattern[str], ServerClass]] = [
    (re.compile(r"^smtp-legacy\.(office365\.com|partner\.outlook\.cn)$"), ServerClass.EXO_LEGACY_TLS),
    (re.compile(r"^smtp-hve\.office365\.com$"), ServerClass.EXO_HVE),
    (re.compile(r"^(smtp\.office365\.(com|us)|outlook\.office365\.com|smtp\.partner\.outlook\.cn)$"), ServerClass.EXO_SUBMISSION),
    (re.compile(r"\.mail\.protection\.(outlook\.com|office365\.us|partner\.outlook\.cn)$"), ServerClass.EXO_DIRECT_SEND),
    (re.compile(r"^smtp-mail\.outlook\.com$"), ServerClass.OUTLOOK_CONSUMER),
    (re.compile(r"^smtp\.azurecomm\.net$"), ServerClass.AZURE_COMMUNICATION),
]

GRAPH_MIGRATION = "Migrate to Microsoft Graph sendMail (smtp2graph fix) with an app scoped to the sender mailbox."


def classify_server(host: Optional[str]) -> ServerClass:
    """The class of an SMTP host name (None or empty: unknown)."""
    if not host:
        return ServerClass.UNKNOWN
    name = host.strip().strip("'\"").lower().rstrip(".")
    name = re.sub(r":\d+$", "", name)
    for pattern, server_class in _SERVER_PATTERNS:
        if pattern.search(name):
            return server_class
    return ServerClass.OTHER


def credential_kind(call: MailCall) -> CredentialKind:
    """Which logon a call presents to the server."""
    cred = call.params.get("Credential")
    if call.api is Api.SEND_MAILMESSAGE:
        if cred is not None:
            return CredentialKind.UNKNOWN if cred.kind is BindKind.UNRESOLVED else CredentialKind.EXPLICIT
        use_ssl = call.params.get("UseSsl")
        if use_ssl is not None and use_ssl.kind is BindKind.UNRESOLVED:
            return CredentialKind.UNKNOWN
        # SendMailMessage.cs: no -Credential and no -UseSsl means UseDefaultCredentials = true.
        if use_ssl is None or use_ssl.value is False:
            return CredentialKind.DEFAULT_LOGON
        return CredentialKind.NONE
    if call.api is Api.SMTPCLIENT:
        if credential_is_default(call.params):
            return CredentialKind.DEFAULT_LOGON
        if cred is not None:
            return CredentialKind.EXPLICIT
        return CredentialKind.NONE
    return CredentialKind.EXPLICIT if cred is not None else CredentialKind.UNKNOWN


def server_text(call: MailCall) -> tuple[str, Optional[str]]:
    """(the server as written, its static host name or None)."""
    bound = call.params.get("SmtpServer")
    if bound is None:
        return "", None
    value = bound.value if not bound.conditional else None
    if isinstance(value, list):
        value = value[0] if len(value) == 1 else None
    host = str(value) if isinstance(value, (str, int)) else None
    return (host or bound.text), host


def assess(call: MailCall) -> Assessment:
    """Break-risk verdict, migration advice and severity for one legacy mail call."""
    written, host = server_text(call)
    server = classify_server(host)
    cred = credential_kind(call)
    shown = host or written or "no server"
    if call.api in (Api.GRAPH_SENDMAIL, Api.SEND_MGUSERMAIL):
        return Assessment(ServerClass.UNKNOWN, "", cred, False, "Already sends through Microsoft Graph.", "Nothing to migrate; verify the app can send as this sender (smtp2graph verify).", Severity.INFO)
    if server in (ServerClass.EXO_SUBMISSION, ServerClass.EXO_LEGACY_TLS):
        legacy = " over the legacy-TLS endpoint, which also needs AllowLegacyTLSClients" if server is ServerClass.EXO_LEGACY_TLS else ""
        if cred is CredentialKind.EXPLICIT:
            return Assessment(server, shown, cred, True, f"Authenticates to {shown} with a password (SMTP AUTH basic){legacy}: breaks when Exchange Online disables basic auth at the end of December 2026.", GRAPH_MIGRATION, Severity.HIGH)
        if cred is CredentialKind.UNKNOWN:
            return Assessment(server, shown, cred, None, f"Sends to {shown}{legacy}; the credential comes from code this file does not show. If it is a password it breaks at the end of December 2026.", GRAPH_MIGRATION, Severity.MEDIUM)
        return Assessment(server, shown, cred, None, f"Sends to {shown} without a password ({cred.value}); Exchange Online client submission requires SMTP AUTH, so this call probably fails already. Check whether it works at all.", GRAPH_MIGRATION, Severity.MEDIUM)
    if server is ServerClass.OUTLOOK_CONSUMER:
        return Assessment(server, shown, cred, True, f"{shown} is consumer Outlook.com, where basic auth is already gone: this call fails today.", "Use a Microsoft 365 mailbox through Graph sendMail, or another authenticated relay.", Severity.HIGH)
    if server is ServerClass.EXO_HVE:
        return Assessment(server, shown, cred, False, f"{shown} is High Volume Email: basic auth keeps working until September 2028 (internal recipients only).", "Not urgent; plan the move to Graph sendMail before September 2028.", Severity.LOW)
    if server is ServerClass.EXO_DIRECT_SEND:
        return Assessment(server, shown, cred, False, f"{shown} is direct send / a connector relay: no SMTP AUTH, so the basic-auth retirement does not affect it (a tenant can still reject Direct Send).", "No change needed for the retirement; keep the connector, or move to Graph sendMail to stop depending on Direct Send.", Severity.LOW)
    if server is ServerClass.AZURE_COMMUNICATION:
        return Assessment(server, shown, cred, False, f"{shown} is Azure Communication Services Email (Entra app credentials): not affected.", "No change needed.", Severity.INFO)
    if server is ServerClass.OTHER:
        auth = "with a credential" if cred is CredentialKind.EXPLICIT else "without a password" if cred in (CredentialKind.NONE, CredentialKind.DEFAULT_LOGON) else "with a credential this file does not show"
        return Assessment(server, shown, cred, False, f"Sends {auth} to {shown}, an on-premises or third-party relay: not affected by the Exchange Online change.", "No change needed for the retirement; on-premises Exchange keeps working. Keep the relay authenticated.", Severity.LOW)
    bound = call.params.get("SmtpServer")
    why = bound.reason if bound is not None and bound.reason else "an expression evaluated at run time" if bound is not None else "no SmtpServer and no $PSEmailServer in this file"
    severity = Severity.MEDIUM if cred in (CredentialKind.EXPLICIT, CredentialKind.UNKNOWN) else Severity.LOW
    return Assessment(server, written, cred, None, f"The SMTP server is not known from this file ({written or why}); if it is smtp.office365.com with a password, this call breaks at the end of December 2026.", "Find the server value; if it is Exchange Online, migrate to Graph sendMail.", severity)
