"""What the retirement of Exchange Web Services in Exchange Online does to one EWS call.

Facts (GRAPH_NOTES.md, Microsoft's Exchange team announcements): since 1 October 2026 a tenant
whose `EWSEnabled` was unset has it set to False, which blocks every EWS call unless the tenant set
it True with an app allow list; on 1 April 2027 EWS in Exchange Online is switched off for good.
Exchange Online stopped accepting basic authentication for EWS in October 2022, so a password (or
the Windows logon) sent to Exchange Online EWS already fails. EWS on Exchange Server on-premises is
not affected.

The endpoint comes from the service's `Url`, the URL a SOAP request is posted to, a proxy's WSDL
URL, or `AutodiscoverUrl(address)`; a declared host of .smtp2graph.toml decides it too.
"""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import urlsplit

from scanner.declared import EstateFacts
from scanner.model import (
    Assessment,
    BoundParam,
    CredentialKind,
    MailCall,
    Outcome,
    ServerClass,
    Severity,
    UndecidedValue,
)

EWS_BLOCKED_BY_DEFAULT = date(2026, 10, 1)
EWS_SWITCHED_OFF = date(2027, 4, 1)
BLOCKED_TEXT = "1 October 2026"
OFF_TEXT = "1 April 2027"

# EWS endpoints of Exchange Online: worldwide, GCC High, DoD, 21Vianet (and the Outlook on the web host).
_EXO_HOSTS = re.compile(r"^(outlook\.office365\.com|outlook\.office\.com|outlook\.office365\.us|webmail\.apps\.mil|partner\.outlook\.cn|outlook\.partner\.outlook\.cn)$")
_EXO_DOMAINS = re.compile(r"\.(onmicrosoft\.com|onmicrosoft\.us|partner\.onmschina\.cn)$")

GRAPH_MIGRATION = (
    "Migrate the send to Microsoft Graph sendMail (Send-GraphMailMessage, or POST /users/{sender}/sendMail) with an app "
    "scoped to the sender mailbox; a reply or forward maps to POST /users/{id}/messages/{id}/reply or /forward."
)
OTHER_MIGRATION = (
    "No automatic fix: move these EWS operations to their Microsoft Graph equivalents (messages, mailFolders, events, "
    "findMeetingTimes, mailboxSettings) before EWS in Exchange Online is switched off."
)


def _host(url: str) -> str:
    text = url.strip().strip("'\"")
    if "://" not in text:
        text = "https://" + text
    try:
        return (urlsplit(text).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


def classify_ews_host(host: str, estate: EstateFacts | None = None) -> ServerClass:
    """Exchange Online, on-premises, or unknown, for the host of an EWS URL."""
    if not host:
        return ServerClass.UNKNOWN
    fact = estate.host(host) if estate else None
    if fact is not None:
        return ServerClass.EXO_EWS if fact.exchange_online else ServerClass.EWS_ON_PREMISES
    if _EXO_HOSTS.match(host):
        return ServerClass.EXO_EWS
    return ServerClass.EWS_ON_PREMISES


def _static(bound: BoundParam | None) -> str | None:
    if bound is None or bound.conditional or not isinstance(bound.value, str):
        return None
    return bound.value


def endpoint(call: MailCall, estate: EstateFacts | None = None) -> tuple[ServerClass, str, str]:
    """(class, the endpoint as shown, how it was decided) from the URL or the Autodiscover address."""
    url = call.params.get("EwsUrl")
    value = _static(url)
    if value:
        host = _host(value)
        return classify_ews_host(host, estate), host or value, f"the EWS URL {value}"
    auto = call.params.get("Autodiscover")
    address = _static(auto)
    if address and "@" in address:
        domain = address.rsplit("@", 1)[1].lower().strip(">").rstrip(".")
        fact = estate.host(domain) if estate else None
        if fact is not None:
            server = ServerClass.EXO_EWS if fact.exchange_online else ServerClass.EWS_ON_PREMISES
            return server, domain, f"Autodiscover of {address}, whose domain {estate.source if estate else ''} declares"
        if _EXO_DOMAINS.search(domain):
            return ServerClass.EXO_EWS, domain, f"Autodiscover of {address} (a Microsoft 365 domain: Exchange Online)"
        return ServerClass.UNKNOWN, domain, f"Autodiscover of {address}: the mailbox's domain decides at run time whether it is Exchange Online or on-premises"
    written = url.text if url is not None else auto.text if auto is not None else ""
    return ServerClass.UNKNOWN, written, ""


def credential_of(call: MailCall) -> CredentialKind:
    auth = call.params.get("Authentication")
    kind = auth.value if auth is not None else None
    if kind == "oauth":
        return CredentialKind.OAUTH
    if kind == "basic":
        return CredentialKind.EXPLICIT
    if kind == "default-credentials":
        return CredentialKind.DEFAULT_LOGON
    if "Credential" in call.params:
        return CredentialKind.UNKNOWN
    return CredentialKind.UNKNOWN


_AUTH_WORDS = {
    CredentialKind.OAUTH: "with an OAuth token",
    CredentialKind.EXPLICIT: "with a user name and password",
    CredentialKind.DEFAULT_LOGON: "as the Windows logon (default credentials)",
    CredentialKind.UNKNOWN: "with a logon this file does not show",
    CredentialKind.NONE: "without a logon",
}


def _undecided(call: MailCall, shown: str, how: str) -> list[UndecidedValue]:
    url = call.params.get("EwsUrl")
    auto = call.params.get("Autodiscover")
    if auto is not None and _static(auto):
        domain = shown or "<domain>"
        return [UndecidedValue("Autodiscover", auto.text, how, f'exchange-online-hosts = ["{domain}"]  (or relay-hosts = ["{domain}"] when its mailboxes are on-premises)')]
    written = url.text if url is not None else "(not set)"
    # `$u`, `[uri]$u`, `New-Object Uri($u)`: the one variable the URL is made of.
    variables = set(re.findall(r"(?i)\$(?:script:|global:|env:)?(\w+)", written))
    variable = re.search(r"(?i)\$(?:script:|global:)?(\w+)", written) if len(variables) == 1 and "." not in written.split("$", 1)[1] else None
    declare = f'[assume] "${variable.group(1)}" = "https://outlook.office365.com/EWS/Exchange.asmx"' if variable else \
        'set the EWS URL in the script, or declare the variable it comes from under [assume]'
    reason = (url.reason if url is not None and url.reason else "no EWS URL and no Autodiscover address in this file")
    return [UndecidedValue("EwsUrl", written, reason, declare)]


def assess_ews(call: MailCall, estate: EstateFacts | None = None) -> Assessment:
    """Verdict, migration advice and severity for one EWS send, or for a file's other EWS use."""
    server, shown, how = endpoint(call, estate)
    credential = credential_of(call)
    auth = _AUTH_WORDS[credential]
    other = not call.sent
    what = "Uses EWS for more than mail (reads, searches, calendar)" if other else "Sends mail through EWS"
    declared: list[str] = []
    if estate is not None and shown and estate.host(shown) is not None:
        declared.append(f"{estate.source}: {estate.host(shown).entry}")  # type: ignore[union-attr]
    if server is ServerClass.EXO_EWS:
        retirement = (f"EWS in Exchange Online is blocked by default since {BLOCKED_TEXT} (unless the tenant set EWSEnabled "
                      f"to True and allow-listed this app) and is switched off for good on {OFF_TEXT}, with no exceptions")
        if credential in (CredentialKind.EXPLICIT, CredentialKind.DEFAULT_LOGON):
            logon = (" It logs on with a password or the Windows logon, which Exchange Online EWS stopped accepting in "
                     "October 2022: this call most likely fails already.")
        else:
            logon = ""
        if other:
            verdict = f"{what} at {shown} (Exchange Online, {how}) {auth}: {retirement}. It stops working on {OFF_TEXT} at the latest.{logon}"
            return Assessment(server, shown, credential, True, verdict, OTHER_MIGRATION, Severity.INFO, Outcome.BREAKS, declared=declared)
        verdict = f"{what} at {shown} (Exchange Online, {how}) {auth}: {retirement}.{logon}"
        return Assessment(server, shown, credential, True, verdict, GRAPH_MIGRATION, Severity.HIGH, Outcome.BREAKS, declared=declared)
    if server is ServerClass.EWS_ON_PREMISES:
        verdict = (f"{what} at {shown}, an on-premises Exchange server ({how}), {auth}: EWS on Exchange Server is not affected "
                   f"by the Exchange Online retirement.")
        migration = "No change needed for the retirement; plan the move to Graph if the mailboxes move to Exchange Online."
        return Assessment(server, shown, credential, False, verdict, migration, Severity.INFO if other else Severity.LOW, declared=declared)
    where = f" ({how})" if how else ""
    if other:
        verdict = (f"{what}; the EWS endpoint is not known from this file{where}. If it is Exchange Online, this use is blocked by "
                   f"default since {BLOCKED_TEXT} and stops working on {OFF_TEXT} at the latest.")
        migration = OTHER_MIGRATION
    else:
        verdict = (f"{what} {auth}; the EWS endpoint is not known from this file{where}. If it is Exchange Online, this send is "
                   f"blocked by default since {BLOCKED_TEXT} and stops for good on {OFF_TEXT}; on-premises Exchange is not affected.")
        migration = ("Find the EWS URL (or the mailbox's domain); if it is Exchange Online, migrate to Graph sendMail. Or declare it in "
                     ".smtp2graph.toml (smtp2graph scan --explain-unknown).")
    return Assessment(ServerClass.UNKNOWN, shown, credential, None, verdict, migration, Severity.INFO if other else Severity.MEDIUM,
                      undecided=_undecided(call, shown, how), declared=declared)
