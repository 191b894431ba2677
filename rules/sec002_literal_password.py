"""SEC002 literal-password: a password written in a script that sends mail or requests a Graph/Entra token."""

from __future__ import annotations

from scanner.model import FixApplicability, Severity
from scanner.rules import Example, FileContext, Rule, RuleResult, no_call_check
from scanner.rules.sec_support import secret_results


def file_check(context: FileContext) -> list[RuleResult]:
    """Literal passwords in NetworkCredential/PSCredential, -Password, CDO sendpassword, MailKit Authenticate."""
    return secret_results(RULE, context)


RULE = Rule(
    id="SEC002",
    name="literal-password",
    severity=Severity.HIGH,
    summary="A literal password (NetworkCredential, PSCredential, -Password, CDO sendpassword, MailKit Authenticate) in a mail-sending script.",
    what_it_does=(
        "Finds literal passwords given to `New-Object System.Net.NetworkCredential('user', 'password')`, "
        "`PSCredential`, a `-Password` parameter, the CDO field `.../cdo/configuration/sendpassword`, "
        "MailKit's `.Authenticate('user', 'password')`, or a `$password = '...'` variable, in scripts that "
        "send mail or request a Graph/Entra token, when the literal flows into the send (followed through variables "
        "and `$client.Credentials = $cred`). The value is always shown as `***`."
    ),
    why_bad=(
        "The mailbox password sits in the script and its history. It is also the SMTP AUTH basic credential "
        "that stops working at the end of December 2026: migrating is the moment to remove it and rotate it."
    ),
    example="$smtp.Credentials = New-Object System.Net.NetworkCredential('alerts@contoso.com', 'not-a-real-password')",
    use_instead="$smtp.Credentials = (Get-Secret -Name SmtpAlerts).GetNetworkCredential()\n# better: Graph sendMail with a certificate (smtp2graph kit)",
    fix_safety="No automatic fix: the secret must move to a vault and be rotated.",
    references=(
        "https://learn.microsoft.com/powershell/utility-modules/secretmanagement/overview",
        "https://learn.microsoft.com/dotnet/api/system.net.networkcredential",
    ),
    apis=(),
    check=no_call_check,
    bad=(
        Example(
            "$c = New-Object Net.Mail.SmtpClient('smtp.office365.com', 587)\n"
            "$c.Credentials = New-Object System.Net.NetworkCredential('a@contoso.com', 'Example-Pa55')\n$c.Send('a@contoso.com', 'b@contoso.com', 's', 'b')\n",
            1,
        ),
        Example(
            "$k = New-Object MailKit.Net.Smtp.SmtpClient\n$k.Connect('smtp.office365.com', 587)\n$k.Authenticate('a@contoso.com', 'Example-Pa55')\n$k.Send($m)\n",
            1,
        ),
    ),
    good=(
        Example("$c = New-Object System.Net.NetworkCredential('a@contoso.com', $env:SMTP_PASSWORD)\nSend-MailMessage -To b@contoso.com -Subject x -SmtpServer relay.local\n", 0),
        Example("$c = New-Object System.Net.NetworkCredential('svc', 'Example-Pa55')\nInvoke-WebRequest -Uri https://intranet/ -Credential $c\n", 0),
    ),
    fix=FixApplicability.DISPLAY_ONLY,
    tags=("secret",),
    file_check=file_check,
)
