"""Fix safety: whether a call's rewrite is safe, unsafe (shown for review, applied with --unsafe-fixes)
or display-only, and why; what the file itself says (alternate views, a signature, credential lines)."""

from __future__ import annotations

import bisect
import re
from functools import lru_cache
from collections.abc import Sequence
from enum import Enum

from scanner.extract.csharp import CSHARP_FORM
from scanner.extract.generated import GENERATED_FORM
from scanner.lexer import ElementKind, LexError, lex_arguments, lower_same_length
from scanner.migrate import ews_fix
from scanner.migrate.contexts import enclosing_try
from scanner.migrate.mapping import MESSAGE_PARAMS, GraphMapping, credential_variable, map_call
from scanner.migrate.snippets import invoke_restmethod_snippet, send_mgusermail_snippet
from scanner.migrate.xoauth2 import KEY as XOAUTH2_KEY, mailkit_xoauth2_snippet, offers_xoauth2
from scanner.script import Script
from scanner.secrets import SecretLiteral, find_secrets
from scanner.model import Api, Assessment, BindKind, Confidence, FixApplicability, FixInfo, MailCall, ServerClass


MODULE_COMMAND = "Send-GraphMailMessage"


PATCHABLE_APIS = (Api.SEND_MAILMESSAGE, Api.SMTPCLIENT, Api.EWS)


GRAPH_APIS = (Api.GRAPH_SENDMAIL, Api.SEND_MGUSERMAIL)


_EXCHANGE_ONLINE = (ServerClass.EXO_SUBMISSION, ServerClass.EXO_LEGACY_TLS)


class FixStyle(str, Enum):
    MODULE = "module"  # Send-GraphMailMessage from the generated module: the smallest diff
    INLINE = "inline"  # expanded Invoke-RestMethod request at each call
    INLINE_SDK = "inline-sdk"  # expanded Send-MgUserMail call at each call


def _is_plain_send(call: MailCall) -> bool:
    """SmtpClient `.Send(...)` (not SendAsync / SendMailAsync, which callers await or hook)."""
    if call.api is not Api.SMTPCLIENT:
        return True
    return call.form != "method-async" and not call.command.lower().endswith("async")


def classify(call: MailCall, assessment: Assessment | None, mapping: GraphMapping,
             style: FixStyle = FixStyle.MODULE) -> tuple[FixApplicability, str]:
    """Fix safety for one call: safe, unsafe (needs --unsafe-fixes) or display-only, with the reason."""
    if call.api in GRAPH_APIS:
        return FixApplicability.DISPLAY_ONLY, "already sends through Microsoft Graph; nothing to rewrite"
    if call.api is Api.EWS:
        if style is not FixStyle.MODULE:
            return (FixApplicability.DISPLAY_ONLY,
                    "an EWS send has no inline rewrite: use --style module, or the Graph snippet (smtp2graph snippet)")
        return ews_fix.classify(call, assessment)
    if call.api not in PATCHABLE_APIS:
        return (FixApplicability.DISPLAY_ONLY,
                f"{call.api.value} has no drop-in rewrite: replace it by hand with the Graph snippet (smtp2graph snippet)")
    if call.form == GENERATED_FORM:
        return (FixApplicability.DISPLAY_ONLY,
                "this text becomes code elsewhere: migrate it where it runs, with Import-Module Smtp2Graph")
    if call.form == CSHARP_FORM:
        return (FixApplicability.DISPLAY_ONLY,
                "the send is C# source compiled with Add-Type: rewrite the C# by hand to Graph sendMail (the Graph "
                "request and snippet show what it sends), or call Send-GraphMailMessage from PowerShell instead")
    if call.form == "shadowing-function":
        return (FixApplicability.DISPLAY_ONLY,
                "a function named Send-MailMessage shadows the cmdlet here; the calls inside it are fixed one by one")
    if not call.sent:
        return (FixApplicability.DISPLAY_ONLY,
                "a mail client is configured but nothing in this file sends with it (after smtp2graph fix it is unused)")
    if not _is_plain_send(call):
        return (FixApplicability.DISPLAY_ONLY,
                f"{call.command} is asynchronous (callbacks / tasks); rewrite it by hand with the Graph snippet")
    if assessment is not None and assessment.breaks is False:
        return FixApplicability.DISPLAY_ONLY, f"no change needed: {assessment.verdict}"
    reasons: list[str] = []
    if call.in_error_region:
        reasons.append("the call sits in a region tree-sitter could not parse")
    if call.confidence is Confidence.LOW:
        reasons.append("the call was recognised with low confidence")
    unresolved = [name for name, bound in call.params.items() if bound.kind is BindKind.UNRESOLVED]
    if unresolved:
        reasons.append("unresolved " + ", ".join(unresolved))
    if assessment is not None:
        if assessment.server is ServerClass.OUTLOOK_CONSUMER:
            reasons.append("the sender is a consumer Outlook.com account, which an app cannot send as; use a Microsoft 365 mailbox")
        elif assessment.server not in _EXCHANGE_ONLINE:
            reasons.append(f"the SMTP server is not known to be Exchange Online ({assessment.server_text or 'not shown'}); "
                           "Graph changes the mail path if it is another relay")
    if style is not FixStyle.MODULE:
        reasons.extend(_inline_blockers(call))
        if "Attachments" in call.params:
            # sendMail takes one request of 4 MB at most (base64 of every attachment + the body): the inline
            # request has no draft / upload session, so mail the original sent can be refused by Graph.
            reasons.append(INLINE_ATTACHMENT_LIMIT)
    if style is FixStyle.INLINE_SDK:
        reasons.append("Send-MgUserMail needs an app-only Connect-MgGraph session before the call; add one")
    lost = [note.text for note in mapping.note_items if note.kind.value == "lost"]
    reasons.extend(lost)
    if reasons:
        return FixApplicability.UNSAFE, "; ".join(dict.fromkeys(reasons))
    if style is FixStyle.MODULE and call.api is Api.SMTPCLIENT:
        return FixApplicability.SAFE, "SmtpClient.Send becomes Send-GraphMailMessage with the same message; nothing lost"
    if style is FixStyle.MODULE:
        return FixApplicability.SAFE, "drop-in rename to Send-GraphMailMessage: same parameters, nothing lost"
    return FixApplicability.SAFE, "every parameter is known at the call: the expanded request sends the same message"


INLINE_ATTACHMENT_LIMIT = ("one inline request is limited to 4 MB in all (attachments in base64 and the body); "
                           "use --style module, which uses a draft and upload sessions")


def _inline_blockers(call: MailCall) -> list[str]:
    out: list[str] = []
    kinds = {bound.kind for bound in call.params.values()}
    if BindKind.PIPELINE in kinds:
        out.append("pipeline input cannot be expanded inline")
    if BindKind.SPLAT in kinds or BindKind.DEFAULT in kinds:
        out.append("values from a splat or a default are copied to the call site; review them")
    if any(bound.conditional for bound in call.params.values()):
        out.append("parameters set only on some code paths")
    return out


_SPLAT_TEXT = re.compile(r"^@[\w:]+$")


def inline_refusal(call: MailCall, mapping: GraphMapping, text: str = "") -> str:
    """Why an inline style cannot rewrite this call at all ("" when it can); the module style still can."""
    del mapping
    piped = [name for name, bound in call.params.items() if bound.kind is BindKind.PIPELINE]
    if piped:
        return ("pipeline input (" + ", ".join(piped) + ") cannot be expanded inline: the request would lose "
                "what the pipeline carries; use --style module, where Send-GraphMailMessage binds the pipeline")
    variables = sorted({"-" + name for name, _ in common_parameters(call, text) if name in VARIABLE_PARAMETERS})
    if variables:
        return (", ".join(variables) + " on the call: an inline request cannot fill the variable; use --style module")
    splats = sorted({bound.text.strip() for bound in call.params.values()
                     if bound.kind is BindKind.UNRESOLVED and _SPLAT_TEXT.match(bound.text.strip())})
    if splats:
        return (f"values come from {', '.join(splats)}, which cannot be read from the script: an inline request "
                "cannot be built from it (PowerShell does not allow a splat inside an expression); "
                "use --style module, where Send-GraphMailMessage takes the splat as it is")
    branches = [f"{name} (line {bound.line})" for name, bound in call.params.items()
                if bound.conditional and name in MESSAGE_PARAMS]
    if branches:
        return ("set only on some code paths: " + ", ".join(branches) + "; one inline request would merge "
                "the branches into one message; use --style module, which keeps the script's own branches")
    hidden = _hidden_automatic_variables(call, text)
    if hidden:
        return (", ".join(hidden) + " in the call: the inline request runs in a script block of its own, where "
                + ("this variable is" if len(hidden) == 1 else "these variables are") + " not the caller's; "
                "use --style module")
    context_blocks = [name for name, bound in call.params.items()
                      if bound.kind is BindKind.DEFAULT and bound.text.strip().startswith("{")
                      and re.search(r"(?i)\$(args|_|PSItem|input)\b", bound.text)]
    if context_blocks:
        return ("$PSDefaultParameterValues gives " + ", ".join(context_blocks) + " a script block that reads its "
                "binding context ($args): it cannot be run at the call; use --style module")
    return ""


# Automatic variables a script block invoked with `& { }` defines for itself, so that the call's values, moved
# into the inline block, would read the block's and not the caller's: $PSBoundParameters and $MyInvocation in any
# block; $args in a plain block (the SmtpClient rewrite); $PSCmdlet in an advanced one (the Send-MailMessage rewrite).
_BLOCK_OWN = re.compile(r"(?i)\$(PSBoundParameters|MyInvocation|args|PSCmdlet)(?![\w:])")


def _hidden_automatic_variables(call: MailCall, text: str) -> list[str]:
    start, end = call.call_span
    sources = [text[start:end] if 0 <= start < end <= len(text) else ""]
    sources += [bound.text for bound in call.params.values()]
    own = {"psboundparameters", "myinvocation"} | ({"pscmdlet"} if call.api is Api.SEND_MAILMESSAGE else {"args"})
    found = {match.group(1) for source in sources for match in _BLOCK_OWN.finditer(source)
             if match.group(1).lower() in own}
    return sorted("$" + name for name in {name.lower(): name for name in found}.values())


def fix_info(call: MailCall, assessment: Assessment | None, style: FixStyle = FixStyle.MODULE, material: bool = True) -> FixInfo:
    """The JSON report's `fix` for one call: safety, the Graph request, notes and both snippets (and, for a MailKit
    password logon to Exchange Online, the display-only XOAUTH2 alternative).

    ``material=False``: safety and reason only (no snippets, request or notes), for an output that shows none of them.
    """
    mapping = map_call(call)
    applicability, reason = classify(call, assessment, mapping, style)
    if not material:
        return FixInfo(available=applicability is not FixApplicability.DISPLAY_ONLY, applicability=applicability, reason=reason)
    snippet: dict[str, str] | None = None
    if call.api not in GRAPH_APIS:
        snippet = {
            "invoke_restmethod": invoke_restmethod_snippet(mapping),
            "send_mgusermail": send_mgusermail_snippet(mapping),
        }
        if offers_xoauth2(call, assessment):
            snippet[XOAUTH2_KEY] = mailkit_xoauth2_snippet(call)
    return FixInfo(
        available=applicability is not FixApplicability.DISPLAY_ONLY,
        applicability=applicability,
        reason=reason,
        graph_request=mapping.request if call.api not in GRAPH_APIS else None,
        notes=list(mapping.notes),
        snippet=snippet,
    )


ACTION_PARAMETERS = ("erroraction", "ea")


VARIABLE_PARAMETERS = ("errorvariable", "ev", "outvariable", "ov", "warningvariable", "wv",
                        "informationvariable", "iv", "pipelinevariable", "pv")


def common_parameters(call: MailCall, text: str) -> list[tuple[str, str]]:
    """The common parameters written on a Send-MailMessage call: (lower-case name, value text)."""

    if call.api is not Api.SEND_MAILMESSAGE or call.name_span[1] <= call.name_span[0]:
        return []
    try:
        elements = lex_arguments(text, call.name_span[1]).elements
    except LexError:
        return []
    found = []
    for index, element in enumerate(elements):
        if element.kind is not ElementKind.PARAMETER or element.end > call.call_span[1]:
            continue
        name = element.text.lstrip("-\u2013\u2014\u2015").lower()
        if name in ACTION_PARAMETERS + VARIABLE_PARAMETERS:
            value = element.value.text if element.value is not None else (
                elements[index + 1].text if index + 1 < len(elements) else "")
            found.append((name, value))
    return found


_ALTERNATE_VIEWS = re.compile(r"(?i)\.AlternateViews\b|\bLinkedResources?\b|\.ContentId\b|AlternateView\]?::CreateAlternateView")


_SIGNATURE = re.compile(r"(?m)^# SIG # Begin signature block\s*$")


RESIGN_HINT = ("re-sign it after review: Set-AuthenticodeSignature -FilePath <script> -Certificate "
               "(Get-ChildItem Cert:\\CurrentUser\\My -CodeSigningCert | Select-Object -First 1) "
               "-TimestampServer <your timestamp URL>")


@lru_cache(maxsize=4)
def _has_alternate_views(code: str) -> bool:
    """Asked once per file, not once per call (the case-insensitive alternation tries every offset)."""
    return _ALTERNATE_VIEWS.search(code) is not None


def alternate_views_reason(call: MailCall, code: str, style: FixStyle) -> str:
    """Why an SmtpClient send of a message with alternate views / linked resources is unsafe ("" otherwise).

    A MailMessage with AlternateViews is a multipart/alternative mail (a text part and an HTML part, the
    recipient's client shows one); a Graph message holds one body. ``code`` is the file's masked text: a
    view built anywhere in the file counts, since the scanner cannot tell which message it joins.
    """
    if call.api is not Api.SMTPCLIENT or not _has_alternate_views(code):
        return ""
    what = "the message has alternate views or inline images (AlternateViews / LinkedResources / ContentId)"
    if style is FixStyle.MODULE:
        return (what + ": a Graph message holds one body, so Send-GraphMailMessage sends the HTML view as the body "
                "and does not send the other part (the plain-text Body or a text/plain view), and linked images go "
                "as inline attachments (cid: kept); a recipient whose mail client showed the text part now sees HTML")
    return (what + ", which the inline request does not carry: it sends the Body only (the HTML view and linked "
            "images are dropped); --style module sends the HTML view as the body with the linked images inline")


def is_signed(text: str) -> bool:
    """True when the script carries an Authenticode signature block (any edit invalidates it)."""
    # The block's first line holds this text: a file without it needs no line-anchored search.
    return "# SIG # Begin signature block" in text and bool(_SIGNATURE.search(text))


# Matched on the code in lower case (same length): a leading class lets the search skip most offsets
# (a case-insensitive alternation with no common prefix tried every offset: 5 ms a file).
_CREDENTIAL_LINE = re.compile(
    r"(?=[gcpniu.])(get-credential|convertto-securestring|pscredential|networkcredential|import-clixml|"
    r"get-storedcredential|get-secret\b|\.credentials[ \t]*=|usedefaultcredentials)")


def credential_lines(text: str, code: str, secrets: Sequence[SecretLiteral] | None = None) -> list[tuple[int, str]]:
    """Lines that build or hold the SMTP credential (line, what it is), for "no longer needed" notes;
    ``secrets``: the script's secret literals (found here when not given).

    Only a label is kept, never the line's text: a password literal must not reach a report.
    """
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    found: dict[int, str] = {}
    for match in _CREDENTIAL_LINE.finditer(lower_same_length(code)):
        label = code[match.start(1) : match.end(1)]  # as the script writes it
        found.setdefault(bisect.bisect_right(starts, match.start()), label.strip(" \t=").lstrip("."))
    for secret in find_secrets(Script(text)) if secrets is None else secrets:
        found[bisect.bisect_right(starts, secret.start)] = f"a {secret.kind.value} literal in {secret.name or 'the script'}"
    return sorted(found.items())


_SMTP_EXCEPTION_TYPES = ("system.net.mail.smtpexception", "net.mail.smtpexception", "smtpexception",
                         "system.net.mail.smtpfailedrecipientexception", "system.net.mail.smtpfailedrecipientsexception")


def missing_module_notes(call: MailCall, code: str, text: str) -> list[str]:
    """Where a module-style call would be handled differently when Smtp2Graph is not installed where it runs.

    The guarded import lets the script go on; the call itself then fails as a command that is not found (a
    statement-terminating CommandNotFoundException), not as a refused send (an SmtpException). Most scripts handle
    both alike; these do not.
    """
    if call.api not in (Api.SEND_MAILMESSAGE, Api.SMTPCLIENT) or call.call_span[1] <= call.call_span[0]:
        return []
    notes: list[str] = []
    where = "if Smtp2Graph is not installed where this runs, Send-GraphMailMessage fails as a command that is not found"
    context = enclosing_try(code, call.call_span[0])
    if context is not None:
        typed = [t for types in context.catches for t in types if t.lower() in _SMTP_EXCEPTION_TYPES]
        if typed:
            rest = ("the catch without a type runs instead" if context.catches_everything else
                    "no other catch takes it, so under $ErrorActionPreference = 'Stop' the script stops there")
            notes.append(f"{where} (CommandNotFoundException), which catch [{typed[0]}] does not catch: {rest}; "
                         "install the module before deploying this script")
    written = {name: value.strip("'\"").lower() for name, value in common_parameters(call, text)}
    quiet = sorted({"-ErrorVariable" if name in VARIABLE_PARAMETERS[:2] else "-ErrorAction " + value.capitalize().replace("continue", "Continue")
                    for name, value in written.items()
                    if name in VARIABLE_PARAMETERS[:2] or (name in ACTION_PARAMETERS and value in ("silentlycontinue", "ignore"))})
    if quiet:
        notes.append(f"{where}: {' and '.join(quiet)} do not apply to that error (it is shown, and an error variable "
                     "stays empty); install the module before deploying this script")
    return notes


_CREDENTIAL_SOURCES = (
    (re.compile(r"(?i)\bGet-Credential\b"), "the Get-Credential prompt"),
    (re.compile(r"(?i)\bImport-Clixml\b"), "the stored credential file Import-Clixml reads"),
    (re.compile(r"(?i)\bGet-StoredCredential\b"), "the stored credential (Get-StoredCredential)"),
    (re.compile(r"(?i)\bGet-Secret\b"), "the secret (Get-Secret)"),
    (re.compile(r"(?i)PSCredential|ConvertTo-SecureString|NetworkCredential"), "the password it is built from"),
)


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def credential_from_note(call: MailCall, code: str, text: str, sender: str | None, offer: bool = True) -> str:
    """What a reviewer should know when From is the user name of the SMTP credential ("" when it is not).

    After the patch no credential is sent: a script that keeps `Get-Credential` / `Import-Clixml` only to read
    `$cred.UserName` for From keeps a prompt or a stored password for nothing. ``sender`` is the mailbox the report
    resolved for the call (offered as an unsafe fix when ``offer``), None when it is known only at run time.
    """
    bound = call.params.get("From")
    variable = credential_variable(bound.text) if bound is not None else None
    if bound is None or variable is None:
        return ""
    name = re.escape(variable)
    start, end = call.call_span
    assigned = [m for m in re.finditer(r"(?im)^[ \t]*\$(?:script:|global:|local:)?" + name + r"[ \t]*=(?!=)[ \t]*(.*)$", code)]
    if not assigned:
        return ""  # not a credential this file builds
    last = assigned[-1]
    source = next((label for pattern, label in _CREDENTIAL_SOURCES if pattern.search(last.group(1))), "the credential")
    source += f" (line {_line_of(code, last.start())})"
    assignment_spans = [(m.start(), m.end()) for m in assigned]
    uses = sorted({_line_of(code, m.start()) for m in re.finditer(r"(?i)\$(?:script:|global:|local:|using:)?" + name + r"(?![\w:])", code)
                   if not (start <= m.start() < end) and not any(a <= m.start() < b for a, b in assignment_spans)})
    head = f"From is {bound.text.strip()}, the user name of the SMTP credential ${variable}"
    if uses:
        head += (f"; the credential is also used on line{'s' if len(uses) > 1 else ''} "
                 + ", ".join(str(line) for line in uses) + ", so it stays")
    else:
        head += (f": after the patch nothing sends the credential, which serves only this address, so {source} stays "
                 "required for nothing")
    if sender is not None and not offer:
        return head + f"; write '{sender}' (the sender the report lists for this call) in -From instead"
    if sender is None:
        return (head + "; write the mailbox in -From instead (the report lists this call among the senders to decide: "
                "the user name is known only when the script runs)" + ("" if uses else ", then remove the credential lines"))
    return (head + f"; with --unsafe-fixes -From becomes '{sender}', the sender the report lists for this call"
            + ("" if uses else " (then remove the credential lines: the password stays in them until you do)"))
