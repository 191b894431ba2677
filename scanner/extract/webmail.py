"""System.Web.Mail sends: `[System.Web.Mail.SmtpMail]::Send(...)` (.NET Framework only, built on CDO)."""

from __future__ import annotations

import re

from scanner.extract.cdo import configuration_fields, field_params
from scanner.analysis.objects import Construction, find_constructions, member_uses
from scanner.lexer import LexError, skip_balanced, split_arguments
from scanner.model import Api, BindKind, BoundParam, Confidence, MailCall, RelatedLocation
from scanner.analysis.literals import skip_spaces
from scanner.script import Script
from scanner.structure import assigned_value_extent
from scanner.analysis.objects import add_param, member_param

TOKENS = ("web.mail",)

_SMTPMAIL = r"\[[ \t]*(?:System\.)?Web\.Mail\.SmtpMail[ \t]*\]::"
_SEND = re.compile(r"(?i)" + _SMTPMAIL + r"(Send)[ \t]*\(")
_SERVER = re.compile(r"(?i)" + _SMTPMAIL + r"SmtpServer[ \t]*=(?!=)")
_MESSAGE = re.compile(r"(?i)(?:System\.)?Web\.Mail\.MailMessage")
_PROPERTIES = {"from": "From", "to": "To", "cc": "Cc", "bcc": "Bcc", "subject": "Subject", "body": "Body", "priority": "Priority", "bodyencoding": "Encoding"}


def _message_params(script: Script, message: Construction, send_at: int) -> dict[str, BoundParam]:
    params: dict[str, BoundParam] = {}
    if message.variable is None:
        return params
    for use in member_uses(script, message.variable, message.end, send_at):
        parts = use.member.lower().split(".")
        conditional = script.structure.is_conditional(use.start, send_at)
        reason = f"${message.variable}.{use.member} (line {script.line_of(use.start)})"
        if use.value is not None and len(parts) == 1 and parts[0] in _PROPERTIES:
            name = _PROPERTIES[parts[0]]
            bound = member_param(script, name, use.value, reason)
            if isinstance(bound.value, str) and name in ("To", "Cc", "Bcc") and ";" in bound.value:
                bound.value = [v.strip() for v in bound.value.split(";") if v.strip()]
            params.pop(name, None)
            add_param(params, bound, conditional)
        elif use.value is not None and parts == ["bodyformat"]:
            html = bool(re.search(r"(?i)Html", script.text[use.value[0] : use.value[1]]))
            params["BodyAsHtml"] = BoundParam("BodyAsHtml", script.text[use.value[0] : use.value[1]].strip(), BindKind.LITERAL, html, conditional, reason, script.line_of(use.start))
        elif use.is_call and parts == ["attachments", "add"] and use.arguments:
            add_param(params, member_param(script, "Attachments", use.arguments[0], reason), conditional)
    return params


def find_webmail(script: Script) -> list[MailCall]:
    """Every `[System.Web.Mail.SmtpMail]::Send()` call, bound."""
    if script.is_data_file:
        return []
    code = script.code
    text = script.text
    sends = list(_SEND.finditer(code))
    if not sends:
        return []
    messages = find_constructions(script, _MESSAGE)
    fields = configuration_fields(script)
    calls: list[MailCall] = []
    for m in sends:
        paren = m.end() - 1
        try:
            close = skip_balanced(text, paren)
        except LexError:
            close = len(text)
        args = split_arguments(text, paren + 1, close - 1)
        params: dict[str, BoundParam] = {}
        related: list[RelatedLocation] = []
        notes: list[str] = []
        servers = [s for s in _SERVER.finditer(code, 0, m.start())]
        if servers:
            server = servers[-1]
            span = assigned_value_extent(script.structure, skip_spaces(text, server.end()))
            bound = member_param(script, "SmtpServer", span, f"[SmtpMail]::SmtpServer (line {script.line_of(server.start())})")
            bound.conditional = script.structure.is_conditional(server.start(), m.start())
            params["SmtpServer"] = bound
            related.append(RelatedLocation(script.path, *script.structure.line_col(server.start()), "server"))
        else:
            notes.append("[SmtpMail]::SmtpServer is not set in this file: the local SMTP service is used")
        if len(args) == 4:
            for name, span in zip(("From", "To", "Subject", "Body"), args):
                params[name] = member_param(script, name, span, "SmtpMail.Send() argument")
        elif len(args) == 1:
            message_text = text[args[0][0] : args[0][1]].strip()
            params["MailMessage"] = BoundParam("MailMessage", message_text, BindKind.EXPRESSION, None, line=script.line_of(args[0][0]))
            var = re.fullmatch(r"\$(?:script:|global:|local:)?([\w]+)", message_text)
            candidates = [c for c in messages if var and c.variable == var.group(1).lower() and c.start < m.start()]
            if candidates:
                message = candidates[-1]
                params.update(_message_params(script, message, m.start()))
                related.append(RelatedLocation(script.path, *script.structure.line_col(message.start), "message"))
                own = [f for f in fields if message.end <= f.start < m.start()]
                for name, bound in field_params(script, own).items():
                    if name != "SmtpServer":  # [SmtpMail]::SmtpServer wins over the CDO field
                        params.setdefault(name, bound)
            else:
                notes.append(f"the MailMessage {message_text} is not built in this file; its contents are unknown")
        else:
            notes.append(f"SmtpMail.Send() with {len(args)} arguments is not a known overload")
        doubt = script.tree_doubts(m.start(), close)
        in_error = doubt is not None
        calls.append(
            MailCall(
                api=Api.SYSTEM_WEB_MAIL,
                command=text[m.start() : m.end() - 1].rstrip(),
                form="static-method",
                location=script.location(m.start(), close),
                params=params,
                related=related,
                confidence=Confidence.MEDIUM if in_error else Confidence.HIGH,
                notes=notes + (["System.Web.Mail exists only in .NET Framework: this call already fails on PowerShell 7"]),
                in_error_region=in_error,
                name_span=(m.start(1) - 2, m.end(1)),
                call_span=(m.start(), close),
            )
        )
    return calls
