"""SMTP006 outlook-com-send: mail sent by automating Outlook through COM."""

from __future__ import annotations

from typing import Optional

from scanner.model import Api, Assessment, FixApplicability, MailCall, Severity
from scanner.rules import Example, Rule, Verdict


def check(call: MailCall, assessment: Optional[Assessment]) -> Optional[Verdict]:
    assert assessment is not None
    return Verdict(f"Outlook COM {call.command}(): {assessment.verdict} {assessment.migration}", assessment.severity)


RULE = Rule(
    id="SMTP006",
    name="outlook-com-send",
    severity=Severity.LOW,
    summary="Outlook automation (COM) sends as the logged-on user: not SMTP AUTH, but tied to classic Outlook on a desktop.",
    what_it_does=(
        "Finds `New-Object -ComObject Outlook.Application`, mail items created with `CreateItem(0)` "
        "(`olMailItem`) and their `.Send()` (or `.Display()`, reported as info), with To/CC/BCC/Subject/Body/"
        "HTMLBody, `Recipients.Add()` and `Attachments.Add()` under Send-MailMessage names."
    ),
    why_bad=(
        "Outlook sends through the user's own profile, so the SMTP AUTH retirement does not break it. But it only "
        "works with classic Outlook for Windows running in an interactive session: it fails as a scheduled task or "
        "service, Microsoft does not support Office automation unattended, and new Outlook for Windows has no COM "
        "object model. Unattended jobs should move to Graph sendMail."
    ),
    example=(
        "$outlook = New-Object -ComObject Outlook.Application\n"
        "$mail = $outlook.CreateItem(0)\n"
        "$mail.To = 'ops@contoso.com'\n"
        "$mail.Subject = 'Weekly report'\n"
        "$mail.Send()"
    ),
    use_instead="Import-Module Smtp2Graph\nSend-GraphMailMessage -From 'reports@contoso.com' -To 'ops@contoso.com' -Subject 'Weekly report' -Body $text",
    fix_safety="No automatic fix: the sender changes from the logged-on user to an app-scoped mailbox, which a person must choose.",
    references=(
        "https://learn.microsoft.com/office/vba/api/outlook.application.createitem",
        "https://support.microsoft.com/topic/considerations-for-server-side-automation-of-office-48bcfe93-8a89-47f1-0bce-017433ad79e2",
        "https://learn.microsoft.com/graph/api/user-sendmail",
    ),
    apis=(Api.OUTLOOK_COM,),
    check=check,
    bad=(
        Example("$o = New-Object -ComObject Outlook.Application\n$m = $o.CreateItem(0)\n$m.To = 'a@contoso.com'\n$m.Send()\n", 1),
        Example("$o = New-Object -ComObject Outlook.Application\n$m = $o.CreateItem(0)\n$m.Display()\n", 1),
    ),
    good=(
        Example("$o = New-Object -ComObject Outlook.Application\n$appt = $o.CreateItem(1)\n$appt.Send()\n", 0),
        Example("$o = New-Object -ComObject Outlook.Application\n$inbox = $o.GetNamespace('MAPI').GetDefaultFolder(6)\n", 0),
    ),
    fix=FixApplicability.DISPLAY_ONLY,
    tags=("com", "outlook"),
)
