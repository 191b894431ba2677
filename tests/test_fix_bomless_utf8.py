"""Non-ASCII text in a UTF-8 script without a BOM, on Windows PowerShell 5.1 (issue 23, item 5).

Windows PowerShell 5.1 reads a script without a BOM in the ANSI code page (about_Character_Encoding: "Windows
PowerShell ... uses the current culture's ANSI code page" for files without a BOM), so 'é' written as UTF-8 is 'Ã©'
when the script runs. Send-MailMessage (ASCII by default) then sent '??'; a Graph send carries 'Ã©'. The unsafe
reason "recipients see the real characters" is true on PowerShell 7 only: the fix says so, and --unsafe-fixes gives
the file a UTF-8 BOM (a change of its own, on line 1 of the diff), after which 5.1 reads the text as written.

5.1 cannot run here: `read_like_windows_powershell_51` applies its documented rule (a BOM decides, else Windows-1252,
the ANSI code page of Western-European Windows) to the bytes `fix` writes.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from scanner.check import calls_in_text
from scanner.files import read_source
from scanner.migrate import commands
from scanner.migrate.patch import FilePatch, patch_source
from scanner.migrate.safety import FixStyle
from scanner.model import FixApplicability

SCRIPT = ("param([string]$Site = 'Zürich')\n"
          "Send-MailMessage -To 'ops@contoso.com' -From 'alerts@contoso.com' -Subject 'Résumé du jour' -Body 'Prêt' "
          "-SmtpServer smtp.office365.com -UseSsl\n")


def read_like_windows_powershell_51(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8")
    return data.decode("cp1252", "replace")


def fix_bytes(path: Path, unsafe: bool, style: FixStyle = FixStyle.MODULE) -> FilePatch:
    source = read_source(path, path.parent)
    calls = calls_in_text(source.text, source.rel)
    return patch_source(source.rel, source.raw, source.text, source.encoding, source.bom, source.newline, calls,
                        style, unsafe)


def test_the_reason_says_what_windows_powershell_51_does_with_a_bomless_file(tmp_path: Path) -> None:
    path = tmp_path / "report.ps1"
    path.write_bytes(SCRIPT.encode("utf-8"))
    patch = fix_bytes(path, unsafe=False)
    fix, = patch.fixes
    assert fix.applicability is FixApplicability.UNSAFE
    assert "Windows PowerShell 5.1 reads this file, UTF-8 without a BOM, in the ANSI code page" in fix.reason
    assert "mojibake" in fix.reason and "on PowerShell 7 recipients see the real characters" in fix.reason
    assert any("UTF-8 BOM" in note for note in fix.notes)
    assert not patch.changed  # unsafe: nothing without --unsafe-fixes


def test_unsafe_fixes_add_a_bom_so_51_sends_the_real_characters(tmp_path: Path) -> None:
    path = tmp_path / "report.ps1"
    path.write_bytes(SCRIPT.encode("utf-8"))
    assert "'RÃ©sumÃ© du jour'" in read_like_windows_powershell_51(path.read_bytes())  # what 5.1 ran before
    patch = fix_bytes(path, unsafe=True)
    assert patch.patched.startswith(codecs.BOM_UTF8)
    assert patch.patched[3:].decode("utf-8").startswith("param(")  # the BOM comes first, nothing before it
    assert "Send-GraphMailMessage -To 'ops@contoso.com' -From 'alerts@contoso.com' -Subject 'Résumé du jour'" in \
        read_like_windows_powershell_51(patch.patched)
    diff = patch.diff(set()).splitlines()
    assert diff[2].startswith("@@ -1,") and any(line.startswith("+\ufeffparam(") for line in diff)  # the diff shows it, on line 1 of the file
    # Fixing the fixed file again changes nothing (it has its BOM; the call is on Graph).
    path.write_bytes(patch.patched)
    assert not fix_bytes(path, unsafe=True).changed


def test_a_file_with_a_bom_or_with_a_shebang_gets_none(tmp_path: Path) -> None:
    with_bom = tmp_path / "bom.ps1"
    with_bom.write_bytes(codecs.BOM_UTF8 + SCRIPT.encode("utf-8"))
    patch = fix_bytes(with_bom, unsafe=True)
    fix, = patch.fixes
    assert "ANSI code page" not in fix.reason and "recipients see the real characters where they saw '?'" in fix.reason
    assert patch.patched.count(codecs.BOM_UTF8) == 1
    shebang = tmp_path / "shebang.ps1"
    shebang.write_bytes(("#!/usr/bin/env pwsh\n" + SCRIPT).encode("utf-8"))
    patch = fix_bytes(shebang, unsafe=True)
    assert patch.patched.startswith(b"#!/usr/bin/env pwsh\n")
    assert any("#!" in note and "none is offered" in note for note in patch.fixes[0].notes)


def test_an_ascii_bomless_file_is_left_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "ascii.ps1"
    path.write_bytes(SCRIPT.replace("Résumé du jour", "Daily").replace("Prêt", "Ready").replace("Zürich", "Zurich").encode())
    patch = fix_bytes(path, unsafe=True)
    assert not patch.patched.startswith(codecs.BOM_UTF8) and patch.fixes[0].applicability is FixApplicability.SAFE


def test_the_scan_and_fix_see_the_file_as_it_was_read(tmp_path: Path) -> None:
    (tmp_path / "report.ps1").write_bytes(SCRIPT.encode("utf-8"))
    options = commands.FixOptions(unsafe_fixes=True, use_cache=False, judge="tree-sitter")
    run = commands.collect_patches([tmp_path], options)
    line, = run.lines
    assert "ANSI code page" in line.reason and line.applied
    patch, = [p for p in run.patches if p.changed]
    assert patch.patched.startswith(codecs.BOM_UTF8)
