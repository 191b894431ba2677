"""A credential kept only for the From address (issue 23, item 4).

Many scripts keep `Get-Credential` / `Import-Clixml` / a PSCredential only because From is `$cred.UserName`. After the
patch nothing sends the credential, so the prompt or the stored password stays required for nothing. Each such call
says so; when the report resolved the sender (the credential's user name is in the file) `--unsafe-fixes` writes that
mailbox into -From; the now-unused credential lines stay listed for the reviewer to remove.
"""

from __future__ import annotations

from pathlib import Path

from scanner.check import calls_in_text
from scanner.estate.senders import plan_of_findings
from scanner.migrate import commands
from scanner.migrate.patch import patch_text
from scanner.model import FixApplicability

CALL = "Send-MailMessage -To 'ops@contoso.com' -From $cred.UserName -Subject 'hi' -SmtpServer smtp.office365.com -UseSsl -Credential $cred\n"
BUILT = ("$secure = ConvertTo-SecureString $env:SMTP_PASSWORD -AsPlainText -Force\n"
         "$cred = New-Object System.Management.Automation.PSCredential('svc@contoso.com', $secure)\n")
STORED = "$cred = Import-Clixml -Path 'C:\\ops\\smtp.xml'\n"


def fix(text: str, unsafe: bool) -> tuple[str, list[str], FixApplicability]:
    result = patch_text(text, calls_in_text(text, "t.ps1"), unsafe_fixes=unsafe)
    only, = result.fixes
    return result.patched, only.notes, only.applicability


def test_a_credential_built_in_the_file_is_offered_as_the_sender_as_an_unsafe_fix() -> None:
    text = BUILT + CALL
    safe, notes, applicability = fix(text, unsafe=False)
    assert applicability is FixApplicability.SAFE  # the rename stays a safe fix
    note, = [n for n in notes if n.startswith("From is $cred.UserName")]
    assert "serves only this address" in note and "the password it is built from (line 2)" in note
    assert "with --unsafe-fixes -From becomes 'svc@contoso.com'" in note
    # The credential lines stay listed, by number.
    assert any("line 1 (ConvertTo-SecureString), line 2 (PSCredential)" in n for n in notes)
    assert "-From $cred.UserName" in safe and "-Credential" not in safe
    unsafe, _, _ = fix(text, unsafe=True)
    assert "Send-GraphMailMessage -To 'ops@contoso.com' -From 'svc@contoso.com' -Subject 'hi'" in unsafe
    assert "$cred = New-Object" in unsafe  # the lines stay: the reviewer removes them


def test_a_stored_credential_says_so_and_leaves_from_to_the_reviewer() -> None:
    text = STORED + CALL
    unsafe, notes, _ = fix(text, unsafe=True)
    note, = [n for n in notes if n.startswith("From is $cred.UserName")]
    assert "the stored credential file Import-Clixml reads (line 1) stays required for nothing" in note
    assert "senders to decide" in note
    assert "-From $cred.UserName" in unsafe


def test_a_credential_also_used_elsewhere_stays() -> None:
    text = BUILT + CALL + "Invoke-Command -ComputerName srv01 -Credential $cred -ScriptBlock { 'x' }\n"
    _, notes, _ = fix(text, unsafe=False)
    note, = [n for n in notes if n.startswith("From is $cred.UserName")]
    assert "also used on line 4, so it stays" in note and "required for nothing" not in note


def test_a_literal_from_gets_no_such_note() -> None:
    text = BUILT + CALL.replace("$cred.UserName", "'alerts@contoso.com'")
    _, notes, _ = fix(text, unsafe=True)
    assert not [n for n in notes if n.startswith("From is")]


def test_fix_and_the_sender_list_agree_on_the_resolved_sender(tmp_path: Path) -> None:
    (tmp_path / "report.ps1").write_text(BUILT + CALL, encoding="utf-8")
    options = commands.FixOptions(unsafe_fixes=True, use_cache=False, judge="tree-sitter")
    run = commands.collect_patches([tmp_path], options)
    line, = run.lines
    assert any("-From becomes 'svc@contoso.com'" in note for note in line.notes)
    patch, = [p for p in run.patches if p.changed]
    assert "-From 'svc@contoso.com'" in patch.text_after
    # The one sender list scopes the app to that mailbox (it was a "decide" item before).
    assert [use.mailbox for use in run.senders.mailboxes] == ["svc@contoso.com"] and not run.senders.decide
    safe_run = commands.collect_patches([tmp_path], commands.FixOptions(use_cache=False, judge="tree-sitter"))
    assert "-From $cred.UserName" in [p for p in safe_run.patches if p.changed][0].text_after
    assert plan_of_findings([]).mailboxes == []
