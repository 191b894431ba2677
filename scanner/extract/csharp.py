"""System.Net.Mail.SmtpClient in C# source that a script compiles with Add-Type:

    Add-Type -TypeDefinition @"
    public static class Mailer { public static void Go(string pw) {
        var c = new SmtpClient("smtp.office365.com", 587) { EnableSsl = true, Credentials = new NetworkCredential("u", pw) };
        c.Send(...); } }
    "@

The C# is read for what decides the verdict (the host, the port, EnableSsl, the credential); each client
is reported where its send is written in the string (form ``add-type-csharp``) and never patched: C# is
rewritten by hand (the finding's Graph request and snippet show what it becomes).
"""

from __future__ import annotations

import re
from typing import Optional, Union

from scanner.model import Api, BindKind, BoundParam, Confidence, MailCall
from scanner.script import Script
from scanner.structure import string_body

CSHARP_FORM = "add-type-csharp"

_ADD_TYPE = re.compile(r"(?i)(?<![\w-])Add-Type(?![\w-])")
_ASSIGNED = re.compile(r"(?i)\$(?:script:|global:|local:|private:)?(\w+)\s*=\s*$")
_NEW_CLIENT = re.compile(r"\bnew\s+(?:global::)?(?:System\.Net\.Mail\.)?SmtpClient\s*\(([^()]*)\)")
_SEND = re.compile(r"(\w*)\.(Send|SendAsync|SendMailAsync)\s*\(")
_STRING = re.compile(r'^@?"((?:[^"\\]|\\.)*)"$', re.S)
_INITIALIZER = {
    "Host": re.compile(r"\bHost\s*=\s*([^;,}\r\n]+)"),
    "Port": re.compile(r"\bPort\s*=\s*([^;,}\r\n]+)"),
    "EnableSsl": re.compile(r"\bEnableSsl\s*=\s*([^;,}\r\n]+)"),
    "Credentials": re.compile(r"\bCredentials\s*=\s*((?:new\s+[\w.]+\s*\([^()]*\))|[^;,}\r\n]+)"),
    "UseDefaultCredentials": re.compile(r"\bUseDefaultCredentials\s*=\s*([^;,}\r\n]+)"),
}


def _compiled_by_add_type(script: Script, start: int, end: int) -> bool:
    """Whether the string at ``start:end`` is C# handed to Add-Type (on its statement, or through a variable)."""
    code = script.code
    line_start = code.rfind("\n", 0, start) + 1
    line_end = code.find("\n", end)
    before, after = code[line_start:start], code[end : len(code) if line_end < 0 else line_end]
    if _ADD_TYPE.search(before) or _ADD_TYPE.search(after):
        return True
    assigned = _ASSIGNED.search(before)
    if assigned is None:
        return False
    use = re.compile(r"(?i)\$(?:script:|global:|local:|private:)?" + re.escape(assigned.group(1)) + r"(?!\w)")
    return any(use.search(line) and _ADD_TYPE.search(line) for line in code[end:].splitlines())


def _csharp_value(expression: str) -> tuple[Optional[Union[str, bool, int]], BindKind]:
    """A C# literal's value (a string, an int, a bool) and how it was bound; None for any other expression."""
    text = expression.strip()
    m = _STRING.match(text)
    if m is not None:
        return m.group(1), BindKind.LITERAL
    if re.fullmatch(r"\d{1,5}", text):
        return int(text), BindKind.LITERAL
    if text in ("true", "false"):
        return text == "true", BindKind.LITERAL
    return None, BindKind.EXPRESSION


def _param(name: str, expression: str, line: int) -> BoundParam:
    value, kind = _csharp_value(expression)
    return BoundParam(name, expression.strip(), kind, value, reason="in the C# source compiled by Add-Type", line=line)


def _split(arguments: str) -> list[str]:
    """Top-level C# arguments (strings may hold commas)."""
    out, depth, current, quoted = [], 0, [], False
    i = 0
    while i < len(arguments):
        c = arguments[i]
        if quoted:
            current.append(c)
            if c == "\\" and i + 1 < len(arguments):
                current.append(arguments[i + 1])
                i += 1
            elif c == '"':
                quoted = False
        elif c == '"':
            quoted = True
            current.append(c)
        elif c in "([{":
            depth += 1
            current.append(c)
        elif c in ")]}":
            depth -= 1
            current.append(c)
        elif c == "," and depth == 0:
            out.append("".join(current))
            current = []
        else:
            current.append(c)
        i += 1
    if "".join(current).strip():
        out.append("".join(current))
    return out


def find_add_type_smtp(script: Script) -> list[MailCall]:
    """Each SmtpClient the C# source of an Add-Type makes, with the settings that decide its verdict."""
    if script.is_data_file or "add-type" not in script.structure.code_lower:
        return []
    text = script.text
    calls: list[MailCall] = []
    for start, end in script.structure.masked.strings:
        if "SmtpClient" not in text[start:end] or not _compiled_by_add_type(script, start, end):
            continue
        body_start, body_end = string_body(text, start, end)
        body = text[body_start:body_end]
        clients = list(_NEW_CLIENT.finditer(body))
        for k, client in enumerate(clients):
            # What configures this client: from its construction to the next client (or the end of the source).
            scope_end = clients[k + 1].start() if k + 1 < len(clients) else len(body)
            scope = body[client.start() : scope_end]
            at = body_start + client.start()
            line = script.line_of(at)
            params: dict[str, BoundParam] = {}
            arguments = _split(client.group(1))
            if arguments:
                params["SmtpServer"] = _param("SmtpServer", arguments[0], line)
            if len(arguments) > 1:
                params["Port"] = _param("Port", arguments[1], line)
            for member, pattern in _INITIALIZER.items():
                m = pattern.search(scope)
                if m is None:
                    continue
                name = {"Host": "SmtpServer", "EnableSsl": "UseSsl", "Credentials": "Credential"}.get(member, member)
                params[name] = _param(name, m.group(1), script.line_of(body_start + client.start() + m.start()))
            send = _SEND.search(scope)
            where = at if send is None else body_start + client.start() + send.start()
            line_end = text.find("\n", where)
            line_end = len(text) if line_end < 0 else line_end
            written = "new SmtpClient" if send is None else (f"{send.group(1)}.{send.group(2)}" if send.group(1) else send.group(2))
            calls.append(MailCall(
                api=Api.SMTPCLIENT,
                command=written,
                form=CSHARP_FORM,
                location=script.location(where, line_end),
                params=params,
                confidence=Confidence.MEDIUM,
                notes=["the client is C# source compiled with Add-Type: smtp2graph reads its host, port, EnableSsl and "
                       "credential, and leaves the rewrite to you"],
                sent=send is not None,
                name_span=(where, where),
                call_span=(where, where),
            ))
    return calls
