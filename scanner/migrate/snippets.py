"""Standalone Graph equivalents of one mail call: Invoke-RestMethod and Send-MgUserMail flavours.

Both snippets build the same ``$message`` hashtable from a GraphMapping; they differ only in
how the request is sent. Every snippet must parse cleanly with tree-sitter-powershell and run
on Windows PowerShell 5.1 and PowerShell 7.
"""

from __future__ import annotations

import dataclasses
import re

from scanner.migrate.mapping import (
    GraphMapping,
    PsValue,
    RecipientList,
    ps_expression,
    ps_quote,
)

INDENT = "    "
# The variable that holds the mailbox Graph sends as. Not `$sender`: that is an automatic variable in event actions
# (PSScriptAnalyzer's PSAvoidAssignmentToAutomaticVariable flags assigning it).
SENDER_VARIABLE = "$graphMailbox"
# Windows PowerShell 5.1 on .NET Framework may offer only TLS 1.0/1.1, which Graph and Entra ID refuse: a snippet offers
# TLS 1.2 itself, whoever provides the token (importing the Smtp2Graph module would do it, but a snippet cannot count on it).
TLS12_LINES = (
    "# Windows PowerShell 5.1 may offer only TLS 1.0/1.1; Microsoft Graph accepts TLS 1.2 and later.",
    "if ($PSVersionTable.PSEdition -ne 'Core') {",
    "    [Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12",
    "}",
)

_RECIPIENT_HELPER = """\
function ConvertTo-GraphRecipient {
    # Send-MailMessage reads each string as one address (new MailAddress): 'Name <a@b>' and '"Doe, John" <a@b>'
    # are one recipient each, 'a@b,c@d' is none (a FormatException: added to $Errors and skipped, as the cmdlet
    # reports it and still sends to the others; without $Errors it is thrown). -List reads each string as
    # MailAddressCollection.Add does (SmtpClient's MailMessage(from, to)): a list split on the commas outside quotes.
    param([object[]]$Address, [System.Collections.IList]$Errors, [switch]$List)
    foreach ($item in $Address) {
        if ($null -eq $item -or -not ([string]$item).Trim()) { continue }
        if ($List) {
            $parsedList = New-Object System.Net.Mail.MailAddressCollection
            $parsedList.Add([string]$item)
        }
        else {
            try {
                $parsedList = @(New-Object System.Net.Mail.MailAddress -ArgumentList ([string]$item))
            }
            catch {
                # Handled here, reported below as the cmdlet reports it: not left in $Error as one more error.
                if ($global:Error.Count -gt 0 -and [object]::ReferenceEquals($global:Error[0].Exception, $_.Exception)) { $global:Error.RemoveAt(0) }
                $reason = $_.Exception
                while ($reason -is [System.Management.Automation.MethodInvocationException] -and $null -ne $reason.InnerException) { $reason = $reason.InnerException }
                if ($null -eq $Errors) { throw $reason }
                $null = $Errors.Add($reason)
                continue
            }
        }
        foreach ($parsed in $parsedList) {
            $emailAddress = @{ address = $parsed.Address }
            if ($parsed.DisplayName) { $emailAddress['name'] = $parsed.DisplayName }
            @{ emailAddress = $emailAddress }
        }
    }
}
"""

_ATTACHMENT_HELPER = """\
function Resolve-GraphAttachmentPath {
    # As Send-MailMessage resolves -Attachments (PathUtils.ResolveFilePath, the same in Windows PowerShell 5.1 and 7):
    # the path is a wildcard pattern that must match exactly one file ('data[1].txt' is the pattern data1.txt, and it
    # stops the command even when a file has that literal name: escape it as 'data`[1`].txt'); a plain path that does
    # not exist is kept as written, so that reading it fails as the cmdlet's does.
    param([string]$Path)
    $provider = $null
    $resolved = $null
    try {
        $resolved = @($ExecutionContext.SessionState.Path.GetResolvedProviderPathFromPSPath($Path, [ref]$provider))
    }
    catch {
        $inner = $_.Exception
        while ($inner -is [System.Management.Automation.MethodInvocationException] -and $null -ne $inner.InnerException) { $inner = $inner.InnerException }
        if (-not ($inner -is [System.Management.Automation.ItemNotFoundException])) { throw }
        # Handled: not left in $Error as one more error.
        if ($global:Error.Count -gt 0 -and [object]::ReferenceEquals($global:Error[0].Exception, $_.Exception)) { $global:Error.RemoveAt(0) }
    }
    if ($null -eq $resolved) { return $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Path) }
    if ($provider.Name -ne 'FileSystem') { throw "Cannot open file because the current provider ($($provider.Name)) cannot open a file." }
    if ($resolved.Count -gt 1) { throw 'Cannot perform operation because the path resolved to more than one file. This command cannot operate on multiple files.' }
    if ($resolved.Count -eq 0) { throw "Cannot perform operation because the wildcard path $Path did not resolve to a file." }
    $resolved[0]
}
function ConvertTo-GraphAttachment {
    # Inline attachments only: keep each under 3 MB (the request is capped at 4 MB after base64);
    # larger files need a draft and an upload session (Send-GraphMailMessage does that).
    param([string[]]$Path)
    foreach ($item in $Path) {
        $full = Resolve-GraphAttachmentPath -Path $item
        $bytes = [System.IO.File]::ReadAllBytes($full)
        if ($bytes.Length -gt (3MB)) {
            throw "$full is over 3 MB: sendMail takes 4 MB per request; use Send-GraphMailMessage (upload session, Mail.ReadWrite)."
        }
        @{
            '@odata.type' = '#microsoft.graph.fileAttachment'
            name          = [System.IO.Path]::GetFileName($full)
            contentType   = 'application/octet-stream'
            contentBytes  = [Convert]::ToBase64String($bytes)
        }
    }
}
"""

_MAIL_MESSAGE_BLOCK = """\
# The message is a System.Net.Mail.MailMessage built at run time: convert what Graph can carry.
$mailMessage = {expr}
{sender} = $mailMessage.From.Address
if ($mailMessage.Sender) {{ {sender} = $mailMessage.Sender.Address }}
$contentType = 'Text'
if ($mailMessage.IsBodyHtml) {{ $contentType = 'HTML' }}
$message = @{{
    subject = $mailMessage.Subject
    body    = @{{ contentType = $contentType; content = [string]$mailMessage.Body }}
}}
$importance = ([string]$mailMessage.Priority).ToLower()
if ($importance) {{ $message['importance'] = $importance }}
$message['from'] = @{{ emailAddress = @{{ address = $mailMessage.From.Address; name = $mailMessage.From.DisplayName }} }}
$fields = @{{ toRecipients = 'To'; ccRecipients = 'CC'; bccRecipients = 'Bcc'; replyTo = 'ReplyToList' }}
foreach ($field in $fields.Keys) {{
    $list = @(foreach ($address in $mailMessage.($fields[$field])) {{
        @{{ emailAddress = @{{ address = $address.Address; name = $address.DisplayName }} }}
    }})
    if ($list.Count -gt 0) {{ $message[$field] = $list }}
}}
# The obsolete single ReplyTo property is not in ReplyToList: SmtpClient still sends it.
if (-not $message['replyTo'] -and $mailMessage.ReplyTo) {{
    $message['replyTo'] = @(@{{ emailAddress = @{{ address = $mailMessage.ReplyTo.Address; name = $mailMessage.ReplyTo.DisplayName }} }})
}}
if ([string]$mailMessage.DeliveryNotificationOptions -match 'OnSuccess') {{ $message['isDeliveryReceiptRequested'] = $true }}
$attachmentList = @(foreach ($attachment in $mailMessage.Attachments) {{
    $buffer = New-Object System.IO.MemoryStream
    $attachment.ContentStream.CopyTo($buffer)
    @{{
        '@odata.type' = '#microsoft.graph.fileAttachment'
        name          = $attachment.Name
        contentType   = $attachment.ContentType.MediaType
        contentBytes  = [Convert]::ToBase64String($buffer.ToArray())
    }}
}})
if ($attachmentList.Count -gt 0) {{ $message['attachments'] = $attachmentList }}
$headerList = @(foreach ($name in $mailMessage.Headers.AllKeys) {{
    if ($name -like 'x-*') {{ @{{ name = $name; value = $mailMessage.Headers[$name] }} }}
}})
if ($headerList.Count -gt 0) {{ $message['internetMessageHeaders'] = @($headerList | Select-Object -First 5) }}
"""


ADDRESS_ERRORS = "$addressErrors"  # the list the recipient helper fills when the caller reports address errors


def _recipient_expr(recipients: RecipientList, indent: str, collect: bool = False) -> list[str]:
    """Lines of a PowerShell array of Graph recipient objects."""
    if recipients.expression is not None:
        extra = "" if recipients.one_each else " -List"
        if collect and recipients.one_each:
            extra += f" -Errors {ADDRESS_ERRORS}"
        return [f"@(ConvertTo-GraphRecipient -Address @({recipients.expression}){extra})"]
    lines = ["@("]
    for recipient in recipients.static:
        entry = f"address = {ps_quote(recipient.address)}"
        if recipient.name:
            entry += f"; name = {ps_quote(recipient.name)}"
        lines.append(f"{indent}{INDENT}@{{ emailAddress = @{{ {entry} }} }}")
    lines.append(f"{indent})")
    return lines


def _assign(key: str, value_lines: list[str], indent: str) -> list[str]:
    first, *rest = value_lines
    return [f"{indent}{key} = {first}", *rest]


def _uses_recipient_helper(mapping: GraphMapping) -> bool:
    lists = list(mapping.recipients.values())
    if mapping.from_recipient is not None:
        lists.append(mapping.from_recipient)
    return any(item.expression is not None for item in lists)


def _sender_lines(mapping: GraphMapping, variable: str) -> list[str]:
    if mapping.sender is not None and mapping.sender_is_literal:
        return [f"{variable} = {ps_quote(mapping.sender)}"]
    if mapping.mail_message is None and mapping.sender_text:
        text = ps_expression(mapping.sender_text)
        return [
            "# From is computed at run time; Graph needs the bare mailbox address in the URL.",
            f"{variable} = (New-Object System.Net.Mail.MailAddress -ArgumentList ([string]{text})).Address",
        ]
    return [
        "# TODO: the script names no sender; set the mailbox (user or shared) that sends this mail.",
        f"{variable} = 'sender@contoso.com'",
    ]


def _value(value: PsValue) -> str:
    return value.ps


def collects_address_errors(mapping: GraphMapping) -> bool:
    """True when the recipients are read at run time one address per string (Send-MailMessage's way)."""
    return mapping.mail_message is None and any(
        item.expression is not None and item.one_each for item in mapping.recipients.values())


def message_lines(mapping: GraphMapping, write_error: str | None = None, stop: str | None = None,
                  sender_variable: str = SENDER_VARIABLE) -> list[str]:
    """PowerShell lines that define ``sender_variable`` (the mailbox) and ``$message`` (helpers included when needed).

    ``write_error`` is a PowerShell statement template ({error} is the exception) that reports an address
    Send-MailMessage would refuse (a FormatException, non-terminating: the others still get the mail);
    without it the helper throws at such an address. ``stop`` is the statement (in a catch block) that
    reports an attachment the cmdlet cannot resolve or read, as the cmdlet stops there: with it, every
    attachment is read first (resolved as Send-MailMessage resolves it), inside a try.
    """
    lines: list[str] = []
    collect = write_error is not None and collects_address_errors(mapping)
    gathered = stop is not None and (bool(mapping.attachments) or mapping.attachments_expression is not None)
    if mapping.mail_message is not None:
        lines.extend(_MAIL_MESSAGE_BLOCK.format(expr=mapping.mail_message, sender=sender_variable).splitlines())
        return lines
    if _uses_recipient_helper(mapping):
        lines.extend(_RECIPIENT_HELPER.splitlines())
    if mapping.attachments_expression is not None or gathered:
        lines.extend(_ATTACHMENT_HELPER.splitlines())
    lines.extend(_sender_lines(mapping, sender_variable))
    if mapping.attachments and mapping.attachments_expression is None and not gathered:
        paths = ", ".join(spec.path.ps for spec in mapping.attachments)
        lines += [
            f"foreach ($attachmentPath in @({paths})) {{",
            "    # Inline attachments only: sendMail takes 4 MB per request, base64 included.",
            "    if ((Get-Item -LiteralPath $attachmentPath).Length -gt (3MB)) {",
            "        throw \"$attachmentPath is over 3 MB: use Send-GraphMailMessage (upload session, Mail.ReadWrite).\"",
            "    }",
            "}",
        ]
    inner = INDENT
    if collect:
        lines.append(f"{ADDRESS_ERRORS} = New-Object System.Collections.ArrayList")
    lines.append("$message = @{")
    if mapping.subject is not None:
        lines.append(f"{inner}subject = {_value(mapping.subject)}")
    content_type = mapping.content_type.ps if mapping.content_type is not None else "'Text'"
    content = mapping.body.ps if mapping.body is not None else "''"
    if not content.startswith(("'", '"', "@'", '@"')):
        # -Body is [string]: PowerShell joins an array with $OFS and turns $null into '' (Graph refuses null).
        content = f"[string]({content})"
    lines.append(f"{inner}body = @{{")
    lines.append(f"{inner}{INDENT}contentType = {content_type}")
    lines.append(f"{inner}{INDENT}content = {content}")
    lines.append(f"{inner}}}")
    for field_name in ("toRecipients", "ccRecipients", "bccRecipients", "replyTo"):
        if field_name in mapping.recipients:
            lines.extend(_assign(field_name, _recipient_expr(mapping.recipients[field_name], inner, collect), inner))
    if mapping.from_recipient is not None:
        lines.extend(_single_recipient(mapping.from_recipient, inner))
    if mapping.importance is not None and mapping.importance.is_static:
        lines.append(f"{inner}importance = {mapping.importance.ps}")
    if mapping.delivery_receipt is not None:
        lines.append(f"{inner}isDeliveryReceiptRequested = {mapping.delivery_receipt.ps}")
    if gathered:
        pass  # read below, after the addresses, as the cmdlet does
    elif mapping.attachments and mapping.attachments_expression is None:
        lines.append(f"{inner}attachments = @(")
        for spec in mapping.attachments:
            pad = inner + INDENT
            lines.append(f"{pad}@{{")
            lines.append(f"{pad}{INDENT}'@odata.type' = '#microsoft.graph.fileAttachment'")
            lines.append(f"{pad}{INDENT}name = {ps_quote(spec.name or 'attachment')}")
            # Send-MailMessage attaches every file as application/octet-stream: keep that.
            lines.append(f"{pad}{INDENT}contentType = 'application/octet-stream'")
            lines.append(
                f"{pad}{INDENT}contentBytes = [Convert]::ToBase64String([System.IO.File]::ReadAllBytes("
                f"(Resolve-Path -LiteralPath {spec.path.ps}).ProviderPath))"
            )
            lines.append(f"{pad}}}")
        lines.append(f"{inner})")
    elif mapping.attachments_expression is not None:
        lines.append(f"{inner}attachments = @(ConvertTo-GraphAttachment -Path @({mapping.attachments_expression}))")
    if mapping.headers:
        lines.append(f"{inner}internetMessageHeaders = @(")
        for name, value in mapping.headers:
            lines.append(f"{inner}{INDENT}@{{ name = {ps_quote(name)}; value = {value.ps} }}")
        lines.append(f"{inner})")
    lines.append("}")
    if collect and write_error is not None:
        lines.append(f"foreach ($addressError in {ADDRESS_ERRORS}) {{ {write_error.format(error='$addressError')} }}")
    if gathered:
        # Send-MailMessage reads the addresses first (BeginProcessing), then the attachments (ProcessRecord).
        expression = mapping.attachments_expression
        paths = expression if expression is not None else ", ".join(spec.path.ps for spec in mapping.attachments)
        lines += [
            "try {",
            f"    $message['attachments'] = @(ConvertTo-GraphAttachment -Path @({paths}))",
            "} catch {",
            "    # Send-MailMessage stops at an attachment it cannot resolve or read (a terminating error).",
            f"    {stop}",
            "}",
        ]
    if mapping.importance is not None and not mapping.importance.is_static:
        # An empty -Priority ($null, '') sends no importance: Graph refuses an empty one.
        lines.append(f"$importance = {mapping.importance.ps}")
        lines.append("if ($importance) { $message['importance'] = $importance }")
    return lines


def _single_recipient(recipients: RecipientList, indent: str) -> list[str]:
    if recipients.expression is not None:
        return [f"{indent}from = @(ConvertTo-GraphRecipient -Address @({recipients.expression}))[0]"]
    if not recipients.static:
        return []
    first = recipients.static[0]
    entry = f"address = {ps_quote(first.address)}"
    if first.name:
        entry += f"; name = {ps_quote(first.name)}"
    return [f"{indent}from = @{{ emailAddress = @{{ {entry} }} }}"]


_SPLATTED = re.compile(r"^\(?@(\w+)\)?$")
# Which Send-MailMessage parameter each mapped value came from, to read it back out of the splatted table.
_SPLAT_KEYS = {"toRecipients": "To", "ccRecipients": "Cc", "bccRecipients": "Bcc", "replyTo": "ReplyTo"}


def _from_splat(text: str | None, key: str) -> str | None:
    """`@Settings` (a value only the splat can supply) as the expression that reads it: `$Settings['From']`."""
    if text is None:
        return None
    match = _SPLATTED.match(text.strip())
    # `@name` is splatting syntax, a parse error anywhere but in a command's arguments; splatting looks the
    # parameter up in the table by name, so the snippet does the same (a key written as a prefix is not found).
    return f"${match.group(1)}[{ps_quote(key)}]" if match else text


def _splat_lookups(mapping: GraphMapping) -> GraphMapping:
    """The mapping with every value left as `@name` (an unresolved splat) read out of that table instead."""
    recipients = {field_name: dataclasses.replace(items, expression=_from_splat(items.expression, _SPLAT_KEYS[field_name]))
                  if field_name in _SPLAT_KEYS else items for field_name, items in mapping.recipients.items()}
    values: dict[str, object] = {"recipients": recipients, "sender_text": _from_splat(mapping.sender_text, "From") or ""}
    if mapping.from_recipient is not None:
        values["from_recipient"] = dataclasses.replace(
            mapping.from_recipient, expression=_from_splat(mapping.from_recipient.expression, "From"))
    for name, key in (("subject", "Subject"), ("body", "Body"), ("importance", "Priority")):
        value = getattr(mapping, name)
        if value is not None and not value.is_static:
            values[name] = dataclasses.replace(value, ps=_from_splat(value.ps, key))
    if mapping.attachments_expression is not None:
        values["attachments_expression"] = _from_splat(mapping.attachments_expression, "Attachments")
    return dataclasses.replace(mapping, **values)  # type: ignore[arg-type]


def _header(mapping: GraphMapping, flavour: str) -> list[str]:
    what = mapping.command or mapping.api.value
    lines = [f"# Microsoft Graph sendMail equivalent of {what} ({flavour}), generated by smtp2graph."]
    for note in mapping.notes:
        lines.append(f"# Note: {note}")
    return lines


def _save_flag(mapping: GraphMapping) -> str:
    return "$true" if mapping.save_to_sent_items else "$false"


def invoke_restmethod_snippet(mapping: GraphMapping) -> str:
    """A standalone Invoke-RestMethod call to /users/{sender}/sendMail equivalent to the mapped call."""
    mapping = _splat_lookups(mapping)
    lines = _header(mapping, "Invoke-RestMethod")
    lines += TLS12_LINES
    lines += [
        "# Token: Get-Smtp2GraphToken from the Smtp2Graph module (app-only, Mail.Send; PowerShell loads the installed",
        "# module on first use; configure it with Connect-Smtp2Graph or SMTP2GRAPH_* environment variables). Without",
        "# the module, put an app-only access token for https://graph.microsoft.com in $token yourself; never paste a",
        "# secret here.",
        "$token = Get-Smtp2GraphToken",
    ]
    lines += message_lines(mapping, sender_variable=SENDER_VARIABLE)
    lines += [
        f"$request = @{{ message = $message; saveToSentItems = {_save_flag(mapping)} }}",
        "# UTF-8 bytes: Windows PowerShell 5.1 would send a string body as ISO-8859-1.",
        "$json = ConvertTo-Json -InputObject $request -Depth 10",
        "$sendParams = @{",
        "    Method      = 'Post'",
        f"    Uri         = 'https://graph.microsoft.com/v1.0/users/' + [uri]::EscapeDataString({SENDER_VARIABLE}).Replace('%40', '@') + '/sendMail'",
        "    Headers     = @{ Authorization = 'Bearer ' + $token }",
        "    ContentType = 'application/json'",
        "    Body        = [System.Text.Encoding]::UTF8.GetBytes($json)",
        "}",
        "# 202 Accepted: Graph queued the message (accepted, not yet delivered).",
        "Invoke-RestMethod @sendParams",
    ]
    return "\n".join(lines) + "\n"


def send_mgusermail_snippet(mapping: GraphMapping) -> str:
    """A standalone Send-MgUserMail (Microsoft Graph PowerShell SDK) call equivalent to the mapped call."""
    mapping = _splat_lookups(mapping)
    lines = _header(mapping, "Send-MgUserMail")
    lines += [
        "# Needs Microsoft.Graph.Users.Actions and an app-only connection with Mail.Send, for example",
        "# Connect-MgGraph -TenantId $tenantId -ClientId $clientId -CertificateThumbprint $thumbprint",
        "Import-Module Microsoft.Graph.Users.Actions",
    ]
    lines += TLS12_LINES
    lines += message_lines(mapping, sender_variable=SENDER_VARIABLE)
    lines += [
        f"$bodyParameter = @{{ message = $message; saveToSentItems = {_save_flag(mapping)} }}",
        f"Send-MgUserMail -UserId {SENDER_VARIABLE} -BodyParameter $bodyParameter",
    ]
    return "\n".join(lines) + "\n"
