"""Where should a patched script import Smtp2Graph? Measure each way against the cases that matter (issue 23, item 1).

Every case is run for real under pwsh, three times per way of importing:

- the original, its send failing (Send-MailMessage / SmtpClient to 127.0.0.1:9, connection refused): how wide a
  failed send is;
- the patched script with the module missing (PSModulePath without it): how wide a missing module is;
- the patched script with the module installed (a stub Smtp2Graph on PSModulePath that prints what it sends): whether
  the send still happens, in jobs, runspaces and ForEach-Object -Parallel too.

The ways of importing, each derived from the patch `fix` writes (module style):

- ``stop``: ``Import-Module Smtp2Graph -ErrorAction Stop`` after the header (the patch before issue 23);
- ``autoload``: no import line: PowerShell loads the module from PSModulePath at the first Send-GraphMailMessage;
- ``before-send``: ``Import-Module Smtp2Graph -ErrorAction Stop`` on the line before each send (``before-send-continue``:
  the same without -ErrorAction);
- ``guarded``: ``Import-Module Smtp2Graph -ErrorAction Ignore`` where the import goes (what `fix` writes since issue 23).

A case "fails wider" when, with the module missing, the patched script stops where the original with a failed send
went on: its exit code changed, or a line of the script's work that the original printed is missing. It "differs"
when the script did all its work but another branch ran (a catch for another exception type, an error variable left
empty). Remoting (Invoke-Command -ComputerName) cannot run here (no WinRM or SSH target): the static tests cover
where its import lands.

    python bench/import_strategies.py [--markdown]

Nothing leaves 127.0.0.1 (the SMTP server is 127.0.0.1:9, the stub module sends nothing).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scanner.check import calls_in_text  # noqa: E402
from scanner.migrate.patch import patch_text  # noqa: E402
from scanner.migrate.placement import IMPORT_PRESENT  # noqa: E402
from scanner.powershell import find_pwsh  # noqa: E402

SEND = ("Send-MailMessage -To 'ops@contoso.com' -From 'alerts@contoso.com' -Subject 'bench' -Body 'x' "
        "-SmtpServer $env:BENCH_SMTP -Port 9")
CLIENT = ("$smtp = New-Object System.Net.Mail.SmtpClient($env:BENCH_SMTP, 9)\n"
          "$msg = New-Object System.Net.Mail.MailMessage('alerts@contoso.com', 'ops@contoso.com', 'bench', 'x')\n")
STUB = """
function Send-GraphMailMessage {
    [CmdletBinding()]
    param([string[]]$To, [string]$From, [string]$Subject, [string]$Body, [string]$SmtpServer, [int]$Port,
          [System.Net.Mail.MailMessage]$MailMessage)
    $what = $Subject
    if ($MailMessage) { $what = $MailMessage.Subject }
    Write-Output "graph-sent $what"
}
"""

WAYS = ("stop", "autoload", "before-send", "before-send-continue", "guarded")


@dataclass(frozen=True)
class Case:
    name: str
    script: str
    files: dict[str, str] = field(default_factory=dict)
    args: tuple[str, ...] = ()
    sends: int = 1  # graph-sent lines expected with the module installed


CASES = (
    Case("plain script", f"'start'\n{SEND}\n'end'\n"),
    Case("mails only under -SendMail (not given)", f"param([switch]$SendMail)\n'work done'\nif ($SendMail) {{\n    {SEND}\n}}\n'end'\n",
         sends=0),
    Case("toolkit .psm1 (5 commands, one mails)", "Import-Module (Join-Path $PSScriptRoot 'Toolkit.psm1')\n"
         "'commands ' + @(Get-Command -Module Toolkit).Count\nGet-Disk1\nSend-Report\n'end'\n",
         {"Toolkit.psm1": "function Get-Disk1 { 'disk ok' }\nfunction Get-Disk2 { }\nfunction Get-Disk3 { }\n"
                          "function Get-Disk4 { }\n" f"function Send-Report {{\n    {SEND}\n}}\n"}),
    Case("$ErrorActionPreference = 'Stop', work before the send",
         f"$ErrorActionPreference = 'Stop'\n'start'\n'work done'\n{SEND}\n'end'\n"),
    Case("try { -ErrorAction Stop } catch [SmtpException] / catch",
         f"try {{\n    {SEND} -ErrorAction Stop\n    'sent'\n}}\ncatch [System.Net.Mail.SmtpException] {{\n    'smtp failed'\n}}\n"
         "catch {\n    'other failure'\n}\n'end'\n"),
    Case("$ErrorActionPreference = 'Stop', only catch [SmtpException]",
         f"$ErrorActionPreference = 'Stop'\ntry {{\n    {SEND}\n}}\ncatch [System.Net.Mail.SmtpException] {{\n    'smtp failed'\n}}\n'end'\n"),
    Case("-ErrorVariable, -ErrorAction SilentlyContinue",
         f"{SEND} -ErrorVariable failed -ErrorAction SilentlyContinue\nif ($failed) {{ 'failed' }} else {{ 'sent' }}\n'end'\n"),
    Case("SmtpClient.Send in try/catch", f"{CLIENT}try {{\n    $smtp.Send($msg)\n    'sent'\n}}\ncatch {{\n    'caught'\n}}\n'end'\n"),
    Case("Start-Job", f"Start-Job -ScriptBlock {{\n    {SEND}\n}} | Receive-Job -Wait -AutoRemoveJob\n'end'\n"),
    Case("runspace (AddScript)", f"$ps = [powershell]::Create()\n$null = $ps.AddScript({{\n    {SEND}\n}})\n$ps.Invoke()\n'end'\n"),
    Case("ForEach-Object -Parallel", f"1..2 | ForEach-Object -Parallel {{\n    {SEND}\n}}\n'end'\n", sends=2),
    Case("-Parallel, module autoloading off in the runspace",
         f"1..2 | ForEach-Object -Parallel {{\n    $PSModuleAutoLoadingPreference = 'None'\n"
         f"    Import-Module Microsoft.PowerShell.Utility\n    {SEND}\n}}\n'end'\n", sends=2),
)


def variant(patched: str, way: str) -> str:
    """The patch as ``way`` imports the module (derived from the text `fix` writes)."""
    lines = patched.split("\n")
    plain = [line for line in lines if not IMPORT_PRESENT.match(line)]
    if way == "autoload":
        return "\n".join(plain)
    if way in ("stop", "guarded"):
        action = "Stop" if way == "stop" else "Ignore"
        return "\n".join(re.sub(r"(?i)(Import-Module Smtp2Graph)(?: -ErrorAction \w+)?", rf"\1 -ErrorAction {action}", line)
                         if IMPORT_PRESENT.match(line) else line for line in lines)
    suffix = " -ErrorAction Stop" if way == "before-send" else ""
    out: list[str] = []
    for line in plain:
        if "Send-GraphMailMessage" in line:
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}Import-Module Smtp2Graph{suffix}")
        out.append(line)
    return "\n".join(out)


@dataclass
class Run:
    output: list[str]
    exit_code: int

    @property
    def sent(self) -> int:
        return sum(1 for line in self.output if line.startswith("graph-sent"))


def _pwsh(folder: Path, case: Case, modules: Path) -> Run:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PSModulePath")}
    env.update(PSModulePath=str(modules), BENCH_SMTP="127.0.0.1", NO_COLOR="1", HTTPS_PROXY="http://127.0.0.1:9",
               HTTP_PROXY="http://127.0.0.1:9", NO_PROXY="127.0.0.1,localhost", POWERSHELL_UPDATECHECK="Off")
    pwsh = find_pwsh()
    assert pwsh is not None, "needs pwsh"
    done = subprocess.run([pwsh, "-NoLogo", "-NoProfile", "-NonInteractive", "-File", str(folder / "script.ps1"), *case.args],
                          capture_output=True, text=True, timeout=180, env=env, cwd=str(folder))
    output = [line.strip() for line in done.stdout.splitlines() if line.strip() and not line.startswith(("WARNING:", "VERBOSE:"))]
    return Run(output, done.returncode)


def _write(folder: Path, case: Case, script: str, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "script.ps1").write_text(script, encoding="utf-8")
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _patched(text: str, name: str) -> str:
    result = patch_text(text, calls_in_text(text, name), unsafe_fixes=True)
    assert all(fix.applied for fix in result.fixes), [(fix.reason, fix.refused) for fix in result.fixes]
    return result.patched


# Lines that only say which branch ran after the send (a catch, an error check): the others are work the script does.
BRANCH_LINES = ("sent", "failed", "caught", "smtp failed", "other failure")


def wider(original: Run, missing: Run) -> str:
    """Why the run without the module failed wider than the original's failed send ("" when it did not)."""
    if missing.exit_code != original.exit_code:
        return f"exit code {original.exit_code} -> {missing.exit_code}, output {missing.output}"
    lost = [line for line in original.output if line not in missing.output and line not in BRANCH_LINES]
    return f"lost {lost}" if lost else ""


def differs(original: Run, missing: Run) -> str:
    """How the run without the module went another way, as far as the original ("" when it went the same way)."""
    if wider(original, missing) or original.output == missing.output:
        return ""
    return f"{original.output} -> {missing.output}"


def measure(work: Path) -> list[dict[str, object]]:
    installed, missing = work / "installed", work / "missing"
    (installed / "Smtp2Graph").mkdir(parents=True)
    (installed / "Smtp2Graph" / "Smtp2Graph.psm1").write_text(STUB, encoding="utf-8")
    missing.mkdir()
    jobs: list[tuple[str, str, str, Path, Case, Path]] = []
    for index, case in enumerate(CASES):
        base = work / f"case{index}"
        jobs.append((case.name, "original", "failed send", _write(base / "original", case, case.script, case.files), case, missing))
        patched_script = _patched(case.script, "script.ps1")
        patched_files = {name: (_patched(text, name) if "Send-MailMessage" in text else text) for name, text in case.files.items()}
        for way in WAYS:
            files = {name: variant(text, way) for name, text in patched_files.items()}
            folder = _write(base / way, case, variant(patched_script, way), files)
            jobs.append((case.name, way, "module missing", folder, case, missing))
            jobs.append((case.name, way, "module installed", folder, case, installed))
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(lambda job: _pwsh(job[3], job[4], job[5]), jobs))
    by_key = {(job[0], job[1], job[2]): run for job, run in zip(jobs, runs)}
    rows: list[dict[str, object]] = []
    for case in CASES:
        original = by_key[(case.name, "original", "failed send")]
        for way in WAYS:
            absent = by_key[(case.name, way, "module missing")]
            present = by_key[(case.name, way, "module installed")]
            rows.append({"case": case.name, "way": way, "original": original.output, "original_exit": original.exit_code,
                         "missing": absent.output, "missing_exit": absent.exit_code, "wider": wider(original, absent),
                         "differs": differs(original, absent),
                         "installed_sent": present.sent, "expected_sent": case.sends,
                         "installed_ok": present.sent == case.sends and present.exit_code == 0})
    return rows


def render(rows: list[dict[str, object]]) -> str:
    lines = ["| case | " + " | ".join(WAYS) + " |", "|---|" + "---|" * len(WAYS)]
    for case in CASES:
        cells = []
        for way in WAYS:
            row = next(r for r in rows if r["case"] == case.name and r["way"] == way)
            missing = f"WIDER ({row['wider']})" if row["wider"] else (f"no wider, differs ({row['differs']})"
                                                                     if row["differs"] else "same as a failed send")
            installed = "sends" if row["installed_ok"] else f"BROKEN ({row['installed_sent']}/{row['expected_sent']} sent)"
            cells.append(f"missing: {missing}; installed: {installed}")
        lines.append(f"| {case.name} | " + " | ".join(cells) + " |")
    totals = []
    for way in WAYS:
        mine = [r for r in rows if r["way"] == way]
        totals.append(f"missing: {sum(1 for r in mine if not r['wider'])}/{len(mine)} no wider "
                      f"({sum(1 for r in mine if not r['wider'] and not r['differs'])} the same as a failed send); "
                      f"installed: {sum(1 for r in mine if r['installed_ok'])}/{len(mine)} send")
    lines.append("| **total** | " + " | ".join(totals) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--details", action="store_true", help="print each run's output")
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="smtp2graph-imports-") as work:
        rows = measure(Path(work))
    sys.stdout.write(render(rows))
    if options.details:
        for row in rows:
            print(f"{row['case']} / {row['way']}: original {row['original']} exit {row['original_exit']}; "
                  f"missing {row['missing']} exit {row['missing_exit']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
