"""Suppressions, fingerprints, parallel determinism, the content cache, and secrets kept out of findings."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from scanner.check import analyze_script
from scanner.estate.scan import scan
from scanner.estate.options import ScanOptions
from scanner.ruleconfig import RuleConfig
from scanner.reports.formats import Format
from scanner.reports.render import render
from scanner.script import Script

EXO = "Send-MailMessage -To a@contoso.com -Subject s -SmtpServer smtp.office365.com -UseSsl -Credential $c"


def _analyze(text: str, config: RuleConfig = RuleConfig()):  # type: ignore[no-untyped-def]
    return analyze_script(Script(text, "t.ps1"), config)


def test_suppression_on_the_line_and_the_line_above() -> None:
    text = (
        f"{EXO}  # smtp2graph: ignore[SMTP001] relay is being retired anyway\n"
        "# smtp2graph: ignore[SMTP001] owned by the print team\n"
        f"{EXO}\n"
        f"{EXO}\n"
        "# smtp2graph: ignore[SMTP002] nothing to suppress here\n"
        "Write-Host done\n"
    )
    analysis = _analyze(text)
    assert [f.location.line for f in analysis.findings] == [4]
    assert [(u.line, u.rules) for u in analysis.unused_suppressions] == [(5, ("SMTP002",))]


def test_suppression_for_another_rule_does_not_hide_the_finding() -> None:
    analysis = _analyze(f"# smtp2graph: ignore[SMTP002]\n{EXO}\n")
    assert len(analysis.findings) == 1
    assert len(analysis.unused_suppressions) == 1


def test_suppression_text_in_a_string_is_not_a_suppression() -> None:
    analysis = _analyze(f"{EXO} -Body '# smtp2graph: ignore[SMTP001]'\n")
    assert len(analysis.findings) == 1


def test_fingerprint_survives_unrelated_edits_and_tells_calls_apart() -> None:
    before = _analyze(f"{EXO}\n{EXO}\n").findings
    after = _analyze(f"# a new header comment\n\n$x = 1\n{EXO}\n\n{EXO}\n").findings
    assert [f.fingerprint for f in before] == [f.fingerprint for f in after]
    assert before[0].fingerprint != before[1].fingerprint
    changed = _analyze(EXO.replace("a@contoso.com", "b@contoso.com") + "\n").findings
    assert changed[0].fingerprint != before[0].fingerprint


def test_select_ignore_and_severity_override() -> None:
    text = f"{EXO}\n$c = New-Object Net.Mail.SmtpClient('relay.local')\n$c.Send($m)\n"
    assert {f.rule for f in _analyze(text).findings} == {"SMTP001", "SMTP002"}
    assert {f.rule for f in _analyze(text, RuleConfig(select=("SMTP002",))).findings} == {"SMTP002"}
    assert {f.rule for f in _analyze(text, RuleConfig(ignore=("SMTP",))).findings} == set()
    overridden = _analyze(text, RuleConfig(severity_overrides=(("SMTP001", "critical"),))).findings
    assert [f.severity.value for f in overridden if f.rule == "SMTP001"] == ["critical"]


def test_severity_follows_the_server_and_credential() -> None:
    cases = {
        EXO: ("high", True),
        "Send-MailMessage -To a@contoso.com -Subject s -SmtpServer smtp-legacy.office365.com -Credential $c": ("high", True),
        "Send-MailMessage -To a@contoso.com -Subject s -SmtpServer relay.contoso.local": ("low", False),
        "Send-MailMessage -To a@contoso.com -Subject s -SmtpServer contoso-com.mail.protection.outlook.com -Port 25": ("low", False),
        "Send-MailMessage -To a@contoso.com -Subject s -SmtpServer smtp-hve.office365.com -Credential $c": ("low", False),
        "Send-MailMessage -To a@contoso.com -Subject s -SmtpServer $server -Credential $c": ("medium", None),
    }
    for text, (severity, breaks) in cases.items():
        (finding,) = _analyze(text + "\n").findings
        assert finding.severity.value == severity, text
        assert finding.assessment is not None and finding.assessment.breaks is breaks, text


def test_secrets_never_reach_findings_or_reports(tmp_path: Path) -> None:
    script = (
        "$pw = ConvertTo-SecureString 'Sup3r-Secret-Example!' -AsPlainText -Force\n"
        "$cred = New-Object System.Management.Automation.PSCredential('svc@contoso.com', $pw)\n"
        "$smtp = New-Object Net.Mail.SmtpClient('smtp.office365.com', 587)\n"
        "$smtp.Credentials = New-Object Net.NetworkCredential('svc@contoso.com', 'An0ther-Secret-Example')\n"
        "$smtp.Send('a@contoso.com', 'b@contoso.com', 's', 'b')\n"
        "Send-MailMessage -To a@contoso.com -Subject s -SmtpServer smtp.office365.com -Credential (New-Object PSCredential('u', (ConvertTo-SecureString 'Inline-Secret-Example' -AsPlainText -Force)))\n"
    )
    (tmp_path / "secret.ps1").write_text(script)
    result = scan([tmp_path], ScanOptions(use_cache=False))
    assert len([f for f in result.findings if f.rule.startswith("SMTP")]) == 2
    for fmt in (Format.JSON, Format.SARIF, Format.TERMINAL):
        out = render(result, fmt)
        for secret in ("Sup3r-Secret-Example!", "An0ther-Secret-Example", "Inline-Secret-Example"):
            assert secret not in out, f"{secret} leaked into {fmt.value}"
    document = json.loads(render(result, Format.JSON))
    inline = next(f for f in document["findings"] if f["rule"] == "SMTP001")
    assert "***" in inline["snippet"] and "***" in inline["call"]["params"]["Credential"]["text"]
    client = next(f for f in document["findings"] if f["rule"] == "SMTP002")
    assert client["credential_user"] == "svc@contoso.com"


def _tree(root: Path, count: int = 12) -> None:
    for i in range(count):
        sub = root / f"d{i % 3}"
        sub.mkdir(exist_ok=True)
        body = f"Send-MailMessage -To u{i}@contoso.com -Subject s{i} -SmtpServer smtp.office365.com -Credential $c\n" if i % 2 else "Get-Date\n"
        (sub / f"s{i}.ps1").write_text(body * (1 + i % 3))


def test_jobs_one_and_two_give_identical_findings(tmp_path: Path) -> None:
    _tree(tmp_path)
    one = render(scan([tmp_path], ScanOptions(jobs=1, use_cache=False)), Format.SARIF)
    two = render(scan([tmp_path], ScanOptions(jobs=2, use_cache=False)), Format.SARIF)
    assert one == two
    assert json.loads(one)["runs"][0]["results"]


def test_cache_hit_invalidation_and_corruption(tmp_path: Path) -> None:
    root = tmp_path / "src"
    root.mkdir()
    cache = tmp_path / "cache"
    _tree(root, 4)
    options = ScanOptions(jobs=1, cache_dir=cache)
    first = scan([root], options)
    entries = sorted(p for p in cache.rglob("*.json") if p.parent.name != "index")
    assert entries, "the cache was not written"
    stamps = {p: p.stat().st_mtime_ns for p in entries}
    second = scan([root], options)
    assert [f.fingerprint for f in second.findings] == [f.fingerprint for f in first.findings]
    assert {p: p.stat().st_mtime_ns for p in entries} == stamps, "a warm scan rewrote cache entries"
    # content change: a new entry, new findings
    target = root / "d1" / "s1.ps1"
    target.write_text(target.read_text().replace("u1@", "changed@"))
    third = scan([root], options)
    assert any(f.call and f.call.static_text("To") == "changed@contoso.com" for f in third.findings)
    def results() -> list[Path]:
        return [p for p in cache.rglob("*.json") if p.parent.name != "index"]

    assert len(results()) == len(entries) + 1
    # rule configuration change: different keys
    scan([root], ScanOptions(jobs=1, cache_dir=cache, rules=RuleConfig(ignore=("SMTP002",))))
    assert len(results()) > len(entries) + 1
    # corrupt and foreign entries are ignored and rewritten
    for path in cache.rglob("*.json"):
        path.write_text("{not json")  # the stat index too: it is ignored and rebuilt
    fourth = scan([root], options)
    assert [f.fingerprint for f in fourth.findings] == [f.fingerprint for f in third.findings]
    rewritten = 0
    for path in results():
        try:
            entry = json.loads(path.read_text())
        except ValueError:
            continue  # entries of the other rule configuration stay corrupt: nothing read them
        rewritten += 1
        entry["key"] = "0" * 64
        path.write_text(json.dumps(entry))
    assert rewritten == len(entries)
    assert [f.fingerprint for f in scan([root], options).findings] == [f.fingerprint for f in third.findings]
    assert not list(cache.rglob(".tmp-*")), "temporary files left behind"


def test_concurrent_scans_share_a_cache(tmp_path: Path) -> None:
    root = tmp_path / "src"
    root.mkdir()
    _tree(root, 10)
    cache = tmp_path / "cache"
    pids = []
    for _ in range(3):
        pid = os.fork()
        if pid == 0:
            try:
                scan([root], ScanOptions(jobs=1, cache_dir=cache))
            finally:
                os._exit(0)
        pids.append(pid)
    for pid in pids:
        os.waitpid(pid, 0)
    for path in cache.rglob("*.json"):
        assert json.loads(path.read_text())["magic"].startswith(("smtp2graph-cache", "smtp2graph-stat-index"))
    expected = [f.fingerprint for f in scan([root], ScanOptions(jobs=1, use_cache=False)).findings]
    assert [f.fingerprint for f in scan([root], ScanOptions(jobs=1, cache_dir=cache)).findings] == expected
    assert len(expected) == 9


@pytest.mark.parametrize("jobs", [1, 2])
def test_cross_file_wrapper_lists_its_call_sites(tmp_path: Path, jobs: int) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "Mail.psm1").write_text(
        "function Send-Report {\n"
        "    param($To, $Subject)\n"
        "    Send-MailMessage @PSBoundParameters -From r@contoso.com -SmtpServer smtp.office365.com -UseSsl -Credential $c\n"
        "}\n"
        "Export-ModuleMember -Function Send-Report\n"
    )
    (tmp_path / "a.ps1").write_text("Import-Module ./lib/Mail.psm1\nSend-Report -To x@contoso.com -Subject a\n")
    (tmp_path / "b.ps1").write_text("# Send-Report in a comment is not a call\nMail\\Send-Report -To y@contoso.com -Subject b\nGet-Help Send-Report\n")
    (tmp_path / "c.ps1").write_text("Get-Date\n")
    result = scan([tmp_path], ScanOptions(use_cache=False, jobs=jobs))
    (finding,) = result.findings
    sites = [(r.path, r.line) for r in finding.related if r.role == "call-site"]
    assert sites == [("a.ps1", 2), ("b.ps1", 2)]
    assert "Send-Report" in finding.message and "2 place(s) in 2 script(s)" in finding.message


def test_a_wrapper_call_site_that_passes_no_credential_sends_without_one(tmp_path: Path) -> None:
    """`-Credential $Credential` inside the wrapper, nothing passed by this caller, no default, not Mandatory:
    the credential is $null there, so the call site sends without one (it was described "with a password"
    and, to smtp.office365.com, "breaks"). A caller whose splat cannot be rebuilt, or that sets defaults,
    may still pass it; a parameter with a default or assigned in the body is not empty."""
    (tmp_path / "lib.ps1").write_text(
        "function Send-Alert {\n"
        "    param([string]$Server, [string]$To, [pscredential]$Credential, [pscredential]$Fallback = $script:Stored)\n"
        "    Send-MailMessage -From alerts@contoso.com -To $To -Subject 'alert' -SmtpServer $Server -Credential $Credential -UseSsl\n"
        "}\n"
        "function Send-Kept {\n"
        "    param([string]$Server, [pscredential]$Credential)\n"
        "    if (-not $Credential) { $Credential = Import-Clixml \"$PSScriptRoot\\smtp.xml\" }\n"
        "    Send-MailMessage -From alerts@contoso.com -To ops@contoso.com -Subject 'kept' -SmtpServer $Server -Credential $Credential\n"
        "}\n")
    (tmp_path / "job.ps1").write_text(
        ". \"$PSScriptRoot\\lib.ps1\"\n"
        "Send-Alert -Server smtp.office365.com -To ops@contoso.com\n"
        "Send-Alert -Server smtp.office365.com -To ops@contoso.com -Credential $cred\n"
        "Send-Alert -Server smtp.office365.com @more\n"
        "Send-Kept -Server smtp.office365.com\n")
    result = scan([tmp_path], ScanOptions(use_cache=False, jobs=1))
    at = {f.location.line: f for f in result.findings if f.location.path == "job.ps1"}
    assert at[2].assessment.credential.value == "none" and at[2].assessment.breaks is not True
    assert any("-Credential is not passed to Send-Alert at job.ps1:2" in note for note in at[2].call.notes)
    assert at[3].assessment.breaks is True  # passed: a password to Exchange Online
    assert at[4].assessment.credential.value != "none"  # @more may pass it
    assert at[5].assessment.breaks is True  # set in the body when not passed


def test_a_wrapper_that_forwards_psboundparameters_gets_each_call_sites_values(tmp_path: Path) -> None:
    """`Send-MailMessage @PSBoundParameters` in a wrapper whose parameters are named like the cmdlet's: each
    caller decides the server and credential (the wrapper's own call stays unknown); a parameter the caller
    leaves out is not in the splat, whatever its default."""
    (tmp_path / "Notice.psm1").write_text(
        "function Send-Notice {\n    [CmdletBinding()]\n"
        "    param([string]$SmtpServer, [string]$To, [string]$Subject, [pscredential]$Credential = $script:Saved, [switch]$UseSsl)\n"
        "    Send-MailMessage @PSBoundParameters -From robot@contoso.com\n}\n")
    (tmp_path / "use.ps1").write_text(
        "Import-Module \"$PSScriptRoot\\Notice.psm1\"\n"
        "Send-Notice -SmtpServer smtp.office365.com -To ops@contoso.com -Subject a -Credential $cred -UseSsl\n"
        "Send-Notice -SmtpServer relay.contoso.com -To ops@contoso.com -Subject b\n")
    result = scan([tmp_path], ScanOptions(use_cache=False, jobs=1))
    at = {f.location.line: f for f in result.findings if f.location.path == "use.ps1"}
    assert at[2].assessment.breaks is True and at[2].assessment.server_text == "smtp.office365.com"
    assert at[3].assessment.breaks is False and at[3].assessment.credential.value != "explicit"
    assert any("so @PSBoundParameters leaves it out" in note for note in at[3].call.notes)
    (wrapper,) = [f for f in result.findings if f.location.path == "Notice.psm1"]
    assert wrapper.assessment.breaks is None


def test_warm_scan_of_an_unchanged_tree_reads_no_file(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import time

    import scanner.estate.scan as estate_scan

    root = tmp_path / "src"
    root.mkdir()
    _tree(root, 8)
    past = time.time() - 3600
    for path in root.rglob("*.ps1"):
        os.utime(path, (past, past))  # older than the racy window
    reads: list[str] = []
    real = estate_scan.analyze_file

    def counting(path: Path, rel=None):  # type: ignore[no-untyped-def]
        reads.append(os.path.basename(path))
        return real(path, rel)

    monkeypatch.setattr(estate_scan, "analyze_file", counting)
    options = ScanOptions(jobs=1, cache_dir=tmp_path / "cache")
    first = scan([root], options)
    assert len(reads) == 8
    reads.clear()
    second = scan([root], options)
    assert reads == [], "an unchanged file was read again"
    assert [f.fingerprint for f in second.findings] == [f.fingerprint for f in first.findings]
    changed = root / "d1" / "s1.ps1"
    changed.write_text(changed.read_text() + "Send-MailMessage -To extra@contoso.com -SmtpServer relay.local\n")
    os.utime(changed, (past, past))
    third = scan([root], options)
    assert reads == ["s1.ps1"], "a file whose size changed must be read again"
    assert len(third.findings) == len(first.findings) + 1
    reads.clear()
    (root / "d2" / "s2.ps1").unlink()
    fourth = scan([root], options)
    assert reads == [] and fourth.files_scanned == 7


def test_psd1_data_is_not_code(tmp_path: Path) -> None:
    (tmp_path / "Module.psd1").write_text(
        "@{\n    Description = 'Send-MailMessage -To a@contoso.com -SmtpServer smtp.office365.com'\n"
        "    PrivateData = @{ Example = { Send-MailMessage -To b@contoso.com -SmtpServer smtp.office365.com -Credential $c } }\n}\n"
    )
    (tmp_path / "Module.psm1").write_text("Send-MailMessage -To c@contoso.com -SmtpServer smtp.office365.com -Credential $c\n")
    result = scan([tmp_path], ScanOptions(use_cache=False))
    assert [f.location.path for f in result.findings] == ["Module.psm1"]
    assert result.files_scanned == 2


def test_warm_scan_reuses_wrapper_call_sites_and_writes_nothing(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import time

    import scanner.estate.wrappers as wrappers

    root = tmp_path / "src"
    root.mkdir()
    (root / "lib.psm1").write_text("function Send-Report { Send-MailMessage -To a@contoso.com -SmtpServer smtp.office365.com -Credential $c }\n")
    (root / "a.ps1").write_text("Send-Report\n")
    (root / "b.ps1").write_text("Get-Date\n")
    past = time.time() - 3600
    for path in root.iterdir():
        os.utime(path, (past, past))
    options = ScanOptions(jobs=1, cache_dir=tmp_path / "cache")
    first = scan([root], options)
    assert [r.path for r in first.findings[0].related if r.role == "call-site"] == ["a.ps1"]
    (index_file,) = (tmp_path / "cache" / "index").glob("*.json")
    stamp = index_file.stat().st_mtime_ns
    opened: list[str] = []
    real_sites = wrappers._wrapper_sites_in_file

    def counting(path, *args):  # type: ignore[no-untyped-def]
        opened.append(path)
        return real_sites(path, *args)

    monkeypatch.setattr(wrappers, "_wrapper_sites_in_file", counting)
    second = scan([root], options)
    assert opened == [], "a warm scan re-read files to find wrapper call sites"
    assert [r.path for r in second.findings[0].related if r.role == "call-site"] == ["a.ps1"]
    assert index_file.stat().st_mtime_ns == stamp, "a scan that changed nothing rewrote the index"
    (root / "b.ps1").write_text("Send-Report -To x\n")
    os.utime(root / "b.ps1", (past, past))
    third = scan([root], options)
    assert [p.rsplit("/", 1)[-1] for p in opened] == ["b.ps1"]
    assert sorted(r.path for r in third.findings[0].related if r.role == "call-site") == ["a.ps1", "b.ps1"]


def test_fix_preview_diff_masks_secrets_on_context_lines(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from scanner.cli import app

    script = tmp_path / "leak.ps1"
    script.write_text(
        '$pw = ConvertTo-SecureString "Leak-Me-Example-9" -AsPlainText -Force\n'
        '$c = New-Object PSCredential("u@contoso.com", $pw)\n'
        "Send-MailMessage -To a@contoso.com -From b@contoso.com -Subject s -SmtpServer smtp.office365.com -UseSsl -Credential $c\n"
    )
    result = CliRunner().invoke(app, ["fix", str(script)])
    assert "+Send-GraphMailMessage" in result.stdout
    assert "Leak-Me-Example-9" not in result.stdout + result.stderr
    # The context shrinks around the secret's line instead of showing it masked (a masked line would not apply).
    assert "ConvertTo-SecureString" not in result.stdout


def test_names_that_describe_where_a_secret_lives_are_not_secrets() -> None:
    from scanner.secrets import find_secrets

    text = (
        "$secretName = 'SMTP2GRAPH_SECRET'\n"
        "$cfg = @{ ClientSecretName = 'SMTP2GRAPH_SECRET_NAME'; ClientSecret = 'abc123-real' }\n"
        "$tokenUrl = 'https://login.microsoftonline.com/x/oauth2/v2.0/token'\n"
        "$passwordFile = 'C:\\secure\\pw.txt'\n"
        "$password = 'P@ss-Example'\n"
    )
    found = [text[s.start : s.end] for s in find_secrets(Script(text, "x.ps1"))]
    assert found == ["'abc123-real'", "'P@ss-Example'"]


def test_a_file_too_large_to_parse_is_still_scanned_from_its_text(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import scanner.script as script_module

    monkeypatch.setattr(script_module, "PARSE_MAX_CHARS", 200)
    text = "# padding\n" * 30 + "Send-MailMessage -To a@contoso.com -Subject s -SmtpServer smtp.office365.com -Credential $c\n"
    (finding,) = _analyze(text).findings
    assert finding.call is not None and finding.call.static_text("To") == "a@contoso.com"
    assert finding.confidence.value == "medium"
    assert any("tree-sitter was not run" in note for note in finding.call.notes)


def test_credential_user_follows_variables() -> None:
    text = (
        "$user = 'svc-mail@contoso.com'\n"
        "$cred = New-Object System.Management.Automation.PSCredential($user, $pw)\n"
        "Send-MailMessage -To a@contoso.com -Subject s -SmtpServer smtp.office365.com -Credential $cred\n"
        "$c2 = [pscredential]::new('Other@Contoso.com', $pw)\n"
        "Send-MailMessage -To a@contoso.com -Subject s -SmtpServer smtp.office365.com -Credential $c2.GetNetworkCredential()\n"
    )
    users = [f.credential_user for f in _analyze(text).findings if f.rule == "SMTP001"]
    assert users == ["svc-mail@contoso.com", None]


def test_prefix_matching_a_common_parameter_binds_the_cmdlets_own() -> None:
    # PowerShell's binder prefers the cmdlet's own parameter: -Pr is -Priority, not -ProgressAction
    # (StaticParameterBinder and a real run in 7.6 agree; tests/test_binder_oracle.py checks it).
    from scanner.check import calls_in_text

    (call,) = calls_in_text("Send-MailMessage -To a@contoso.com -Subject s -Pr High -E utf8\n")
    assert call.static_text("Priority") == "High"
    assert call.static_text("Encoding") == "utf8"
    assert not any("ambiguous" in note for note in call.notes)
    (call,) = calls_in_text("Send-MailMessage -To a@contoso.com -Er Stop\n")
    assert "ErrorAction" not in call.params and any("ambiguous" in note for note in call.notes)
    (call,) = calls_in_text("Send-MailMessage -To a@contoso.com -P 25\n")
    assert "Port" not in call.params and "Priority" not in call.params
    assert any("ambiguous" in note for note in call.notes)


def test_splat_of_a_cast_hashtable_literal() -> None:
    from scanner.check import calls_in_text

    for cast in ("[ordered]", "[hashtable]", "[System.Collections.Hashtable] "):
        (call,) = calls_in_text(f"$p = {cast}@{{ To = 'a@contoso.com' }}\nSend-MailMessage @p -Subject s\n")
        assert call.static_text("To") == "a@contoso.com", cast


def test_cache_entries_of_the_format_before_masking_by_value_are_never_read_and_are_deleted(tmp_path: Path) -> None:
    from scanner.cache import ResultCache

    cache = ResultCache(tmp_path)
    key = "ab" + "0" * 62
    path = tmp_path / key[:2] / f"{key}.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"magic": "smtp2graph-cache/1", "key": key, "payload": {"snippet": "P@ss-in-clear"}}))
    assert cache.get(key) is None
    assert not path.exists()
    cache.put(key, {"snippet": "***"})
    assert cache.get(key) == {"snippet": "***"}


def test_a_tree_streamed_from_discovery_into_the_pool_gives_the_same_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past a few hundred files the walk feeds the workers as it goes: order, errors, wrapper call
    sites and a warm re-scan come out as with one process."""
    import time as _time

    import scanner.estate.scan as estate_scan

    root = tmp_path / "tree"
    count = estate_scan._STREAM_AFTER + 150
    for i in range(count):
        folder = root / f"d{i % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        if i % 50 == 0:
            body = f"Send-MailMessage -To t{i}@contoso.com -From f@contoso.com -SmtpServer smtp.office365.com -UseSsl -Credential $c\n"
        elif i % 97 == 0:
            body = "Send-Notice -Server smtp.office365.com\n"
        else:
            body = f"Get-ChildItem -Path C:\\\\logs\\\\{i} | Remove-Item\n"
        (folder / f"s{i:04d}.ps1").write_text(body, encoding="utf-8")
    (root / "d0" / "lib.ps1").write_text(
        "function Send-Notice($Server) { Send-MailMessage -To a@contoso.com -From b@contoso.com -SmtpServer $Server }\n",
        encoding="utf-8",
    )
    (root / "d3" / "bad.ps1").write_bytes(b"\xff\xfe\x00\xd8")  # UTF-16 with a lone surrogate: an error entry or a finding-free file
    past = _time.time() - 3600
    for path in root.rglob("*.ps1"):
        os.utime(path, (past, past))

    def summary(result):  # type: ignore[no-untyped-def]
        return ([(f.location.path, f.location.line, f.rule, f.fingerprint, len(f.related)) for f in result.findings],
                [(e.path, e.message) for e in result.errors], result.files_scanned, result.scanned_paths)

    streamed: list[int] = []
    real = estate_scan._outcomes_streamed

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        streamed.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(estate_scan, "_outcomes_streamed", counting)
    one = scan([root], ScanOptions(jobs=1, use_cache=False))
    two = scan([root], ScanOptions(jobs=2, use_cache=False))
    assert streamed == [1, 1], "both scans streamed the walk"
    assert len(one.scanned_paths) == count + 2
    assert summary(two) == summary(one)
    assert any(f.call is not None and f.call.form == "wrapper-call-site" for f in one.findings)
    cold = scan([root], ScanOptions(jobs=2, cache_dir=tmp_path / "cache"))
    warm = scan([root], ScanOptions(jobs=2, cache_dir=tmp_path / "cache"))
    assert summary(cold) == summary(one) == summary(warm)
