"""A patched script fails no wider than the send it replaced when Smtp2Graph is not installed (issue 23, item 1).

Before: `Import-Module Smtp2Graph -ErrorAction Stop` after the header stopped the whole script (or, at the top of a
.psm1, the whole toolkit: its commands were never defined) on a machine without the module, where before only a
failed send was reported. Now the import is guarded (`-ErrorAction Ignore`): a missing module fails only the
Send-GraphMailMessage call, where the send was. Measured against every way of importing in
bench/import_strategies.py; the oracle's "no-module" mode runs every shape this way.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scanner.check import calls_in_text
from scanner.migrate.patch import patch_text
from scanner.migrate.placement import IMPORT_LINE, IMPORT_PRESENT
from scanner.powershell import run_pwsh

SEND = ("Send-MailMessage -To 'ops@contoso.com' -From 'alerts@contoso.com' -Subject 'nightly' -Body 'x' "
        "-SmtpServer smtp.office365.com -Port 587 -UseSsl")


def patched(text: str) -> str:
    result = patch_text(text, calls_in_text(text, "t.ps1"), unsafe_fixes=True)
    assert all(fix.applied for fix in result.fixes), [(fix.reason, fix.refused) for fix in result.fixes]
    return result.patched


def without_module(tmp_path: Path) -> dict[str, str]:
    """An environment whose PSModulePath holds no Smtp2Graph (an empty folder)."""
    empty = tmp_path / "no-modules"
    empty.mkdir(exist_ok=True)
    env = dict(os.environ)
    env["PSModulePath"] = str(empty)
    return env


def test_the_import_line_never_stops_a_script() -> None:
    assert IMPORT_LINE == "Import-Module Smtp2Graph -ErrorAction Ignore"
    assert IMPORT_PRESENT.search(IMPORT_LINE)
    # An import written by an earlier fix (with -ErrorAction Stop) is still recognised: fixing again adds none.
    assert IMPORT_PRESENT.search("Import-Module Smtp2Graph -ErrorAction Stop")


@pytest.mark.pwsh
def test_a_script_that_mails_only_under_a_switch_runs_without_the_module(tmp_path: Path) -> None:
    text = f"param([switch]$SendMail)\n'work done'\nif ($SendMail) {{\n    {SEND}\n}}\n'end'\n"
    script = patched(text)
    run = run_pwsh(script, env=without_module(tmp_path), timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["work done", "end"]
    assert run.stderr.strip() == ""


@pytest.mark.pwsh
def test_without_the_module_only_the_send_fails_and_the_script_goes_on(tmp_path: Path) -> None:
    script = patched(f"'start'\n{SEND}\n\"after the send: $?\"\n'end'\n")
    run = run_pwsh(script, env=without_module(tmp_path), timeout=120)
    assert run.returncode == 0, run.stderr
    # As after a failed Send-MailMessage: one error, at the call; $? is false; the rest of the script runs.
    assert run.stdout.splitlines() == ["start", "after the send: False", "end"]
    assert "Send-GraphMailMessage" in run.stderr


@pytest.mark.pwsh
def test_a_toolkit_module_keeps_all_its_commands_without_smtp2graph(tmp_path: Path) -> None:
    toolkit = ("function Get-DiskReport { 'disk ok' }\nfunction Get-Uptime { }\nfunction Get-Patches { }\n"
               f"function Send-Report {{\n    {SEND}\n}}\n")
    folder = tmp_path / "toolkit"
    folder.mkdir()
    (folder / "Toolkit.psm1").write_text(patched(toolkit), encoding="utf-8")
    driver = (f"Import-Module '{folder / 'Toolkit.psm1'}'\n'commands ' + @(Get-Command -Module Toolkit).Count\n"
              "Get-DiskReport\nSend-Report\n'end'\n")
    run = run_pwsh(driver, env=without_module(tmp_path), timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["commands 4", "disk ok", "end"]


@pytest.mark.pwsh
def test_under_erroractionpreference_stop_the_script_stops_at_the_send_not_before(tmp_path: Path) -> None:
    script = patched(f"$ErrorActionPreference = 'Stop'\n'work done'\n{SEND}\n'end'\n")
    run = run_pwsh(script, env=without_module(tmp_path), timeout=120)
    # The original stopped at its failed send too: the work before it still ran.
    assert run.returncode == 1
    assert run.stdout.splitlines() == ["work done"]


def notes_of(text: str) -> list[str]:
    result = patch_text(text, calls_in_text(text, "t.ps1"), unsafe_fixes=True)
    return [note for fix in result.fixes for note in fix.notes]


def test_a_typed_smtp_catch_is_told_what_a_missing_module_would_do() -> None:
    only_typed = f"try {{\n    {SEND} -ErrorAction Stop\n}}\ncatch [System.Net.Mail.SmtpException] {{\n    'smtp failed'\n}}\n"
    note, = [n for n in notes_of(only_typed) if "not installed" in n]
    assert "catch [System.Net.Mail.SmtpException] does not catch" in note and "the script stops there" in note
    with_generic = only_typed + "catch {\n    'other'\n}\n"
    note, = [n for n in notes_of(with_generic) if "not installed" in n]
    assert "the catch without a type runs instead" in note
    assert not [n for n in notes_of(f"try {{\n    {SEND}\n}}\ncatch {{\n    'x'\n}}\n") if "not installed" in n]


def test_an_error_variable_is_told_it_stays_empty_when_the_module_is_missing() -> None:
    note, = [n for n in notes_of(f"{SEND} -ErrorVariable failed -ErrorAction SilentlyContinue\n") if "not installed" in n]
    assert "-ErrorAction SilentlyContinue and -ErrorVariable do not apply" in note, note
