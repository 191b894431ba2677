"""Code already on Microsoft Graph: REST calls to sendMail, the Graph SDK cmdlets, and their common bugs.

Recognized sends:
- `Invoke-RestMethod` / `Invoke-WebRequest` / `Invoke-MgGraphRequest` to `/users/{id}/sendMail`,
  `/me/sendMail` or `/users/{id}/messages/{id}/send`, with the URI written as a literal, an
  expandable string, a `-f` format, a concatenation, a variable holding one of those, or a `Uri`
  key of a splatted hashtable;
- `Send-MgUserMail` / `Send-MgBetaUserMail`;
- `Send-MgUserMessage` / `Send-MgBetaUserMessage` (draft-then-send after `New-MgUserMessage`).

The checks the GRAPH rules run over a file (`json_depth_issues`, `app_only_evidence`,
`attachment_issues`) live here too, so that the rules stay small.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass, field
from typing import Optional

from scanner.analysis.binding import bind_arguments
from scanner.analysis.commands import CommandSpec, ParameterSpec, find_command_sites, lex_call
from scanner.lexer import LexError, literal_value, skip_balanced, split_arguments
from scanner.model import Api, BindKind, BoundParam, Confidence, MailCall
from scanner.analysis.resolve import resolve_variable
from scanner.analysis.literals import parse_hashtable_literal, skip_spaces, static_value
from scanner.extract.tokens import GRAPH as GRAPH_TOKENS, holds_any
from scanner.script import Script
from scanner.structure import assigned_value_extent

TOKENS = ("sendmail", "send-mguser", "send-mgbetauser", "/send")

_WEB_PARAMETERS = (
    ParameterSpec("Uri", ("Url",), position=0),
    ParameterSpec("Method", position=1),
    ParameterSpec("Body"),
    ParameterSpec("Headers"),
    ParameterSpec("ContentType"),
    ParameterSpec("InFile"),
    ParameterSpec("OutFile"),
    ParameterSpec("UseBasicParsing", switch=True),
    ParameterSpec("TimeoutSec"),
    ParameterSpec("Token"),
    ParameterSpec("Authentication"),
    ParameterSpec("Credential"),
    ParameterSpec("UseDefaultCredentials", switch=True),
    ParameterSpec("WebSession"),
    ParameterSpec("SessionVariable"),
    ParameterSpec("Proxy"),
    ParameterSpec("ProxyCredential"),
    ParameterSpec("ProxyUseDefaultCredentials", switch=True),
    ParameterSpec("MaximumRetryCount"),
    ParameterSpec("RetryIntervalSec"),
    ParameterSpec("StatusCodeVariable"),
    ParameterSpec("ResponseHeadersVariable"),
    ParameterSpec("SkipCertificateCheck", switch=True),
    ParameterSpec("SkipHttpErrorCheck", switch=True),
    ParameterSpec("DisableKeepAlive", switch=True),
    ParameterSpec("UserAgent"),
    ParameterSpec("TransferEncoding"),
    ParameterSpec("OutputType"),
    ParameterSpec("OutputFilePath"),
    ParameterSpec("PassThru", switch=True),
)
INVOKE_RESTMETHOD = CommandSpec("Invoke-RestMethod", _WEB_PARAMETERS, key_parameters=("Uri", "Body"))
_WEB_COMMANDS = {
    "invoke-restmethod": "Invoke-RestMethod",
    "irm": "Invoke-RestMethod",
    "invoke-webrequest": "Invoke-WebRequest",
    "iwr": "Invoke-WebRequest",
}
_MG_REQUEST = {"invoke-mggraphrequest": "Invoke-MgGraphRequest"}
# PnP.PowerShell's Graph call: -Url (relative "users/{id}/sendMail" or absolute) and -Content.
INVOKE_PNPGRAPHMETHOD = CommandSpec(
    "Invoke-PnPGraphMethod",
    (
        ParameterSpec("Uri", ("Url",), position=0),
        ParameterSpec("Method"),
        ParameterSpec("Body", ("Content",)),
        ParameterSpec("ContentType"),
        ParameterSpec("AdditionalHeaders"),
        ParameterSpec("ConsistencyLevel"),
        ParameterSpec("Connection"),
        ParameterSpec("Raw", switch=True),
        ParameterSpec("All", switch=True),
        ParameterSpec("OutFile"),
        ParameterSpec("OutStream", switch=True),
    ),
    key_parameters=("Uri", "Body"),
)
_PNP_REQUEST = {"invoke-pnpgraphmethod": "Invoke-PnPGraphMethod"}

_SDK_PARAMETERS = (
    ParameterSpec("UserId"),
    ParameterSpec("BodyParameter"),
    ParameterSpec("Message"),
    ParameterSpec("MessageId"),
    ParameterSpec("SaveToSentItems", switch=True),
    ParameterSpec("Headers"),
    ParameterSpec("InputObject"),
    ParameterSpec("PassThru", switch=True),
    ParameterSpec("Break", switch=True),
    ParameterSpec("HttpPipelineAppend"),
    ParameterSpec("HttpPipelinePrepend"),
    ParameterSpec("Proxy"),
    ParameterSpec("ProxyCredential"),
    ParameterSpec("ProxyUseDefaultCredentials", switch=True),
    ParameterSpec("ResponseHeadersVariable"),
    ParameterSpec("WhatIf", switch=True),
    ParameterSpec("Confirm", switch=True),
)
SEND_MGUSERMAIL = CommandSpec("Send-MgUserMail", _SDK_PARAMETERS, key_parameters=("UserId", "BodyParameter"))
_SDK_SEND = {
    "send-mgusermail": "Send-MgUserMail",
    "send-mgbetausermail": "Send-MgBetaUserMail",
    "send-mgusermessage": "Send-MgUserMessage",
    "send-mgbetausermessage": "Send-MgBetaUserMessage",
}
_SDK_DRAFT = {"new-mgusermessage": "New-MgUserMessage", "new-mgbetausermessage": "New-MgBetaUserMessage"}

# `…/users/{id}/sendMail`, `…/me/sendMail`, `…/users/{id}/messages/{id}/send`; Invoke-MgGraphRequest also takes
# a relative `users/{id}/sendMail` (right after the opening quote).
_SENDMAIL_PATH = re.compile(r"(?i)(?:/|(?<=['\"]))(?:(me)|users/(.{1,160}?))/(sendmail|messages/.{1,160}?/send)\b")
_VARIABLE = re.compile(r"^\$(?:\{)?(?:script:|global:|local:)?([\w]+)\}?$")
_SUBEXPRESSION_VARIABLE = re.compile(r"^\$\(\s*\$(?:script:|global:)?([\w]+)\s*\)$")


# --------------------------------------------------------------------------- URI resolution


@dataclass
class ResolvedUri:
    """What the `-Uri` of a web call denotes, after following variables."""

    text: str  # the text the path was found in
    start: int  # offset of that text in the script (-1 when unknown)
    mailbox: Optional[str]  # "me", or the user id text as written in the URL
    draft: bool


def _follow(script: Script, text: str, at: int, depth: int = 0) -> tuple[str, int]:
    """The text a `$variable` was last assigned (one or two hops), else ``text`` itself."""
    m = _VARIABLE.match(text.strip())
    if m is None or depth > 2:
        return text, -1
    found = resolve_variable(script, m.group(1), at)
    if found is None:
        return text, -1
    inner, start = _follow(script, found.text, found.start, depth + 1)
    return (inner, start) if start >= 0 else (found.text, found.start)


def resolve_uri(script: Script, text: str, at: int) -> Optional[ResolvedUri]:
    """The mailbox a Graph sendMail URI sends as, when the URI (or what it is built from) is visible."""
    followed, start = _follow(script, text, at)
    m = _SENDMAIL_PATH.search(followed)
    if m is None:
        return None
    draft = not m.group(3).lower().startswith("sendmail")
    if m.group(1):
        return ResolvedUri(followed, start, "me", draft)
    return ResolvedUri(followed, start, _mailbox_text(followed, m.group(2)), draft)


def _mailbox_text(uri_text: str, raw: str) -> str:
    """The user segment as PowerShell code: `{0}` with `-f` becomes the format argument, `'+$x+'` becomes `$x`."""
    segment = raw.strip()
    fmt = re.fullmatch(r"\{(\d+)\}", segment)
    if fmt:
        after = re.search(r"(?i)\s-f\s+(.+)$", uri_text.strip(), re.S)
        if after:
            args = after.group(1).strip().rstrip(")")
            parts = split_arguments(args, 0, len(args))
            index = int(fmt.group(1))
            if index < len(parts):
                return args[parts[index][0] : parts[index][1]].strip()
        return segment
    concat = re.fullmatch(r"['\"]\s*\+\s*(.+?)\s*\+\s*['\"]", segment)
    if concat:
        return concat.group(1).strip()
    return segment


def _mailbox_param(script: Script, mailbox: str, at: int, reason: str) -> BoundParam:
    """The sender (`From`) of a Graph call: the user id in the URL or -UserId."""
    line = script.line_of(at)
    if mailbox == "me":
        return BoundParam("From", "me", BindKind.EXPRESSION, None, reason="/me: the signed-in user of a delegated token", line=line)
    text = mailbox
    value = static_value(text) if text[:1] in "'\"" else (text if re.fullmatch(r"[\w.@+-]+", text) and "$" not in text else None)
    if value is not None:
        return BoundParam("From", text, BindKind.LITERAL, value, reason=reason, line=line)
    m = _VARIABLE.match(text) or _SUBEXPRESSION_VARIABLE.match(text)
    bound = BoundParam("From", text, BindKind.EXPRESSION, None, reason=reason, line=line)
    if m:
        found = resolve_variable(script, m.group(1), at)
        if found is not None and found.value is not None and not isinstance(found.value, list):
            bound.value = found.value
            bound.conditional = found.conditional
            bound.reason = f"{reason}; value from {found.origin}"
    return bound


# --------------------------------------------------------------------------- message contents


_ADDRESS = re.compile(r"(?i)\baddress['\"]?\s*[=:]\s*([\"'][^\"'\r\n]*[\"']|\$[\w:.]+)")
_SUBJECT = re.compile(r"(?i)(?<![\w-])['\"]?subject['\"]?\s*[=:]\s*")
_CONTENT_TYPE_HTML = re.compile(r"(?i)contentType['\"]?\s*[=:]\s*['\"]html['\"]")
_RECIPIENT_KEYS = {"torecipients": "To", "ccrecipients": "Cc", "bccrecipients": "Bcc", "replyto": "ReplyTo"}


def _structure_text(script: Script, text: str, at: int) -> tuple[str, int]:
    """The hashtable/JSON text a `-Body` / `-BodyParameter` value is built from, when visible."""
    member = re.fullmatch(r"(\$(?:script:|global:)?\w+)\.\w+", text.strip())
    if member:
        text = member.group(1)  # `$params.Message`: the keys are searched in the whole of $params
    followed, start = _follow(script, text, at)
    # `$message | ConvertTo-Json -Depth 5` or `ConvertTo-Json $message`: look at $message.
    cj = re.search(r"(?i)^\(?\s*(\$[\w:]+)\s*\|\s*ConvertTo-Json|ConvertTo-Json\s+(?:-InputObject\s+)?(\$[\w:]+)", followed.strip())
    if cj:
        inner, inner_start = _follow(script, cj.group(1) or cj.group(2), start if start >= 0 else at)
        if inner_start >= 0:
            return inner, inner_start
    return followed, start


def _key_value(text: str, key: str) -> Optional[str]:
    m = re.search(r"(?i)(?<![\w-])['\"]?" + key + r"['\"]?\s*[=:]\s*", text)
    if m is None:
        return None
    rest = text[m.end() :]
    if rest[:1] in "'\"":
        quote = rest[0]
        close = rest.find(quote, 1)
        return rest[: close + 1] if close > 0 else None
    word = re.match(r"[^\s;,}\r\n]+", rest)
    return word.group() if word else None


def message_params(script: Script, text: str, at: int) -> dict[str, BoundParam]:
    """Subject, recipients and body of a Graph message built in the script, under Send-MailMessage names."""
    body, start = _structure_text(script, text, at)
    if start < 0 or "@{" not in body and "{" not in body:
        return {}
    params: dict[str, BoundParam] = {}
    line = script.line_of(start)
    reason = f"message built at line {line}"
    subject = _key_value(body, "subject")
    if subject is not None:
        value = literal_value(subject) if subject[:1] in "'\"" else None
        params["Subject"] = BoundParam("Subject", subject, BindKind.LITERAL if value is not None else BindKind.EXPRESSION, value, reason=reason, line=line)
    for key, name in _RECIPIENT_KEYS.items():
        m = re.search(r"(?i)(?<![\w-])['\"]?" + key + r"['\"]?\s*[=:]\s*", body)
        if m is None:
            continue
        # The recipients value runs to the next recipient-list key or the end of the structure.
        nxt = re.search(r"(?i)(?<![\w-])['\"]?(?:" + "|".join(k for k in _RECIPIENT_KEYS if k != key) + r"|attachments|body|subject)['\"]?\s*[=:]", body[m.end() :])
        segment = body[m.end() : m.end() + nxt.start()] if nxt else body[m.end() :]
        addresses = [a.group(1) for a in _ADDRESS.finditer(segment)]
        if not addresses:
            first = (segment.strip().splitlines() or [""])[0].rstrip(";} \t")
            params[name] = BoundParam(name, first[:80], BindKind.EXPRESSION, None, reason=reason, line=line)
            continue
        values = [literal_value(a) if a[:1] in "'\"" else None for a in addresses]
        static = [v for v in values if v is not None]
        params[name] = BoundParam(
            name,
            ", ".join(addresses),
            BindKind.LITERAL if len(static) == len(values) else BindKind.EXPRESSION,
            static if len(static) == len(values) else None,
            reason=reason,
            line=line,
        )
    content = _key_value(body, "content")
    if content is not None:
        value = literal_value(content) if content[:1] in "'\"" else None
        params["Body"] = BoundParam("Body", content, BindKind.LITERAL if value is not None else BindKind.EXPRESSION, value, reason=reason, line=line)
    if _CONTENT_TYPE_HTML.search(body):
        params["BodyAsHtml"] = BoundParam("BodyAsHtml", "$true", BindKind.LITERAL, True, reason=reason, line=line)
    if re.search(r"(?i)\battachments['\"]?\s*[=:]", body):
        params["Attachments"] = BoundParam("Attachments", "attachments", BindKind.EXPRESSION, None, reason=reason, line=line)
    return params


# --------------------------------------------------------------------------- recognizer


def _content_type(script: Script, binding_params: dict[str, BoundParam], at: int) -> Optional[BoundParam]:
    """The Content-Type of a web call: -ContentType, or a Content-Type key of its -Headers table."""
    bound = binding_params.get("ContentType")
    if bound is not None:
        return BoundParam("ContentType", bound.text, bound.kind, bound.value, bound.conditional, bound.reason, bound.line)
    headers = binding_params.get("Headers")
    if headers is None:
        return None
    text, start = _follow(script, headers.text, at)
    if start < 0:
        start = script.text.find(headers.text, max(0, at))
    value = _key_value(text, "Content-Type")
    if value is None:
        return None
    static = literal_value(value) if value[:1] in "'\"" else None
    offset = start + text.lower().find("content-type") if start >= 0 else at
    return BoundParam("ContentType", value, BindKind.LITERAL if static is not None else BindKind.EXPRESSION, static, reason="Content-Type header", line=script.line_of(offset))


def _call(script: Script, api: Api, site_start: int, name_start: int, name_end: int, end: int, written: str, form: str, params: dict[str, BoundParam], notes: list[str], related: list[tuple[int, str]]) -> MailCall:
    while end > site_start and script.text[end - 1] in " \t":
        end -= 1
    doubt = script.tree_doubts(site_start, end)
    in_error = doubt is not None
    call = MailCall(
        api=api,
        command=written,
        form=form,
        location=script.location(site_start, end),
        params=params,
        confidence=Confidence.MEDIUM if in_error else Confidence.HIGH,
        notes=notes + ([doubt] if doubt is not None else []),
        in_error_region=in_error,
        name_span=(name_start, name_end),
        call_span=(site_start, end),
    )
    call.related.extend(script.related(related))
    return call


def _web_calls(script: Script) -> list[MailCall]:
    calls: list[MailCall] = []
    sites = (
        find_command_sites(script, _WEB_COMMANDS)
        + find_command_sites(script, _MG_REQUEST, module="Microsoft.Graph.Authentication")
        + find_command_sites(script, _PNP_REQUEST, module="PnP.PowerShell")
    )
    for site in sorted(sites, key=lambda s: s.start):
        arguments = lex_call(script, site)
        spec = INVOKE_PNPGRAPHMETHOD if site.canonical == "Invoke-PnPGraphMethod" else INVOKE_RESTMETHOD
        binding = bind_arguments(script, spec, arguments, site.start)
        uri = binding.params.get("Uri")
        if uri is None:
            continue
        resolved = resolve_uri(script, uri.text, site.start)
        if resolved is None:
            continue
        params: dict[str, BoundParam] = {}
        related = list(binding.related)
        if resolved.start >= 0:
            related.append((resolved.start, "uri"))
        params["From"] = _mailbox_param(script, resolved.mailbox or "", site.start, f"the user in the request URL (line {uri.line or script.line_of(site.start)})")
        body = binding.params.get("Body")
        if body is not None:
            params.update({k: v for k, v in message_params(script, body.text, site.start).items() if k != "From"})
            params["RequestBody"] = BoundParam("RequestBody", body.text, body.kind, None, body.conditional, body.reason, body.line)
        content_type = _content_type(script, binding.params, site.start)
        if content_type is not None:
            params["ContentType"] = content_type
        if "Uri" in binding.params and binding.params["Uri"].kind is BindKind.SPLAT:
            form = "rest-splat"
        else:
            form = "rest"
        if resolved.draft:
            form = "rest-draft-send"
        api = Api.GRAPH_SENDMAIL
        calls.append(_call(script, api, site.start, site.name_start, site.name_end, arguments.end, site.written, form, params, [n for n in binding.notes if "is not a parameter" not in n], related))
    return calls


def _sdk_calls(script: Script) -> list[MailCall]:
    calls: list[MailCall] = []
    drafts = find_command_sites(script, _SDK_DRAFT, module="")
    for site in find_command_sites(script, _SDK_SEND, module=""):
        arguments = lex_call(script, site)
        binding = bind_arguments(script, SEND_MGUSERMAIL, arguments, site.start)
        params: dict[str, BoundParam] = {}
        related = list(binding.related)
        notes = [n for n in binding.notes if "is not a parameter" not in n]
        user = binding.params.get("UserId")
        if user is not None:
            bound = _mailbox_param(script, user.text.strip(), site.start, "-UserId")
            if user.value is not None and not isinstance(user.value, list):
                bound.value, bound.kind = user.value, user.kind if user.kind is not BindKind.EXPRESSION else BindKind.LITERAL
            params["From"] = bound
        is_draft = site.canonical.endswith("Message")
        form = "sdk"
        if is_draft:
            form = "sdk-draft-send"
            before = [d for d in drafts if d.start < site.start]
            if before:
                draft = before[-1]
                related.append((draft.start, "draft"))
                draft_args = lex_call(script, draft)
                draft_binding = bind_arguments(script, SEND_MGUSERMAIL, draft_args, draft.start)
                body = draft_binding.params.get("BodyParameter")
                if body is not None:
                    params.update({k: v for k, v in message_params(script, body.text, draft.start).items() if k != "From"})
                if "From" not in params and "UserId" in draft_binding.params:
                    params["From"] = _mailbox_param(script, draft_binding.params["UserId"].text.strip(), draft.start, "-UserId of New-MgUserMessage")
            else:
                notes.append("the draft is not created in this file (no New-MgUserMessage before this call)")
        else:
            body = binding.params.get("BodyParameter")
            if body is not None:
                params.update({k: v for k, v in message_params(script, body.text, site.start).items() if k != "From"})
            elif "Message" in binding.params:
                params.update({k: v for k, v in message_params(script, binding.params["Message"].text, site.start).items() if k != "From"})
        if "SaveToSentItems" in binding.params:
            params["SaveToSentItems"] = binding.params["SaveToSentItems"]
        calls.append(_call(script, Api.SEND_MGUSERMAIL, site.start, site.name_start, site.name_end, arguments.end, site.written, form, params, notes, related))
    return calls


_CACHE: "weakref.WeakKeyDictionary[Script, list[MailCall]]" = weakref.WeakKeyDictionary()


def find_graph(script: Script) -> list[MailCall]:
    """Every Graph send in the script (REST to sendMail, Send-MgUserMail, draft then Send-MgUserMessage)."""
    if script.is_data_file:
        return []
    cached = _CACHE.get(script)
    if cached is None:
        # The recognizer's contract: a file without its tokens holds no call it finds (answered once
        # per script like the calls: the recognizer and two file rules ask).
        found = holds_any(script, GRAPH_TOKENS)
        cached = _web_calls(script) + _sdk_calls(script) if found else []
        cached.sort(key=lambda c: c.location.start)
        _CACHE[script] = cached
    return list(cached)


# --------------------------------------------------------------------------- ConvertTo-Json depth

CONVERTTO_JSON = CommandSpec(
    "ConvertTo-Json",
    (
        ParameterSpec("InputObject", position=0, pipeline=True),
        ParameterSpec("Depth"),
        ParameterSpec("Compress", switch=True),
        ParameterSpec("EnumsAsStrings", switch=True),
        ParameterSpec("AsArray", switch=True),
        ParameterSpec("EscapeHandling"),
    ),
)
DEFAULT_JSON_DEPTH = 2
_MAIL_KEYS = re.compile(r"(?i)\b(toRecipients|ccRecipients|bccRecipients|emailAddress|saveToSentItems)\b")


@dataclass
class JsonDepthIssue:
    """A ConvertTo-Json of a mail message whose depth loses part of the message."""

    start: int
    end: int
    given: Optional[int]  # the -Depth written, None when absent
    needed: Optional[int]  # the depth the structure needs, None when it cannot be seen
    structure_at: int = -1  # where the structure is built
    feeds: list[int] = field(default_factory=list)  # offsets of the Graph calls it feeds


def _group_start(code: str, close: int) -> int:
    """Offset of the `@{` / `@(` / `(` that the bracket at ``close`` closes (masked code)."""
    pairs = {"}": "{", ")": "(", "]": "["}
    stack = [code[close]]
    i = close - 1
    while i >= 0 and stack:
        c = code[i]
        if c in pairs:
            stack.append(c)
        elif c in "{([" and stack and pairs[stack[-1]] == c:
            stack.pop()
        i -= 1
    start = i + 1
    if start > 0 and code[start - 1] == "@":
        start -= 1
    m = re.search(r"\[\s*(?:ordered|pscustomobject)\s*\]\s*$", code[max(0, start - 20) : start], re.I)
    if m:
        start -= len(m.group())
    return start


def _upstream(script: Script, site_start: int) -> Optional[tuple[int, int]]:
    """The value piped into the command at ``site_start`` (multi-line hashtables included)."""
    code = script.code
    i = site_start - 1
    while i >= 0 and code[i] in " \t\r\n`":
        i -= 1
    if i < 0 or code[i] != "|":
        return None
    i -= 1
    while i >= 0 and code[i] in " \t\r\n`":
        i -= 1
    if i < 0:
        return None
    if code[i] in "})]":
        return _group_start(code, i), i + 1
    m = re.search(r"\$[\w:]+$", code[max(0, i - 80) : i + 1])
    if m:
        return i + 1 - len(m.group()), i + 1
    return None


def container_depth(script: Script, start: int, end: int, seen: Optional[set[str]] = None) -> int:
    """How deep the containers (hashtables, arrays) of the value in ``[start, end)`` nest; 0 for a scalar.

    ConvertTo-Json turns any container deeper than -Depth (top level = 0) into its type name,
    so a value needs ``-Depth >= container_depth - 1``.
    """
    seen = set() if seen is None else seen
    text = script.text
    code = script.code
    t = code[start:end].strip()
    lead = start + (len(code[start:end]) - len(code[start:end].lstrip()))
    if not t:
        return 0
    m = re.match(r"(?i)(?:\[\s*(?:ordered|pscustomobject)\s*\]\s*)?@\{", code[lead:end])
    if m and _closes_at(text, lead + m.end() - 1, end):
        brace = lead + m.end() - 1
        entries, _ = parse_hashtable_literal(script, brace, False, "")
        best = 0
        for entry in entries:
            vstart = entry.assignment.start
            vend = vstart + len(entry.assignment.text)
            best = max(best, _value_depth(script, vstart, vend, seen))
        return 1 + best
    if code[lead:].startswith("@(") and _closes_at(text, lead + 1, end):
        close = skip_balanced(text, lead + 1)
        return 1 + _linear_depth(script, lead + 2, close - 1, seen)
    return _value_depth(script, lead, end, seen)


def _closes_at(text: str, bracket: int, end: int) -> bool:
    try:
        close = skip_balanced(text, bracket)
    except LexError:
        return False
    return not text[close:end].strip()


def _value_depth(script: Script, start: int, end: int, seen: set[str]) -> int:
    """Depth of one value: a comma list is an array of its items; a variable is what it holds."""
    parts = split_arguments(script.text, start, end)
    if len(parts) > 1:
        return 1 + max(_linear_depth(script, s, e, seen) for s, e in parts)
    return _linear_depth(script, start, end, seen)


def _linear_depth(script: Script, start: int, end: int, seen: set[str]) -> int:
    """Deepest container found scanning code in ``[start, end)``; script blocks and groups are transparent."""
    code = script.code
    text = script.text
    best = 0
    i = start
    while i < end:
        c = code[i]
        if c == "@" and i + 1 < end and code[i + 1] in "{(":
            try:
                close = skip_balanced(text, i + 1)
            except LexError:
                return best
            best = max(best, container_depth(script, i, close, seen))
            i = close
            continue
        if c == "$":
            m = re.compile(r"\$(?:script:|global:|local:)?([\w]+)(?![\w.\[:])").match(code, i)
            if m:
                best = max(best, variable_depth(script, m.group(1), i, seen))
                i = m.end()
                continue
        i += 1
    return best


def variable_depth(script: Script, name: str, at: int, seen: Optional[set[str]] = None) -> int:
    """Container depth of what ``$name`` holds at ``at``, including items added with `+=` / `.Add()`."""
    seen = set() if seen is None else seen
    key = name.lower()
    if key in seen or key in ("true", "false", "null", "_", "psitem"):
        return 0
    seen = seen | {key}
    best = 0
    found = resolve_variable(script, name, at)
    if found is not None:
        best = container_depth(script, found.start, found.start + len(found.text), seen)
        if re.match(r"(?i)\[System\.Collections\.|New-Object\s+(?:-TypeName\s+)?System\.Collections\.", found.text):
            best = max(best, 1)
    code = script.code
    pattern = re.compile(r"(?i)(?<![\w$])\$(?:script:|global:)?" + re.escape(name) + r"(?:[ \t]*\+=[ \t]*|\.Add[ \t]*\()")
    for m in pattern.finditer(code, 0, at):
        if m.group().endswith("("):
            try:
                close = skip_balanced(script.text, m.end() - 1)
            except LexError:
                continue
            vstart, vend = m.end(), close - 1
        else:
            vstart, vend = assigned_value_extent(script.structure, skip_spaces(script.text, m.end()))
        best = max(best, 1 + container_depth(script, vstart, vend, seen))
    return best


def json_depth_issues(script: Script) -> list[JsonDepthIssue]:
    """ConvertTo-Json calls that serialize a mail message with a depth too small for it."""
    if script.is_data_file or "convertto-json" not in script.code.lower():
        return []
    graph_calls = [c for c in find_graph(script) if c.api is Api.GRAPH_SENDMAIL]
    issues: list[JsonDepthIssue] = []
    for site in find_command_sites(script, {"convertto-json": "ConvertTo-Json"}):
        arguments = lex_call(script, site)
        binding = bind_arguments(script, CONVERTTO_JSON, arguments, site.start)
        depth_param = binding.params.get("Depth")
        given: Optional[int] = None
        if depth_param is not None:
            if not isinstance(depth_param.value, int) or isinstance(depth_param.value, bool):
                continue  # a computed depth: trust it
            given = depth_param.value
        span: Optional[tuple[int, int]] = None
        input_param = binding.params.get("InputObject")
        if input_param is not None:
            pos = script.text.find(input_param.text, site.name_end)
            span = (pos, pos + len(input_param.text)) if pos >= 0 else None
        else:
            span = _upstream(script, site.start)
        if span is None:
            continue
        needed_structure = container_depth(script, span[0], span[1])
        structure_text = script.text[span[0] : span[1]]
        var = _VARIABLE.match(structure_text.strip())
        structure_at = span[0]
        if var:
            found = resolve_variable(script, var.group(1), site.start)
            if found is not None:
                structure_text = found.text
                structure_at = found.start
        feeds = _feeds(script, site.start, graph_calls)
        is_mail = bool(_MAIL_KEYS.search(structure_text)) or bool(feeds)
        if not is_mail:
            continue
        needed = needed_structure - 1 if needed_structure > 0 else None
        effective = given if given is not None else DEFAULT_JSON_DEPTH
        if needed is None:
            if given is not None:
                continue
        elif needed <= effective:
            continue
        end = arguments.end
        issues.append(JsonDepthIssue(site.start, end, given, needed, structure_at, feeds))
    return issues


def _feeds(script: Script, at: int, graph_calls: list[MailCall]) -> list[int]:
    """Graph calls whose request body is the output of the ConvertTo-Json at ``at``."""
    code = script.code
    line_start = max(code.rfind("\n", 0, at), code.rfind(";", 0, at)) + 1
    m = re.search(r"\$(?:script:|global:)?([\w]+)[ \t]*=[ \t]*(?:\(?[^=\n]*)$", code[line_start:at])
    out: list[int] = []
    for call in graph_calls:
        body = call.params.get("RequestBody")
        if body is None:
            continue
        start, end = call.call_span
        if start <= at < end:
            out.append(start)
        elif m and re.fullmatch(r"\$(?:script:|global:)?" + re.escape(m.group(1)), body.text.strip(), re.I) and start > at:
            out.append(start)
    return out


# --------------------------------------------------------------------------- app-only tokens and /me

_APP_ONLY = [
    (re.compile(r"(?i)grant_type['\"]?\s*[=:]\s*['\"]?client_credentials"), "a client-credentials token request (grant_type=client_credentials)"),
    (re.compile(r"(?i)grant_type=client_credentials"), "a client-credentials token request (grant_type=client_credentials)"),
    (re.compile(r"(?i)Connect-MgGraph\b[^\r\n]*-(?:CertificateThumbprint|CertificateName|CertificateSubjectName|Certificate|ClientSecretCredential)\b"), "Connect-MgGraph with an application certificate or secret"),
    (re.compile(r"(?i)Connect-MgGraph\b[^\r\n]*-Identity\b"), "Connect-MgGraph -Identity (managed identity)"),
    (re.compile(r"(?i)Get-MsalToken\b[^\r\n]*-Client(?:Secret|Certificate)\b"), "Get-MsalToken with a client secret or certificate"),
    (re.compile(r"(?i)\.AcquireTokenForClient\s*\("), "MSAL AcquireTokenForClient"),
]


@dataclass(frozen=True)
class AppOnlyEvidence:
    start: int
    what: str


def app_only_evidence(script: Script) -> list[AppOnlyEvidence]:
    """Places where the script gets an application (app-only) token, with which /me does not exist."""
    found: list[AppOnlyEvidence] = []
    text = script.text
    for pattern, what in _APP_ONLY:
        for m in pattern.finditer(text):
            if script.structure.in_string_or_comment(m.start()) and not _in_string(script, m.start()):
                continue  # commented out (inside a string it still counts: a form-encoded token request body)
            if any(abs(f.start - m.start()) < 5 for f in found):
                continue
            found.append(AppOnlyEvidence(m.start(), what))
    return sorted(found, key=lambda f: f.start)


def _in_string(script: Script, offset: int) -> bool:
    import bisect

    spans = script.structure.masked.strings
    idx = bisect.bisect_right(spans, (offset, len(script.text) + 1)) - 1
    return idx >= 0 and spans[idx][0] <= offset < spans[idx][1]


# --------------------------------------------------------------------------- attachments

# Matched on masked code: no trailing spaces in the pattern, or it would run over a blanked string value.
_CONTENT_BYTES = re.compile(r"(?i)(?<![\w$])['\"]?contentBytes['\"]?[ \t]*=(?!=)")
_FILE_READ = re.compile(r"(?i)ReadAllBytes|Get-Content\b[^\r\n]*-(?:Encoding\s+Byte|AsByteStream)|\[IO\.File\]|System\.IO\.File")
_SIZE_HANDLING = re.compile(
    r"(?i)createUploadSession|\.Length\s*-(?:gt|ge|lt|le)\b|-(?:gt|ge|lt|le)\s*\$?\w*\.Length\b|\b\d+\s*(?:MB|KB)\b[^\r\n]*-(?:gt|ge|lt|le)|-(?:gt|ge|lt|le)\s*\(?\s*\d+\s*(?:MB|KB)\b|\$\w*(?:max|limit)\w*size\w*|\.Length\s*/"
)


@dataclass(frozen=True)
class AttachmentIssue:
    start: int
    end: int
    source: str  # the expression that reads the file


def attachment_issues(script: Script) -> list[AttachmentIssue]:
    """`contentBytes` filled from a file read with no size check or upload session anywhere in the script."""
    if script.is_data_file or "contentbytes" not in script.text.lower():
        return []
    if _SIZE_HANDLING.search(script.code) or re.search(r"(?i)createUploadSession", script.text):
        return []
    issues: list[AttachmentIssue] = []
    for m in _CONTENT_BYTES.finditer(script.code):
        vstart, vend = assigned_value_extent(script.structure, skip_spaces(script.text, m.end()))
        value = script.text[vstart:vend]
        source = value
        if not _FILE_READ.search(value):
            var = re.search(r"\$(?:script:|global:)?([\w]+)", value)
            found = resolve_variable(script, var.group(1), m.start()) if var else None
            if found is None or not _FILE_READ.search(found.text):
                # One more hop: $bytes = [IO.File]::ReadAllBytes(...); $b64 = [Convert]::ToBase64String($bytes)
                inner = re.search(r"\$(?:script:|global:)?([\w]+)", found.text) if found is not None else None
                deeper = resolve_variable(script, inner.group(1), found.start) if inner and found is not None else None
                if deeper is None or not _FILE_READ.search(deeper.text):
                    continue
                source = deeper.text
            else:
                source = found.text
        issues.append(AttachmentIssue(m.start(), vend, source.strip()))
    return issues
