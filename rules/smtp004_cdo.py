"""SMTP004 cdo-message-send: CDO.Message COM objects that send mail."""

from __future__ import annotations

from typing import Optional

from scanner.model import Api, Assessment, Confidence, FixApplicability, MailCall, Severity
from scanner.rules import Example, Rule, Verdict


def check(call: MailCall, assessment: Optional[Assessment]) -> Optional[Verdict]:
    assert assessment is not None
    if not call.sent:
        return Verdict(f"CDO.Message configured to send, but no .Send() in this file: {assessment.verdict}", assessment.severity, Confidence.LOW)
    return Verdict(f"CDO.Message .Send(): {assessment.verdict} {assessment.migration}", assessment.severity)


RULE = Rule(
    id="SMTP004",
    name="cdo-message-send",
    severity=Severity.HIGH,
    summary="CDO.Message (COM) sends over SMTP; with sendusername/sendpassword to Exchange Online it breaks when basic auth is disabled.",
    what_it_does=(
        "Finds `New-Object -ComObject CDO.Message` objects that are sent (`.Send()`) or configured to send "
        "(the `http://schemas.microsoft.com/cdo/configuration/` fields `sendusing`, `smtpserver`, "
        "`sendusername`, `sendpassword`), and reads the fields `smtpserverport`, `smtpusessl` and "
        "`smtpauthenticate` (0 anonymous, 1 basic, 2 NTLM). CDO used only to read an `.eml` file "
        "(`DataSource.OpenObject`) is not a sender and is not reported."
    ),
    why_bad=(
        "CDO can only authenticate with basic (`smtpauthenticate = 1`, a password) or NTLM. Against "
        "`smtp.office365.com` that is SMTP AUTH basic authentication, disabled by default at the end of December "
        "2026. CDO is a Windows component from the 2000s with no OAuth support at all; the password usually sits "
        "in the script in clear text."
    ),
    example=(
        "$msg = New-Object -ComObject CDO.Message\n"
        "$msg.Configuration.Fields.Item('http://schemas.microsoft.com/cdo/configuration/smtpserver').Value = 'smtp.office365.com'\n"
        "$msg.Configuration.Fields.Item('http://schemas.microsoft.com/cdo/configuration/smtpauthenticate').Value = 1\n"
        "$msg.Configuration.Fields.Update()\n"
        "$msg.Send()"
    ),
    use_instead="Import-Module Smtp2Graph\nSend-GraphMailMessage -From 'alerts@contoso.com' -To 'ops@contoso.com' -Subject 'Backup report' -Body $text",
    fix_safety="No automatic fix: the configuration fields and the message are spread over many statements; the report shows what to send through Graph.",
    references=(
        "https://learn.microsoft.com/previous-versions/exchange-server/exchange-10/ms526318(v=exchg.10)",
        "https://learn.microsoft.com/graph/api/user-sendmail",
    ),
    apis=(Api.CDO,),
    check=check,
    bad=(
        Example(
            "$m = New-Object -ComObject CDO.Message\n$m.To = 'a@contoso.com'\n"
            "$m.Configuration.Fields.Item('http://schemas.microsoft.com/cdo/configuration/smtpserver').Value = 'smtp.office365.com'\n$m.Send()\n",
            1,
        ),
        Example(
            "$m = New-Object -ComObject CDO.Message\n"
            "$m.Configuration.Fields.Item('http://schemas.microsoft.com/cdo/configuration/sendusing').Value = 2\n",
            1,
        ),
    ),
    good=(
        Example(
            "$s = New-Object -ComObject ADODB.Stream\n$s.Open()\n$s.LoadFromFile('C:\\mail\\in.eml')\n"
            "$m = New-Object -ComObject CDO.Message\n$m.DataSource.OpenObject($s, '_Stream')\n$m.Subject\n",
            0,
        ),
    ),
    fix=FixApplicability.DISPLAY_ONLY,
    tags=("smtp", "basic-auth", "com"),
)
