"""Declared estate facts in .smtp2graph.toml and `scan --explain-unknown` (issue 13, item 4)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from scanner.cli import app

runner = CliRunner()

SCRIPT = """param([Parameter(Mandatory)][string]$RelayHost, [string]$From = 'bot@northwind.example')
Send-MailMessage -To 'ops@northwind.example' -From $From -Subject 'a' -SmtpServer $RelayHost -UseSsl -Credential $c
Send-MailMessage -To 'ops@northwind.example' -From $From -Subject 'b' -SmtpServer 'mail.northwind.example' -UseSsl -Credential $c
Send-MailMessage -To 'ops@northwind.example' -From $From -Subject 'c' -SmtpServer 'scan-relay.northwind.local'
Send-MailMessage -To 'ops@northwind.example' -From $From -Subject 'd' -SmtpServer 'gateway.northwind.local' -Credential $c
Send-MailMessage -To 'ops@northwind.example' -From $From -Subject 'e' -SmtpServer $env:NW_SMTP -UseSsl -Credential $c
"""

ESTATE = """exchange-online-hosts = ["mail.northwind.example"]
[relay-hosts]
"scan-relay.northwind.local" = "anonymous"
"gateway.northwind.local" = "authenticated"
[assume]
"$RelayHost" = "smtp.office365.com"
"$env:NW_SMTP" = "scan-relay.northwind.local"
"""


def _scan(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["scan", *args, "--no-cache", "--jobs", "1"])
    return result.exit_code, result.stdout, result.stderr


def _by_subject(out: str) -> dict[str, dict[str, object]]:
    findings = json.loads(out)["findings"]
    return {f["call"]["params"]["Subject"]["text"].strip("'"): f for f in findings}


def test_without_declarations_two_verdicts_are_unknown_and_a_cname_is_taken_for_a_relay(tmp_path: Path) -> None:
    (tmp_path / "send.ps1").write_text(SCRIPT)
    _, out, _ = _scan(str(tmp_path), "-f", "json")
    found = _by_subject(out)
    assert found["a"]["assessment"]["breaks"] is None and found["e"]["assessment"]["breaks"] is None
    assert found["b"]["assessment"]["breaks"] is False  # an unknown name is a relay unless declared


def test_declared_hosts_and_assumed_values_decide_verdicts_and_are_marked_declared(tmp_path: Path) -> None:
    (tmp_path / "send.ps1").write_text(SCRIPT)
    (tmp_path / ".smtp2graph.toml").write_text(ESTATE)
    _, out, _ = _scan(str(tmp_path), "-f", "json")
    found = _by_subject(out)
    a = found["a"]
    assert a["assessment"]["breaks"] is True and a["assessment"]["server"] == "exchange-online-submission"
    server = a["call"]["params"]["SmtpServer"]
    assert server["provenance"] == "declared" and '"$RelayHost" = "smtp.office365.com"' in server["source"]
    assert any("$RelayHost" in d for d in a["assessment"]["declared"])
    b = found["b"]["assessment"]
    assert b["breaks"] is True and b["declared"] == ['.smtp2graph.toml: exchange-online-hosts = ["mail.northwind.example"]']
    assert "declared Exchange Online" in b["verdict"]
    c = found["c"]["assessment"]
    assert c["breaks"] is False and "anonymous" in c["declared"][0]
    d = found["d"]["assessment"]
    assert d["breaks"] is True and "submits to Exchange Online with SMTP AUTH basic" in d["verdict"]
    e = found["e"]
    assert e["assessment"]["breaks"] is False and e["call"]["params"]["SmtpServer"]["provenance"] == "declared"


def test_changing_the_declarations_changes_the_cached_verdict(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "send.ps1").write_text(SCRIPT)
    cache = tmp_path / "cache"
    first = runner.invoke(app, ["scan", str(tree), "-f", "json", "--cache-dir", str(cache), "--jobs", "1"])
    (tree / ".smtp2graph.toml").write_text(ESTATE)
    second = runner.invoke(app, ["scan", str(tree), "-f", "json", "--cache-dir", str(cache), "--jobs", "1"])
    assert _by_subject(first.stdout)["a"]["assessment"]["breaks"] is None
    assert _by_subject(second.stdout)["a"]["assessment"]["breaks"] is True


def test_a_wrong_declaration_is_a_usage_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "send.ps1").write_text(SCRIPT)
    for bad in ('relay-hosts = { "r.local" = "sometimes" }\n', 'exchange-online-hosts = "one"\n', '[assume]\nSmtpServer = "x"\n'):
        (tmp_path / ".smtp2graph.toml").write_text(bad)
        code, _, err = _scan(str(tmp_path))
        assert code == 2 and ".smtp2graph.toml" in err and "Traceback" not in err, bad


def test_explain_unknown_lists_the_deciding_value_and_the_entry_to_declare(tmp_path: Path) -> None:
    (tmp_path / "send.ps1").write_text(SCRIPT)
    code, out, _ = _scan(str(tmp_path), "--explain-unknown")
    assert code == 1
    assert "2 call(s) with an unknown verdict" in out
    assert "send.ps1:2" in out and "send.ps1:6" in out
    assert 'declare: [assume] "$RelayHost" = "smtp.office365.com"' in out
    assert '"$env:NW_SMTP" = "smtp.office365.com"  # 1 call(s): send.ps1:6' in out
    # With a machine report on stdout, the explanation goes to stderr and the report stays valid JSON.
    _, out, err = _scan(str(tmp_path), "--explain-unknown", "-f", "json")
    json.loads(out)
    assert "call(s) with an unknown verdict" in err
    # Once declared, nothing is left to explain.
    (tmp_path / ".smtp2graph.toml").write_text(ESTATE)
    _, out, _ = _scan(str(tmp_path), "--explain-unknown")
    assert "No unknown verdicts" in out
