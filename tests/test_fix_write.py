"""`fix --write` / `--out` never lose work (issue 11 item 12) and the preview is a patch that applies (item 13)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scanner.cli import app
from scanner.migrate import commands, writer
from scanner.migrate.judge import (
    TreeSitterJudge,  # these tests are about writing: no pwsh start per run
)
from scanner.migrate.patch import FixStyle

SCRIPT = ("Send-MailMessage -To 'ops@contoso.com' -From 'svc@contoso.com' -Subject 'hi' "
          "-SmtpServer smtp.office365.com -UseSsl\n")


def fix(*args: str) -> object:
    # Writing is under test here, not the judge: tree-sitter spares a pwsh start per run.
    return CliRunner().invoke(app, ["fix", *args, "--judge", "tree-sitter"])


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if ".tmp" in p.name)


# --------------------------------------------------------------------------- changed since read


def test_a_file_edited_after_it_was_read_is_skipped_with_an_error(tmp_path: Path) -> None:
    script = tmp_path / "job.ps1"
    script.write_text(SCRIPT, encoding="utf-8")
    run = commands.collect_patches([script], FixStyle.MODULE, False, judge=TreeSitterJudge())
    edited = "# edited by someone else\n" + SCRIPT
    script.write_text(edited, encoding="utf-8")
    assert commands._write_outputs(run, None) == []
    assert script.read_text(encoding="utf-8") == edited
    assert run.errors == ["job.ps1: changed since it was read; not written (run smtp2graph fix again)"]
    assert not run.patches[0].fixes[0].applied and run.patches[0].fixes[0].refused.startswith("not written")


def test_concurrent_edits_are_never_lost(tmp_path: Path) -> None:
    script = tmp_path / "busy.ps1"
    lost = 0
    for attempt in range(25):
        script.write_text(SCRIPT, encoding="utf-8")
        run = commands.collect_patches([script], FixStyle.MODULE, False, judge=TreeSitterJudge())
        last: list[str] = []
        stop = threading.Event()

        def editor() -> None:
            count = 0
            while not stop.is_set() and count < 400:
                content = f"# edit {attempt}-{count}\n" + SCRIPT
                script.write_text(content, encoding="utf-8")  # an in-place save, as most editors do
                last.append(content)
                count += 1

        thread = threading.Thread(target=editor)
        thread.start()
        commands._write_outputs(run, None)
        stop.set()
        thread.join()
        final = script.read_text(encoding="utf-8")
        # Either the editor's last save is there, or (when the patch went in before any edit) its save overwrote
        # the patch: never the patch of the old text over a newer edit.
        if last and final != last[-1]:
            lost += 1
    assert lost == 0
    assert leftovers(tmp_path) == []


# --------------------------------------------------------------------------- symlinks, read-only, interruptions


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    return tmp_path


def test_a_symlinked_script_is_patched_through_the_link(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "target.ps1").write_text(SCRIPT, encoding="utf-8")
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "link.ps1").symlink_to(real / "target.ps1")
    result = fix(str(scripts), "--write", "--allow-dirty")
    assert result.exit_code == 0, result.output
    assert (scripts / "link.ps1").is_symlink()
    assert "Send-GraphMailMessage" in (real / "target.ps1").read_text(encoding="utf-8")


def test_read_only_files_are_skipped_unless_forced(tmp_path: Path) -> None:
    script = tmp_path / "locked.ps1"
    script.write_text(SCRIPT, encoding="utf-8")
    script.chmod(0o444)
    result = fix(str(script), "--write", "--allow-dirty")
    assert result.exit_code == 1
    assert "locked.ps1: is read-only; not written (pass --force" in result.output
    assert script.read_text(encoding="utf-8") == SCRIPT
    assert "applied" not in result.output.replace("not applied", "")
    forced = fix(str(script), "--write", "--allow-dirty", "--force")
    assert forced.exit_code == 0, forced.output
    assert "Send-GraphMailMessage" in script.read_text(encoding="utf-8")
    assert stat.S_IMODE(script.stat().st_mode) == 0o444


def test_an_interrupted_write_leaves_no_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("a", "b"):
        (tmp_path / f"{name}.ps1").write_text(SCRIPT, encoding="utf-8")
    real_fsync = os.fsync

    def terminated(fd: int) -> None:
        real_fsync(fd)
        os.kill(os.getpid(), signal.SIGTERM)  # the run is stopped mid-write

    monkeypatch.setattr(writer.os, "fsync", terminated)
    run = commands.collect_patches([tmp_path], FixStyle.MODULE, False, judge=TreeSitterJudge())
    with pytest.raises(KeyboardInterrupt):
        commands._write_outputs(run, None)
    assert leftovers(tmp_path) == []
    assert (tmp_path / "a.ps1").read_text(encoding="utf-8") == SCRIPT


def test_a_failing_rename_leaves_no_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.ps1").write_text(SCRIPT, encoding="utf-8")

    def broken(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device", dst)

    monkeypatch.setattr(writer.os, "replace", broken)
    result = fix(str(tmp_path), "--write", "--allow-dirty")
    assert result.exit_code == 2 and "No space left on device" in result.output
    assert leftovers(tmp_path) == []


def test_out_never_follows_a_symlinked_sub_folder_out_of_dir(tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "sub").mkdir(parents=True)
    (source / "sub" / "job.ps1").write_text(SCRIPT, encoding="utf-8")
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "sub").symlink_to(outside, target_is_directory=True)
    result = fix(str(source), "--out", str(out))
    assert "sub/job.ps1: " in result.output and "leads out of" in result.output
    assert list(outside.iterdir()) == []


# --------------------------------------------------------------------------- item 13: the preview


SECRET_SCRIPT = (
    "param([string]$To = 'ops@contoso.com')\n"
    "\n"
    "$pw = ConvertTo-SecureString 'Leak-Me-Example-9' -AsPlainText -Force\n"
    "$c = New-Object PSCredential('u@contoso.com', $pw)\n"
    "Send-MailMessage -To $To -From 'svc@contoso.com' -Subject 's' -SmtpServer smtp.office365.com -UseSsl -Credential $c\n"
    "Write-Output sent\n"
    "$again = 'Leak-Me-Example-9'\n"
    "Write-Output done\n"
)


def _git_apply(folder: Path, diff: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(folder), "apply", "--check", "-v", "-"], input=diff, text=True,
                          capture_output=True)


@pytest.mark.parametrize("style", ["module", "inline"])
def test_the_preview_applies_with_git_apply_and_never_prints_the_secret(tmp_path: Path, style: str) -> None:
    (tmp_path / "job.ps1").write_text(SECRET_SCRIPT, encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    result = CliRunner().invoke(app, ["fix", str(tmp_path / "job.ps1"), "--style", style, "--unsafe-fixes"])
    assert result.exit_code == 1
    assert "Leak-Me-Example-9" not in result.output
    diff = result.stdout
    assert diff.startswith("--- a/job.ps1")
    check = _git_apply(tmp_path, diff)
    assert check.returncode == 0, check.stderr + diff
    assert "would apply (preview, not written)" in result.stderr
    assert ", applied" not in result.stderr


def test_a_secret_right_after_a_change_makes_the_preview_say_it_will_not_apply(tmp_path: Path) -> None:
    (tmp_path / "two.ps1").write_text("param($To)\n$pw = 'Leak-Me-Example-9'\n" + SCRIPT, encoding="utf-8")
    result = CliRunner().invoke(app, ["fix", str(tmp_path / "two.ps1")])
    assert "Leak-Me-Example-9" not in result.output
    assert "will not `git apply`" in result.stderr


def test_a_secret_on_a_changed_line_is_masked_and_the_preview_says_it_will_not_apply(tmp_path: Path) -> None:
    (tmp_path / "one.ps1").write_text(
        "Send-MailMessage -To a@contoso.com -From b@contoso.com -Subject s -SmtpServer smtp.office365.com -UseSsl "
        "-Credential (New-Object PSCredential('u', (ConvertTo-SecureString 'Leak-Me-Example-9' -AsPlainText -Force)))\n",
        encoding="utf-8")
    result = CliRunner().invoke(app, ["fix", str(tmp_path / "one.ps1")])
    assert "Leak-Me-Example-9" not in result.output
    assert "***" in result.stdout
    assert "will not `git apply`" in result.stderr


def test_preview_writes_nothing_and_never_says_applied(tmp_path: Path) -> None:
    (tmp_path / "a.ps1").write_text(SCRIPT, encoding="utf-8")
    result = CliRunner().invoke(app, ["fix", str(tmp_path)])
    assert (tmp_path / "a.ps1").read_text(encoding="utf-8") == SCRIPT
    assert "safe, would apply (preview, not written)" in result.stderr
    assert "1 would be fixed in 1 file(s)" in result.stderr
