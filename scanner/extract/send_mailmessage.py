"""Send-MailMessage calls (and the drop-in Send-GraphMailMessage of the generated module), fully bound."""

from __future__ import annotations

from dataclasses import dataclass

from scanner.analysis.binding import alias_definitions, bind_arguments
from scanner.analysis.commands import CallSite, CommandSpec, ParameterSpec, find_command_sites, lex_call
from scanner.model import Api, BindKind, BoundParam, Confidence, MailCall
from scanner.analysis.resolve import ps_email_server
from scanner.script import Script

# Parameter metadata from PowerShell's SendMailMessage.cs.
SEND_MAILMESSAGE = CommandSpec(
    "Send-MailMessage",
    (
        ParameterSpec("Attachments", ("PsPath",), pipeline=True),
        ParameterSpec("Bcc"),
        ParameterSpec("Body", position=2),
        ParameterSpec("BodyAsHtml", ("BAH",), switch=True),
        ParameterSpec("Encoding", ("BE",)),
        ParameterSpec("Cc"),
        ParameterSpec("DeliveryNotificationOption", ("DNO",)),
        ParameterSpec("From"),
        ParameterSpec("SmtpServer", ("ComputerName",), position=3),
        ParameterSpec("Priority"),
        ParameterSpec("ReplyTo"),
        ParameterSpec("Subject", ("sub",), position=1),
        ParameterSpec("To", position=0),
        ParameterSpec("Credential"),
        ParameterSpec("UseSsl", switch=True),
        ParameterSpec("Port"),
    ),
    key_parameters=("From", "To", "Subject", "SmtpServer", "Credential", "Port", "UseSsl"),
)

# The generated module's drop-in: the same parameters plus the message object and Sent Items choice.
SEND_GRAPHMAILMESSAGE = CommandSpec(
    "Send-GraphMailMessage",
    SEND_MAILMESSAGE.parameters + (ParameterSpec("MailMessage"), ParameterSpec("SaveToSentItems", switch=True)),
    key_parameters=("From", "To", "Subject"),
)

CMDLET = "send-mailmessage"
MODULE_COMMAND = "send-graphmailmessage"

# Canonical order of the mail parameters in reports.
PARAMETER_ORDER = [p.name for p in SEND_GRAPHMAILMESSAGE.parameters]


@dataclass(frozen=True)
class ShadowingFunction:
    name_start: int
    name_end: int
    body_start: int
    body_end: int
    keyword_start: int


def shadowing_functions(script: Script) -> list[ShadowingFunction]:
    """Functions named exactly Send-MailMessage: after their definition, plain calls go to them."""
    return [
        ShadowingFunction(f.name_start, f.name_end, f.body.start, f.body.end, f.keyword_start)
        for f in script.structure.functions
        if f.name.lower() == CMDLET
    ]


def _site_is_shadowed(site: CallSite, shadows: list[ShadowingFunction]) -> bool:
    if site.form == "module-qualified":
        return False
    return any(site.name_start > s.keyword_start for s in shadows)


def find_send_mailmessage(script: Script) -> list[MailCall]:
    """Every Send-MailMessage and Send-GraphMailMessage call in the script, bound."""
    if script.is_data_file:
        return []
    names = {CMDLET: "Send-MailMessage", MODULE_COMMAND: "Send-GraphMailMessage"}
    aliases = alias_definitions(script, {CMDLET, MODULE_COMMAND})
    for definition in aliases:
        names.setdefault(definition.alias.lower(), "Send-MailMessage" if definition.target == CMDLET else "Send-GraphMailMessage")
    shadows = shadowing_functions(script)
    calls: list[MailCall] = []
    for site in find_command_sites(script, names):
        base = site.written.rsplit("\\", 1)[-1].lower()
        alias = next((a for a in aliases if a.alias.lower() == base), None)
        form = site.form
        if alias is not None and base not in (CMDLET, MODULE_COMMAND):
            if site.name_start < alias.offset:
                continue  # the alias does not exist yet at this point of the script
            form = "alias"
        if site.canonical == "Send-MailMessage" and _site_is_shadowed(site, shadows):
            continue
        if any(s.name_start == site.name_start for s in shadows):
            continue
        calls.append(bind_site(script, site, form))
    for shadow in shadows:
        calls.append(_wrapper_call(script, shadow))
    return calls


def bind_site(script: Script, site: CallSite, form: str) -> MailCall:
    """Bind one Send-MailMessage / Send-GraphMailMessage call site."""
    is_module = site.canonical == "Send-GraphMailMessage"
    spec = SEND_GRAPHMAILMESSAGE if is_module else SEND_MAILMESSAGE
    arguments = lex_call(script, site)
    upstream = script.pipeline_upstream(site.start)
    # The generated module applies $PSDefaultParameterValues written for Send-MailMessage too.
    defaults = ("Send-MailMessage", "Send-GraphMailMessage") if is_module else ("Send-MailMessage",)
    binding = bind_arguments(script, spec, arguments, site.start, upstream, defaults_for=defaults)
    if not is_module and "SmtpServer" not in binding.params:
        server = ps_email_server(script, site.start)
        if server is not None:
            binding.params["SmtpServer"] = BoundParam(
                "SmtpServer", server.text, BindKind.DEFAULT, server.value, server.conditional, f"default from {server.origin}", server.line
            )
            binding.related.append((server.start, "default"))
    if form == "plain":
        if binding.splats:
            form = "splat"
        elif binding.positional_used:
            form = "positional"
        else:
            form = "named"
    if upstream is not None:
        form = form + "+pipeline"
    end = arguments.end
    while end > site.start and script.text[end - 1] in " \t":
        end -= 1
    doubt = script.tree_doubts(site.start, end)
    in_error = doubt is not None
    call = MailCall(
        api=Api.GRAPH_SENDMAIL if is_module else Api.SEND_MAILMESSAGE,
        command=site.written,
        form="smtp2graph-module" if is_module and form in ("named", "positional", "splat") else form,
        location=script.location(site.start, end),
        params=_ordered(binding.params),
        confidence=Confidence.MEDIUM if in_error else Confidence.HIGH,
        notes=binding.notes + ([doubt] if doubt is not None else []),
        in_error_region=in_error,
        name_span=(site.name_start, site.name_end),
        call_span=(site.start, end),
    )
    call.related.extend(script.related(binding.related))
    return call


def _wrapper_call(script: Script, shadow: ShadowingFunction) -> MailCall:
    return MailCall(
        api=Api.SEND_MAILMESSAGE,
        command="Send-MailMessage",
        form="shadowing-function",
        location=script.location(shadow.keyword_start, shadow.name_end),
        params={},
        confidence=Confidence.MEDIUM,
        notes=["function Send-MailMessage defined here shadows the cmdlet: later calls in this file go through it"],
        name_span=(shadow.name_start, shadow.name_end),
        call_span=(shadow.keyword_start, shadow.body_end),
    )


def _ordered(params: dict[str, BoundParam]) -> dict[str, BoundParam]:
    order = {name: i for i, name in enumerate(PARAMETER_ORDER)}
    return dict(sorted(params.items(), key=lambda kv: order.get(kv[0], len(order))))
