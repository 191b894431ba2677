"""Discovery (.gitignore, --exclude, letter case, symlink loops) and decoding (BOM, UTF-16, cp1252)."""

from __future__ import annotations

import codecs
import os
from pathlib import Path

import pytest

from scanner.estate.scan import scan
from scanner.estate.options import ScanOptions
from scanner.files import DecodeError, decode, discover

CALL = "Send-MailMessage -To a@contoso.com -Subject s -SmtpServer smtp.office365.com -Credential $c\n"


def _names(root: Path, **kw: object) -> list[str]:
    return [d.path.relative_to(root).as_posix() for d in discover([root], root, **kw) if d.path]  # type: ignore[arg-type]


def test_extensions_in_any_case(tmp_path: Path) -> None:
    for name in ("a.ps1", "B.PS1", "c.Psm1", "d.psd1", "e.txt", "f.ps1xml"):
        (tmp_path / name).write_text("x")
    assert _names(tmp_path) == ["B.PS1", "a.ps1", "c.Psm1", "d.psd1"]


def test_gitignore_at_every_level_and_excludes(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("build/\n*.generated.ps1\n")
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "x.ps1").write_text(CALL)
    (tmp_path / "a.generated.ps1").write_text(CALL)
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / ".gitignore").write_text("local.ps1\n!keep.ps1\n")
    (sub / "local.ps1").write_text(CALL)
    (sub / "keep.ps1").write_text(CALL)
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "v.ps1").write_text(CALL)
    (tmp_path / "main.ps1").write_text(CALL)
    assert _names(tmp_path) == ["main.ps1", "sub/keep.ps1", "vendor/v.ps1"]
    assert _names(tmp_path, excludes=["vendor/"]) == ["main.ps1", "sub/keep.ps1"]
    assert "build/x.ps1" in _names(tmp_path, respect_gitignore=False)


def test_symlink_loop_is_not_followed_forever(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.ps1").write_text(CALL)
    os.symlink(tmp_path, tmp_path / "a" / "loop")
    os.symlink(tmp_path / "nowhere.ps1", tmp_path / "broken.ps1")
    items = list(discover([tmp_path], tmp_path))
    assert [d.path.name for d in items if d.path] == ["x.ps1"]
    assert [e.error.message for e in items if e.error] == ["broken symbolic link"]


@pytest.mark.parametrize(
    "raw,encoding",
    [
        (CALL.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + CALL.encode("utf-8"), "utf-8-sig"),
        (codecs.BOM_UTF16_LE + CALL.encode("utf-16-le"), "utf-16-le"),
        (codecs.BOM_UTF16_BE + CALL.encode("utf-16-be"), "utf-16-be"),
        ("# Grüße\n".encode("cp1252") + CALL.encode("cp1252"), "cp1252"),
    ],
)
def test_decode(raw: bytes, encoding: str) -> None:
    text, found, _ = decode(raw)
    assert found == encoding
    assert CALL in text


def test_decode_rejects_binary() -> None:
    with pytest.raises(DecodeError):
        decode(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\xff\xff")


def test_positions_refer_to_decoded_text(tmp_path: Path) -> None:
    """Line and column count characters of the decoded text, whatever the encoding and line endings."""
    text = "$s = 'Größe: ünïcødé'\r\n\r\n$x = 'é'; " + CALL.replace("\n", "\r\n")
    variants = {
        "utf8.ps1": text.encode("utf-8"),
        "bom.ps1": codecs.BOM_UTF8 + text.encode("utf-8"),
        "utf16.ps1": codecs.BOM_UTF16_LE + text.encode("utf-16-le"),
        "utf16be.ps1": codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
        "cp1252.ps1": text.encode("cp1252"),
    }
    for name, raw in variants.items():
        (tmp_path / name).write_bytes(raw)
    result = scan([tmp_path], ScanOptions(use_cache=False))
    assert sorted(f.location.path for f in result.findings) == sorted(variants)
    for finding in result.findings:
        assert (finding.location.line, finding.location.column) == (3, 11), finding.location.path


def test_bad_files_become_errors_and_the_scan_goes_on(tmp_path: Path) -> None:
    (tmp_path / "good.ps1").write_text(CALL)
    (tmp_path / "binary.ps1").write_bytes(b"Send-MailMessage\x00\x01\x02\xff" * 10)
    (tmp_path / "big.ps1").write_text(CALL * 200)
    (tmp_path / "odd.ps1").write_bytes(codecs.BOM_UTF16_LE + b"S\x00e\x00n")
    result = scan([tmp_path], ScanOptions(use_cache=False, max_bytes=4096))
    assert [f.location.path for f in result.findings] == ["good.ps1"]
    errors = {e.path: e.message for e in result.errors}
    assert set(errors) == {"binary.ps1", "big.ps1", "odd.ps1"}
    assert "binary" in errors["binary.ps1"]
    assert "--max-file-size" in errors["big.ps1"]
    assert "UTF-16" in errors["odd.ps1"]
    assert result.files_failed == 3


def test_a_pipe_named_like_a_script_is_an_error_not_a_hang(tmp_path: Path) -> None:
    (tmp_path / "real.ps1").write_text(CALL)
    os.mkfifo(tmp_path / "pipe.ps1")
    result = scan([tmp_path], ScanOptions(use_cache=False))
    assert [f.location.path for f in result.findings] == ["real.ps1"]
    assert [(e.path, e.message) for e in result.errors] == [("pipe.ps1", "not a regular file (pipe, socket or device)")]
