"""SMTP005 system-web-mail-send: [System.Web.Mail.SmtpMail]::Send()."""

from __future__ import annotations

from typing import Optional

from scanner.model import Api, Assessment, FixApplicability, MailCall, Severity
from scanner.rules import Example, Rule, Verdict


def check(call: MailCall, assessment: Optional[Assessment]) -> Optional[Verdict]:
    assert assessment is not None
    return Verdict(f"System.Web.Mail {call.command}(): {assessment.verdict} {assessment.migration}", assessment.severity)


RULE = Rule(
    id="SMTP005",
    name="system-web-mail-send",
    severity=Severity.HIGH,
    summary="System.Web.Mail (obsolete since .NET 2.0, absent from PowerShell 7) sends over SMTP through CDO.",
    what_it_does=(
        "Finds `[System.Web.Mail.SmtpMail]::Send($message)` and `::Send(from, to, subject, body)`, the server set "
        "with `[System.Web.Mail.SmtpMail]::SmtpServer`, the `System.Web.Mail.MailMessage` properties and the CDO "
        "fields added with `$message.Fields.Add('http://schemas.microsoft.com/cdo/configuration/...', value)`."
    ),
    why_bad=(
        "System.Web.Mail has been obsolete since .NET Framework 2.0 and does not exist in .NET (PowerShell 7): the "
        "script already fails there. It authenticates only through the CDO basic/NTLM fields, so against Exchange "
        "Online it is SMTP AUTH basic authentication, disabled by default at the end of December 2026."
    ),
    example=(
        "Add-Type -AssemblyName System.Web\n"
        "[System.Web.Mail.SmtpMail]::SmtpServer = 'smtp.office365.com'\n"
        "[System.Web.Mail.SmtpMail]::Send('alerts@contoso.com', 'ops@contoso.com', 'Disk low', $text)"
    ),
    use_instead="Import-Module Smtp2Graph\nSend-GraphMailMessage -From 'alerts@contoso.com' -To 'ops@contoso.com' -Subject 'Disk low' -Body $text",
    fix_safety="No automatic fix yet: the report shows the Graph request to write.",
    references=(
        "https://learn.microsoft.com/dotnet/api/system.web.mail.smtpmail",
        "https://learn.microsoft.com/graph/api/user-sendmail",
    ),
    apis=(Api.SYSTEM_WEB_MAIL,),
    check=check,
    bad=(
        Example("[System.Web.Mail.SmtpMail]::SmtpServer = 'smtp.office365.com'\n[System.Web.Mail.SmtpMail]::Send('a@contoso.com', 'b@contoso.com', 's', 'b')\n", 1),
        Example("$m = New-Object System.Web.Mail.MailMessage\n$m.To = 'b@contoso.com'\n[Web.Mail.SmtpMail]::Send($m)\n", 1),
    ),
    good=(
        Example("# [System.Web.Mail.SmtpMail]::Send($m)\n$doc = '[System.Web.Mail.SmtpMail]::Send is obsolete'\n", 0),
        Example("[System.Web.HttpUtility]::UrlEncode('a b')\n", 0),
    ),
    fix=FixApplicability.DISPLAY_ONLY,
    tags=("smtp", "basic-auth", "obsolete"),
)
