"""The kit's admin scripts, run under pwsh against stand-in ExchangeOnlineManagement and Microsoft.Graph modules.

The stand-ins record every call (name and bound parameters) to a JSON-lines file and answer from a small state
given in the environment, so the tests see what the scripts would do to a tenant (issue 11, item 11): Mail.ReadWrite
scoped like Mail.Send, both tenant-wide consents removed, an unscoped role assignment never taken as done, and a
certificate created and exported off Windows.
"""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from scanner.estate.senders import SenderPlan
from scanner.migrate.kit import write_kit
from scanner.powershell import run_pwsh

pytestmark = pytest.mark.pwsh

MAIL_SEND = "b633e1c5-b582-4048-a93e-9f11b44c7e96"
MAIL_READ_WRITE = "e2a3a72e-5f79-4c64-b1b1-878b674786c9"
USER_READ_ALL = "df021288-bdef-4463-88db-98f22de89214"

# Each stand-in logs its name and bound parameters; byte arrays are logged as base64.
LOGGER = r"""
function Write-FakeCall {
    param([string]$Name, [System.Collections.IDictionary]$Bound)
    $copy = [ordered]@{}
    foreach ($key in @($Bound.Keys)) {
        $value = $Bound[$key]
        if ($value -is [byte[]]) { $value = [Convert]::ToBase64String($value) }
        $copy[$key] = $value
    }
    $line = [ordered]@{ command = $Name; parameters = $copy } | ConvertTo-Json -Compress -Depth 6
    Add-Content -LiteralPath $env:FAKE_KIT_LOG -Value $line -Encoding utf8
}
function Get-FakeState { Get-Content -LiteralPath $env:FAKE_KIT_STATE -Raw | ConvertFrom-Json }
"""

FAKE_EXCHANGE = LOGGER + r"""
function Get-ConnectionInformation { [pscustomobject]@{ State = 'Connected' } }
function Connect-ExchangeOnline { param([switch]$ShowBanner) Write-FakeCall 'Connect-ExchangeOnline' $PSBoundParameters }
function Get-ServicePrincipal { param($Identity) $null }
function New-ServicePrincipal { param($AppId, $ObjectId, $DisplayName) Write-FakeCall 'New-ServicePrincipal' $PSBoundParameters }
function Get-ManagementScope { param($Identity) $null }
function New-ManagementScope { param($Name, $RecipientRestrictionFilter) Write-FakeCall 'New-ManagementScope' $PSBoundParameters }
function Set-ManagementScope { param($Identity, $RecipientRestrictionFilter) Write-FakeCall 'Set-ManagementScope' $PSBoundParameters }
function Get-ManagementRoleAssignment {
    param($RoleAssignee, $Role)
    @((Get-FakeState).roleAssignments | Where-Object { $_.Role -eq $Role })
}
function Set-ManagementRoleAssignment { param($Identity, $CustomResourceScope) Write-FakeCall 'Set-ManagementRoleAssignment' $PSBoundParameters }
function New-ManagementRoleAssignment { param($App, $Role, $CustomResourceScope) Write-FakeCall 'New-ManagementRoleAssignment' $PSBoundParameters }
function Test-ServicePrincipalAuthorization { param($Identity, $Resource) [pscustomobject]@{ InScope = $true } }
"""

FAKE_GRAPH = LOGGER + r"""
function Connect-MgGraph { param([string[]]$Scopes) Write-FakeCall 'Connect-MgGraph' $PSBoundParameters }
function Get-MgContext { [pscustomobject]@{ TenantId = 'tenant-1' } }
function Get-MgServicePrincipal {
    param($Filter)
    if ($Filter -like "*00000003-0000-0000-c000-000000000000*") {
        return [pscustomobject]@{ Id = 'graph-sp'; AppRoles = @(
            [pscustomobject]@{ Value = 'Mail.Send'; Id = 'b633e1c5-b582-4048-a93e-9f11b44c7e96' },
            [pscustomobject]@{ Value = 'Mail.ReadWrite'; Id = 'e2a3a72e-5f79-4c64-b1b1-878b674786c9' }) }
    }
    [pscustomobject]@{ Id = 'app-sp' }
}
function Get-MgServicePrincipalAppRoleAssignment { param($ServicePrincipalId) @((Get-FakeState).appRoleAssignments) }
function Remove-MgServicePrincipalAppRoleAssignment { param($ServicePrincipalId, $AppRoleAssignmentId) Write-FakeCall 'Remove-MgServicePrincipalAppRoleAssignment' $PSBoundParameters }
function New-MgApplication {
    param($DisplayName, $SignInAudience, $KeyCredentials, $RequiredResourceAccess)
    Write-FakeCall 'New-MgApplication' @{ DisplayName = $DisplayName; Key = $KeyCredentials[0].Key; Type = $KeyCredentials[0].Type }
    [pscustomobject]@{ AppId = 'app-1' }
}
function New-MgServicePrincipal { param($AppId) [pscustomobject]@{ Id = 'app-sp' } }
function New-MgServicePrincipalAppRoleAssignment {
    param($ServicePrincipalId, $BodyParameter)
    Write-FakeCall 'New-MgServicePrincipalAppRoleAssignment' @{ AppRoleId = $BodyParameter.AppRoleId }
}
"""


def _fake_modules(root: Path) -> Path:
    modules = root / "fake-modules"
    for name, source in (("ExchangeOnlineManagement", FAKE_EXCHANGE), ("Microsoft.Graph.Applications", FAKE_GRAPH)):
        folder = modules / name
        folder.mkdir(parents=True)
        (folder / f"{name}.psm1").write_text(source, encoding="utf-8")
    return modules


def _run_kit_script(tmp_path: Path, command: str, state: dict[str, Any]) -> tuple[int, str, list[dict[str, Any]]]:
    kit = tmp_path / "kit"
    write_kit(kit, SenderPlan())
    modules = _fake_modules(tmp_path)
    log = tmp_path / "calls.jsonl"
    state_file = tmp_path / "state.json"
    state_file.write_text(json.dumps(state), encoding="utf-8")
    script = (
        f"$env:PSModulePath = '{modules}' + [System.IO.Path]::PathSeparator + $env:PSModulePath\n"
        f"Set-Location -LiteralPath '{kit}'\n"
        f"{command}\n"
    )
    env = {**os.environ, "FAKE_KIT_LOG": str(log), "FAKE_KIT_STATE": str(state_file)}
    run = run_pwsh(script, env=env, timeout=180)
    calls = [json.loads(line) for line in log.read_text(encoding="utf-8-sig").splitlines() if line.strip()] if log.exists() else []
    return run.returncode, run.stdout + run.stderr, calls


def _named(calls: list[dict[str, Any]], command: str) -> list[dict[str, Any]]:
    return [call["parameters"] for call in calls if call["command"] == command]


def test_scope_moves_an_unscoped_assignment_scopes_mail_readwrite_and_removes_both_consents(tmp_path: Path) -> None:
    state = {
        "roleAssignments": [
            {"Name": "Application Mail.Send-app-1", "Identity": "assignment-unscoped", "Role": "Application Mail.Send",
             "CustomResourceScope": ""},
        ],
        "appRoleAssignments": [
            {"Id": "grant-send", "AppRoleId": MAIL_SEND},
            {"Id": "grant-readwrite", "AppRoleId": MAIL_READ_WRITE},
            {"Id": "grant-other", "AppRoleId": USER_READ_ALL},
        ],
    }
    code, output, calls = _run_kit_script(
        tmp_path,
        "./Set-Smtp2GraphScope.ps1 -AppId app-1 -ServicePrincipalObjectId sp-1 -Mailbox 'alerts@contoso.com' "
        "-IncludeMailReadWrite -RemoveTenantWideConsent -WarningAction Continue",
        state,
    )
    assert code == 0, output
    # The unscoped (tenant-wide) Mail.Send assignment is not "done": it is moved to the scope.
    assert _named(calls, "Set-ManagementRoleAssignment") == [
        {"Identity": "assignment-unscoped", "CustomResourceScope": "smtp2graph senders"}
    ]
    assert _named(calls, "New-ManagementRoleAssignment") == [
        {"App": "app-1", "Role": "Application Mail.ReadWrite", "CustomResourceScope": "smtp2graph senders"}
    ]
    assert "no scope: every mailbox" in output
    removed = sorted(p["AppRoleAssignmentId"] for p in _named(calls, "Remove-MgServicePrincipalAppRoleAssignment"))
    assert removed == ["grant-readwrite", "grant-send"]


def test_scope_leaves_a_correctly_scoped_assignment_alone(tmp_path: Path) -> None:
    state = {
        "roleAssignments": [
            {"Name": "a", "Identity": "assignment-scoped", "Role": "Application Mail.Send",
             "CustomResourceScope": "smtp2graph senders"},
        ],
        "appRoleAssignments": [],
    }
    code, output, calls = _run_kit_script(
        tmp_path, "./Set-Smtp2GraphScope.ps1 -AppId app-1 -ServicePrincipalObjectId sp-1 -Mailbox 'alerts@contoso.com'", state
    )
    assert code == 0, output
    assert _named(calls, "Set-ManagementRoleAssignment") == []
    assert _named(calls, "New-ManagementRoleAssignment") == []
    assert _named(calls, "New-ManagementScope") == [
        {"Name": "smtp2graph senders", "RecipientRestrictionFilter": "PrimarySmtpAddress -eq 'alerts@contoso.com'"}
    ]


def test_register_off_windows_refuses_to_create_a_certificate_it_cannot_keep(tmp_path: Path) -> None:
    code, output, calls = _run_kit_script(tmp_path, "./Register-Smtp2GraphApp.ps1", {})
    assert code != 0
    assert "-ExportFolder" in output
    assert calls == []  # refused before signing in to the tenant


def test_register_off_windows_creates_and_exports_the_certificate_for_the_machines_that_run_the_scripts(
    tmp_path: Path,
) -> None:
    export = tmp_path / "export"
    check = (
        "$pfx = Get-ChildItem -LiteralPath '{export}' -Filter *.pfx\n"
        "$loaded = New-Object System.Security.Cryptography.X509Certificates.X509Certificate2 -ArgumentList $pfx.FullName, 'kit-test-only'\n"
        "'PFX-HAS-KEY ' + $loaded.HasPrivateKey\n"
        "'PFX-THUMBPRINT ' + $loaded.Thumbprint\n"
    ).format(export=export)
    code, output, calls = _run_kit_script(
        tmp_path,
        "$password = ConvertTo-SecureString -String 'kit-test-only' -AsPlainText -Force\n"
        f"$result = ./Register-Smtp2GraphApp.ps1 -ExportFolder '{export}' -PfxPassword $password -IncludeMailReadWrite\n"
        "'RESULT-THUMBPRINT ' + $result.CertificateThumbprint\n" + check,
        {},
    )
    assert code == 0, output
    pfx = list(export.glob("*.pfx"))
    cer = list(export.glob("*.cer"))
    assert len(pfx) == 1 and len(cer) == 1
    assert stat.S_IMODE(pfx[0].stat().st_mode) == 0o600
    assert "PFX-HAS-KEY True" in output
    thumbprint = output.split("RESULT-THUMBPRINT ", 1)[1].split()[0]
    assert f"PFX-THUMBPRINT {thumbprint}" in output
    # The app's key credential is the exported public certificate.
    application = _named(calls, "New-MgApplication")
    assert len(application) == 1 and application[0]["Type"] == "AsymmetricX509Cert"
    assert application[0]["Key"] == base64.b64encode(cer[0].read_bytes()).decode()
    assert sorted(p["AppRoleId"] for p in _named(calls, "New-MgServicePrincipalAppRoleAssignment")) == sorted(
        [MAIL_SEND, MAIL_READ_WRITE]
    )
    for instruction in ("Import-PfxCertificate", "SMTP2GRAPH_CERT_PATH", "SMTP2GRAPH_CERT_PASSWORD_SECRET",
                        "-IncludeMailReadWrite", "-RemoveTenantWideConsent"):
        assert instruction in output, instruction
