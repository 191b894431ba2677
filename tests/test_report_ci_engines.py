"""The CI engines admins already run: the GitHub Action, the Azure Pipelines template, the pre-commit hooks.

Each file must parse and have what its engine requires, and the commands it runs must work here:
the run steps are executed with bash (inputs / parameters replaced by their defaults) against a
copy of examples/, and must produce the files the later steps upload.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
ACTION = ROOT / "action.yml"
AZURE = ROOT / "ci" / "azure-pipelines" / "smtp2graph.yml"
PRE_COMMIT = ROOT / ".pre-commit-hooks.yaml"
BASH = shutil.which("bash")


@pytest.fixture()
def workspace(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "examples", tmp_path / "repo")
    return tmp_path / "repo"


def bin_env(tmp_path: Path) -> dict[str, str]:
    """An environment where `smtp2graph` is this checkout's command (what the install step provides)."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    shim = bindir / "smtp2graph"
    shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m scanner "$@"\n', encoding="utf-8")
    shim.chmod(0o755)
    return {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(ROOT), "NO_COLOR": "1",
            "SMTP2GRAPH_CACHE_DIR": str(tmp_path / "cache")}


def run_bash(script: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    assert BASH is not None
    return subprocess.run([BASH, "-c", script], capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


# ---- GitHub Action ----


def action() -> dict:
    return yaml.safe_load(ACTION.read_text(encoding="utf-8"))


def test_action_is_a_valid_composite_action() -> None:
    spec = action()
    assert {"name", "description", "inputs", "runs"} <= set(spec)
    assert spec["runs"]["using"] == "composite"
    for name, meta in spec["inputs"].items():
        assert "description" in meta and "default" in meta, name
    uses = [step["uses"] for step in spec["runs"]["steps"] if "uses" in step]
    assert any(u.startswith("actions/setup-python@") for u in uses)
    assert any(u.startswith("github/codeql-action/upload-sarif@") for u in uses)
    assert any(u.startswith("actions/upload-artifact@") for u in uses)
    for step in spec["runs"]["steps"]:
        assert ("run" in step) != ("uses" in step), step.get("name")
        if "run" in step:
            assert step.get("shell") == "bash", step["name"]  # composite run steps must name their shell
    # Every ${{ inputs.x }} and ${{ steps.y.outputs.z }} the action reads exists.
    text = ACTION.read_text(encoding="utf-8")
    assert set(re.findall(r"inputs\.([\w-]+)", text)) <= set(spec["inputs"])
    step_ids = {step.get("id") for step in spec["runs"]["steps"]}
    assert {m for m in re.findall(r"steps\.([\w-]+)\.outputs", text)} <= step_ids


def _substitute(text: str, values: dict[str, str]) -> str:
    return re.sub(r"\$\{\{\s*([^}]+?)\s*\}\}", lambda m: values[m.group(1)], text)


def test_action_run_steps_work_here(workspace: Path, tmp_path: Path) -> None:
    spec = action()
    defaults = {f"inputs.{k}": str(v["default"]) for k, v in spec["inputs"].items()}
    env = bin_env(tmp_path)
    runner_temp = tmp_path / "runner"
    runner_temp.mkdir()
    output_file = tmp_path / "github_output"
    output_file.write_text("", encoding="utf-8")
    env.update({"RUNNER_TEMP": str(runner_temp), "GITHUB_OUTPUT": str(output_file)})
    steps = {step["name"]: step for step in spec["runs"]["steps"]}
    scan = steps["Scan (JSON and SARIF)"]
    step_env = {k: _substitute(str(v), defaults) for k, v in scan.get("env", {}).items()}
    done = run_bash(_substitute(scan["run"], defaults), {**env, **step_env}, workspace)
    assert done.returncode == 0, done.stderr
    outputs = dict(line.split("=", 1) for line in output_file.read_text(encoding="utf-8").splitlines())
    document = json.loads(Path(outputs["json"]).read_text(encoding="utf-8"))
    assert document["findings"] and all("owner_source" in f for f in document["findings"])
    sarif = json.loads(Path(outputs["sarif"]).read_text(encoding="utf-8"))
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]
    # The gate: annotations on stdout, exit 1 because examples/ has high-severity breaking calls.
    gate = steps["Annotate and gate"]
    gate_env = {k: _substitute(str(v), defaults) for k, v in gate.get("env", {}).items()}
    done = run_bash(_substitute(gate["run"], defaults), {**env, **gate_env}, workspace)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines and all(line.startswith(("::error ", "::warning ", "::notice ")) for line in lines)
    assert lines[0].startswith("::error file=") and "(will break)" in lines[0]
    # With a bar nothing reaches, the gate passes.
    done = run_bash(_substitute(gate["run"], defaults), {**env, **gate_env, "SMTP2GRAPH_FAIL_ON": "critical"}, workspace)
    assert done.returncode == 0, done.stderr


# ---- Azure Pipelines ----


def azure() -> dict:
    return yaml.safe_load(AZURE.read_text(encoding="utf-8"))


def test_azure_template_is_a_steps_template() -> None:
    spec = azure()
    assert set(spec) == {"parameters", "steps"}
    names = [p["name"] for p in spec["parameters"]]
    assert names == ["path", "failOn", "pythonVersion", "smtp2graphSource", "artifactName"]
    fail_on = next(p for p in spec["parameters"] if p["name"] == "failOn")
    assert fail_on["default"] in fail_on["values"] and "may-break" in fail_on["values"]
    tasks = [step.get("task") for step in spec["steps"]]
    assert "UsePythonVersion@0" in tasks and "PublishPipelineArtifact@1" in tasks
    text = AZURE.read_text(encoding="utf-8")
    assert set(re.findall(r"parameters\.(\w+)", text)) <= set(names)
    for step in spec["steps"]:
        assert "displayName" in step and (("bash" in step) != ("task" in step))


def test_azure_bash_steps_work_here(workspace: Path, tmp_path: Path) -> None:
    spec = azure()
    staging = tmp_path / "staging"
    staging.mkdir()
    values = {f"parameters.{p['name']}": str(p["default"]) for p in spec["parameters"]}
    values["parameters.path"] = str(workspace)
    env = bin_env(tmp_path)
    scripts = [step["bash"] for step in spec["steps"] if "bash" in step and "pip install" not in step["bash"]]
    assert len(scripts) == 2

    def azure_script(script: str) -> str:
        script = _substitute(script, values)
        return script.replace("$(Build.ArtifactStagingDirectory)", str(staging))

    done = run_bash(azure_script(scripts[0]), env, workspace)
    assert done.returncode == 0, done.stderr
    assert json.loads((staging / "smtp2graph" / "scan.json").read_text(encoding="utf-8"))["findings"]
    assert (staging / "smtp2graph" / "scan.sarif").is_file()
    assert (staging / "smtp2graph" / "action-plan.csv").read_text(encoding="utf-8").startswith("repository,path,line")
    done = run_bash(azure_script(scripts[1]), env, workspace)
    assert done.returncode == 1  # high-severity breaking calls in examples/
    issues = done.stdout.splitlines()
    assert issues and all(line.startswith("##vso[task.logissue type=warning]") for line in issues)


# ---- pre-commit ----


def test_pre_commit_hooks_are_valid_and_run_on_staged_files(workspace: Path, tmp_path: Path) -> None:
    hooks = yaml.safe_load(PRE_COMMIT.read_text(encoding="utf-8"))
    assert isinstance(hooks, list) and [h["id"] for h in hooks] == ["smtp2graph", "smtp2graph-may-break"]
    for hook in hooks:
        assert {"id", "name", "entry", "language", "files"} <= set(hook)
        assert hook["language"] == "python"  # pre-commit installs this repository with pip
        assert re.search(hook["files"], "scripts/Send-Report.ps1") and not re.search(hook["files"], "README.md")
    env = bin_env(tmp_path)
    staged = ["reports/Nightly-DiskReport.ps1", "relay/Scan-To-Mail.ps1"]
    # pre-commit appends the staged file names to the entry.
    done = subprocess.run([*shlex.split(hooks[0]["entry"]), *staged], capture_output=True, text=True, env=env,
                          cwd=workspace, timeout=300)
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines()[0].startswith("reports/Nightly-DiskReport.ps1:20:5: SMTP001 high [will break]")
    done = subprocess.run([*shlex.split(hooks[0]["entry"]), "relay/Scan-To-Mail.ps1"], capture_output=True, text=True,
                          env=env, cwd=workspace, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr  # a relay call is not affected: the commit goes through
