"""Rewrite mail calls to Graph: minimal edits on the decoded text, written back byte for byte.

The default *module* style renames `Send-MailMessage` to `Send-GraphMailMessage`, turns SmtpClient
`$client.Send(...)` into `Send-GraphMailMessage -MailMessage ...` (or named parameters for the
four-string overload) and adds one `Import-Module Smtp2Graph` line after the script's header
(`#requires`, comment-based help, `using`, `[CmdletBinding()] param(...)`). The *inline* styles
replace each call with the expanded Graph request. Every edit is re-parsed: an edit that adds an
ERROR or MISSING node is not applied and the fix says why. Unchanged bytes stay unchanged
(encoding, BOM, line endings), and fixing fixed output changes nothing.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from scanner.extract.generated import GENERATED_FORM
from scanner.lexer import (
    LexError,
    skip_balanced,
    skip_block_comment,
    skip_line_comment,
    split_arguments,
)
from scanner.migrate.mapping import (
    MESSAGE_PARAMS,
    GraphMapping,
    map_call,
    ps_expression,
)
from scanner.migrate.snippets import (
    invoke_restmethod_snippet,
    message_lines,
    send_mgusermail_snippet,
)
from scanner.migrate.syntax import problem_count
from scanner.model import (
    Api,
    Assessment,
    BindKind,
    Confidence,
    FixApplicability,
    FixInfo,
    MailCall,
    ServerClass,
)

if TYPE_CHECKING:
    from scanner.migrate.judge import PatchJudge

MODULE_COMMAND = "Send-GraphMailMessage"
IMPORT_LINE = "Import-Module Smtp2Graph -ErrorAction Stop"
_IMPORT_PRESENT = re.compile(r"(?im)^[ \t]*Import-Module\s+(?:-Name\s+)?['\"]?(?:[^\s'\"]*[\\/])?Smtp2Graph(?:\.psd1)?['\"]?(?:\s|;|$)")
_PATCHABLE_APIS = (Api.SEND_MAILMESSAGE, Api.SMTPCLIENT)
_GRAPH_APIS = (Api.GRAPH_SENDMAIL, Api.SEND_MGUSERMAIL)
_EXCHANGE_ONLINE = (ServerClass.EXO_SUBMISSION, ServerClass.EXO_LEGACY_TLS)


class FixStyle(str, Enum):
    MODULE = "module"  # Send-GraphMailMessage from the generated module: the smallest diff
    INLINE = "inline"  # expanded Invoke-RestMethod request at each call
    INLINE_SDK = "inline-sdk"  # expanded Send-MgUserMail call at each call


@dataclass
class CallFix:
    """What the fixer decided for one call, and whether the edit went in."""

    call: MailCall
    applicability: FixApplicability
    reason: str
    mapping: GraphMapping | None = None
    applied: bool = False
    refused: str = ""  # why a wanted edit was not applied (parse check, unsafe without --unsafe-fixes)
    notes: list[str] = field(default_factory=list)  # what a reviewer should know about the edit (no secrets)

    @property
    def line(self) -> int:
        return self.call.location.line


@dataclass
class TextEdit:
    start: int
    end: int
    replacement: str


@dataclass
class PatchedText:
    """The outcome for one decoded text."""

    original: str
    patched: str
    fixes: list[CallFix] = field(default_factory=list)
    import_added: bool = False
    style: FixStyle = FixStyle.MODULE
    newline: str = "\n"
    candidates: list[CallEdit] = field(default_factory=list)  # the edits wanted, before judging

    @property
    def changed(self) -> bool:
        return self.patched != self.original


# --------------------------------------------------------------------------- fix safety


def _is_plain_send(call: MailCall) -> bool:
    """SmtpClient `.Send(...)` (not SendAsync / SendMailAsync, which callers await or hook)."""
    if call.api is not Api.SMTPCLIENT:
        return True
    return call.form != "method-async" and not call.command.lower().endswith("async")


def classify(call: MailCall, assessment: Assessment | None, mapping: GraphMapping,
             style: FixStyle = FixStyle.MODULE) -> tuple[FixApplicability, str]:
    """Fix safety for one call: safe, unsafe (needs --unsafe-fixes) or display-only, with the reason."""
    if call.api in _GRAPH_APIS:
        return FixApplicability.DISPLAY_ONLY, "already sends through Microsoft Graph; nothing to rewrite"
    if call.api not in _PATCHABLE_APIS:
        return (FixApplicability.DISPLAY_ONLY,
                f"{call.api.value} has no drop-in rewrite: replace it by hand with the Graph snippet (smtp2graph snippet)")
    if call.form == GENERATED_FORM:
        return (FixApplicability.DISPLAY_ONLY,
                "this text becomes code elsewhere: migrate it where it runs, with Import-Module Smtp2Graph")
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
    variables = sorted({"-" + name for name, _ in _common_parameters(call, text) if name in _VARIABLE_PARAMETERS})
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
    """The JSON report's `fix` for one call: safety, the Graph request, notes and both snippets.

    ``material=False``: safety and reason only (no snippets, request or notes), for an output that shows none of them.
    """
    mapping = map_call(call)
    applicability, reason = classify(call, assessment, mapping, style)
    if not material:
        return FixInfo(available=applicability is not FixApplicability.DISPLAY_ONLY, applicability=applicability, reason=reason)
    snippet: dict[str, str] | None = None
    if call.api not in _GRAPH_APIS:
        snippet = {
            "invoke_restmethod": invoke_restmethod_snippet(mapping),
            "send_mgusermail": send_mgusermail_snippet(mapping),
        }
    return FixInfo(
        available=applicability is not FixApplicability.DISPLAY_ONLY,
        applicability=applicability,
        reason=reason,
        graph_request=mapping.request if call.api not in _GRAPH_APIS else None,
        notes=list(mapping.notes),
        snippet=snippet,
    )


# --------------------------------------------------------------------------- edits


def _split_arguments(text: str) -> list[str]:
    """Top-level comma-separated arguments of a method call's `( ... )` (quotes and brackets respected)."""
    return [text[start:end] for start, end in split_arguments(text, 0, len(text))]


def _command_argument(text: str) -> str:
    """An expression as a command argument (parenthesised unless it is already one token)."""
    return ps_expression(text)


def _statement_context(text: str, start: int) -> bool:
    """True when the call starts a statement (nothing but `{`, `;` or a keyword before it on its line)."""
    line_start = text.rfind("\n", 0, start) + 1
    before = text[line_start:start].rstrip()
    return before == "" or before.endswith(("{", ";")) or before.lower() in ("else", "try", "finally")


def _smtpclient_replacement(call: MailCall, text: str) -> str | None:
    """`$client.Send($m)` → `Send-GraphMailMessage -MailMessage $m`; the 4-string overload → named parameters."""
    start, end = call.call_span
    name_start, name_end = call.name_span
    if not (start <= name_start < name_end <= end):
        return None
    rest = text[name_end:end].strip()
    if not (rest.startswith("(") and rest.endswith(")")):
        return None
    args = _split_arguments(rest[1:-1])
    if len(args) == 1 and args[0]:
        command = f"{MODULE_COMMAND} -MailMessage {_command_argument(args[0])}"
    elif len(args) == 4 and all(args):
        # The message SmtpClient.Send(from, to, subject, body) builds itself: a $null body stays allowed, and
        # -MailMessage fails like SmtpClient.Send (terminating), which named parameters would not.
        built = ", ".join(arg.strip() for arg in args)
        command = f"{MODULE_COMMAND} -MailMessage ([System.Net.Mail.MailMessage]::new({built}))"
    else:
        return None
    return command if _statement_context(text, start) else f"({command})"


def _rename_replacement(call: MailCall, text: str) -> str | None:
    start, end = call.name_span
    if end <= start:
        return None
    written = text[start:end]
    if written[:1] in "'\"" and written[-1:] == written[:1]:
        return written[0] + MODULE_COMMAND + written[0]
    if written[:1] in "'\"":
        return None
    return MODULE_COMMAND


def _indent_of_line(text: str, offset: int) -> str:
    line_start = text.rfind("\n", 0, offset) + 1
    match = re.match(r"[ \t]*", text[line_start:offset])
    return match.group(0) if match else ""


def _inline_replacement(call: MailCall, mapping: GraphMapping, text: str, style: FixStyle, newline: str) -> str:
    indent = _indent_of_line(text, call.call_span[0])
    inner = indent + "    "
    cmdlet = call.api is Api.SEND_MAILMESSAGE
    lines = [f"# smtp2graph: {call.command} rewritten to Microsoft Graph sendMail ({style.value})"]
    lines += [f"# Note: {note}" for note in mapping.notes]
    if cmdlet:
        # An advanced script block: its $PSCmdlet.WriteError reports a failure as the cmdlet did, non-terminating
        # AND leaving $? false after the block (Write-Error inside a block does not: about_Automatic_Variables).
        lines.append("[CmdletBinding()] param()")
    action = _error_action(call, text)
    if action:
        # -ErrorAction on the original call: the same preference governs the failure reported below.
        lines.append(f"$ErrorActionPreference = {action}")
    lines += message_lines(mapping, _WRITE_ADDRESS_ERROR if cmdlet else None, "$PSCmdlet.ThrowTerminatingError($_)" if cmdlet else None)
    save = "$true" if mapping.save_to_sent_items else "$false"
    if style is FixStyle.INLINE:
        lines += [
            f"$request = @{{ message = $message; saveToSentItems = {save} }}",
            "$json = ConvertTo-Json -InputObject $request -Depth 10",
            "$uri = 'https://graph.microsoft.com/v1.0/users/' + [uri]::EscapeDataString($sender).Replace('%40', '@') + '/sendMail'",
        ]
        send = [
            "$headers = @{ Authorization = 'Bearer ' + (Get-Smtp2GraphToken) }",
            "$null = Invoke-RestMethod -Method Post -Uri $uri -Headers $headers -ContentType 'application/json' "
            "-Body ([System.Text.Encoding]::UTF8.GetBytes($json))",
        ]
    else:
        lines += [
            "# Needs an app-only Connect-MgGraph session with Mail.Send before this point.",
            f"$bodyParameter = @{{ message = $message; saveToSentItems = {save} }}",
        ]
        send = ["Send-MgUserMail -UserId $sender -BodyParameter $bodyParameter -ErrorAction Stop"]
    lines += _ASCII_LOCAL_PART.splitlines()
    lines.append("try {")
    if cmdlet:
        lines += [
            "    if (-not ($message['toRecipients'] -or $message['ccRecipients'] -or $message['bccRecipients'])) {",
            "        # What Send-MailMessage reports when every recipient was refused (SmtpClient's InvalidOperationException).",
            "        throw (New-Object System.InvalidOperationException -ArgumentList 'A recipient must be specified.')",
            "    }",
        ]
    lines.append("    Assert-GraphAsciiLocalPart -Message $message -Sender $sender")
    lines += ["    " + line for line in send]
    lines.append("} catch {")
    if call.api is Api.SMTPCLIENT:
        lines += [
            "    # SmtpClient.Send fails with a statement-terminating MethodInvocationException around an SmtpException:",
            "    # a method call that throws one does the same (typed catches match, the script goes on without try).",
            "    # One error in $Error, as SmtpClient.Send leaves: the one handled here is replaced by the one thrown.",
            "    if ($global:Error.Count -gt 0 -and [object]::ReferenceEquals($global:Error[0].Exception, $_.Exception)) "
            "{ $global:Error.RemoveAt(0) }",
            "    $failure = New-Object System.Net.Mail.SmtpException -ArgumentList "
            "('Microsoft Graph refused the message: ' + $_.Exception.Message)",
            "    [System.Runtime.ExceptionServices.ExceptionDispatchInfo]::Capture($failure).Throw()",
        ]
    else:
        lines += [
            "    # Send-MailMessage reports a failed send as a non-terminating error: so does this block",
            "    # (the caller's $ErrorActionPreference decides whether it stops the script; $? is false after it).",
            "    $PSCmdlet.WriteError($_)",
        ]
    lines.append("}")
    body = newline.join((inner + line) if line else "" for line in lines)
    # A child scope keeps the helper functions and variables out of the script's own. Inside an expression
    # (`[void]$smtp.Send($m)`, `$null = ...`) it needs parentheses: `[void]& {` would run `[void]` as a job.
    block = "& {" + newline + body + newline + indent + "}"
    return block if _statement_context(text, call.call_span[0]) else "(" + block + ")"


# SmtpClient (Send-MailMessage sends through it) delivers 7-bit (SmtpDeliveryFormat.SevenBit, the default, which the
# cmdlet never changes): an address whose local part is not ASCII makes it refuse the whole message with an
# SmtpException, nothing sent (a domain like zürich.ch is fine: punycode). Graph would send it: refuse it the same way.
_ASCII_LOCAL_PART = """\
function Assert-GraphAsciiLocalPart {
    # SmtpClient sends 7-bit: it refuses an address whose local part (before the @) is not ASCII, and sends nothing.
    param([hashtable]$Message, [string]$Sender)
    $addresses = New-Object System.Collections.ArrayList
    foreach ($field in @('toRecipients', 'ccRecipients', 'bccRecipients', 'from', 'replyTo')) {
        foreach ($recipient in @($Message[$field])) {
            if ($null -ne $recipient) { $null = $addresses.Add([string]$recipient.emailAddress.address) }
        }
    }
    $null = $addresses.Add($Sender)
    foreach ($address in $addresses) {
        if (-not $address) { continue }
        $local = $address
        $at = $address.LastIndexOf('@')
        if ($at -ge 0) { $local = $address.Substring(0, $at) }
        if ($local -match '[^\\x00-\\x7F]') {
            throw (New-Object System.Net.Mail.SmtpException -ArgumentList "The client or server is only configured for E-mail addresses with ASCII local-parts: $address.")
        }
    }
}
"""
# How the inline Send-MailMessage block reports an address the cmdlet refuses (its FormatException, non-terminating).
_WRITE_ADDRESS_ERROR = ("$PSCmdlet.WriteError((New-Object System.Management.Automation.ErrorRecord -ArgumentList {error}, "
                        "'FormatException', ([System.Management.Automation.ErrorCategory]::InvalidType), $null))")
_ACTION_PARAMETERS = ("erroraction", "ea")
_VARIABLE_PARAMETERS = ("errorvariable", "ev", "outvariable", "ov", "warningvariable", "wv",
                        "informationvariable", "iv", "pipelinevariable", "pv")


def _common_parameters(call: MailCall, text: str) -> list[tuple[str, str]]:
    """The common parameters written on a Send-MailMessage call: (lower-case name, value text)."""
    from scanner.lexer import ElementKind, lex_arguments

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
        if name in _ACTION_PARAMETERS + _VARIABLE_PARAMETERS:
            value = element.value.text if element.value is not None else (
                elements[index + 1].text if index + 1 < len(elements) else "")
            found.append((name, value))
    return found


def _error_action(call: MailCall, text: str) -> str:
    for name, value in _common_parameters(call, text):
        if name in _ACTION_PARAMETERS and value:
            return ps_expression(value) if value.startswith(("$", "'", '"', "(")) else ps_expression(f"'{value}'")
    return ""


def _edit_for(call: MailCall, mapping: GraphMapping, text: str, style: FixStyle, newline: str) -> TextEdit | None:
    if style is not FixStyle.MODULE:
        start, end = call.call_span
        if end <= start:
            return None
        return TextEdit(start, end, _inline_replacement(call, mapping, text, style, newline))
    if call.api is Api.SMTPCLIENT:
        replacement = _smtpclient_replacement(call, text)
        if replacement is None:
            return None
        return TextEdit(call.call_span[0], call.call_span[1], replacement)
    replacement = _rename_replacement(call, text)
    if replacement is None:
        return None
    return TextEdit(call.name_span[0], call.name_span[1], replacement)


def call_edit(call: MailCall, text: str, style: FixStyle = FixStyle.MODULE, newline: str = "\n") -> TextEdit | None:
    """The edit that rewrites one call in ``text`` (not parse-checked; patch_text does that), or None."""
    return _edit_for(call, map_call(call), text, style, newline)


# --------------------------------------------------------------------------- where the import goes


def _skip_comment(text: str, index: int) -> int:
    if text.startswith("<#", index):
        return skip_block_comment(text, index)
    return skip_line_comment(text, index)


def _skip_balanced(text: str, index: int) -> int:
    """Index just past the bracket that closes the one at ``index``; len(text) when unbalanced."""
    try:
        return skip_balanced(text, index)
    except LexError:
        return len(text)


def _skip_trivia(text: str, index: int) -> int:
    while index < len(text):
        if text[index] in " \t\r\n\ufeff":
            index += 1
        elif text.startswith("<#", index) or text[index] == "#":
            index = _skip_comment(text, index)
        else:
            break
    return index


_PARAM = re.compile(r"param\s*\(", re.IGNORECASE)
_USING = re.compile(r"using\s+(namespace|module|assembly)\b", re.IGNORECASE)
_NAMED_BLOCK = re.compile(r"(dynamicparam|begin|process|end|clean)[ \t\r\n]*\{", re.IGNORECASE)


def read_header(text: str, start: int = 0) -> tuple[int, bool]:
    """Offset just past the header that starts at ``start`` (comments, #requires, using, attributes,
    param()), and whether it has a param block. ``start`` is 0 for a file, or just past a script block's `{`."""
    index = _skip_trivia(text, start)
    end = _end_of_comments(text, start, index)
    has_param = False
    while index < len(text):
        if _USING.match(text, index):
            line_end = text.find("\n", index)
            index = len(text) if line_end < 0 else line_end
            end = index
        elif text[index] == "[":
            # Attributes count only when a param block follows them.
            probe = index
            while probe < len(text) and text[probe] == "[":
                probe = _skip_trivia(text, _skip_balanced(text, probe))
            if not _PARAM.match(text, probe):
                break
            index = probe
            continue
        elif _PARAM.match(text, index):
            open_paren = text.index("(", index)
            index = _skip_balanced(text, open_paren)
            end = index
            has_param = True
        else:
            break
        following = _skip_trivia(text, index)
        end = max(end, _end_of_comments(text, index, following))
        index = following
    return end, has_param


def header_end(text: str, start: int = 0) -> int:
    """Offset just past the script header: comments, #requires, using lines, attributes and param()."""
    return read_header(text, start)[0]


def named_blocks(text: str, index: int) -> list[tuple[str, int, int]]:
    """The named blocks (begin, process, end, …) that follow the header ending at ``index``.

    Each is (name, offset of its `{`, offset just past its `}`); empty when the body is plain statements.
    """
    blocks: list[tuple[str, int, int]] = []
    position = _skip_trivia(text, index)
    while True:
        match = _NAMED_BLOCK.match(text, position)
        if match is None:
            break
        open_brace = match.end() - 1
        close = _skip_balanced(text, open_brace)
        blocks.append((match.group(1).lower(), open_brace, close))
        position = _skip_trivia(text, close)
    return blocks


def _end_of_comments(text: str, start: int, stop: int) -> int:
    """End of the last comment between ``start`` and ``stop`` (``start`` when there is none)."""
    end = start
    index = start
    while index < stop:
        if text.startswith("<#", index) or text[index] == "#":
            index = _skip_comment(text, index)
            end = index
        else:
            index += 1
    return end


def import_edit(text: str, newline: str) -> TextEdit | None:
    """The one `Import-Module Smtp2Graph` line for a script without named blocks; None when it has one already."""
    if _IMPORT_PRESENT.search(text):
        return None
    end = header_end(text)
    if end == 0:
        return TextEdit(0, 0, IMPORT_LINE + newline)
    line_end = text.find("\n", end)
    if line_end < 0:
        return TextEdit(len(text), len(text), newline + IMPORT_LINE + (newline if text.endswith("\n") else ""))
    if text[end:line_end].strip():
        # Code follows the header on the same line: put the import on its own line before it.
        return TextEdit(end, end, newline + IMPORT_LINE + newline)
    return TextEdit(line_end + 1, line_end + 1, IMPORT_LINE + newline)


def _line_indent(text: str, offset: int) -> str:
    line_start = text.rfind("\n", 0, offset) + 1
    match = re.match(r"[ \t]*", text[line_start:])
    return match.group(0) if match else ""


def _insert_import_after(text: str, offset: int, limit: int, newline: str, deeper: bool) -> TextEdit:
    """The import as the first statement after ``offset`` (just past a `{` or a param block), before ``limit``.

    When the rest of the line is empty (or a comment) the import gets its own line, indented like the
    code that follows; otherwise it goes on the same line, ended by `;`.
    """
    line_end = text.find("\n", offset)
    line_end = len(text) if line_end < 0 else line_end
    rest = text[offset:line_end].strip()
    if line_end < limit and (not rest or rest.startswith("#")):
        indent = ""
        following = _skip_trivia(text, line_end)
        if following < limit and following < len(text):
            indent = _line_indent(text, following)
        if not indent:
            indent = _line_indent(text, offset) + ("    " if deeper else "")
        cut = line_end - 1 if line_end > 0 and text[line_end - 1] == "\r" else line_end
        return TextEdit(cut, cut, newline + indent + IMPORT_LINE)
    return TextEdit(offset, offset, " " + IMPORT_LINE + ";")


def _import_edits_in_body(text: str, body_start: int, body_end: int, call_offsets: list[int],
                          newline: str) -> list[TextEdit]:
    """Where the import goes in one script body (the file, or a script block's inside) so it keeps its structure.

    After param() come either statements (the import goes right after the header) or named blocks:
    then the import goes at the top of `begin` (which always runs first), else at the top of each
    named block that holds a rewritten call. Never between param() and the blocks, where PowerShell
    would read `begin {…}` / `process {…}` as commands.
    """
    end = header_end(text, body_start)
    blocks = named_blocks(text, max(body_start, end))
    if blocks:
        begin = [block for block in blocks if block[0] == "begin"]
        chosen = begin or [block for block in blocks if any(block[1] < at < block[2] for at in call_offsets)]
        if not chosen:
            chosen = [block for block in blocks if block[0] != "dynamicparam"][:1] or blocks[:1]
        return [_insert_import_after(text, open_brace + 1, close - 1, newline, deeper=True)
                for _, open_brace, close in chosen]
    if body_start == 0:
        edit = import_edit(text, newline)
        return [edit] if edit is not None else []
    if end > body_start:
        return [_insert_import_after(text, end, body_end - 1, newline, deeper=False)]
    return [_insert_import_after(text, body_start, body_end - 1, newline, deeper=True)]


# --------------------------------------------------------------------------- code that runs elsewhere


class RunsElsewhere(str, Enum):
    """Where a script block runs when it is not the script's own session."""

    JOB = "job"  # Start-Job / Start-ThreadJob / ForEach-Object -Parallel: a new session on this machine
    RUNSPACE = "runspace"  # [powershell]::Create().AddScript(...): a new runspace on this machine
    REMOTE = "remote"  # Invoke-Command -ComputerName / -Session …: another computer


@dataclass(frozen=True)
class BlockContext:
    """The innermost script block around a call that runs in another session, and how it gets there."""

    kind: RunsElsewhere
    what: str  # "Start-Job", "Invoke-Command -ComputerName", …
    open_brace: int
    close: int  # just past the `}`


_JOB_COMMAND = re.compile(r"(?i)(?<![\w-])(Start-Job|Start-ThreadJob|sajb|Register-ScheduledJob)(?![\w-])")
_PARALLEL = re.compile(r"(?i)(?<![\w-])(ForEach-Object|foreach|%)[ \t]+.*-Parallel\b")
_INVOKE_COMMAND = re.compile(r"(?i)(?<![\w-])(Invoke-Command|icm)(?![\w-])")
_REMOTE_PARAMETER = re.compile(
    r"(?i)(?<![\w])-(ComputerName|Cn|Session|VMName|VMId|VMGuid|ContainerId|HostName|SSHConnection|"
    r"ConnectionUri|Uri|RunAsAdministrator)\b")
_RUNSPACE = re.compile(r"(?i)\.(AddScript|BeginInvoke)[ \t]*\(\s*$|\[(?:System\.Management\.Automation\.)?powershell\]::Create")
_ASSIGNED_BLOCK = re.compile(r"(?i)\$(?:script:|global:|local:|private:)?(\w+)[ \t]*=[ \t]*$")


def _statement_text(code: str, open_brace: int, close: int) -> str:
    """The masked text of the statement a script block sits in: back to the start of its (continued) line,
    on to the end of the line after its `}`."""
    start = open_brace
    while True:
        line_start = code.rfind("\n", 0, start) + 1
        previous_end = line_start - 1
        if previous_end <= 0:
            start = line_start
            break
        previous = code[code.rfind("\n", 0, previous_end) + 1 : previous_end].rstrip("\r \t")
        if previous.endswith(("`", "|", "(", ",")):
            start = previous_end
            continue
        start = line_start
        break
    end = code.find("\n", close)
    end = len(code) if end < 0 else end
    return code[start:open_brace] + " " + code[close:end]


def _classify_block(code: str, open_brace: int, close: int) -> tuple[RunsElsewhere, str] | None:
    before = code[:open_brace]
    line_start = max(before.rfind("\n"), before.rfind(";"), before.rfind("{")) + 1
    head = before[line_start:]
    statement = _statement_text(code, open_brace, close)
    if _RUNSPACE.search(head) or re.search(r"(?i)\.AddScript[ \t]*\(\s*$", before[-200:]):
        return RunsElsewhere.RUNSPACE, "a runspace (AddScript)"
    return _job_or_remote(statement)


def _job_or_remote(text: str) -> tuple[RunsElsewhere, str] | None:
    """Whether ``text`` hands a script block to a job, ForEach-Object -Parallel or a remote Invoke-Command."""
    job = _JOB_COMMAND.search(text)
    if job:
        return RunsElsewhere.JOB, job.group(1)
    if _PARALLEL.search(text):
        return RunsElsewhere.JOB, "ForEach-Object -Parallel"
    if _INVOKE_COMMAND.search(text):
        remote = _REMOTE_PARAMETER.search(text)
        if remote:
            return RunsElsewhere.REMOTE, f"Invoke-Command -{remote.group(1)}"
    return None


def _variable_use(code: str, name: str, after: int) -> tuple[RunsElsewhere, str] | None:
    """How a script block held in ``$name`` is run, when a job, runspace or remote command takes it."""
    use = re.compile(r"(?i)\$(?:script:|global:|local:)?" + re.escape(name) + r"(?![\w:])")
    for match in use.finditer(code, after):
        line_start = code.rfind("\n", 0, match.start()) + 1
        line_end = code.find("\n", match.end())
        line = code[line_start : len(code) if line_end < 0 else line_end]
        if re.search(r"(?i)\.AddScript[ \t]*\(", line):
            return RunsElsewhere.RUNSPACE, "a runspace (AddScript)"
        runner = _job_or_remote(line)
        if runner:
            return runner
    return None


def enclosing_blocks(code: str, offset: int) -> list[tuple[int, int]]:
    """The `{ … }` pairs (masked code) around ``offset``, innermost first."""
    stack: list[int] = []
    for index in range(offset):
        char = code[index]
        if char == "{":
            stack.append(index)
        elif char == "}" and stack:
            stack.pop()
    out = []
    for open_brace in reversed(stack):
        close = _matching_brace(code, open_brace)
        out.append((open_brace, close))
    return out


def _matching_brace(code: str, open_brace: int) -> int:
    depth = 0
    for index in range(open_brace, len(code)):
        if code[index] == "{":
            depth += 1
        elif code[index] == "}":
            depth -= 1
            if depth == 0:
                return index + 1
    return len(code)


def runs_elsewhere(code: str, offset: int) -> BlockContext | None:
    """The innermost script block around ``offset`` that runs in another session (job, runspace, remote)."""
    for open_brace, close in enclosing_blocks(code, offset):
        found = _classify_block(code, open_brace, close)
        if found is None:
            assigned = _ASSIGNED_BLOCK.search(code[max(0, open_brace - 120) : open_brace])
            if assigned:
                found = _variable_use(code, assigned.group(1), close)
        if found is not None:
            return BlockContext(found[0], found[1], open_brace, close)
    return None


# --------------------------------------------------------------------------- what the file itself says

_ALTERNATE_VIEWS = re.compile(r"(?i)\.AlternateViews\b|\bLinkedResources?\b|\.ContentId\b|AlternateView\]?::CreateAlternateView")
_SIGNATURE = re.compile(r"(?m)^# SIG # Begin signature block\s*$")
RESIGN_HINT = ("re-sign it after review: Set-AuthenticodeSignature -FilePath <script> -Certificate "
               "(Get-ChildItem Cert:\\CurrentUser\\My -CodeSigningCert | Select-Object -First 1) "
               "-TimestampServer <your timestamp URL>")


def alternate_views_reason(call: MailCall, code: str, style: FixStyle) -> str:
    """Why an SmtpClient send of a message with alternate views / linked resources is unsafe ("" otherwise).

    A MailMessage with AlternateViews is a multipart/alternative mail (a text part and an HTML part, the
    recipient's client shows one); a Graph message holds one body. ``code`` is the file's masked text: a
    view built anywhere in the file counts, since the scanner cannot tell which message it joins.
    """
    if call.api is not Api.SMTPCLIENT or not _ALTERNATE_VIEWS.search(code):
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
    return bool(_SIGNATURE.search(text))


_CREDENTIAL_LINE = re.compile(
    r"(?i)(Get-Credential|ConvertTo-SecureString|PSCredential|NetworkCredential|Import-Clixml|"
    r"Get-StoredCredential|Get-Secret\b|\.Credentials[ \t]*=|UseDefaultCredentials)")


def credential_lines(text: str, code: str) -> list[tuple[int, str]]:
    """Lines that build or hold the SMTP credential (line, what it is), for "no longer needed" notes.

    Only a label is kept, never the line's text: a password literal must not reach a report.
    """
    from scanner.script import Script
    from scanner.secrets import find_secrets

    found: dict[int, str] = {}
    for match in _CREDENTIAL_LINE.finditer(code):
        line = code.count("\n", 0, match.start()) + 1
        found.setdefault(line, match.group(1).strip(" \t=").lstrip("."))
    for secret in find_secrets(Script(text)):
        line = text.count("\n", 0, secret.start) + 1
        found[line] = f"a {secret.kind.value} literal in {secret.name or 'the script'}"
    return sorted(found.items())


def _credential_removal(call: MailCall, text: str) -> TextEdit | None:
    """Drop a named `-Credential value` from a Send-MailMessage call: Graph authenticates with the app's token."""
    from scanner.lexer import ElementKind, lex_arguments

    start, end = call.call_span
    name_end = call.name_span[1]
    if not (start <= name_end <= end):
        return None
    try:
        arguments = lex_arguments(text, name_end)
    except LexError:
        return None
    elements = arguments.elements
    for index, element in enumerate(elements):
        if element.kind is not ElementKind.PARAMETER or element.end > end:
            continue
        name = element.text.lstrip("-\u2013\u2014\u2015").lower()
        if len(name) < 2 or not "credential".startswith(name):
            continue
        if element.value is not None:
            value_end = element.end
        elif index + 1 < len(elements) and elements[index + 1].kind is ElementKind.VALUE:
            value_end = elements[index + 1].end
        else:
            return None
        if value_end > end:
            return None
        cut = element.start
        while cut > name_end and text[cut - 1] in " \t":
            cut -= 1
        return TextEdit(cut, value_end, "")
    return None


# --------------------------------------------------------------------------- applying


def _apply(text: str, edit: TextEdit) -> str:
    return text[: edit.start] + edit.replacement + text[edit.end :]


@dataclass
class CallEdit:
    """The text edits of one call, and the scope whose top needs the import (None: the file)."""

    fix: CallFix
    edits: list[TextEdit]
    scope: BlockContext | None = None

    @property
    def start(self) -> int:
        return min(edit.start for edit in self.edits)

    @property
    def end(self) -> int:
        return max(edit.end for edit in self.edits)


def render(text: str, chosen: list[CallEdit], style: FixStyle, newline: str,
           imports: bool = True) -> tuple[str, bool]:
    """``text`` with the chosen call edits and the imports they need; (patched, an import was added)."""
    edits = [edit for item in chosen for edit in item.edits]
    import_added = False
    if imports and chosen and style is not FixStyle.INLINE_SDK:
        file_calls = [item.start for item in chosen if item.scope is None]
        if file_calls:
            inserted = _import_edits_in_body(text, 0, len(text), file_calls, newline)
            edits.extend(inserted)
            import_added = import_added or bool(inserted)
        blocks: dict[int, list[CallEdit]] = {}
        for item in chosen:
            if item.scope is not None:
                blocks.setdefault(item.scope.open_brace, []).append(item)
        for open_brace, items in blocks.items():
            scope = items[0].scope
            assert scope is not None
            if _IMPORT_PRESENT.search(text, open_brace, scope.close):
                continue
            inserted = _import_edits_in_body(text, open_brace + 1, scope.close, [i.start for i in items], newline)
            edits.extend(inserted)
            import_added = import_added or bool(inserted)
    # Right to left; at one offset the replacement goes first so an insertion lands before it.
    patched = text
    for edit in sorted(edits, key=lambda e: (e.start, e.end > e.start), reverse=True):
        patched = _apply(patched, edit)
    return patched, import_added


def _plan(text: str, calls: list[MailCall], assessments: list[Assessment | None], style: FixStyle,
          unsafe_fixes: bool, newline: str) -> tuple[list[CallFix], list[CallEdit]]:
    """Fix safety for every call and the edits the options allow (overlapping ones refused)."""
    from scanner.lexer import mask

    code = mask(text).code
    signed = is_signed(text)
    credential_notes: list[str] | None = None
    fixes: list[CallFix] = []
    wanted: list[CallEdit] = []
    for call, assessment in zip(calls, assessments, strict=True):
        mapping = map_call(call)
        applicability, reason = classify(call, assessment, mapping, style)
        fix = CallFix(call, applicability, reason, mapping)
        fixes.append(fix)
        if applicability is FixApplicability.DISPLAY_ONLY:
            continue
        context = runs_elsewhere(code, call.call_span[0]) if call.call_span[1] > call.call_span[0] else None
        extra: list[str] = []
        if context is not None:
            if context.kind is RunsElsewhere.REMOTE:
                extra.append(f"the call runs on another computer ({context.what}): the Smtp2Graph module and its "
                             "settings must be installed there; the patch imports it inside that script block")
            elif style is FixStyle.MODULE:
                fix.notes.append(f"the call runs in {context.what}, a new session: the patch imports Smtp2Graph "
                                 "inside that script block")
        views = alternate_views_reason(call, code, style)
        if views:
            extra.append(views)
        if signed:
            extra.append("the file carries an Authenticode signature block (# SIG # Begin signature block): any "
                         "change invalidates it, so under an AllSigned or RemoteSigned policy the patched script "
                         "will not run until it is re-signed; " + RESIGN_HINT)
        if extra:
            fix.reason = "; ".join([*extra, reason] if applicability is FixApplicability.UNSAFE else extra)
            fix.applicability = FixApplicability.UNSAFE
        blocker = inline_refusal(call, mapping, text) if style is not FixStyle.MODULE else ""
        if blocker:
            fix.applicability = FixApplicability.DISPLAY_ONLY
            fix.reason = blocker
            continue
        if call.api is Api.SEND_MAILMESSAGE or (call.api is Api.SMTPCLIENT and "Credential" in call.params):
            if credential_notes is None:
                credential_notes = [f"line {line} ({label})" for line, label in credential_lines(text, code)]
            if credential_notes and ("Credential" in call.params or call.api is Api.SMTPCLIENT):
                fix.notes.append("after the migration the mail call no longer needs the SMTP credential: review "
                                 "(and remove once nothing else uses them) " + ", ".join(credential_notes))
        if fix.applicability is FixApplicability.UNSAFE and not unsafe_fixes:
            fix.refused = "unsafe: pass --unsafe-fixes to apply"
            continue
        edit = _edit_for(call, mapping, text, style, newline)
        if edit is None:
            fix.refused = "the call's text has a shape the fixer does not rewrite"
            continue
        edits = [edit]
        if style is FixStyle.MODULE and call.api is Api.SEND_MAILMESSAGE:
            removal = _credential_removal(call, text)
            if removal is not None and not (removal.start < edit.end and edit.start < removal.end):
                edits.append(removal)
                fix.notes.append("-Credential is dropped from the call: Graph sends with the app's token")
        scope = context if context is not None and style is not FixStyle.INLINE_SDK else None
        wanted.append(CallEdit(fix, edits, scope))
    # Overlapping edits (a call inside another) keep the outer one.
    kept: list[CallEdit] = []
    for item in sorted(wanted, key=lambda e: (e.start, -e.end)):
        if kept and item.start < kept[-1].end:
            item.fix.refused = "overlaps another rewritten call"
            continue
        kept.append(item)
    return fixes, kept


def patch_text(
    text: str,
    calls: list[MailCall],
    assessments: list[Assessment | None] | None = None,
    style: FixStyle = FixStyle.MODULE,
    unsafe_fixes: bool = False,
    newline: str = "\n",
    judge: PatchJudge | None = None,
    defer_judge: bool = False,
) -> PatchedText:
    """Apply the fixes the options allow to ``text``; the result must parse no worse and keep its structure.

    The judge is tree-sitter unless given. With ``defer_judge`` nothing is checked here: the caller
    judges a whole run at once (:func:`judge_patches`), as the PowerShell judge does.
    """
    if assessments is None:
        from scanner.assess import assess

        assessments = [assess(call) if call.api not in _GRAPH_APIS else None for call in calls]
    fixes, wanted = _plan(text, calls, assessments, style, unsafe_fixes, newline)
    result = PatchedText(text, text, fixes, style=style, newline=newline, candidates=wanted)
    if defer_judge:
        result.patched, result.import_added = render(text, wanted, style, newline)
        for item in wanted:
            item.fix.applied = True
        return result
    from scanner.migrate.judge import TreeSitterJudge

    chosen_judge = judge or TreeSitterJudge("the default judge here")
    if chosen_judge.name.value == "tree-sitter":
        # One edit at a time: an edit that adds ERROR nodes is refused, the others still go in.
        baseline = problem_count(text)
        accepted: list[CallEdit] = []
        for item in reversed(wanted):
            candidate, _ = render(text, [*accepted, item], style, newline, imports=False)
            if problem_count(candidate) > baseline:
                item.fix.refused = "the rewritten call would not parse cleanly (tree-sitter reports new ERROR/MISSING nodes)"
                continue
            accepted.append(item)
        wanted = accepted
    apply_judged(result, wanted, chosen_judge)
    return result


def apply_judged(result: PatchedText, chosen: list[CallEdit], judge: PatchJudge) -> None:
    """Render ``chosen`` into ``result`` when the judge accepts it, else refuse every one of them."""
    patched, import_added = render(result.original, chosen, result.style, result.newline)
    verdict = judge.judge([(result.original, patched)])[0] if chosen else None
    set_outcome(result, chosen, patched, import_added, verdict.reason if verdict and not verdict.ok else "")


def set_outcome(result: PatchedText, chosen: list[CallEdit], patched: str, import_added: bool, refusal: str) -> None:
    """Record which call edits went in (all of ``chosen``, or none with ``refusal``)."""
    for item in result.candidates:
        item.fix.applied = False
    if refusal or not chosen:
        for item in chosen:
            item.fix.refused = refusal or item.fix.refused
        result.patched, result.import_added = result.original, False
        return
    for item in chosen:
        item.fix.applied = True
        item.fix.refused = ""
    result.patched, result.import_added = patched, import_added


def unified_diff(rel: str, before: str, after: str) -> str:
    """A unified diff of two decoded texts (line endings shown as LF)."""
    lines = difflib.unified_diff(
        before.replace("\r\n", "\n").splitlines(keepends=True),
        after.replace("\r\n", "\n").splitlines(keepends=True),
        fromfile=f"a/{rel}",
        tofile=f"b/{rel}",
    )
    out = "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)
    return out


def _range(start: int, stop: int) -> str:
    length = stop - start
    if length == 1:
        return str(start + 1)
    return f"{start if length == 0 else start + 1},{length}"


def _diff_line(prefix: str, line: str) -> str:
    return prefix + line if line.endswith("\n") else prefix + line + "\n\\ No newline at end of file\n"


def safe_unified_diff(rel: str, before: str, after: str, secrets: set[str], context: int = 3) -> str:
    """A unified diff whose context lines never hold a secret (the context shrinks around such lines).

    A secret on a changed line is masked with ``***``: that hunk is then a review aid that cannot
    apply (FilePatch.diff_applies tells the caller to say so).
    """
    return _safe_diff(rel, before, after, secrets, context)[0]


def _safe_diff(rel: str, before: str, after: str, secrets: set[str], context: int = 3) -> tuple[str, bool]:
    """The diff, and whether `git apply` accepts it: no secret on a changed line, and every hunk keeps at
    least one trailing context line unless it reaches the end of the file (git anchors such a hunk there)."""
    from scanner.redact import Redactor

    redactor = Redactor(secrets)
    old = before.replace("\r\n", "\n").splitlines(keepends=True)
    new = after.replace("\r\n", "\n").splitlines(keepends=True)
    secret_lines = {index for index, line in enumerate(old) if redactor.leaks(line)}
    changes = [op for op in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes() if op[0] != "equal"]
    if not changes:
        return "", True
    applies = True
    hunks: list[list[tuple[str, int, int, int, int]]] = [[changes[0]]]
    for op in changes[1:]:
        gap = range(hunks[-1][-1][2], op[1])
        if len(gap) <= 2 * context and not any(index in secret_lines for index in gap):
            hunks[-1].append(op)
        else:
            hunks.append([op])
    out = [f"--- a/{rel}\n", f"+++ b/{rel}\n"]
    for hunk in hunks:
        first, last = hunk[0], hunk[-1]
        lead = 0
        while lead < context and first[1] - lead - 1 >= 0 and first[1] - lead - 1 not in secret_lines:
            lead += 1
        trail = 0
        while trail < context and last[2] + trail < len(old) and last[2] + trail not in secret_lines:
            trail += 1
        if trail == 0 and last[2] < len(old):
            applies = False  # a secret line right after the change: no context can stand in for it
        old_start, old_stop = first[1] - lead, last[2] + trail
        new_start, new_stop = first[3] - lead, last[4] + trail
        body: list[str] = [_diff_line(" ", line) for line in old[old_start : first[1]]]
        for index, step in enumerate(hunk):
            _, i1, i2, j1, j2 = step
            if any(line_no in secret_lines for line_no in range(i1, i2)):
                applies = False  # the removed line must match the file, and it is shown masked
            body.extend(_diff_line("-", line) for line in old[i1:i2])
            body.extend(_diff_line("+", line) for line in new[j1:j2])
            following = hunk[index + 1][1] if index + 1 < len(hunk) else old_stop
            body.extend(_diff_line(" ", line) for line in old[i2:following])
        out.append(f"@@ -{_range(old_start, old_stop)} +{_range(new_start, new_stop)} @@\n")
        out.extend(body)
    return redactor.redact("".join(out)), applies


# --------------------------------------------------------------------------- files


_CODECS = {"utf-8": "utf-8", "utf-8-sig": "utf-8", "utf-16-le": "utf-16-le", "utf-16-be": "utf-16-be", "cp1252": "cp1252"}


def encode_text(text: str, encoding: str, bom: bytes) -> bytes:
    """Encode decoded text back the way it was read (BOM included)."""
    codec = _CODECS.get(encoding, "utf-8")
    if codec == "cp1252":
        try:
            return bom + text.encode("cp1252")
        except UnicodeEncodeError:
            # The reader fell back to latin-1 for bytes cp1252 leaves undefined.
            return bom + text.encode("latin-1")
    return bom + text.encode(codec, "surrogatepass")


@dataclass
class FilePatch:
    """One file: its bytes before and after, and the fix decided for each call in it."""

    rel: str
    original: bytes
    patched: bytes
    text_before: str
    text_after: str
    fixes: list[CallFix] = field(default_factory=list)
    error: str = ""  # why the file could not be patched at all
    result: PatchedText | None = None
    encoding: str = "utf-8"
    bom: bytes = b""

    @property
    def changed(self) -> bool:
        return self.patched != self.original

    def secret_texts(self, others: set[str] | None = None) -> set[str]:
        """The secret values of the original text, plus ``others`` (a run's registry), masked in every preview."""
        from scanner.engine import file_secret_values
        from scanner.script import Script

        return file_secret_values(Script(self.text_before, self.rel)) | set(others or ())

    def diff(self, others: set[str] | None = None) -> str:
        """Unified diff of the change (empty when nothing changes) that `git apply` accepts, secrets kept out.

        The diff is shown on a terminal or saved as a review artefact: a password must not travel
        with it. Context lines never hold a secret (the context shrinks around them); a secret on a
        changed line is masked, and then that hunk cannot apply (:meth:`diff_applies` says so).
        """
        if not self.changed:
            return ""
        return safe_unified_diff(self.rel, self.text_before, self.text_after, self.secret_texts(others))

    def diff_applies(self, others: set[str] | None = None) -> bool:
        """False when a secret sits on a changed line or right after one, so the preview cannot `git apply`."""
        if not self.changed:
            return True
        return _safe_diff(self.rel, self.text_before, self.text_after, self.secret_texts(others))[1]

    def finish(self) -> None:
        """Encode the judged text back the way the file was read (or say why it cannot be)."""
        result = self.result
        if result is None:
            return
        if not result.changed:
            self.patched, self.text_after = self.original, self.text_before
            return
        try:
            self.patched = encode_text(result.patched, self.encoding, self.bom)
        except UnicodeEncodeError:
            for fix in self.fixes:
                if fix.applied:
                    fix.applied = False
                    fix.refused = f"the rewritten text cannot be written in {self.encoding}"
            self.patched, self.text_after = self.original, self.text_before
            self.error = f"cannot encode the patch in {self.encoding}"
            return
        self.text_after = result.patched


def patch_source(
    rel: str,
    raw: bytes,
    text: str,
    encoding: str,
    bom: bytes,
    newline: str,
    calls: list[MailCall],
    style: FixStyle = FixStyle.MODULE,
    unsafe_fixes: bool = False,
    judge: PatchJudge | None = None,
    defer_judge: bool = False,
) -> FilePatch:
    """Patch one decoded file; the result's bytes differ from ``raw`` only inside the edits.

    With ``defer_judge`` the file is patched unjudged; :func:`judge_patches` must judge it.
    """
    result = patch_text(text, calls, style=style, unsafe_fixes=unsafe_fixes, newline=newline,
                        judge=judge, defer_judge=defer_judge)
    patch = FilePatch(rel, raw, raw, text, text, result.fixes, result=result, encoding=encoding, bom=bom)
    if not result.changed:
        return patch
    if encode_text(text, encoding, bom) != raw:
        for fix in result.fixes:
            if fix.applied:
                fix.applied = False
                fix.refused = f"the file does not round-trip through {encoding} (invalid bytes); fix it by hand"
        result.patched, result.candidates = text, []
        patch.error = f"does not round-trip through {encoding}: not patched"
        return patch
    patch.finish()
    return patch


def judge_patches(patches: list[FilePatch], judge: PatchJudge) -> None:
    """Judge every deferred patch of a run in (at most) three batches, keeping each call edit the judge accepts.

    Batch 1 judges each file with all its edits. For a file the judge refuses, batch 2 tries each
    call edit alone (with the import it needs), and batch 3 judges the edits that passed, together.
    """
    pending = [p for p in patches if p.result is not None and p.result.changed and p.result.candidates]
    if not pending:
        return
    first = judge.judge([(p.text_before, p.result.patched) for p in pending if p.result is not None])
    failing: list[tuple[FilePatch, str]] = []
    for patch, verdict in zip(pending, first):
        if verdict.ok:
            patch.finish()
        else:
            failing.append((patch, verdict.reason))
    if not failing:
        return
    singles: list[tuple[FilePatch, CallEdit, str]] = []
    for patch, _ in failing:
        result = patch.result
        assert result is not None
        for item in result.candidates:
            singles.append((patch, item, render(result.original, [item], result.style, result.newline)[0]))
    second = judge.judge([(patch.text_before, text) for patch, _, text in singles])
    passed: dict[int, list[CallEdit]] = {}
    for (patch, item, _), verdict in zip(singles, second):
        if verdict.ok:
            passed.setdefault(id(patch), []).append(item)
        else:
            item.fix.refused = verdict.reason
    combined: list[tuple[FilePatch, list[CallEdit], str, bool, str]] = []
    for patch, reason in failing:
        result = patch.result
        assert result is not None
        kept = passed.get(id(patch), [])
        for item in result.candidates:
            if item not in kept:
                item.fix.applied = False
                item.fix.refused = item.fix.refused or reason
        if kept:
            text, added = render(result.original, kept, result.style, result.newline)
            combined.append((patch, kept, text, added, reason))
        else:
            set_outcome(result, [], result.original, False, "")
            patch.finish()
    third = judge.judge([(patch.text_before, text) for patch, _, text, _, _ in combined]) if combined else []
    for (patch, kept, text, added, reason), verdict in zip(combined, third):
        result = patch.result
        assert result is not None
        set_outcome(result, kept, text, added, "" if verdict.ok else verdict.reason)
        patch.finish()
