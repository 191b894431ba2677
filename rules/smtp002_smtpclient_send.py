"""SMTP002 smtpclient-send: System.Net.Mail.SmtpClient sending mail."""

from __future__ import annotations

from typing import Optional

from scanner.model import Api, Assessment, Confidence, FixApplicability, MailCall, Severity
from scanner.rules import Example, Rule, Verdict
from scanner.extract.smtpclient import LEFT_OVER_NOTE


def check(call: MailCall, assessment: Optional[Assessment]) -> Optional[Verdict]:

    assert assessment is not None
    if not call.sent and LEFT_OVER_NOTE in call.notes:
        return Verdict("SmtpClient left over after the migration to Send-GraphMailMessage: nothing sends with it; remove it.", Severity.INFO, Confidence.LOW)
    if not call.sent:
        return Verdict(
            f"SmtpClient created and configured here but never sent in this file (another file may use it): {assessment.verdict}",
            assessment.severity if assessment.severity is Severity.LOW else Severity.MEDIUM,
            Confidence.LOW,
        )
    if call.form == "generated-code":
        note = next((n for n in call.notes if n.startswith("text that becomes code elsewhere")), "text that becomes code elsewhere")
        return Verdict(f"SmtpClient {call.command}() in {note}: {assessment.verdict}", assessment.severity)
    if call.form == "add-type-csharp":
        return Verdict(f"SmtpClient {call.command}() in C# source compiled by Add-Type: {assessment.verdict}", assessment.severity)
    return Verdict(f"SmtpClient {call.command}(): {assessment.verdict}", assessment.severity)


RULE = Rule(
    id="SMTP002",
    name="smtpclient-send",
    severity=Severity.HIGH,
    summary="System.Net.Mail.SmtpClient sends over SMTP; with a password to Exchange Online it breaks when basic auth is disabled.",
    what_it_does=(
        "Finds `System.Net.Mail.SmtpClient` objects (`New-Object`, `[Net.Mail.SmtpClient]::new()`, "
        "`using namespace System.Net.Mail`), follows the variable to `.Send()`, `.SendAsync()` and "
        "`.SendMailAsync()`, reads the properties set on the client (Host, Port, EnableSsl, Credentials, "
        "UseDefaultCredentials) and the `MailMessage` it sends (From, To/CC/Bcc/ReplyToList, Subject, Body, "
        "IsBodyHtml, Attachments, Headers, Priority), using the same parameter names as Send-MailMessage. "
        "An SmtpClient in C# source compiled with `Add-Type` is reported too (its host, port, EnableSsl and "
        "credential decide the verdict; the C# is rewritten by hand). "
        "MailKit's `SmtpClient` is a different class and is not reported here."
    ),
    why_bad=(
        "SmtpClient only supports password authentication (NetworkCredential). Against Exchange Online that is "
        "SMTP AUTH basic authentication, disabled by default at the end of December 2026. Microsoft marks "
        "SmtpClient as not recommended for new development."
    ),
    example=(
        "$smtp = New-Object System.Net.Mail.SmtpClient('smtp.office365.com', 587)\n"
        "$smtp.EnableSsl = $true\n"
        "$smtp.Credentials = $cred.GetNetworkCredential()\n"
        "$smtp.Send($message)"
    ),
    use_instead="Import-Module Smtp2Graph\nSend-GraphMailMessage -MailMessage $message",
    fix_safety=(
        "The module fix replaces `$smtp.Send($message)` with `Send-GraphMailMessage -MailMessage $message`, so the "
        "code that builds the message stays. It is unsafe when the message is not built in the file or uses "
        "features Graph cannot express (AlternateViews, non-x- headers); a client that is never sent is display-only."
    ),
    references=(
        "https://learn.microsoft.com/dotnet/api/system.net.mail.smtpclient",
        "https://learn.microsoft.com/graph/api/user-sendmail",
    ),
    apis=(Api.SMTPCLIENT,),
    check=check,
    bad=(
        Example(
            "$c = New-Object Net.Mail.SmtpClient('smtp.office365.com', 587)\n$c.EnableSsl = $true\n"
            "$c.Credentials = New-Object Net.NetworkCredential($u, $p)\n$c.Send('a@contoso.com', 'b@contoso.com', 'subject', 'body')\n",
            1,
        ),
        Example("$c = [System.Net.Mail.SmtpClient]::new('relay.local')\n", 1),
        Example("$c = New-Object Net.Mail.SmtpClient('smtp.office365.com')\nSend-GraphMailMessage -MailMessage $m\n", 1),
    ),
    good=(
        Example("$k = New-Object MailKit.Net.Smtp.SmtpClient\n$k.Send($m)\n", 0),
        Example("# $c = New-Object Net.Mail.SmtpClient\n$text = 'New-Object Net.Mail.SmtpClient'\n", 0),
    ),
    fix=FixApplicability.SAFE,
    tags=("smtp", "basic-auth"),
)
