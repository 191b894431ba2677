"""SMTP008 pnp-send-mail: PnP PowerShell's Send-PnPMail sending through SMTP."""

from __future__ import annotations

from typing import Optional

from scanner.model import Api, Assessment, FixApplicability, MailCall, Severity
from scanner.rules import Example, Rule, Verdict


def check(call: MailCall, assessment: Optional[Assessment]) -> Optional[Verdict]:
    assert assessment is not None
    return Verdict(f"{call.command} (PnP PowerShell, through SMTP): {assessment.verdict}", assessment.severity)


RULE = Rule(
    id="SMTP008",
    name="pnp-send-mail",
    severity=Severity.HIGH,
    summary="PnP PowerShell's Send-PnPMail sends through SMTP (-Server, or the older module's -From/-Password).",
    what_it_does=(
        "Finds Send-PnPMail (and Send-SPOMail, its older alias) where it sends through SMTP: with -Server in "
        "PnP.PowerShell (logging on with -Username and -Password when given), and with -Password in the older "
        "SharePointPnPPowerShellOnline module, whose default server is smtp.office365.com. Without -Server it "
        "sends through Microsoft Graph or SharePoint and is not reported. Arguments are bound like any "
        "command's (splats, variables, configuration files)."
    ),
    why_bad=(
        "With a user name and password Send-PnPMail logs on with SMTP AUTH basic authentication; against "
        "Exchange Online (smtp.office365.com) that is disabled by default at the end of December 2026. "
        "Anonymous sends to a relay or to the tenant's MX endpoint are not affected."
    ),
    example="Send-PnPMail -From 'alerts@contoso.com' -Password $pw -To 'ops@contoso.com' -Subject 'Site quota' -Body $text",
    use_instead=("Send-PnPMail -From 'alerts@contoso.com' -To 'ops@contoso.com' -Subject 'Site quota' -Body $text  "
                 "# PnP.PowerShell, no -Server: Microsoft Graph (Mail.Send)"),
    fix_safety="No automatic fix: the call is rewritten by hand; the report shows the Graph request to write.",
    references=(
        "https://pnp.github.io/powershell/cmdlets/Send-PnPMail.html",
        "https://learn.microsoft.com/exchange/clients-and-mobile-in-exchange-online/authenticated-client-smtp-submission",
    ),
    apis=(Api.PNP_MAIL,),
    check=check,
    bad=(
        Example("Send-PnPMail -To b@contoso.com -Subject x -Body y -From a@contoso.com -Password $pw\n", 1),
        Example("Send-PnPMail -Server smtp.office365.com -ServerPort 587 -EnableSsl $true -From a@contoso.com -Username a@contoso.com -Password $pw -To b@contoso.com -Subject x -Body y\n", 1),
    ),
    good=(
        Example("Send-PnPMail -From a@contoso.com -To b@contoso.com -Subject x -Body y\n", 0),
        Example("Send-PnPMail -To b@contoso.com -Subject x -Body y\n", 0),
    ),
    fix=FixApplicability.DISPLAY_ONLY,
    tags=("smtp", "basic-auth", "pnp"),
)
