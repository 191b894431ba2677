"""What `smtp2graph fix` says (issue 25 item 3): one line per mail call, a summary whose counts are counts of
those lines, no "unsafe, unsafe", the next step after --out and --write; and --write where git cannot undo it
copies every original first (byte for byte), or replaces with no copy only when told --no-backup."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from scanner.cli import app

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
FILES = ROOT / "tests" / "fixtures" / "migrate" / "files"
CALL_LINE = re.compile(r"^(?P<where>\S+:\d+): (?P<command>.+?): (?P<state>.+?) \((?P<safety>safe|unsafe|display-only)\): ")
SUMMARY = re.compile(r"^(\d+) mail call\(s\): (.*)$")


def fix(*args: str) -> Result:
    return CliRunner().invoke(app, ["fix", *args])


def summary_counts(stderr: str) -> tuple[int, dict[str, int]]:
    line = next(line for line in stderr.splitlines() if SUMMARY.match(line))
    match = SUMMARY.match(line)
    assert match is not None
    counts: dict[str, int] = {}
    for part in match.group(2).split(", "):
        number, _, words = part.partition(" ")
        counts[re.sub(r" in \d+ file\(s\)$", "", words)] = int(number)
    return int(match.group(1)), counts


def call_lines(stderr: str) -> list[re.Match[str]]:
    return [m for m in (CALL_LINE.match(line) for line in stderr.splitlines()) if m]


@pytest.mark.parametrize("extra", [[], ["--unsafe-fixes"]], ids=["safe", "unsafe-fixes"])
@pytest.mark.parametrize("folder", [EXAMPLES, FILES], ids=["examples", "migrate-fixtures"])
def test_the_summary_counts_the_lines_printed(folder: Path, extra: list[str]) -> None:
    result = fix(str(folder), *extra)
    lines = call_lines(result.stderr)
    total, counts = summary_counts(result.stderr)
    assert total == len(lines) == sum(counts.values())
    for outcome, count in counts.items():
        assert count == sum(1 for m in lines if m["state"].startswith(outcome.replace("need ", "not applied, needs "))
                            or m["state"] == outcome), (outcome, result.stderr)
    assert "unsafe, unsafe" not in result.stderr and "safe, safe" not in result.stderr


def test_each_state_reads_once() -> None:
    result = fix(str(FILES))
    by_where = {m["where"]: m for m in call_lines(result.stderr)}
    unsafe = by_where["behaviour_differences.ps1:2"]
    assert (unsafe["state"], unsafe["safety"]) == ("not applied, needs --unsafe-fixes", "unsafe")
    assert (by_where["behaviour_differences.ps1:3"]["state"], by_where["behaviour_differences.ps1:3"]["safety"]) == (
        "would be fixed", "safe")
    relay = by_where["display_only.ps1:1"]
    assert (relay["state"], relay["safety"]) == ("no change needed", "display-only")
    assert "no change needed (display-only): Sends without a password" in result.stderr  # said once, not twice
    pickup = by_where["display_only.ps1:4"]  # CDO through the local pickup folder: no SMTP AUTH here
    assert (pickup["state"], pickup["safety"]) == ("no change needed", "display-only")
    total, counts = summary_counts(result.stderr)
    assert counts == {"would be fixed": 10, "need --unsafe-fixes": 4, "no change needed": 3}
    examples = {m["where"]: m for m in call_lines(fix(str(EXAMPLES)).stderr)}
    cdo = examples["legacy/cdo-alert.ps1:23"]  # CDO with a password to Exchange Online: breaks, no drop-in
    assert (cdo["state"], cdo["safety"]) == ("to rewrite by hand", "display-only")


def test_a_call_the_retirement_does_not_touch_says_why_not_how_to_rewrite_it() -> None:
    result = fix(str(EXAMPLES))
    outlook = next(m for m in call_lines(result.stderr) if m["where"] == "legacy/outlook-weekly.ps1:12")
    assert outlook["state"] == "no change needed"
    line = next(line for line in result.stderr.splitlines() if line.startswith("legacy/outlook-weekly.ps1:12"))
    assert "the basic-auth retirement does not break it" in line and "replace it by hand" not in line


def test_out_ends_with_the_kit_readme_as_the_next_step(tmp_path: Path) -> None:
    out = tmp_path / "migrated"
    result = fix(str(EXAMPLES), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"Next: follow {out / 'smtp2graph-kit' / 'README.md'}: register and scope the app")
    assert "smtp2graph verify" in last and (out / "smtp2graph-kit" / "README.md").is_file()


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_write_outside_git_copies_each_original_first(tmp_path: Path) -> None:
    work = tmp_path / "scripts"
    shutil.copytree(EXAMPLES, work)
    before = snapshot(work)
    result = fix(str(work), "--write")
    assert result.exit_code == 0, result.stderr
    backups = list((work / ".smtp2graph-backup").iterdir())
    folder = next(p for p in backups if p.is_dir())
    copied = snapshot(folder)
    changed = {name for name, data in snapshot(work).items() if not name.startswith(".smtp2graph-backup/")
               and before.get(name) != data}
    assert set(copied) == changed and len(changed) == 5
    for name, data in copied.items():
        assert data == before[name]  # byte for byte the file that was replaced
    assert f"so the 5 original file(s) were copied to {folder}" in result.stderr
    assert "is not in a git work tree" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("Next: review the change (compare with the backup)")
    # The copies are never scanned (nor fixed) again: the backup folder ignores itself.
    assert (work / ".smtp2graph-backup" / ".gitignore").read_text(encoding="utf-8").splitlines()[-1] == "*"
    again = CliRunner().invoke(app, ["scan", str(work), "--no-cache", "--format", "json", "--exit-zero", "--quiet"])
    assert ".smtp2graph-backup" not in again.stdout
    # Undo: the copies put back give the original tree.
    for name, data in copied.items():
        (work / name).write_bytes(data)
    restored = {k: v for k, v in snapshot(work).items() if not k.startswith(".smtp2graph-backup/")}
    assert restored == before


def test_no_backup_replaces_with_a_warning_and_no_copy(tmp_path: Path) -> None:
    work = tmp_path / "scripts"
    shutil.copytree(EXAMPLES, work)
    result = fix(str(work), "--write", "--no-backup")
    assert result.exit_code == 0, result.stderr
    assert not (work / ".smtp2graph-backup").exists()
    assert re.search(r"^smtp2graph: warning: .* is not in a git work tree and --no-backup was given: the files are "
                     r"replaced with no copy of the originals$", result.stderr, re.M)


def test_a_backup_that_cannot_be_made_stops_that_write(tmp_path: Path) -> None:
    work = tmp_path / "scripts"
    shutil.copytree(EXAMPLES / "reports", work)
    (work / ".smtp2graph-backup").write_text("a file where the backup folder should be\n", encoding="utf-8")
    before = snapshot(work)
    result = fix(str(work), "--write")
    assert result.exit_code == 2
    assert snapshot(work) == before  # nothing replaced without its copy


def test_nothing_to_write_leaves_no_backup_folder(tmp_path: Path) -> None:
    work = tmp_path / "scripts"
    shutil.copytree(EXAMPLES / "relay", work)
    result = fix(str(work), "--write")
    assert result.exit_code == 0, result.stderr
    assert not (work / ".smtp2graph-backup").exists()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    work = tmp_path / "repo"
    shutil.copytree(EXAMPLES, work)
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "PATH": "/usr/bin:/bin", "HOME": str(work)}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "scripts"]):
        subprocess.run(["git", "-C", str(work), *args], check=True, capture_output=True, env=env)
    return work


def test_write_in_a_clean_git_tree_needs_no_backup(repo: Path) -> None:
    result = fix(str(repo), "--write")
    assert result.exit_code == 0, result.stderr
    assert not (repo / ".smtp2graph-backup").exists()
    assert result.stderr.strip().splitlines()[-1].startswith("Next: review the change (git diff)")


def test_write_in_a_dirty_git_tree_with_allow_dirty_copies_the_originals(repo: Path) -> None:
    script = repo / "reports" / "Nightly-DiskReport.ps1"
    script.write_bytes(script.read_bytes() + b"# local edit, not committed\n")
    edited = script.read_bytes()
    result = fix(str(repo), "--write", "--allow-dirty")
    assert result.exit_code == 0, result.stderr
    folder = next(p for p in (repo / ".smtp2graph-backup").iterdir() if p.is_dir())
    assert (folder / "reports" / "Nightly-DiskReport.ps1").read_bytes() == edited  # the uncommitted edit is kept
    status = subprocess.run(["git", "-C", str(repo), "status", "--porcelain"], capture_output=True, text=True).stdout
    assert ".smtp2graph-backup" not in status  # git ignores the copies
