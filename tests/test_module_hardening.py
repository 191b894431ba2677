"""The generated Smtp2Graph module, run for real under pwsh against hostile local servers (issue 23, item 7).

Each server here misbehaves on purpose (tests/fakes/hostile.py): it echoes the client secret, the client
assertion, the bearer token or the managed-identity header back in its error bodies and headers, or names any
file it likes as the Azure Arc challenge. What a patched script would write when it logs its errors is collected
from the run (the error shown on stderr, ``$Error``, ``-ErrorVariable``, verbose output, and each error record and
exception as ``Format-List * -Force`` renders it) and must never hold what the server echoed.

Also here: the kit's Register-Smtp2GraphApp.ps1 writes the exported .pfx with owner-only permissions from its
creation (watched with inotify), and the snippets neither rely on Import-Module for TLS 1.2 nor assign ``$sender``.
Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import stat
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fakes.fixtures import PFX_PASSPHRASE, make_certificate
from fakes.hostile import Answer, HostileServer

from scanner.check import calls_in_text
from scanner.estate.senders import SenderPlan
from scanner.migrate.kit import write_kit, write_module
from scanner.migrate.mapping import map_call
from scanner.migrate.snippets import invoke_restmethod_snippet, send_mgusermail_snippet
from scanner.powershell import run_json, run_pwsh

pytestmark = pytest.mark.pwsh

TENANT = "contoso.onmicrosoft.com"
TOKEN_PATH = f"/{TENANT}/oauth2/v2.0/token"
SEND_PATH = "/v1.0/users/alerts@contoso.com/sendMail"
# A client secret of the shape Entra issues ('~' is percent-encoded in a form body, '.' and '_' are not).
SECRET = "Zq8~hostile.secret_value-4242"
SECRET_CORE = "secret_value-4242"  # what no encoding of the secret hides
# An opaque bearer token, not a JWT: the module must mask the token it holds, whatever its shape.
TOKEN = "hostile-opaque-bearer-7d41c9a0b2e3f5"
TOKEN_CORE = "7d41c9a0b2e3f5"
IDENTITY_HEADER = "mi-header-5c3e9b71aa"
ARC_KEY_CONTENT = "arc-file-content-31f7c2"

EXPOSE = r"""
'=== exposed ==='
$records = @($Error) + @($ev)
foreach ($record in $records) {
    if ($null -eq $record) { continue }
    $record | Format-List * -Force | Out-String -Width 4096
    $exception = $record
    if ($record -is [System.Management.Automation.ErrorRecord]) { $exception = $record.Exception; 'DETAILS ' + $record.ErrorDetails }
    while ($null -ne $exception) {
        $exception | Format-List * -Force | Out-String -Width 4096
        $exception = $exception.InnerException
    }
}
'ERRORS ' + $Error.Count
"""


def _clean_environment(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SMTP2GRAPH_") and k not in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT",
                                                             "MSI_SECRET", "IMDS_ENDPOINT")}
    env["NO_PROXY"] = "127.0.0.1,localhost"
    env.update(settings)
    return env


@pytest.fixture(scope="module")
def module_psd1(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("module") / "Smtp2Graph"
    write_module(folder)
    return folder / "Smtp2Graph.psd1"


def run_module(module_psd1: Path, body: str, env: dict[str, str], *, setup: str = "") -> str:
    """Import the module (no config file), run ``body``, print everything a script that logs its errors could log."""
    script = (
        "$ErrorActionPreference = 'Continue'\n"
        "$VerbosePreference = 'Continue'\n"
        f"Import-Module -Name '{module_psd1}'\n"
        f"& (Get-Module Smtp2Graph) {{ $script:ConfigPath = '{module_psd1.parent / 'absent.config.psd1'}' }}\n"
        f"{setup}\n"
        "$Error.Clear()\n"
        "$ev = @()\n"
        f"{body}\n"
        f"{EXPOSE}"
    )
    run = run_pwsh(script, env=env, timeout=120)
    return run.stdout + "\n" + run.stderr


TOKEN_CALLS = (
    "try { $null = Get-Smtp2GraphToken -ErrorVariable +ev } catch { 'CAUGHT ' + $_.Exception.Message }\n"
    "try { $null = Connect-Smtp2Graph -ErrorVariable +ev } catch { 'CAUGHT ' + $_.Exception.Message }\n"
    "Send-GraphMailMessage -To 'ops@contoso.com' -From 'alerts@contoso.com' -Subject 's' -ErrorVariable +ev\n"
    "try { Send-GraphMailMessage -To 'ops@contoso.com' -From 'alerts@contoso.com' -Subject 's' -ErrorAction Stop } "
    "catch { 'CAUGHT ' + $_.Exception.Message }\n"
)

# What token endpoints that echo the request answer: Entra-style JSON, a gateway's HTML page, a proxy's text.
TOKEN_ECHOES = {
    "401 JSON": Answer(401, '{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret '
                            'provided ({form:client_secret}). Request: {request_body}"}',
                       {"Content-Type": "application/json; charset=utf-8"}),
    "500 HTML": Answer(500, "<html><body><h1>Server Error</h1><pre>{request_body}</pre>"
                            "<p>secret: {form:client_secret}</p></body></html>", {"Content-Type": "text/html"}),
    "400 text": Answer(400, "Bad Request: could not read {request_body} (client_secret={form:client_secret})",
                       {"Content-Type": "text/plain"}),
}


@pytest.mark.parametrize("name", sorted(TOKEN_ECHOES))
def test_the_client_secret_a_token_endpoint_echoes_is_never_shown_nor_kept(module_psd1: Path, name: str) -> None:
    with HostileServer() as server:
        server.answer(TOKEN_PATH, TOKEN_ECHOES[name])
        env = _clean_environment(SSL_CERT_FILE=str(server.ca_path), SMTP2GRAPH_TENANT_ID=TENANT,
                                 SMTP2GRAPH_CLIENT_ID="app-1", SMTP2GRAPH_CLIENT_SECRET=SECRET,
                                 SMTP2GRAPH_AUTHORITY_HOST=server.base_url, SMTP2GRAPH_GRAPH_ENDPOINT=server.base_url)
        output = run_module(module_psd1, TOKEN_CALLS, env)
        sent = server.requests_to(TOKEN_PATH)
    assert sent and SECRET_CORE in sent[0].body.decode(), "the server must have had the secret to echo"
    assert SECRET_CORE not in output, output[-3000:]
    status = name.split()[0]
    # The failure still says what happened.
    assert f"Entra ID refused the token request ({status}" in output, output[-3000:]
    if name == "401 JSON":
        assert "invalid_client" in output and "AADSTS7000215" in output


def test_the_client_assertion_a_token_endpoint_echoes_is_never_shown_nor_kept(module_psd1: Path, tmp_path: Path) -> None:
    certificate = make_certificate(tmp_path, "hostile")
    with HostileServer() as server:
        server.answer(TOKEN_PATH, Answer(401, '{"error":"invalid_client","error_description":"AADSTS700027: bad '
                                              'assertion {form:client_assertion}"}',
                                         {"Content-Type": "application/json"}))
        env = _clean_environment(SSL_CERT_FILE=str(server.ca_path), SMTP2GRAPH_TENANT_ID=TENANT,
                                 SMTP2GRAPH_CLIENT_ID="app-1", SMTP2GRAPH_CERT_PATH=str(certificate.pfx),
                                 SMTP2GRAPH_CERT_PASSWORD=PFX_PASSPHRASE, SMTP2GRAPH_AUTHORITY_HOST=server.base_url)
        output = run_module(module_psd1, TOKEN_CALLS, env)
        assertions = [r.body.decode() for r in server.requests_to(TOKEN_PATH)]
    assert assertions
    signatures = {body.split("client_assertion=", 1)[1].split("&", 1)[0].rsplit(".", 1)[1] for body in assertions}
    for signature in signatures:
        assert len(signature) > 40 and signature not in output, output[-3000:]
    assert "AADSTS700027" in output


# Graph (or a proxy in front of it) answering with the bearer token in its body and WWW-Authenticate header.
GRAPH_ECHOES = {
    "401 JSON": Answer(401, '{"error":{"code":"InvalidAuthenticationToken","message":"Token {authorization} is not '
                            'valid."}}', {"Content-Type": "application/json",
                                          "WWW-Authenticate": 'Bearer error="invalid_token", '
                                                              'error_description="{authorization} expired"'}),
    "403 JSON": Answer(403, '{"error":{"code":"ErrorAccessDenied","message":"Access is denied for {authorization}"}}',
                       {"Content-Type": "application/json", "WWW-Authenticate": 'Bearer realm="{authorization}"'}),
    "400 HTML": Answer(400, "<html><body>Bad request from {authorization}</body></html>", {"Content-Type": "text/html"}),
    "500 text": Answer(500, "upstream failed; request headers: Authorization: {authorization}",
                       {"Content-Type": "text/plain", "WWW-Authenticate": "{authorization}"}),
}


@pytest.mark.parametrize("name", sorted(GRAPH_ECHOES))
def test_the_bearer_token_graph_echoes_is_never_shown_nor_kept(module_psd1: Path, name: str) -> None:
    with HostileServer() as server:
        server.answer(TOKEN_PATH, Answer(200, f'{{"token_type":"Bearer","expires_in":3599,"access_token":"{TOKEN}"}}',
                                         {"Content-Type": "application/json"}))
        server.answer(SEND_PATH, GRAPH_ECHOES[name])
        env = _clean_environment(SSL_CERT_FILE=str(server.ca_path), SMTP2GRAPH_TENANT_ID=TENANT,
                                 SMTP2GRAPH_CLIENT_ID="app-1", SMTP2GRAPH_CLIENT_SECRET=SECRET,
                                 SMTP2GRAPH_AUTHORITY_HOST=server.base_url, SMTP2GRAPH_GRAPH_ENDPOINT=server.base_url)
        body = (
            "Send-GraphMailMessage -To 'ops@contoso.com' -From 'alerts@contoso.com' -Subject 's' -ErrorVariable +ev\n"
            "$m = New-Object System.Net.Mail.MailMessage -ArgumentList 'alerts@contoso.com', 'ops@contoso.com'\n"
            "try { Send-GraphMailMessage -MailMessage $m -ErrorVariable +ev } catch { 'CAUGHT ' + $_.Exception.Message }\n"
        )
        output = run_module(module_psd1, body, env)
        sends = server.requests_to(SEND_PATH)
    assert sends and sends[0].headers["authorization"] == f"Bearer {TOKEN}", "the server must have had the token"
    assert TOKEN_CORE not in output, output[-3000:]
    assert SECRET_CORE not in output
    assert f"(Graph {name.split()[0]}" in output, output[-3000:]


def test_the_pre_authenticated_upload_url_is_never_shown(module_psd1: Path, tmp_path: Path) -> None:
    """An upload session's URL carries its own token: not in verbose output, not in the error when a chunk fails."""
    upload_token = "upload-authtoken-94c1e07d55"
    attachment = tmp_path / "large.bin"
    attachment.write_bytes(os.urandom(3 * 1024 * 1024 + 1000))
    with HostileServer() as server:
        server.answer(TOKEN_PATH, Answer(200, f'{{"token_type":"Bearer","expires_in":3599,"access_token":"{TOKEN}"}}',
                                         {"Content-Type": "application/json"}))
        server.answer("/v1.0/users/alerts@contoso.com/messages", Answer(201, '{"id":"draft-1"}',
                                                                         {"Content-Type": "application/json"}))
        server.answer("/v1.0/users/alerts@contoso.com/messages/draft-1/attachments/createUploadSession",
                      Answer(201, f'{{"uploadUrl":"{server.base_url}/upload/session-1?authtoken={upload_token}"}}',
                             {"Content-Type": "application/json"}))
        server.answer("/v1.0/users/alerts@contoso.com/messages/draft-1", Answer(204))
        server.answer("/upload/", Answer(500, '{"error":{"code":"UploadFailed","message":"session {url} expired"}}',
                                         {"Content-Type": "application/json"}))
        env = _clean_environment(SSL_CERT_FILE=str(server.ca_path), SMTP2GRAPH_TENANT_ID=TENANT,
                                 SMTP2GRAPH_CLIENT_ID="app-1", SMTP2GRAPH_CLIENT_SECRET=SECRET,
                                 SMTP2GRAPH_AUTHORITY_HOST=server.base_url, SMTP2GRAPH_GRAPH_ENDPOINT=server.base_url)
        output = run_module(module_psd1, "Send-GraphMailMessage -To 'ops@contoso.com' -From 'alerts@contoso.com' "
                                         f"-Subject 's' -Attachments '{attachment}' -ErrorVariable +ev", env)
        uploads = server.requests_to("/upload/")
    assert uploads and uploads[0].query["authtoken"] == [upload_token]
    assert upload_token not in output, output[-3000:]
    assert "attachment upload" in output and "(Graph 500 UploadFailed" in output, output[-3000:]


def test_the_managed_identity_header_an_endpoint_echoes_is_never_shown_nor_kept(module_psd1: Path) -> None:
    with HostileServer() as server:
        server.answer("/msi/token", Answer(500, '{"error":"invalid_request","error_description":"unexpected header '
                                                '{header:X-IDENTITY-HEADER}"}', {"Content-Type": "application/json"}))
        env = _clean_environment(SSL_CERT_FILE=str(server.ca_path), SMTP2GRAPH_AUTH="ManagedIdentity",
                                 IDENTITY_ENDPOINT=f"{server.base_url}/msi/token", IDENTITY_HEADER=IDENTITY_HEADER)
        output = run_module(module_psd1, TOKEN_CALLS, env)
        sent = server.requests_to("/msi/token")
    assert sent and sent[0].headers.get("x-identity-header") == IDENTITY_HEADER
    assert IDENTITY_HEADER not in output, output[-3000:]
    assert "managed identity" in output.lower()


def test_no_token_is_sent_to_an_http_graph_endpoint(module_psd1: Path) -> None:
    with HostileServer() as identity, HostileServer(tls=False) as plain:
        identity.answer(TOKEN_PATH, Answer(200, f'{{"token_type":"Bearer","expires_in":3599,"access_token":"{TOKEN}"}}',
                                           {"Content-Type": "application/json"}))
        plain.answer("/", Answer(202))
        env = _clean_environment(SSL_CERT_FILE=str(identity.ca_path), SMTP2GRAPH_TENANT_ID=TENANT,
                                 SMTP2GRAPH_CLIENT_ID="app-1", SMTP2GRAPH_CLIENT_SECRET=SECRET,
                                 SMTP2GRAPH_AUTHORITY_HOST=identity.base_url, SMTP2GRAPH_GRAPH_ENDPOINT=plain.base_url)
        output = run_module(module_psd1, "Send-GraphMailMessage -To 'ops@contoso.com' -From 'alerts@contoso.com' "
                                         "-Subject 's' -ErrorVariable +ev\n'NEXT'", env)
        reached = plain.received
    assert [r for r in reached if "authorization" in r.headers] == [], "the token went over plain http"
    assert reached == []
    assert "https" in output and plain.base_url in output, output[-3000:]
    assert "NEXT" in output  # a failed send, as before: the script goes on


# ---- Azure Arc: the challenge names a key file ------------------------------------------------------------

@dataclass
class ArcLayout:
    directory: Path  # the agent's token folder, as the module is told
    outside: Path  # a readable file elsewhere that a hostile endpoint might name


@pytest.fixture
def arc_layout(tmp_path: Path) -> ArcLayout:
    directory = tmp_path / "azcmagent" / "tokens"
    directory.mkdir(parents=True)
    outside = tmp_path / "elsewhere" / "stolen.key"
    outside.parent.mkdir()
    outside.write_text(ARC_KEY_CONTENT, encoding="utf-8")
    return ArcLayout(directory, outside)


def _arc_run(module_psd1: Path, layout: ArcLayout, realm: str) -> tuple[str, list[str]]:
    with HostileServer(tls=False) as arc:
        arc.answer("/metadata/identity/oauth2/token",
                   Answer(401, '{"error":"unauthorized"}', {"WWW-Authenticate": f"Basic realm={realm}"}),
                   Answer(200, '{"access_token":"arc-token-1","expires_on":"4102444800","token_type":"Bearer"}',
                          {"Content-Type": "application/json"}))
        env = _clean_environment(SMTP2GRAPH_AUTH="ManagedIdentity",
                                 IDENTITY_ENDPOINT=f"{arc.base_url}/metadata/identity/oauth2/token",
                                 IMDS_ENDPOINT=arc.base_url)
        setup = f"& (Get-Module Smtp2Graph) {{ $script:ArcKeyDirectory = '{layout.directory}' }}"
        output = run_module(module_psd1, "try { 'TOKEN ' + (Get-Smtp2GraphToken -ErrorVariable +ev) } "
                                         "catch { 'CAUGHT ' + $_.Exception.Message }", env, setup=setup)
        sent = [r.headers.get("authorization", "") for r in arc.received]
    return output, sent


@pytest.mark.parametrize("case", ["outside the token folder", "a .. path out of the folder", "not a .key file",
                                  "over 4096 bytes", "a folder", "missing"])
def test_an_arc_challenge_naming_a_file_azure_would_not_read_is_refused(module_psd1: Path, arc_layout: ArcLayout,
                                                                        case: str) -> None:
    directory = arc_layout.directory
    if case == "outside the token folder":
        realm = str(arc_layout.outside)
    elif case == "a .. path out of the folder":
        realm = f"{directory}/../../elsewhere/{arc_layout.outside.name}"
    elif case == "not a .key file":
        realm = str(directory / "token.txt")
        (directory / "token.txt").write_text(ARC_KEY_CONTENT, encoding="utf-8")
    elif case == "over 4096 bytes":
        realm = str(directory / "large.key")
        (directory / "large.key").write_text(ARC_KEY_CONTENT + "x" * 4096, encoding="utf-8")
    elif case == "a folder":
        realm = str(directory / "folder.key")
        (directory / "folder.key").mkdir()
    else:
        realm = str(directory / "missing.key")
    output, sent = _arc_run(module_psd1, arc_layout, realm)
    assert all(value == "" for value in sent), f"the file was sent: {sent}"
    assert ARC_KEY_CONTENT not in output
    assert "CAUGHT " in output and "Azure Arc" in output, output[-3000:]


def test_an_arc_challenge_naming_a_key_file_in_the_token_folder_is_answered(module_psd1: Path,
                                                                           arc_layout: ArcLayout) -> None:
    key = arc_layout.directory / "a1b2c3.key"
    key.write_text(ARC_KEY_CONTENT, encoding="utf-8")
    output, sent = _arc_run(module_psd1, arc_layout, str(key))
    assert sent == ["", f"Basic {ARC_KEY_CONTENT}"]
    assert "TOKEN arc-token-1" in output, output[-3000:]


# ---- the kit: the exported .pfx is private from its first byte ----------------------------------------------

_IN_MODIFY, _IN_ATTRIB, _IN_CLOSE_WRITE, _IN_MOVED_TO, _IN_CREATE = 0x2, 0x4, 0x8, 0x80, 0x100
_EVENT_NAMES = {_IN_MODIFY: "modify", _IN_ATTRIB: "attrib", _IN_CLOSE_WRITE: "close_write", _IN_MOVED_TO: "moved_to",
                _IN_CREATE: "create"}


class _DirectoryWatch:
    """inotify on one folder: the ordered (file, event) pairs the kernel queued while a child process wrote there."""

    def __init__(self, folder: Path) -> None:
        self._libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        self._fd = self._libc.inotify_init1(os.O_NONBLOCK)
        assert self._fd >= 0, "inotify is not available"
        mask = _IN_MODIFY | _IN_ATTRIB | _IN_CLOSE_WRITE | _IN_MOVED_TO | _IN_CREATE
        assert self._libc.inotify_add_watch(self._fd, str(folder).encode(), mask) >= 0

    def events(self) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        while True:
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                return found
            offset = 0
            while offset < len(data):
                _, mask, _, length = struct.unpack_from("iIII", data, offset)
                name = data[offset + 16:offset + 16 + length].rstrip(b"\0").decode()
                offset += 16 + length
                for bit, label in _EVENT_NAMES.items():
                    if mask & bit:
                        found.append((name, label))

    def close(self) -> None:
        os.close(self._fd)


STUB_GRAPH = r"""
function Connect-MgGraph { param([string[]]$Scopes) }
function Get-MgContext { [pscustomobject]@{ TenantId = 'tenant-1' } }
function Get-MgServicePrincipal { param($Filter) [pscustomobject]@{ Id = 'graph-sp'; AppRoles = @() } }
"""


@pytest.fixture
def umask_zero() -> Iterator[None]:
    # With no umask a file created with default permissions is world-readable (0666): only a file created
    # with owner-only permissions stays private, whatever the admin's umask.
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def test_register_writes_the_pfx_owner_only_from_its_creation(tmp_path: Path, umask_zero: None) -> None:
    kit = tmp_path / "kit"
    write_kit(kit, SenderPlan())
    modules = tmp_path / "modules" / "Microsoft.Graph.Applications"
    modules.mkdir(parents=True)
    (modules / "Microsoft.Graph.Applications.psm1").write_text(STUB_GRAPH, encoding="utf-8")
    export = tmp_path / "export"
    export.mkdir(mode=0o700)
    watch = _DirectoryWatch(export)
    try:
        run = run_pwsh(
            f"$env:PSModulePath = '{modules.parent}' + [System.IO.Path]::PathSeparator + $env:PSModulePath\n"
            "$password = ConvertTo-SecureString -String 'kit-test-only' -AsPlainText -Force\n"
            f"& '{kit / 'Register-Smtp2GraphApp.ps1'}' -ExportFolder '{export}' -PfxPassword $password -WhatIf\n",
            timeout=180)
        events = watch.events()
    finally:
        watch.close()
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    pfx = [p for p in export.iterdir() if p.suffix == ".pfx"]
    assert len(pfx) == 1 and pfx[0].stat().st_size > 1000
    assert stat.S_IMODE(pfx[0].stat().st_mode) == 0o600
    on_pfx = [label for name, label in events if name == pfx[0].name]
    assert on_pfx and on_pfx[0] == "create", events
    # No permission change after creation: the mode it has now is the mode it was created with, before any byte.
    assert "attrib" not in on_pfx, on_pfx
    cer = [p for p in export.iterdir() if p.suffix == ".cer"]
    assert len(cer) == 1  # the public part, readable as any certificate


# ---- snippets -----------------------------------------------------------------------------------------------

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

_SNIPPET_FACTS = r"""
param([string]$RequestPath)
$ErrorActionPreference = 'Stop'
$texts = Get-Content -LiteralPath $RequestPath -Raw -Encoding utf8 | ConvertFrom-Json
$answers = foreach ($text in @($texts)) {
    $tokens = $null; $errors = $null
    $ast = [System.Management.Automation.Language.Parser]::ParseInput([string]$text, [ref]$tokens, [ref]$errors)
    $variables = @($ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.VariableExpressionAst] }, $true) |
        ForEach-Object { $_.VariablePath.UserPath })
    $commands = @($ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.CommandAst] }, $true))
    $sends = @($commands | Where-Object { $_.GetCommandName() -in 'Invoke-RestMethod', 'Send-MgUserMail' } | ForEach-Object { $_.Extent.StartOffset })
    $imports = @($commands | Where-Object { $_.GetCommandName() -eq 'Import-Module' } | ForEach-Object { $_.CommandElements[1].Extent.Text })
    # TLS 1.2 offered in the snippet itself: an assignment to [Net.ServicePointManager]::SecurityProtocol naming Tls12,
    # under an if that runs it on Windows PowerShell (PSEdition -ne 'Core').
    $tls = @($ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.AssignmentStatementAst] -and
        $n.Left.Extent.Text -match 'ServicePointManager\]::SecurityProtocol$' -and $n.Right.Extent.Text -match 'Tls12' }, $true))
    $guarded = @($tls | Where-Object { $_.Parent.Parent -is [System.Management.Automation.Language.IfStatementAst] -and
        $_.Parent.Parent.Clauses[0].Item1.Extent.Text -match "PSEdition -ne 'Core'" })
    [ordered]@{
        errors = @($errors).Count
        variables = $variables
        imports = $imports
        tls = @($guarded | ForEach-Object { $_.Extent.StartOffset })
        sends = $sends
    }
}
ConvertTo-Json -InputObject @($answers) -Depth 4 -Compress
"""


def _snippets() -> list[tuple[str, str, str]]:
    found = []
    for path in sorted(EXAMPLES.rglob("*.ps1")):
        text = path.read_text(encoding="utf-8-sig")
        for call in calls_in_text(text, path.name, False):
            if call.api.value not in ("send-mailmessage", "smtpclient"):
                continue
            mapping = map_call(call)
            where = f"{path.relative_to(EXAMPLES)}:{call.location.line}"
            found.append((where, "invoke-restmethod", invoke_restmethod_snippet(mapping)))
            found.append((where, "send-mgusermail", send_mgusermail_snippet(mapping)))
    return found


def test_snippets_offer_tls12_themselves_and_assign_no_automatic_sender_variable() -> None:
    snippets = _snippets()
    assert len(snippets) >= 10
    facts = run_json(_SNIPPET_FACTS, [text for _, _, text in snippets], timeout=180)
    for (where, flavour, _), fact in zip(snippets, facts):
        label = f"{flavour} snippet for {where}"
        assert fact["errors"] == 0, label
        # $Sender is an automatic variable in event actions (PSScriptAnalyzer: PSAvoidAssignmentToAutomaticVariable).
        assert "sender" not in {name.lower() for name in fact["variables"]}, label
        assert fact["sends"], label
        if flavour == "invoke-restmethod":
            # The snippet tells users to bring their own token: TLS 1.2 on Windows PowerShell 5.1 cannot come from
            # importing the module, so the snippet offers it before the request, and imports nothing.
            assert fact["imports"] == [], label
            assert fact["tls"] and min(fact["tls"]) < min(fact["sends"]), label


def test_the_kit_readme_says_where_a_pfx_key_goes_as_the_module_decides(module_psd1: Path) -> None:
    """The admin reads the key storage in the README; the module's own choice, asked for each runtime, must match it."""
    from scanner.migrate.kit import render_kit

    readme = render_kit(SenderPlan())["README.md"].decode("utf-8")
    section = readme.split("**Scheduled tasks and service accounts", 1)[1].split("\n4. ", 1)[0]
    for fact in ("EphemeralKeySet", "4.7.2", "MachineKeySet", "4.6.2", "SMTP2GRAPH_CERT_KEY_STORAGE", "profile"):
        assert fact in section, fact
    net462 = "'DefaultKeySet','UserKeySet','MachineKeySet','Exportable','UserProtected','PersistKeySet'"
    answers = run_pwsh(
        f"Import-Module -Name '{module_psd1}'\n"
        "& (Get-Module Smtp2Graph) {\n"
        f"  'net462=' + (@(Get-Smtp2GraphKeyStorageFlag -Edition Desktop -Available @({net462})) -join ',')\n"
        f"  'net472=' + (@(Get-Smtp2GraphKeyStorageFlag -Edition Desktop -Available (@({net462}) + 'EphemeralKeySet')) -join ',')\n"
        "}\n", timeout=60).stdout
    assert "net462=MachineKeySet" in answers and "net472=EphemeralKeySet,MachineKeySet" in answers, answers
