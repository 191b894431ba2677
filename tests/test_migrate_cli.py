"""`smtp2graph fix` and `smtp2graph snippet` end to end: preview, --out with the kit, --write and git, exit codes."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from scanner.cli import app
from scanner.migrate.syntax import parse_problems

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
FILES = ROOT / "tests" / "fixtures" / "migrate" / "files"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def snapshot(folder: Path) -> dict[str, bytes]:
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_preview_prints_a_diff_and_writes_nothing(tmp_path: Path) -> None:
    work = tmp_path / "scripts"
    shutil.copytree(EXAMPLES, work)
    before = snapshot(work)
    result = invoke("fix", str(work))
    assert result.exit_code == 1  # changes are pending, as `ruff --diff` reports them
    assert "-    Send-MailMessage @params" in result.stdout
    assert "+    Send-GraphMailMessage @params" in result.stdout
    assert "+    Send-GraphMailMessage -MailMessage $message" in result.stdout
    assert "+Import-Module Smtp2Graph -ErrorAction Ignore" in result.stdout
    counts = re.search(r"(\d+) mail call\(s\): (\d+) would be fixed in (\d+) file\(s\), (\d+) to rewrite by hand, "
                       r"(\d+) no change needed", result.stderr)
    assert counts is not None, result.stderr
    calls, fixed, files, by_hand, unneeded = map(int, counts.groups())
    assert fixed >= 5 and files >= 5 and by_hand >= 2 and calls == fixed + by_hand + unneeded
    assert snapshot(work) == before


def test_out_writes_patched_copies_and_the_kit_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "migrated"
    first = invoke("fix", str(EXAMPLES), "--out", str(out))
    assert first.exit_code == 0, first.stderr
    written = snapshot(out)
    assert "reports/Nightly-DiskReport.ps1" in written
    assert "relay/Scan-To-Mail.ps1" not in written  # nothing to change there
    for name in ("Smtp2Graph/Smtp2Graph.psm1", "Smtp2Graph/Smtp2Graph.psd1", "Register-Smtp2GraphApp.ps1",
                 "Set-Smtp2GraphScope.ps1", "Test-Smtp2GraphSend.ps1", "README.md"):
        assert f"smtp2graph-kit/{name}" in written
    for name, data in written.items():
        if name.startswith("smtp2graph-kit/") and name.endswith((".ps1", ".psm1", ".psd1")):
            assert parse_problems(data) == [], name  # generated: clean
        elif name.endswith((".ps1", ".psm1")):
            # patched: no new problems (an example may already hold constructs tree-sitter mis-parses)
            assert len(parse_problems(data)) <= len(parse_problems((EXAMPLES / name).read_bytes())), name
    scope = written["smtp2graph-kit/Set-Smtp2GraphScope.ps1"].decode("utf-8-sig")
    assert "'reports@contoso.com'" in scope and "'monitoring@contoso.com'" in scope
    assert "scanner01@contoso.com" not in scope  # the on-premises relay never uses the app
    # The unchanged parts of a patched file are byte for byte the original.
    original = (EXAMPLES / "reports" / "Weekly-LicenseSummary.ps1").read_bytes()
    patched = written["reports/Weekly-LicenseSummary.ps1"]
    assert patched.replace(b"Send-GraphMailMessage @mailParams", b"Send-MailMessage @mailParams").replace(
        b"Import-Module Smtp2Graph -ErrorAction Ignore\n", b"") == original

    second = invoke("fix", str(out), "--write")
    assert second.exit_code == 0, second.stderr
    assert snapshot(out) == written
    assert "0 fixed in 0 file(s)" in second.stderr
    preview = invoke("fix", str(out))
    assert preview.exit_code == 0 and preview.stdout == ""


def _git(folder: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@example.com", "PATH": "/usr/bin:/bin", "HOME": str(folder)})


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    work = tmp_path / "repo"
    shutil.copytree(EXAMPLES, work)
    _git(work, "init", "-q")
    _git(work, "add", "-A")
    _git(work, "commit", "-q", "-m", "scripts")
    return work


def test_write_refuses_a_dirty_git_tree_unless_allowed(repo: Path) -> None:
    script = repo / "reports" / "Nightly-DiskReport.ps1"
    script.write_bytes(script.read_bytes() + b"# local edit\n")
    refused = invoke("fix", str(repo), "--write")
    assert refused.exit_code == 2
    assert "uncommitted change" in refused.stderr and "--allow-dirty" in refused.stderr
    assert b"Send-GraphMailMessage" not in script.read_bytes()
    allowed = invoke("fix", str(repo), "--write", "--allow-dirty")
    assert allowed.exit_code == 0, allowed.stderr
    assert b"Send-GraphMailMessage" in script.read_bytes()
    assert not list(repo.rglob("*.tmp")), "temporary files left behind"


def test_write_in_a_clean_tree_patches_in_place(repo: Path) -> None:
    result = invoke("fix", str(repo), "--write")
    assert result.exit_code == 0, result.stderr
    assert b"Send-GraphMailMessage -MailMessage $message" in (repo / "monitoring" / "Send-ServiceAlert.ps1").read_bytes()
    assert not (repo / "smtp2graph-kit").exists()  # --write patches; the kit comes with --out or `kit`


def test_unsafe_fixes_need_the_flag_and_exit_1_while_they_remain(tmp_path: Path) -> None:
    work = tmp_path / "w"
    work.mkdir()
    shutil.copy(FILES / "behaviour_differences.ps1", work)
    result = invoke("fix", str(work), "--write", "--allow-dirty")
    assert result.exit_code == 1
    assert "Send-MailMessage: not applied, needs --unsafe-fixes (unsafe): " in result.stderr
    assert "Encoding Unicode" in result.stderr
    text = (work / "behaviour_differences.ps1").read_text()
    assert text.count("Send-GraphMailMessage") == 1
    result = invoke("fix", str(work), "--write", "--allow-dirty", "--unsafe-fixes")
    assert result.exit_code == 0
    assert (work / "behaviour_differences.ps1").read_text().count("Send-GraphMailMessage") == 2


def test_inline_style_writes_expanded_graph_requests(tmp_path: Path) -> None:
    out = tmp_path / "inline"
    result = invoke("fix", str(FILES / "header_help_param.ps1"), "--out", str(out), "--style", "inline")
    assert result.exit_code == 0, result.stderr
    text = (out / "header_help_param.ps1").read_text()
    assert "Invoke-RestMethod -Method Post" in text and "Send-MailMessage -To" not in text
    assert parse_problems(text) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["fix", "nowhere-at-all"], "no such file or directory"),
        (["fix", str(EXAMPLES), "--out", "x", "--write"], "exclusive"),
        (["snippet", "no-line-number"], "expected FILE:LINE"),
        (["snippet", f"{EXAMPLES / 'reports' / 'Nightly-DiskReport.ps1'}:2"], "no mail call on this line"),
        (["snippet", f"{EXAMPLES / 'graph' / 'Send-GraphNotice.ps1'}:6"], "already sends through Microsoft Graph"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_snippet_prints_both_flavours_for_a_line_inside_the_call() -> None:
    result = invoke("snippet", f"{EXAMPLES / 'onboarding' / 'New-UserWelcomeMail.ps1'}:31")
    assert result.exit_code == 0, result.stderr
    assert "Invoke-RestMethod @sendParams" in result.stdout
    assert "Send-MgUserMail -UserId $graphMailbox -BodyParameter $bodyParameter" in result.stdout
    assert "$graphMailbox = 'helpdesk@contoso.com'" in result.stdout
    assert "Welcome-Example-Only-1!" not in result.stdout  # the file's password literal never leaks
    assert parse_problems(result.stdout) == []
    only = invoke("snippet", f"{EXAMPLES / 'onboarding' / 'New-UserWelcomeMail.ps1'}:30", "--flavour", "send-mgusermail")
    assert "Invoke-RestMethod" not in only.stdout and "Send-MgUserMail" in only.stdout


def test_write_with_a_relative_file_path_patches_that_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    result = invoke("fix", "examples/reports/Weekly-LicenseSummary.ps1", "--write", "--allow-dirty")
    assert result.exit_code == 0, result.stderr
    patched = (tmp_path / "examples" / "reports" / "Weekly-LicenseSummary.ps1").read_text()
    assert "Send-GraphMailMessage @mailParams" in patched
    # Outside git, the original is copied aside first (the folder the file is in is the fix's root).
    assert sorted(p.name for p in (tmp_path / "examples" / "reports").iterdir()) == sorted(
        [".smtp2graph-backup", *(p.name for p in (EXAMPLES / "reports").iterdir())])


def test_out_inside_the_scanned_folder_is_not_scanned_again(tmp_path: Path) -> None:
    work = tmp_path / "scripts"
    shutil.copytree(EXAMPLES, work)
    assert invoke("fix", str(work), "--out", str(work / "migrated")).exit_code == 0
    again = invoke("fix", str(work), "--out", str(work / "migrated"))
    assert again.exit_code == 0
    assert not (work / "migrated" / "migrated").exists()
    assert re.search(r"[1-9]\d* fixed in [1-9]\d* file", again.stderr)


def test_the_diff_in_docs_migration_is_real_output() -> None:
    docs = (ROOT / "docs" / "migration.md").read_text(encoding="utf-8")
    block = re.search(r"```diff\n(.*?)```", docs, re.S)
    assert block is not None
    result = invoke("fix", str(EXAMPLES))
    assert block.group(1) in result.stdout


def test_write_keeps_file_permissions(tmp_path: Path) -> None:
    work = tmp_path / "w"
    shutil.copytree(EXAMPLES / "reports", work)
    script = work / "Nightly-DiskReport.ps1"
    script.chmod(0o750)
    assert invoke("fix", str(work), "--write", "--allow-dirty").exit_code == 0
    assert b"Send-GraphMailMessage" in script.read_bytes()
    assert script.stat().st_mode & 0o777 == 0o750
