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
import threading
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

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


def helper_environment(base: Mapping[str, str]) -> dict[str, str]:
    """The environment of a pwsh smtp2graph starts: no telemetry, no update check, and .NET's tiered
    compilation without call counting. A short-lived pwsh otherwise spends more CPU re-compiling its hot
    methods in the background than on its work (the parser session: 1.25 s CPU against 0.60 s for three
    scripts handed in while a scan runs, bench/pwsh_start.py); the code stays at its first tier: the
    ReadyToRun code Microsoft's packages ship, or quick JIT. Set in the caller's environment, each wins."""
    env = dict(base)
    env.setdefault("POWERSHELL_TELEMETRY_OPTOUT", "1")
    env.setdefault("POWERSHELL_UPDATECHECK", "Off")
    env.setdefault("DOTNET_CLI_TELEMETRY_OPTOUT", "1")
    env.setdefault("DOTNET_TC_CallCounting", "0")
    return env


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
        run_env = helper_environment(os.environ if env is None else env)
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


# One pwsh process answers a stream of parse requests: a line "ID<TAB>PATH" in, a line of JSON out.
# Functions are found with an AST visitor (a class): a FindAll predicate runs a script block per AST
# node, which costs more than the parse itself on a large script.
_PARSE_LOOP = r"""
$ErrorActionPreference = 'Stop'
class FunctionFinder : System.Management.Automation.Language.AstVisitor2 {
    [System.Collections.Generic.List[object]] $Found = [System.Collections.Generic.List[object]]::new()
    [System.Management.Automation.Language.AstVisitAction] VisitFunctionDefinition([System.Management.Automation.Language.FunctionDefinitionAst] $node) {
        $this.Found.Add($node)
        return [System.Management.Automation.Language.AstVisitAction]::Continue
    }
}
function Get-BlockNames($body) {
    $names = [System.Collections.Generic.List[string]]::new()
    if ($null -eq $body) { return ,$names.ToArray() }
    foreach ($kind in 'DynamicParamBlock', 'BeginBlock', 'ProcessBlock', 'EndBlock', 'CleanBlock') {
        $block = $null
        if ($body.PSObject.Properties[$kind]) { $block = $body.$kind }
        if ($null -ne $block -and -not $block.Unnamed) { $names.Add($kind.Replace('Block', '').ToLowerInvariant()) }
    }
    return ,$names.ToArray()
}
# JSON written by hand: ConvertTo-Json loads a module, a fifth of the process's start.
function ConvertTo-JsonText($value) {
    if ($value -is [bool]) { if ($value) { return 'true' } return 'false' }
    if ($value -is [string]) { return '"' + [System.Text.Json.JsonEncodedText]::Encode($value).ToString() + '"' }
    if ($value -is [System.Collections.IDictionary]) {
        $parts = foreach ($key in $value.Keys) { (ConvertTo-JsonText ([string]$key)) + ':' + (ConvertTo-JsonText $value[$key]) }
        return '{' + ($parts -join ',') + '}'
    }
    $items = foreach ($item in $value) { ConvertTo-JsonText $item }
    return '[' + ($items -join ',') + ']'
}
$stdout = [Console]::Out
while ($true) {
    $line = [Console]::In.ReadLine()
    if ($null -eq $line) { break }
    $id, $path = $line.Split("`t", 2)
    $text = [System.IO.File]::ReadAllText($path, [System.Text.Encoding]::UTF8)
    $tokens = $null; $errors = $null
    $ast = [System.Management.Automation.Language.Parser]::ParseInput($text, [ref]$tokens, [ref]$errors)
    $finder = [FunctionFinder]::new()
    $ast.Visit($finder)
    $functions = [System.Collections.Generic.List[object]]::new()
    foreach ($fn in $finder.Found) {
        $functions.Add([ordered]@{ name = $fn.Name; param = ($null -ne $fn.Body.ParamBlock); blocks = (Get-BlockNames $fn.Body) })
    }
    $answer = [ordered]@{
        id = $id
        errors = @(foreach ($e in $errors) { '{0}:{1} {2} {3}' -f $e.Extent.StartLineNumber, $e.Extent.StartColumnNumber, $e.ErrorId, $e.Message })
        param = ($null -ne $ast.ParamBlock)
        blocks = (Get-BlockNames $ast)
        functions = $functions.ToArray()
    }
    $stdout.WriteLine((ConvertTo-JsonText $answer))
    $stdout.Flush()
}
"""


def _shape(answer: dict[str, Any]) -> ScriptShape:
    return ScriptShape(
        errors=tuple(answer.get("errors") or ()),
        has_param_block=bool(answer.get("param")),
        named_blocks=tuple(answer.get("blocks") or ()),
        functions=tuple(
            FunctionShape(fn["name"], bool(fn.get("param")), tuple(fn.get("blocks") or ()))
            for fn in (answer.get("functions") or ())
        ),
    )


class ParserSession:
    """PowerShell's parser in one pwsh process that reads scripts as they are handed in: a run hands
    each text in as soon as it has it (the parse overlaps the rest of the analysis) and asks for the
    shapes when it needs them. Started on the first text; ``close`` ends it."""

    def __init__(self, timeout: float = 300.0) -> None:
        self.timeout = timeout
        self._process: subprocess.Popen[str] | None = None
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._ids: dict[str, int] = {}  # text -> request id
        self._answers: dict[int, ScriptShape] = {}
        self._failure = ""
        self._done = threading.Condition()
        self._reader: threading.Thread | None = None
        self._finalizer: weakref.finalize | None = None

    def submit(self, texts: list[str]) -> None:
        """Hand texts to the parser (each once); it parses them while the caller goes on."""
        new = [text for text in dict.fromkeys(texts) if text not in self._ids]
        if not new:
            return
        process = self._start()
        lines = []
        assert self._folder is not None
        for text in new:
            number = len(self._ids)
            self._ids[text] = number
            path = Path(self._folder.name) / f"{number}.ps1"
            # A lone surrogate (decoded from broken UTF-16) cannot be UTF-8: it is written as "?"
            # the same way in the original and the patched text, so the judge compares like with like.
            path.write_bytes(text.encode("utf-8", "replace"))
            lines.append(f"{number}\t{path}\n")
        try:
            assert process.stdin is not None
            process.stdin.write("".join(lines))
            process.stdin.flush()
        except OSError as exc:
            self._fail(f"pwsh stopped reading: {exc}")

    def shapes(self, texts: list[str]) -> list[ScriptShape]:
        """The shape of each text (handed in now if it was not yet); raises PowerShellError."""
        self.submit(texts)
        wanted = [self._ids[text] for text in texts]
        deadline = time.monotonic() + self.timeout
        with self._done:
            while not self._failure and not all(number in self._answers for number in wanted):
                left = deadline - time.monotonic()
                if left <= 0:
                    self._failure = f"pwsh did not finish parsing within {self.timeout:g} s"
                    break
                self._done.wait(left)
            if self._failure:
                raise PowerShellError(self._failure)
            return [self._answers[number] for number in wanted]

    def close(self) -> None:
        self._process = None
        if self._finalizer is not None:
            self._finalizer()  # ends pwsh and removes the folder (once)
            self._finalizer = None
        if self._reader is not None:
            self._reader.join(timeout=10)
        self._folder = None

    def __enter__(self) -> ParserSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> subprocess.Popen[str]:
        if self._process is not None:
            return self._process
        pwsh = find_pwsh()
        if pwsh is None:
            raise PowerShellError("pwsh (PowerShell 7) is not installed; see README 'Development' for how to get it")
        self._folder = tempfile.TemporaryDirectory(prefix="smtp2graph-parse-")
        script = Path(self._folder.name) / "parse.ps1"
        script.write_text(_PARSE_LOOP, encoding="utf-8-sig")
        env = helper_environment(os.environ)
        try:
            self._process = subprocess.Popen(
                [pwsh, "-NoLogo", "-NoProfile", "-NonInteractive", "-File", str(script)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True, encoding="utf-8", errors="replace", env=env,
            )
        except OSError as exc:
            raise PowerShellError(f"pwsh could not be started: {exc}") from exc
        # A session nobody closed still ends its pwsh once it is dropped: the reader holds it only weakly.
        self._finalizer = weakref.finalize(self, _end_session, self._process, self._folder)
        self._reader = threading.Thread(target=_read_answers, args=(self._process, weakref.ref(self)), daemon=True)
        self._reader.start()
        return self._process

    def _answer(self, line: str) -> bool:
        try:
            answer = json.loads(line)
            number, shape = int(answer["id"]), _shape(answer)
        except (ValueError, KeyError, TypeError):
            self._fail(f"pwsh did not answer JSON: {line.strip()[:300]!r}")
            return False
        with self._done:
            self._answers[number] = shape
            self._done.notify_all()
        return True

    def _ended(self, process: subprocess.Popen[str]) -> None:
        if self._ids.keys() and len(self._answers) < len(self._ids):
            stderr = process.stderr.read() if process.stderr is not None else ""
            self._fail(f"pwsh exited with {process.wait()}: {stderr.strip()[:500]}")

    def _fail(self, reason: str) -> None:
        with self._done:
            self._failure = self._failure or reason
            self._done.notify_all()


def _read_answers(process: subprocess.Popen[str], session: weakref.ref[ParserSession]) -> None:
    """The reader thread: each answer line goes to the session while it exists."""
    assert process.stdout is not None
    for line in process.stdout:
        alive = session()
        if alive is None or not alive._answer(line):
            return
        del alive
    alive = session()
    if alive is not None:
        alive._ended(process)


def _end_session(process: subprocess.Popen[str], folder: tempfile.TemporaryDirectory[str]) -> None:
    """End a parser session's pwsh (end of input, then a kill if it lingers) and remove its folder."""
    try:
        if process.stdin is not None:
            process.stdin.close()
        process.wait(timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        process.kill()
    folder.cleanup()


def parse_scripts(texts: list[str], *, timeout: float = 300.0) -> list[ScriptShape]:
    """Parse each text with PowerShell's own parser in one pwsh process; raises PowerShellError without pwsh."""
    if not texts:
        return []
    with ParserSession(timeout) as session:
        return session.shapes(texts)


# --- the binder oracle ------------------------------------------------------------------------

@dataclass(frozen=True)
class BinderArgument:
    """One parameter as ``StaticParameterBinder`` bound it: its name, its value's source text, how it was bound."""

    name: str  # the parameter's canonical name (To, Subject, UseSsl, ErrorAction, …)
    text: str | None  # the value's source text; None for a switch written without an argument
    positional: bool


@dataclass(frozen=True)
class BinderProblem:
    """A binding exception: ``error_id`` is PowerShell's (NamedParameterNotFound, AmbiguousParameter, …)."""

    error_id: str
    key: str  # the parameter name or argument text the binder filed it under
    element: str  # source text of the command element it is about
    message: str


@dataclass(frozen=True)
class BinderCall:
    """A Send-MailMessage command as PowerShell's parser and binder see it."""

    start: int  # offsets in the Python text (code points), from the `&` / `.` / qualifier on
    end: int
    name_start: int  # where the command name starts (its quote for `& 'Send-MailMessage'`)
    line: int
    column: int
    name: str  # the command name as written (`Send-MailMessage`, `Microsoft.PowerShell.Utility\Send-MailMessage`, an alias)
    arguments: tuple[BinderArgument, ...]
    problems: tuple[BinderProblem, ...]
    splats: tuple[str, ...]  # `@name` arguments: the static binder cannot see what they bind
    shadowed: bool  # a `function Send-MailMessage` defined earlier in the script takes the call
    failure: str = ""  # BindCommand itself threw (its message); nothing else is known of the call
    parse_errors: int = 0  # PowerShell's parse errors inside the command: its binding is the parser's recovery guess


@dataclass(frozen=True)
class ScriptBinding:
    """Every Send-MailMessage command of one script, bound by PowerShell; ``parse_errors`` counts the parser's errors."""

    parse_errors: int
    calls: tuple[BinderCall, ...]


_BIND_SCRIPT = r"""
param([string]$RequestPath)
$ErrorActionPreference = 'Stop'
$null = Get-Command -Name Send-MailMessage -CommandType Cmdlet  # the binder needs the cmdlet's metadata
$texts = Get-Content -LiteralPath $RequestPath -Raw -Encoding utf8 | ConvertFrom-Json
$L = 'System.Management.Automation.Language'
$answers = @()
foreach ($text in @($texts)) {
    $tokens = $null; $errors = $null
    $ast = [System.Management.Automation.Language.Parser]::ParseInput([string]$text, [ref]$tokens, [ref]$errors)
    $parseErrors = @($errors).Count
    $shadowing = @($ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.FunctionDefinitionAst] -and $n.Name -eq 'Send-MailMessage' }, $true))
    $shadows = @($shadowing | ForEach-Object { $_.Extent.StartOffset })
    if ($shadowing.Count) {
        # The binder would bind every call of the file to such a function: rename it (same length) and bind again.
        $chars = ([string]$text).ToCharArray()
        foreach ($fn in $shadowing) { $chars[$fn.Extent.StartOffset + [regex]::Match($fn.Extent.Text, '^\w+\s+').Length] = 'X' }
        $ast = [System.Management.Automation.Language.Parser]::ParseInput((-join $chars), [ref]$tokens, [ref]$errors)
    }
    $commands = @($ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.CommandAst] }, $true))
    # Aliases the script itself gives Send-MailMessage (Set-Alias / New-Alias with constant arguments).
    $aliases = @{}
    foreach ($c in $commands) {
        $name = $c.GetCommandName()
        if ($name -and $name.Split('\')[-1] -in 'Set-Alias', 'New-Alias', 'sal', 'nal') {
            try { $b = [System.Management.Automation.Language.StaticParameterBinder]::BindCommand($c, $true) } catch { continue }
            $n = $b.BoundParameters['Name']; $v = $b.BoundParameters['Value']
            if ($n -and $v -and $n.ConstantValue -is [string] -and ([string]$v.ConstantValue).Split('\')[-1] -eq 'Send-MailMessage') {
                $aliases[$n.ConstantValue] = $c.Extent.StartOffset
                Set-Alias -Name $n.ConstantValue -Value Send-MailMessage -Scope Global -Force
            }
        }
    }
    $calls = @()
    foreach ($c in $commands) {
        $name = $c.GetCommandName()
        if (-not $name) { continue }
        $parts = $name.Split('\')
        $qualified = $parts.Count -gt 1
        if ($qualified -and $parts[0] -ne 'Microsoft.PowerShell.Utility') { continue }
        $isAlias = (-not $qualified) -and $aliases.ContainsKey($name) -and $aliases[$name] -lt $c.Extent.StartOffset
        if ($parts[-1] -ne 'Send-MailMessage' -and -not $isAlias) { continue }
        $start = $c.Extent.StartOffset
        $elements = $c.CommandElements
        $arguments = @()
        $problems = @()
        $failure = $null
        try { $b = [System.Management.Automation.Language.StaticParameterBinder]::BindCommand($c, $true) }
        catch { $failure = $_.Exception.GetBaseException().Message; $b = [pscustomobject]@{ BoundParameters = @{}; BindingExceptions = @{} } }
        foreach ($key in $b.BoundParameters.Keys) {
            $bound = $b.BoundParameters[$key]
            $value = $bound.Value
            $positional = $false
            if ($null -ne $value -and $value.Parent -eq $c) {
                # Named when the element before the value is `-Name` (or a prefix / alias of it) without a colon argument.
                $i = $elements.IndexOf($value)
                $before = if ($i -gt 0) { $elements[$i - 1] } else { $null }
                $positional = $true
                if ($before -is [System.Management.Automation.Language.CommandParameterAst] -and $null -eq $before.Argument) {
                    $written = $before.ParameterName
                    foreach ($candidate in @($bound.Parameter.Name) + @($bound.Parameter.Aliases)) {
                        if ($candidate -and $candidate.StartsWith($written, [System.StringComparison]::OrdinalIgnoreCase)) { $positional = $false }
                    }
                }
            }
            $arguments += [ordered]@{ name = $key; text = $(if ($null -ne $value) { $value.Extent.Text } else { $null }); positional = $positional }
        }
        foreach ($key in $b.BindingExceptions.Keys) {
            $e = $b.BindingExceptions[$key]
            $problems += [ordered]@{ id = [string]$e.BindingException.ErrorId; key = [string]$key; element = $e.CommandElement.Extent.Text; message = $e.BindingException.Message }
        }
        $splats = @($elements | Where-Object { $_ -is [System.Management.Automation.Language.VariableExpressionAst] -and $_.Splatted } | ForEach-Object { $_.VariablePath.UserPath })
        $calls += [ordered]@{
            start = $start; end = $c.Extent.EndOffset; name = $elements[0].Extent.StartOffset; line = $c.Extent.StartLineNumber; column = $c.Extent.StartColumnNumber
            command = $name; failure = $failure; errors = @($errors | Where-Object { $_.Extent.StartOffset -ge $start -and $_.Extent.StartOffset -le $c.Extent.EndOffset }).Count; arguments = $arguments; problems = $problems; splats = $splats
            shadowed = ((-not $qualified) -and @($shadows | Where-Object { $_ -lt $start }).Count -gt 0)
        }
    }
    foreach ($alias in $aliases.Keys) { Remove-Item -LiteralPath "alias:$alias" -Force }
    $answers += [ordered]@{ errors = $parseErrors; calls = $calls }
}
ConvertTo-Json -InputObject @($answers) -Depth 8 -Compress
"""


def _code_point_offsets(text: str) -> Optional[list[int]]:
    """Map a UTF-16 offset (what .NET reports) to a code-point offset; None when the text has no astral characters."""
    if all(ord(c) < 0x10000 for c in text):
        return None
    mapping: list[int] = []
    for index, char in enumerate(text):
        mapping.extend([index] * (2 if ord(char) >= 0x10000 else 1))
    mapping.append(len(text))
    return mapping


def bind_send_mailmessage(texts: list[str], *, timeout: float = 600.0) -> list[ScriptBinding]:
    """Bind every Send-MailMessage command of each text with PowerShell's StaticParameterBinder, in one pwsh process.

    Covers plain, ``& 'Send-MailMessage'``, ``Microsoft.PowerShell.Utility\\Send-MailMessage`` and aliases the
    script sets with constant arguments. Raises PowerShellError without pwsh.
    """
    if not texts:
        return []
    answers = run_json(_BIND_SCRIPT, list(texts), timeout=timeout)
    if isinstance(answers, dict):
        answers = [answers]
    results: list[ScriptBinding] = []
    for text, answer in zip(texts, answers):
        mapping = _code_point_offsets(text)
        calls = []
        for call in answer.get("calls") or ():
            start, end, name_start = int(call["start"]), int(call["end"]), int(call["name"])
            if mapping is not None:
                start, end, name_start = mapping[start], mapping[end], mapping[name_start]
            calls.append(
                BinderCall(
                    start=start,
                    end=end,
                    name_start=name_start,
                    line=int(call["line"]),
                    column=int(call["column"]),
                    name=str(call["command"]),
                    arguments=tuple(BinderArgument(a["name"], a.get("text"), bool(a.get("positional"))) for a in call.get("arguments") or ()),
                    problems=tuple(BinderProblem(p["id"], p["key"], p.get("element") or "", p.get("message") or "") for p in call.get("problems") or ()),
                    splats=tuple(call.get("splats") or ()),
                    shadowed=bool(call.get("shadowed")),
                    failure=str(call.get("failure") or ""),
                    parse_errors=int(call.get("errors") or 0),
                )
            )
        results.append(ScriptBinding(int(answer.get("errors") or 0), tuple(calls)))
    return results
