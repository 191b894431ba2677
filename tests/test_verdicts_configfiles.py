"""Values from the configuration files a script loads (issue 13, item 1).

The tree tests/fixtures/scan/configtree holds one job that reads its relay and sender from each
kind of file the issue lists, one that names a file outside the tree and one whose file is not
committed, and an SmtpClient that takes its settings from the web.config beside it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scanner.cli import app

TREE = Path(__file__).parent / "fixtures" / "scan" / "configtree"
runner = CliRunner()


def _scan(tree: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["scan", str(tree), "--jobs", "1", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def by_subject() -> dict[str, dict[str, object]]:
    _, out, _ = _scan(TREE, "-f", "json", "--no-cache")
    findings = [f for f in json.loads(out)["findings"] if f["rule"].startswith("SMTP")]
    return {str(f["call"]["params"]["Subject"]["text"]).strip("'"): f for f in findings}


KINDS = {
    "json": ("backup/backup-mail.json", "Notify.Relay", "backup-bot@fourthcoffee.example"),
    "psd1": ("backup/conf/defaults.psd1", "MailHost", "backup-psd1@fourthcoffee.example"),
    "xml": ("backup/site.xml", "site.notification.relay", "backup-xml@fourthcoffee.example"),
    "ini": ("backup/mail.ini", "relay", "backup-ini@fourthcoffee.example"),
    "yaml": ("backup/mail.yaml", "notify.relay", "backup-yaml@fourthcoffee.example"),
    "csv": ("backup/recipients.csv", "Relay", "backup-csv@fourthcoffee.example"),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kind_of_configuration_file_gives_the_server_and_sender_with_file_and_key(kind: str, by_subject: dict[str, dict]) -> None:
    finding = by_subject[kind]
    path, key, sender = KINDS[kind]
    assert finding["assessment"]["breaks"] is True and finding["assessment"]["server"] == "exchange-online-submission"
    assert finding["sender"] == sender
    server = finding["call"]["params"]["SmtpServer"]
    assert server["provenance"] == "config-file" and server["source"] == f"{path}: {key}"
    assert finding["fix"]["applicability"] == "safe"


def test_a_dot_sourced_script_sets_the_variables(by_subject: dict[str, dict]) -> None:
    finding = by_subject["dot-sourced"]
    assert finding["assessment"]["breaks"] is True and finding["sender"] == "backup-dot@fourthcoffee.example"
    assert finding["call"]["params"]["SmtpServer"]["source"].startswith("shared/mail-vars.ps1: $JobRelay")


def test_a_splat_read_from_a_data_file(by_subject: dict[str, dict]) -> None:
    finding = by_subject["psd1 splat"]
    params = finding["call"]["params"]
    assert params["SmtpServer"]["kind"] == "splat" and params["SmtpServer"]["source"] == "backup/conf/splat.psd1: SmtpServer"
    assert params["SmtpServer"]["text"] == "$mailSplat['SmtpServer']"  # valid PowerShell if a fix copies it
    assert finding["assessment"]["breaks"] is True and finding["sender"] == "backup-splat@fourthcoffee.example"


def test_files_outside_the_tree_or_missing_are_reported_with_their_path(by_subject: dict[str, dict]) -> None:
    outside = by_subject["outside"]
    assert outside["assessment"]["breaks"] is None
    assert "D:\\Ops\\mail-settings.json is outside the scanned tree" in outside["call"]["params"]["SmtpServer"]["reason"]
    (undecided,) = outside["assessment"]["undecided"]
    assert undecided["declare"] == '[assume] "mail-settings.json:Relay" = "smtp.office365.com"'
    missing = by_subject["missing"]
    assert "backup/not-committed.json is not in the scanned tree" in missing["call"]["params"]["SmtpServer"]["reason"]


def test_web_config_mail_settings_beside_the_script_and_its_password_never_shown() -> None:
    _, out, _ = _scan(TREE, "-f", "json", "--no-cache")
    assert "Plain-Text-In-Config-7" not in out
    digest = [f for f in json.loads(out)["findings"] if f["path"] == "intranet/Send-Digest.ps1"]
    (finding,) = digest
    assert finding["assessment"]["breaks"] is True and finding["sender"] == "intranet@fourthcoffee.example"
    server = finding["call"]["params"]["SmtpServer"]
    assert server["provenance"] == "config-file" and server["source"] == "intranet/web.config: system.net/mailSettings/smtp/network/@host"


def test_an_assumed_config_key_decides_a_file_outside_the_tree(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(TREE, tree)
    (tree / ".smtp2graph.toml").write_text('[assume]\n"mail-settings.json:Relay" = "relay.fourthcoffee.local"\n')
    _, out, _ = _scan(tree, "-f", "json", "--no-cache")
    (outside,) = [f for f in json.loads(out)["findings"] if f["call"]["params"].get("Subject", {}).get("text") == "'outside'"]
    assert outside["assessment"]["breaks"] is False
    assert outside["call"]["params"]["SmtpServer"]["provenance"] == "declared"


def test_editing_a_configuration_file_changes_the_next_scan_even_with_the_cache(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(TREE, tree)
    cache = tmp_path / "cache"

    def json_verdict() -> object:
        _, out, _ = _scan(tree, "-f", "json", "--cache-dir", str(cache))
        (finding,) = [f for f in json.loads(out)["findings"] if f["call"]["params"].get("Subject", {}).get("text") == "'json'"]
        return finding["assessment"]["breaks"]

    assert json_verdict() is True
    assert json_verdict() is True  # a second, warm run
    config = tree / "backup" / "backup-mail.json"
    config.write_text(config.read_text().replace("smtp.office365.com", "relay.fourthcoffee.local"))
    assert json_verdict() is False


def test_explain_unknown_names_the_config_key_to_declare(tmp_path: Path) -> None:
    _, out, _ = _scan(TREE, "--no-cache", "--explain-unknown")
    assert '"not-committed.json:Relay" = "smtp.office365.com"' in out
    assert "backup/Invoke-Backup.ps1:28" in out and "backup/Invoke-Backup.ps1:31" in out


def test_variables_built_from_each_other_do_not_loop(tmp_path: Path) -> None:
    (tmp_path / "loop.ps1").write_text(
        "$a = $b.Server\n$b = $a.Settings\n$node = $node.Parent\n"
        "$smtp = New-Object Net.Mail.SmtpClient($a, 587)\n$smtp.Credentials = $c\n$smtp.Send($m)\n"
        "Send-MailMessage -To x@y.example -From $node.Mail -Subject s -SmtpServer $b.Host -UseSsl -Credential $c\n"
    )
    _, out, _ = _scan(tmp_path, "-f", "json", "--no-cache")
    document = json.loads(out)
    assert document["errors"] == []
    assert sorted(f["line"] for f in document["findings"]) == [6, 7]


ANCHORS = {
    # subject: (variable, how the script names the file beside it)
    "command path": ("cfgA", 'Get-Content "$(Split-Path $PSCommandPath)\\notify.json" | ConvertFrom-Json'),
    "current folder": ("cfgB", "Get-Content .\\notify.json | ConvertFrom-Json"),
    "invocation path": ("cfgC", "Get-Content (Join-Path (Split-Path -Parent $MyInvocation.MyCommand.Path) 'notify.json') -Raw | ConvertFrom-Json"),
    "lines, no -Raw": ("cfgD", 'Get-Content "$PSScriptRoot/notify.json" | ConvertFrom-Json'),
}


def test_every_way_of_naming_the_file_beside_the_script_is_followed(tmp_path: Path) -> None:
    """$PSCommandPath, the current folder (as a script run from its own folder assumes), $MyInvocation and
    Get-Content without -Raw (lines joined by ConvertFrom-Json) all reach the same file of the tree."""
    job = tmp_path / "nightly"
    job.mkdir()
    (job / "notify.json").write_text('{"Mail": {"Host": "smtp.office365.com", "Sender": "nightly@tailspin.example"}}',
                                     encoding="utf-8")
    (job / "run.ps1").write_text("".join(
        f"${name} = {read}\nSend-MailMessage -To ops@tailspin.example -From ${name}.Mail.Sender -Subject '{subject}' "
        f"-SmtpServer ${name}.Mail.Host -Port 587 -UseSsl -Credential $cred\n"
        for subject, (name, read) in ANCHORS.items()), encoding="utf-8")
    _, out, _ = _scan(tmp_path, "-f", "json", "--no-cache")
    found = {str(f["call"]["params"]["Subject"]["text"]).strip("'"): f
             for f in json.loads(out)["findings"] if f["rule"].startswith("SMTP")}
    assert set(found) == set(ANCHORS)
    for subject, finding in found.items():
        server = finding["call"]["params"]["SmtpServer"]
        assert server["provenance"] == "config-file", subject
        assert server["source"] == "nightly/notify.json: Mail.Host", subject
        assert finding["sender"] == "nightly@tailspin.example", subject
        assert finding["assessment"]["breaks"] is True, subject


INLINE_JOBS = {
    # A JSON here-string piped to ConvertFrom-Json, read through nested keys.
    "piped": """$conf = @'
{ "Relay": { "Name": "smtp.office365.com", "Port": 587 }, "Sender": "nightly-piped@tailspin.example" }
'@ | ConvertFrom-Json
Send-MailMessage -SmtpServer $conf.Relay.Name -Port $conf.Relay.Port -UseSsl -Credential (Get-Credential) -From $conf.Sender -To 'ops@tailspin.example' -Subject 'piped' -Body 'x'
""",
    # The document in a variable first, converted with -InputObject and a switch that changes no key.
    "variable": """$raw = @"
{ "relay": "smtp.office365.com", "from": "nightly-var@tailspin.example" }
"@
$conf = ConvertFrom-Json -InputObject $raw -AsHashtable
Send-MailMessage -SmtpServer $conf['relay'] -UseSsl -Credential (Get-Credential) -From $conf['from'] -To 'ops@tailspin.example' -Subject 'variable' -Body 'x'
""",
    # YAML read by the powershell-yaml module's ConvertFrom-Yaml.
    "yaml": """$conf = @'
relay: smtp.office365.com
from: nightly-yaml@tailspin.example
'@ | ConvertFrom-Yaml
Send-MailMessage -SmtpServer $conf.relay -UseSsl -Credential (Get-Credential) -From $conf.from -To 'ops@tailspin.example' -Subject 'yaml' -Body 'x'
""",
    # key = value lines read by ConvertFrom-StringData, the document its positional argument.
    "stringdata": """$conf = ConvertFrom-StringData @'
Relay = smtp.office365.com
From = nightly-sd@tailspin.example
'@
Send-MailMessage -SmtpServer $conf.Relay -UseSsl -Credential (Get-Credential) -From $conf.From -To 'ops@tailspin.example' -Subject 'stringdata' -Body 'x'
""",
}


def test_a_document_the_script_writes_itself_is_read_like_a_configuration_file(tmp_path: Path) -> None:
    for name, text in INLINE_JOBS.items():
        (tmp_path / f"{name}.ps1").write_text(text, encoding="utf-8")
    _, out, _ = _scan(tmp_path, "-f", "json", "--no-cache")
    found = {f["path"]: f for f in json.loads(out)["findings"] if f["rule"] == "SMTP001"}
    assert sorted(found) == ["piped.ps1", "stringdata.ps1", "variable.ps1", "yaml.ps1"]
    for name in INLINE_JOBS:
        finding = found[f"{name}.ps1"]
        assert finding["assessment"]["breaks"] is True and finding["assessment"]["server"] == "exchange-online-submission", name
        assert finding["sender"] == f"nightly-{ {'piped': 'piped', 'variable': 'var', 'stringdata': 'sd', 'yaml': 'yaml'}[name] }@tailspin.example"
        server = finding["call"]["params"]["SmtpServer"]
        assert server["source"].startswith(f"{name}.ps1 (line 1): "), server
    assert found["piped.ps1"]["call"]["params"]["SmtpServer"]["source"] == "piped.ps1 (line 1): Relay.Name"


def test_a_document_that_is_not_constant_or_not_readable_stays_undecided(tmp_path: Path) -> None:
    (tmp_path / "expanded.ps1").write_text("""$conf = @"
{ "relay": "$env:RELAY" }
"@ | ConvertFrom-Json
Send-MailMessage -SmtpServer $conf.relay -UseSsl -Credential (Get-Credential) -From 'a@tailspin.example' -To 'b@tailspin.example' -Subject 's' -Body 'x'
""", encoding="utf-8")
    (tmp_path / "broken.ps1").write_text("""$conf = @'
{ "relay": "smtp.office365.com",
'@ | ConvertFrom-Json
Send-MailMessage -SmtpServer $conf.relay -UseSsl -Credential (Get-Credential) -From 'a@tailspin.example' -To 'b@tailspin.example' -Subject 's' -Body 'x'
""", encoding="utf-8")
    (tmp_path / "filtered.ps1").write_text("""$conf = @'
[ { "relay": "smtp.office365.com" }, { "relay": "relay.tailspin.example" } ]
'@ | ConvertFrom-Json | Select-Object -Last 1
Send-MailMessage -SmtpServer $conf.relay -UseSsl -Credential (Get-Credential) -From 'a@tailspin.example' -To 'b@tailspin.example' -Subject 's' -Body 'x'
""", encoding="utf-8")
    _, out, _ = _scan(tmp_path, "-f", "json", "--no-cache")
    found = {f["path"]: f for f in json.loads(out)["findings"] if f["rule"] == "SMTP001"}
    for name in ("expanded.ps1", "broken.ps1", "filtered.ps1"):
        assert found[name]["assessment"]["breaks"] is None, name
    assert "cannot be parsed" in found["broken.ps1"]["call"]["params"]["SmtpServer"]["reason"]


def test_a_password_in_a_document_the_script_writes_is_a_secret_and_never_shown(tmp_path: Path) -> None:
    secret = "Ts-Night!ly-42q"
    (tmp_path / "job.ps1").write_text(f"""$conf = @'
{{ "relay": "smtp.office365.com", "user": "nightly@tailspin.example", "pass": "{secret}" }}
'@ | ConvertFrom-Json
$cred = New-Object System.Management.Automation.PSCredential($conf.user, (ConvertTo-SecureString $conf.pass -AsPlainText -Force))
Send-MailMessage -SmtpServer $conf.relay -UseSsl -Credential $cred -From $conf.user -To 'ops@tailspin.example' -Subject 's' -Body 'x'
""", encoding="utf-8")
    for fmt in ("json", "sarif", "markdown", "html"):
        _, out, _ = _scan(tmp_path, "-f", fmt, "--no-cache")
        assert secret not in out, fmt
    _, out, _ = _scan(tmp_path, "-f", "json", "--no-cache")
    finding = next(f for f in json.loads(out)["findings"] if f["rule"] == "SMTP001")
    assert finding["assessment"]["breaks"] is True and finding["sender"] == "nightly@tailspin.example"
