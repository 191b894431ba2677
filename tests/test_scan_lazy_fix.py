"""Only the work the output needs: fix material (snippets, Graph request, notes, preview diff) is
built only for the formats that show it, and every format's output is byte for byte what it was
when every finding carried all of it."""

from __future__ import annotations

import io
import shutil
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from scanner.reports.formats import Format, RenderOptions
from scanner.reports.render import render_bytes
from scanner.run import ScanRequest, execute_scan, fix_detail_for

REPO = Path(__file__).resolve().parents[1]


class _FixedNow(datetime):
    @classmethod
    def now(cls, tz=None):  # type: ignore[no-untyped-def, override]
        return datetime(2026, 12, 1, 12, 0, 0, tzinfo=timezone.utc)


@pytest.fixture()
def estate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import scanner.reports.json_report as json_report

    monkeypatch.setattr(json_report, "datetime", _FixedNow)
    root = tmp_path / "estate"
    shutil.copytree(REPO / "examples", root / "examples")
    shutil.copytree(REPO / "tests" / "fixtures" / "scan", root / "scan")
    return root


def _scan(root: Path, fmt: Format, detail: str | None) -> bytes:
    request = ScanRequest(paths=[root], format=fmt.value, use_cache=False, jobs=1, quiet=True, use_git=False,
                          fix_detail=detail)
    result, _ = execute_scan(request)
    return render_bytes(result, fmt, RenderOptions())


def _comparable(fmt: Format, content: bytes) -> object:
    if fmt is not Format.XLSX:
        return content
    # An .xlsx is a zip whose entries carry the time they were written: compare the parts.
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist() if name != "docProps/core.xml"}


@pytest.mark.parametrize("fmt", list(Format), ids=lambda f: f.value)
def test_every_format_is_byte_identical_with_only_the_fix_material_it_shows(estate: Path, fmt: Format) -> None:
    eager = _scan(estate, fmt, "full")
    lazy = _scan(estate, fmt, None)
    assert _comparable(fmt, lazy) == _comparable(fmt, eager)


def test_formats_that_show_no_fix_material_get_none_built(estate: Path) -> None:
    assert fix_detail_for("json") == fix_detail_for("html") == "full"
    assert fix_detail_for("sarif") == "diff"
    for name in ("terminal", "concise", "github", "csv", "xlsx", "markdown"):
        assert fix_detail_for(name) == "none"
    lean, _ = execute_scan(ScanRequest(paths=[estate], format="terminal", use_cache=False, jobs=1, quiet=True, use_git=False))
    full, _ = execute_scan(ScanRequest(paths=[estate], format="json", use_cache=False, jobs=1, quiet=True, use_git=False))
    assert any(f.fix.snippet for f in full.findings) and any(f.fix.diff for f in full.findings)
    assert not any(f.fix.snippet or f.fix.diff or f.fix.graph_request or f.fix.notes for f in lean.findings)
    # The fix safety every format shows is the same either way.
    assert [(f.fingerprint, f.fix.available, f.fix.applicability, f.fix.reason) for f in lean.findings] == [
        (f.fingerprint, f.fix.available, f.fix.applicability, f.fix.reason) for f in full.findings
    ]
    sarif, _ = execute_scan(ScanRequest(paths=[estate], format="sarif", use_cache=False, jobs=1, quiet=True, use_git=False))
    assert [f.fix.diff for f in sarif.findings] == [f.fix.diff for f in full.findings]
    assert not any(f.fix.snippet or f.fix.graph_request for f in sarif.findings)


def test_a_cached_lean_result_never_serves_a_format_that_shows_the_material(estate: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    lean, _ = execute_scan(ScanRequest(paths=[estate], format="terminal", cache_dir=cache, jobs=1, quiet=True, use_git=False))
    full, _ = execute_scan(ScanRequest(paths=[estate], format="json", cache_dir=cache, jobs=1, quiet=True, use_git=False))
    assert not any(f.fix.snippet for f in lean.findings)
    assert any(f.fix.snippet for f in full.findings)


def test_the_json_report_streamed_one_finding_at_a_time_is_the_document_byte_for_byte(estate: Path, tmp_path: Path) -> None:
    import json

    from scanner.reports.json_report import json_chunks, to_document
    from scanner.run import run_scan

    result, _ = execute_scan(ScanRequest(paths=[estate], format="json", use_cache=False, jobs=1, quiet=True, use_git=False))
    assert len(result.findings) > 10
    pieces = list(json_chunks(result))
    assert len(pieces) == len(result.findings) + 2
    whole = json.dumps(to_document(result), ensure_ascii=False, separators=(",", ":")) + "\n"
    assert "".join(pieces) == whole
    out = tmp_path / "report.json"
    run_scan(ScanRequest(paths=[estate], format="json", output=out, use_cache=False, jobs=1, quiet=True, use_git=False))
    assert out.read_bytes() == whole.encode("utf-8")
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing, _ = execute_scan(ScanRequest(paths=[empty], format="json", use_cache=False, jobs=1, quiet=True, use_git=False))
    assert json.loads("".join(json_chunks(nothing)))["findings"] == []
