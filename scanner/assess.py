"""What the end of SMTP AUTH basic authentication in Exchange Online does to one mail call.

Facts from GRAPH_NOTES.md: basic auth for client submission is disabled by default at the end of
December 2026; High Volume Email keeps it until September 2028; direct send and connector relays
do not use SMTP AUTH; Outlook.com has already dropped it.
"""

from __future__ import annotations

import re
from typing import Optional

from scanner.declared import EstateFacts
from scanner.model import Api, Assessment, BindKind, BoundParam, CredentialKind, MailCall, Outcome, Provenance, ServerClass, Severity, UndecidedValue, Variant
from scanner.assess_ews import assess_ews
from scanner.extract.smtpclient import credential_is_default

_SERVER_PATTERNS: list[tuple[re.Pattern[str], ServerClass]] = [
    (re.compile(r"^smtp-legacy\.(office365\.com|partner\.outlook\.cn)$"), ServerClass.EXO_LEGACY_TLS),
    (re.compile(r"^smtp-hve\.office365\.com$"), ServerClass.EXO_HVE),
    (re.compile(r"^(smtp\.office365\.(com|us)|outlook\.office365\.com|smtp\.partner\.outlook\.cn)$"), ServerClass.EXO_SUBMISSION),
    (re.compile(r"\.mail\.protection\.(outlook\.com|office365\.us|partner\.outlook\.cn)$"), ServerClass.EXO_DIRECT_SEND),
    (re.compile(r"^(smtp-mail\.outlook\.com|smtp\.live\.com)$"), ServerClass.OUTLOOK_CONSUMER),
    (re.compile(r"^smtp\.azurecomm\.net$"), ServerClass.AZURE_COMMUNICATION),
]

GRAPH_MIGRATION = "Migrate to Microsoft Graph sendMail (smtp2graph fix) with an app scoped to the sender mailbox."
# APIs that can only authenticate with a user name and password (no XOAUTH2): against Exchange Online
# client submission, whatever credential they hold stops working once basic auth is disabled.
_PASSWORD_ONLY_APIS = (Api.SEND_MAILMESSAGE, Api.SMTPCLIENT, Api.CDO, Api.SYSTEM_WEB_MAIL)


def host_name(host: Optional[str]) -> str:
    """A host as compared: lower case, no quotes, trailing dot or port."""
    name = (host or "").strip().strip("'\"").lower().rstrip(".")
    return re.sub(r":\d+$", "", name)


def classify_server(host: Optional[str], estate: Optional[EstateFacts] = None) -> ServerClass:
    """The class of an SMTP host name (None or empty: unknown); declared estate hosts first."""
    if not host:
        return ServerClass.UNKNOWN
    name = host_name(host)
    fact = estate.host(name) if estate else None
    if fact is not None:
        return ServerClass.EXO_SUBMISSION if fact.exchange_online else ServerClass.OTHER
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
            return CredentialKind.UNKNOWN if cred.kind is BindKind.UNRESOLVED else CredentialKind.EXPLICIT
        return CredentialKind.NONE
    if call.api is Api.MAILKIT:
        if cred is not None:
            return CredentialKind.UNKNOWN if cred.kind is BindKind.UNRESOLVED else CredentialKind.EXPLICIT
        # MailKit only authenticates when Authenticate() is called (or a cmdlet gets -Credential).
        return CredentialKind.NONE if call.form != "cmdlet-splat" else CredentialKind.UNKNOWN
    if call.api in (Api.CDO, Api.SYSTEM_WEB_MAIL):
        if cred is not None:
            return CredentialKind.EXPLICIT
        mode = call.params.get("Authentication")
        if mode is None:
            return CredentialKind.NONE  # cdoAnonymous is the default
        if mode.value in (2, "2"):
            return CredentialKind.DEFAULT_LOGON  # cdoNTLM: the current Windows logon
        if mode.value in (0, "0"):
            return CredentialKind.NONE
        return CredentialKind.UNKNOWN
    if call.api is Api.OUTLOOK_COM:
        return CredentialKind.DEFAULT_LOGON  # the logged-on user's Outlook profile
    if call.api in (Api.NATIVE_SMTP, Api.PNP_MAIL):
        if cred is None:
            return CredentialKind.NONE  # a tool (or Send-PnPMail) logs on only when given a password
        return CredentialKind.UNKNOWN if cred.kind is BindKind.UNRESOLVED else CredentialKind.EXPLICIT
    return CredentialKind.EXPLICIT if cred is not None else CredentialKind.UNKNOWN


def uses_oauth(call: MailCall) -> bool:
    """Whether a MailKit call authenticates with OAuth 2.0 (XOAUTH2) rather than a password."""
    cred = call.params.get("Credential")
    if cred is not None and ("OAuth" in cred.reason or "SaslMechanismOAuth2" in cred.text):
        return True
    oauth = call.params.get("OAuth2")
    return oauth is not None and oauth.value is True


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


def assess(call: MailCall, estate: Optional[EstateFacts] = None) -> Assessment:
    """Break-risk verdict, migration advice and severity for one legacy mail call.

    A verdict that stays unknown is at least medium: it counts as "may break", never as fine.
    """
    if not call.variants and any(bound.alternatives for bound in call.params.values()):
        call = _with_row_variants(call)
    result = _assess_variants(call, estate) if call.variants else _assess(call, estate)
    for bound in call.params.values():
        if bound.provenance is Provenance.DECLARED and bound.source and bound.source not in result.declared:
            result.declared.append(bound.source)
    if result.breaks is None:
        if result.severity.rank < Severity.MEDIUM.rank:
            result.severity = Severity.MEDIUM
        if not result.undecided:
            result.undecided = _undecided(call, result, estate)
    return result


def _with_row_variants(call: MailCall) -> MailCall:
    """A copy of ``call`` with one variant per distinct combination of the configuration rows' values."""
    import dataclasses

    by_row: dict[tuple[str, int], dict[str, BoundParam]] = {}
    for name, bound in call.params.items():
        for path, row, value in bound.alternatives:
            # Row 0: not a configuration row but a path of the script (``path`` says which assignment).
            in_file = row == 0
            by_row.setdefault((path, row), {})[name] = BoundParam(
                name, bound.text, BindKind.LITERAL if value is not None else BindKind.UNRESOLVED, value,
                reason=path if in_file else f"row {row} of {path}", line=bound.line,
                provenance=Provenance.WRITTEN if in_file else Provenance.CONFIG_FILE, source=bound.source,
            )
    groups: dict[str, tuple[list[tuple[str, int]], dict[str, BoundParam]]] = {}
    for key, params in by_row.items():
        signature = repr(sorted((n, repr(b.value)) for n, b in params.items()))
        groups.setdefault(signature, ([], params))[0].append(key)
    variants = []
    for keys, params in groups.values():
        files = list(dict.fromkeys(path for path, _ in keys))
        rows = [row for _, row in keys]
        where = ", ".join(files)
        if all(row == 0 for row in rows):
            variants.append(Variant(where, params))  # paths of the script: `$Server = … (line 4)`
            continue
        shown = ", ".join(str(r) for r in rows[:8]) + (f" and {len(rows) - 8} more" if len(rows) > 8 else "")
        variants.append(Variant(f"{'row' if len(rows) == 1 else 'rows'} {shown} of {where}", params))
    return dataclasses.replace(call, variants=variants)


def _worst_first(result: Assessment) -> tuple[int, int]:
    return ({True: 0, None: 1, False: 2}[result.breaks], -result.severity.rank)


def _assess_variants(call: MailCall, estate: Optional[EstateFacts]) -> Assessment:
    """A call whose settings differ by path: each variant is assessed, the worst verdict is the call's
    (breaks, then cannot tell, then not affected), and the verdict names every variant's outcome."""
    import dataclasses

    # A setting one variant has and another lacks is absent on that path (a relay without a credential).
    owned = {name for variant in call.variants for name in variant.params}
    shared = {name: bound for name, bound in call.params.items() if name not in owned}
    results = []
    for variant in call.variants:
        one = dataclasses.replace(call, params={**shared, **variant.params}, variants=[])
        results.append((variant, _assess(one, estate)))
    results.sort(key=lambda r: _worst_first(r[1]))
    variant, worst = results[0]
    worst = dataclasses.replace(worst, declared=list(worst.declared), undecided=list(worst.undecided))
    outcome = {True: "breaks", None: "cannot tell", False: "not affected"}
    listed = "; ".join(f"{v.label}: {outcome[r.breaks]} ({r.server_text or 'no server'})" for v, r in results)
    if len({r.breaks for _, r in results}) > 1 or len({r.server_text for _, r in results}) > 1:
        worst.verdict = f"{worst.verdict} The settings differ by path; the worst applies ({variant.label}). Each: {listed}."
    for _, r in results[1:]:
        worst.declared.extend(d for d in r.declared if d not in worst.declared)
    return worst


def _assess(call: MailCall, estate: Optional[EstateFacts]) -> Assessment:
    if call.api is Api.EWS:
        return assess_ews(call, estate)
    if call.api is Api.OUTLOOK_COM:
        return _assess_outlook(call)
    result = _assess_smtp(call, estate)
    if call.api is Api.SMTPCLIENT:
        pickup = _pickup_delivery(call)
        if pickup:
            return _assess_pickup(call, result, pickup)
    oauth_servers = (ServerClass.EXO_SUBMISSION, ServerClass.EXO_LEGACY_TLS, ServerClass.EXO_HVE, ServerClass.UNKNOWN)
    if call.api in (Api.MAILKIT, Api.NATIVE_SMTP) and uses_oauth(call) and result.server in oauth_servers:
        hve = " High Volume Email's September 2028 basic-auth deadline does not apply either." if result.server is ServerClass.EXO_HVE else ""
        return Assessment(
            result.server,
            result.server_text,
            result.credential,
            False,
            f"Authenticates to {result.server_text or 'the server'} with OAuth 2.0 (XOAUTH2), not a password: keeps working when basic auth is disabled.{hve}",
            "No change needed for the retirement; Graph sendMail removes the SMTP dependency if you want it.",
            Severity.LOW,
            declared=result.declared,
        )
    if call.api is Api.SYSTEM_WEB_MAIL:
        result.verdict += " System.Web.Mail exists only in .NET Framework: this code already fails on PowerShell 7."
        if result.severity.rank < Severity.MEDIUM.rank:
            result.severity = Severity.MEDIUM
    if call.api is Api.CDO and result.server is ServerClass.UNKNOWN and "SmtpServer" not in call.params:
        using = call.params.get("SendUsing")
        if using is None or using.value in (1, "1"):
            result.verdict = "CDO hands the message to the local SMTP service (pickup folder); that service's smart host decides whether the retirement matters. Check its configuration."
    return result


_PICKUP = re.compile(r"(?i)\b(SpecifiedPickupDirectory|PickupDirectoryFromIis)\b")


def _pickup_delivery(call: MailCall) -> str:
    """The pickup delivery method an SmtpClient is set to on every path ("" when it connects to a server):
    the enum member, its name as a string, or its number (1, 2)."""
    bound = call.params.get("DeliveryMethod")
    if bound is None or bound.conditional:
        return ""
    value = bound.value
    if isinstance(value, bool):
        return ""
    if isinstance(value, int) or (isinstance(value, str) and value.strip() in ("1", "2")):
        return {1: "SpecifiedPickupDirectory", 2: "PickupDirectoryFromIis"}.get(int(value), "")
    found = _PICKUP.search(value if isinstance(value, str) else bound.text)
    if found is None or (not isinstance(value, str) and not re.fullmatch(
            r"(?i)\s*\[(?:System\.)?(?:Net\.)?(?:Mail\.)?SmtpDeliveryMethod\]::\w+\s*|\s*['\"]\w+['\"]\s*", bound.text)):
        return ""
    return "PickupDirectoryFromIis" if found.group(1).lower() == "pickupdirectoryfromiis" else "SpecifiedPickupDirectory"


def _assess_pickup(call: MailCall, smtp: Assessment, method: str) -> Assessment:
    """An SmtpClient that writes its message into a pickup folder instead of connecting to a server: .NET
    uses neither its host nor its credential, so the retirement concerns the service that collects the
    folder, not this script (checked with .NET 10: the file is written; EnableSsl makes Send refuse the
    pickup methods; PickupDirectoryFromIis throws NotSupportedException outside .NET Framework)."""
    ssl = call.params.get("UseSsl")
    migration = ("No change needed in the script for the retirement. The service that collects the folder (IIS SMTP, an "
                 "Exchange transport pickup) sends the mail: if it relays to Exchange Online with SMTP AUTH basic (a smart "
                 "host with a password), that service is what to migrate.")
    logon = " and credential are" if smtp.credential in (CredentialKind.EXPLICIT, CredentialKind.UNKNOWN) else " is"
    unused = f" (its host {smtp.server_text}{logon} not used)" if smtp.server_text else ""
    if ssl is not None and ssl.value is True and not ssl.conditional:
        return Assessment(smtp.server, smtp.server_text, smtp.credential, False,
                          f"Delivers through a pickup folder ({method}) with EnableSsl set: .NET refuses that combination "
                          f"(\"SSL must not be enabled for pickup-directory delivery methods\"), so this call fails already; "
                          "the basic-auth retirement changes nothing for it.", migration, Severity.MEDIUM, declared=smtp.declared)
    if method == "PickupDirectoryFromIis":
        return Assessment(smtp.server, smtp.server_text, smtp.credential, False,
                          f"Writes the message into the IIS SMTP service's pickup folder (PickupDirectoryFromIis){unused}: no "
                          "server connection and no log-on, so the basic-auth retirement does not affect this call. Only Windows "
                          "PowerShell 5.1 (.NET Framework) can do this; under PowerShell 7 .NET throws \"IIS delivery is not supported\".",
                          migration, Severity.LOW, declared=smtp.declared)
    return Assessment(smtp.server, smtp.server_text, smtp.credential, False,
                      f"Writes the message as a file into a pickup folder (SpecifiedPickupDirectory){unused}: no server "
                      "connection and no log-on, so the basic-auth retirement does not affect this call.",
                      migration, Severity.LOW, declared=smtp.declared)


def _declare_line(written: str, example: str) -> str:
    """The .smtp2graph.toml entry that would give ``written`` a value."""
    t = written.strip()
    var = re.fullmatch(r"(?i)\$(?:\{)?(?:script:|global:|local:|private:|using:)?((?:env:)?\w+)\}?", t) or re.fullmatch(
        r'(?i)"\$(?:\{)?(?:script:|global:|using:)?((?:env:)?\w+)\}?"', t
    )
    if var:
        return f'[assume] "${var.group(1)}" = "{example}"'
    return ""


def _file_name(path: str) -> str:
    return re.split(r"[\\/]", path)[-1]


def _undecided(call: MailCall, result: Assessment, estate: Optional[EstateFacts]) -> list[UndecidedValue]:
    """For an unknown verdict: the value that would decide it and where to declare it."""
    out: list[UndecidedValue] = []
    bound = call.params.get("SmtpServer")
    if result.server is ServerClass.UNKNOWN:
        if bound is None:
            if call.api is Api.SEND_MAILMESSAGE:
                out.append(UndecidedValue("SmtpServer", "$PSEmailServer", "no -SmtpServer and no $PSEmailServer in this file: the session's $PSEmailServer decides", '[assume] "$PSEmailServer" = "smtp.office365.com"'))
            elif call.api is Api.CDO:
                out.append(UndecidedValue("SmtpServer", "(local SMTP service)", "CDO hands the message to the local SMTP service", 'relay-hosts = ["<that service\'s smart host>"] once you know where it forwards'))
            else:
                out.append(UndecidedValue("SmtpServer", "(not set)", "no server is set in this file", "set the server in the script, or declare the variable it comes from under [assume]"))
        else:
            written = bound.text
            declare = _declare_line(written, "smtp.office365.com")
            if bound.provenance is Provenance.CONFIG_FILE and ": " in bound.source:
                file, key = bound.source.rsplit(": ", 1)
                declare = f'[assume] "{_file_name(file)}:{key}" = "smtp.office365.com"'
            elif bound.provenance is Provenance.CONFIG_FILE:
                declare = f'[assume] "{_file_name(bound.source)}:<Key.Path>" = "smtp.office365.com"'

            if not declare:
                declare = "[assume] the variable this expression is built from (\"$Name\" = \"smtp.office365.com\"), or a config key (\"file:Key\" = …)"
            why = bound.reason or (
                f"{written} has no constant value in this file (a script parameter, the environment or a run-time value)"
                if _declare_line(written, "x") else "an expression evaluated at run time"
            )
            out.append(UndecidedValue("SmtpServer", written, why, declare))
    if result.credential is CredentialKind.UNKNOWN and result.server is not ServerClass.UNKNOWN:
        cred = call.params.get("Credential")
        written = cred.text if cred is not None else "(none)"
        out.append(UndecidedValue("Credential", written, (cred.reason if cred is not None else "") or "the credential comes from code this file does not show", "no declaration decides a credential: make it explicit in the script (a password breaks; OAuth 2.0 does not)"))
    return out


def _assess_outlook(call: MailCall) -> Assessment:
    if not call.sent:
        return Assessment(
            ServerClass.UNKNOWN, "", CredentialKind.DEFAULT_LOGON, False,
            "Opens a mail item in Outlook for a person to send: no SMTP AUTH involved, not affected by the retirement.",
            "No change needed for the retirement.", Severity.INFO,
        )
    return Assessment(
        ServerClass.UNKNOWN,
        "",
        CredentialKind.DEFAULT_LOGON,
        False,
        "Sends through the logged-on user's classic Outlook profile, not SMTP AUTH: the basic-auth retirement does not break it. "
        "It needs classic Outlook running on an interactive desktop (new Outlook for Windows has no COM automation), so it fails as a scheduled task or service.",
        "Move unattended sends to Graph sendMail with an app scoped to the sender mailbox; keep Outlook COM only for interactive use.",
        Severity.LOW,
    )


def _assess_smtp(call: MailCall, estate: Optional[EstateFacts] = None) -> Assessment:
    written, host = server_text(call)
    server = classify_server(host, estate)
    fact = estate.host(host_name(host)) if estate and host else None
    declared = [f"{estate.source}: {fact.entry}"] if estate and fact else []
    cred = credential_kind(call)
    shown = host or written or "no server"

    def verdict(server: ServerClass, breaks: Optional[bool], text: str, migration: str, severity: Severity, outcome: Optional[Outcome] = None) -> Assessment:
        return Assessment(server, shown if server is not ServerClass.UNKNOWN else written, cred, breaks, text, migration, severity, outcome, declared=list(declared))

    if call.api in (Api.GRAPH_SENDMAIL, Api.SEND_MGUSERMAIL):
        return Assessment(ServerClass.UNKNOWN, "", cred, False, "Already sends through Microsoft Graph.", "Nothing to migrate; verify the app can send as this sender (smtp2graph verify).", Severity.INFO)
    where = f" ({shown} is declared Exchange Online in {estate.source})" if fact is not None and fact.exchange_online and estate else ""
    if server in (ServerClass.EXO_SUBMISSION, ServerClass.EXO_LEGACY_TLS):
        legacy = " over the legacy-TLS endpoint, which also needs AllowLegacyTLSClients" if server is ServerClass.EXO_LEGACY_TLS else ""
        if cred is CredentialKind.EXPLICIT:
            return verdict(server, True, f"Authenticates to {shown}{where} with a password (SMTP AUTH basic){legacy}: breaks when Exchange Online disables basic auth at the end of December 2026.", GRAPH_MIGRATION, Severity.HIGH)
        if cred is CredentialKind.UNKNOWN and call.api in _PASSWORD_ONLY_APIS:
            return verdict(server, True, f"Sends to {shown}{where}{legacy} with a credential this file does not show; {call.api.value} can only log on with a password (no OAuth), so whatever it is, this call stops working when basic auth is disabled at the end of December 2026.", GRAPH_MIGRATION, Severity.HIGH)
        if cred is CredentialKind.UNKNOWN:
            return verdict(server, None, f"Sends to {shown}{where}{legacy}; the credential comes from code this file does not show. If it is a password it breaks at the end of December 2026.", GRAPH_MIGRATION, Severity.MEDIUM)
        return verdict(server, None, f"Sends to {shown}{where} without a password ({cred.value}); Exchange Online client submission requires SMTP AUTH, so this call probably fails already. Check whether it works at all.", GRAPH_MIGRATION, Severity.MEDIUM)
    if server is ServerClass.OUTLOOK_CONSUMER:
        options = (
            "Options: an app password (only with two-step verification, and Microsoft may remove those too); OAuth 2.0 "
            "as the signed-in user (delegated Graph sendMail with a device-code sign-in, or SMTP XOAUTH2 through MailKit); "
            "or send from a Microsoft 365 mailbox through Graph sendMail with an app scoped to it. App-only Graph cannot send as a consumer mailbox."
        )
        if cred in (CredentialKind.EXPLICIT, CredentialKind.UNKNOWN):
            return verdict(
                server, True,
                f"{shown} is Outlook.com consumer SMTP with a password: Microsoft has been removing basic auth from consumer accounts since September 2024 "
                "(app passwords aside), so this call fails now or soon; it is not an Exchange Online mailbox, and an app-only Graph migration cannot send as it.",
                options, Severity.HIGH, Outcome.CONSUMER_BASIC_AUTH,
            )
        return verdict(server, None, f"{shown} is Outlook.com consumer SMTP, which needs a signed-in account; this call sends without a password ({cred.value}) and probably fails already.", options, Severity.MEDIUM)
    if server is ServerClass.EXO_HVE:
        return verdict(server, False, f"{shown} is High Volume Email: basic auth keeps working until September 2028 (internal recipients only); it also accepts OAuth 2.0 (XOAUTH2, up to 10 apps per HVE account).", "Not urgent; before September 2028 move to Graph sendMail, or to OAuth 2.0 on the same endpoint.", Severity.LOW, Outcome.HVE_UNTIL_2028)
    if server is ServerClass.EXO_DIRECT_SEND:
        return verdict(server, False, f"{shown} is direct send / a connector relay: no SMTP AUTH, so the basic-auth retirement does not affect it. A tenant that rejects direct send (Set-OrganizationConfig -RejectDirectSend $true) refuses such a send with 550 5.7.68 unless an inbound connector covers the sender.", "No change needed for the retirement. Check Get-OrganizationConfig | Format-List RejectDirectSend: when it is True, send through a connector or move to Graph sendMail.", Severity.LOW)
    if server is ServerClass.AZURE_COMMUNICATION:
        return verdict(server, False, f"{shown} is Azure Communication Services Email (Entra app credentials): not affected.", "No change needed.", Severity.INFO)
    if server is ServerClass.OTHER:
        auth = "with a credential" if cred is CredentialKind.EXPLICIT else "without a password" if cred in (CredentialKind.NONE, CredentialKind.DEFAULT_LOGON) else "with a credential this file does not show"
        if fact is not None and fact.relays_with_basic_auth and estate:
            return verdict(server, True, f"Sends {auth} to {shown}, which {estate.source} declares a relay that submits to Exchange Online with SMTP AUTH basic: mail through it stops when basic auth is disabled at the end of December 2026, until the relay itself is moved off basic auth.", "Migrate the relay's own submission (or this script, to Graph sendMail).", Severity.HIGH)
        if fact is not None and estate:
            return verdict(server, False, f"Sends {auth} to {shown}, declared in {estate.source} as a relay that does not use Exchange Online SMTP AUTH: not affected by the Exchange Online change.", "No change needed for the retirement.", Severity.LOW)
        return verdict(server, False, f"Sends {auth} to {shown}, an on-premises or third-party relay: not affected by the Exchange Online change.", "No change needed for the retirement; on-premises Exchange keeps working. Keep the relay authenticated.", Severity.LOW)
    bound = call.params.get("SmtpServer")
    why = bound.reason if bound is not None and bound.reason else "an expression evaluated at run time" if bound is not None else "no SmtpServer and no $PSEmailServer in this file"
    if cred in (CredentialKind.NONE, CredentialKind.DEFAULT_LOGON):
        # Either a relay (not affected) or Exchange Online client submission without a password, which
        # needs SMTP AUTH and fails already: the basic-auth retirement changes nothing either way.
        return verdict(
            server, False,
            f"Sends without a password ({cred.value}) to a server this file does not name ({written or why}): a relay is not "
            "affected by the Exchange Online change, and Exchange Online client submission without SMTP AUTH fails already; "
            "the retirement changes nothing for this call.",
            "No change needed for the retirement. If the server is a relay that submits to Exchange Online with SMTP AUTH "
            "basic, declare it in .smtp2graph.toml (relay-hosts) and migrate the relay.",
            Severity.LOW,
        )
    severity = Severity.MEDIUM
    return verdict(server, None, f"The SMTP server is not known from this file ({written or why}); if it is smtp.office365.com with a password, this call breaks at the end of December 2026.", "Find the server value; if it is Exchange Online, migrate to Graph sendMail. Or declare it in .smtp2graph.toml (smtp2graph scan --explain-unknown).", severity)
