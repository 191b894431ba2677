"""SEC001 plaintext-securestring: ConvertTo-SecureString -AsPlainText of a literal password that feeds mail or a token request."""

from __future__ import annotations

from scanner.model import FixApplicability, Severity
from scanner.rules import Example, FileContext, Rule, RuleResult, no_call_check
from scanner.rules.sec_support import secret_results


def file_check(context: FileContext) -> list[RuleResult]:
    """Literal passwords given to ConvertTo-SecureString -AsPlainText (directly or through a variable)."""
    return secret_results(RULE, context)


RULE = Rule(
    id="SEC001",
    name="plaintext-securestring",
    severity=Severity.HIGH,
    summary="A literal password converted with ConvertTo-SecureString -AsPlainText, used for mail sending or a Graph/Entra token.",
    what_it_does=(
        "Finds `ConvertTo-SecureString 'literal' -AsPlainText -Force`, or a variable assigned a literal and then "
        "passed to it, when it feeds a mail send or a Graph/Entra token request: the literal is followed through "
        "variables (`$pw` -> `PSCredential` -> `$cred` -> `-Credential $cred`). A password that only goes elsewhere "
        "(`New-LocalUser`) is not reported. The value is always shown as `***`."
    ),
    why_bad=(
        "A SecureString made from a literal protects nothing: the password is in the script, in every copy and "
        "in source control history. For mail it is usually the mailbox password that SMTP AUTH uses."
    ),
    example=(
        "$pw = ConvertTo-SecureString 'not-a-real-password' -AsPlainText -Force\n"
        "$cred = New-Object PSCredential('alerts@contoso.com', $pw)\n"
        "Send-MailMessage -SmtpServer smtp.office365.com -Port 587 -UseSsl -Credential $cred -From alerts@contoso.com -To ops@contoso.com -Subject x"
    ),
    use_instead="$cred = Get-Secret -Name SmtpAlerts   # Microsoft.PowerShell.SecretManagement\n# better: move to Graph with a certificate (smtp2graph kit)",
    fix_safety="No automatic fix: the secret must move to a vault and be rotated.",
    references=(
        "https://learn.microsoft.com/powershell/module/microsoft.powershell.security/convertto-securestring",
        "https://learn.microsoft.com/powershell/utility-modules/secretmanagement/overview",
    ),
    apis=(),
    check=no_call_check,
    bad=(
        Example(
            "$pw = ConvertTo-SecureString 'Example-Pa55' -AsPlainText -Force\n$c = New-Object PSCredential('a@contoso.com', $pw)\n"
            "Send-MailMessage -To b@contoso.com -Subject x -SmtpServer smtp.office365.com -UseSsl -Credential $c\n",
            1,
        ),
        Example(
            "$password = 'Example-Pa55'\n$sec = ConvertTo-SecureString $password -AsPlainText -Force\n"
            "Send-MailMessage -To b@contoso.com -Subject x -SmtpServer smtp.office365.com -Credential (New-Object PSCredential('a', $sec))\n",
            1,
        ),
    ),
    good=(
        Example("$pw = ConvertTo-SecureString $env:SMTP_PASSWORD -AsPlainText -Force\nSend-MailMessage -To b@contoso.com -Subject x -SmtpServer relay.local\n", 0),
        Example("$pw = ConvertTo-SecureString 'Example-Pa55' -AsPlainText -Force\nNew-LocalUser -Name svc -Password $pw\n", 0),
        Example(
            "$pw = ConvertTo-SecureString 'Example-Pa55' -AsPlainText -Force\nNew-LocalUser -Name svc -Password $pw\n"
            "Send-MailMessage -To b@contoso.com -Subject 'svc created' -SmtpServer relay.contoso.local\n",
            0,
        ),
    ),
    fix=FixApplicability.DISPLAY_ONLY,
    tags=("secret",),
    file_check=file_check,
)
