"""A send inside script text that becomes code elsewhere (Invoke-Expression, [scriptblock]::Create, a file
written with Set-Content / Add-Content / Out-File, a scheduled task's action) is reported, never patched."""

from __future__ import annotations

import pytest

from scanner.check import analyze_script, calls_in_text
from scanner.ruleconfig import RuleConfig
from scanner.migrate.patch import patch_text
from scanner.migrate.safety import FixStyle
from scanner.model import FixApplicability
from scanner.script import Script

SEND = "Send-MailMessage -To 'ops@contoso.com' -From 'svc@contoso.com' -Subject 'hi' -SmtpServer smtp.office365.com -UseSsl"
REASON = "this text becomes code elsewhere: migrate it where it runs, with Import-Module Smtp2Graph"

CASES = {
    "here-string to Invoke-Expression": (f'$code = @"\n{SEND} -Credential `$c\n"@\nInvoke-Expression $code\n',
                                         "Invoke-Expression", 2),
    "iex of a literal": (f'iex "{SEND}"\n', "iex", 1),
    "scriptblock Create": (f'$sb = [scriptblock]::Create("{SEND}")\n& $sb\n', "[scriptblock]::Create", 1),
    "Set-Content": (f'Set-Content -Path C:\\jobs\\mail.ps1 -Value "{SEND}"\n', "Set-Content", 1),
    "Add-Content via a variable": (f"$line = \"{SEND}\"\n'# job' | Out-Null\nAdd-Content -Path job.ps1 -Value $line\n",
                                   "Add-Content", 1),
    "piped to Out-File": (f'"{SEND}" | Out-File C:\\jobs\\mail.ps1\n', "Out-File", 1),
    "scheduled task action": ("$action = New-ScheduledTaskAction -Execute 'powershell.exe' -Argument "
                              f"\"-NoProfile -Command {SEND}\"\nRegister-ScheduledTask -TaskName Mail -Action $action\n",
                              "New-ScheduledTaskAction", 1),
}

SMTPCLIENT_TEXT = ("$code = @'\n"
                   "$smtp = New-Object System.Net.Mail.SmtpClient('smtp.office365.com', 587)\n"
                   "$smtp.EnableSsl = $true\n"
                   "$smtp.Credentials = $cred\n"
                   "$smtp.Send('svc@contoso.com', 'ops@contoso.com', 'hi', 'body')\n"
                   "'@\n"
                   "Invoke-Expression $code\n")


def findings(text: str) -> list:  # type: ignore[type-arg]
    return [f for f in analyze_script(Script(text, "gen.ps1"), RuleConfig()).findings if f.call is not None]


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_send_in_text_that_becomes_code_is_reported_display_only(name: str) -> None:
    text, sink, line = CASES[name]
    found, = findings(text)
    assert found.rule == "SMTP001" and found.call.form == "generated-code"
    assert found.location.line == line and text.splitlines()[line - 1][found.location.column - 1:].startswith("Send-MailMessage")
    assert f"Send-MailMessage in text that becomes code elsewhere ({sink})" in found.message
    assert "smtp.office365.com" in found.message  # the text is bound: the verdict is the send's own
    assert found.fix.applicability is FixApplicability.DISPLAY_ONLY and found.fix.reason == REASON
    assert not found.fix.available


def test_an_smtpclient_send_in_text_that_becomes_code_is_reported() -> None:
    sent = [f for f in findings(SMTPCLIENT_TEXT) if f.call.sent]
    assert [(f.rule, f.location.line, f.call.form) for f in sent] == [("SMTP002", 5, "generated-code")]
    assert "SmtpClient" in sent[0].message and "(Invoke-Expression)" in sent[0].message
    assert sent[0].fix.applicability is FixApplicability.DISPLAY_ONLY and sent[0].fix.reason == REASON


@pytest.mark.parametrize("text", [CASES["here-string to Invoke-Expression"][0], CASES["Set-Content"][0], SMTPCLIENT_TEXT])
@pytest.mark.parametrize("style", [FixStyle.MODULE, FixStyle.INLINE])
def test_fix_never_rewrites_the_text(text: str, style: FixStyle) -> None:
    result = patch_text(text, calls_in_text(text, "gen.ps1", False), style=style, unsafe_fixes=True)
    assert result.patched == text
    assert result.fixes and all(not fix.applied for fix in result.fixes)


def test_a_real_call_next_to_generated_text_is_still_patched() -> None:
    text = f'$code = "{SEND}"\nInvoke-Expression $code\n{SEND}\n'
    result = patch_text(text, calls_in_text(text, "gen.ps1", False))
    assert [(fix.call.form, fix.applied) for fix in result.fixes] == [("generated-code", False), ("named", True)]
    assert result.patched.endswith("\n" + SEND.replace("Send-MailMessage", "Send-GraphMailMessage") + "\n")
    assert f'$code = "{SEND}"' in result.patched


@pytest.mark.parametrize("text", [
    "Write-Host 'Send-MailMessage is obsolete'\n",
    f'$s = "{SEND}"\nWrite-Output $s\n',  # text that is only printed
    f"$help = '{SEND}'\nInvoke-Expression $other\n",  # another variable runs
    "Set-Content -Path notes.txt -Value 'use Send-GraphMailMessage instead of the old cmdlet'\n",
    "Invoke-Expression 'Get-Date'\n",
])
def test_text_that_is_not_a_send_run_as_code_gives_no_finding(text: str) -> None:
    assert findings(text) == []
