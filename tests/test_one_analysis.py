"""One analysis, one truth (issue 21): every command is a view of the same estate analysis.

The scan's report shows, for each file, the patch `fix --out` writes (byte for byte once applied,
import lines included, with and without --unsafe-fixes); `fix` honours what `scan` honours (the
project's .smtp2graph.toml: exclude, relay-hosts, exchange-online-hosts, [assume]; suppressions;
the configuration files beside a script); the kit scopes exactly the senders the report lists;
and a warm scan gives the cold scan's report when a file a script reads appears, changes or goes.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scanner.cli import app
from scanner.files import decode

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
FIXTURES = ROOT / "tests" / "fixtures"
runner = CliRunner()

# What the estate declares about itself: a host that is Exchange Online, a relay, a value the
# scripts cannot show, and a folder nobody migrates.
PROJECT_CONFIG = """\
exclude = ["vendor/"]
exchange-online-hosts = ["mail.contoso.com"]

[relay-hosts]
"relay.contoso.local" = "anonymous"

[assume]
"$MailServer" = "smtp.office365.com"
"""

# Scripts the configuration decides, in our own words.
DECLARED = {
    # [assume] decides a parameter that has a default: it breaks, and the rename is safe.
    "jobs/assumed.ps1": (
        "param([string]$MailServer = '')\n"
        "Send-MailMessage -To 'ops@contoso.com' -From 'jobs@contoso.com' -Subject 'nightly' "
        "-SmtpServer $MailServer -UseSsl -Credential $jobCredential\n"
    ),
    # A declared Exchange Online name: breaks.
    "jobs/declared-host.ps1": (
        "Send-MailMessage -To 'ops@contoso.com' -From 'jobs@contoso.com' -Subject 'hourly' "
        "-SmtpServer mail.contoso.com -UseSsl -Credential $jobCredential\n"
    ),
    # A declared relay, with a password: not affected, so never rewritten, not even with --unsafe-fixes.
    "jobs/declared-relay.ps1": (
        "Send-MailMessage -To 'ops@contoso.com' -From 'relay-user@contoso.com' -Subject 'relay' "
        "-SmtpServer relay.contoso.local -Credential $relayCredential\n"
    ),
    # A suppressed call: scan does not report it, so fix never patches it.
    "jobs/suppressed.ps1": (
        "# smtp2graph: ignore[SMTP001] this one moves with the vendor upgrade\n"
        "Send-MailMessage -To 'ops@contoso.com' -From 'quiet@contoso.com' -Subject 'quiet' "
        "-SmtpServer smtp.office365.com -UseSsl -Credential $jobCredential\n"
    ),
    # An excluded folder: scan does not read it, so fix never writes it.
    "vendor/tool.ps1": (
        "Send-MailMessage -To 'ops@contoso.com' -From 'vendor@contoso.com' -Subject 'vendor' "
        "-SmtpServer smtp.office365.com -UseSsl -Credential $vendorCredential\n"
    ),
    # The server comes from a configuration file beside the script: Exchange Online, so it breaks.
    "jobs/from-config.ps1": (
        "$settings = Get-Content -Raw \"$PSScriptRoot\\mail.json\" | ConvertFrom-Json\n"
        "Send-MailMessage -To 'ops@contoso.com' -From 'config@contoso.com' -Subject 'config' "
        "-SmtpServer $settings.Server -UseSsl -Credential $jobCredential\n"
    ),
    "jobs/mail.json": '{ "Server": "smtp.office365.com" }\n',
}


def build_estate(tmp_path: Path, with_examples: bool = True, base: Path = EXAMPLES) -> Path:
    root = tmp_path / "estate"
    if with_examples:
        shutil.copytree(base, root)
    root.mkdir(exist_ok=True)
    (root / ".smtp2graph.toml").write_text(PROJECT_CONFIG, encoding="utf-8")
    for rel, text in DECLARED.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def scan_json(root: Path, *extra: str) -> dict:
    result = runner.invoke(app, ["scan", str(root), "-f", "json", "--no-cache", "--jobs", "1", "--exit-zero", *extra])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def fix_out(root: Path, out: Path, *extra: str) -> None:
    result = runner.invoke(app, ["fix", str(root), "--out", str(out), "--jobs", "1", *extra])
    assert result.exit_code in (0, 1), result.stderr


def apply_diff(original: str, diff: str) -> str:
    """Apply a unified diff (LF line endings, as the report shows it) to a text: what `git apply` does."""
    old = original.replace("\r\n", "\n").splitlines(keepends=True)
    new: list[str] = []
    position = 0
    lines = diff.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        header = re.match(r"@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@", lines[i])
        i += 1
        if header is None:
            continue
        start = int(header.group(1)) - (0 if header.group(2) == "0" else 1)
        new.extend(old[position:start])
        position = start
        previous = ""
        while i < len(lines) and not lines[i].startswith("@@"):
            line = lines[i]
            i += 1
            if line.startswith("\\"):
                # "\ No newline at end of file" speaks of the line just above it: the new text's when
                # that line was added or kept, the old text's (already consumed) when it was removed.
                if previous in " +" and new and new[-1].endswith("\n"):
                    new[-1] = new[-1][:-1]
                continue
            previous = line[0]
            if line[0] in " -":
                assert old[position].rstrip("\n") == line[1:].rstrip("\n"), (old[position], line)
                position += 1
            if line[0] in " +":
                new.append(line[1:])
    new.extend(old[position:])
    return "".join(new)


def text_of(path: Path) -> str:
    """A script's text as PowerShell reads it (UTF-8, UTF-16 with BOM, Windows-1252), line endings as LF."""
    return decode(path.read_bytes())[0].replace("\r\n", "\n")


def patched_files(out: Path) -> dict[str, str]:
    return {p.relative_to(out).as_posix(): text_of(p) for p in out.rglob("*") if p.is_file() and "smtp2graph-kit" not in p.parts}


@pytest.mark.parametrize("base", [EXAMPLES, FIXTURES], ids=["examples", "fixtures"])
@pytest.mark.parametrize("unsafe", [False, True], ids=["safe", "unsafe-fixes"])
def test_the_reports_patch_is_what_fix_out_writes(tmp_path: Path, unsafe: bool, base: Path) -> None:
    # Every fixture and examples/, with the declared estate's configuration, suppression, exclusion
    # and configuration file in play.
    root = build_estate(tmp_path, base=base)
    document = scan_json(root)
    out = tmp_path / "out"
    fix_out(root, out, *(["--unsafe-fixes"] if unsafe else []))
    written = patched_files(out)
    by_path: dict[str, dict] = {}
    for view in sorted(document["patches"], key=lambda v: v["unsafe_fixes"]):
        if view["unsafe_fixes"] == unsafe or (unsafe and view["path"] not in by_path):
            by_path[view["path"]] = view  # the safe patch stands for both when no unsafe fix differs
    assert set(written) == set(by_path), "fix --out wrote other files than the report's patches"
    compared = 0
    for path, view in by_path.items():
        assert view["diff"], path
        assert apply_diff(text_of(root / path), view["diff"]) == written[path], path
        compared += 1
    assert compared >= 5
    # Each finding's fix points at the patch of its own option set, which lists it.
    for finding in document["findings"]:
        index = finding["fix"]["patch"]
        if index is None:
            continue
        view = document["patches"][index]
        assert view["path"] == finding["path"] and finding["fingerprint"] in view["fingerprints"]
        assert view["unsafe_fixes"] == (finding["fix"]["applicability"] == "unsafe")


def test_fix_honours_what_scan_honours(tmp_path: Path) -> None:
    root = build_estate(tmp_path, with_examples=False)
    document = scan_json(root)
    found = {f["path"]: f for f in document["findings"] if f["rule"] == "SMTP001"}
    assert set(found) == {"jobs/assumed.ps1", "jobs/declared-host.ps1", "jobs/declared-relay.ps1", "jobs/from-config.ps1"}
    assert found["jobs/assumed.ps1"]["assessment"]["breaks"] is True
    assert found["jobs/declared-host.ps1"]["assessment"]["breaks"] is True
    assert found["jobs/from-config.ps1"]["assessment"]["breaks"] is True
    assert found["jobs/declared-relay.ps1"]["assessment"]["breaks"] is False
    assert {f["path"]: f["fix"]["applicability"] for f in found.values()} == {
        "jobs/assumed.ps1": "safe", "jobs/declared-host.ps1": "safe", "jobs/from-config.ps1": "safe",
        "jobs/declared-relay.ps1": "display-only",
    }
    out = tmp_path / "out"
    fix_out(root, out, "--unsafe-fixes")
    written = patched_files(out)
    assert set(written) == {"jobs/assumed.ps1", "jobs/declared-host.ps1", "jobs/from-config.ps1"}
    assert not (out / "vendor").exists() and not (out / "jobs" / "suppressed.ps1").exists()
    assert not (out / "jobs" / "declared-relay.ps1").exists()
    # snippet sees the same configuration: the relay's call has a snippet, the suppressed one says why not.
    snippet = runner.invoke(app, ["snippet", f"{root / 'jobs' / 'suppressed.ps1'}:2"])
    assert snippet.exit_code == 2 and "suppressed" in snippet.stderr


def test_the_kit_scopes_exactly_the_senders_the_report_lists(tmp_path: Path) -> None:
    root = build_estate(tmp_path)
    document = scan_json(root)
    listed = [s["mailbox"] for s in document["senders"]["mailboxes"]]
    assert listed and all("@" in mailbox for mailbox in listed)
    left_out = {o["mailbox"] for o in document["senders"]["out_of_scope"]}
    assert "relay-user@contoso.com" in left_out and "scanner01@contoso.com" in left_out  # relays
    assert "quiet@contoso.com" not in listed and "vendor@contoso.com" not in listed  # suppressed, excluded

    def scope(kit: Path) -> list[str]:
        text = (kit / "Set-Smtp2GraphScope.ps1").read_text(encoding="utf-8-sig")
        block = re.search(r"\[string\[\]\]\$Mailbox = @\((.*?)\)", text, re.S)
        assert block is not None
        return [m.replace("''", "'") for m in re.findall(r"'((?:[^']|'')*)'", block.group(1))]

    out = tmp_path / "out"
    fix_out(root, out)
    assert scope(out / "smtp2graph-kit") == listed
    scan_file = tmp_path / "scan.json"
    scan_file.write_text(json.dumps(document), encoding="utf-8")
    result = runner.invoke(app, ["kit", str(tmp_path / "kit"), "--senders-from", str(scan_file)])
    assert result.exit_code == 0, result.stderr
    assert scope(tmp_path / "kit") == listed
    # Display names and run-time senders are items to decide, never mailboxes.
    assert all(" " not in mailbox for mailbox in scope(tmp_path / "kit"))


def _verdicts(document: dict) -> list[tuple[str, object]]:
    return sorted((f["path"], f["assessment"]["breaks"]) for f in document["findings"] if f.get("assessment"))


def test_a_warm_scan_gives_the_cold_scans_report_when_a_file_a_script_reads_comes_and_goes(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    (root / "jobs").mkdir(parents=True)
    (root / "jobs" / "send.ps1").write_text(DECLARED["jobs/from-config.ps1"], encoding="utf-8")
    cache = tmp_path / "cache"

    def warm() -> dict:
        result = runner.invoke(app, ["scan", str(root), "-f", "json", "--jobs", "1", "--exit-zero", "--cache-dir", str(cache)])
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)

    def same(a: dict, b: dict) -> bool:
        return [{k: v for k, v in f.items()} for f in a["findings"]] == [{k: v for k, v in f.items()} for f in b["findings"]]

    states = [
        None,  # no configuration file yet: the server is unknown
        '{ "Server": "smtp.office365.com" }\n',  # it appears: Exchange Online
        '{ "Server": "relay.contoso.local" }\n',  # it changes: a relay
        None,  # it goes away again
    ]
    seen = []
    for state in states:
        config = root / "jobs" / "mail.json"
        if state is None:
            config.unlink(missing_ok=True)
        else:
            config.write_text(state, encoding="utf-8")
        warm_document, cold_document = warm(), scan_json(root)
        assert same(warm_document, cold_document), state
        seen.append(_verdicts(cold_document))
    assert [verdicts[0][1] for verdicts in seen] == [None, True, False, None]
