"""The Windows PowerShell 5.1 judge (issue 23, item 8): everything smtp2graph ships or writes, judged against 5.1.

Windows PowerShell 5.1 cannot run here, so each script is judged instead: PowerShell 7's parser lists what it uses
(tests/ps51/Judge.ps1), and each use is looked up in what Windows PowerShell 5.1 on Windows Server 2016 has: its
command table and type accelerators (../shared/data/ps51), the .NET Framework 4.6.2 reference assemblies and
PowerShellStandard.Library 5.1 from NuGet (restored by .ci/install-powershell into the tools folder), read with
System.Reflection.MetadataLoadContext. README.md beside this file says what it checks and what it cannot.

What is judged: the generated module, its Pester tests and the rest of the kit (shipped: every gating finding
counts), the fixtures and examples patched in each fix style, and the snippets of every call (written from the
user's own script: only what the rewrite *adds* counts, a finding the original script already had does not).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scanner.powershell import find_pester, run_json, tools_dir

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
TESTS = REPO / "tests"
# The fix styles smtp2graph writes (scanner.migrate.patch.FixStyle values).
FIX_STYLES = ("module", "inline", "inline-sdk")
PATCHED_ROOTS = (REPO / "examples", TESTS / "fixtures")
REFERENCE_NET462 = ("microsoft.netframework.referenceassemblies.net462", "1.0.3", "build/.NETFramework/v4.6.2")
POWERSHELL_STANDARD = ("powershellstandard.library", "5.1.1", "lib/net452/System.Management.Automation.dll")
METADATA_LOAD_CONTEXT = ("system.reflection.metadataloadcontext", "10.0.15",
                         "lib/net10.0/System.Reflection.MetadataLoadContext.dll")
# The assemblies Windows PowerShell 5.1 (powershell.exe) has loaded before a script's first line; a type in any other
# framework assembly needs `Add-Type -AssemblyName` first (System.Net.Http, System.Web, System.Windows.Forms, ...).
LOADED_ASSEMBLIES = (
    "mscorlib", "System", "System.Core", "System.Management.Automation", "System.Xml", "System.Management",
    "System.DirectoryServices", "System.Configuration", "System.Configuration.Install", "System.Numerics",
    "System.Data", "System.Transactions", "Microsoft.Management.Infrastructure", "Microsoft.PowerShell.Commands.Utility",
    "Microsoft.PowerShell.Commands.Management", "Microsoft.PowerShell.Security", "Microsoft.PowerShell.ConsoleHost",
)


def data_dir() -> Path:
    """Where 5.1's command table and accelerators live (``$SMTP2GRAPH_PS51_DATA``, else ../shared/data/ps51)."""
    configured = os.environ.get("SMTP2GRAPH_PS51_DATA")
    return Path(configured) if configured else REPO.parent / "shared" / "data" / "ps51"


@dataclass(frozen=True)
class JudgeTools:
    """Everything the judge reads besides the scripts."""

    reference_assemblies: Path
    powershell_standard: Path
    metadata_load_context: Path
    commands: Path
    accelerators: Path


def _package(parts: tuple[str, str, str]) -> Path:
    name, version, inner = parts
    return tools_dir() / "nuget" / name / version / inner


def find_tools() -> JudgeTools | None:
    """The judge's inputs, or None when one is missing (run .ci/install-powershell)."""
    tools = JudgeTools(
        reference_assemblies=_package(REFERENCE_NET462),
        powershell_standard=_package(POWERSHELL_STANDARD),
        metadata_load_context=_package(METADATA_LOAD_CONTEXT),
        commands=data_dir() / "desktop-5.1.14393.206-windows.json",
        accelerators=data_dir() / "accelerators-5.1.tsv",
    )
    present = (tools.reference_assemblies / "mscorlib.dll", tools.powershell_standard, tools.metadata_load_context,
               tools.commands, tools.accelerators)
    return tools if all(path.is_file() for path in present) else None


@dataclass(frozen=True)
class Artefact:
    """One file smtp2graph ships or writes; ``baseline`` is the user's script it was written from, if any."""

    id: str
    path: Path
    kind: str  # shipped | patched | snippet
    baseline: Path | None = None


@dataclass(frozen=True)
class Finding:
    """Something a script uses that Windows PowerShell 5.1 (Server 2016) does not have, or that only it can tell."""

    line: int
    column: int
    category: str  # parse | syntax | command | parameter | value | type | member | constructor | variable
    subject: str
    message: str
    gating: bool

    @property
    def key(self) -> tuple[str, str]:
        """What the finding is about, wherever it stands: a rewrite moves lines, and the module style renames
        Send-MailMessage to Send-GraphMailMessage (same parameters), so a parameter problem the call had stays the same."""
        return (self.category, self.subject.replace("Send-GraphMailMessage", "Send-MailMessage"))


@dataclass
class Verdict:
    """The judge's answer for one artefact."""

    artefact: Artefact
    findings: list[Finding]
    counts: dict[str, int]
    introduced: list[Finding] = field(default_factory=list)  # findings the original script did not have

    @property
    def gating(self) -> list[Finding]:
        """Findings that fail the gate: every gating one for shipped files, only introduced ones for rewrites."""
        pool = self.findings if self.artefact.kind == "shipped" else self.introduced
        return [finding for finding in pool if finding.gating]


@dataclass
class JudgeReport:
    """All verdicts of one run, and what the judge read."""

    verdicts: list[Verdict]
    surface: dict[str, int]

    def gating(self) -> list[tuple[Artefact, Finding]]:
        return [(verdict.artefact, finding) for verdict in self.verdicts for finding in verdict.gating]

    def totals(self) -> dict[str, Any]:
        """Counts for the report: files judged per kind, uses checked, findings (all, gating, unverified)."""
        uses: Counter[str] = Counter()
        kinds: Counter[str] = Counter()
        for verdict in self.verdicts:
            kinds[verdict.artefact.kind] += 1
            uses.update(verdict.counts)
        return {
            "files": dict(kinds),
            "uses": dict(uses),
            "findings": sum(len(v.findings) for v in self.verdicts),
            "introduced": sum(len(v.introduced) for v in self.verdicts if v.artefact.kind != "shipped"),
            "gating": len(self.gating()),
            "unverified": sum(1 for v in self.verdicts for f in v.findings if not f.gating and f.category != "variable"),
        }


def judge(artefacts: list[Artefact], *, libraries: list[Path] | None = None, timeout: float = 900.0) -> JudgeReport:
    """Judge each artefact (and each baseline, to tell what a rewrite added) in one pwsh process."""
    tools = find_tools()
    if tools is None:
        raise RuntimeError("the 5.1 judge needs .NET Framework reference assemblies and PowerShellStandard.Library: "
                           "run `bash .ci/install-powershell` (and keep ../shared/data/ps51 beside the repo)")
    baselines = sorted({a.baseline for a in artefacts if a.baseline is not None})
    entries = [{"id": f"artefact:{i}", "path": str(a.path)} for i, a in enumerate(artefacts)]
    entries += [{"id": f"baseline:{i}", "path": str(path)} for i, path in enumerate(baselines)]
    pester = find_pester()
    request = {
        "referenceAssemblies": str(tools.reference_assemblies),
        "powerShellStandard": str(tools.powershell_standard),
        "metadataLoadContext": str(tools.metadata_load_context),
        "commands": str(tools.commands),
        "accelerators": str(tools.accelerators),
        "externalCommands": str(HERE / "external-commands.tsv"),
        "dynamicParameters": str(HERE / "dynamic-parameters.tsv"),
        "enums": str(HERE / "enums-5.1.tsv"),
        "loadedAssemblies": list(LOADED_ASSEMBLIES),
        "pesterManifest": str(pester) if pester else "",
        "libraries": [str(path) for path in (libraries or [])],
        "files": entries,
    }
    answer = run_json((HERE / "Judge.ps1").read_text(encoding="utf-8"), request, timeout=timeout)
    by_id = {item["id"]: item for item in answer["files"]}

    def findings_of(item: dict[str, Any]) -> list[Finding]:
        return [Finding(int(f["line"]), int(f["column"]), f["category"], f["subject"], f["message"], bool(f["gating"]))
                for f in item.get("findings") or ()]

    baseline_findings = {path: findings_of(by_id[f"baseline:{i}"]) for i, path in enumerate(baselines)}
    baseline_keys = {path: Counter(f.key for f in found) for path, found in baseline_findings.items()}
    verdicts = []
    for i, artefact in enumerate(artefacts):
        item = by_id[f"artefact:{i}"]
        found = findings_of(item)
        introduced: list[Finding] = []
        if artefact.baseline is not None:
            remaining = Counter(baseline_keys[artefact.baseline])
            libraries = _user_libraries(baseline_findings[artefact.baseline])
            for finding in found:
                if remaining[finding.key] > 0:
                    remaining[finding.key] -= 1
                elif finding.category == "type" and _library_of(finding.subject) in libraries:
                    continue  # another type of a library the user's script already loads (MailKit): the user's
                else:
                    introduced.append(finding)
        verdicts.append(Verdict(artefact, found, {k: int(v) for k, v in (item.get("counts") or {}).items()}, introduced))
    return JudgeReport(verdicts, {k: int(v) for k, v in (answer.get("surface") or {}).items()})


# ---- what smtp2graph ships or writes ---------------------------------------------------------------------------------

def _library_of(type_name: str) -> str:
    """The root namespace of a type name: MailKit for MailKit.Security.SaslMechanismOAuth2."""
    return type_name.strip("[]").split(".", 1)[0].lower()


def _user_libraries(findings: list[Finding]) -> set[str]:
    """Root namespaces of the types a user's script uses that are neither .NET Framework nor 5.1's: libraries it
    loads itself (Add-Type -Path MailKit.dll). A rewrite may use other types of them (the MailKit XOAUTH2 snippet
    uses SaslMechanismOAuth2): the judge cannot see the user's assembly, so those are the user's, not the rewrite's."""
    return {_library_of(f.subject) for f in findings if f.category == "type"} - {"system", "microsoft"}


def shipped_artefacts(workdir: Path) -> list[Artefact]:
    """The module (with its Pester tests and config example) and the kit's admin scripts, as `smtp2graph kit` writes them."""
    from scanner.estate.senders import SenderPlan
    from scanner.migrate.kit import write_kit

    kit = workdir / "kit"
    written = write_kit(kit, SenderPlan())
    return [Artefact(f"kit/{path.relative_to(kit).as_posix()}", path, "shipped")
            for path in written if path.suffix in (".ps1", ".psm1", ".psd1")]


def patched_artefacts(workdir: Path) -> list[Artefact]:
    """The fixtures and examples as `smtp2graph fix --out --unsafe-fixes` rewrites them, in each style."""
    found: list[Artefact] = []
    for style in FIX_STYLES:
        for root in PATCHED_ROOTS:
            out = workdir / "patched" / style / root.name
            command = [sys.executable, "-m", "scanner", "fix", str(root), "--out", str(out), "--unsafe-fixes",
                       "--style", style, "--judge", "tree-sitter"]
            run = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=600, check=False)
            if run.returncode not in (0, 1):
                raise RuntimeError(f"smtp2graph fix --style {style} {root} failed: {run.stderr[-2000:]}")
            for path in sorted(out.rglob("*")):
                relative = path.relative_to(out)
                if relative.parts[0] == "smtp2graph-kit" or path.suffix not in (".ps1", ".psm1") or not path.is_file():
                    continue
                original = root / relative
                found.append(Artefact(f"{style}:{root.name}/{relative.as_posix()}", path, "patched", original))
    return found


def snippet_artefacts(workdir: Path) -> list[Artefact]:
    """Both snippet flavours of every call `smtp2graph snippet` answers for, in the fixtures and examples."""
    from scanner.assess import assess
    from scanner.check import calls_in_text
    from scanner.files import DecodeError, read_source
    from scanner.migrate.safety import fix_info

    found: list[Artefact] = []
    folder = workdir / "snippets"
    folder.mkdir(parents=True, exist_ok=True)
    for root in PATCHED_ROOTS:
        for path in sorted(root.rglob("*.ps1")) + sorted(root.rglob("*.psm1")):
            try:
                source = read_source(path, path.parent)
            except (OSError, DecodeError):
                continue
            for call in calls_in_text(source.text, source.rel, source.is_data_file):
                info = fix_info(call, assess(call))
                if info.snippet is None:
                    continue
                for flavour in info.snippet:  # both Graph flavours, and the MailKit XOAUTH2 alternative
                    name = f"{len(found):04d}-{flavour}.ps1"
                    target = folder / name
                    # A BOM, as smtp2graph writes PowerShell: 5.1 reads a BOM-less file as the ANSI code page.
                    target.write_text(info.snippet[flavour], encoding="utf-8-sig")
                    where = f"{root.name}/{path.relative_to(root).as_posix()}:{call.location.line}"
                    found.append(Artefact(f"snippet {flavour}:{where}", target, "snippet", path))
    return found


def everything(workdir: Path) -> list[Artefact]:
    """Every artefact the gate judges."""
    return shipped_artefacts(workdir) + patched_artefacts(workdir) + snippet_artefacts(workdir)


def module_library(artefacts: list[Artefact]) -> list[Path]:
    """The generated module: patched scripts and snippets call its commands, checked against its own param blocks."""
    return [a.path for a in artefacts if a.id.endswith("Smtp2Graph/Smtp2Graph.psm1")]


def main() -> int:
    """Print the judge's counts and gating findings for everything smtp2graph ships or writes (exit 1 on any)."""
    with tempfile.TemporaryDirectory(prefix="ps51-judge-") as folder:
        artefacts = everything(Path(folder))
        report = judge(artefacts, libraries=module_library(artefacts))
        for artefact, finding in report.gating():
            print(f"{artefact.id}:{finding.line}:{finding.column}: [{finding.category}] {finding.message}")
        print(report.totals())
        return 1 if report.gating() else 0
