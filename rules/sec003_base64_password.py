"""SEC003 base64-password: a base64-decoded literal used as a password."""

from __future__ import annotations

from scanner.model import FixApplicability, Severity
from scanner.rules import Example, FileContext, Rule, RuleResult, no_call_check
from scanner.rules.sec_support import secret_results


def file_check(context: FileContext) -> list[RuleResult]:
    """Literals decoded with [Convert]::FromBase64String and used as passwords."""
    return secret_results(RULE, context)


RULE = Rule(
    id="SEC003",
    name="base64-password",
    severity=Severity.HIGH,
    summary="A password 'hidden' as base64 in a mail-sending script: base64 is an encoding, not encryption.",
    what_it_does=(
        "Finds `[Convert]::FromBase64String('...')` of a literal whose result is used as a password "
        "(ConvertTo-SecureString, a credential, a password variable) in scripts that send mail or request a "
        "Graph/Entra token. The value is always shown as `***`."
    ),
    why_bad="Anyone can decode base64. The password is effectively in clear text, with a false sense of safety.",
    example=(
        "$pw = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String('RXhhbXBsZS1QYTU1'))\n"
        "$smtp.Credentials = New-Object Net.NetworkCredential('alerts@contoso.com', $pw)"
    ),
    use_instead="$smtp.Credentials = (Get-Secret -Name SmtpAlerts).GetNetworkCredential()",
    fix_safety="No automatic fix: the secret must move to a vault and be rotated.",
    references=("https://learn.microsoft.com/powershell/utility-modules/secretmanagement/overview",),
    apis=(),
    check=no_call_check,
    bad=(
        Example(
            "$password = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String('RXhhbXBsZS1QYTU1'))\n"
            "$c = New-Object Net.Mail.SmtpClient('smtp.office365.com', 587)\n$c.Credentials = New-Object Net.NetworkCredential('a@contoso.com', $password)\n$c.Send($m)\n",
            1,
        ),
    ),
    good=(
        Example("$logo = [Convert]::FromBase64String('iVBORw0KGgo=')\nSend-MailMessage -To b@contoso.com -Subject x -SmtpServer relay.local\n", 0),
    ),
    fix=FixApplicability.DISPLAY_ONLY,
    tags=("secret",),
    file_check=file_check,
)
