"""What only Windows PowerShell 5.1 can show about the Smtp2Graph module, checked statically (issue 11, item 10).

Windows PowerShell 5.1 cannot run on the project's machines, and its Invoke-RestMethod fails with a
System.Net.WebException whose HttpWebResponse cannot be built in PowerShell 7: these paths are read, not run.
Everything that PowerShell 7 can show is in the Pester suite (tests/test_migrate_kit.py::test_pester_tests_of_the_module).
"""

from __future__ import annotations

import re

import pytest

from scanner.migrate.kit import module_sources


@pytest.fixture(scope="module")
def module_text() -> str:
    return module_sources()["Smtp2Graph.psm1"].decode("utf-8-sig")


def _function(text: str, name: str) -> str:
    match = re.search(rf"^function {re.escape(name)} \{{\r?\n(.*?)^\}}", text, re.M | re.S)
    assert match, name
    return match.group(1)


def test_error_body_is_read_from_the_response_stream_when_error_details_is_empty(module_text: str) -> None:
    """5.1 only: without Content-Length, ErrorDetails stays empty and Graph's error JSON sits in the response stream."""
    body = _function(module_text, "Get-Smtp2GraphHttpError")
    stream_read = body.index("GetResponseStream()")
    assert "if (-not $body -and $response -is [System.Net.HttpWebResponse])" in body
    assert body.index("ErrorDetails.Message") < stream_read < body.index("ConvertFrom-Json")
    assert "ReadToEnd()" in body[stream_read:]


def test_token_audience_and_managed_identity_resource_follow_the_graph_endpoint(module_text: str) -> None:
    """National clouds: nothing but the default endpoint names graph.microsoft.com."""
    assert module_text.count("graph.microsoft.com") == 1
    assert "$script:DefaultGraphEndpoint = 'https://graph.microsoft.com'" in module_text
    assert "'graph.microsoft.us', 'dod-graph.microsoft.us', 'microsoftgraph.chinacloudapi.cn'" in module_text
    assert "scope                 = Get-Smtp2GraphScope -Settings $Settings" in module_text
    assert "$resource = Get-Smtp2GraphResource -Settings $Settings" in _function(module_text, "Get-Smtp2GraphManagedIdentityToken")


def test_manifest_declares_the_dotnet_floor_of_get_rsa_private_key() -> None:
    """5.1 only: RSACertificateExtensions.GetRSAPrivateKey needs .NET Framework 4.6; PowerShell 7 ignores the key."""
    manifest = module_sources()["Smtp2Graph.psd1"].decode("utf-8-sig")
    assert re.search(r"DotNetFrameworkVersion\s*=\s*'4\.6'", manifest)
    assert re.search(r"CLRVersion\s*=\s*'4\.0'", manifest)


def test_pfx_key_is_not_left_on_disk_per_token(module_text: str) -> None:
    """Windows only: DefaultKeySet writes a key file per import; the PFX is imported once and cached, ephemeral on 7."""
    body = _function(module_text, "Get-Smtp2GraphCertificate")
    assert "$script:Smtp2GraphCertificateCache.ContainsKey($cacheKey)" in body
    assert "EphemeralKeySet" in body
    assert "HasPrivateKey" in body
