"""docs/cutover.md, run top to bottom against the fake tenant (issue 25 item 1): every command of the guide, in order.

- `bash` blocks run in bash, one block per script (a variable read or exported stays for the block's later
  lines), in a work folder holding a copy of examples/ as `scripts/`. Each command's exit code is checked: 0,
  or the code its `# exit N` comment announces. smtp2graph reaches the fake tenant through the same
  SMTP2GRAPH_AUTHORITY_HOST / SMTP2GRAPH_GRAPH_URL variables an admin would use for another endpoint.
- `powershell` blocks run in pwsh 7 with stand-ins for Microsoft.Graph.Applications and ExchangeOnlineManagement
  (those of tests/test_module_kit_scripts.py): they record what the kit's scripts do, and the test applies it
  to the fake tenant — the certificate Register-Smtp2GraphApp.ps1 made becomes the app's credential, the
  management scope Set-Smtp2GraphScope.ps1 wrote becomes the app's RBAC scope.
- `toml` blocks are written to the file their first line names; `text` blocks must appear in what the
  command before them printed.

The only things the test supplies: the .pfx password where the guide reads it interactively, `<client id>`
(the id Register-Smtp2GraphApp.ps1 printed), and the module's configuration on the machine that runs the
scripts (kit README step 3), as environment variables.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from fakes.fixtures import APP_ID, TENANT, cert_files, scope_with_rbac, tenant  # noqa: F401
from fakes.tenant import FakeTenant, SignIn
from scanner.powershell import find_pwsh, run_pwsh
from scanner.safetext import safe_text
from test_module_kit_scripts import FAKE_EXCHANGE, FAKE_GRAPH, MAIL_SEND

pytestmark = pytest.mark.pwsh

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "cutover.md"
PFX_PASSWORD = "guide-pfx-only-7781"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```$", re.S | re.M)
EXIT = re.compile(r"#\s*exit (\d+)\b")
# The guide's interactive line, answered by the test (the same password, without a prompt).
PROMPT = "$pfxPassword = Read-Host -AsSecureString -Prompt 'Password for the exported .pfx'"
ANSWER = f"$pfxPassword = ConvertTo-SecureString -String '{PFX_PASSWORD}' -AsPlainText -Force"
SET_CAS = ("\nfunction Set-CASMailbox { param($Identity, $SmtpClientAuthenticationDisabled) "
           "Write-FakeCall 'Set-CASMailbox' $PSBoundParameters }\n")


@dataclass
class Ran:
    command: str
    code: int
    stdout: str
    stderr: str


def guide_blocks() -> list[tuple[str, str]]:
    return [(match.group(1), match.group(2)) for match in BLOCK.finditer(GUIDE.read_text(encoding="utf-8"))]


def bash_commands(body: str) -> list[str]:
    """The block's commands: continuation lines joined, comment-only lines left out."""
    commands: list[str] = []
    pending = ""
    for line in body.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        commands.append(pending + line)
        pending = ""
    return commands


def fake_modules(folder: Path) -> Path:
    modules = folder / "fake-modules"
    graph = FAKE_GRAPH.replace("AppId = 'app-1'", f"AppId = '{APP_ID}'").replace("TenantId = 'tenant-1'", f"TenantId = '{TENANT}'")
    for name, source in (("ExchangeOnlineManagement", FAKE_EXCHANGE + SET_CAS), ("Microsoft.Graph.Applications", graph)):
        (modules / name).mkdir(parents=True)
        (modules / name / f"{name}.psm1").write_text(source, encoding="utf-8")
    return modules


class Guide:
    """The work folder, the environment and the fake tenant the guide's commands run against."""

    def __init__(self, fake: FakeTenant, base: Path) -> None:
        self.fake = fake
        self.work = base / "work"
        shutil.copytree(ROOT / "examples", self.work / "scripts")
        self.home = base / "home"
        self.home.mkdir()
        self.captures = base / "captures"
        self.captures.mkdir()
        self.log = base / "calls.jsonl"
        self.state = base / "state.json"
        # The tenant-wide Mail.Send consent Register-Smtp2GraphApp.ps1 grants, for Set-Smtp2GraphScope.ps1 to remove.
        self.state.write_text(json.dumps({"roleAssignments": [], "appRoleAssignments": [
            {"Id": "grant-send", "AppRoleId": MAIL_SEND}]}), encoding="utf-8")
        self.modules = fake_modules(base)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SMTP2GRAPH_")}
        pwsh = find_pwsh()
        assert pwsh is not None
        env.update({
            # A home of its own (the module is installed into it); pwsh is on PATH, as on an admin's machine.
            "HOME": str(self.home),
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), str(Path(pwsh).parent), env.get("PATH", "")]),
            "SMTP2GRAPH_AUTHORITY_HOST": fake.authority_host, "SMTP2GRAPH_GRAPH_URL": fake.graph_url,
            "NO_PROXY": "127.0.0.1,localhost", "FAKE_KIT_LOG": str(self.log), "FAKE_KIT_STATE": str(self.state),
            "COLUMNS": "120",
        })
        self.env = env
        self.ran: list[Ran] = []
        self.block_start = 0
        self.applied_calls = 0

    def calls(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text(encoding="utf-8-sig").splitlines() if line.strip()]

    def run_bash(self, body: str) -> None:
        self.block_start = len(self.ran)
        commands = bash_commands(body)
        # One terminal session through the guide: what a block exported is there in the next one.
        session = self.captures / "session.sh"
        script = ["set +e", f"[ -f {session} ] && . {session}"]
        for number, command in enumerate(commands):
            real = re.sub(r"\s+#\s.*$", "", command).replace("<client id>", APP_ID)  # the comment: for people
            out, err, code = (self.captures / f"{len(self.ran) + number}.{name}" for name in ("out", "err", "rc"))
            stdin = "" if real.lstrip().startswith("read ") else " </dev/null"
            script.append(f"{real} >{out} 2>{err}{stdin}; echo $? >{code}")
        script.append(f"export -p | grep -E '^declare -x (SMTP2GRAPH_CERTIFICATE_PASSPHRASE)=' >{session} || true")
        import subprocess

        run = subprocess.run(["bash", "-c", "\n".join(script)], cwd=self.work, env=self.env, input=PFX_PASSWORD + "\n",
                             capture_output=True, text=True, timeout=900)
        assert run.returncode == 0, run.stderr
        for number, command in enumerate(commands):
            index = len(self.ran)
            ran = Ran(command, int((self.captures / f"{index}.rc").read_text().strip()),
                      (self.captures / f"{index}.out").read_text(encoding="utf-8", errors="replace"),
                      (self.captures / f"{index}.err").read_text(encoding="utf-8", errors="replace"))
            self.ran.append(ran)
            expected = EXIT.search(command)
            assert ran.code == (int(expected.group(1)) if expected else 0), (command, ran.code, ran.stderr[-3000:])

    def run_powershell(self, body: str, machine: dict[str, str]) -> None:
        self.block_start = len(self.ran)
        assert body.count(PROMPT) <= 1
        script = (f"$env:PSModulePath = $env:PSModulePath + [System.IO.Path]::PathSeparator + '{self.modules}'\n"
                  f"$ErrorActionPreference = 'Stop'\n" + body.replace(PROMPT, ANSWER))
        run = run_pwsh(script, env={**self.env, **machine}, cwd=self.work, timeout=600)
        self.ran.append(Ran(body, run.returncode, run.stdout, run.stderr))
        assert run.returncode == 0, safe_text(run.stdout[-3000:] + run.stderr[-3000:])
        self.apply_to_tenant()

    def apply_to_tenant(self) -> None:
        """What the stand-ins recorded, done to the fake tenant: the app's certificate, its RBAC scope."""
        calls = self.calls()[self.applied_calls:]
        self.applied_calls += len(calls)
        for call in calls:
            parameters = call["parameters"]
            if call["command"] == "New-MgApplication":
                der = base64.b64decode(parameters["Key"])
                pem = x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)
                self.fake.apps[APP_ID].certificate_pem = pem
            if call["command"] == "New-ManagementScope":
                mailboxes = frozenset(re.findall(r"'([^']+@[^']+)'", parameters["RecipientRestrictionFilter"]))
                scope_with_rbac(self.fake, mailboxes)

    def check_text(self, body: str) -> None:
        """Each line of a `text` block is in what the block of commands before it printed (or wrote to a report)."""
        block = self.ran[self.block_start:]
        printed = "".join(ran.stdout + ran.stderr for ran in block)
        for report in (self.work / "reports").glob("*.json"):
            printed += report.read_text(encoding="utf-8")
        printed = re.sub(r"[ \t]+", " ", printed)
        for line in body.splitlines():
            if line.strip() and line.strip() != "…":
                assert re.sub(r"[ \t]+", " ", line.strip()) in printed, (line, [r.command for r in block], printed[-4000:])


def machine_configuration(fake: FakeTenant, work: Path) -> dict[str, str]:
    """Kit README step 3 on the machine that runs the scripts: the module's settings (the .pfx route)."""
    endpoint = fake.graph_url[: -len("/v1.0")]
    return {"SMTP2GRAPH_TENANT_ID": TENANT, "SMTP2GRAPH_CLIENT_ID": APP_ID,
            "SMTP2GRAPH_CERT_PATH": str(work / "cert" / "app.pfx"), "SMTP2GRAPH_CERT_PASSWORD": PFX_PASSWORD,
            "SMTP2GRAPH_AUTHORITY_HOST": "https://" + fake.authority_host, "SMTP2GRAPH_GRAPH_ENDPOINT": endpoint}


def test_the_cutover_guide_runs_top_to_bottom(tenant: FakeTenant, tmp_path: Path) -> None:
    senders = ["backup@contoso.com", "helpdesk@contoso.com", "licensing@contoso.com", "monitoring@contoso.com",
               "reports@contoso.com", "identity@contoso.com", "scanner01@contoso.com"]
    tenant.add_mailboxes(*senders)
    tenant.sign_ins = [SignIn("reports@contoso.com", tenant_now(), "203.0.113.10")]
    guide = Guide(tenant, tmp_path)
    blocks = guide_blocks()
    assert [lang for lang, _ in blocks].count("bash") >= 8 and [lang for lang, _ in blocks].count("powershell") == 3
    for lang, body in blocks:
        if lang == "bash":
            guide.run_bash(body)
        elif lang == "powershell":
            machine = machine_configuration(tenant, guide.work) if "Test-Smtp2GraphSend" in body else {}
            guide.run_powershell(body, machine)
        elif lang == "toml":
            first, _, rest = body.partition("\n")
            target = guide.work / first.lstrip("# ").strip()
            target.write_text(body, encoding="utf-8")
        elif lang == "text":
            guide.check_text(body)
        else:
            raise AssertionError(f"a {lang} block the test does not run: {body[:80]}")

    work = guide.work
    # What the path produced, step by step.
    assert (work / "reports" / "scan.html").is_file() and json.loads((work / "reports" / "scan.json").read_text())["findings"]
    assert (work / "migrated" / "reports" / "Nightly-DiskReport.ps1").is_file()
    assert (work / "kit-from-scan" / "README.md").is_file()
    assert [c["command"] for c in guide.calls()].count("New-MgApplication") == 1
    assert any(c["command"] == "Remove-MgServicePrincipalAppRoleAssignment" for c in guide.calls())
    verify = json.loads((work / "reports" / "verify.json").read_text(encoding="utf-8"))
    assert verify["verdict"] == "pass" and verify["send_path"] == "smtp2graph-module"
    assert {r["sender"] for r in verify["results"] if r["expectation"] == "denied"} == {"ceo@contoso.com"}
    audit = json.loads((work / "reports" / "audit.json").read_text(encoding="utf-8"))
    assert audit["kind"] == "audit"
    assert (work / "reports" / "estate.html").is_file()
    assert list((work / "scripts" / ".smtp2graph-backup").iterdir())  # --write outside git kept the originals
    assert {"Identity": "reports@contoso.com", "SmtpClientAuthenticationDisabled": True} in [
        c["parameters"] for c in guide.calls() if c["command"] == "Set-CASMailbox"]
    # The messages the fake tenant accepted: verify's (through the module) and Test-Smtp2GraphSend.ps1's.
    subjects = [m["message"]["subject"] for m in tenant.sent]
    assert any(s.startswith("[smtp2graph test]") for s in subjects)
    assert any(s.startswith("smtp2graph test send from") for s in subjects)
    # No secret of the path is in anything it printed or wrote.
    printed = "".join(r.stdout + r.stderr for r in guide.ran)
    assert PFX_PASSWORD not in printed
    for path in (work / "reports").iterdir():
        assert PFX_PASSWORD not in path.read_text(encoding="utf-8", errors="replace")


def tenant_now() -> Any:
    from datetime import datetime, timedelta, timezone

    return datetime.now(timezone.utc) - timedelta(days=1)


def test_the_kit_readme_verify_command_runs(tenant: FakeTenant, tmp_path: Path, cert_files: Any) -> None:
    """Step 4 of the kit's README, the command as written there (its placeholders filled), against the fake tenant."""
    import subprocess

    from fakes.fixtures import PFX_PASSPHRASE

    scope_with_rbac(tenant)
    kit = tmp_path / "kit"
    pwsh = find_pwsh()
    assert pwsh is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMTP2GRAPH_")}
    env.update({"PATH": os.pathsep.join([str(Path(sys.executable).parent), str(Path(pwsh).parent), env.get("PATH", "")]),
                "SMTP2GRAPH_AUTHORITY_HOST": tenant.authority_host, "SMTP2GRAPH_GRAPH_URL": tenant.graph_url,
                "SMTP2GRAPH_CERTIFICATE_PASSPHRASE": PFX_PASSPHRASE, "NO_PROXY": "127.0.0.1,localhost"})
    made = subprocess.run(["smtp2graph", "kit", str(kit), "--senders-from", str(ROOT / "tests" / "fixtures" / "graph" / "scan.json")],
                          env=env, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    readme = (kit / "README.md").read_text(encoding="utf-8")
    step = readme[readme.index("4. **Prove it with `smtp2graph verify`**"):readme.index("5. **Deploy")]
    (body,) = re.findall(r"```\n(.*?)```", step, re.S)
    (command,) = bash_commands("\n".join(line.strip() for line in body.splitlines()))
    assert "--from alerts@contoso.com --from reports@contoso.com" in command  # the kit's senders, written out
    filled = (command.replace("<tenant id>", TENANT).replace("<client id>", APP_ID)
              .replace("<app>.pfx", str(cert_files.pfx)).replace("<a mailbox outside the scope>", "ceo@contoso.com")
              .replace("you@contoso.com", "me@contoso.com"))
    assert "<" not in filled
    ran = subprocess.run(["bash", "-c", filled], cwd=kit, env=env, capture_output=True, text=True, timeout=600)
    assert ran.returncode == 0, ran.stderr
    result = json.loads((kit / "verify.json").read_text(encoding="utf-8"))
    assert result["verdict"] == "pass" and result["send_path"] == "smtp2graph-module"
    assert sorted(m["mailbox"] for m in tenant.sent) == ["alerts@contoso.com", "reports@contoso.com"]
