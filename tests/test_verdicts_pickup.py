"""An SmtpClient set to a pickup delivery method writes the message into a folder: .NET uses neither its
host nor its credential, so the basic-auth retirement does not reach the script (the service that
collects the folder is what may need migrating). The scripts here are written for these tests."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scanner.cli import app
from scanner.powershell import run_pwsh

runner = CliRunner()

CLIENT = """$client = New-Object System.Net.Mail.SmtpClient('smtp.office365.com', 587)
$client.Credentials = New-Object System.Net.NetworkCredential('ledger@woodgrove.example', $env:LEDGER_PW)
{extra}
$client.Send('ledger@woodgrove.example', 'finance@woodgrove.example', 'Ledger', 'closed')
"""

CASES = {
    "enum": ("$client.DeliveryMethod = [System.Net.Mail.SmtpDeliveryMethod]::SpecifiedPickupDirectory\n"
             "$client.PickupDirectoryLocation = 'D:\\\\mailroot\\\\pickup'", "not-affected", "SpecifiedPickupDirectory"),
    "string": ("$client.DeliveryMethod = 'SpecifiedPickupDirectory'", "not-affected", "SpecifiedPickupDirectory"),
    "iis": ("$client.DeliveryMethod = 2", "not-affected", "IIS delivery is not supported"),
    "ssl": ("$client.EnableSsl = $true\n$client.DeliveryMethod = [Net.Mail.SmtpDeliveryMethod]::SpecifiedPickupDirectory",
            "not-affected", "SSL must not be enabled"),
    "network": ("$client.EnableSsl = $true\n$client.DeliveryMethod = [System.Net.Mail.SmtpDeliveryMethod]::Network", "breaks", "SMTP AUTH basic"),
    "onepath": ("$client.EnableSsl = $true\nif ($env:OFFLINE) { $client.DeliveryMethod = 'SpecifiedPickupDirectory' }", "breaks", "SMTP AUTH basic"),
}


def _findings(tree: Path) -> dict[str, dict]:
    result = runner.invoke(app, ["scan", str(tree), "--jobs", "1", "--no-cache", "-f", "json"])
    return {f["path"]: f for f in json.loads(result.stdout)["findings"] if f["rule"] == "SMTP002"}


def test_a_pickup_delivery_method_is_not_affected_and_says_why(tmp_path: Path) -> None:
    for name, (extra, _, _) in CASES.items():
        (tmp_path / f"{name}.ps1").write_text(CLIENT.format(extra=extra), encoding="utf-8")
    found = _findings(tmp_path)
    for name, (_, outcome, words) in CASES.items():
        assessment = found[f"{name}.ps1"]["assessment"]
        assert assessment["outcome"] == outcome and words in assessment["verdict"], (name, assessment["verdict"])
    assert "host smtp.office365.com and credential are not used" in found["enum.ps1"]["assessment"]["verdict"]


def test_without_a_credential_only_the_host_is_said_to_be_unused(tmp_path: Path) -> None:
    (tmp_path / "anon.ps1").write_text("$c = New-Object System.Net.Mail.SmtpClient('relay.woodgrove.example')\n"
                                       "$c.DeliveryMethod = 'SpecifiedPickupDirectory'\n"
                                       "$c.Send('a@woodgrove.example', 'b@woodgrove.example', 's', 'b')\n", encoding="utf-8")
    verdict = _findings(tmp_path)["anon.ps1"]["assessment"]["verdict"]
    assert "(its host relay.woodgrove.example is not used)" in verdict


def test_a_pickup_delivery_method_from_web_config(tmp_path: Path) -> None:
    (tmp_path / "web.config").write_text("""<?xml version="1.0"?>
<configuration><system.net><mailSettings>
  <smtp from="portal@woodgrove.example" deliveryMethod="SpecifiedPickupDirectory">
    <specifiedPickupDirectory pickupDirectoryLocation="D:\\mailroot\\pickup" />
  </smtp>
</mailSettings></system.net></configuration>
""", encoding="utf-8")
    (tmp_path / "notify.ps1").write_text("$c = New-Object System.Net.Mail.SmtpClient\n"
                                         "$c.Send('portal@woodgrove.example', 'ops@woodgrove.example', 'Portal', 'up')\n", encoding="utf-8")
    assessment = _findings(tmp_path)["notify.ps1"]["assessment"]
    assert assessment["outcome"] == "not-affected" and "pickup folder" in assessment["verdict"]


@pytest.mark.pwsh
def test_dotnet_writes_the_file_and_never_connects(tmp_path: Path) -> None:
    # The ground truth of the verdict: a closed local port as the host and a credential, and the message
    # still lands in the folder; with EnableSsl the same Send is refused; the IIS method is not supported.
    pickup = tmp_path / "pickup"
    pickup.mkdir()
    script = f"""
$c = [System.Net.Mail.SmtpClient]::new('127.0.0.1', 9)
$c.Credentials = [System.Net.NetworkCredential]::new('u@woodgrove.example', 'not-a-real-one')
$c.DeliveryMethod = [System.Net.Mail.SmtpDeliveryMethod]::SpecifiedPickupDirectory
$c.PickupDirectoryLocation = '{pickup}'
$c.Send('a@woodgrove.example', 'b@woodgrove.example', 's', 'b')
foreach ($setup in {{ $c.EnableSsl = $true }}, {{ $c.EnableSsl = $false; $c.DeliveryMethod = 2 }}) {{
    & $setup
    try {{ $c.Send('a@woodgrove.example', 'b@woodgrove.example', 's', 'b'); 'sent' }}
    catch {{ $e = $_.Exception; while ($e.InnerException) {{ $e = $e.InnerException }}; $e.Message }}
}}
"""
    run = run_pwsh(script, env=dict(os.environ))
    assert run.returncode == 0, run.stderr
    assert len(list(pickup.glob("*.eml"))) == 1
    lines = [line for line in run.stdout.splitlines() if line.strip()]
    assert "SSL must not be enabled" in lines[0] and "IIS delivery is not supported" in lines[1]
