"""Run every shape twice (original over SMTP, patched over Graph), in each failure mode, and compare.

Layout of one oracle run (a temporary folder):

    original/<shape>/...        the scripts as written
    kit/Smtp2Graph/...          `smtp2graph kit` output + Smtp2Graph.config.psd1 filled in as its README says
    out-<style>/...             `smtp2graph fix original --out out-<style> --style <style> --unsafe-fixes`
    patched-<style>/<shape>/... original/ with fix's output laid over it
    stubs/                      modules a fixture #requires (ActiveDirectory) as empty stand-ins

Jobs (a pwsh process each) run in a pool of two. Shapes share a process for the message comparison
and for failures whose exit code does not matter; `isolate` shapes run alone with `pwsh -File`, the
prelude loaded as their profile, so their exit code is PowerShell's own.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional

from scanner.powershell import find_pwsh

from . import powershell as ps
from .compare import Difference, Flow, Normalized, compare_flow, compare_messages, from_graph, from_smtp
from .shapes import COMMON_SETUP, ROOT, Shape, all_shapes
from .sink import SmtpSink
from .tenant import APP_ID, SECRET, TENANT, OracleTenant

STYLES = ("module", "inline")
REFERENCE = "reference.ps1"  # the original side of a shape PowerShell 7 cannot run as written (Shape.reference)
GRAPH_FAILURES = ("403", "404")
# The patched script on a machine where Smtp2Graph is not installed (yet): compared with the original whose send
# failed (smtp-550), since a missing module must fail no wider than the send it replaced (issue 23, item 1).
NO_MODULE = "no-module"
# `path:line: command: what happened (fix safety): why` (smtp2graph fix, one line per mail call).
_REPORT_LINE = re.compile(r"^(?P<rel>[^:\n]+):(?P<line>\d+): (?P<command>.+?): (?P<state>.+?) "
                          r"\((?P<applicability>safe|unsafe|display-only)\): (?P<reason>.*)$")


@dataclass
class CallReport:
    """One line of `smtp2graph fix`'s report for a call in a shape."""

    line: int
    command: str
    applicability: str
    state: str  # applied / no automatic change / unsafe: pass --unsafe-fixes ... / refusal reason
    reason: str


@dataclass
class Run:
    """What one side recorded for one shape in one mode."""

    flow: Flow
    messages: list[Normalized] = field(default_factory=list)
    smtp_leaks: int = 0  # patched side: messages that still went over SMTP
    graph_attempts: int = 0
    noise: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    """The comparison of one shape in one style."""

    shape: Shape
    style: str
    calls: list[CallReport]
    patched: bool
    not_patched_reason: str = ""
    message_diffs: list[Difference] = field(default_factory=list)
    flow_diffs: dict[str, list[Difference]] = field(default_factory=dict)  # mode -> differences
    fields_compared: int = 0
    modes: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def applicability(self) -> str:
        kinds = {call.applicability for call in self.calls}
        for kind in ("display-only", "unsafe", "safe"):
            if kind in kinds:
                return kind
        return "not found"

    def differences(self) -> list[str]:
        """Every difference as one line: '<mode>: <field>: original ... / patched ...'."""
        lines = [f"ok: {d}" for d in self.message_diffs]
        for mode, diffs in self.flow_diffs.items():
            lines += [f"{mode}: {d}" for d in diffs]
        return lines


# --------------------------------------------------------------------------- preparation


def _write_shape(root: Path, shape: Shape) -> None:
    folder = root / shape.name
    folder.mkdir(parents=True, exist_ok=True)
    if shape.copy_from:
        source = ROOT / shape.copy_from
        target = folder / (shape.entry if not shape.script else source.name)
        shutil.copyfile(source, target)
    if shape.script:
        (folder / shape.entry).write_text(shape.script, encoding="utf-8-sig" if shape.bom else "utf-8")
    if shape.reference:
        (folder / REFERENCE).write_text(shape.reference, encoding="utf-8-sig")
    for name, data in shape.files.items():
        (folder / name).write_bytes(data)


def _smtp2graph(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scanner", *args], cwd=cwd, capture_output=True, text=True,
                          encoding="utf-8", timeout=300)


def _fix_reports(stderr: str) -> dict[str, list[CallReport]]:
    reports: dict[str, list[CallReport]] = {}
    for line in stderr.splitlines():
        match = _REPORT_LINE.match(line)
        if not match:
            continue
        shape = match.group("rel").split("/", 1)[0]
        state, reason = match.group("state"), match.group("reason")
        if state == "no change needed":  # said once on the line; the refusals in known.py quote it with the reason
            reason = f"{state}: {reason}"
        reports.setdefault(shape, []).append(CallReport(int(match.group("line")), match.group("command"),
                                                        match.group("applicability"),
                                                        "applied" if state == "fixed" else state, reason))
    return reports


@dataclass
class Workspace:
    root: Path
    shim: Path
    kit: Path
    stubs: Path
    reports: dict[str, dict[str, list[CallReport]]] = field(default_factory=dict)  # style -> shape -> calls
    fix_errors: dict[str, str] = field(default_factory=dict)


def prepare(root: Path, shapes: list[Shape]) -> Workspace:
    """Write the shapes, build the SmtpClient shim, run `kit` and `fix` (both styles)."""
    original = root / "original"
    for shape in shapes:
        _write_shape(original, shape)
    stubs = root / "stubs"
    (stubs / "ActiveDirectory").mkdir(parents=True, exist_ok=True)
    (stubs / "ActiveDirectory" / "ActiveDirectory.psm1").write_text("# stand-in for the Windows-only module\n")
    source = root / "shim.cs"
    source.write_text(ps.SHIM_SOURCE)
    builder = root / "build-shim.ps1"
    builder.write_text(ps.BUILD_SHIM)
    shim = root / "OracleSmtpShim.dll"
    pwsh = _pwsh()
    built = subprocess.run([pwsh, "-NoLogo", "-NoProfile", "-NonInteractive", "-File", str(builder), str(source), str(shim)],
                           capture_output=True, text=True, timeout=120, env=_base_env(root))
    if built.returncode != 0 or not shim.is_file():
        raise RuntimeError(f"cannot build the SmtpClient shim: {built.stderr.strip()[:400]}")
    kit = root / "kit"
    made = _smtp2graph("kit", str(kit), cwd=root)
    if made.returncode != 0:
        raise RuntimeError(f"smtp2graph kit failed: {made.stderr.strip()[:400]}")
    # As the kit's README says: copy the example settings beside the module and fill them in.
    example = (kit / "Smtp2Graph" / "Smtp2Graph.config.example.psd1").read_text(encoding="utf-8-sig")
    config = example.replace("'contoso.onmicrosoft.com'", f"'{TENANT}'").replace(
        "'00000000-0000-0000-0000-000000000000'", f"'{APP_ID}'")
    (kit / "Smtp2Graph" / "Smtp2Graph.config.psd1").write_text(config, encoding="utf-8")
    workspace = Workspace(root, shim, kit, stubs)
    for style in STYLES:
        out = root / f"out-{style}"
        fixed = _smtp2graph("fix", str(original), "--out", str(out), "--style", style, "--unsafe-fixes", cwd=root)
        workspace.reports[style] = _fix_reports(fixed.stderr)
        errors = [line for line in fixed.stderr.splitlines() if line.startswith("smtp2graph: error:")]
        for line in errors:
            shape = line.removeprefix("smtp2graph: error: ").split("/", 1)[0]
            workspace.fix_errors[f"{style}:{shape}"] = line
        patched = root / f"patched-{style}"
        shutil.copytree(original, patched)
        if out.is_dir():
            for path in out.rglob("*"):
                rel = path.relative_to(out)
                if path.is_file() and rel.parts[0] != "smtp2graph-kit":
                    (patched / rel).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(path, patched / rel)
    return workspace


# --------------------------------------------------------------------------- running


def _pwsh() -> str:
    pwsh = find_pwsh()
    if pwsh is None:
        raise RuntimeError("pwsh (PowerShell 7) is not installed: run `bash .ci/install-powershell`")
    return pwsh


def _base_env(root: Path) -> dict[str, str]:
    home = root / "home"
    home.mkdir(exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "TMPDIR": str(root),
        "LANG": "C.UTF-8",
        "NO_COLOR": "1",
        "TERM": "dumb",
        "POWERSHELL_TELEMETRY_OPTOUT": "1",
        "POWERSHELL_UPDATECHECK": "Off",
        "DOTNET_CLI_TELEMETRY_OPTOUT": "1",
        "DOTNET_NOLOGO": "1",
        # Nothing may leave the machine: every proxied request dies on a closed loopback port.
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    for name in ("DOTNET_ROOT", "SMTP2GRAPH_TOOLS"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    return env


@dataclass
class Job:
    side: str  # "original" or "patched-<style>"
    mode: str  # ok, smtp-550, 403, 404, 429-503
    shapes: list[Shape]
    isolated: bool = False


def _prelude(workspace: Workspace, job_dir: Path, sink: SmtpSink, tenant: Optional[OracleTenant]) -> Path:
    text = (ps.PRELUDE.replace("__SHIM__", str(workspace.shim)).replace("__PORT__", str(sink.port))
            .replace("__GRAPH__", tenant.base_url if tenant is not None else ""))
    path = job_dir / "prelude.ps1"
    path.write_text(text, encoding="utf-8-sig")
    return path


def _job_env(workspace: Workspace, tenant: Optional[OracleTenant], mode: str = "ok") -> dict[str, str]:
    env = _base_env(workspace.root)
    modules = [str(workspace.stubs)] if mode == NO_MODULE else [str(workspace.kit), str(workspace.stubs)]
    env["PSModulePath"] = os.pathsep.join(modules)
    if tenant is not None:
        env["SSL_CERT_FILE"] = str(tenant.ca_path)
        env["SMTP2GRAPH_CLIENT_SECRET"] = SECRET
        env["SMTP2GRAPH_AUTHORITY_HOST"] = tenant.base_url
        env["SMTP2GRAPH_GRAPH_ENDPOINT"] = tenant.base_url
    return env


def _flows_from_batch(stdout: str) -> tuple[dict[str, Flow], list[str]]:
    flows: dict[str, Flow] = {}
    noise: list[str] = []
    for line in stdout.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if not isinstance(record, dict) or "oracle" not in record:
            if line.strip():
                noise.append(line)
            continue
        flow = flows.setdefault(record["oracle"], Flow())
        kind, text = record["kind"], record["text"]
        if kind == "out":
            flow.output.append(text)
        elif kind == "error":
            flow.errors += 1
            flow.raw_errors.append(text)
        elif kind == "terminated":
            flow.terminated = True
            flow.raw_errors.append(text)
        elif kind == "end":
            flow.exit_code = int(text or 0)
    return flows, noise


def _entry(shape: Shape, side: str) -> str:
    return REFERENCE if shape.reference and side == "original" else shape.entry


def run_job(workspace: Workspace, job: Job) -> dict[str, Run]:
    """Run one pwsh process for ``job``; every shape's flow, recorded messages and SMTP leaks."""
    job_dir = Path(tempfile.mkdtemp(prefix=f"{job.side}-{job.mode}-", dir=workspace.root))
    sink = SmtpSink(reject=job.mode == "smtp-550").start()
    tenant = OracleTenant(job.mode if job.mode in ("403", "404", "429-503") else "ok").start() \
        if job.side.startswith("patched") else None
    try:
        prelude = _prelude(workspace, job_dir, sink, tenant)
        env = _job_env(workspace, tenant, job.mode)
        tree = workspace.root / job.side
        runs: dict[str, Run] = {}
        if job.isolated:
            for shape in job.shapes:
                runs[shape.name] = _run_isolated(workspace, job_dir, prelude, env, tree, shape)
        else:
            plan = [{"id": shape.name, "cwd": str(tree / shape.name), "path": str(tree / shape.name / _entry(shape, job.side)),
                     "args": list(shape.args), "setup": COMMON_SETUP + shape.setup} for shape in job.shapes]
            plan_path = job_dir / "plan.json"
            plan_path.write_text(json.dumps(plan), encoding="utf-8")
            runner = job_dir / "runner.ps1"
            runner.write_text(ps.RUNNER.replace("__PRELUDE__", str(prelude)), encoding="utf-8-sig")
            timeout = 60 + 20 * len(job.shapes)
            done = subprocess.run([_pwsh(), "-NoLogo", "-NoProfile", "-NonInteractive", "-File", str(runner), str(plan_path)],
                                  capture_output=True, text=True, encoding="utf-8", errors="replace", timeout=timeout,
                                  env=env, cwd=str(job_dir))
            flows, noise = _flows_from_batch(done.stdout)
            if done.stderr.strip():
                noise.append("stderr: " + done.stderr.strip()[:2000])
            for shape in job.shapes:
                flow = flows.get(shape.name)
                runs[shape.name] = Run(flow if flow is not None else Flow(terminated=True, exit_code=-1,
                                                                          raw_errors=["no record: the batch died"]),
                                       noise=noise)
        by_user = sink.by_user()
        sent = tenant.sent_by_marker() if tenant is not None else {}
        for name, run in runs.items():
            smtp = by_user.get(name, [])
            if tenant is None:
                run.messages = [from_smtp(message) for message in smtp]
            else:
                run.smtp_leaks = len(smtp)
                run.messages = [from_graph(entry) for entry in sent.get(name, [])]
                run.graph_attempts = tenant.attempts.get(name, 0)
        return runs
    finally:
        sink.stop()
        if tenant is not None:
            tenant.stop()


def _run_isolated(workspace: Workspace, job_dir: Path, prelude: Path, env: dict[str, str], tree: Path, shape: Shape) -> Run:
    config = job_dir / f"config-{shape.name}"
    (config / "powershell").mkdir(parents=True)
    setup = config / "setup.ps1"
    setup.write_text(COMMON_SETUP + shape.setup, encoding="utf-8-sig")
    profile = (ps.ISOLATED_PROFILE.replace("__PRELUDE__", str(prelude)).replace("__ID__", shape.name)
               .replace("__SETUP__", str(setup)))
    (config / "powershell" / "Microsoft.PowerShell_profile.ps1").write_text(profile, encoding="utf-8-sig")
    run_env = dict(env, XDG_CONFIG_HOME=str(config))
    folder = tree / shape.name
    done = subprocess.run([_pwsh(), "-NoLogo", "-NonInteractive", "-File", str(folder / _entry(shape, tree.name)), *shape.args],
                          capture_output=True, text=True, encoding="utf-8", errors="replace", timeout=120,
                          env=run_env, cwd=str(folder))
    stderr = done.stderr.strip()
    # Warnings (Send-MailMessage's obsolescence notice) go to stdout under -File; they are not the script's output.
    output = [line for line in done.stdout.splitlines() if line.strip() and not line.startswith(("WARNING: ", "VERBOSE: "))]
    flow = Flow(output=output, errors=1 if stderr else 0,
                exit_code=done.returncode, raw_errors=[stderr] if stderr else [])
    return Run(flow)


# --------------------------------------------------------------------------- the whole oracle


@dataclass
class OracleResult:
    outcomes: list[Outcome]
    seconds: float
    workspace: Path


def _jobs_for(side: str, mode: str, shapes: list[Shape], chunks: int) -> Iterator[Job]:
    batched = [shape for shape in shapes if not shape.isolate]
    isolated = [shape for shape in shapes if shape.isolate]
    size = max(1, -(-len(batched) // chunks))
    for start in range(0, len(batched), size):
        yield Job(side, mode, batched[start:start + size])
    if isolated:
        yield Job(side, mode, isolated, isolated=True)


def _not_patched(calls: list[CallReport], error: str) -> str:
    if error:
        return error
    if not calls:
        return "fix found no mail call"
    for call in calls:
        if call.applicability == "display-only":
            return f"display-only: {call.reason}"
    for call in calls:
        if call.state != "applied":
            return f"{call.applicability}, {call.state}: {call.reason}"
    return ""


def run_oracle(shapes: Optional[list[Shape]] = None, *, workers: int = 2, keep: Optional[Path] = None) -> OracleResult:
    """Prepare, run every job in a pool of ``workers``, and compare."""
    started = time.monotonic()
    shapes = all_shapes() if shapes is None else shapes
    root = Path(tempfile.mkdtemp(prefix="smtp2graph-oracle-")) if keep is None else keep
    root.mkdir(parents=True, exist_ok=True)
    try:
        workspace = prepare(root, shapes)
        patched_shapes: dict[str, list[Shape]] = {}
        outcomes: dict[tuple[str, str], Outcome] = {}
        for style in STYLES:
            for shape in shapes:
                calls = workspace.reports[style].get(shape.name, [])
                reason = _not_patched(calls, workspace.fix_errors.get(f"{style}:{shape.name}", ""))
                outcomes[(shape.name, style)] = Outcome(shape, style, calls, patched=not reason, not_patched_reason=reason)
                if not reason:
                    patched_shapes.setdefault(style, []).append(shape)
        runnable = [shape for shape in shapes if any(shape in items for items in patched_shapes.values())]
        jobs: list[Job] = []
        for style in STYLES:
            for shape_list in (patched_shapes.get(style, []),):
                jobs += list(_jobs_for(f"patched-{style}", "429-503", [s for s in shape_list if s.retry], 1))
        jobs += list(_jobs_for("original", "ok", runnable, 2))
        jobs += list(_jobs_for("original", "smtp-550", runnable, 2))
        for style in STYLES:
            items = patched_shapes.get(style, [])
            jobs += list(_jobs_for(f"patched-{style}", "ok", items, 2))
            for mode in GRAPH_FAILURES:
                jobs += list(_jobs_for(f"patched-{style}", mode, [s for s in items if mode in s.failures], 1))
            jobs += list(_jobs_for(f"patched-{style}", NO_MODULE, items, 1))
        results: dict[tuple[str, str], dict[str, Run]] = {}
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [(job, pool.submit(run_job, workspace, job)) for job in jobs if job.shapes]
            for job, future in futures:
                results.setdefault((job.side, job.mode), {}).update(future.result())
        original_ok = results.get(("original", "ok"), {})
        original_fail = results.get(("original", "smtp-550"), {})
        for (name, style), outcome in outcomes.items():
            if not outcome.patched:
                continue
            side = f"patched-{style}"
            before, after = original_ok.get(name), results.get((side, "ok"), {}).get(name)
            if before is None or after is None:
                outcome.error = "a run is missing"
                continue
            outcome.message_diffs = compare_messages(before.messages, after.messages)
            if after.smtp_leaks:
                outcome.message_diffs.append(Difference("SMTP", "0 messages over SMTP",
                                                        f"{after.smtp_leaks} still sent over SMTP"))
            outcome.flow_diffs["ok"] = compare_flow(before.flow, after.flow)
            outcome.modes = ["ok"]
            failed = original_fail.get(name)
            modes = list(outcome.shape.failures)
            for mode in modes:
                patched_run = results.get((side, mode), {}).get(name)
                if failed is None or patched_run is None:
                    continue
                outcome.flow_diffs[mode] = compare_flow(failed.flow, patched_run.flow)
                outcome.modes.append(mode)
            missing = results.get((side, NO_MODULE), {}).get(name)
            if failed is not None and missing is not None:
                outcome.flow_diffs[NO_MODULE] = compare_flow(failed.flow, missing.flow)
                outcome.modes.append(NO_MODULE)
            outcome.fields_compared = 16 + 4 * len(outcome.modes)
            noise = [n for n in after.noise + before.noise if n]
            if not before.messages and not outcome.message_diffs and not outcome.shape.original_refuses:
                outcome.error = "the original sent nothing: " + "; ".join(before.flow.raw_errors + noise)[:500]
        return OracleResult(list(outcomes.values()), time.monotonic() - started, root)
    finally:
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)
