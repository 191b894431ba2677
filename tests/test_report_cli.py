"""`smtp2graph report`: merge JSON files; a bad file is one line with its path and reason."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from scanner.cli import app

FIXTURES = Path(__file__).parent / "fixtures" / "reports"


def test_report_merges_files_and_reports_bad_ones(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"schema_version": "1.0", "findings": [', encoding="utf-8")
    output = tmp_path / "estate.html"
    result = CliRunner().invoke(app, ["report", str(FIXTURES / "scan-ops.json"), str(FIXTURES / "scan-hr.json"),
                                      str(broken), "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert f"smtp2graph: error: {broken}: invalid JSON at line 1" in result.output
    assert "Traceback" not in result.output
    page = output.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "hr-automation" in page and "ops-scripts" in page


def test_report_markdown_to_stdout() -> None:
    result = CliRunner().invoke(app, ["report", str(FIXTURES / "scan-hr.json"), str(FIXTURES / "audit-contoso.json"),
                                      "--format", "markdown"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("# smtp2graph migration report")
    assert "## Tenant audit: contoso.onmicrosoft.com" in result.output


def test_report_exits_2_when_nothing_is_usable(tmp_path: Path) -> None:
    folder = tmp_path / "dir.json"
    folder.mkdir()
    result = CliRunner().invoke(app, ["report", str(tmp_path / "none.json"), str(folder)])
    assert result.exit_code == 2
    assert f"smtp2graph: error: {tmp_path / 'none.json'}: no such file" in result.output
    assert f"smtp2graph: error: {folder}: is a directory, expected a JSON file" in result.output


def test_report_unwritable_output(tmp_path: Path) -> None:
    # A missing folder is created (and said); a folder that cannot exist (a file stands in its place) is an error.
    (tmp_path / "not-a-dir").write_text("x", encoding="utf-8")
    target = tmp_path / "not-a-dir" / "r.html"
    result = CliRunner().invoke(app, ["report", str(FIXTURES / "scan-hr.json"), "-o", str(target)])
    assert result.exit_code == 2
    assert f"smtp2graph: error: {target}: cannot write the report" in result.output



# ---- one error style for every command, and help a person reads at 80 columns ----

import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

import pytest  # noqa: E402


def run(*args: str, columns: int = 80) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": str(columns), "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "scanner", *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize(("args", "expected"), [
    (("scan", "--bogus"), "smtp2graph: error: --bogus: no such option"),
    (("scan", "--format", "nope"), "smtp2graph: error: --format: 'nope' is not one of"),
    (("scan", "--jobs", "many"), "smtp2graph: error: --jobs: "),
    (("report",), "smtp2graph: error: FILE.json: missing argument (see `smtp2graph report --help`)"),
    (("snippet",), "smtp2graph: error: FILE:LINE: missing argument"),
    (("frobnicate",), "smtp2graph: error: no such command 'frobnicate'"),
    (("scan", "/no/such/folder"), "smtp2graph: error: /no/such/folder: no such file or directory"),
    (("report", "/no/such.json"), "smtp2graph: error: /no/such.json: no such file"),
])
def test_usage_errors_are_one_line_in_the_one_style(args: tuple[str, ...], expected: str) -> None:
    done = run(*args)
    assert done.returncode == 2
    first = done.stderr.splitlines()[0]
    assert first.startswith(expected), done.stderr
    assert "╭" not in done.stderr and "Usage:" not in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("command", ["scan", "report", "fix", "verify", "audit", "kit", "snippet", "rules"])
def test_help_reads_at_80_columns_without_type_noise(command: str) -> None:
    done = run(command, "--help")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"Usage: smtp2graph {command}")
    assert max(len(line) for line in lines) <= 80
    for noise in ("<bool>", "<list[", "<str>", "<int>", "<path>", "╭", "│"):
        assert noise not in done.stdout, (command, noise)
