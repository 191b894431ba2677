"""Exchange Web Services (EWS) senders, and other EWS use, found once per script.

Three ways a PowerShell script sends mail through EWS:

- the EWS Managed API: an `ExchangeService` (its `Url` or `AutodiscoverUrl(address)` and its
  credentials), an `EmailMessage` built on it and its `Send()` / `SendAndSaveCopy()`; replies and
  forwards that send (`$item.Reply($body, $true)`, `$item.Forward($body, $to)`, and a
  `CreateReply()` / `CreateForward()` response message's `Send()` / `SendAndSaveCopy()`);
- a SOAP `CreateItem` with `MessageDisposition="SendOnly"` / `"SendAndSaveCopy"` (or a `SendItem`)
  posted to `/EWS/Exchange.asmx` with Invoke-WebRequest / Invoke-RestMethod / WebClient /
  HttpClient / System.Net.WebRequest;
- a proxy from `New-WebServiceProxy` whose `CreateItem()` / `SendItem()` is called.

The message is bound in the canonical Send-MailMessage names (From, To, Cc, Bcc, ReplyTo, Subject,
Body, BodyAsHtml, Attachments, Priority); the endpoint and logon in EWS names (EwsUrl, Autodiscover,
Credential, UseDefaultCredentials, Authentication, AppId) for the verdict (scanner.assess_ews).
Every other use of EWS in a file (reads, searches, calendar) is one call of form `other-ews-use`.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from scanner.analysis.binding import bind_arguments
from scanner.analysis.commands import CommandSpec, ParameterSpec, find_command_sites, lex_call
from scanner.analysis.functions import function_parameters
from scanner.analysis.literals import constructor_arguments, literal_or_none, static_value
from scanner.analysis.objects import Construction, MemberUse, assigned_variable, find_constructions, member_uses
from scanner.lexer import LexError, split_arguments
from scanner.model import (
    Api,
    BindKind,
    BoundParam,
    Confidence,
    MailCall,
    RelatedLocation,
)
from scanner.analysis.resolve import follow_value, resolve_variable
from scanner.script import Script
from scanner.model import Variant

# The recognizer's tokens (scanner.extract repeats them): a file without one cannot use EWS.
TOKENS = ("webservices.data", "exchangeservice", "exchange.asmx", "createitem", "senditem", "new-webserviceproxy")

OTHER_USE_FORM = "other-ews-use"
SEND_FORMS = {"send": "send", "sendandsavecopy": "send-and-save-copy"}
NAMESPACE = "Microsoft.Exchange.WebServices.Data."

_USING_EWS = re.compile(r"(?im)^\s*using\s+namespace\s+Microsoft\.Exchange\.WebServices\.Data\s*$")
_SIMPLE_VARIABLE = re.compile(r"\$(?:script:|global:|local:)?(\w+)$", re.IGNORECASE)
_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# An app (client) id the file names: `-ClientId 'guid'`, `client_id = 'guid'`, `$AppId = "guid"`, `Create('guid')`.
_APP_ID = re.compile(
    r"(?i)(?:client_?id|app(?:lication)?_?id|ConfidentialClientApplicationBuilder\]::Create|PublicClientApplicationBuilder\]::Create)"
    r"[\w\"']*[ \t]*(?:[=:(]|\s)[ \t]*\(?[ \t]*[\"']?(" + _GUID + r")[\"']?"
)

_SERVICE_PROPERTIES = {
    "url": "EwsUrl",
    "credentials": "Credential",
    "usedefaultcredentials": "UseDefaultCredentials",
    "impersonateduserid": "Mailbox",
}
_MESSAGE_PROPERTIES = {
    "subject": "Subject",
    "body": "Body",
    "from": "From",
    "importance": "Priority",
    "isdeliveryreceiptrequested": "DeliveryNotificationOption",
    "isreadreceiptrequested": "ReadReceipt",
    "bodyprefix": "Body",  # a ResponseMessage's text above the quoted original
}
_MESSAGE_COLLECTIONS = {
    "torecipients": "To",
    "ccrecipients": "Cc",
    "bccrecipients": "Bcc",
    "replyto": "ReplyTo",
    "attachments": "Attachments",
}
# What EWS can carry that one Send-GraphMailMessage call cannot: said, and the fix is unsafe.
_PARTIAL_MEMBERS = {
    "setextendedproperty": "an extended property (SetExtendedProperty)",
    "extendedproperties": "extended properties",
    "internetmessageheaders": "internet message headers",
    "categories": "categories",
    "sensitivity": "a sensitivity",
    "inreplyto": "an In-Reply-To reference",
    "references": "a References header",
    "isresponserequested": "a response request",
    "itemclass": "a custom item class",
    "mimecontent": "MIME content",
}

# Managed API operations that are not sends: reads, searches, calendar, folders, rules, notifications.
_OTHER_OPERATIONS = re.compile(
    r"(?i)\.(FindItems|FindFolders|FindAppointments|FindPeople|Bind|Load|LoadPropertiesForItems|Save|Update|Delete|Move|Copy|"
    r"SyncFolderItems|SyncFolderHierarchy|GetUserAvailability|ResolveName|ExpandGroup|SubscribeToPullNotifications|"
    r"SubscribeToPushNotifications|SubscribeToStreamingNotifications|GetInboxRules|UpdateInboxRules|GetUserOofSettings|"
    r"SetUserOofSettings|GetAttachments|EmptyFolder|MarkAllItemsAsRead|ArchiveItems|GetDelegates|AddDelegates|ConvertId|"
    r"ConvertIds|GetRoomLists|GetRooms|GetUserSettings|GetItem|GetFolder|FindItem|FindFolder|UpdateItem|DeleteItem|MoveItem|"
    r"CopyItem|GetUserPhoto|GetNonIndexableItemDetails|SearchMailboxes|GetSearchableMailboxes)[ \t]*\("
)
# SOAP operations that are not sends (a CreateItem without a sending disposition is one too).
_SOAP_OPERATIONS = re.compile(
    r"(?i)<(?:\w+:)?(FindItem|GetItem|FindFolder|GetFolder|UpdateItem|DeleteItem|MoveItem|CopyItem|SyncFolderItems|"
    r"SyncFolderHierarchy|GetUserAvailabilityRequest|ResolveNames|ExpandDL|GetAttachment|CreateAttachment|CreateFolder|"
    r"Subscribe|GetEvents|GetUserOofSettingsRequest|SetUserOofSettingsRequest|GetRoomLists|GetRooms|ConvertId|"
    r"GetInboxRules|UpdateInboxRules|GetDelegate|FindPeople|GetUserPhoto|CreateItem)\b"
)
_SOAP_DISPOSITION = re.compile(r"(?i)MessageDisposition[ \t]*=[ \t]*[`\\]?[\"']?[ \t]*(SendOnly|SendAndSaveCopy|SaveOnly)")
_SOAP_SEND_ITEM = re.compile(r"(?i)<(?:\w+:)?SendItem\b")
_SOAP_CREATE_ITEM = re.compile(r"(?i)<(?:\w+:)?CreateItem\b")
_EWS_SOAP_HINT = re.compile(r"(?i)exchange\.asmx|schemas\.microsoft\.com/exchange/services")

_WEB_COMMANDS = {
    "invoke-webrequest": "Invoke-WebRequest",
    "iwr": "Invoke-WebRequest",
    "curl": "Invoke-WebRequest",
    "wget": "Invoke-WebRequest",
    "invoke-restmethod": "Invoke-RestMethod",
    "irm": "Invoke-RestMethod",
}
_WEB_SPEC = CommandSpec(
    "Invoke-RestMethod",
    (
        ParameterSpec("Uri", ("Url",), position=0),
        ParameterSpec("Body"),
        ParameterSpec("Method"),
        ParameterSpec("ContentType"),
        ParameterSpec("Headers"),
        ParameterSpec("Credential"),
        ParameterSpec("UseDefaultCredentials", switch=True),
        ParameterSpec("Authentication"),
        ParameterSpec("Token"),
        ParameterSpec("WebSession"),
        ParameterSpec("SessionVariable", ("SV",)),
        ParameterSpec("UseBasicParsing", switch=True),
        ParameterSpec("SkipCertificateCheck", switch=True),
        ParameterSpec("TimeoutSec"),
        ParameterSpec("OutFile"),
        ParameterSpec("PassThru", switch=True),
        ParameterSpec("ErrorAction", ("EA",)),
        ParameterSpec("ErrorVariable", ("EV",)),
        ParameterSpec("InFile"),
        ParameterSpec("UserAgent"),
        ParameterSpec("Proxy"),
        ParameterSpec("ProxyCredential"),
    ),
)
_PROXY_SPEC = CommandSpec(
    "New-WebServiceProxy",
    (
        ParameterSpec("Uri", ("Url", "WsdlUrl", "Path"), position=0),
        ParameterSpec("Class", ("FileName", "FN"), position=1),
        ParameterSpec("Namespace", ("NS",), position=2),
        ParameterSpec("Credential", ("Cred",)),
        ParameterSpec("UseDefaultCredential", ("UDC",), switch=True),
    ),
)
# .NET posts: WebClient.UploadString/UploadData, HttpClient.PostAsync/SendAsync, WebRequest.Create.
_DOTNET_POST = re.compile(r"(?i)\.(UploadString|UploadData|UploadStringTaskAsync|PostAsync|SendAsync)[ \t]*\(|\bWebRequest\][ \t]*::[ \t]*Create[ \t]*\(")


@dataclass
class _Service:
    """An ExchangeService the file builds, and the settings it has at one point."""

    construction: Construction
    params: dict[str, BoundParam] = field(default_factory=dict)


def _type_pattern(script: Script, name: str) -> re.Pattern[str]:
    short = script.memo.get("ews-short-names")
    if short is None:
        short = bool("using" in script.structure.code_lower and _USING_EWS.search(script.code))
        script.memo["ews-short-names"] = short
    return _compiled(name, bool(short))


@functools.lru_cache(maxsize=32)
def _compiled(name: str, short: bool) -> re.Pattern[str]:
    return re.compile(r"(?i)Microsoft\.Exchange\.WebServices\.Data\." + name + ("|" + name if short else ""))


def _line(script: Script, offset: int) -> int:
    return script.line_of(offset)


def _text(script: Script, span: tuple[int, int]) -> str:
    return script.text[span[0] : span[1]].strip()


def _followed(script: Script, bound: BoundParam, at: int) -> BoundParam:
    """``bound`` with the constant its text stands for at ``at`` (variables, config values), if any."""
    if bound.value is not None:
        return bound
    found = follow_value(script, bound.text, at)
    if found is not None and found.value is not None:
        bound.value = found.value
        bound.kind = BindKind.LITERAL if bound.kind is BindKind.EXPRESSION else bound.kind
        bound.conditional = bound.conditional or found.conditional
        bound.reason = f"{bound.reason}; value from {found.origin}" if bound.reason else f"value from {found.origin}"
        bound.provenance, bound.source = found.provenance, found.source
    elif found is not None and found.origin:
        bound.reason = f"{bound.reason}; {found.origin}" if bound.reason else found.origin
        bound.provenance, bound.source = found.provenance, found.source
    return bound


def _value(script: Script, name: str, text: str, at: int, reason: str) -> BoundParam:
    """A bound value from an assignment or argument text, followed to a constant when the file has one."""
    value = static_value(text)
    bound = BoundParam(name, text, BindKind.LITERAL if value is not None else BindKind.EXPRESSION, value, reason=reason, line=_line(script, at))
    return _followed(script, bound, at)


# --------------------------------------------------------------------------- values of EWS objects


_URI_CAST = re.compile(r"(?is)^\[(?:System\.)?Uri\][ \t]*(.+)$")


def url_param(script: Script, text: str, at: int, reason: str) -> BoundParam:
    """`.Url = New-Object Uri("https://…")`, `[uri]'https://…'`, `[Uri]::new($u)`, a string or a variable."""
    inner = text.strip()
    cast = _URI_CAST.match(inner)
    if cast:
        inner = cast.group(1).strip()
    arguments = constructor_arguments(inner)
    if arguments:
        inner = arguments[0].strip()
    bound = _value(script, "EwsUrl", inner, at, reason)
    bound.text = text.strip()
    return bound


def _address_value(script: Script, text: str, at: int, name: str, reason: str) -> BoundParam:
    """An address: a string, `New-Object EmailAddress('a@b')` / `EmailAddress('Name', 'a@b')`, or a variable."""
    arguments = constructor_arguments(text)
    if arguments:
        literals = [literal_or_none(a) for a in arguments]
        if len(arguments) == 1 and literals[0] is not None:
            return BoundParam(name, text.strip(), BindKind.LITERAL, literals[0], reason=reason, line=_line(script, at))
        if len(arguments) >= 2 and literals[0] is not None and literals[1] is not None:
            return BoundParam(name, text.strip(), BindKind.LITERAL, f"{literals[0]} <{literals[1]}>", reason=reason, line=_line(script, at))
        return BoundParam(name, text.strip(), BindKind.EXPRESSION, None, reason=reason, line=_line(script, at))
    return _value(script, name, text.strip(), at, reason)


def _impersonated(script: Script, text: str, at: int, reason: str) -> BoundParam:
    """`New-Object ImpersonatedUserId([ConnectingIdType]::SmtpAddress, 'a@b')`: the mailbox the service acts as."""
    arguments = constructor_arguments(text) or []
    if len(arguments) >= 2:
        bound = _value(script, "Mailbox", arguments[1].strip(), at, reason)
        return bound
    return BoundParam("Mailbox", text.strip(), BindKind.EXPRESSION, None, reason=reason, line=_line(script, at))


_BODY_TYPE = re.compile(r"(?i)\b(HTML|Text)\b")


def _body(script: Script, text: str, at: int, reason: str) -> list[BoundParam]:
    """`.Body = 'text'` (EWS reads a plain string as HTML), or `New-Object MessageBody([BodyType]::Text, $t)`."""
    arguments = constructor_arguments(text)
    out: list[BoundParam] = []
    line = _line(script, at)
    if arguments and re.search(r"(?i)MessageBody", text):
        if len(arguments) >= 2:
            kind = _BODY_TYPE.search(arguments[0])
            out.append(_value(script, "Body", arguments[1].strip(), at, reason))
            if kind:
                out.append(BoundParam("BodyAsHtml", arguments[0].strip(), BindKind.LITERAL, kind.group(1).lower() == "html", reason=reason, line=line))
            else:
                out.append(BoundParam("BodyAsHtml", arguments[0].strip(), BindKind.EXPRESSION, None, reason=reason, line=line))
        else:
            out.append(_value(script, "Body", arguments[0].strip() if arguments else "", at, reason))
            out.append(BoundParam("BodyAsHtml", "(MessageBody default)", BindKind.LITERAL, True, reason="a MessageBody is HTML unless its BodyType says Text", line=line))
        return out
    out.append(_value(script, "Body", text.strip(), at, reason))
    out.append(BoundParam("BodyAsHtml", "(EWS default)", BindKind.LITERAL, True, reason="EWS turns a string body into a MessageBody of type HTML", line=line))
    return out


def _add(params: dict[str, BoundParam], bound: BoundParam) -> None:
    """Set a parameter; a collection (To, Cc, Bcc, ReplyTo, Attachments) grows with each item."""
    existing = params.get(bound.name)
    if existing is None or bound.name not in ("To", "Cc", "Bcc", "ReplyTo", "Attachments"):
        params[bound.name] = bound
        return
    existing.text = f"{existing.text}, {bound.text}"
    values: list[str] = []
    for item in (existing.value, bound.value):
        if isinstance(item, list):
            values.extend(item)
        elif isinstance(item, str):
            values.append(item)
        else:
            values = []
            break
    existing.value = values or None
    existing.kind = BindKind.LITERAL if values else BindKind.EXPRESSION
    existing.conditional = existing.conditional or bound.conditional


def _message_params(script: Script, variable: str | None, after: int, before: int, notes: list[str]) -> dict[str, BoundParam]:
    """What the file sets on an EmailMessage / ResponseMessage variable between ``after`` and the send at ``before``."""
    params: dict[str, BoundParam] = {}
    if not variable:
        return params
    partial: list[str] = []
    for use in member_uses(script, variable, after, before):
        parts = use.member.lower().split(".")
        conditional = script.structure.is_conditional(use.start, before)
        line = _line(script, use.start)
        where = f"${variable}.{use.member} (line {line})"
        if parts[0] in _PARTIAL_MEMBERS:
            partial.append(_PARTIAL_MEMBERS[parts[0]])
            continue
        if use.value is not None and len(parts) == 1 and parts[0] in _MESSAGE_PROPERTIES:
            name = _MESSAGE_PROPERTIES[parts[0]]
            text = _text(script, use.value)
            if name == "Body":
                bound_list = _body(script, text, use.start, where)
            elif name == "From":
                bound_list = [_address_value(script, text, use.start, "From", where)]
            elif name == "Priority":
                m = re.search(r"(?i)\b(High|Normal|Low)\b", text)
                bound_list = [BoundParam("Priority", text, BindKind.LITERAL if m else BindKind.EXPRESSION, m.group(1).capitalize() if m else None, reason=where, line=line)]
            elif name == "DeliveryNotificationOption":
                value = static_value(text)
                bound_list = [BoundParam(name, text, BindKind.LITERAL if value is not None else BindKind.EXPRESSION, "OnSuccess" if value is True else None if value is None else "None", reason=where, line=line)]
            else:
                bound_list = [_value(script, name, text, use.start, where)]
            for bound in bound_list:
                bound.conditional = bound.conditional or conditional
                if bound.name == "BodyAsHtml" and "BodyAsHtml" in params and bound.text.startswith("("):
                    continue  # a BodyType set earlier wins over the default of a later body text
                params[bound.name] = bound
        elif use.value is not None and parts == ["body", "bodytype"]:
            text = _text(script, use.value)
            kind = _BODY_TYPE.search(text)
            params["BodyAsHtml"] = BoundParam("BodyAsHtml", text, BindKind.LITERAL if kind else BindKind.EXPRESSION, (kind.group(1).lower() == "html") if kind else None, conditional, where, line)
        elif use.is_call and len(parts) == 2 and parts[0] in _MESSAGE_COLLECTIONS:
            name = _MESSAGE_COLLECTIONS[parts[0]]
            method = parts[1]
            arguments = [script.text[a:b].strip() for a, b in use.arguments]
            if not arguments:
                continue
            if name == "Attachments" and method in ("addfileattachment", "add"):
                if len(arguments) >= 2:
                    # AddFileAttachment(name, path-or-bytes-or-stream): the file shows under another name.
                    bound = _value(script, "Attachments", arguments[1], use.start, f"{where}: attached as {arguments[0]}")
                    partial.append(f"an attachment named {arguments[0]} (Graph names it after the file)")
                else:
                    bound = _value(script, "Attachments", arguments[0], use.start, where)
            elif method in ("add", "addrange"):
                if method == "add" and len(arguments) == 2:
                    bound = _address_value(script, f"New-Object EmailAddress({arguments[0]}, {arguments[1]})", use.start, name, where)
                    bound.text = f"{arguments[0]}, {arguments[1]}" if bound.value is None else bound.text
                    if isinstance(bound.value, str):
                        bound.text = _quote(bound.value)
                else:
                    bound = _address_value(script, arguments[0], use.start, name, where)
            else:
                continue
            bound.conditional = bound.conditional or conditional
            _add(params, bound)
        elif use.is_call and parts[0] in _PARTIAL_MEMBERS:
            partial.append(_PARTIAL_MEMBERS[parts[0]])
    if partial:
        params["Extras"] = BoundParam("Extras", "; ".join(dict.fromkeys(partial)), BindKind.LITERAL, "; ".join(dict.fromkeys(partial)), reason="set on the message; Send-GraphMailMessage has no parameter for it")
        notes.append("the message also carries " + ", ".join(dict.fromkeys(partial)) + ": Graph sendMail through Send-GraphMailMessage does not carry it")
    return params


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _service_params(script: Script, service: Construction, before: int) -> dict[str, BoundParam]:
    """The settings of an ExchangeService at ``before``: URL or Autodiscover, credentials, impersonation."""
    params: dict[str, BoundParam] = {}
    if service.variable is None:
        return params
    for use in member_uses(script, service.variable, service.end, before):
        parts = use.member.lower().split(".")
        line = _line(script, use.start)
        where = f"${service.variable}.{use.member} (line {line})"
        conditional = script.structure.is_conditional(use.start, before)
        bound: BoundParam | None = None
        if use.value is not None and len(parts) == 1 and parts[0] in _SERVICE_PROPERTIES:
            name = _SERVICE_PROPERTIES[parts[0]]
            text = _text(script, use.value)
            if name == "EwsUrl":
                bound = url_param(script, text, use.start, where)
            elif name == "Mailbox":
                bound = _impersonated(script, text, use.start, where)
            elif name == "UseDefaultCredentials":
                bound = _value(script, name, text, use.start, where)
            else:
                bound = BoundParam(name, text, BindKind.EXPRESSION, None, reason=where, line=line)
        elif use.value is not None and parts[0] == "credentials" and len(parts) > 1:
            # `$svc.Credentials.Credentials.UserName = $u`: a user name and password set piece by piece.
            bound = BoundParam("Credential", f"${service.variable}.{use.member} = {_text(script, use.value)}", BindKind.EXPRESSION, None, reason=where, line=line)
            if "Credential" in params and "Password" not in bound.text:
                continue
        elif use.is_call and parts == ["autodiscoverurl"] and use.arguments:
            bound = _value(script, "Autodiscover", script.text[use.arguments[0][0] : use.arguments[0][1]].strip(), use.start, where)
        elif use.is_call and parts == ["httpheaders", "add"] and len(use.arguments) >= 2:
            key = static_value(script.text[use.arguments[0][0] : use.arguments[0][1]].strip())
            if isinstance(key, str) and key.lower() == "authorization":
                value = script.text[use.arguments[1][0] : use.arguments[1][1]].strip()
                bound = BoundParam("Credential", f"Authorization: {value}", BindKind.EXPRESSION, None, reason=where, line=line)
        if bound is not None:
            bound.conditional = bound.conditional or conditional
            params[bound.name] = bound
    return params


_OAUTH = re.compile(r"(?i)OAuthCredentials|\bBearer\b|access_?token|Get-MsalToken|AcquireToken")
_BASIC = re.compile(r"(?i)WebCredentials|NetworkCredential|PSCredential|Get-Credential|Import-Clixml|\.Password\b|UserName")


def authentication(script: Script, params: dict[str, BoundParam], at: int) -> str | None:
    """How the service logs on: "oauth", "basic" (a user name and password), "default-credentials", or None."""
    cred = params.get("Credential")
    if cred is not None:
        text = cred.text
        m = _SIMPLE_VARIABLE.fullmatch(text.strip())
        if m:
            found = resolve_variable(script, m.group(1), at)
            if found is not None:
                text = found.text
        if _OAUTH.search(text):
            return "oauth"
        if _BASIC.search(text) or m is None:
            return "basic"
        # `$svc.Credentials = $cred` where the file shows how $cred is made elsewhere: look at that.
        made = re.search(r"(?im)\$" + re.escape(m.group(1)) + r"[ \t]*=[ \t]*([^\r\n]+)", script.code)
        if made and _OAUTH.search(made.group(1)):
            return "oauth"
        if made and _BASIC.search(made.group(1)):
            return "basic"
        return None
    use_default = params.get("UseDefaultCredentials")
    if use_default is not None and use_default.value is True:
        return "default-credentials"
    return None


def _app_id(script: Script) -> str | None:
    """The app (client) id the file names for its token, when there is exactly one."""
    found = {m.group(1).lower() for m in _APP_ID.finditer(script.text)}
    return found.pop() if len(found) == 1 else None


def _finish_auth(script: Script, params: dict[str, BoundParam], at: int) -> None:
    auth = authentication(script, params, at)
    if auth is not None:
        params["Authentication"] = BoundParam("Authentication", auth, BindKind.LITERAL, auth, reason="how the EWS request logs on")
    if auth == "oauth":
        app = _app_id(script)
        if app is not None:
            params["AppId"] = BoundParam("AppId", app, BindKind.LITERAL, app, reason="the app (client) id this file requests its token for")


# --------------------------------------------------------------------------- the Managed API


@dataclass
class _Message:
    construction: Construction
    bound_from_mailbox: bool = False  # EmailMessage::Bind / a ResponseMessage: built from an item in the mailbox
    kind: str = "message"  # message, reply, forward


_BIND = re.compile(r"(?i)\[[ \t]*(?:Microsoft\.Exchange\.WebServices\.Data\.)?(EmailMessage|Item)[ \t]*\][ \t]*::[ \t]*Bind[ \t]*\(")
_RESPONSE = re.compile(r"(?i)\$(?:script:|global:|local:)?(\w+)[ \t]*=[ \t]*\$(?:script:|global:|local:)?(\w+)\.(CreateReply|CreateForward)[ \t]*\(")
_DIRECT_RESPONSE = re.compile(r"(?i)(?<![\w$:])\$(?:script:|global:|local:)?(\w+)\.(Reply|Forward)[ \t]*\(")


def _bound_messages(script: Script) -> list[_Message]:
    """Messages read from the mailbox (`[EmailMessage]::Bind($svc, $id)`) and response messages (`CreateReply`)."""
    out: list[_Message] = []
    code = script.code
    for m in _BIND.finditer(code):
        paren = m.end() - 1
        try:
            close = script.structure.balanced_end(paren)
        except LexError:
            continue
        construction = Construction(m.group(1), m.start(), close, split_arguments(script.text, paren + 1, close - 1), form="bind")
        construction.variable = assigned_variable(script, m.start())
        out.append(_Message(construction, bound_from_mailbox=True))
    for m in _RESPONSE.finditer(code):
        paren = m.end() - 1
        try:
            close = script.structure.balanced_end(paren)
        except LexError:
            continue
        construction = Construction(m.group(3), m.start(), close, split_arguments(script.text, paren + 1, close - 1), variable=m.group(1).lower(), form="response")
        kind = "reply" if m.group(3).lower() == "createreply" else "forward"
        out.append(_Message(construction, bound_from_mailbox=True, kind=kind))
    return out


def _function_of(script: Script, offset: int):  # type: ignore[no-untyped-def]
    body = script.structure.function_at(offset)
    if body is None:
        return None
    return next((f for f in script.structure.functions if f.body == body), None)


def _services_at(script: Script, services: list[_Service], argument: str, at: int) -> tuple[list[tuple[str, _Service | None]], str]:
    """The service(s) an EmailMessage's constructor argument names at ``at``: (label, service) pairs and a note.

    `$service` built in this file; a function parameter fed by the call sites of that function; the
    file's only service as a last resort. An unknown service is (label, None).
    """
    m = _SIMPLE_VARIABLE.fullmatch(argument.strip())
    if m is None:
        m = re.fullmatch(r"(?i)\$(?:script:|global:|local:)?(\w+)\.\w+", argument.strip())  # $this.Service, $ctx.Service
    if m is not None:
        name = m.group(1).lower()
        seen = [s for s in services if s.construction.variable == name and s.construction.start < at and script.structure.visible_from(s.construction.start, at)]
        if seen:
            return [("", seen[-1])], ""
        function = _function_of(script, at)
        if function is not None:
            parameters = function_parameters(script, function)
            parameter = next((p for p in parameters if p.lower() == name), None)
            if parameter is not None:
                fed = _call_site_services(script, services, function, parameters, parameter)
                if fed:
                    return fed, f"the service comes from {function.name}'s -{parameter}, given by its call sites"
    if len(services) == 1:
        only = services[0]
        return [("", only)], f"the file's only ExchangeService (line {_line(script, only.construction.start)})"
    return [("", None)], ""


def _call_site_services(script: Script, services: list[_Service], function: object, parameters: list[str], parameter: str) -> list[tuple[str, _Service | None]]:
    name = function.name  # type: ignore[attr-defined]
    body = function.body  # type: ignore[attr-defined]
    spec = CommandSpec(name, tuple(ParameterSpec(p, position=i) for i, p in enumerate(parameters)))
    out: list[tuple[str, _Service | None]] = []
    for site in find_command_sites(script, {name.lower(): name}, module="*"):
        if body.start <= site.name_start < body.end:
            continue
        binding = bind_arguments(script, spec, lex_call(script, site), site.start)
        bound = binding.params.get(parameter)
        label = f"called at line {_line(script, site.start)}"
        if bound is None:
            continue
        m = _SIMPLE_VARIABLE.fullmatch(bound.text.strip())
        service = None
        if m:
            seen = [s for s in services if s.construction.variable == m.group(1).lower() and s.construction.start < site.start and script.structure.visible_from(s.construction.start, site.start)]
            service = seen[-1] if seen else None
        out.append((f"{label} with {bound.text.strip()}", service))
    return out


def _settings(script: Script, fed: list[tuple[str, _Service | None]], at: int, notes: list[str]) -> tuple[dict[str, BoundParam], list[tuple[str, dict[str, BoundParam]]]]:
    """The service settings of a send, and per-path variants when the services fed to it differ on the endpoint."""

    resolved: list[tuple[str, dict[str, BoundParam]]] = []
    for label, service in fed:
        if service is None:
            resolved.append((label, {}))
            continue
        params = _service_params(script, service.construction, at if not label else len(script.text))
        _finish_auth(script, params, service.construction.start)
        resolved.append((label, params))
    if len(resolved) == 1:
        if fed[0][1] is None:
            notes.append("the ExchangeService this message uses is not built in this file: its endpoint and logon are unknown")
        return resolved[0][1], []

    def key(params: dict[str, BoundParam]) -> tuple[str, str]:
        url, auto = params.get("EwsUrl"), params.get("Autodiscover")
        return (repr(url.value) if url is not None else "", repr(auto.value) if auto is not None else "")

    keys = {key(p) for _, p in resolved}
    if len(keys) == 1 and all(s is not None for _, s in fed):
        return resolved[0][1], []
    return {}, [(label or "a call site", params) for label, params in resolved]


def _sends_on(script: Script, variable: str, after: int, before: int | None) -> list[MemberUse]:
    return [u for u in member_uses(script, variable, after, before) if u.is_call and u.member.lower() in SEND_FORMS]


def _message_call(script: Script, message: _Message, use: MemberUse, services: list[_Service], service_arg: str, through: str | None = None,
                  at: int | None = None) -> MailCall:

    notes: list[str] = []
    construction = message.construction
    method = use.member.lower()
    params: dict[str, BoundParam] = {}
    fed, how = _services_at(script, services, service_arg, construction.start)
    if how:
        notes.append(how)
    # Through a function, the message and its service are as the call site holds them.
    where = use.start if at is None else at
    settings, variants = _settings(script, fed, where, notes)
    params.update(settings)
    message_params = _message_params(script, construction.variable, construction.end, where, notes)
    if message.bound_from_mailbox:
        what = {"reply": "a reply to an item read from the mailbox", "forward": "a forward of an item read from the mailbox"}.get(message.kind, "a message read from the mailbox (a draft)")
        notes.append(f"{what}: its recipients and content come from the mailbox at run time")
    params.update(message_params)
    params["SaveToSentItems"] = BoundParam("SaveToSentItems", use.member, BindKind.LITERAL, method == "sendandsavecopy", reason="SendAndSaveCopy keeps a copy in Sent Items; Send does not")
    if method == "sendandsavecopy" and use.arguments:
        folder = script.text[use.arguments[0][0] : use.arguments[0][1]].strip()
        params["SavedItemFolder"] = BoundParam("SavedItemFolder", folder, BindKind.EXPRESSION, None, reason="SendAndSaveCopy saves the copy in this folder", line=_line(script, use.start))
        notes.append(f"the copy is saved in {folder}, not Sent Items: Graph sendMail saves only to Sent Items")
    _sender(params)
    related = [RelatedLocation(script.path, *script.structure.line_col(construction.start), "message")]
    for _, service in fed:
        if service is not None:
            related.insert(0, RelatedLocation(script.path, *script.structure.line_col(service.construction.start), "client"))
    if through:
        notes.insert(0, through)
    form = SEND_FORMS[method] if message.kind == "message" else message.kind
    call = _call(script, use, form, params, related, notes)
    call.variants = [Variant(label, p) for label, p in variants]
    if variants:
        for name in ("EwsUrl", "Autodiscover"):
            call.params.pop(name, None)
    return call


def _sender(params: dict[str, BoundParam]) -> None:
    """EWS sends from the mailbox the service acts as: From when the message sets one, else the impersonated
    mailbox, else the Autodiscover address (the mailbox the script logs on to)."""
    if "From" in params:
        return
    cred = params.get("Credential")
    if cred is not None and "Mailbox" not in params:
        # WebCredentials('svc@contoso.com', …) with no impersonation: the logon's own mailbox sends.
        arguments = constructor_arguments(cred.text) or []
        user = literal_or_none(arguments[0]) if arguments else None
        if user and "@" in user and "$" not in user:
            params["From"] = BoundParam("From", arguments[0].strip(), BindKind.LITERAL, user, reason="the mailbox of the credential the ExchangeService logs on with", line=cred.line)
            return
    for source in ("Mailbox", "Autodiscover"):
        bound = params.get(source)
        if bound is not None and isinstance(bound.value, str) and "@" in bound.value:
            params["From"] = BoundParam("From", bound.text, bound.kind, bound.value, bound.conditional,
                                        f"the mailbox the ExchangeService acts as ({source}: {bound.reason})", bound.line, bound.provenance, bound.source)
            return


def _call(script: Script, use: MemberUse, form: str, params: dict[str, BoundParam], related: list[RelatedLocation], notes: list[str], confidence: Confidence = Confidence.HIGH) -> MailCall:
    doubt = script.tree_doubts(use.start, use.end)
    if doubt is not None:
        notes.append(doubt)
        confidence = Confidence.MEDIUM if confidence is Confidence.HIGH else confidence
    return MailCall(
        api=Api.EWS,
        command=script.text[use.start : use.member_start] + "." + use.member,
        form=form,
        location=script.location(use.start, use.end),
        params=params,
        related=related,
        confidence=confidence,
        notes=notes,
        in_error_region=doubt is not None,
        name_span=(use.member_start, use.member_start + 1 + len(use.member)),
        call_span=(use.start, use.end),
    )


def _managed_api_sends(script: Script, services: list[_Service]) -> list[MailCall]:
    calls: list[MailCall] = []
    messages = [_Message(c) for c in find_constructions(script, _type_pattern(script, "EmailMessage"))]
    messages += _bound_messages(script)
    messages.sort(key=lambda m: m.construction.start)
    seen: set[int] = set()
    for index, message in enumerate(messages):
        variable = message.construction.variable
        if not variable:
            continue
        later = next((m.construction.start for m in messages[index + 1 :] if m.construction.variable == variable), None)
        service_arg = script.text[message.construction.arguments[0][0] : message.construction.arguments[0][1]] if message.construction.arguments else ""
        for use in _sends_on(script, variable, message.construction.end, later):
            if use.start in seen:
                continue
            seen.add(use.start)
            calls.append(_message_call(script, message, use, services, service_arg))
        for passed, note, site in _passed_to_functions(script, message, variable):
            if passed.start in seen:
                continue
            seen.add(passed.start)
            calls.append(_message_call(script, message, passed, services, service_arg, through=note, at=site))
    calls.extend(_direct_responses(script, services, seen))
    calls.extend(_other_item_sends(script, services, seen))
    return calls


_ANY_SEND = re.compile(r"(?i)(?<![\w$:])\$(?:script:|global:|local:)?(\w+)((?:\.\w+)*)\.(Send|SendAndSaveCopy)[ \t]*\(")
_ASSIGNED_FROM = re.compile(r"(?i)\$(?:script:|global:|local:)?{name}[ \t]*=[ \t]*(?:\[[^\]\r\n]*\][ \t]*)?([^\r\n;]*)")
_ITEM_SOURCES = (
    (re.compile(r"(?i)\.CreateReply(?:All)?[ \t]*\("), "reply", "a reply to an item read from the mailbox"),
    (re.compile(r"(?i)\.CreateForward[ \t]*\("), "forward", "a forward of an item read from the mailbox"),
    (re.compile(r"(?i)\.Create\w*(?:Meeting|Accept|Decline)\w*Message[ \t]*\("), "meeting-message", "a meeting message (cancellation or response) built from a calendar item"),
    (re.compile(r"(?i)\.(?:Copy|Save|Bind|Load|Move)[ \t]*\(|::Bind[ \t]*\(|\.Items\b"), "send", "a message read or copied from the mailbox: its recipients and content come from the mailbox at run time"),
)


def _other_item_sends(script: Script, services: list[_Service], seen: set[int]) -> list[MailCall]:
    """`Send()` / `SendAndSaveCopy([folder])` on any other item of an EWS file: a copy, a saved response,
    a meeting cancellation. The zero-or-one argument shape is EWS's (SmtpClient and MailKit pass the message)."""
    calls: list[MailCall] = []
    for m in _ANY_SEND.finditer(script.code):
        if m.start() in seen or any(m.start() == c for c in seen):
            continue
        paren = m.end() - 1
        try:
            close = script.structure.balanced_end(paren)
        except LexError:
            continue
        arguments = split_arguments(script.text, paren + 1, close - 1)
        method = m.group(3).lower()
        if (method == "send" and arguments) or len(arguments) > 1:
            continue
        seen.add(m.start())
        variable = m.group(1).lower()
        member = (m.group(2) + "." + m.group(3))[1:]
        use = MemberUse(member, m.start(), close, m.start(2) if m.group(2) else m.start(3) - 1, is_call=True, arguments=arguments)
        notes: list[str] = []
        assigned = list(re.compile(_ASSIGNED_FROM.pattern.format(name=re.escape(variable)), re.I).finditer(script.code, 0, m.start()))
        source_text = assigned[-1].group(1) if assigned else ""
        form, what = SEND_FORMS[method], "an EWS item whose origin this file does not show"
        for pattern, kind, description in _ITEM_SOURCES:
            if pattern.search(source_text):
                form, what = (SEND_FORMS[method] if kind == "send" else kind), description
                break
        notes.append(what)
        params: dict[str, BoundParam] = {}
        fed, how = _services_at(script, services, "", m.start())
        if how:
            notes.append(how)
        settings, _ = _settings(script, fed, m.start(), notes)
        params.update(settings)
        after = assigned[-1].end() if assigned else 0
        params.update(_message_params(script, variable, after, m.start(), notes) if not m.group(2) else {})
        params["SaveToSentItems"] = BoundParam("SaveToSentItems", m.group(3), BindKind.LITERAL, method == "sendandsavecopy")
        if method == "sendandsavecopy" and arguments:
            folder = script.text[arguments[0][0] : arguments[0][1]].strip()
            params["SavedItemFolder"] = BoundParam("SavedItemFolder", folder, BindKind.EXPRESSION, None, reason="SendAndSaveCopy saves the copy in this folder")
        _sender(params)
        calls.append(_call(script, use, form, params, [], notes, Confidence.MEDIUM))
    return calls


def _passed_to_functions(script: Script, message: _Message, variable: str) -> list[tuple[MemberUse, str, int]]:
    """Sends in a function of this file that receives the message: `Send-It -Message $msg` with `$Message.SendAndSaveCopy()` inside."""
    out: list[tuple[MemberUse, str, int]] = []
    argument = re.compile(r"(?i)(?<![\w$:])\$(?:script:|global:|local:)?" + re.escape(variable) + r"(?![\w:.\[]|[ \t]*=)")
    functions = [f for f in script.structure.functions if f.name.isascii()]
    if not functions or not argument.search(script.code, message.construction.end):
        return out
    sites = find_command_sites(script, {f.name.lower(): f.name for f in functions}, module="*")
    for site in sites:
        if site.start < message.construction.end:
            continue
        function = next((f for f in functions if f.name.lower() == site.written.rsplit("\\", 1)[-1].lower()), None)
        if function is None or function.body.start <= site.start < function.body.end:
            continue
        parameters = function_parameters(script, function)
        spec = CommandSpec(function.name, tuple(ParameterSpec(p, position=i) for i, p in enumerate(parameters)))
        binding = bind_arguments(script, spec, lex_call(script, site), site.start)
        for parameter in parameters:
            bound = binding.params.get(parameter)
            m = _SIMPLE_VARIABLE.fullmatch(bound.text.strip()) if bound is not None else None
            if m is None or m.group(1).lower() != variable:
                continue
            for use in _sends_on(script, parameter.lower(), function.body.start, function.body.end):
                note = (f"the message ${variable} (line {_line(script, message.construction.start)}) is passed to {function.name} as -{parameter} "
                        f"(line {_line(script, site.start)}), which sends it: {script.text[use.start:use.end]}")
                out.append((use, note, site.start))
    return out


def _direct_responses(script: Script, services: list[_Service], seen: set[int]) -> list[MailCall]:
    """`$item.Reply($body, $replyAll)` and `$item.Forward($body, $to)`: each sends at once."""
    calls: list[MailCall] = []
    for m in _DIRECT_RESPONSE.finditer(script.code):
        if m.start() in seen:
            continue
        paren = m.end() - 1
        try:
            close = script.structure.balanced_end(paren)
        except LexError:
            continue
        arguments = split_arguments(script.text, paren + 1, close - 1)
        method = m.group(2).lower()
        if (method == "reply" and len(arguments) != 2) or (method == "forward" and len(arguments) < 2):
            continue  # not the EWS signature (Reply(prefix, replyAll), Forward(prefix, recipients…))
        seen.add(m.start())
        use = MemberUse(m.group(2), m.start(), close, m.start(2) - 1, is_call=True, arguments=arguments)
        notes: list[str] = []
        params: dict[str, BoundParam] = {}
        fed, how = _services_at(script, services, "", m.start())
        if how:
            notes.append(how)
        settings, _ = _settings(script, fed, m.start(), notes)
        params.update(settings)
        params["Body"] = _value(script, "Body", script.text[arguments[0][0] : arguments[0][1]].strip(), m.start(), f"{m.group(2)}() body prefix")
        if method == "forward":
            for a, b in arguments[1:]:
                _add(params, _address_value(script, script.text[a:b].strip(), m.start(), "To", f"{m.group(2)}() recipients"))
        else:
            params["ReplyAll"] = _value(script, "ReplyAll", script.text[arguments[1][0] : arguments[1][1]].strip(), m.start(), "Reply(bodyPrefix, replyAll)")
        params["SaveToSentItems"] = BoundParam("SaveToSentItems", m.group(2), BindKind.LITERAL, True, reason="Reply and Forward save a copy in Sent Items")
        notes.append(f"{'a reply to' if method == 'reply' else 'a forward of'} an item read from the mailbox: sent at once, with the original quoted")
        _sender(params)
        calls.append(_call(script, use, method, params, [], notes))
    return calls


# --------------------------------------------------------------------------- SOAP


@dataclass
class _Envelope:
    start: int  # the string holding it
    end: int
    anchor: int  # the CreateItem / SendItem element
    disposition: str  # SendOnly, SendAndSaveCopy, SendItem
    variable: str | None


def _string_span(script: Script, offset: int) -> tuple[int, int] | None:
    import bisect

    spans = script.structure.masked.strings
    i = bisect.bisect_right(spans, (offset, len(script.text) + 1)) - 1
    if i >= 0 and spans[i][0] <= offset < spans[i][1]:
        return spans[i]
    return None


def _envelopes(script: Script) -> list[_Envelope]:
    """SOAP requests that send: a CreateItem with a sending MessageDisposition, or a SendItem."""
    out: list[_Envelope] = []
    text = script.text
    for pattern, fixed in ((_SOAP_DISPOSITION, None), (_SOAP_SEND_ITEM, "SendItem")):
        for m in pattern.finditer(text):
            disposition = fixed or m.group(1)
            if disposition.lower() == "saveonly":
                continue
            span = _string_span(script, m.start())
            if span is None:
                continue  # in a comment, or code (an enum value of a proxy's request object)
            if fixed is None:
                # The disposition of a CreateItem (not of an UpdateItem or a calendar item's SendMeetingInvitations).
                head = text[max(span[0], m.start() - 400) : m.start()]
                if not _SOAP_CREATE_ITEM.search(head) and not _SOAP_CREATE_ITEM.search(text[m.start() : m.start() + 40]):
                    continue
            if any(e.start == span[0] and e.disposition == disposition for e in out):
                continue
            out.append(_Envelope(span[0], span[1], m.start(), disposition, assigned_variable(script, span[0])))
    out.sort(key=lambda e: e.anchor)
    return out


_ELEMENT = r"<(?:\w+:)?{name}\b[^>]*>(.*?)</(?:\w+:)?{name}>"


def _element(body: str, name: str) -> str | None:
    m = re.search(_ELEMENT.format(name=name), body, re.DOTALL | re.IGNORECASE)
    return m.group(1) if m else None


def _soap_value(script: Script, raw: str, name: str, at: int, reason: str, expandable: bool) -> BoundParam:
    """A value inside the SOAP text: a constant, or the `$variable` an expandable string puts there."""
    value = raw.strip()
    cdata = re.fullmatch(r"(?s)<!\[CDATA\[(.*)\]\]>", value)
    if cdata:
        value = cdata.group(1)
    variable = re.fullmatch(r"\$\(?\$?(?:script:|global:)?(\w+)\)?|\$\{(\w+)\}|\{\{?(\w+)\}?\}|\{(\d+)\}", value)
    if expandable and variable and variable.group(1):
        return _value(script, name, f"${variable.group(1)}", at, reason)
    if "$" in value and expandable:
        return BoundParam(name, value, BindKind.EXPRESSION, None, reason=reason, line=_line(script, at))
    if variable and (variable.group(3) or variable.group(4)):
        return BoundParam(name, value, BindKind.EXPRESSION, None, reason=f"{reason}: filled in at run time (-f / Replace)", line=_line(script, at))
    import html

    return BoundParam(name, value, BindKind.LITERAL, html.unescape(value), reason=reason, line=_line(script, at))


def _soap_message(script: Script, envelope: _Envelope, notes: list[str]) -> dict[str, BoundParam]:
    params: dict[str, BoundParam] = {}
    body = script.text[envelope.start : envelope.end]
    expandable = body.lstrip("@")[:1] == '"' or body.startswith('@"')
    at = envelope.anchor
    if envelope.disposition == "SendItem":
        notes.append("SendItem sends an item already in the mailbox (a draft): its recipients and content are not in this request")
        save = re.search(r"(?i)SaveItemToFolder[ \t]*=[ \t]*[\\`]?[\"']?(true|false)", body)
        params["SaveToSentItems"] = BoundParam("SaveToSentItems", save.group(0) if save else "SendItem", BindKind.LITERAL, (save.group(1).lower() == "true") if save else True)
        return params
    params["SaveToSentItems"] = BoundParam("SaveToSentItems", f'MessageDisposition="{envelope.disposition}"', BindKind.LITERAL, envelope.disposition.lower() == "sendandsavecopy")
    item = re.search(r"(?is)<(?:\w+:)?Message\b[^>]*>(.*)</(?:\w+:)?Message>", body)
    if item is not None:
        body = item.group(1)  # the t:Message, not the soap:Body around it
    subject = _element(body, "Subject")
    if subject is not None:
        params["Subject"] = _soap_value(script, subject, "Subject", at, "<t:Subject> of the SOAP request", expandable)
    m = re.search(r"(?is)<(?:\w+:)?Body\b([^>]*)>(.*?)</(?:\w+:)?Body>", body)
    if m:
        params["Body"] = _soap_value(script, m.group(2), "Body", at, "<t:Body> of the SOAP request", expandable)
        kind = re.search(r"(?i)BodyType[ \t]*=[ \t]*[\\`]?[\"']?(HTML|Text)", m.group(1))
        params["BodyAsHtml"] = BoundParam("BodyAsHtml", m.group(1).strip(), BindKind.LITERAL if kind else BindKind.EXPRESSION, (kind.group(1).lower() == "html") if kind else None)
    for element, name in (("ToRecipients", "To"), ("CcRecipients", "Cc"), ("BccRecipients", "Bcc"), ("ReplyTo", "ReplyTo"), ("From", "From")):
        block = _element(body, element)
        if block is None:
            continue
        for address in re.findall(r"(?is)<(?:\w+:)?EmailAddress>(.*?)</(?:\w+:)?EmailAddress>", block):
            _add(params, _soap_value(script, address, name, at, f"<t:{element}> of the SOAP request", expandable))
    importance = _element(body, "Importance")
    if importance is not None:
        params["Priority"] = BoundParam("Priority", importance.strip(), BindKind.LITERAL, importance.strip().capitalize())
    if re.search(r"(?i)<(?:\w+:)?(FileAttachment|ItemAttachment)\b", body):
        params["Attachments"] = BoundParam("Attachments", "<t:FileAttachment> (base64 in the request)", BindKind.EXPRESSION, None, reason="the attachment's bytes are inside the SOAP request")
    folder = re.search(r"(?is)<(?:\w+:)?SavedItemFolderId>.*?Id[ \t]*=[ \t]*[\\`]?[\"']?([\w$.-]+)", body)
    if folder and folder.group(1).lower() != "sentitems" and envelope.disposition.lower() == "sendandsavecopy":
        params["SavedItemFolder"] = BoundParam("SavedItemFolder", folder.group(1), BindKind.LITERAL, folder.group(1))
        notes.append(f"the copy is saved in the folder {folder.group(1)}, not Sent Items: Graph sendMail saves only to Sent Items")
    extras = [what for tag, what in (("ExtendedProperty", "extended properties"), ("InternetMessageHeaders", "internet message headers"), ("MimeContent", "MIME content"), ("Categories", "categories"), ("Sensitivity", "a sensitivity")) if re.search(r"(?i)<(?:\w+:)?" + tag + r"\b", body)]
    if extras:
        params["Extras"] = BoundParam("Extras", "; ".join(extras), BindKind.LITERAL, "; ".join(extras))
        notes.append("the request also carries " + ", ".join(extras) + ": Graph sendMail through Send-GraphMailMessage does not carry it")
    return params


@dataclass
class _Post:
    start: int
    end: int
    command: str
    params: dict[str, BoundParam]
    body_text: str


def _posts(script: Script) -> list[_Post]:
    """HTTP posts in the file: the web cmdlets (bound), WebClient / HttpClient / WebRequest (by their call)."""
    memo = script.memo.get("ews-posts")
    if memo is not None:
        return memo  # type: ignore[return-value]
    posts: list[_Post] = []
    for site in find_command_sites(script, _WEB_COMMANDS, module="*"):
        arguments = lex_call(script, site)
        binding = bind_arguments(script, _WEB_SPEC, arguments, site.start)
        params: dict[str, BoundParam] = {}
        uri = binding.params.get("Uri")
        if uri is not None:
            params["EwsUrl"] = url_param(script, uri.text, site.start, f"-Uri of {site.canonical} (line {_line(script, site.start)})")
        cred = binding.params.get("Credential")
        if cred is not None:
            params["Credential"] = BoundParam("Credential", cred.text, BindKind.EXPRESSION, None, reason=f"-Credential of {site.canonical}", line=cred.line)
        headers = binding.params.get("Headers")
        if headers is not None and _bearer(script, headers.text, site.start):
            params["Credential"] = BoundParam("Credential", f"-Headers {headers.text} (Authorization: Bearer)", BindKind.EXPRESSION, None, reason="a bearer token in the Authorization header", line=headers.line)
        default = binding.params.get("UseDefaultCredentials")
        if default is not None:
            params["UseDefaultCredentials"] = BoundParam("UseDefaultCredentials", default.text, BindKind.LITERAL, True if default.value in (True, None) else default.value)
        token = binding.params.get("Token")
        if token is not None:
            params["Credential"] = BoundParam("Credential", f"-Token {token.text} (OAuth bearer)", BindKind.EXPRESSION, None, reason="-Authentication Bearer -Token", line=token.line)
        body = binding.params.get("Body")
        posts.append(_Post(site.start, arguments.end, site.canonical, params, body.text if body is not None else ""))
    for m in _DOTNET_POST.finditer(script.code):
        paren = m.end() - 1
        try:
            close = script.structure.balanced_end(paren)
        except LexError:
            continue
        spans = split_arguments(script.text, paren + 1, close - 1)
        params = {}
        if spans:
            params["EwsUrl"] = url_param(script, script.text[spans[0][0] : spans[0][1]], m.start(), f"URL of {m.group(0).strip('.( ')} (line {_line(script, m.start())})")
        line_start = script.code.rfind("\n", 0, m.start()) + 1
        start = line_start + len(script.code[line_start : m.start()]) - len(script.code[line_start : m.start()].lstrip())
        body_text = script.text[spans[-1][0] : spans[-1][1]] if len(spans) >= 2 else ""
        name = m.group(1) or "WebRequest.Create"
        posts.append(_Post(start, close, name, params, body_text))
    posts.sort(key=lambda p: p.start)
    script.memo["ews-posts"] = posts
    return posts


def _bearer(script: Script, text: str, at: int) -> bool:
    if re.search(r"(?i)Bearer", text):
        return True
    m = _SIMPLE_VARIABLE.fullmatch(text.strip())
    if m:
        found = resolve_variable(script, m.group(1), at)
        return found is not None and bool(re.search(r"(?i)Bearer", found.text))
    return False


def _dotnet_auth(script: Script, params: dict[str, BoundParam]) -> None:
    """WebClient / HttpWebRequest logons set as properties (`$wc.Credentials = …`, `$req.UseDefaultCredentials = $true`)."""
    if "Credential" in params or "UseDefaultCredentials" in params:
        return
    code = script.code
    m = re.search(r"(?i)\.UseDefaultCredentials[ \t]*=[ \t]*\$true", code)
    if m:
        params["UseDefaultCredentials"] = BoundParam("UseDefaultCredentials", "$true", BindKind.LITERAL, True, line=_line(script, m.start()))
        return
    m = re.search(r"(?i)\.Credentials[ \t]*=[ \t]*([^\r\n;]+)", code)
    if m:
        params["Credential"] = BoundParam("Credential", script.text[m.start(1) : m.end(1)].strip(), BindKind.EXPRESSION, None, line=_line(script, m.start()))
        return
    m = re.search(r"(?i)Authorization\b[^\r\n]{0,120}?Bearer", script.text)
    if m:
        params["Credential"] = BoundParam("Credential", "Authorization: Bearer …", BindKind.EXPRESSION, None, reason="a bearer token in the Authorization header", line=_line(script, m.start()))


def _soap_sends(script: Script) -> list[MailCall]:
    calls: list[MailCall] = []
    envelopes = _envelopes(script)
    if not envelopes:
        return calls
    posts = _posts(script)
    for envelope in envelopes:
        notes: list[str] = []
        params = _soap_message(script, envelope, notes)
        post = _post_for(script, envelope, posts)
        related: list[RelatedLocation] = []
        confidence = Confidence.HIGH
        if post is not None:
            for name, bound in post.params.items():
                params.setdefault(name, BoundParam(bound.name, bound.text, bound.kind, bound.value, bound.conditional, bound.reason, bound.line, bound.provenance, bound.source))
            related.append(RelatedLocation(script.path, *script.structure.line_col(post.start), "post"))
            command = f"{post.command} (SOAP {'SendItem' if envelope.disposition == 'SendItem' else 'CreateItem ' + envelope.disposition})"
        else:
            notes.append("no HTTP post of this SOAP request was found in this file (a helper elsewhere may post it)")
            confidence = Confidence.LOW
            command = f"SOAP {'SendItem' if envelope.disposition == 'SendItem' else 'CreateItem ' + envelope.disposition}"
        if "EwsUrl" not in params or params["EwsUrl"].value is None:
            # The endpoint written elsewhere in the file: an Exchange.asmx URL constant.
            m = re.search(r"(?i)https?://[^\s\"'<>`]+/ews/exchange\.asmx", script.text)
            if m:
                params["EwsUrl"] = BoundParam("EwsUrl", m.group(0), BindKind.LITERAL, m.group(0), reason=f"the EWS URL the file names (line {_line(script, m.start())})", line=_line(script, m.start()))
        _dotnet_auth(script, params)
        _finish_auth(script, params, envelope.start)
        _sender(params)
        use = MemberUse("CreateItem", envelope.start, envelope.end, envelope.anchor)
        call = _call(script, use, "soap-senditem" if envelope.disposition == "SendItem" else "soap-createitem", params, related, notes, confidence)
        call.command = command
        call.name_span = (envelope.anchor, envelope.anchor)
        calls.append(call)
    return calls


def _post_for(script: Script, envelope: _Envelope, posts: list[_Post]) -> _Post | None:
    """The post that sends the envelope: one whose body names its variable; else the nearest after it; else the only one."""
    if envelope.variable:
        named = re.compile(r"(?i)\$(?:script:|global:|local:)?" + re.escape(envelope.variable) + r"\b")
        for post in posts:
            if post.start > envelope.start and named.search(post.body_text):
                return post
    after = [p for p in posts if p.start > envelope.end]
    if after:
        return after[0]
    return posts[0] if len(posts) == 1 else None


# --------------------------------------------------------------------------- New-WebServiceProxy


def _proxy_sends(script: Script) -> tuple[list[MailCall], list[int]]:
    """Sends through a New-WebServiceProxy of EWS, and where the proxies are (for the other-use check)."""
    calls: list[MailCall] = []
    proxies: list[int] = []
    for site in find_command_sites(script, {"new-webserviceproxy": "New-WebServiceProxy"}, module="*"):
        arguments = lex_call(script, site)
        binding = bind_arguments(script, _PROXY_SPEC, arguments, site.start)
        variable = assigned_variable(script, site.start)
        uri = binding.params.get("Uri")
        settings: dict[str, BoundParam] = {}
        if uri is not None:
            settings["EwsUrl"] = url_param(script, uri.text, site.start, f"-Uri of New-WebServiceProxy (line {_line(script, site.start)})")
        if binding.params.get("Credential") is not None:
            settings["Credential"] = BoundParam("Credential", binding.params["Credential"].text, BindKind.EXPRESSION, None, reason="-Credential of New-WebServiceProxy")
        if binding.params.get("UseDefaultCredential") is not None:
            settings["UseDefaultCredentials"] = BoundParam("UseDefaultCredentials", "-UseDefaultCredential", BindKind.LITERAL, True)
        uses = member_uses(script, variable, arguments.end) if variable else []
        ews = any(u.is_call and u.member.lower() in ("createitem", "senditem", "finditem", "getitem", "getfolder") for u in uses)
        text = (str(settings["EwsUrl"].value) if "EwsUrl" in settings and settings["EwsUrl"].value else uri.text if uri else "").lower()
        if not ews and not re.search(r"ews|exchange\.asmx|services\.wsdl", text):
            continue
        proxies.append(site.start)
        for use in uses:
            if use.value is not None and use.member.lower() == "url":
                settings["EwsUrl"] = url_param(script, _text(script, use.value), use.start, f"${variable}.Url (line {_line(script, use.start)})")
            if use.value is not None and use.member.lower() == "usedefaultcredentials":
                settings["UseDefaultCredentials"] = _value(script, "UseDefaultCredentials", _text(script, use.value), use.start, f"${variable}.UseDefaultCredentials")
            if use.value is not None and use.member.lower() == "credentials":
                settings["Credential"] = BoundParam("Credential", _text(script, use.value), BindKind.EXPRESSION, None, reason=f"${variable}.Credentials")
        for use in uses:
            method = use.member.lower()
            if not use.is_call or method not in ("createitem", "senditem"):
                continue
            dispositions = {d.lower() for d in re.findall(r"(?i)\b(SendOnly|SendAndSaveCopy|SaveOnly)\b", script.code)}
            if method == "createitem" and not dispositions & {"sendonly", "sendandsavecopy"}:
                continue  # a CreateItem that only saves (a draft, a calendar item) is other use
            params = dict(settings)
            notes = [f"EWS through a New-WebServiceProxy of {uri.text if uri else 'EWS'} (line {_line(script, site.start)}); the request object is built in code"]
            if method == "createitem":
                save = "sendandsavecopy" in dispositions
                params["SaveToSentItems"] = BoundParam("SaveToSentItems", "SendAndSaveCopy" if save else "SendOnly", BindKind.LITERAL, save)
            _finish_auth(script, params, site.start)
            related = [RelatedLocation(script.path, *script.structure.line_col(site.start), "client")]
            calls.append(_call(script, use, "web-service-proxy", params, related, notes, Confidence.MEDIUM))
    return calls, proxies


# --------------------------------------------------------------------------- other use


def _other_use(script: Script, services: list[_Service], sends: list[MailCall], proxies: list[int]) -> MailCall | None:
    """One call for every EWS use of the file that is not a send (reads, searches, calendar, folders)."""
    send_spans = [c.call_span for c in sends]
    inside_send = lambda offset: any(a <= offset < b for a, b in send_spans)
    first: tuple[int, int, str] | None = None
    evidence = bool(services) or bool(proxies)
    soap = False
    if evidence or "webservices.data" in script.text_lower:
        evidence = True
        for m in _OTHER_OPERATIONS.finditer(script.code):
            if inside_send(m.start()):
                continue
            dollar = script.code.rfind("$", max(0, m.start() - 120), m.start())
            bracket = script.code.rfind("]::", max(0, m.start() - 120), m.start() + 1)
            start = max(dollar, bracket if bracket < 0 else script.code.rfind("[", 0, bracket))
            first = (start if start >= 0 else m.start(), m.end(), m.group(1))
            break
    if first is None and _EWS_SOAP_HINT.search(script.text):
        for m in _SOAP_OPERATIONS.finditer(script.text):
            if _string_span(script, m.start()) is None or inside_send(m.start()):
                continue
            if m.group(1).lower() == "createitem":
                disposition = _SOAP_DISPOSITION.search(script.text, m.start(), m.start() + 400)
                if disposition is not None and disposition.group(1).lower() != "saveonly":
                    continue
            first = (m.start(), m.end(), m.group(1))
            soap = True
            evidence = True
            break
    if not evidence:
        return None
    if first is None:
        if sends:
            return None  # every EWS use of the file is a send
        anchor = services[0].construction if services else None
        if anchor is not None:
            first = (anchor.start, anchor.end, "ExchangeService")
        elif proxies:
            first = (proxies[0], proxies[0] + len("New-WebServiceProxy"), "New-WebServiceProxy")
        else:
            return None
    start, end, operation = first
    params: dict[str, BoundParam] = {}
    notes: list[str] = []
    if services:
        fed, _ = _services_at(script, services, "", start)
        settings, _ = _settings(script, fed, start if fed[0][0] == "" else len(script.text), notes)
        params.update(settings)
    elif soap or proxies:
        post = next((p for p in _posts(script) if p.start > start), None) if soap else None
        if post is not None:
            params.update(post.params)
        named = re.search(r"(?i)https?://[^\s\"'<>`]+/ews/(?:exchange\.asmx|services\.wsdl)", script.text)
        if named and ("EwsUrl" not in params or params["EwsUrl"].value is None):
            params["EwsUrl"] = BoundParam("EwsUrl", named.group(0), BindKind.LITERAL, named.group(0), reason=f"the EWS URL the file names (line {_line(script, named.start())})")
        _finish_auth(script, params, start)
    notes.append(f"EWS used for more than sending ({operation}{'' if soap else '()'} at line {_line(script, start)})")
    use = MemberUse(operation, start, end, start)
    call = _call(script, use, OTHER_USE_FORM, params, [], notes, Confidence.MEDIUM)
    call.command = f"EWS {operation}"
    call.sent = False
    return call


# --------------------------------------------------------------------------- entry point


def find_ews(script: Script) -> list[MailCall]:
    """EWS sends (Managed API, SOAP, web service proxy) and, once per file, other EWS use."""
    if script.is_data_file:
        return []
    low = script.text_lower
    if not any(token in low for token in TOKENS):
        return []
    services = [_Service(c) for c in find_constructions(script, _type_pattern(script, "ExchangeService"))]
    calls: list[MailCall] = []
    if services or "webservices.data" in low:
        calls.extend(_managed_api_sends(script, services))
    if "createitem" in low or "senditem" in low:
        calls.extend(c for c in _soap_sends(script) if not any(c.call_span == o.call_span for o in calls))
    proxies: list[int] = []
    if "new-webserviceproxy" in low:
        proxy_calls, proxies = _proxy_sends(script)
        calls.extend(proxy_calls)
    other = _other_use(script, services, calls, proxies)
    if other is not None:
        calls.append(other)
    calls.sort(key=lambda c: c.call_span[0])
    return calls
