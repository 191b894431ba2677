"""Issue 13 item 1, the two gaps left: key=value files read with hand-written split loops, and
Import-Csv rows (piped into ForEach-Object, or walked with foreach) whose columns agree or differ.

tests/fixtures/scan/keyvaluetree/jobs holds four jobs that each build a hashtable from a file's
`key=value` lines a different way; tests/fixtures/scan/rowstree/notify holds three row loops: rows
that agree, rows that differ (one row goes to Exchange Online, one to a local relay) and rows that
pass a filter first.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from scanner.cli import app

FIXTURES = Path(__file__).parent / "fixtures" / "scan"
runner = CliRunner()


def _scan(tree: Path) -> dict[str, dict[str, Any]]:
    result = runner.invoke(app, ["scan", str(tree), "--jobs", "1", "-f", "json", "--no-cache"])
    document = json.loads(result.stdout)
    assert document["errors"] == []
    findings = [f for f in document["findings"] if f["rule"].startswith("SMTP")]
    by_subject: dict[str, dict[str, Any]] = {}
    for finding in findings:
        subject = finding["call"]["params"]["Subject"]["text"].strip("'")
        by_subject[subject] = finding
    return by_subject


@pytest.fixture(scope="module")
def key_value() -> dict[str, dict[str, Any]]:
    return _scan(FIXTURES / "keyvaluetree")


@pytest.fixture(scope="module")
def rows() -> dict[str, dict[str, Any]]:
    return _scan(FIXTURES / "rowstree")


# --------------------------------------------------------------------------- key=value split loops

SPLIT_LOOPS = {
    # subject: (file, SmtpServer key, sender, breaks)
    "ini split pipeline": ("jobs/settings.ini", "SmtpServer", "archive@adatum.example", True),
    "ini split foreach": ("jobs/mail.conf", "Server", "purge@adatum.example", True),
    "ini split regex": ("jobs/relay.cfg", "host", "sync@adatum.example", False),
    "ini last wins": ("jobs/twice.ini", "SmtpServer", "dup@adatum.example", False),
    "ini match loop": ("jobs/rotate.ini", "relay", "rotate@adatum.example", True),
    "ini switch file": ("jobs/report.properties", "MailHost", "report@adatum.example", False),
    "ini sections": ("jobs/inventory.ini", "Notification.Relay", "inventory@adatum.example", True),
}


@pytest.mark.parametrize("subject", sorted(SPLIT_LOOPS))
def test_a_table_built_by_a_split_loop_gives_server_and_sender_with_file_and_key(subject: str, key_value: dict[str, dict[str, Any]]) -> None:
    finding = key_value[subject]
    path, key, sender, breaks = SPLIT_LOOPS[subject]
    assert finding["assessment"]["breaks"] is breaks
    assert finding["sender"] == sender
    server = finding["call"]["params"]["SmtpServer"]
    assert server["provenance"] == "config-file" and server["source"] == f"{path}: {key}"


def test_the_split_loop_verdicts_are_the_ones_powershell_would_reach(key_value: dict[str, dict[str, Any]]) -> None:
    # [Mail] and comment lines add no key; `.Get_Item('Server')` and `$h['Port']` read the table;
    # the key set twice keeps its last value (mailgw, not Exchange Online).
    assert key_value["ini split pipeline"]["fix"]["applicability"] == "safe"
    purge = key_value["ini split foreach"]
    assert purge["call"]["api"] == "smtpclient" and purge["assessment"]["server"] == "exchange-online-submission"
    assert purge["call"]["params"]["Port"]["source"] == "jobs/mail.conf: Port"
    assert key_value["ini last wins"]["assessment"]["server_text"] == "mailgw.adatum.local"


def test_an_untrimmed_split_does_not_find_a_key_written_with_spaces(tmp_path: Path) -> None:
    # `$p = $line.Split('='); $h[$p[0]] = $p[1]` on "Server = x" stores the key "Server ": $h['Server'] is $null.
    (tmp_path / "mail.ini").write_text("Server = smtp.office365.com\n")
    (tmp_path / "job.ps1").write_text(
        "$h = @{}\nforeach ($line in Get-Content \"$PSScriptRoot\\mail.ini\") { $p = $line.Split('='); $h[$p[0]] = $p[1] }\n"
        "Send-MailMessage -To a@adatum.example -From b@adatum.example -Subject s -SmtpServer $h['Server'] -UseSsl -Credential $c\n"
    )
    (finding,) = _scan(tmp_path).values()
    assert finding["assessment"]["breaks"] is None
    assert finding["call"]["params"]["SmtpServer"]["source"] == "mail.ini: Server"


def test_a_split_loop_over_a_file_outside_the_tree_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "job.ps1").write_text(
        "$cfg = @{}\nGet-Content 'E:\\Jobs\\mail.ini' | ForEach-Object { $k, $v = $_ -split '=', 2; $cfg[$k.Trim()] = $v.Trim() }\n"
        "Send-MailMessage -To a@adatum.example -From b@adatum.example -Subject s -SmtpServer $cfg.SmtpServer -UseSsl -Credential $c\n"
    )
    (finding,) = _scan(tmp_path).values()
    assert finding["assessment"]["breaks"] is None
    assert "E:\\Jobs\\mail.ini is outside the scanned tree" in finding["call"]["params"]["SmtpServer"]["reason"]


def test_a_hashtable_filled_from_something_else_is_not_read_as_a_file(tmp_path: Path) -> None:
    (tmp_path / "mail.ini").write_text("SmtpServer=smtp.office365.com\n")
    (tmp_path / "job.ps1").write_text(
        "$cfg = @{}\nGet-Content \"$PSScriptRoot\\mail.ini\" | ForEach-Object { $cfg[$_] = Get-Date }\n"
        "Send-MailMessage -To a@adatum.example -From b@adatum.example -Subject s -SmtpServer $cfg.SmtpServer -UseSsl -Credential $c\n"
    )
    (finding,) = _scan(tmp_path).values()
    assert finding["assessment"]["breaks"] is None  # no split on '=': the table's keys are not the file's


# --------------------------------------------------------------------------- Import-Csv rows


def test_piped_rows_that_agree_give_the_value_with_file_and_column(rows: dict[str, dict[str, Any]]) -> None:
    finding = rows["site rows agree"]
    assert finding["assessment"]["breaks"] is True and finding["sender"] == "sites@wingtip.example"
    server = finding["call"]["params"]["SmtpServer"]
    assert server["text"] == "$_.Server" and server["source"] == "notify/sites.csv: Server"
    # Rows that differ on the recipient are ordinary run-time values: the fix stays safe.
    assert finding["fix"]["applicability"] == "safe"


def test_rows_that_differ_are_each_assessed_and_the_worst_verdict_applies(rows: dict[str, dict[str, Any]]) -> None:
    finding = rows["branch rows differ"]
    assessment = finding["assessment"]
    assert assessment["breaks"] is True and assessment["server"] == "exchange-online-submission"
    assert "rows 1, 3 of notify/branches.csv: breaks (smtp.office365.com)" in assessment["verdict"]
    assert "row 2 of notify/branches.csv: not affected (relay.wingtip.local)" in assessment["verdict"]
    server = finding["call"]["params"]["SmtpServer"]
    assert server["kind"] == "unresolved"
    assert "'smtp.office365.com' (rows 1, 3); 'relay.wingtip.local' (row 2)" in server["reason"]
    # Graph would also take over the relay row's mail: not a safe fix.
    assert finding["fix"]["applicability"] == "unsafe" and "SmtpServer" in finding["fix"]["reason"]


def test_filtered_rows_that_differ_stay_unknown_with_the_reason(rows: dict[str, dict[str, Any]]) -> None:
    finding = rows["depot rows filtered"]
    assert finding["assessment"]["breaks"] is None
    reason = finding["call"]["params"]["SmtpServer"]["reason"]
    assert "'relay1.wingtip.local' (row 1); 'relay2.wingtip.local' (row 2)" in reason and "Where-Object" in reason


def test_rows_that_differ_only_between_relays_are_not_affected(tmp_path: Path) -> None:
    (tmp_path / "hubs.csv").write_text("Hub,Server\nA,hub-a.wingtip.local\nB,hub-b.wingtip.local\n")
    (tmp_path / "job.ps1").write_text(
        "$hubs = Import-Csv \"$PSScriptRoot\\hubs.csv\"\nforeach ($h in $hubs) {\n"
        "    Send-MailMessage -To a@wingtip.example -From b@wingtip.example -Subject s -SmtpServer $h.Server\n}\n"
    )
    (finding,) = _scan(tmp_path).values()
    assert finding["assessment"]["breaks"] is False
    assert "row 1 of hubs.csv: not affected (hub-a.wingtip.local)" in finding["assessment"]["verdict"]
    assert "row 2 of hubs.csv: not affected (hub-b.wingtip.local)" in finding["assessment"]["verdict"]


def test_a_delimiter_and_a_header_are_read_as_import_csv_reads_them(rows: dict[str, dict[str, Any]]) -> None:
    semicolon = rows["semicolon rows"]
    assert semicolon["assessment"]["breaks"] is True
    assert semicolon["call"]["params"]["SmtpServer"]["source"] == "regions/regions.csv: Server"
    header = rows["header rows"]
    assert header["assessment"]["breaks"] is False  # both relays are local hubs without a password
    assert header["call"]["params"]["SmtpServer"]["source"] == "regions/hubs.txt: Relay"
    assert "row 1 of regions/hubs.txt: not affected (hub-w.wingtip.local)" in header["assessment"]["verdict"]


def test_a_culture_delimiter_is_not_guessed(tmp_path: Path) -> None:
    (tmp_path / "r.csv").write_text("Server\nsmtp.office365.com\n")
    (tmp_path / "job.ps1").write_text(
        "Import-Csv \"$PSScriptRoot\\r.csv\" -UseCulture | ForEach-Object {\n"
        "    Send-MailMessage -To a@wingtip.example -From b@wingtip.example -Subject s -SmtpServer $_.Server -UseSsl -Credential $c\n}\n"
    )
    (finding,) = _scan(tmp_path).values()
    assert finding["assessment"]["breaks"] is None  # the list separator of the machine's culture decides the columns


def test_many_rows_are_assessed_per_distinct_value_and_too_many_values_stay_unknown(tmp_path: Path) -> None:
    two = "Server\n" + "".join("smtp.office365.com\n" if i % 2 else "hub.wingtip.local\n" for i in range(600))
    many = "Server\n" + "".join(f"hub{i}.wingtip.local\n" for i in range(30))
    (tmp_path / "two.csv").write_text(two)
    (tmp_path / "many.csv").write_text(many)
    (tmp_path / "job.ps1").write_text(
        "".join(
            f"Import-Csv \"$PSScriptRoot\\{name}.csv\" | ForEach-Object {{\n"
            f"    Send-MailMessage -To a@wingtip.example -From b@wingtip.example -Subject {name} -SmtpServer $_.Server -UseSsl -Credential $c\n}}\n"
            for name in ("two", "many")
        )
    )
    found = _scan(tmp_path)
    assert found["two"]["assessment"]["breaks"] is True
    assert "rows 2, 4, 6, 8, 10, 12, 14, 16 of two.csv: breaks" in found["two"]["assessment"]["verdict"]
    assert found["many"]["assessment"]["breaks"] is None
    assert "has 30 distinct values in the rows of many.csv" in found["many"]["call"]["params"]["SmtpServer"]["reason"]


def test_convertfrom_csv_rows_with_a_delimiter(tmp_path: Path) -> None:
    (tmp_path / "mail.txt").write_text("Server|From\nsmtp.office365.com|alerts@wingtip.example\n")
    (tmp_path / "job.ps1").write_text(
        "$rows = Get-Content \"$PSScriptRoot\\mail.txt\" | ConvertFrom-Csv -Delimiter '|'\nforeach ($r in $rows) {\n"
        "    Send-MailMessage -To b@wingtip.example -From $r.From -Subject s -SmtpServer $r.Server -UseSsl -Credential $c\n}\n"
    )
    (finding,) = _scan(tmp_path).values()
    assert finding["assessment"]["breaks"] is True and finding["sender"] == "alerts@wingtip.example"
    assert finding["call"]["params"]["SmtpServer"]["source"] == "mail.txt: Server"


def test_a_value_the_loop_leaves_padded_is_not_taken_as_the_host(tmp_path: Path) -> None:
    # `$p = $line.Split('=')` on "Server= smtp.office365.com" passes ' smtp.office365.com' (no Trim()).
    (tmp_path / "mail.ini").write_text("Server= smtp.office365.com\n")
    (tmp_path / "job.ps1").write_text(
        "$h = @{}\nforeach ($line in Get-Content \"$PSScriptRoot\\mail.ini\") { $p = $line.Split('='); $h[$p[0]] = $p[1] }\n"
        "Send-MailMessage -To a@adatum.example -From b@adatum.example -Subject s -SmtpServer $h['Server'] -UseSsl -Credential $c\n"
    )
    (finding,) = _scan(tmp_path).values()
    assert finding["assessment"]["breaks"] is None
    assert "' smtp.office365.com', with spaces the script does not trim" in finding["call"]["params"]["SmtpServer"]["reason"]
