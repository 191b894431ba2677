"""CDO (Collaboration Data Objects) COM sends: `New-Object -ComObject CDO.Message` … `.Send()`.

CDO is also used just to read `.eml` files (`$msg.DataSource.OpenObject($stream, '_Stream')`):
that is not a sender. A CDO message is reported only when it is sent (`.Send()`) or configured
to send (the `http://schemas.microsoft.com/cdo/configuration/...` send fields).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from scanner.analysis.objects import MemberUse, find_constructions, member_uses, returned_uses, with_site_arguments
from scanner.lexer import LexError, skip_string
from scanner.model import Api, BindKind, BoundParam, Confidence, MailCall, RelatedLocation
from scanner.analysis.literals import skip_spaces, static_value
from scanner.script import Script
from scanner.structure import assigned_value_extent
from scanner.analysis.objects import add_param, member_param

TOKENS = ("cdo.message", "cdo/configuration")

_MESSAGE = re.compile(r"(?i)CDO\.Message(?:\.\d+)?")
_CONFIGURATION_FIELD = re.compile(r"(?i)cdo/configuration/(sendusing|smtpserver|smtpserverport|smtpusessl|smtpauthenticate|sendusername|sendpassword|smtpconnectiontimeout)\b")
# What follows the field name string: `").Value = x`, `"] = x`, `") = x`, or `", x)` (Fields.Add / Item(name, value)).
_AFTER_FIELD = re.compile(r"[ \t]*[)\]][ \t]*(?:\.Value[ \t]*)?=(?!=)[ \t]*|[ \t]*,[ \t]*")
_SEND_FIELDS = {"sendusing", "smtpserver", "sendusername", "sendpassword"}

_MESSAGE_PROPERTIES = {
    "from": "From",
    "to": "To",
    "cc": "Cc",
    "bcc": "Bcc",
    "replyto": "ReplyTo",
    "subject": "Subject",
    "textbody": "Body",
    "htmlbody": "Body",
    "sender": "Sender",
}


@dataclass(frozen=True)
class ConfigurationField:
    """One `…/cdo/configuration/<name>` setting written in the script."""

    name: str  # sendusing, smtpserver, …
    start: int  # offset of the field URL string
    value: Optional[tuple[int, int]]  # span of the value assigned, when the script sets it here
    # A key of a settings hashtable applied in a loop: which message it configures is not written
    # down, so it describes sent messages but never makes a message count as a sender.
    from_hashtable: bool = False


def configuration_fields(script: Script) -> list[ConfigurationField]:
    """Every CDO configuration field the script sets, in text order (shared with System.Web.Mail)."""
    found: list[ConfigurationField] = []
    text = script.text
    for s, e in script.structure.masked.strings:
        m = _CONFIGURATION_FIELD.search(text, s, e)
        if m is None:
            continue
        after = _AFTER_FIELD.match(text, e)
        value: Optional[tuple[int, int]] = None
        if after is not None:
            vstart = skip_spaces(text, after.end())
            vstart_, vend = assigned_value_extent(script.structure, vstart)
            if "," in after.group():
                # Fields.Add("url", value): the value runs to the closing parenthesis.
                vend = min(vend, _closing_paren(text, vstart, vend))
            value = (vstart_, vend) if vend > vstart_ else None
        found.append(ConfigurationField(m.group(1).lower(), s, value))
    if "cdo/configuration/" in text.lower():
        found.extend(_fields_from_hashtables(script, {f.start for f in found}))
        found.sort(key=lambda f: f.start)
    return found


_FIELD_KEY = re.compile(
    r"(?im)^[ \t]*['\"]?(sendusing|smtpserver|smtpserverport|smtpusessl|smtpauthenticate|sendusername|sendpassword)['\"]?[ \t]*=(?!=)"
)


def _inside_literal(script: Script, offset: int) -> bool:
    """Whether ``offset`` lies in a comment, or inside a string that does not start right there."""
    for spans in (script.structure.masked.strings, script.structure.masked.comments):
        for start, end in spans:
            if start <= offset < end and not (spans is script.structure.masked.strings and start == offset):
                return True
    return False


def _fields_from_hashtables(script: Script, known: set[int]) -> list[ConfigurationField]:
    """`@{ sendusing = 2; smtpserver = $s; … }` applied in a loop with
    `Fields.Item($schema + $key) = $settings[$key]`: the field names are hashtable keys."""
    text = script.text
    fields: list[ConfigurationField] = []
    for m in _FIELD_KEY.finditer(text):
        key_start = m.start(1) - 1 if text[m.start(1) - 1] in "'\"" else m.start(1)
        if m.start(1) in known or _inside_literal(script, key_start):
            continue
        vstart, vend = assigned_value_extent(script.structure, skip_spaces(text, m.end()))
        fields.append(ConfigurationField(m.group(1).lower(), m.start(1), (vstart, vend) if vend > vstart else None, True))
    return fields


def _closing_paren(text: str, start: int, limit: int) -> int:
    depth = 0
    i = start
    while i < limit:
        c = text[i]
        if c in "'\"":
            try:
                i = skip_string(text, i)
            except LexError:
                return limit
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            if depth == 0:
                return i
            depth -= 1
        i += 1
    return limit


def field_params(script: Script, fields: list[ConfigurationField]) -> dict[str, BoundParam]:
    """CDO configuration fields bound to Send-MailMessage names (SmtpServer, Port, UseSsl, Credential, …)."""
    params: dict[str, BoundParam] = {}
    for field in fields:
        if field.value is None:
            continue
        text = script.text[field.value[0] : field.value[1]].strip()
        line = script.line_of(field.start)
        reason = f"cdo/configuration/{field.name} (line {line})"
        if field.name == "smtpserver":
            params["SmtpServer"] = member_param(script, "SmtpServer", field.value, reason)
        elif field.name == "smtpserverport":
            params["Port"] = member_param(script, "Port", field.value, reason)
        elif field.name == "smtpusessl":
            value = static_value(text)
            flag = None if value is None else str(value).lower() in ("true", "$true", "1")
            params["UseSsl"] = BoundParam("UseSsl", text, BindKind.LITERAL if flag is not None else BindKind.EXPRESSION, flag, reason=reason, line=line)
        elif field.name == "smtpauthenticate":
            # cdoAnonymous 0, cdoBasic 1, cdoNTLM 2 (the current Windows logon)
            value = static_value(text)
            params["Authentication"] = BoundParam("Authentication", text, BindKind.LITERAL if value is not None else BindKind.EXPRESSION, value, reason=reason, line=line)
        elif field.name == "sendusing":
            value = static_value(text)
            params["SendUsing"] = BoundParam("SendUsing", text, BindKind.LITERAL if value is not None else BindKind.EXPRESSION, value, reason=reason, line=line)
        elif field.name == "sendusername":
            user = member_param(script, "Credential", field.value, reason)
            # The credential is the user name; the password (sendpassword) is never copied into a report.
            params["Credential"] = BoundParam("Credential", user.text, BindKind.EXPRESSION, None, reason=reason, line=line)
        elif field.name == "sendpassword" and "Credential" not in params:
            params["Credential"] = BoundParam("Credential", "<sendpassword>", BindKind.EXPRESSION, None, reason=reason, line=line)
    return params


def find_cdo(script: Script) -> list[MailCall]:
    """CDO.Message objects that are sent or configured to send."""
    if script.is_data_file:
        return []
    messages = find_constructions(script, _MESSAGE, com=True)
    fields = configuration_fields(script)
    calls: list[MailCall] = []
    for index, message in enumerate(messages):
        if message.variable is None:
            continue
        later = next((m.start for m in messages[index + 1 :] if m.variable == message.variable), None)
        end = later if later is not None else len(script.text)
        uses = member_uses(script, message.variable, message.end, end)
        sends = [u for u in uses if u.is_call and u.member.lower() == "send"]
        # Built and returned by a function of this file, sent by its caller: `$msg = New-Msg …; $msg.Send()`.
        factory_sends = [] if sends else [(name, site, use) for name, site, use in returned_uses(script, message)
                                          if use.is_call and use.member.lower() == "send"]
        returned = {id(use): (name, site) for name, site, use in factory_sends}
        sends = sends or [use for _, _, use in factory_sends]
        own_fields = [f for f in fields if message.end <= f.start < end] or [f for f in fields if f.start < message.start]
        configured = any(f.name in _SEND_FIELDS and not f.from_hashtable for f in own_fields)
        if not sends and not configured:
            continue  # e.g. only DataSource.OpenObject() to read an .eml file
        targets: list[tuple[int, int, Optional[MemberUse]]] = [(u.start, u.end, u) for u in sends] or [(message.start, message.end, None)]
        for start, stop, use in targets:
            by_factory = returned.get(id(use)) if use is not None else None
            params = field_params(script, [f for f in own_fields if f.start < start or by_factory] if use is not None else own_fields)
            related = [RelatedLocation(script.path, *script.structure.line_col(message.start), "message")]
            related.extend(RelatedLocation(script.path, *script.structure.line_col(f.start), "configuration") for f in own_fields if f.name in ("smtpserver", "sendusername"))
            for prop in uses:
                if prop.start >= start and use is not None and by_factory is None:
                    break
                parts = prop.member.lower().split(".")
                conditional = script.structure.is_conditional(prop.start, start)
                if prop.value is not None and len(parts) == 1 and parts[0] in _MESSAGE_PROPERTIES:
                    name = _MESSAGE_PROPERTIES[parts[0]]
                    bound = member_param(script, name, prop.value, f"${message.variable}.{prop.member} = (line {script.line_of(prop.start)})")
                    if isinstance(bound.value, str) and name in ("To", "Cc", "Bcc") and ("," in bound.value or ";" in bound.value):
                        bound.value = [v.strip() for v in re.split(r"[,;]", bound.value) if v.strip()]
                    params.pop(name, None)
                    add_param(params, bound, conditional)
                    if parts[0] == "htmlbody":
                        params["BodyAsHtml"] = BoundParam("BodyAsHtml", "$true", BindKind.LITERAL, True, line=script.line_of(prop.start))
                elif prop.is_call and parts[0] == "addattachment" and prop.arguments:
                    add_param(params, member_param(script, "Attachments", prop.arguments[0], f"AddAttachment() (line {script.line_of(prop.start)})"), conditional)
            if by_factory is not None:
                params = with_site_arguments(script, by_factory[0], by_factory[1], params)
            notes = []
            if use is None:
                notes.append("CDO.Message is configured to send here, but no .Send() in this file uses it")
            elif by_factory is not None:
                related.append(RelatedLocation(script.path, *script.structure.line_col(by_factory[1]), "factory call"))
                notes.append(f"the message is built and configured by {by_factory[0]} (line {script.line_of(message.start)}), "
                             "which returns it; it is sent here")
            if "SmtpServer" not in params and params.get("SendUsing") is None:
                notes.append("no cdo/configuration/sendusing in this file: CDO uses the local SMTP service pickup folder or the machine's default")
            doubt = script.tree_doubts(start, stop)
            in_error = doubt is not None
            calls.append(
                MailCall(
                    api=Api.CDO,
                    command=(script.text[use.start : use.member_start] + ".Send") if use is not None else message.type_name,
                    form="com-send" if use is not None else "com-configured",
                    location=script.location(start, stop),
                    params=params,
                    related=related,
                    confidence=Confidence.LOW if use is None else Confidence.MEDIUM if in_error else Confidence.HIGH,
                    notes=notes,
                    sent=use is not None,
                    in_error_region=in_error,
                    name_span=(use.member_start, use.member_start + 5) if use is not None else (start, start),
                    call_span=(start, stop),
                )
            )
    return calls
