"""verify through the exact production path: test-send with the generated Smtp2Graph module in pwsh.

The patched scripts will call `Send-GraphMailMessage` from the module `smtp2graph kit` writes, with the
SMTP2GRAPH_* settings the kit's README has the admin set. This runs that code, not the Python client,
so a green verify covers the module's token request, request building and error handling too.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Optional

from scanner.graph.auth import PASSPHRASE_ENV, AuthMode, AuthSettings
from scanner.graph.client import GraphClient
from scanner.graph.errors import NOT_ENABLED_FOR_REST, GraphError, ToolError, error_for_status
from scanner.graph.verify import Attempt, VerifyTarget, build_test_message, describe_missing_mailbox, ordered_targets
from scanner.graph.redact import redact
from scanner.migrate.kit import write_module
from scanner.powershell import PowerShellError, find_pwsh, run_pwsh

MODULE_NAME = "Smtp2Graph"
# The module ends every Graph refusal with "(Graph <status> <code>: <message>)".
_GRAPH_DETAIL = re.compile(r"\(Graph (\d+) ([^:\s]*): (.*)\)\s*$", re.DOTALL)

_SEND_SCRIPT = r"""
param([string]$RequestPath)
$ErrorActionPreference = 'Stop'
# Error text without colour codes: a failure is quoted in smtp2graph's one-line message.
if ($null -ne $PSStyle) { $PSStyle.OutputRendering = 'PlainText' }
$request = Get-Content -LiteralPath $RequestPath -Raw -Encoding UTF8 | ConvertFrom-Json
Import-Module -Name $request.module -Force
$results = @()
foreach ($target in @($request.targets)) {
    $entry = [ordered]@{ sender = $target.sender; ok = $false; message = '' }
    try {
        Send-GraphMailMessage -From $target.sender -To $request.to -Subject $target.subject -Body $target.body -ErrorAction Stop
        $entry.ok = $true
    }
    catch {
        $entry.message = [string]$_.Exception.Message
    }
    $results += $entry
}
ConvertTo-Json -InputObject @($results) -Depth 4 -Compress
"""


def module_folder(path: Optional[Path]) -> tuple[Path, Optional[tempfile.TemporaryDirectory[str]]]:
    """The folder holding Smtp2Graph.psd1: a given module or kit folder, else a freshly generated module."""
    if path is None:

        holder = tempfile.TemporaryDirectory(prefix="smtp2graph-module-")
        folder = Path(holder.name) / MODULE_NAME
        write_module(folder)
        return folder, holder
    for candidate in (path, path / MODULE_NAME):
        if (candidate / f"{MODULE_NAME}.psd1").is_file():
            return candidate, None
    raise ToolError(f"{path}: no {MODULE_NAME}.psd1 here or in {path / MODULE_NAME} (write one with smtp2graph kit DIR)")


def module_environment(settings: AuthSettings, graph_url: str, certificate: Optional[Path]) -> dict[str, str]:
    """The child's environment: this one without stray SMTP2GRAPH_* values, plus the kit's settings for this app."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMTP2GRAPH_")}
    endpoint = graph_url[: -len("/v1.0")] if graph_url.endswith("/v1.0") else graph_url
    authority = settings.authority_host if "://" in settings.authority_host else f"https://{settings.authority_host}"
    env.update({
        "SMTP2GRAPH_TENANT_ID": settings.tenant,
        "SMTP2GRAPH_AUTHORITY_HOST": authority,
        "SMTP2GRAPH_GRAPH_ENDPOINT": endpoint,
        "SMTP2GRAPH_SAVE_TO_SENT_ITEMS": "false",
    })
    if settings.client_id:
        env["SMTP2GRAPH_CLIENT_ID"] = settings.client_id
    if settings.mode is AuthMode.CERTIFICATE:
        assert certificate is not None
        if certificate.suffix.lower() not in (".pfx", ".p12"):
            raise ToolError(f"{certificate}: the module reads a .pfx (or a certificate in the Windows store by "
                            "thumbprint): pass --certificate app.pfx to verify through the module")
        env["SMTP2GRAPH_AUTH"] = "Certificate"
        env["SMTP2GRAPH_CERT_PATH"] = str(certificate.resolve())
        passphrase = os.environ.get(PASSPHRASE_ENV)
        if passphrase:
            env["SMTP2GRAPH_CERT_PASSWORD"] = passphrase
    elif settings.mode is AuthMode.SECRET:
        secret = os.environ.get(settings.secret_env)
        if not secret:
            raise ToolError(f"verify through the module reads the client secret from ${settings.secret_env}: set it")
        env["SMTP2GRAPH_AUTH"] = "ClientSecret"
        env["SMTP2GRAPH_CLIENT_SECRET"] = secret
    elif settings.mode is AuthMode.MANAGED_IDENTITY:
        env["SMTP2GRAPH_AUTH"] = "ManagedIdentity"
        if settings.managed_identity_client_id:
            env["SMTP2GRAPH_MI_CLIENT_ID"] = settings.managed_identity_client_id
    else:
        raise ToolError("the module sends with the app's own credential: --device-code cannot verify through it")
    return env


def check_module_prerequisites(settings: AuthSettings, certificate: Optional[Path]) -> None:
    """Refuse, before any sign-in, what the module path cannot do: no pwsh, a delegated sign-in, a PEM file."""

    if find_pwsh() is None:
        raise ToolError("verify --through module needs pwsh (PowerShell 7): install it, or use --through graph")
    if settings.mode is AuthMode.DEVICE_CODE:
        raise ToolError("the module sends with the app's own credential: --device-code cannot verify through it")
    if settings.mode is AuthMode.CERTIFICATE and certificate is not None and \
            certificate.suffix.lower() not in (".pfx", ".p12"):
        raise ToolError(f"{certificate}: the module reads a .pfx (or a certificate in the Windows store by "
                        "thumbprint): pass --certificate app.pfx to verify through the module")


def _error_from(message: str) -> GraphError:
    """A typed error from the module's message; status 0 when the module failed before Graph answered."""

    match = _GRAPH_DETAIL.search(message)
    if match is None:
        return GraphError(0, "ModuleError", redact(message.strip().splitlines()[0] if message.strip() else "failed"))
    status, code, detail = int(match.group(1)), match.group(2), match.group(3)
    cls = error_for_status(status)
    # The module retries 503/504 itself; one that still failed may have been taken: never re-sent here.
    return cls(status, code or f"HTTP{status}", detail, maybe_accepted=status in (502, 503, 504))


def send_through_module(targets: list[VerifyTarget], to: str, app_id: str, *, settings: AuthSettings,
                        graph_url: str, certificate: Optional[Path], module: Optional[Path], client: GraphClient,
                        now: Any, timeout: float = 600.0, run_id: str = "") -> list[Attempt]:
    """Run Send-GraphMailMessage once per target in one pwsh; return the attempts for judging."""

    if find_pwsh() is None:
        raise ToolError("verify through the module needs pwsh (PowerShell 7): install it, or verify without --through module")
    folder, holder = module_folder(module)
    ordered = ordered_targets(targets)
    try:
        env = module_environment(settings, graph_url, certificate)
        requests: list[dict[str, str]] = []
        for target in ordered:
            message = build_test_message(target.sender, to, app_id, now(), target.expectation, run_id)
            requests.append({"sender": target.sender, "subject": message["subject"], "body": message["body"]["content"]})
        # Absolute: pwsh reads a relative name as a module name, not a path (verify --module kit/ from the shell).
        payload = {"module": str((folder / f"{MODULE_NAME}.psd1").resolve()), "to": to, "targets": requests}
        with tempfile.TemporaryDirectory(prefix="smtp2graph-verify-") as work:
            request = Path(work) / "request.json"
            request.write_text(json.dumps(payload), encoding="utf-8")
            try:
                run = run_pwsh(_SEND_SCRIPT, args=[str(request)], timeout=timeout, env=env)
            except PowerShellError as exc:
                raise ToolError(f"verify through the module: {exc}") from None
    finally:
        if holder is not None:
            holder.cleanup()
    try:
        answers = json.loads(run.stdout)
    except json.JSONDecodeError:

        detail = redact((run.stderr or run.stdout).strip().splitlines()[-1] if (run.stderr or run.stdout).strip() else "")
        raise ToolError(f"verify through the module: pwsh exited with {run.returncode} without an answer ({detail})") from None
    answers = answers if isinstance(answers, list) else [answers]
    attempts = []
    for target, answer in zip(ordered, answers):
        if isinstance(answer, dict) and answer.get("ok"):
            attempts.append(Attempt(target, 202, None))
            continue
        error = _error_from(str(answer.get("message") if isinstance(answer, dict) else answer))
        attempt = Attempt(target, error.status or None, error)
        if error.code == NOT_ENABLED_FOR_REST:
            attempt.mailbox_detail = describe_missing_mailbox(client, target.sender)
        attempts.append(attempt)
    return attempts
