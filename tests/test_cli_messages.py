"""Small slips of the command line (issue 25 item 7): one prefix for every error and warning line, an
`--output` into a missing folder is created and said, a file that is not PowerShell is not "1 file scanned"."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scanner.cli import app

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
PREFIX = re.compile(r"^smtp2graph: (error|warning): ")


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def problem_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if re.search(r"\b(error|warning)\b:", line)]


def test_a_text_file_is_not_scanned_as_a_script(tmp_path: Path) -> None:
    readme = tmp_path / "readme.txt"
    readme.write_text("Send-MailMessage -SmtpServer smtp.office365.com\n", encoding="utf-8")
    code, out, err = invoke("scan", str(readme), "--no-cache")
    assert code == 2 and out == ""
    assert f"smtp2graph: warning: {readme}: not a PowerShell file (.ps1, .psm1, .psd1): not scanned" in err
    assert "smtp2graph: error: nothing to scan" in err
    assert "1 file" not in err


def test_a_text_file_beside_a_script_is_left_out_with_a_warning(tmp_path: Path) -> None:
    readme = tmp_path / "readme.txt"
    readme.write_text("hello\n", encoding="utf-8")
    script = tmp_path / "Scan-To-Mail.ps1"
    script.write_bytes((EXAMPLES / "relay" / "Scan-To-Mail.ps1").read_bytes())
    code, out, err = invoke("scan", str(readme), str(script), "--no-cache", "--format", "json", "--exit-zero")
    assert code == 0
    assert json.loads(out)["files_scanned"] == 1
    assert "not a PowerShell file" in err and "1 file(s) scanned" in err


@pytest.mark.parametrize("command", [
    ["scan", str(EXAMPLES), "--no-cache", "--format", "json", "--exit-zero", "--quiet"],
    ["scan", str(EXAMPLES), "--no-cache", "--format", "markdown", "--exit-zero", "--quiet"],
])
def test_output_into_a_missing_folder_is_created_and_said(tmp_path: Path, command: list[str]) -> None:
    target = tmp_path / "reports" / "2026-12" / "scan.out"
    code, out, err = invoke(*command, "--output", str(target))
    assert code == 0, err
    assert target.is_file() and out == ""
    assert f"smtp2graph: created the folder {target.parent} for the report" in err


def test_output_into_an_existing_folder_says_nothing_about_folders(tmp_path: Path) -> None:
    target = tmp_path / "scan.json"
    code, _, err = invoke("scan", str(EXAMPLES), "--no-cache", "--format", "json", "--exit-zero", "--quiet",
                          "--output", str(target))
    assert code == 0 and target.is_file() and "created the folder" not in err


def test_every_error_line_has_the_one_prefix(tmp_path: Path) -> None:
    binary = tmp_path / "scripts"
    binary.mkdir()
    (binary / "tool.ps1").write_bytes(b"\x00\x01\x02binary\x00" * 20)
    (binary / "Old.ps1").write_text("# smtp2graph: ignore[SMTP001] old\nWrite-Output 'no mail'\n", encoding="utf-8")
    runs = [
        invoke("scan", str(binary), "--no-cache", "--format", "json", "--exit-zero"),
        invoke("scan", str(binary), "--no-cache"),
        invoke("scan", str(tmp_path / "missing")),
        invoke("verify", "--tenant", "contoso.onmicrosoft.com", "--to", "me@contoso.com", "--dry-run"),
        invoke("verify", "--tenant", "contoso.onmicrosoft.com", "--from", "not-an-address", "--to", "me@contoso.com"),
        invoke("audit", "--days", "999", "--tenant", "contoso.onmicrosoft.com"),
        invoke("fix", str(tmp_path / "missing")),
        invoke("rules", "NOPE999"),
        invoke("report", str(tmp_path / "missing.json")),
    ]
    seen = 0
    for code, out, err in runs:
        lines = problem_lines(err) + [line for line in out.splitlines() if re.search(r"^(error|warning):", line)
                                      or "smtp2graph: error" in line or "smtp2graph: warning" in line]
        for line in lines:
            assert PREFIX.match(line), line
            seen += 1
        assert "smtp2graph verify:" not in err and "smtp2graph audit:" not in err
    assert seen >= 9


def test_report_output_into_a_missing_folder_is_created_and_said(tmp_path: Path) -> None:
    scan = tmp_path / "scan.json"
    code, _, err = invoke("scan", str(EXAMPLES), "--no-cache", "--format", "json", "--exit-zero", "--quiet",
                          "--output", str(scan))
    assert code == 0, err
    target = tmp_path / "estate" / "report.md"
    code, _, err = invoke("report", str(scan), "--format", "markdown", "--output", str(target))
    assert code == 0 and target.is_file()
    assert f"smtp2graph: created the folder {target.parent} for the report" in err
