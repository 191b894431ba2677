"""PnP PowerShell's Send-PnPMail (and the older module's Send-SPOMail alias) when it sends through SMTP.

PnP.PowerShell sends through SMTP when given -Server, logging on with -Username and -Password (a
plain string) when they are given and anonymously otherwise; without -Server it sends through
Microsoft Graph (-From) or SharePoint's SendEmail, not SMTP. The older SharePointPnPPowerShellOnline
module sent through smtp.office365.com (its -Server default) with -From and -Password: basic
authentication to Exchange Online. Calls are bound like any command (splats, variables, defaults);
they are reported with the form ``pnp-cmdlet`` and never patched.
"""

from __future__ import annotations

import dataclasses

from scanner.analysis.binding import bind_arguments
from scanner.analysis.commands import CallSite, CommandSpec, ParameterSpec, find_command_sites, lex_call
from scanner.model import Api, BindKind, BoundParam, Confidence, MailCall
from scanner.script import Script

PNP_FORM = "pnp-cmdlet"
LEGACY_SERVER = "smtp.office365.com"  # SharePointPnPPowerShellOnline's -Server default

SEND_PNPMAIL = CommandSpec(
    "Send-PnPMail",
    (
        ParameterSpec("To"),
        ParameterSpec("Cc"),
        ParameterSpec("Bcc"),
        ParameterSpec("ReplyTo"),
        ParameterSpec("Subject"),
        ParameterSpec("Body"),
        ParameterSpec("From"),
        ParameterSpec("Server"),
        ParameterSpec("ServerPort", ("Port",)),  # the cmdlet's own example writes -Port
        ParameterSpec("EnableSsl"),
        ParameterSpec("Username"),
        ParameterSpec("Password"),
        ParameterSpec("Importance"),
        ParameterSpec("BodyContentType"),
        ParameterSpec("SaveToSentItems"),
        ParameterSpec("Connection"),
        ParameterSpec("Web"),
    ),
    key_parameters=("From", "To", "Server", "Username", "Password"),
)

# Send-PnPMail's parameters under the names the assessment and the reports use.
_MAIL_NAMES = {"Server": "SmtpServer", "ServerPort": "Port", "EnableSsl": "UseSsl"}


def find_pnp_mail(script: Script) -> list[MailCall]:
    """Each Send-PnPMail / Send-SPOMail call that sends through SMTP, with its server and log-on."""
    if script.is_data_file:
        return []
    calls: list[MailCall] = []
    names = {"send-pnpmail": "Send-PnPMail", "send-spomail": "Send-PnPMail"}
    for module in ("PnP.PowerShell", "SharePointPnPPowerShellOnline"):
        for site in find_command_sites(script, names, module=module):
            if module != "PnP.PowerShell" and site.form != "module-qualified":
                continue  # a plain name is found once, with the first module
            call = _bind(script, site)
            if call is not None:
                calls.append(call)
    return calls


def _bind(script: Script, site: CallSite) -> MailCall | None:
    arguments = lex_call(script, site)
    binding = bind_arguments(script, SEND_PNPMAIL, arguments, site.start)
    given = binding.params
    params: dict[str, BoundParam] = {}
    for name, bound in given.items():
        if name in ("Username", "Password"):
            continue
        mail = _MAIL_NAMES.get(name, name)
        params[mail] = dataclasses.replace(bound, name=mail)
    password, user = given.get("Password"), given.get("Username")
    legacy = "Server" not in given and password is not None
    if "Server" not in given and not legacy:
        return None  # Microsoft Graph (-From) or SharePoint's SendEmail: not SMTP
    line = script.line_of(site.start)
    if legacy:
        # The older module: -From and -Password log on to its default server.
        params["SmtpServer"] = BoundParam("SmtpServer", LEGACY_SERVER, BindKind.DEFAULT, LEGACY_SERVER,
                                          reason="Send-PnPMail's default server in SharePointPnPPowerShellOnline", line=line)
        params.setdefault("UseSsl", BoundParam("UseSsl", "$true", BindKind.DEFAULT, True, reason="the older module always used TLS", line=line))
        user = user or given.get("From")
    if password is not None:
        # The log-on as the cmdlet gets it: the user name shown, the password never (masked where written).
        kind = BindKind.UNRESOLVED if password.kind is BindKind.UNRESOLVED else BindKind.EXPRESSION
        params["Credential"] = BoundParam("Credential", user.text if user is not None else "", kind, None,
                                          reason="user name and password passed to Send-PnPMail", line=line)
    end = arguments.end
    text = script.text
    while end > site.start and text[end - 1] in " \t":
        end -= 1
    doubt = script.tree_doubts(site.start, end)  # a call tree-sitter reads inside an error region
    call = MailCall(
        api=Api.PNP_MAIL,
        command=site.written,
        form=PNP_FORM,
        location=script.location(site.start, end),
        params=params,
        confidence=Confidence.MEDIUM if doubt is not None else Confidence.HIGH,
        notes=binding.notes + ([doubt] if doubt is not None else [])
        + [f"{site.written} sends through SMTP here: replace it with Send-GraphMailMessage "
           "or Send-PnPMail without -Server (Microsoft Graph, Mail.Send) (no automatic rewrite)"],
        in_error_region=doubt is not None,
        name_span=(site.name_start, site.name_end),
        call_span=(site.start, end),
    )
    call.related.extend(script.related(binding.related))
    return call
