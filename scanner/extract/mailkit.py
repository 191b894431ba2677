"""MailKit sends: `MailKit.Net.Smtp.SmtpClient` (Connect / Authenticate / Send) and MailKit-backed cmdlets.

Parameters are bound to the Send-MailMessage names (SmtpServer, Port, UseSsl, Credential, From, To, …)
so a MailKit call compares with every other API in the report.
"""

from __future__ import annotations

import re
from typing import Optional

from scanner.analysis.binding import bind_arguments
from scanner.analysis.commands import CommandSpec, ParameterSpec, find_command_sites, lex_call
from scanner.analysis.objects import Construction, MemberUse, find_constructions, member_uses, superseded
from scanner.analysis.literals import constructor_arguments, literal_or_none
from scanner.model import Api, BindKind, BoundParam, Confidence, MailCall, RelatedLocation
from scanner.analysis.resolve import resolve_variable
from scanner.script import Script
from scanner.analysis.objects import add_param, member_param

_MAILKIT_NS = re.compile(r"(?i)^\s*using\s+namespace\s+MailKit\.Net\.Smtp\s*$", re.M)
_MIMEKIT_NS = re.compile(r"(?i)^\s*using\s+namespace\s+MimeKit\s*$", re.M)

# MailKit.Security.SecureSocketOptions: everything but None means TLS (implicit or STARTTLS).
_TLS_OPTIONS = {"none": False, "auto": True, "sslonconnect": True, "starttls": True, "starttlswhenavailable": True}

_MESSAGE_PROPERTIES = {"subject": "Subject", "body": "Body", "priority": "Priority", "importance": "Priority"}
_MESSAGE_LISTS = {"from": "From", "to": "To", "cc": "Cc", "bcc": "Bcc", "replyto": "ReplyTo"}
_SEND_METHODS = {"send": "method", "sendasync": "method-async"}

# Send-MailKitMessage (PowerShell Gallery module "Send-MailKitMessage"): its parameter names -> canonical.
_SEND_MAILKITMESSAGE = CommandSpec(
    "Send-MailKitMessage",
    (
        ParameterSpec("UseSecureConnectionIfAvailable", switch=True),
        ParameterSpec("Credential"),
        ParameterSpec("SMTPServer"),
        ParameterSpec("Port"),
        ParameterSpec("From"),
        ParameterSpec("RecipientList"),
        ParameterSpec("CCList"),
        ParameterSpec("BCCList"),
        ParameterSpec("Subject"),
        ParameterSpec("TextBody"),
        ParameterSpec("HTMLBody"),
        ParameterSpec("AttachmentList"),
    ),
    key_parameters=("SMTPServer", "Credential", "From", "RecipientList"),
)
_MAILKITMESSAGE_NAMES = {
    "SMTPServer": "SmtpServer",
    "RecipientList": "To",
    "CCList": "Cc",
    "BCCList": "Bcc",
    "TextBody": "Body",
    "HTMLBody": "Body",
    "AttachmentList": "Attachments",
    "UseSecureConnectionIfAvailable": "UseSsl",
}

# Send-EmailMessage (Mailozaurr, built on MailKit). With -Graph it sends through Microsoft Graph instead.
_SEND_EMAILMESSAGE = CommandSpec(
    "Send-EmailMessage",
    (
        ParameterSpec("Server", ("SmtpServer",)),
        ParameterSpec("Port"),
        ParameterSpec("From"),
        ParameterSpec("ReplyTo"),
        ParameterSpec("Cc"),
        ParameterSpec("Bcc"),
        ParameterSpec("To"),
        ParameterSpec("Subject"),
        ParameterSpec("Priority", ("Importance",)),
        ParameterSpec("Encoding"),
        ParameterSpec("DeliveryNotificationOption"),
        ParameterSpec("DeliveryStatusNotificationType"),
        ParameterSpec("Credential"),
        ParameterSpec("Username"),
        ParameterSpec("Password"),
        ParameterSpec("SecureSocketOptions"),
        ParameterSpec("UseSsl", switch=True),
        ParameterSpec("HTML", ("Body",)),
        ParameterSpec("Text"),
        ParameterSpec("Attachment"),
        ParameterSpec("Timeout"),
        ParameterSpec("oAuth2", switch=True),
        ParameterSpec("Graph", switch=True),
        ParameterSpec("AsSecureString", switch=True),
        ParameterSpec("SkipCertificateRevocation", switch=True),
        ParameterSpec("SkipCertificateValidation", switch=True),
        ParameterSpec("LocalDomain"),
        ParameterSpec("Suppress", switch=True),
        ParameterSpec("DoNotSaveToSentItems", switch=True),
        ParameterSpec("RequestReadReceipt", switch=True),
        ParameterSpec("RequestDeliveryReceipt", switch=True),
        ParameterSpec("AttachSelf", switch=True),
        ParameterSpec("AttachSelfName"),
        ParameterSpec("MimeMessagePath"),
        ParameterSpec("Email"),
    ),
    key_parameters=("Server", "Credential", "From", "To"),
)
_EMAILMESSAGE_NAMES = {"Server": "SmtpServer", "HTML": "Body", "Text": "Body", "Attachment": "Attachments", "oAuth2": "OAuth2"}

CMDLETS: dict[str, tuple[CommandSpec, dict[str, str]]] = {
    "send-mailkitmessage": (_SEND_MAILKITMESSAGE, _MAILKITMESSAGE_NAMES),
    "send-emailmessage": (_SEND_EMAILMESSAGE, _EMAILMESSAGE_NAMES),
}

TOKENS = ("mailkit", "send-emailmessage")


def _client_pattern(script: Script) -> re.Pattern[str]:
    short = "|SmtpClient" if "using" in script.structure.code_lower and _MAILKIT_NS.search(script.code) else ""
    return re.compile(r"(?i)MailKit\.Net\.Smtp\.SmtpClient" + short)


def _message_pattern(script: Script) -> re.Pattern[str]:
    short = "|MimeMessage" if "using" in script.structure.code_lower and _MIMEKIT_NS.search(script.code) else ""
    return re.compile(r"(?i)MimeKit\.MimeMessage" + short)


def _mailbox_value(script: Script, span: tuple[int, int]) -> Optional[str]:
    """`[MimeKit.MailboxAddress]::new('Name', 'a@b')`, `MailboxAddress::Parse('a@b')` or a plain 'a@b'."""
    text = script.text[span[0] : span[1]].strip()
    plain = literal_or_none(text)
    if plain is not None:
        return plain
    m = re.match(r"(?is)^\[[\w.]*MailboxAddress\]::Parse\s*\((.*)\)$", text)
    if m:
        return literal_or_none(m.group(1))
    inner = constructor_arguments(text)
    if inner and re.search(r"(?i)MailboxAddress", text):
        if len(inner) == 1:
            return literal_or_none(inner[0])
        # MimeKit's constructor is (name, address): the opposite order of System.Net.Mail.
        name, address = literal_or_none(inner[0]), literal_or_none(inner[1])
        if address is not None:
            return f"{name} <{address}>" if name else address
    return None


def _message_params(script: Script, message: Construction, send_at: int) -> dict[str, BoundParam]:
    params: dict[str, BoundParam] = {}
    if message.variable is None:
        return params
    for use in member_uses(script, message.variable, message.end, send_at):
        conditional = script.structure.is_conditional(use.start, send_at)
        parts = use.member.lower().split(".")
        line = script.line_of(use.start)
        reason = f"${message.variable}.{use.member} (line {line})"
        if use.value is not None and len(parts) == 1 and parts[0] in _MESSAGE_PROPERTIES:
            name = _MESSAGE_PROPERTIES[parts[0]]
            bound = member_param(script, name, use.value, reason)
            value_text = script.text[use.value[0] : use.value[1]]
            if name == "Body" and re.search(r"(?i)TextPart\s*\(\s*['\"]?html", value_text):
                params["BodyAsHtml"] = BoundParam("BodyAsHtml", "$true", BindKind.LITERAL, True, reason=reason, line=line)
            params.pop(name, None)
            add_param(params, bound, conditional)
        elif use.value is not None and parts == ["body"]:
            continue
        elif use.is_call and len(parts) == 2 and parts[0] in _MESSAGE_LISTS and parts[1] == "add" and use.arguments:
            name = _MESSAGE_LISTS[parts[0]]
            span = use.arguments[0]
            value = _mailbox_value(script, span)
            text = script.text[span[0] : span[1]].strip()
            bound = BoundParam(name, text, BindKind.LITERAL if value is not None else BindKind.EXPRESSION, value, reason=reason, line=line)
            add_param(params, bound, conditional)
    return params


def _tls_value(script: Script, span: tuple[int, int]) -> BoundParam:
    text = script.text[span[0] : span[1]].strip()
    m = re.search(r"(?i)SecureSocketOptions\]::(\w+)", text) or re.fullmatch(r"['\"]?(\w+)['\"]?", text)
    value: Optional[bool] = None
    if m and m.group(1).lower() in _TLS_OPTIONS:
        value = _TLS_OPTIONS[m.group(1).lower()]
    elif text.lower() in ("$true", "$false"):
        value = text.lower() == "$true"
    return BoundParam("UseSsl", text, BindKind.LITERAL if value is not None else BindKind.EXPRESSION, value, line=script.line_of(span[0]))


def _client_params(script: Script, client: Construction, uses: list[MemberUse], send_at: int) -> tuple[dict[str, BoundParam], list[RelatedLocation]]:
    params: dict[str, BoundParam] = {}
    related: list[RelatedLocation] = []
    for use in uses:
        if use.start >= send_at or not use.is_call:
            continue
        method = use.member.lower()
        conditional = script.structure.is_conditional(use.start, send_at)
        line = script.line_of(use.start)
        if method in ("connect", "connectasync") and use.arguments:
            related.append(RelatedLocation(script.path, *script.structure.line_col(use.start), "connect"))
            for name, span in zip(("SmtpServer", "Port"), use.arguments):
                bound = member_param(script, name, span, f"${client.variable}.{use.member}() (line {line})")
                bound.conditional = conditional
                params[name] = bound
            if len(use.arguments) >= 3:
                bound = _tls_value(script, use.arguments[2])
                bound.conditional = conditional
                params["UseSsl"] = bound
        elif method in ("authenticate", "authenticateasync") and use.arguments:
            related.append(RelatedLocation(script.path, *script.structure.line_col(use.start), "credential"))
            spans = use.arguments
            # Authenticate(user, password) / Authenticate($credential) / Authenticate(SaslMechanismOAuth2)
            user_text = script.text[spans[0][0] : spans[0][1]].strip()
            text = user_text if len(spans) == 1 else f"{user_text}, <password>"
            reason = f"${client.variable}.{use.member}() (line {line})"
            mechanism = user_text
            var = re.fullmatch(r"\$(?:script:|global:)?(\w+)", user_text)
            if var and len(spans) == 1:
                found = resolve_variable(script, var.group(1), use.start)
                mechanism = found.text if found is not None else user_text
            if re.search(r"(?i)SaslMechanismOAuth2|OAuth2", mechanism):
                reason += "; OAuth 2.0 (XOAUTH2), not a password"
            params["Credential"] = BoundParam("Credential", text, BindKind.EXPRESSION, None, conditional, reason, line)
    return params, related


def find_mailkit(script: Script) -> list[MailCall]:
    """MailKit SmtpClient sends and MailKit-backed cmdlet calls."""
    if script.is_data_file:
        return []
    calls = _client_calls(script)
    calls.extend(_cmdlet_calls(script))
    return calls


def _client_calls(script: Script) -> list[MailCall]:
    clients = find_constructions(script, _client_pattern(script))
    if not clients:
        return []
    messages = find_constructions(script, _message_pattern(script))
    calls: list[MailCall] = []
    for index, client in enumerate(clients):
        if client.variable is None:
            continue
        later = next((c.start for c in clients[index + 1 :] if c.variable == client.variable), None)
        uses = member_uses(script, client.variable, client.end, later)
        sends = [u for u in uses if u.is_call and u.member.lower() in _SEND_METHODS]
        if not sends and superseded(script, client, later):
            continue  # `$smtp = New-Object …SmtpClient` made again below before any Send: that one is the sender
        if not sends:
            params, related = _client_params(script, client, uses, len(script.text))
            calls.append(
                MailCall(
                    api=Api.MAILKIT,
                    command=client.type_name,
                    form="client-without-send",
                    location=script.location(client.start, client.end),
                    params=params,
                    related=related,
                    confidence=Confidence.LOW,
                    notes=["a MailKit SmtpClient is created here, but no Send in this file uses it"],
                    sent=False,
                    name_span=(client.start, client.start),
                    call_span=(client.start, client.end),
                )
            )
            continue
        for use in sends:
            calls.append(_send_call(script, client, uses, use, messages))
    return calls


def _send_call(script: Script, client: Construction, uses: list[MemberUse], use: MemberUse, messages: list[Construction]) -> MailCall:
    params, related = _client_params(script, client, uses, use.start)
    related.insert(0, RelatedLocation(script.path, *script.structure.line_col(client.start), "client"))
    notes: list[str] = []
    if "SmtpServer" not in params:
        notes.append("no Connect() before this Send() in this file: the server is not known")
    if use.arguments:
        span = use.arguments[0]
        message_text = script.text[span[0] : span[1]].strip()
        params["MailMessage"] = BoundParam("MailMessage", message_text, BindKind.EXPRESSION, None, line=script.line_of(span[0]))
        var = re.fullmatch(r"\$(?:script:|global:|local:)?([\w]+)", message_text)
        message = None
        if var:
            candidates = [m for m in messages if m.variable == var.group(1).lower() and m.start < use.start]
            message = candidates[-1] if candidates else None
        if message is not None:
            for name, bound in _message_params(script, message, use.start).items():
                params.setdefault(name, bound)
            related.append(RelatedLocation(script.path, *script.structure.line_col(message.start), "message"))
        else:
            notes.append(f"the MimeMessage {message_text} is not built in this file; its contents are unknown")
    doubt = script.tree_doubts(use.start, use.end)
    in_error = doubt is not None
    if doubt is not None:
        notes.append(doubt)
    return MailCall(
        api=Api.MAILKIT,
        command=script.text[use.start : use.member_start] + "." + use.member,
        form=_SEND_METHODS[use.member.lower()],
        location=script.location(use.start, use.end),
        params=params,
        related=related,
        confidence=Confidence.MEDIUM if in_error else Confidence.HIGH,
        notes=notes,
        in_error_region=in_error,
        name_span=(use.member_start, use.member_start + 1 + len(use.member)),
        call_span=(use.start, use.end),
    )


def _switch_off(bound: BoundParam) -> bool:
    """A switch given a false value (-Graph:$false, 'Graph' = $false in a splat)."""
    return bound.value is False or (bound.text or "").strip().lower() in ("$false", "0", "$null")


def _cmdlet_calls(script: Script) -> list[MailCall]:
    names = {"send-mailkitmessage": "Send-MailKitMessage", "send-emailmessage": "Send-EmailMessage"}
    calls: list[MailCall] = []
    for site in find_command_sites(script, names, module=""):
        spec, renames = CMDLETS[site.canonical.lower()]
        arguments = lex_call(script, site)
        binding = bind_arguments(script, spec, arguments, site.start)
        graph = binding.params.get("Graph") if site.canonical == "Send-EmailMessage" else None
        if graph is not None and not graph.conditional and not _switch_off(graph):
            continue  # Mailozaurr -Graph sends through Microsoft Graph, not SMTP
        notes = list(binding.notes)
        if graph is not None and graph.conditional:
            # A splatted table that sets Graph on one path only (if SMTPGRAPH … else …): the other paths send by SMTP.
            notes.append(f"-Graph is set on some paths only ({graph.reason or 'a conditional value'}): "
                         "those send through Microsoft Graph, the others through SMTP, which this finding is about")
        params: dict[str, BoundParam] = {}
        for name, bound in binding.params.items():
            if name == "Graph" and graph is not None:
                continue
            canonical = renames.get(name, name)
            if name == "HTMLBody" or (name == "HTML" and site.canonical == "Send-EmailMessage"):
                params["BodyAsHtml"] = BoundParam("BodyAsHtml", "$true", BindKind.LITERAL, True, line=bound.line)
            if name == "SecureSocketOptions":
                tls = BoundParam("UseSsl", bound.text, bound.kind, None, bound.conditional, bound.reason, bound.line)
                if isinstance(bound.value, str) and bound.value.lower() in _TLS_OPTIONS:
                    tls.value = _TLS_OPTIONS[bound.value.lower()]
                params["UseSsl"] = tls
                continue
            if name in ("Username", "Password"):
                if "Credential" not in params:
                    params["Credential"] = BoundParam("Credential", "-Username/-Password", BindKind.EXPRESSION, None, line=bound.line, reason="user name and password parameters")
                continue
            bound.name = canonical
            params.setdefault(canonical, bound)
        end = arguments.end
        while end > site.start and script.text[end - 1] in " \t":
            end -= 1
        doubt = script.tree_doubts(site.start, end)
        in_error = doubt is not None
        call = MailCall(
            api=Api.MAILKIT,
            command=site.written,
            form="cmdlet-splat" if binding.splats else "cmdlet",
            location=script.location(site.start, end),
            params=params,
            confidence=Confidence.MEDIUM if in_error else Confidence.HIGH,
            notes=notes,
            in_error_region=in_error,
            name_span=(site.name_start, site.name_end),
            call_span=(site.start, end),
        )
        call.related.extend(script.related(binding.related))
        calls.append(call)
    return calls
