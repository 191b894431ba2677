"""Outlook COM sends: `New-Object -ComObject Outlook.Application`, `.CreateItem(0)`, `.Send()`."""

from __future__ import annotations

import re
from typing import Optional

from scanner.analysis.objects import Construction, find_constructions, member_uses
from scanner.model import Api, BindKind, BoundParam, Confidence, MailCall, RelatedLocation
from scanner.analysis.resolve import resolve_variable
from scanner.script import Script
from scanner.analysis.objects import add_param, assigned_variable, member_param

TOKENS = ("outlook.application",)

_APPLICATION = re.compile(r"(?i)Outlook\.Application(?:\.\d+)?")
_PROPERTIES = {
    "to": "To",
    "cc": "Cc",
    "bcc": "Bcc",
    "subject": "Subject",
    "body": "Body",
    "htmlbody": "Body",
    "sentonbehalfofname": "From",
    "importance": "Priority",
    "replyrecipientnames": "ReplyTo",
}


def _is_mail_item(script: Script, text: str, at: int) -> Optional[bool]:
    """Whether a CreateItem() argument is olMailItem (0); None when it cannot be told."""
    t = text.strip()
    if re.fullmatch(r"(?i)0|\[[\w.]*OlItemType\]::olMailItem|['\"]?olMailItem['\"]?", t):
        return True
    m = re.fullmatch(r"\$(?:script:|global:)?(\w+)", t)
    if m:
        found = resolve_variable(script, m.group(1), at)
        if found is not None and found.value is not None:
            return found.value in (0, "0")
        return None
    if re.fullmatch(r"\d+", t):
        return False
    return None


_ACTIVE_OBJECT = re.compile(r"(?i)\[[\w.]*Marshal\]::GetActiveObject[ \t]*\([ \t]*['\"](Outlook\.Application(?:\.\d+)?)['\"][ \t]*\)")


def _running_instances(script: Script) -> list[Construction]:
    """`$o = [Runtime.InteropServices.Marshal]::GetActiveObject('Outlook.Application')`: the Outlook already running."""
    found = []
    for m in _ACTIVE_OBJECT.finditer(script.text):
        if script.structure.in_string_or_comment(m.start()):
            continue
        variable = assigned_variable(script, m.start())
        found.append(Construction(m.group(1), m.start(), m.end(), [], variable, form="active-object"))
    return found


def find_outlook(script: Script) -> list[MailCall]:
    """Mail items created through Outlook COM and sent (or only displayed) in the script."""
    if script.is_data_file:
        return []
    calls: list[MailCall] = []
    for app in find_constructions(script, _APPLICATION, com=True) + _running_instances(script):
        if app.variable is None:
            continue
        for create in member_uses(script, app.variable, app.end):
            if not create.is_call or create.member.lower() != "createitem" or not create.arguments:
                continue
            arg = script.text[create.arguments[0][0] : create.arguments[0][1]]
            mail_item = _is_mail_item(script, arg, create.start)
            if mail_item is False:
                continue
            item = assigned_variable(script, create.start)
            if item is None:
                continue
            uses = member_uses(script, item, create.end)
            sends = [u for u in uses if u.is_call and u.member.lower() == "send"]
            displays = [u for u in uses if u.is_call and u.member.lower() == "display"]
            targets = sends or displays[:1]
            if not targets:
                continue
            for target in targets:
                params: dict[str, BoundParam] = {}
                for prop in uses:
                    if prop.start >= target.start:
                        break
                    parts = prop.member.lower().split(".")
                    conditional = script.structure.is_conditional(prop.start, target.start)
                    reason = f"${item}.{prop.member} (line {script.line_of(prop.start)})"
                    if prop.value is not None and len(parts) == 1 and parts[0] in _PROPERTIES:
                        name = _PROPERTIES[parts[0]]
                        bound = member_param(script, name, prop.value, reason)
                        if isinstance(bound.value, str) and name in ("To", "Cc", "Bcc") and ";" in bound.value:
                            bound.value = [v.strip() for v in bound.value.split(";") if v.strip()]
                        params.pop(name, None)
                        add_param(params, bound, conditional)
                        if parts[0] == "htmlbody":
                            params["BodyAsHtml"] = BoundParam("BodyAsHtml", "$true", BindKind.LITERAL, True, line=script.line_of(prop.start))
                    elif prop.is_call and parts in (["recipients", "add"], ["attachments", "add"]) and prop.arguments:
                        name = "To" if parts[0] == "recipients" else "Attachments"
                        add_param(params, member_param(script, name, prop.arguments[0], reason), conditional)
                    elif prop.value is not None and parts == ["sendusingaccount"]:
                        params["From"] = BoundParam("From", script.text[prop.value[0] : prop.value[1]].strip(), BindKind.EXPRESSION, None, conditional, reason, script.line_of(prop.start))
                sent = target.member.lower() == "send"
                notes = ["sends through the Outlook profile of the logged-on user (classic Outlook for Windows)"]
                if not sent:
                    notes.append("the item is only displayed: a person sends it by hand")
                if mail_item is None:
                    notes.append(f"CreateItem({arg.strip()}) may not create a mail item")
                doubt = script.tree_doubts(target.start, target.end)
                in_error = doubt is not None
                calls.append(
                    MailCall(
                        api=Api.OUTLOOK_COM,
                        command=script.text[target.start : target.member_start] + "." + target.member,
                        form="com-send" if sent else "com-display",
                        location=script.location(target.start, target.end),
                        params=params,
                        related=[
                            RelatedLocation(script.path, *script.structure.line_col(app.start), "client"),
                            RelatedLocation(script.path, *script.structure.line_col(create.start), "message"),
                        ],
                        confidence=Confidence.LOW if mail_item is None else Confidence.MEDIUM if in_error else Confidence.HIGH,
                        notes=notes,
                        sent=sent,
                        in_error_region=in_error,
                        name_span=(target.member_start, target.member_start + 1 + len(target.member)),
                        call_span=(target.start, target.end),
                    )
                )
    return calls
