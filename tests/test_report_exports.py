"""The action plan exports: CSV (every column, formula injection) and XLSX (read back with openpyxl)."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scanner.cli import app
from scanner.reports.action_plan import COLUMNS, format_csv, format_xlsx, neutralise
from scanner.reports.builder import merge_documents

FIXTURES = Path(__file__).parent / "fixtures" / "reports"
sys.path.insert(0, str(FIXTURES))
from estate import make_estate  # noqa: E402

runner = CliRunner()


@pytest.fixture(scope="module")
def estate_json(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_estate(tmp_path_factory.mktemp("estate"))
    output = root.parent / "estate.json"
    result = runner.invoke(app, ["scan", str(root), "--format", "json", "--output", str(output), "--no-cache", "--jobs", "1"])
    assert result.exit_code == 1, result.stderr
    return output


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_has_every_column_for_every_finding(estate_json: Path) -> None:
    document = json.loads(estate_json.read_text(encoding="utf-8"))
    text = format_csv(merge_documents([document]))
    header = next(csv.reader(io.StringIO(text)))
    assert tuple(header) == COLUMNS
    assert {"repository", "path", "line", "rule", "severity", "breaks", "verdict", "server", "sender",
            "credential account", "fix safety", "owner", "due", "fingerprint"} <= set(header)
    table = rows(text)
    assert len(table) == len(document["findings"]) == 5
    invoice = next(r for r in table if r["path"] == "jobs/Send-Invoice.ps1")
    source = next(f for f in document["findings"] if f["path"] == "billing/jobs/Send-Invoice.ps1")
    assert invoice == {
        "repository": "billing", "path": "jobs/Send-Invoice.ps1", "line": "2", "column": "1", "rule": "SMTP001",
        "severity": "high", "status": "Will break", "breaks": "yes", "verdict": source["assessment"]["verdict"],
        "server": "smtp.office365.com", "sender": "alerts@contoso.com", "credential account": "",
        "fix safety": "safe", "work step": "1", "owner": "'@contoso/billing-team", "owner source": "CODEOWNERS",
        "due": "2026-12-31", "message": source["message"], "fingerprint": source["fingerprint"],
        "retirement": "SMTP AUTH basic auth", "retirement date": "2026-12-31",  # issue 24: each send's own deadline
    }
    unknown = next(r for r in table if r["path"] == "Old.ps1")
    assert (unknown["repository"], unknown["breaks"], unknown["status"], unknown["work step"]) == (
        "misc", "unknown", "May break (verdict unknown)", "3")
    # The order of work: breaking with a safe fix, then may-break, then the rest.
    assert [r["work step"] for r in table] == sorted(r["work step"] for r in table)


@pytest.mark.parametrize("payload", ["=HYPERLINK(\"http://x\")", "+1+2", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"])
def test_csv_neutralises_formula_injection(payload: str) -> None:
    document = json.loads((FIXTURES / "scan-ops.json").read_text(encoding="utf-8"))
    for finding in document["findings"]:
        finding["path"] = payload + ".ps1"
        finding["message"] = payload
        finding["sender"] = payload
        finding["owner"] = payload
    text = format_csv(merge_documents([document]))
    for row in rows(text):
        for column in ("path", "message", "owner"):
            assert row[column].startswith("'"), (column, row[column])
    for cell in (c for r in csv.reader(io.StringIO(text)) for c in r):
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    assert neutralise("ordinary") == "ordinary" and neutralise("-x") == "'-x"


def test_xlsx_summary_all_findings_and_a_sheet_per_owner(estate_json: Path) -> None:
    import openpyxl

    document = json.loads(estate_json.read_text(encoding="utf-8"))
    data = format_xlsx(merge_documents([document]))
    book = openpyxl.load_workbook(io.BytesIO(data))
    owners = {f["owner"] or "(no owner)" for f in document["findings"]}
    assert book.sheetnames[:2] == ["Summary", "All findings"]
    assert set(book.sheetnames[2:]) == {name.replace("/", "_") for name in owners}
    everything = list(book["All findings"].iter_rows(values_only=True))
    assert tuple(everything[0]) == COLUMNS
    assert len(everything) == 1 + len(document["findings"])
    csv_rows = list(csv.reader(io.StringIO(format_csv(merge_documents([document])))))
    assert [[("" if v is None else str(v)) for v in row] for row in everything] == csv_rows  # the same data
    per_owner = sum(book[name].max_row - 1 for name in book.sheetnames[2:])
    assert per_owner == len(document["findings"])
    summary = {row[0]: row[1:] for row in book["Summary"].iter_rows(values_only=True) if row[0]}
    assert summary["Will break"][:2] == (2, 2) and summary["May break (verdict unknown)"][:2] == (2, 2)
    # Nothing in the workbook is a formula.
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f"


def test_scan_writes_xlsx_and_refuses_a_terminal(estate_json: Path, tmp_path: Path) -> None:
    import openpyxl

    source = json.loads(estate_json.read_text(encoding="utf-8"))["root"]
    out = tmp_path / "plan.xlsx"
    result = runner.invoke(app, ["scan", source, "--format", "xlsx", "--output", str(out), "--no-cache", "--jobs", "1"])
    assert result.exit_code == 1, result.stderr
    assert openpyxl.load_workbook(out)["All findings"].max_row == 6


def test_report_merges_produce_csv_and_xlsx(estate_json: Path, tmp_path: Path) -> None:
    import openpyxl

    ops = FIXTURES / "scan-ops.json"
    out = tmp_path / "estate.csv"
    result = runner.invoke(app, ["report", str(estate_json), str(ops), "--format", "csv", "--output", str(out)])
    assert result.exit_code == 0, result.stderr
    table = rows(out.read_text(encoding="utf-8"))
    assert {r["repository"] for r in table} == {"billing", "hr-tools", "misc", "ops-scripts"}
    assert len(table) == 5 + len(json.loads(ops.read_text(encoding="utf-8"))["findings"])
    xlsx = tmp_path / "estate.xlsx"
    result = runner.invoke(app, ["report", str(estate_json), str(ops), "--format", "xlsx", "--output", str(xlsx)])
    assert result.exit_code == 0, result.stderr
    assert openpyxl.load_workbook(xlsx)["All findings"].max_row == len(table) + 1


def test_output_to_a_device_writes_to_it_instead_of_replacing_it(tmp_path: Path) -> None:
    import os
    import stat

    from scanner.run import write_output

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    import threading

    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    write_output(fifo, "report\n")
    reader.join(10)
    assert received == [b"report\n"]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # still the pipe, not a file renamed over it
    if os.path.exists("/dev/null"):
        write_output(Path("/dev/null"), b"binary")
        assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
