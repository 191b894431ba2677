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
    assert f"error: {broken}: invalid JSON at line 1" in result.output
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
    assert f"error: {tmp_path / 'none.json'}: no such file" in result.output
    assert f"error: {folder}: is a directory, expected a JSON file" in result.output


def test_report_unwritable_output(tmp_path: Path) -> None:
    target = tmp_path / "missing-dir" / "r.html"
    result = CliRunner().invoke(app, ["report", str(FIXTURES / "scan-hr.json"), "-o", str(target)])
    assert result.exit_code == 2
    assert f"error: {target}: cannot write the report" in result.output

