"""System.Net.Mail.SmtpClient sends: the client, its settings, and the MailMessage it sends."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Optional

from scanner.analysis.binding import Binding, bind_arguments
from scanner.analysis.commands import CallSite, CommandSpec, ParameterSpec, find_command_sites, lex_call
from scanner.analysis.objects import Construction, MemberUse, Returned, find_constructions, member_uses, returned_holders, superseded, with_site_arguments
from scanner.lexer import split_arguments
from scanner.model import (
    Api,
    BindKind,
    BoundParam,
    Confidence,
    MailCall,
    RelatedLocation,
    Variant,
)
from scanner.analysis.literals import parse_hashtable_literal, static_value
from scanner.analysis.resolve import resolve_hashtable
from scanner.script import Script
from scanner.structure import FunctionDef
from scanner.analysis.objects import add_param, member_param
from scanner.analysis.configfiles import mail_settings
from scanner.analysis.functions import function_parameters
from scanner.lexer import skip_balanced
from scanner.model import Provenance

_SIMPLE_VARIABLE = re.compile(r"\$(?:script:|global:|local:)?(\w+)$", re.I)
_SYSTEM_NET_MAIL = re.compile(r"(?i)^\s*using\s+namespace\s+System\.Net\.Mail\s*$", re.M)
_MAILKIT_NS = re.compile(r"(?i)^\s*using\s+namespace\s+MailKit\.Net\.Smtp\s*$", re.M)

_CLIENT_PROPERTIES = {
    "host": "SmtpServer",
    "port": "Port",
    "enablessl": "UseSsl",
    "credentials": "Credential",
    "usedefaultcredentials": "UseDefaultCredentials",
    "deliverymethod": "DeliveryMethod",
}
_MESSAGE_PROPERTIES = {
    "from": "From",
    "sender": "Sender",
    "subject": "Subject",
    "body": "Body",
    "isbodyhtml": "BodyAsHtml",
    "priority": "Priority",
    "bodyencoding": "Encoding",
    "subjectencoding": "Encoding",
    "replyto": "ReplyTo",
}
_MESSAGE_COLLECTIONS = {"to": "To", "cc": "Cc", "bcc": "Bcc", "replytolist": "ReplyTo", "attachments": "Attachments", "headers": "Headers"}
LEFT_OVER_NOTE = "the file already sends its MailMessage with Send-GraphMailMessage: this client is left over from the migration"
_SEND_METHODS = {"send": "method", "sendasync": "method-async", "sendmailasync": "method-async"}


def _type_pattern(script: Script, name: str) -> re.Pattern[str]:
    # Whether the script's `using namespace` lets it write the short name: searched once per script.
    short_names = script.memo.get("smtpclient-short-names")
    if short_names is None:
        uses = "using" in script.structure.code_lower  # cheap guard: the namespace regexes are case-insensitive
        short_names = bool(uses and _SYSTEM_NET_MAIL.search(script.code) and not _MAILKIT_NS.search(script.code))
        script.memo["smtpclient-short-names"] = short_names
    return _compiled_type_pattern(name, bool(short_names))


@functools.lru_cache(maxsize=64)
def _compiled_type_pattern(name: str, short_names: bool) -> re.Pattern[str]:
    return re.compile(r"(?i)(?:System\.)?Net\.Mail\." + name + ("|" + name if short_names else ""))


def _message_factory(script: Script, messages: list[Construction], holder: str, where: int) -> tuple[Optional[Returned], Optional[Construction]]:
    """The MailMessage a function of this file builds and returns into ``$holder`` before ``where``."""
    best: tuple[Optional[Returned], Optional[Construction]] = (None, None)
    for message in messages:
        for returned in returned_holders(script, message):
            if (returned.holder == holder and returned.after <= where and (returned.until is None or where < returned.until)
                    and script.structure.visible_from(returned.site, where)):
                if best[0] is None or returned.site > best[0].site:
                    best = (returned, message)
    return best


def _holder_params(script: Script, factory: Returned, send_at: int) -> dict[str, BoundParam]:
    """What the caller sets on the returned message before sending it (`$msg.Body = …`)."""
    holder = Construction("MailMessage", factory.site, factory.after, [])
    holder.variable = factory.holder
    return _message_params(script, holder, send_at)


def _message_params(script: Script, message: Construction, send_at: int) -> dict[str, BoundParam]:
    params: dict[str, BoundParam] = {}
    ctor_names = {2: ("From", "To"), 4: ("From", "To", "Subject", "Body")}.get(len(message.arguments), ())
    for name, span in zip(ctor_names, message.arguments):
        add_param(params, member_param(script, name, span, f"MailMessage constructor (line {script.line_of(message.start)})"), False)
    for start, _ in message.property_spans:  # New-Object …MailMessage -Property @{ From = …; Subject = … }
        for key, value_start, value_end in _property_entries(script, start, message.start):
            known = _MESSAGE_PROPERTIES.get(key.lower())
            if known is not None:
                params.pop(known, None)
                add_param(params, member_param(script, known, (value_start, value_end),
                                               f"MailMessage property {key} (line {script.line_of(value_start)})"), False)
    if message.variable is None:
        return params
    for use in member_uses(script, message.variable, message.end, send_at):
        conditional = script.structure.is_conditional(use.start, send_at)
        parts = use.member.lower().split(".")
        line = script.line_of(use.start)
        if use.value is not None and len(parts) == 1 and parts[0] in _MESSAGE_PROPERTIES:
            name = _MESSAGE_PROPERTIES[parts[0]]
            bound = member_param(script, name, use.value, f"${message.variable}.{use.member} = (line {line})")
            if name == "BodyAsHtml" and bound.value is not None and not isinstance(bound.value, bool):
                bound.value = str(bound.value).lower() in ("true", "$true")
            params.pop(name, None)
            add_param(params, bound, conditional)
        elif use.is_call and len(parts) == 2 and parts[0] in _MESSAGE_COLLECTIONS and parts[1] == "add":
            name = _MESSAGE_COLLECTIONS[parts[0]]
            if name == "Headers" and len(use.arguments) >= 2:
                key = script.text[use.arguments[0][0] : use.arguments[0][1]]
                value = script.text[use.arguments[1][0] : use.arguments[1][1]]
                k, v = static_value(key), static_value(value)
                static = f"{k}: {v}" if isinstance(k, str) and isinstance(v, str) else None
                text = f"{key}: {value}"
                add_param(params, BoundParam("Headers", text, BindKind.LITERAL if static else BindKind.EXPRESSION, static, reason=f"${message.variable}.Headers.Add() (line {line})", line=line), conditional)
            elif use.arguments:
                add_param(params, member_param(script, name, use.arguments[0], f"${message.variable}.{use.member}() (line {line})"), conditional)
    return params


def _mail_settings_defaults(script: Script, params: dict[str, BoundParam]) -> None:
    """A client without a Host takes .NET's system.net/mailSettings: from a web.config / app.config beside the script."""

    node = mail_settings(script)
    if node is None or node.data is None:
        return
    smtp = node.data
    network = smtp.find("network")
    where = f"system.net/mailSettings in {node.path} (read by .NET when the process runs with that configuration)"

    def add(name: str, text: str, value: object, key: str) -> None:
        if name not in params:
            params[name] = BoundParam(name, text, BindKind.DEFAULT, value, reason=f"default from {where}", provenance=Provenance.CONFIG_FILE, source=f"{node.path}: {key}")  # type: ignore[arg-type]

    if network is not None and network.get("host"):
        add("SmtpServer", network.get("host"), network.get("host"), "system.net/mailSettings/smtp/network/@host")
        if network.get("port", "").isdigit():
            add("Port", network.get("port"), int(network.get("port")), "system.net/mailSettings/smtp/network/@port")
        if network.get("enableSsl", "").lower() in ("true", "false"):
            add("UseSsl", network.get("enableSsl"), network.get("enableSsl").lower() == "true", "system.net/mailSettings/smtp/network/@enableSsl")
        if network.get("defaultCredentials", "").lower() == "true":
            add("UseDefaultCredentials", "true", True, "system.net/mailSettings/smtp/network/@defaultCredentials")
        elif network.get("userName"):
            # The password stays in the file: only the fact that one is configured is reported.
            add("Credential", "<network userName / password>", None, "system.net/mailSettings/smtp/network/@userName")
    if smtp.get("from"):
        add("From", smtp.get("from"), smtp.get("from"), "system.net/mailSettings/smtp/@from")
    if smtp.get("deliveryMethod", "").lower() in ("specifiedpickupdirectory", "pickupdirectoryfromiis"):  # Network: the default
        add("DeliveryMethod", smtp.get("deliveryMethod"), smtp.get("deliveryMethod"), "system.net/mailSettings/smtp/@deliveryMethod")


def _client_params(script: Script, client: Construction, send_at: int) -> dict[str, BoundParam]:
    params = _client_params_written(script, client, send_at)
    if "SmtpServer" not in params and script.root is not None:
        _mail_settings_defaults(script, params)
    return params


def _client_params_written(script: Script, client: Construction, send_at: int) -> dict[str, BoundParam]:
    params: dict[str, BoundParam] = {}
    line = script.line_of(client.start)
    for name, span in zip(("SmtpServer", "Port"), client.arguments):
        params[name] = member_param(script, name, span, f"SmtpClient constructor (line {line})")
    for start, _ in client.property_spans:
        # `New-Object …SmtpClient -Property @{ Host = …; Credentials = … }`, `[SmtpClient]@{ … }`: each key a property.
        entries = _property_entries(script, start, client.start)
        for key, value_start, value_end in entries:
            known = _CLIENT_PROPERTIES.get(key.lower())
            if known is not None:
                params[known] = member_param(script, known, (value_start, value_end), f"SmtpClient property {key} (line {line})")
    if client.variable is None:
        return params
    for use in member_uses(script, client.variable, client.end, send_at):
        prop = use.member.lower()
        if use.value is None or prop not in _CLIENT_PROPERTIES:
            continue
        name = _CLIENT_PROPERTIES[prop]
        bound = member_param(script, name, use.value, f"${client.variable}.{use.member} = (line {script.line_of(use.start)})")
        bound.conditional = script.structure.is_conditional(use.start, send_at)
        params[name] = bound
    return params


def _property_entries(script: Script, start: int, at: int) -> list[tuple[str, int, int]]:
    """(key, value start, value end) of the hashtable a constructor's -Property gets: written there, or a variable set to one."""
    text = script.text
    if text.startswith("@{", start):
        entries, _ = parse_hashtable_literal(script, start + 1, False, "-Property")
    else:
        variable = re.match(r"\$(?:script:|global:|local:)?(\w+)", text[start:])
        if variable is None:
            return []
        entries = list(resolve_hashtable(script, variable.group(1), at).entries.values())
    return [(e.key, e.assignment.start, e.assignment.start + len(e.assignment.text)) for e in entries if e.assignment.start >= 0]


def find_smtpclient(script: Script) -> list[MailCall]:
    """SmtpClient sends (`$c.Send($m)`, SendAsync, SendMailAsync) and clients configured but never sent."""
    if script.is_data_file:
        return []
    clients = find_constructions(script, _type_pattern(script, "SmtpClient"))
    if not clients:
        return []
    messages = find_constructions(script, _type_pattern(script, "MailMessage"))
    calls: list[MailCall] = []
    passed = _function_sends(script, clients)
    for index, client in enumerate(clients):
        # A variable re-assigned to a new client later belongs to that one from there on.
        later = next((c.start for c in clients[index + 1 :] if c.variable and c.variable == client.variable), None)
        sends: list[tuple[MemberUse, str]] = []
        if client.variable:
            for use in member_uses(script, client.variable, client.end, later):
                method = use.member.lower()
                if use.is_call and method in _SEND_METHODS:
                    sends.append((use, method))
        else:
            inline = re.compile(r"\)[ \t]*\.(Send|SendAsync|SendMailAsync)[ \t]*\(", re.I).match(script.code, client.end)
            if inline:
                paren = inline.end() - 1

                close = skip_balanced(script.text, paren)
                use = MemberUse(inline.group(1), client.start, close, inline.start() + 1, is_call=True, arguments=split_arguments(script.text, paren + 1, close - 1))
                sends.append((use, inline.group(1).lower()))
        returned = _returned_sends(script, client)
        for use, method, settings, note in returned:
            call = _send_call(script, client, use, method, messages, settings=settings)
            call.notes.insert(0, note)
            calls.append(call)
        if not sends and not returned and not any(index in passes for _, passes in passed):
            if not superseded(script, client, later):  # made again below before any Send: that one is the sender
                calls.append(_unsent_client(script, client))
            continue
        for use, method in sends:
            calls.append(_send_call(script, client, use, method, messages))
    for (use, method), passes in passed:
        # The function may also build a client of its own in that variable: one send, both paths.
        own = next((c for c in calls if c.sent and c.call_span[0] == use.start), None)
        if own is not None:
            calls.remove(own)
        calls.append(_function_send_call(script, clients, use, method, messages, passes, own))
    calls.sort(key=lambda c: c.call_span[0])
    return calls


def _returned_sends(script: Script, client: Construction) -> list[tuple[MemberUse, str, dict[str, BoundParam], str]]:
    """Sends with a client a function of this file builds and returns:
    `function New-MailClient { $c = New-Object Net.Mail.SmtpClient(…); …; return $c }`, then
    `$smtp = New-MailClient` and `$smtp.Send($msg)`. The settings are the ones the function gives
    the client (its parameters taken from the call site), then the ones set on `$smtp` afterwards."""
    holders = returned_holders(script, client)
    if not holders:
        return []
    body = script.structure.function_at(client.start)
    inside = _client_params(script, client, body.end if body is not None else len(script.text))
    out: list[tuple[MemberUse, str, dict[str, BoundParam], str]] = []
    for returned in holders:
        given = with_site_arguments(script, returned.function, returned.site, inside)
        function = next(f for f in script.structure.functions if f.name == returned.function)
        line = script.line_of(returned.site)
        for use in member_uses(script, returned.holder, returned.after, returned.until):
            method = use.member.lower()
            if not (use.is_call and method in _SEND_METHODS) or not script.structure.visible_from(returned.site, use.start):
                continue
            settings = dict(given)
            holder_construction = Construction(client.type_name, returned.site, returned.after, [], variable=returned.holder)
            for name, bound in _client_params_written(script, holder_construction, use.start).items():
                settings[name] = bound  # set on the returned client after the call
            note = (
                f"the client is built by {returned.function} (line {script.line_of(function.name_start)}), which returns ${client.variable}; "
                f"${returned.holder} = {returned.function} (line {line}) sends with it"
            )
            out.append((use, method, settings, note))
    return out


@dataclass
class _Pass:
    """A call site that hands a client (or something else) to a function that sends with it."""

    site: CallSite
    function: FunctionDef
    parameter: str  # the function's parameter that receives the client, as declared
    argument: str  # what the call site passes for it, as written
    client: Optional[int]  # index of the client construction passed, None when it is not one of this file
    binding: Binding


def _function_sends(script: Script, clients: list[Construction]) -> list[tuple[tuple[MemberUse, str], dict[int, list[_Pass]]]]:
    """Sends inside a function of this file with a client its call sites pass as an argument:
    `function Send-Status { param($Client, $Message) $Client.Send($Message) }` then
    `Send-Status -Client $smtp -Message $msg` (named or positional). For each such send in a
    function body: every call site of the function, grouped by the client it passes."""

    functions = [f for f in script.structure.functions if f.name.lower() != "send-mailmessage" and f.name.isascii()]
    variables = {c.variable for c in clients if c.variable}
    if not functions or not variables:
        return []
    found: dict[int, tuple[tuple[MemberUse, str], dict[int, list[_Pass]]]] = {}
    sites = find_command_sites(script, {f.name.lower(): f.name for f in functions}, module="*")
    for site in sites:
        name = site.written.rsplit("\\", 1)[-1].lower()
        defined = [f for f in functions if f.name.lower() == name and not (f.body.start <= site.name_start < f.body.end)]
        if not defined:
            continue
        before = [f for f in defined if f.body.end <= site.start]
        function = before[-1] if before else defined[0]
        parameters = function_parameters(script, function)
        if not parameters:
            continue
        spec = CommandSpec(function.name, tuple(ParameterSpec(p, position=i) for i, p in enumerate(parameters)))
        binding = bind_arguments(script, spec, lex_call(script, site), site.start)
        for parameter in parameters:
            bound = binding.params.get(parameter)
            if bound is None:
                continue
            uses = [
                u
                for u in member_uses(script, parameter.lower(), function.body.start, function.body.end)
                if u.is_call and u.member.lower() in _SEND_METHODS and script.structure.function_at(u.start) == function.body
            ]
            if not uses:
                continue
            argument = bound.text.strip()
            m = _SIMPLE_VARIABLE.fullmatch(argument)
            client: Optional[int] = None
            if m and m.group(1).lower() in variables:
                # The construction of that variable the call site sees: the last one before it.
                seen = [i for i, c in enumerate(clients) if c.variable == m.group(1).lower() and c.end <= site.start and script.structure.visible_from(c.start, site.start)]
                client = seen[-1] if seen else None
            for use in uses:
                entry = found.setdefault(use.start, ((use, use.member.lower()), {}))
                entry[1].setdefault(-1 if client is None else client, []).append(_Pass(site, function, parameter, argument, client, binding))
    # Only sends that at least one call site feeds with a client of this file.
    return [entry for _, entry in sorted(found.items()) if any(k >= 0 for k in entry[1])]


_CLIENT_KEYS = ("SmtpServer", "Port", "UseSsl", "Credential", "UseDefaultCredentials", "DeliveryMethod")


def _function_send_call(
    script: Script, clients: list[Construction], use: MemberUse, method: str, messages: list[Construction], passes: dict[int, list[_Pass]],
    own: Optional[MailCall] = None,
) -> MailCall:
    """The send in a function body, with the settings of the client its call sites pass.

    Every call site of the function is one more path to this one send: a setting all the clients
    agree on is known; one they differ on (or a site passing something that is not a client built
    in this file) leaves it unresolved, with each value and line, so the verdict is never one
    caller's guessed for all of them (and a fix, which changes every caller, is not called safe).
    """
    ordered = sorted((p for group in passes.values() for p in group), key=lambda p: p.site.start)
    known = [p for p in ordered if p.client is not None]
    first = known[0]
    client = clients[first.client]  # type: ignore[index]
    call = _send_call(script, client, use, method, messages, through=first)
    line = script.line_of(first.site.start)
    lines = ", ".join(str(script.line_of(p.site.start)) for p in ordered)
    call.notes.insert(
        0,
        f"the client ${client.variable} (line {script.line_of(client.start)}) is passed to {first.function.name} as "
        f"-{first.parameter} (line {line}), which sends with it: {script.text[use.start:use.end]} (called at line(s) {lines})",
    )
    # The call sites are listed by the engine, as for every wrapper function (role "call-site").
    # Each path to the send: (label, where, settings; None when the client is not one of this file).
    groups: list[tuple[str, str, Optional[dict[str, BoundParam]]]] = []
    for group in sorted(passes.values(), key=lambda g: g[0].site.start):
        p = group[0]
        settings = None if p.client is None else {n: b for n, b in _client_params(script, clients[p.client], p.site.start).items() if n in _CLIENT_KEYS}
        where = f"line {script.line_of(p.site.start)}"
        groups.append((f"called at {where} with {p.argument}", f"{where}: {p.argument}" if settings is None else where, settings))
    if own is not None:
        # The function also puts a client of its own in that variable (`if (-not $Client) { $Client = … }`).
        settings = {n: b for n, b in own.params.items() if n in _CLIENT_KEYS}
        own_line = own.related[0].line if own.related else own.location.line
        where = f"{first.function.name}'s own client (line {own_line})"
        groups.append((where, where, settings))
        call.notes.append(f"{first.function.name} also sends with a client it builds itself (line {own_line}) on some paths")

    def shown(settings: Optional[dict[str, BoundParam]], name: str) -> str:
        if settings is None:
            return "?"
        bound = settings.get(name)
        return "(not set)" if bound is None else repr(bound.value) if bound.value is not None and not bound.conditional else bound.text

    stranger = any(s is None for _, _, s in groups)
    differ = [n for n in _CLIENT_KEYS if len({shown(s, n) for _, _, s in groups if s is not None}) > 1 or (stranger and n == "SmtpServer")]
    if len(groups) == 1 or not differ:
        return call
    for name in differ:
        listed = "; ".join(
            f"{where} is not a client built in this file" if s is None else f"{where}: {s[name].text if name in s else '(not set)'}"
            for _, where, s in groups
        )
        call.params[name] = BoundParam(
            name, call.params[name].text if name in call.params else "", BindKind.UNRESOLVED, None,
            reason=f"{first.function.name} sends with clients that differ on {name} ({listed}); a fix changes every caller", line=line,
        )
    for label, where, settings in groups:
        if settings is None:
            call.variants.append(Variant(label, _stranger(where, f"{where} is not a client built in this file")))
        else:
            call.variants.append(Variant(label, settings))
    return call
    for name in differ:
        listed = "; ".join(
            f"line {script.line_of(p.site.start)}: {p.argument} is not a client built in this file" if s is None
            else f"line {script.line_of(p.site.start)}: {s[name].text if name in s else '(not set)'}"
            for p, s in groups
        )
        call.params[name] = BoundParam(
            name, call.params[name].text if name in call.params else "", BindKind.UNRESOLVED, None,
            reason=f"{first.function.name} is called with clients that differ on {name} ({listed}); a fix changes every caller", line=line,
        )
    for p, settings in groups:
        label = f"called at line {script.line_of(p.site.start)} with {p.argument}"
        if settings is None:
            why = f"{p.argument} (line {script.line_of(p.site.start)}) is not a client built in this file"
            call.variants.append(Variant(label, _stranger(p.argument, why)))
        else:
            call.variants.append(Variant(label, settings))
    return call


def _stranger(written: str, why: str) -> dict[str, BoundParam]:
    """The settings of a client this file does not build: its server and its credential are unknown
    (never "no credential": the client may carry one)."""
    return {
        "SmtpServer": BoundParam("SmtpServer", written, BindKind.UNRESOLVED, None, reason=why),
        "Credential": BoundParam("Credential", f"{written}.Credentials", BindKind.UNRESOLVED, None, reason=why),
    }


def _site_argument(through: Optional[_Pass], text: str) -> Optional[BoundParam]:
    """What the call site passes for the function parameter ``text`` (`$Message`) names, if it does."""
    if through is None:
        return None
    m = _SIMPLE_VARIABLE.fullmatch(text.strip())
    if m is None:
        return None
    return next((b for n, b in through.binding.params.items() if n.lower() == m.group(1).lower()), None)


def _send_call(
    script: Script, client: Construction, use: MemberUse, method: str, messages: list[Construction], through: Optional[_Pass] = None,
    settings: Optional[dict[str, BoundParam]] = None,
) -> MailCall:
    text = script.text
    # Through a function, the client and message are the ones its call site holds, set up before that site.
    at = through.site.start if through is not None else use.start
    params = dict(settings) if settings is not None else _client_params(script, client, at)
    related = [RelatedLocation(script.path, *script.structure.line_col(client.start), "client")]
    notes: list[str] = []
    args = use.arguments
    if method == "sendasync" and len(args) in (2, 5):
        args = args[:-1]  # the userToken
    if method == "sendmailasync" and len(args) in (2, 5):
        args = args[:-1]  # the CancellationToken
    if len(args) == 4:
        for name, span in zip(("From", "To", "Subject", "Body"), args):
            passed = _site_argument(through, text[span[0] : span[1]])
            if passed is not None and through is not None:
                bound = BoundParam(name, text[span[0] : span[1]].strip(), passed.kind if passed.value is None else BindKind.LITERAL, passed.value, passed.conditional,
                                   f"passed as -{passed.name} {passed.text} to {through.function.name} at line {script.line_of(through.site.start)}" + (f"; {passed.reason}" if passed.reason else ""),
                                   script.line_of(span[0]), passed.provenance, passed.source)
            else:
                bound = member_param(script, name, span, f"{use.member}() argument")
            if name == "To" and isinstance(bound.value, str) and "," in bound.value:
                bound.value = [v.strip() for v in bound.value.split(",") if v.strip()]
            params[name] = bound
    elif len(args) == 1:
        message_text = text[args[0][0] : args[0][1]].strip()
        params["MailMessage"] = BoundParam("MailMessage", message_text, BindKind.EXPRESSION, None, line=script.line_of(args[0][0]))
        passed = _site_argument(through, message_text)
        var = re.fullmatch(r"\$(?:script:|global:|local:)?([\w]+)|\$\{(?:script:|global:|local:)?([\w]+)\}", passed.text.strip() if passed is not None else message_text)
        message = None
        factory: Optional[Returned] = None
        where = at if passed is not None else use.start
        if var:
            written = (var.group(1) or var.group(2)).lower()
            candidates = [m for m in messages if m.variable == written and m.start < where and script.structure.visible_from(m.start, where)]
            message = candidates[-1] if candidates else None
            if message is None:
                factory, message = _message_factory(script, messages, written, where)
        else:
            inline = [m for m in messages if args[0][0] <= m.start < args[0][1]]
            message = inline[0] if inline else None
        if message is not None and factory is not None:
            # Built by a function of this file that returns it: its settings there, with what the call site passes.
            body = script.structure.function_at(message.start)
            inside = _message_params(script, message, body.end if body is not None else len(text))
            params.update(with_site_arguments(script, factory.function, factory.site, inside))
            params.update(_holder_params(script, factory, where))
            related.append(RelatedLocation(script.path, *script.structure.line_col(message.start), "message"))
            notes.append(f"the MailMessage is built by {factory.function} (line {script.line_of(message.start)}), which returns it")
        elif message is not None:
            params.update(_message_params(script, message, where))
            related.append(RelatedLocation(script.path, *script.structure.line_col(message.start), "message"))
        else:
            notes.append(f"the MailMessage {message_text} is not built in this file; its contents are unknown")
    else:
        notes.append(f"{use.member}() with {len(args)} arguments is not a known overload")
    start = use.start
    end = use.end
    doubt = script.tree_doubts(start, end)
    in_error = doubt is not None
    if doubt is not None:
        notes.append(doubt)
    written = text[start : use.member_start] + "." + use.member
    return MailCall(
        api=Api.SMTPCLIENT,
        command=written,
        form=_SEND_METHODS[method] if client.variable else "inline",
        location=script.location(start, end),
        params=params,
        related=related,
        confidence=Confidence.MEDIUM if in_error else Confidence.HIGH,
        notes=notes,
        in_error_region=in_error,
        name_span=(use.member_start, use.member_start + 1 + len(use.member)),
        call_span=(start, end),
    )


_MIGRATED_SEND = re.compile(r"(?i)\bSend-GraphMailMessage\b[^\r\n]*-MailMessage\b")


def _unsent_client(script: Script, client: Construction) -> MailCall:
    params = _client_params(script, client, len(script.text))
    notes = ["an SmtpClient is created and configured here, but no Send in this file uses it"]
    notes.extend(_handed_elsewhere(script, client))
    if _MIGRATED_SEND.search(script.code):
        notes.append(LEFT_OVER_NOTE)
    return MailCall(
        api=Api.SMTPCLIENT,
        command=client.type_name,
        form="client-without-send",
        location=script.location(client.start, client.end),
        params=params,
        confidence=Confidence.LOW,
        notes=notes,
        sent=False,
        name_span=(client.start, client.start),
        call_span=(client.start, client.end),
    )


_KEYWORDS = {"if", "elseif", "else", "foreach", "for", "while", "do", "until", "switch", "return", "throw", "try", "catch", "finally", "param", "function", "filter", "trap", "exit", "break", "continue"}


def _handed_elsewhere(script: Script, client: Construction) -> list[str]:
    """Commands outside this file that a client is passed to (`Invoke-Notify -Client $smtp`): a send may be there."""
    if not client.variable:
        return []
    defined = {f.name.lower() for f in script.structure.functions}
    argument = re.compile(r"(?i)(?<![\w$:])\$(?:script:|global:|local:)?" + re.escape(client.variable) + r"(?![\w:.\[]|[ \t]*=)")
    out: list[str] = []
    for m in argument.finditer(script.code, client.end):
        line_start = script.code.rfind("\n", 0, m.start()) + 1
        head = re.match(r"[ \t]*(?:&[ \t]*)?([A-Za-z][\w]*-[\w-]+)", script.code[line_start : m.start()])
        if head is None or head.group(1).lower() in _KEYWORDS or head.group(1).lower() in defined:
            continue
        if head.group(1).lower() in ("write-host", "write-output", "write-verbose", "write-debug", "out-null", "remove-variable", "new-object"):
            continue
        out.append(
            f"the client is passed to {head.group(1)} (line {script.line_of(m.start())}), which is not defined in this file: "
            "if it sends with it, the send is in the file that defines it"
        )
        if len(out) == 3:
            break
    return out


def credential_is_default(params: dict[str, BoundParam]) -> Optional[bool]:
    """True when the client logs on as the current Windows user."""
    use_default = params.get("UseDefaultCredentials")
    cred = params.get("Credential")
    if cred is not None and re.search(r"(?i)Default(Network)?Credentials", cred.text):
        return True
    if use_default is not None and use_default.value in (True, "$true"):
        return True
    return None
