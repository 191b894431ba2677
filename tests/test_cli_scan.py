"""The scan and rules commands as a user runs them (typer's CliRunner), the JSON and SARIF contracts."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from scanner.cli import app

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
# The OASIS SARIF 2.1.0 schema, kept with the tests: a plain clone validates against it too.
SARIF_SCHEMA = Path(__file__).resolve().parent / "data" / "sarif-schema-2.1.0.json"
runner = CliRunner()


def _scan(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["scan", *args, "--no-cache", "--jobs", "1"])
    return result.exit_code, result.stdout


def test_examples_terminal_view() -> None:
    code, out = _scan(str(EXAMPLES))
    assert code == 1
    assert "onboarding/New-UserWelcomeMail.ps1" in out
    assert "monitoring/Send-ServiceAlert.ps1" in out
    assert "archive/Old-Notes.ps1" not in out
    assert "script(s) break when basic auth is disabled" in out


def test_json_contract_on_examples(tmp_path: Path) -> None:
    output = tmp_path / "scan.json"
    code, _ = _scan(str(EXAMPLES), "--format", "json", "--output", str(output))
    assert code == 1
    document = json.loads(output.read_text())
    assert document["schema_version"] == "1.1"
    assert document["tool"]["name"] == "smtp2graph"
    assert set(document) >= {"root", "files_scanned", "files_failed", "findings", "errors"}
    assert document["files_scanned"] >= 8
    severities = {"info", "low", "medium", "high", "critical"}
    apis = {"send-mailmessage", "smtpclient", "mailkit", "cdo", "system-web-mail", "outlook-com", "graph-sendmail", "send-mgusermail"}
    for finding in document["findings"]:
        assert {"rule", "name", "severity", "confidence", "path", "line", "column", "end_line", "end_column",
                "message", "snippet", "call", "related_locations", "fix", "fingerprint"} <= set(finding)
        assert finding["severity"] in severities
        assert "\\" not in finding["path"] and not finding["path"].startswith("/")
        assert finding["line"] >= 1 and finding["column"] >= 1
        assert finding["fix"]["applicability"] in {"safe", "unsafe", "display-only"}
        if finding["call"] is not None:
            assert finding["call"]["api"] in apis
            for name, param in finding["call"]["params"].items():
                assert {"text", "kind"} <= set(param), name
    welcome = next(f for f in document["findings"] if f["path"] == "onboarding/New-UserWelcomeMail.ps1")
    assert welcome["severity"] == "high"
    assert welcome["call"]["params"]["From"]["text"] == "'Contoso Helpdesk <helpdesk@contoso.com>'"
    assert welcome["sender"] == "helpdesk@contoso.com"
    assert "Welcome-Example-Only-1!" not in output.read_text()


def test_sarif_validates_against_the_official_schema(tmp_path: Path) -> None:
    import jsonschema

    output = tmp_path / "scan.sarif"
    _scan(str(EXAMPLES), "--format", "sarif", "--output", str(output))
    document = json.loads(output.read_text())
    jsonschema.validate(document, json.loads(SARIF_SCHEMA.read_text()))
    run = document["runs"][0]
    assert all(r["fullDescription"]["text"] and r["helpUri"] for r in run["tool"]["driver"]["rules"])
    assert all(r["partialFingerprints"] for r in run["results"])
    assert any(r.get("relatedLocations") for r in run["results"])


def test_exit_codes_and_fail_on(tmp_path: Path) -> None:
    relay = tmp_path / "relay.ps1"
    relay.write_text("Send-MailMessage -To a@contoso.com -Subject s -SmtpServer relay.local\n")
    assert _scan(str(relay))[0] == 1  # low finding, default --fail-on low
    assert _scan(str(relay), "--fail-on", "high")[0] == 0
    assert _scan(str(relay), "--exit-zero")[0] == 0
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "x.ps1").write_text("Get-Date\n")
    assert _scan(str(clean))[0] == 0
    result = runner.invoke(app, ["scan", str(tmp_path / "missing")])
    assert result.exit_code == 2
    assert "missing" in result.stderr and "Traceback" not in result.stderr
    result = runner.invoke(app, ["scan", str(relay), "--select", "NOPE999"])
    assert result.exit_code == 2 and "unknown rule" in result.stderr


def test_select_and_ignore(tmp_path: Path) -> None:
    script = tmp_path / "both.ps1"
    script.write_text("Send-MailMessage -To a@contoso.com -SmtpServer relay.local\n$c = New-Object Net.Mail.SmtpClient('relay.local')\n$c.Send($m)\n")
    _, out = _scan(str(script), "-f", "json", "--select", "SMTP002")
    assert {f["rule"] for f in json.loads(out)["findings"]} == {"SMTP002"}
    _, out = _scan(str(script), "-f", "json", "--ignore", "SMTP002")
    assert {f["rule"] for f in json.loads(out)["findings"]} == {"SMTP001"}


def test_project_config_and_baseline(tmp_path: Path) -> None:
    (tmp_path / "a.ps1").write_text("Send-MailMessage -To a@contoso.com -SmtpServer relay.local\n")
    (tmp_path / ".smtp2graph.toml").write_text('severity = { SMTP001 = "critical" }\nexclude = ["skip/"]\n')
    (tmp_path / "skip").mkdir()
    (tmp_path / "skip" / "b.ps1").write_text("Send-MailMessage -To b@contoso.com\n")
    _, out = _scan(str(tmp_path), "-f", "json")
    document = json.loads(out)
    assert [(f["path"], f["severity"]) for f in document["findings"]] == [("a.ps1", "critical")]
    baseline = tmp_path / "baseline.json"
    baseline.write_text(out)
    (tmp_path / "a.ps1").write_text("# new comment\n\nSend-MailMessage -To a@contoso.com -SmtpServer relay.local\nSend-MailMessage -To new@contoso.com -SmtpServer relay.local\n")
    code, out = _scan(str(tmp_path), "-f", "json", "--baseline", str(baseline))
    assert [f["line"] for f in json.loads(out)["findings"]] == [4]
    (tmp_path / ".smtp2graph.toml").write_text('bogus = 1\n')
    result = runner.invoke(app, ["scan", str(tmp_path), "--no-cache"])
    assert result.exit_code == 2 and ".smtp2graph.toml" in result.stderr


def test_unused_suppression_is_reported(tmp_path: Path) -> None:
    (tmp_path / "s.ps1").write_text("# smtp2graph: ignore[SMTP001] old\nGet-Date\nSend-MailMessage -To a@contoso.com -SmtpServer relay.local\n")
    _, out = _scan(str(tmp_path), "-f", "json")
    document = json.loads(out)
    assert document["unused_suppressions"] == [{"path": "s.ps1", "line": 1, "rules": ["SMTP001"]}]
    _, text = _scan(str(tmp_path))
    assert "unused suppression" in text


def test_rules_command() -> None:
    result = runner.invoke(app, ["rules"])
    assert result.exit_code == 0 and "SMTP001" in result.stdout and "SMTP002" in result.stdout
    result = runner.invoke(app, ["rules", "SMTP001"])
    assert result.exit_code == 0 and "Why is this bad" in result.stdout
    assert runner.invoke(app, ["rules", "SMTP999"]).exit_code == 2


def test_python_dash_m_runs_the_cli() -> None:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "scanner", "rules"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "SMTP001" in proc.stdout


def test_scan_does_not_import_network_or_template_libraries(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys\nfrom scanner.cli import main\nsys.argv=['smtp2graph','scan',%r,'--no-cache','-f','sarif','-o',%r,'-j','1']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('msal','requests','jinja2') if m in sys.modules))\n"
    ) % (str(EXAMPLES), str(tmp_path / "o.sarif"))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stdout + proc.stderr


def test_report_file_is_written_with_ordinary_permissions(tmp_path: Path) -> None:
    import os

    output = tmp_path / "r.json"
    _scan(str(EXAMPLES), "-f", "json", "-o", str(output))
    umask = os.umask(0)
    os.umask(umask)
    assert output.stat().st_mode & 0o777 == 0o666 & ~umask
