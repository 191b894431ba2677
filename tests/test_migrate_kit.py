"""The generated Smtp2Graph module and migration kit: clean parses, Send-MailMessage's parameters, the kit command."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import tree_sitter as ts
import tree_sitter_powershell as tsp
from typer.testing import CliRunner

from scanner.cli import app
from scanner.powershell import find_pester, run_pwsh
from scanner.migrate.kit import (
    KIT_SCRIPTS,
    MODULE_FILES,
    module_sources,
    render_kit,
    write_kit,
)
from scanner.migrate.syntax import parse_problems
from scanner.estate.senders import DecideItem, OutOfScope, SenderPlan, SenderUse, plan_of_document

SENDERS = SenderPlan(
    mailboxes=[
        SenderUse("alerts@contoso.com", ["reports/Nightly.ps1", "backup.ps1"], credential="explicit", smtp_server="smtp.office365.com"),
        SenderUse("o'brien@contoso.com", ["hr/onboard.ps1"], credential="default-windows-logon", smtp_server="relay.contoso.local"),
    ],
    decide=[DecideItem("dynamic.ps1", 4, "$cred.UserName", "the user name of the credential $cred, known only when the script runs", "breaks")],
    out_of_scope=[OutOfScope("scanner@contoso.com", "every call goes to a relay", ["relay.ps1"])],
)


@dataclass
class DeclaredParameter:
    name: str
    type_text: str = ""
    aliases: list[str] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    from_pipeline: bool = False
    by_property_name: bool = False
    parameter_sets: list[str] = field(default_factory=list)


# What Send-MailMessage declares (PowerShell's SendMailMessage.cs). Encoding is [object] on purpose:
# the cmdlet turns names such as 'UTF8' into an Encoding with a transformation attribute a function cannot copy.
SEND_MAILMESSAGE: dict[str, tuple[str, tuple[str, ...], int | None]] = {
    "Attachments": ("[string[]]", ("PsPath",), None),
    "Bcc": ("[string[]]", (), None),
    "Body": ("[string]", (), 2),
    "BodyAsHtml": ("[switch]", ("BAH",), None),
    "Encoding": ("[object]", ("BE",), None),
    "Cc": ("[string[]]", (), None),
    "DeliveryNotificationOption": ("[System.Net.Mail.DeliveryNotificationOptions]", ("DNO",), None),
    "From": ("[string]", (), None),
    "SmtpServer": ("[string]", ("ComputerName",), 3),
    "Priority": ("[System.Net.Mail.MailPriority]", (), None),
    "ReplyTo": ("[string[]]", (), None),
    "Subject": ("[string]", ("sub",), 1),
    "To": ("[string[]]", (), 0),
    # [object] without validation: after the migration -Credential is accepted ($null too) and ignored, never required.
    "Credential": ("[object]", (), None),
    "UseSsl": ("[switch]", (), None),
    "Port": ("[int]", (), None),
}


def _parser() -> ts.Parser:
    return ts.Parser(ts.Language(tsp.language()))


def _children(node: Any, node_type: str) -> list[Any]:
    return [child for child in node.children if child.type == node_type]


def _descendants(node: Any, node_type: str) -> list[Any]:
    found: list[Any] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type == node_type:
            found.append(current)
        stack.extend(current.children)
    return found


def _string_value(node: Any) -> str:
    text = node.text.decode()
    return text.strip().strip("'\"")


def declared_parameters(source: bytes, function: str) -> dict[str, DeclaredParameter]:
    """The parameters a function's param block declares, read from the tree-sitter tree."""
    tree = _parser().parse(source)
    for statement in _descendants(tree.root_node, "function_statement"):
        name_nodes = _children(statement, "function_name")
        if not name_nodes or name_nodes[0].text.decode() != function:
            continue
        param_block = _descendants(statement, "param_block")[0]
        declared: dict[str, DeclaredParameter] = {}
        for parameter in _descendants(_children(param_block, "parameter_list")[0], "script_parameter"):
            variable = _children(parameter, "variable")[0].text.decode().lstrip("$")
            entry = DeclaredParameter(variable)
            for attribute in _descendants(parameter, "attribute"):
                literal = _children(attribute, "type_literal")
                if literal:
                    entry.type_text = literal[0].text.decode()
                    continue
                attribute_name = _children(attribute, "attribute_name")[0].text.decode()
                arguments = _descendants(attribute, "attribute_argument")
                if attribute_name == "Alias":
                    entry.aliases.extend(_string_value(argument) for argument in arguments)
                elif attribute_name == "Parameter":
                    for argument in arguments:
                        key_nodes = _children(argument, "simple_name")
                        if not key_nodes:
                            continue
                        key = key_nodes[0].text.decode()
                        value = _string_value(argument.children[-1])
                        if key == "Position":
                            entry.positions.append(int(value))
                        elif key == "ValueFromPipeline":
                            entry.from_pipeline = value.lower() == "$true"
                        elif key == "ValueFromPipelineByPropertyName":
                            entry.by_property_name = value.lower() == "$true"
                        elif key == "ParameterSetName":
                            entry.parameter_sets.append(value)
            declared[variable] = entry
        return declared
    raise AssertionError(f"function {function} not found")


@pytest.fixture(scope="module")
def module_files() -> dict[str, bytes]:
    return module_sources()


@pytest.fixture(scope="module")
def send_parameters(module_files: dict[str, bytes]) -> dict[str, DeclaredParameter]:
    return declared_parameters(module_files["Smtp2Graph.psm1"], "Send-GraphMailMessage")


@pytest.mark.parametrize("name", sorted(SEND_MAILMESSAGE))
def test_send_graph_mail_message_declares_each_send_mailmessage_parameter(
    name: str, send_parameters: dict[str, DeclaredParameter]
) -> None:
    type_text, aliases, position = SEND_MAILMESSAGE[name]
    assert name in send_parameters, f"-{name} missing"
    declared = send_parameters[name]
    assert declared.type_text == type_text
    assert sorted(declared.aliases) == sorted(aliases)
    assert declared.positions == ([] if position is None else [position])


def test_attachments_come_from_the_pipeline(send_parameters: dict[str, DeclaredParameter]) -> None:
    assert send_parameters["Attachments"].from_pipeline
    assert not any(p.from_pipeline for name, p in send_parameters.items() if name != "Attachments")


def test_every_send_mailmessage_parameter_binds_by_property_name(send_parameters: dict[str, DeclaredParameter]) -> None:
    """Issue 11 item 3: Send-MailMessage takes every parameter by property name (Import-Csv rows, FileInfo's PSPath)."""
    assert all(send_parameters[name].by_property_name for name in SEND_MAILMESSAGE)
    assert not send_parameters["MailMessage"].by_property_name


def test_extra_parameters_mail_message_and_save_to_sent_items(send_parameters: dict[str, DeclaredParameter]) -> None:
    assert send_parameters["MailMessage"].type_text == "[System.Net.Mail.MailMessage]"
    assert send_parameters["MailMessage"].parameter_sets == ["MailMessage"]
    assert send_parameters["SaveToSentItems"].type_text == "[switch]"
    # SMTP-only parameters are in every parameter set, so SmtpClient splats keep binding.
    for name in ("SmtpServer", "Port", "UseSsl", "Credential"):
        assert send_parameters[name].parameter_sets == []


def test_connect_smtp2graph_offers_every_credential_kind(module_files: dict[str, bytes]) -> None:
    declared = declared_parameters(module_files["Smtp2Graph.psm1"], "Connect-Smtp2Graph")
    for name in ("TenantId", "ClientId", "CertificateThumbprint", "CertificatePath", "ClientSecretName",
                 "ManagedIdentity", "UseMgGraphContext"):
        assert name in declared
    # A secret itself is never a parameter: only the name under which SecretManagement keeps it.
    assert not any(re.fullmatch(r"(Client)?Secret|Password", name) for name in declared)


def test_manifest_exports_what_the_module_exports(module_files: dict[str, bytes]) -> None:
    manifest = module_files["Smtp2Graph.psd1"].decode("utf-8-sig")
    module = module_files["Smtp2Graph.psm1"].decode("utf-8-sig")
    exported = re.search(r"FunctionsToExport\s*=\s*@\(([^)]*)\)", manifest)
    member = re.search(r"Export-ModuleMember -Function @\(([^)]*)\)", module)
    assert exported and member
    names = sorted(re.findall(r"'([^']+)'", exported.group(1)))
    assert names == sorted(re.findall(r"'([^']+)'", member.group(1)))
    for name in names:
        assert re.search(rf"^function {re.escape(name)} \{{", module, re.M)
    assert "ModuleVersion        = '0.1.0'" in manifest
    assert "__VERSION__" not in manifest + module


def test_module_covers_the_graph_behaviours(module_files: dict[str, bytes]) -> None:
    module = module_files["Smtp2Graph.psm1"].decode("utf-8-sig")
    for needle in (
        "createUploadSession", "'Content-Range'", "320KB", "3MB", "Mail.ReadWrite", "@(429, 503, 504)",
        "Retry-After", "ErrorSendAsDenied", "Access to OData is disabled", "MailboxNotEnabledForRESTAPI",
        "ErrorMessageSizeExceeded", "ErrorInvalidUser", "x5t#S256", "IDENTITY_HEADER", "169.254.169.254",
        "Get-Secret", "Invoke-MgGraphRequest", "Smtp2Graph.config.psd1", "SMTP2GRAPH_TENANT_ID",
    ):
        assert needle in module, needle


def _kit_files(tmp_path: Path, senders: SenderPlan) -> list[Path]:
    return write_kit(tmp_path, senders, root="examples")


@pytest.mark.parametrize("senders", [SENDERS, SenderPlan()], ids=["senders", "no-senders"])
def test_every_generated_powershell_file_parses_cleanly(tmp_path: Path, senders: SenderPlan) -> None:
    written = _kit_files(tmp_path, senders)
    powershell = [path for path in written if path.suffix in (".ps1", ".psm1", ".psd1")]
    assert len(powershell) == len(MODULE_FILES) + len(KIT_SCRIPTS) - 1
    for path in powershell:
        data = path.read_bytes()
        assert data.startswith(b"\xef\xbb\xbf"), f"{path.name}: Windows PowerShell 5.1 needs a BOM for UTF-8"
        assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b""), f"{path.name}: CRLF throughout"
        assert parse_problems(data) == [], path.name


@pytest.mark.parametrize("senders", [SENDERS, SenderPlan()], ids=["senders", "no-senders"])
def test_generated_powershell_avoids_powershell_7_only_syntax(tmp_path: Path, senders: SenderPlan) -> None:
    for path in _kit_files(tmp_path, senders):
        if path.suffix not in (".ps1", ".psm1", ".psd1"):
            continue
        code = re.sub(r"#.*", "", path.read_text(encoding="utf-8-sig"))
        for construct in ("??", "?.", "&&", "||", "-Parallel", "clean {"):
            assert construct not in code, f"{path.name} uses {construct}"


def test_kit_scripts_list_exactly_the_static_senders() -> None:
    rendered = render_kit(SENDERS, "examples")
    scope = rendered["Set-Smtp2GraphScope.ps1"].decode("utf-8-sig")
    block = re.search(r"\[string\[\]\]\$Mailbox = @\((.*?)\)", scope, re.S)
    assert block is not None
    assert re.findall(r"'((?:[^']|'')*)'", block.group(1)) == ["alerts@contoso.com", "o''brien@contoso.com"]
    for needle in ("New-ServicePrincipal", "New-ManagementScope", "-RecipientRestrictionFilter",
                   "New-ManagementRoleAssignment", "'Application Mail.Send'", "Test-ServicePrincipalAuthorization",
                   "UseApplicationAccessPolicy", "New-ApplicationAccessPolicy", "Test-ApplicationAccessPolicy",
                   "RemoveTenantWideConsent"):
        assert needle in scope, needle
    register = rendered["Register-Smtp2GraphApp.ps1"].decode("utf-8-sig")
    for needle in ("New-MgApplication", "AsymmetricX509Cert", "b633e1c5-b582-4048-a93e-9f11b44c7e96",
                   "New-MgServicePrincipalAppRoleAssignment"):
        assert needle in register, needle
    test_send = rendered["Test-Smtp2GraphSend.ps1"].decode("utf-8-sig")
    assert "Send-GraphMailMessage -From $address" in test_send
    assert "'o''brien@contoso.com'" in test_send


def test_kit_readme_lists_senders_scripts_and_steps_in_order() -> None:
    readme = render_kit(SENDERS, "examples")["README.md"].decode()
    assert "| `alerts@contoso.com` | `backup.ps1`, `reports/Nightly.ps1` | `smtp.office365.com` | explicit |" in readme
    assert "`dynamic.ps1:4` (breaks): the user name of the credential $cred" in readme
    assert "`scanner@contoso.com`: every call goes to a relay (`relay.ps1`)" in readme
    assert "scanner@contoso.com" not in render_kit(SENDERS, "examples")["Set-Smtp2GraphScope.ps1"].decode("utf-8-sig")
    steps = [readme.index(marker) for marker in ("Register-Smtp2GraphApp.ps1", "Set-Smtp2GraphScope.ps1",
                                                   "Install the module", "Test-Smtp2GraphSend.ps1")]
    assert steps == sorted(steps)


def test_kit_readme_says_how_to_re_sign_a_patched_signed_script() -> None:
    # Issue 11 item 5: a patched script's Authenticode signature no longer matches; the kit tells its reader
    # how to re-sign, with the command fix's own reason gives (RESIGN_HINT), and to sign the module too.
    from scanner.migrate.safety import RESIGN_HINT

    readme = render_kit(SENDERS, "examples")["README.md"].decode()
    section = readme[readme.index("## Re-signing signed scripts"):readme.index("## What is in the module")]
    assert "Set-AuthenticodeSignature -FilePath" in RESIGN_HINT and "Set-AuthenticodeSignature -FilePath" in section
    assert "Get-ChildItem Cert:\\CurrentUser\\My -CodeSigningCert | Select-Object -First 1" in RESIGN_HINT
    assert "Get-ChildItem Cert:\\CurrentUser\\My -CodeSigningCert | Select-Object -First 1" in section
    assert "-TimestampServer" in section and "Get-AuthenticodeSignature" in section and "AllSigned" in section
    assert "--unsafe-fixes" in section and "Smtp2Graph.psm1" in section
    # Step 5 (deploy) points at it, after the module is installed and before SMTP AUTH is turned off.
    deploy = readme.index("**Deploy the patched scripts**")
    assert readme.index("Install the module") < deploy < readme.index("re-signed before it is deployed") < readme.index(
        "**Turn off SMTP AUTH**")


def test_no_secret_literal_in_generated_code(tmp_path: Path) -> None:
    for path in _kit_files(tmp_path, SENDERS):
        text = path.read_text(encoding="utf-8-sig")
        assert not re.search(r"\$\w*(secret|password)\w*\s*=\s*['\"][^'\"]", text, re.I), path.name


def scan_document() -> dict[str, Any]:
    def finding(path: str, sender: str | None, api: str | None, credential: str = "explicit") -> dict[str, Any]:
        return {
            "rule": "SMTP001", "path": path, "sender": sender,
            "call": None if api is None else {"api": api, "command": "x", "form": "named", "params": {}},
            "assessment": {"credential": credential, "server_text": "smtp.office365.com"},
        }

    return {
        "schema_version": "1.0", "root": "examples",
        "findings": [
            finding("a.ps1", "Alerts@Contoso.com", "send-mailmessage"),
            finding("b.ps1", "alerts@contoso.com", "smtpclient", "default-windows-logon"),
            finding("c.ps1", None, "send-mailmessage"),
            finding("secrets.ps1", None, None),
            finding("outlook.ps1", "me@contoso.com", "outlook-com"),
            {**finding("relay.ps1", "scanner@contoso.com", "send-mailmessage"),
             "assessment": {"credential": "none", "server": "other-relay", "server_text": "relay.contoso.local", "breaks": False}},
        ],
    }


def test_the_kits_sender_list_groups_mailboxes_and_says_what_is_left_out() -> None:
    plan = plan_of_document(scan_document())
    assert [(s.mailbox, s.scripts, s.credential) for s in plan.mailboxes] == [
        ("alerts@contoso.com", ["a.ps1", "b.ps1"], "explicit, default-windows-logon"),
    ]
    assert [(d.path, d.verdict) for d in plan.decide] == [("c.ps1", "may break")]
    assert [(o.mailbox, o.scripts) for o in plan.out_of_scope] == [("scanner@contoso.com", ["relay.ps1"])]
    assert "relay" in plan.out_of_scope[0].reason


def test_kit_command_writes_the_kit_scoped_to_a_scan(tmp_path: Path) -> None:
    scan = tmp_path / "scan.json"
    scan.write_text(json.dumps(scan_document()), encoding="utf-8")
    dest = tmp_path / "kit"
    result = CliRunner().invoke(app, ["kit", str(dest), "--senders-from", str(scan)])
    assert result.exit_code == 0, result.output
    assert (dest / "Smtp2Graph" / "Smtp2Graph.psm1").is_file()
    assert "'alerts@contoso.com'" in (dest / "Set-Smtp2GraphScope.ps1").read_text(encoding="utf-8-sig")
    assert "`c.ps1`" in (dest / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("content", "reason"),
    [(None, "cannot read"), ("{not json", "not JSON"), ("[1, 2]", "not a smtp2graph scan JSON document")],
)
def test_kit_command_reports_bad_scan_files_in_one_line(tmp_path: Path, content: str | None, reason: str) -> None:
    scan = tmp_path / "scan.json"
    if content is not None:
        scan.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(app, ["kit", str(tmp_path / "kit"), "--senders-from", str(scan)])
    assert result.exit_code == 2
    assert reason in result.output
    assert "Traceback" not in result.output


# A machine already configured for Smtp2Graph: the shipped suite must not read any of it.
HOSTILE_CONFIG = """@{
    TenantId = 'config-file-tenant'
    ClientId = 'config-file-client'
    AuthMethod = 'ManagedIdentity'
    GraphEndpoint = 'https://config-file.invalid'
    AuthorityHost = 'https://config-file.invalid'
    SaveToSentItems = $true
}
"""
HOSTILE_ENVIRONMENT = {
    "SMTP2GRAPH_TENANT_ID": "env-tenant",
    "SMTP2GRAPH_CLIENT_ID": "env-client",
    "SMTP2GRAPH_AUTH": "ManagedIdentity",
    "SMTP2GRAPH_CERT_PATH": "/nonexistent/env.pfx",
    "SMTP2GRAPH_GRAPH_ENDPOINT": "https://env.invalid",
    "SMTP2GRAPH_AUTHORITY_HOST": "https://env.invalid",
    "SMTP2GRAPH_SAVE_TO_SENT_ITEMS": "true",
    "IDENTITY_ENDPOINT": "http://127.0.0.1:9/env",
    "MSI_ENDPOINT": "http://127.0.0.1:9/msi",
}


@pytest.mark.pwsh
def test_pester_tests_of_the_module(tmp_path: Path) -> None:
    """The shipped Pester suite passes (all 96 tests), on a machine whose SMTP2GRAPH_* settings and config file differ."""
    write_kit(tmp_path, SENDERS)
    module = tmp_path / "Smtp2Graph"
    (module / "Smtp2Graph.config.psd1").write_text(HOSTILE_CONFIG, encoding="utf-8")
    pester = find_pester()
    script = (
        "$ErrorActionPreference = 'Stop'\n"
        f"Import-Module '{pester}'\n"
        f"$r = Invoke-Pester -Path '{module}' -PassThru -Output Detailed\n"
        "'PESTER-COUNTS ' + (@{ passed = $r.PassedCount; failed = $r.FailedCount; skipped = $r.SkippedCount; "
        "notrun = $r.NotRunCount; total = $r.TotalCount } | ConvertTo-Json -Compress)\n"
        "exit $r.FailedCount\n"
    )
    run = run_pwsh(script, timeout=600, env={**os.environ, **HOSTILE_ENVIRONMENT})
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-3000:]
    counts = json.loads(run.stdout.split("PESTER-COUNTS ", 1)[1].splitlines()[0])
    assert counts["failed"] == 0 and counts["skipped"] == 0 and counts["notrun"] == 0, counts
    assert counts["passed"] >= 96, counts  # the suite as shipped: a test that stops being discovered is noticed


COMMON_PARAMETERS = ("Verbose", "Debug", "ErrorAction", "WarningAction", "InformationAction", "ProgressAction",
                     "ErrorVariable", "WarningVariable", "InformationVariable", "OutVariable", "OutBuffer",
                     "PipelineVariable")


def _bindable(prefix: str, names: list[str]) -> list[str]:
    return [name for name in names if name.lower().startswith(prefix.lower())]


def test_every_unambiguous_send_mailmessage_prefix_still_binds_the_same_parameter(
    send_parameters: dict[str, DeclaredParameter]
) -> None:
    # Scripts write `-Attach`, `-Cred`, `-Bc`: the extra parameters must not make any of them ambiguous.
    original = [*SEND_MAILMESSAGE, *COMMON_PARAMETERS]
    ours = [*send_parameters, *COMMON_PARAMETERS]
    checked = 0
    for name in SEND_MAILMESSAGE:
        for length in range(1, len(name) + 1):
            prefix = name[:length]
            if _bindable(prefix, original) == [name]:
                assert _bindable(prefix, ours) == [name], f"-{prefix} no longer binds only -{name}"
                checked += 1
    assert checked > 50


def test_module_offers_tls12_on_windows_powershell(tmp_path: Path) -> None:
    """Graph refuses TLS 1.0/1.1; Windows PowerShell 5.1's .NET Framework may not offer 1.2 by default."""
    from scanner.migrate.kit import write_module

    paths = write_module(tmp_path)
    psm1 = next(p for p in paths if p.suffix == ".psm1").read_text(encoding="utf-8-sig")
    assert "[Net.SecurityProtocolType]::Tls12" in psm1
    assert "PSEdition -ne 'Core'" in psm1
