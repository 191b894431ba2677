"""SMTP007 native-smtp-tool: blat, mailsend, sendEmail, swaks or curl (smtp://) run by a script."""

from __future__ import annotations

from typing import Optional

from scanner.model import Api, Assessment, FixApplicability, MailCall, Severity
from scanner.rules import Example, Rule, Verdict


def check(call: MailCall, assessment: Optional[Assessment]) -> Optional[Verdict]:
    assert assessment is not None
    return Verdict(f"{call.command} (a command-line SMTP tool): {assessment.verdict}", assessment.severity)


RULE = Rule(
    id="SMTP007",
    name="native-smtp-tool",
    severity=Severity.HIGH,
    summary="A command-line SMTP tool (blat, mailsend, sendEmail, swaks, curl smtp://) sends with the password it is given.",
    what_it_does=(
        "Finds the command-line SMTP clients a script runs (as a command, through `&` with a path, with "
        "`Start-Process … -ArgumentList` or `cmd /c`): blat (`-server`, `-u`, `-pw`), mailsend (`-smtp`, `-user`, "
        "`-pass`), sendEmail (`-s`, `-xu`, `-xp`), swaks (`--server`, `--auth-user`, `--auth-password`) and curl "
        "with an `smtp://` or `smtps://` URL (`--user`, `--oauth2-bearer`), and reads the server, port, sender, "
        "recipients and log-on from their switches."
    ),
    why_bad=(
        "These tools log on with a user name and password (AUTH LOGIN/PLAIN). Against Exchange Online that is "
        "SMTP AUTH basic authentication, disabled by default at the end of December 2026. curl with "
        "`--oauth2-bearer` presents an OAuth 2.0 token and keeps working."
    ),
    example='& "C:\\Tools\\blat.exe" -to ops@contoso.com -f alerts@contoso.com -s "Disk low" -body $text -server smtp.office365.com:587 -u alerts@contoso.com -pw $pw',
    use_instead="Import-Module Smtp2Graph\nSend-GraphMailMessage -From 'alerts@contoso.com' -To 'ops@contoso.com' -Subject 'Disk low' -Body $text",
    fix_safety="No automatic fix: the tool's line is replaced by hand; the report shows the Graph request to write.",
    references=(
        "https://learn.microsoft.com/exchange/clients-and-mobile-in-exchange-online/authenticated-client-smtp-submission",
        "https://learn.microsoft.com/graph/api/user-sendmail",
    ),
    apis=(Api.NATIVE_SMTP,),
    check=check,
    bad=(
        Example("blat.exe -to b@contoso.com -f a@contoso.com -s x -body y -server smtp.office365.com -port 587 -u a@contoso.com -pw $pw\n", 1),
        Example("curl.exe --url smtps://smtp.office365.com:587 --ssl-reqd --user \"a@contoso.com:$pw\" --mail-from a@contoso.com --mail-rcpt b@contoso.com -T mail.txt\n", 1),
    ),
    good=(
        Example("curl.exe https://contoso.com/status -o status.json\n# blat -to ops@contoso.com\n", 0),
        Example("Write-Host 'run blat -to someone to send it by hand'\n", 0),
    ),
    fix=FixApplicability.DISPLAY_ONLY,
    tags=("smtp", "basic-auth", "native-tool"),
)
