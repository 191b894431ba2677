"""The text edit that rewrites one call: a rename to Send-GraphMailMessage, SmtpClient.Send to
`Send-GraphMailMessage -MailMessage`, or (inline styles) the expanded Graph request."""

from __future__ import annotations

import re
from dataclasses import dataclass

from scanner.lexer import ElementKind, LexError, lex_arguments, split_arguments
from scanner.migrate import ews_fix
from scanner.migrate.mapping import GraphMapping, map_call, ps_expression, ps_quote
from scanner.migrate.snippets import SENDER_VARIABLE, message_lines
from scanner.model import Api, MailCall
from scanner.migrate.safety import FixStyle, MODULE_COMMAND, ACTION_PARAMETERS, common_parameters


@dataclass
class TextEdit:
    start: int
    end: int
    replacement: str


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
    if written[:1] in "'\"$":
        return None  # `& $cmd`: the variable may name another command on another path; rewritten by hand
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
    lines += message_lines(mapping, _WRITE_ADDRESS_ERROR if cmdlet else None,
                           "$PSCmdlet.ThrowTerminatingError($_)" if cmdlet else None, sender_variable=SENDER_VARIABLE)
    save = "$true" if mapping.save_to_sent_items else "$false"
    mailbox = SENDER_VARIABLE
    if style is FixStyle.INLINE:
        lines += [
            f"$request = @{{ message = $message; saveToSentItems = {save} }}",
            "$json = ConvertTo-Json -InputObject $request -Depth 10",
            f"$uri = 'https://graph.microsoft.com/v1.0/users/' + [uri]::EscapeDataString({mailbox}).Replace('%40', '@') + '/sendMail'",
            "$graphToken = $null",
        ]
        send = [
            "$graphToken = Get-Smtp2GraphToken",
            "$headers = @{ Authorization = 'Bearer ' + $graphToken }",
            "$null = Invoke-RestMethod -Method Post -Uri $uri -Headers $headers -ContentType 'application/json' "
            "-Body ([System.Text.Encoding]::UTF8.GetBytes($json))",
        ]
    else:
        lines += [
            "# Needs an app-only Connect-MgGraph session with Mail.Send before this point.",
            f"$bodyParameter = @{{ message = $message; saveToSentItems = {save} }}",
            "$graphToken = $null",
        ]
        send = [f"Send-MgUserMail -UserId {mailbox} -BodyParameter $bodyParameter -ErrorAction Stop"]
    lines += _ASCII_LOCAL_PART.splitlines()
    lines += _SEND_FAILURE.splitlines()
    lines += [
        "$errorMark = $null",
        "if ($global:Error.Count -gt 0) { $errorMark = $global:Error[0] }",
        "try {",
    ]
    if cmdlet:
        lines += [
            "    if (-not ($message['toRecipients'] -or $message['ccRecipients'] -or $message['bccRecipients'])) {",
            "        # What Send-MailMessage reports when every recipient was refused (SmtpClient's InvalidOperationException).",
            "        throw (New-Object System.InvalidOperationException -ArgumentList 'A recipient must be specified.')",
            "    }",
        ]
    lines.append(f"    Assert-GraphAsciiLocalPart -Message $message -Sender {mailbox}")
    lines += ["    " + line for line in send]
    lines += [
        "} catch {",
        "    # As Send-GraphMailMessage reports it: an SmtpException with Graph's status and error code, masked.",
        f"    $failure = ConvertTo-GraphSendFailure -ErrorRecord $_ -Mailbox {mailbox} -Token $graphToken",
        "    # Handled here, reported below: none of the errors raised on the way (the raw one holds Graph's answer,",
        "    # which may repeat the token) stays in $Error.",
        "    while ($global:Error.Count -gt 0 -and -not [object]::ReferenceEquals($global:Error[0], $errorMark)) "
        "{ $global:Error.RemoveAt(0) }",
    ]
    if call.api is Api.SMTPCLIENT:
        lines += [
            "    # SmtpClient.Send fails with a statement-terminating MethodInvocationException around an SmtpException:",
            "    # a method call that throws one does the same (typed catches match, the script goes on without try).",
            "    [System.Runtime.ExceptionServices.ExceptionDispatchInfo]::Capture($failure).Throw()",
        ]
    else:
        lines += [
            "    # Send-MailMessage reports a failed send as a non-terminating error: so does this block",
            "    # (the caller's $ErrorActionPreference decides whether it stops the script; $? is false after it).",
            "    $PSCmdlet.WriteError((New-Object System.Management.Automation.ErrorRecord -ArgumentList $failure, "
            f"'SmtpException', ([System.Management.Automation.ErrorCategory]::InvalidOperation), {mailbox}))",
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


# A failed inline send as Send-GraphMailMessage (New-Smtp2GraphSmtpException, Get-Smtp2GraphHttpError) reports it: the
# SmtpException an SMTP refusal was, with the same StatusCode for the same Graph status, so typed catches and scripts
# that read StatusCode keep working; Graph's status, error code and message kept, the token and anything credential-like
# masked; a body that is not a JSON error is never shown. What the block itself refuses (no recipient, a non-ASCII
# local part) is kept as it is.
_SEND_FAILURE = """\
function ConvertTo-GraphSendFailure {
    param([System.Management.Automation.ErrorRecord]$ErrorRecord, [string]$Mailbox, [string]$Token)
    $exception = $ErrorRecord.Exception
    while ($exception -is [System.Management.Automation.MethodInvocationException] -and $null -ne $exception.InnerException) { $exception = $exception.InnerException }
    if ($exception -is [System.Net.Mail.SmtpException] -or $exception.GetType() -eq [System.InvalidOperationException]) { return $exception }
    $status = 0
    $response = $null
    if ($exception.PSObject.Properties['Response']) { $response = $exception.Response }
    if ($null -ne $response) { try { $status = [int]$response.StatusCode } catch { $status = 0 } }
    $body = ''
    if ($ErrorRecord.ErrorDetails -and $ErrorRecord.ErrorDetails.Message) { $body = $ErrorRecord.ErrorDetails.Message }
    elseif ($response -is [System.Net.HttpWebResponse]) {
        # Windows PowerShell 5.1 leaves ErrorDetails empty when the response has no Content-Length.
        try {
            $stream = $response.GetResponseStream()
            if ($stream.CanSeek) { $stream.Position = 0 }
            $body = (New-Object System.IO.StreamReader -ArgumentList $stream).ReadToEnd()
        }
        catch { $body = '' }
    }
    $code = ''
    $text = [string]$exception.Message
    if ($body) {
        $parsed = $null
        try { $parsed = ConvertFrom-Json -InputObject $body -ErrorAction Stop } catch { $parsed = $null }
        if ($null -ne $parsed -and $null -ne $parsed.PSObject.Properties['error'] -and $null -ne $parsed.error.PSObject.Properties['code']) {
            $code = [string]$parsed.error.code
            $text = [string]$parsed.error.message
        }
        else { $text += ' (the response body is not shown: it may repeat the request, credentials included)' }
    }
    if ($Token -and $Token.Length -ge 8) { $code = $code.Replace($Token, '***'); $text = $text.Replace($Token, '***') }
    $text = $text -replace '(?i)\\b(Bearer|Basic)(?:\\s|%20|\\+)+[A-Za-z0-9._~+/%-]{8,}=*', '$1 ***'
    $text = $text -replace 'eyJ[A-Za-z0-9_-]{6,}\\.[A-Za-z0-9_-]{6,}\\.[A-Za-z0-9_-]*', '***'
    if ($status -eq 0) {
        return New-Object System.Net.Mail.SmtpException -ArgumentList ([System.Net.Mail.SmtpStatusCode]::GeneralFailure), ('Failure sending mail through Microsoft Graph: ' + $text)
    }
    $smtpStatus = [System.Net.Mail.SmtpStatusCode]::TransactionFailed
    if ($status -eq 404 -or $status -eq 403 -or $code -eq 'MailboxNotEnabledForRESTAPI') { $smtpStatus = [System.Net.Mail.SmtpStatusCode]::MailboxUnavailable }
    elseif ($status -eq 401) { $smtpStatus = [System.Net.Mail.SmtpStatusCode]::ClientNotPermitted }
    elseif (@(429, 503, 504) -contains $status) { $smtpStatus = [System.Net.Mail.SmtpStatusCode]::ServiceNotAvailable }
    elseif ($status -eq 413 -or $code -eq 'ErrorMessageSizeExceeded') { $smtpStatus = [System.Net.Mail.SmtpStatusCode]::ExceededStorageAllocation }
    New-Object System.Net.Mail.SmtpException -ArgumentList $smtpStatus, ("Microsoft Graph refused the message for '$Mailbox' (Graph $status $code" + ': ' + $text + ')')
}
"""


# How the inline Send-MailMessage block reports an address the cmdlet refuses (its FormatException, non-terminating).
_WRITE_ADDRESS_ERROR = ("$PSCmdlet.WriteError((New-Object System.Management.Automation.ErrorRecord -ArgumentList {error}, "
                        "'FormatException', ([System.Management.Automation.ErrorCategory]::InvalidType), $null))")


def _error_action(call: MailCall, text: str) -> str:
    for name, value in common_parameters(call, text):
        if name in ACTION_PARAMETERS and value:
            return ps_expression(value) if value.startswith(("$", "'", '"', "(")) else ps_expression(f"'{value}'")
    return ""


def edit_for(call: MailCall, mapping: GraphMapping, text: str, style: FixStyle, newline: str) -> TextEdit | None:
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
    if call.api is Api.EWS:
        ews = ews_fix.edit_for(call, text)
        return None if ews is None else TextEdit(ews.start, ews.end, ews.replacement)
    replacement = _rename_replacement(call, text)
    if replacement is None:
        return None
    return TextEdit(call.name_span[0], call.name_span[1], replacement)


def call_edit(call: MailCall, text: str, style: FixStyle = FixStyle.MODULE, newline: str = "\n") -> TextEdit | None:
    """The edit that rewrites one call in ``text`` (not parse-checked; patch_text does that), or None."""
    return edit_for(call, map_call(call), text, style, newline)


def credential_removal(call: MailCall, text: str) -> TextEdit | None:
    """Drop a named `-Credential value` from a Send-MailMessage call: Graph authenticates with the app's token."""

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
        return _removal(text, element.start, value_end, name_end)
    return None


_CONTINUATION = re.compile(r"[ \t]*`\r?\n")


def _removal(text: str, start: int, end: int, floor: int) -> TextEdit:
    """Remove the argument at ``start:end`` so that no line is left holding only spaces or a backtick.

    On a line of its own and continued (`` ` `` at its end), the whole line goes. On a line of its own and last
    (the command ends with it), the line goes with the continuation that led to it. Among other arguments, the
    spaces before it go (or, at the start of a line, the spaces after it, so the indentation stays).
    """
    line_start = text.rfind("\n", 0, start) + 1
    alone_before = line_start > floor and not text[line_start:start].strip()
    continued = _CONTINUATION.match(text, end)
    rest_end = text.find("\n", end)
    rest_end = len(text) if rest_end < 0 else rest_end
    alone_after = continued is not None or not text[end:rest_end].strip(" \t\r")
    if alone_before and alone_after:
        if continued is not None:
            return TextEdit(line_start, continued.end(), "")
        # The last line of the command: drop it and the backtick that continued the line before onto it.
        previous = text[:line_start].rstrip("\r\n")
        if previous.endswith("`"):
            return TextEdit(len(previous[:-1].rstrip(" \t")), _line_end(text, end), "")
    if alone_before:
        after = end
        while after < len(text) and text[after] in " \t":
            after += 1
        return TextEdit(start, after, "")
    cut = start
    while cut > floor and text[cut - 1] in " \t":
        cut -= 1
    return TextEdit(cut, end, "")


def _line_end(text: str, offset: int) -> int:
    """``offset`` moved past the spaces after it (the line's CR LF or LF kept)."""
    while offset < len(text) and text[offset] in " \t":
        offset += 1
    return offset


def from_replacement(call: MailCall, text: str, mailbox: str) -> TextEdit | None:
    """`-From $cred.UserName` on a Send-MailMessage call as `-From '<mailbox>'` (None when From is not written there)."""
    start, end = call.call_span
    name_end = call.name_span[1]
    if call.api is not Api.SEND_MAILMESSAGE or not (start <= name_end <= end):
        return None
    try:
        elements = lex_arguments(text, name_end).elements
    except LexError:
        return None
    for index, element in enumerate(elements):
        if element.kind is not ElementKind.PARAMETER or element.end > end:
            continue
        name = element.text.lstrip("-\u2013\u2014\u2015").lower()
        if len(name) < 2 or not "from".startswith(name):
            continue
        value = element.value
        if value is None and index + 1 < len(elements) and elements[index + 1].kind is ElementKind.VALUE:
            value = elements[index + 1]
        if value is None or value.end > end:
            return None
        return TextEdit(value.start, value.end, ps_quote(mailbox))
    return None
