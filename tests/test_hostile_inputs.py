"""Hostile files and arguments: a report is always written, no traceback, nothing raw reaches a terminal.

File names that are not UTF-8 or hold terminal control sequences, UTF-16 text with lone
surrogates, .gitignore lines and --exclude patterns the pattern library rejects, unreadable
paths given on the command line, a worker that crashes or is killed, and one very long line with
thousands of calls (cost must stay linear: the bench/one_line_calls.py job measures the full size).
"""

from __future__ import annotations

import json
import os
import re
import signal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scanner.cli import app
from scanner.safetext import LINE_MAX
from scanner.estate.scan import scan
from scanner.estate.options import ScanOptions

CALL = "Send-MailMessage -From a@contoso.com -To b@contoso.com -Subject s -SmtpServer smtp.office365.com -UseSsl -Credential $c\n"
ESC_NAME = "esc\x1b]0;pwned\x07\x1b[31mred\rline\nnext.ps1"
NON_UTF8 = b"caf\xe9-\xff\xfe.ps1"
# What a terminal must never receive raw: ESC, BEL, CR, backspace, C1 CSI/OSC, lone surrogates.
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
TRACEBACKS: list[str] = []


def _hostile_tree(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / ESC_NAME).write_text(CALL, encoding="utf-8")
    with open(os.path.join(os.fsencode(root), NON_UTF8), "wb") as handle:
        handle.write(CALL.encode())
    surrogate = "Send-MailMessage -To a@b.com -Subject '".encode("utf-16-le") + b"\x00\xd8" + "' -SmtpServer smtp.office365.com\n".encode("utf-16-le")
    (root / "surrogate.ps1").write_bytes(b"\xff\xfe" + surrogate)
    (root / "content.ps1").write_text(
        'Send-MailMessage -To a@b.com -Subject "\x1b]8;;http://evil\x07click\x1b]8;;\x07 \x1b[2J\x9b31m" -SmtpServer smtp.office365.com\n',
        encoding="utf-8",
    )
    (root / ".gitignore").write_text("ignored.ps1\n[z-a]\n!\n\\\n", encoding="utf-8")
    (root / "ignored.ps1").write_text(CALL, encoding="utf-8")
    return root


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        TRACEBACKS.append(f"{args}: {result.exception!r}")
        raise AssertionError(f"{args} raised {result.exception!r}")
    assert "Traceback" not in result.stderr
    return result.exit_code, result.stdout, result.stderr


def _no_raw_control(text: str, where: str) -> None:
    bad = RAW_CONTROL.search(text)
    assert bad is None, f"{where}: raw {bad.group()!r} at {bad.start()}: {text[max(0, bad.start() - 60) : bad.start() + 20]!r}"


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    return _hostile_tree(tmp_path / "scripts")


def _formats() -> list[str]:
    from scanner.reports.formats import Format

    return [f.value for f in Format]


@pytest.mark.parametrize("fmt", _formats())
def test_every_format_reports_hostile_names_and_content(fmt: str, tree: Path, tmp_path: Path) -> None:
    out = tmp_path / f"report.{fmt}"
    code, stdout, stderr = _invoke("scan", str(tree), "--no-cache", "-f", fmt, "-o", str(out))
    assert code == 1  # findings, not a tool error
    data = out.read_bytes()
    if data[:2] == b"PK":  # xlsx: a zip of XML parts
        import io
        import zipfile

        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            data = b"\n".join(archive.read(name) for name in archive.namelist())
    text = data.decode("utf-8")
    if fmt == "csv":
        text = text.replace("\r\n", "\n")  # RFC 4180 record separators are the format's own
    _no_raw_control(text, f"{fmt} report")
    _no_raw_control(stdout + stderr, f"{fmt} stderr")
    assert "caf\\xe9-\\xff\\xfe.ps1" in text or "caf\\\\xe9-\\\\xff\\\\xfe.ps1" in text
    assert "ignored.ps1" not in text  # the valid .gitignore lines still apply
    assert "[z-a]" in stderr and "not a valid gitignore pattern" in stderr
    if fmt != "xlsx":
        code, stdout, stderr = _invoke("scan", str(tree), "--no-cache", "-f", fmt)
        _no_raw_control((stdout + stderr).replace("\r\n", "\n") if fmt == "csv" else stdout + stderr, f"{fmt} stdout")


def test_json_names_every_file_and_error(tree: Path) -> None:
    code, stdout, _ = _invoke("scan", str(tree), "--no-cache", "-f", "json", "-q")
    document = json.loads(stdout)
    paths = {f["path"] for f in document["findings"]}
    assert {"surrogate.ps1", "content.ps1", "caf\\xe9-\\xff\\xfe.ps1", "esc\\x1b]0;pwned\\x07\\x1b[31mred\\rline\\nnext.ps1"} <= paths
    errors = [e for e in document["errors"] if e["path"] == ".gitignore"]
    assert len(errors) == 3 and all("ignored" in e["message"] for e in errors)


def test_bad_exclude_pattern_is_an_error_entry_and_the_report_is_written(tree: Path) -> None:
    code, stdout, stderr = _invoke("scan", str(tree), "--no-cache", "-f", "json", "--exclude", "[z-a]", "--exclude", "content.ps1")
    document = json.loads(stdout)
    assert any(e["path"] == "--exclude" and "[z-a]" in e["message"] for e in document["errors"])
    assert "content.ps1" not in {f["path"] for f in document["findings"]}  # the good pattern still applies
    assert document["findings"]


def test_fix_preview_and_out_keep_hostile_names(tree: Path, tmp_path: Path) -> None:
    code, stdout, stderr = _invoke("fix", str(tree))
    assert code == 1 and "Send-GraphMailMessage" in stdout
    _no_raw_control(stdout + stderr, "fix preview")
    out = tmp_path / "fixed"
    # --unsafe-fixes: the hostile Subjects hold non-ASCII characters (a lone surrogate, C1 controls), which Graph sends
    # as written where Send-MailMessage sent "?": a fix that changes the message is unsafe.
    code, stdout, stderr = _invoke("fix", str(tree), "--out", str(out), "--unsafe-fixes")
    _no_raw_control(stdout + stderr, "fix --out")
    written = set(os.listdir(os.fsencode(out)))
    assert NON_UTF8 in written and os.fsencode(ESC_NAME) in written  # the copies keep their real names
    assert b"Send-GraphMailMessage" in (out / ESC_NAME).read_bytes()
    patched = (out / "surrogate.ps1").read_bytes()
    assert patched.startswith(b"\xff\xfe") and b"\x00\xd8" in patched  # the lone surrogate is kept byte for byte


def test_snippet_report_and_kit_with_hostile_names(tree: Path, tmp_path: Path) -> None:
    for name in (ESC_NAME, os.fsdecode(NON_UTF8), "surrogate.ps1", "content.ps1"):
        code, stdout, stderr = _invoke("snippet", f"{tree / name}:1")
        assert code == 0, stderr
        _no_raw_control(stderr, f"snippet {name!r} stderr")
    code, _, stderr = _invoke("snippet", f"{tree / ESC_NAME}:9")
    assert code == 2
    _no_raw_control(stderr, "snippet error")
    report = tmp_path / "scan.json"
    _invoke("scan", str(tree), "--no-cache", "-f", "json", "-o", str(report))
    code, stdout, stderr = _invoke("report", str(report), "-f", "markdown")
    assert code == 0
    _no_raw_control(stdout + stderr, "report")
    code, stdout, stderr = _invoke("report", str(tmp_path / "no\x1b[2Jsuch.json"))
    assert code == 2
    _no_raw_control(stdout + stderr, "report error")
    code, stdout, stderr = _invoke("kit", str(tmp_path / "kit\x1b]0;x\x07"), "--senders-from", str(report))
    assert code == 0
    _no_raw_control(stdout + stderr, "kit")


def test_unreadable_paths_on_the_command_line_are_error_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = tmp_path / "good.ps1"
    good.write_text(CALL, encoding="utf-8")
    locked = tmp_path / "locked.ps1"
    locked.write_text(CALL, encoding="utf-8")
    fifo = tmp_path / "pipe.ps1"
    os.mkfifo(fifo)
    real = os.open

    def opening(file, *args, **kwargs):  # type: ignore[no-untyped-def]
        # The tests run as root, for whom a chmod 000 file is readable: refuse it as the OS would.
        if os.path.basename(os.fspath(file)) == "locked.ps1":
            raise PermissionError(13, "Permission denied", os.fspath(file))
        return real(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", opening)  # the scan reads through scanner.files.read_bytes
    result = scan([good, locked, fifo, tmp_path / "missing.ps1"], ScanOptions(use_cache=False, jobs=1), root=tmp_path)
    messages = {e.path: e.message for e in result.errors}
    assert "Permission denied" in messages["locked.ps1"]
    assert "not a regular file" in messages["pipe.ps1"]
    assert "no such file" in messages[(tmp_path / "missing.ps1").as_posix()]
    assert [f.location.path for f in result.findings if f.rule == "SMTP001"] == ["good.ps1"]


def test_a_crashed_or_killed_worker_is_an_error_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import multiprocessing

    import scanner.estate.worker as worker

    if multiprocessing.get_start_method() != "fork":
        pytest.skip("the crash is planted through fork-inherited state")
    for i in range(6):
        (tmp_path / f"ok{i}.ps1").write_text(CALL, encoding="utf-8")
    (tmp_path / "killed.ps1").write_text(CALL, encoding="utf-8")
    (tmp_path / "buggy.ps1").write_text(CALL, encoding="utf-8")
    real = worker.analyze_script

    def planted(script, config, *args, **kwargs):  # type: ignore[no-untyped-def]
        if script.path == "killed.ps1":
            os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer would
        if script.path == "buggy.ps1":
            raise KeyError("a bug")
        return real(script, config, *args, **kwargs)

    monkeypatch.setattr(worker, "analyze_script", planted)
    result = scan([tmp_path], ScanOptions(use_cache=False, jobs=2))
    messages = {e.path: e.message for e in result.errors}
    assert "crashed or was killed" in messages["killed.ps1"]
    assert "internal error" in messages["buggy.ps1"] and "Traceback" not in messages["buggy.ps1"]
    assert sorted(f.location.path for f in result.findings if f.rule == "SMTP001") == [f"ok{i}.ps1" for i in range(6)]
    assert result.files_failed == 2


def test_one_long_line_with_thousands_of_calls_stays_linear(tmp_path: Path) -> None:
    """Every finding used to carry the whole line (context and fix preview): 20,000 calls x 1.2 MB."""
    calls = 2000
    one_line = "Send-MailMessage -To a@b.com -Subject s -SmtpServer relay1; " * calls
    (tmp_path / "one-line.ps1").write_text(one_line, encoding="utf-8")
    result = scan([tmp_path], ScanOptions(use_cache=False, jobs=1))
    found = [f for f in result.findings if f.rule.startswith("SMTP")]
    assert len(found) == calls
    columns = sorted(f.location.column for f in found)
    assert columns[0] == 1 and columns[-1] == 1 + 60 * (calls - 1)
    for finding in found:
        assert all(len(line) <= 2 * LINE_MAX + 2 for line in finding.context_lines)
        assert len(finding.snippet) <= 2 * LINE_MAX + 2
        assert finding.fix.diff is None or len(finding.fix.diff) < 4 * LINE_MAX
    middle = found[calls // 2]
    assert "Send-MailMessage" in middle.context_lines[0] and middle.context_lines[0].startswith("…")


def test_explain_unknown_and_empty_tree_messages_are_escaped(tmp_path: Path) -> None:
    """`--explain-unknown` names the file and the variable that would decide a verdict, and the message for a
    folder without PowerShell names the folder: both come from the user's tree and are printed escaped."""
    root = tmp_path / "unknowns"
    root.mkdir()
    (root / ESC_NAME).write_text("Send-MailMessage -To a@contoso.com -From b@contoso.com -Subject s "
                                 "-SmtpServer $Relay -Credential $c\n", encoding="utf-8")
    code, stdout, stderr = _invoke("scan", str(root), "--no-cache", "--explain-unknown")
    _no_raw_control(stdout + stderr, "--explain-unknown")
    assert "$Relay" in stdout + stderr and "esc\\x1b]0;pwned" in stdout + stderr
    empty = tmp_path / "no\x1b[2Jps1\nhere"
    empty.mkdir()
    code, stdout, stderr = _invoke("scan", str(empty), "--no-cache")
    _no_raw_control(stdout + stderr, "empty tree message")
    assert "no PowerShell file" in stderr and "no\\x1b[2Jps1\\nhere" in stderr
