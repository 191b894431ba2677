"""The one place that starts PowerShell: find ``pwsh``, run a script with a timeout, read its JSON answer.

Everything else asks "is there a PowerShell judge?" (:func:`find_pwsh`) and calls the helpers here:
the parser judge of ``fix`` (:func:`parse_scripts`), the binder oracle and a verify through the
generated module all share this runner. PowerShell is optional for users; CI always has it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

# Where .ci/run (and a contributor following README) installs PowerShell 7 and Pester 5 when missing.
TOOLS_DIR_ENV = "SMTP2GRAPH_TOOLS"
PWSH_ENV = "SMTP2GRAPH_PWSH"


def tools_dir() -> Path:
    """The folder that holds the project's PowerShell tools (``$SMTP2GRAPH_TOOLS``, else ~/.cache/smtp2graph-tools)."""
    configured = os.environ.get(TOOLS_DIR_ENV)
    if configured:
        return Path(configured)
    return Path.home() / ".cache" / "smtp2graph-tools"


@lru_cache(maxsize=1)
def find_pwsh() -> str | None:
    """The path of a PowerShell 7 executable, or None: ``$SMTP2GRAPH_PWSH``, then PATH, then the tools folder."""
    configured = os.environ.get(PWSH_ENV)
    if configured and Path(configured).is_file():
        return configured
    on_path = shutil.which("pwsh")
    if on_path:
        return on_path
    local = tools_dir() / "pwsh" / "pwsh"
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return None


def find_pester() -> Path | None:
    """The ``Pester.psd1`` of Pester 5.x in the tools folder (restored from NuGet by .ci/run), or None."""
    root = tools_dir() / "nuget" / "pester"
    if not root.is_dir():
        return None
    for version in sorted(root.iterdir(), reverse=True):
        if version.name.startswith("5."):
            manifest = version / "tools" / "Pester.psd1"
            if manifest.is_file():
                return manifest
    return None


class PowerShellError(Exception):
    """pwsh could not run a script (not installed, timed out, or its answer was not the expected JSON)."""


@dataclass
class PwshRun:
    """What one pwsh process did."""

    returncode: int
    stdout: str
    stderr: str


def run_pwsh(
    script: str,
    *,
    args: list[str] | None = None,
    timeout: float = 120.0,
    env: dict[str, str] | None = None,
    cwd: str | Path | None = None,
    stdin: str | None = None,
) -> PwshRun:
    """Run ``script`` (PowerShell source text) as a script file in a fresh ``pwsh -NoProfile -NonInteractive``.

    The script is written to a temporary ``.ps1`` so that ``param()`` and ``$PSScriptRoot``
    work as in a real script. Raises PowerShellError when pwsh is missing or the run times out.
    """
    pwsh = find_pwsh()
    if pwsh is None:
        raise PowerShellError("pwsh (PowerShell 7) is not installed; see README 'Development' for how to get it")
    with tempfile.TemporaryDirectory(prefix="smtp2graph-pwsh-") as folder:
        path = Path(folder) / "run.ps1"
        # A BOM makes Windows PowerShell 5.1 and pwsh read non-ASCII text in the script as UTF-8.
        path.write_text(script, encoding="utf-8-sig")
        command = [pwsh, "-NoLogo", "-NoProfile", "-NonInteractive", "-File", str(path), *(args or [])]
        run_env = dict(os.environ if env is None else env)
        run_env.setdefault("POWERSHELL_TELEMETRY_OPTOUT", "1")
        run_env.setdefault("POWERSHELL_UPDATECHECK", "Off")
        run_env.setdefault("DOTNET_CLI_TELEMETRY_OPTOUT", "1")
        try:
            completed = subprocess.run(
                command,
                input=stdin,
                capture_output=True,
                text=True,
                encoding="utf-8",
                errors="replace",
                timeout=timeout,
                env=run_env,
                cwd=str(cwd) if cwd is not None else None,
            )
        except subprocess.TimeoutExpired as exc:
            raise PowerShellError(f"pwsh did not finish within {timeout:g} s") from exc
        return PwshRun(completed.returncode, completed.stdout, completed.stderr)


def run_json(script: str, payload: Any = None, *, timeout: float = 120.0) -> Any:
    """Run a script that reads JSON from the file named by its first argument and prints one JSON document."""
    with tempfile.TemporaryDirectory(prefix="smtp2graph-json-") as folder:
        request = Path(folder) / "request.json"
        request.write_text(json.dumps(payload), encoding="utf-8")
        run = run_pwsh(script, args=[str(request)], timeout=timeout)
    if run.returncode != 0:
        raise PowerShellError(f"pwsh exited with {run.returncode}: {run.stderr.strip()[:500]}")
    try:
        return json.loads(run.stdout)
    except json.JSONDecodeError as exc:
        raise PowerShellError(f"pwsh did not answer JSON: {run.stdout.strip()[:300]!r}") from exc


# --- the parser judge -------------------------------------------------------------------------

@dataclass(frozen=True)
class FunctionShape:
    """A function as PowerShell's parser sees it: its name, whether it has a param block, its named blocks."""

    name: str
    has_param_block: bool
    named_blocks: tuple[str, ...]


@dataclass(frozen=True)
class ScriptShape:
    """What ``Parser.ParseInput`` says of one script: its parse errors and its structure."""

    errors: tuple[str, ...]  # "line:column ErrorId message"
    has_param_block: bool
    named_blocks: tuple[str, ...]  # begin / process / end / clean / dynamicparam written explicitly
    functions: tuple[FunctionShape, ...] = field(default_factory=tuple)

    @property
    def structure(self) -> tuple[object, ...]:
        """Everything a patch must keep: the param block, the named blocks and each function's shape."""
        return (self.has_param_block, self.named_blocks, self.functions)


_PARSE_SCRIPT = r"""
param([string]$RequestPath)
$ErrorActionPreference = 'Stop'
$request = Get-Content -LiteralPath $RequestPath -Raw -Encoding utf8 | ConvertFrom-Json
function Get-BlockNames($body) {
    $names = @()
    if ($null -eq $body) { return ,$names }
    foreach ($kind in 'DynamicParamBlock', 'BeginBlock', 'ProcessBlock', 'EndBlock', 'CleanBlock') {
        $block = $null
        if ($body.PSObject.Properties[$kind]) { $block = $body.$kind }
        if ($null -ne $block -and -not $block.Unnamed) { $names += $kind.Replace('Block', '').ToLowerInvariant() }
    }
    return ,$names
}
$answers = @()
foreach ($file in @($request)) {
    $text = [System.IO.File]::ReadAllText($file, [System.Text.Encoding]::UTF8)
    $tokens = $null; $errors = $null
    $ast = [System.Management.Automation.Language.Parser]::ParseInput($text, [ref]$tokens, [ref]$errors)
    $functions = @()
    foreach ($fn in $ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.FunctionDefinitionAst] }, $true)) {
        $functions += [ordered]@{
            name = $fn.Name
            param = ($null -ne $fn.Body.ParamBlock)
            blocks = (Get-BlockNames $fn.Body)
        }
    }
    $answers += [ordered]@{
        errors = @($errors | ForEach-Object { '{0}:{1} {2} {3}' -f $_.Extent.StartLineNumber, $_.Extent.StartColumnNumber, $_.ErrorId, $_.Message })
        param = ($null -ne $ast.ParamBlock)
        blocks = (Get-BlockNames $ast)
        functions = $functions
    }
}
ConvertTo-Json -InputObject @($answers) -Depth 6 -Compress
"""


def parse_scripts(texts: list[str], *, timeout: float = 300.0) -> list[ScriptShape]:
    """Parse each text with PowerShell's own parser in one pwsh process; raises PowerShellError without pwsh."""
    if not texts:
        return []
    with tempfile.TemporaryDirectory(prefix="smtp2graph-parse-") as folder:
        paths = []
        for index, text in enumerate(texts):
            path = Path(folder) / f"{index}.ps1"
            path.write_text(text, encoding="utf-8", newline="")
            paths.append(str(path))
        answers = run_json(_PARSE_SCRIPT, paths, timeout=timeout)
    if isinstance(answers, dict):
        answers = [answers]
    return [
        ScriptShape(
            errors=tuple(answer.get("errors") or ()),
            has_param_block=bool(answer.get("param")),
            named_blocks=tuple(answer.get("blocks") or ()),
            functions=tuple(
                FunctionShape(fn["name"], bool(fn.get("param")), tuple(fn.get("blocks") or ()))
                for fn in (answer.get("functions") or ())
            ),
        )
        for answer in answers
    ]
