"""The generated module's set-up, run in pwsh against the fake tenant (issue 25 item 6): after a "not configured"
failure, setting the SMTP2GRAPH_* variables is enough (no re-import), settings from Connect-Smtp2Graph stay, and
Get-Help Send-GraphMailMessage points to the authentication set-up."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from fakes.fixtures import APP_ID, SECRET, TENANT, cert_files, scope_with_rbac, tenant  # noqa: F401
from fakes.tenant import FakeTenant
from scanner.migrate.kit import write_module
from scanner.powershell import run_pwsh

pytestmark = pytest.mark.pwsh
MODULE = Path(__file__).resolve().parent.parent / "scanner" / "migrate" / "templates" / "module" / "Smtp2Graph.psm1"


@pytest.fixture
def module_psd1(tmp_path: Path) -> Path:
    folder = tmp_path / "Smtp2Graph"
    write_module(folder)
    return folder / "Smtp2Graph.psd1"


def clean_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMTP2GRAPH_")}
    env["NO_PROXY"] = "127.0.0.1,localhost"
    return env


def quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def settings_script(fake: FakeTenant) -> str:
    """What the kit's README step 3 has the admin set, in the same session (the secret route, for the fake)."""
    endpoint = fake.graph_url[: -len("/v1.0")] if fake.graph_url.endswith("/v1.0") else fake.graph_url
    return (f"$env:SMTP2GRAPH_TENANT_ID = {quoted(TENANT)}\n"
            f"$env:SMTP2GRAPH_CLIENT_ID = {quoted(APP_ID)}\n"
            f"$env:SMTP2GRAPH_AUTHORITY_HOST = {quoted('https://' + fake.authority_host)}\n"
            f"$env:SMTP2GRAPH_GRAPH_ENDPOINT = {quoted(endpoint)}\n"
            f"$env:SMTP2GRAPH_CLIENT_SECRET = {quoted(SECRET)}\n")


SEND = ("try {{ Send-GraphMailMessage -To 'me@contoso.com' -From 'alerts@contoso.com' -Subject {subject} "
        "-Body 'b' -ErrorAction Stop; 'SENT ' + {subject} }} catch {{ 'FAILED ' + $_.Exception.Message }}\n")


def run(module_psd1: Path, body: str) -> list[str]:
    script = (f"Import-Module -Name {quoted(str(module_psd1))}\n"
              f"& (Get-Module Smtp2Graph) {{ $script:ConfigPath = {quoted(str(module_psd1.parent / 'absent.psd1'))} }}\n"
              + body)
    result = run_pwsh(script, env=clean_environment(), timeout=120)
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line.startswith(("SENT", "FAILED"))]


def test_setting_the_variables_after_a_not_configured_failure_needs_no_reimport(module_psd1: Path,
                                                                                tenant: FakeTenant) -> None:
    scope_with_rbac(tenant)
    lines = run(module_psd1, SEND.format(subject="'first'") + settings_script(tenant) + SEND.format(subject="'second'"))
    assert lines[0].startswith("FAILED") and "Smtp2Graph is not configured" in lines[0]
    assert "no re-import needed" in lines[0] and "Get-Help Connect-Smtp2Graph" in lines[0]
    assert lines[1] == "SENT second"
    assert [m["message"]["subject"] for m in tenant.sent] == ["second"]


def test_a_wrong_variable_fixed_in_the_session_is_read_again(module_psd1: Path, tenant: FakeTenant) -> None:
    scope_with_rbac(tenant)
    wrong = settings_script(tenant).replace(APP_ID, "00000000-0000-0000-0000-00000000dead")  # a mistyped client id
    lines = run(module_psd1, wrong + SEND.format(subject="'first'") + settings_script(tenant)
                + SEND.format(subject="'second'"))
    assert lines[0].startswith("FAILED") and SECRET not in lines[0]
    assert lines[1] == "SENT second"


def test_settings_chosen_with_connect_are_kept_after_a_failure(module_psd1: Path, tenant: FakeTenant) -> None:
    """Connect-Smtp2Graph is an explicit choice: a failure does not swap it for the environment's settings."""
    scope_with_rbac(tenant)
    body = (settings_script(tenant)
            + "try { Connect-Smtp2Graph -TenantId 'contoso.onmicrosoft.com' -ClientId 'not-the-app' "
              "-ClientSecretName 'missing-secret' -ErrorAction Stop } catch { 'FAILED connect' }\n"
            + SEND.format(subject="'after-connect'"))
    lines = run(module_psd1, body)
    assert lines[-1].startswith("FAILED") and tenant.sent == []


def test_get_help_points_to_the_authentication_setup(module_psd1: Path) -> None:
    script = (f"Import-Module -Name {quoted(str(module_psd1))}\n"
              "$help = Get-Help Send-GraphMailMessage -Full | Out-String -Width 200\n"
              "$connect = Get-Help Connect-Smtp2Graph -Full | Out-String -Width 200\n"
              "[pscustomobject]@{ send = $help; connect = $connect; "
              "links = @((Get-Help Send-GraphMailMessage).relatedLinks.navigationLink.linkText) } | ConvertTo-Json")
    result = run_pwsh(script, env=clean_environment(), timeout=120)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    send = re.sub(r"\s+", " ", document["send"])
    assert "Authentication is set up once per machine or account" in send
    assert "SMTP2GRAPH_TENANT_ID" in send and "Step 3 of the kit's README.md" in send
    assert "smtp2graph verify --through module" in send
    assert "Connect-Smtp2Graph" in document["links"]
    connect = re.sub(r"\s+", " ", document["connect"])
    # Every setting the module reads is named in Connect-Smtp2Graph's help.
    pairs = re.findall(r"@\('(\w+)', '(SMTP2GRAPH_\w+)'\)", MODULE.read_text(encoding="utf-8"))
    assert len(pairs) >= 14
    for setting, variable in pairs:
        assert f"{setting} {variable}" in connect, (setting, variable)
