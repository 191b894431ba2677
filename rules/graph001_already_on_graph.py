"""GRAPH001 already-on-graph: a send that already goes through Microsoft Graph."""

from __future__ import annotations

from typing import Optional

from scanner.model import Api, Assessment, FixApplicability, MailCall, Severity
from scanner.rules import Example, Rule, Verdict


def check(call: MailCall, assessment: Optional[Assessment]) -> Optional[Verdict]:
    sender = call.static_text("From") or call.static_text("UserId")
    who = f" as {sender}" if sender else ""
    return Verdict(f"Already sends through Microsoft Graph ({call.command}){who}: nothing to migrate; verify the app can send{who}.", Severity.INFO)


RULE = Rule(
    id="GRAPH001",
    name="already-on-graph",
    severity=Severity.INFO,
    summary="Mail already sent through Microsoft Graph; listed so the report shows the estate's progress.",
    what_it_does="Reports sends that already go through Graph `sendMail`, including the generated `Send-GraphMailMessage`.",
    why_bad="Nothing is wrong: the finding is informational and lets the report count what is already migrated.",
    example="Send-GraphMailMessage -To 'ops@contoso.com' -From 'alerts@contoso.com' -Subject 'Disk low'",
    use_instead="# nothing to change",
    fix_safety="No fix: nothing to change.",
    references=("https://learn.microsoft.com/graph/api/user-sendmail",),
    apis=(Api.GRAPH_SENDMAIL, Api.SEND_MGUSERMAIL),
    check=check,
    bad=(Example("Import-Module Smtp2Graph\nSend-GraphMailMessage -To a@contoso.com -From b@contoso.com -Subject x\n", 1),),
    good=(Example("Send-MailMessage -To a@contoso.com -Subject x -SmtpServer relay.local\n", 0),),
    fix=FixApplicability.DISPLAY_ONLY,
    tags=("graph",),
)
