"""The README's commands, run (issue 25 item 1): its first lines are the two set-up commands, the sample output is
what `smtp2graph scan examples/` prints on a 100-column terminal today, and the offline install works."""

from __future__ import annotations

import json
import os
import pty
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
FIRST_LINES = [
    "python3 -m venv .venv && . .venv/bin/activate && pip install . && smtp2graph scan examples/",
    "pip install -e '.[test]' && python -m pytest -q",
]
OWNER = re.compile(r"\s*— \S+@\S+$")
DAYS = re.compile(r"\(\d+ days? (left|ago)\)")


def readme_block(after: str) -> str:
    """The first fenced block after the heading ``after``."""
    text = README.read_text(encoding="utf-8")
    start = text.index(after)
    match = re.search(r"^```\w*\n(.*?)^```$", text[start:], re.S | re.M)
    assert match is not None
    return match.group(1)


def test_the_readme_opens_with_the_two_setup_commands_and_says_what_exit_1_means() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert lines[2:6] == ["```bash", *FIRST_LINES, "```"]
    assert FIRST_LINES[1] in (ROOT / ".ci" / "run").read_text(encoding="utf-8")  # CI runs it verbatim
    opening = " ".join(lines[6:20])
    assert "exit code 1" in opening and "takes minutes" in opening.replace("**", "")


def on_a_terminal(args: list[str], columns: int, env: dict[str, str]) -> tuple[int, str]:
    """Run a command with its stdout on a pseudo-terminal of ``columns`` columns (no colour)."""
    master, slave = pty.openpty()
    process = subprocess.Popen(args, cwd=ROOT, stdout=slave, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                               env={**env, "COLUMNS": str(columns), "NO_COLOR": "1"})
    os.close(slave)
    chunks: list[bytes] = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the other side closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    code = process.wait(timeout=300)
    assert process.stderr is not None
    process.stderr.close()
    return code, b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


def normalised(lines: list[str]) -> list[str]:
    """Lines without the owner (git blame of this checkout) and with the days left as of today left out."""
    kept = []
    for line in lines:
        line = DAYS.sub("(…)", OWNER.sub("", line.rstrip()))
        if line.strip():
            kept.append(line)
    return kept


def test_the_sample_output_is_what_the_first_command_prints(tmp_path: Path) -> None:
    smtp2graph = Path(sys.executable).parent / "smtp2graph"
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    code, printed = on_a_terminal([str(smtp2graph), "scan", "examples/"], 100, env)
    assert code == 1  # findings: what the README says right after the command
    actual = normalised(printed.splitlines())
    assert max(len(line) for line in printed.splitlines()) <= 100
    sample = readme_block("## What `smtp2graph scan examples/` prints")
    parts = [normalised(part.splitlines()) for part in re.split(r"^…$", sample, flags=re.M)]
    assert len(parts) >= 3
    position = 0
    for part in parts:
        # Each stretch of the sample is a stretch of the real output, in the same order.
        found = next((i for i in range(position, len(actual) - len(part) + 1) if actual[i:i + len(part)] == part), None)
        assert found is not None, "\n".join(["sample:", *part, "", "printed:", *actual])
        position = found + len(part)
    assert parts[0][0] == actual[0] and parts[-1][-1] == actual[-1]  # it starts and ends where the output does


def test_the_offline_install_works_from_a_wheelhouse(tmp_path: Path) -> None:
    """`pip wheel . -w wheelhouse` then `pip install --no-index --find-links wheelhouse smtp2graph`, as the README says."""
    links = os.environ.get("PIP_FIND_LINKS")
    if not links and os.environ.get("PIP_NO_INDEX") is None:
        pytest.skip("building the wheelhouse needs the dependencies' wheels: set PIP_FIND_LINKS (tests never reach PyPI)")
    commands = [line.split("#")[0].strip() for line in readme_block("**Offline**").splitlines() if line.strip()]
    assert commands == ["pip wheel . -w wheelhouse", "pip install --no-index --find-links wheelhouse smtp2graph"]
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__",
                                                                ".pytest_cache", "node_modules"))
    connected = {**os.environ, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    pip = [sys.executable, "-m", "pip"]
    built = subprocess.run(pip + commands[0].split()[1:], cwd=source, env=connected, capture_output=True, text=True,
                           timeout=900)
    assert built.returncode == 0, built.stderr[-3000:]
    wheelhouse = source / "wheelhouse"
    assert list(wheelhouse.glob("smtp2graph-*.whl")) and list(wheelhouse.glob("msal-*.whl"))
    # The offline machine: a fresh venv, no other source of packages than the copied wheelhouse.
    offline = tmp_path / "offline"
    shutil.copytree(wheelhouse, offline / "wheelhouse")
    subprocess.run([sys.executable, "-m", "venv", str(offline / "venv")], check=True, timeout=300)
    isolated = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    isolated["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    venv_pip = [str(offline / "venv" / "bin" / "python"), "-m", "pip"]
    installed = subprocess.run(venv_pip + commands[1].split()[1:], cwd=offline, env=isolated, capture_output=True,
                               text=True, timeout=900)
    assert installed.returncode == 0, installed.stderr[-3000:]
    scan = subprocess.run([str(offline / "venv" / "bin" / "smtp2graph"), "scan", str(ROOT / "examples"), "--no-cache",
                           "--format", "json", "--exit-zero", "--quiet"], cwd=offline, env=isolated,
                          capture_output=True, text=True, timeout=300)
    assert scan.returncode == 0, scan.stderr
    assert len(json.loads(scan.stdout)["findings"]) == 21
