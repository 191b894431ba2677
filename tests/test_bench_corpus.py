"""The benchmark's corpus generator (bench/gen_corpus.py): reproducible, realistic mix, parses as it claims."""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Dict, List

import pytest
import tree_sitter as ts
import tree_sitter_powershell as tsp

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _load(name: str) -> ModuleType:
    # bench/ is a folder of scripts, not a package: load by path so the test works from any cwd.
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


gen = _load("gen_corpus")

TINY_FILES = 700  # enough for 14 mail files, so every mail form appears at least once
TINY_MB = 2.0
MAIL_TOKENS = re.compile(r"send-mailmessage|smtpclient", re.IGNORECASE)


def _tree_digest(root: Path) -> Dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _decode(data: bytes) -> str:
    if data.startswith(b"\xff\xfe"):
        return data[2:].decode("utf-16-le")
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, List["gen.FileRecord"]]:
    root = tmp_path_factory.mktemp("corpus") / "estate"
    records = gen.generate(root, gen.CorpusSpec(size_mb=TINY_MB, files=TINY_FILES, seed=7))
    return root, records


def test_same_seed_gives_identical_bytes_and_other_seed_differs(tmp_path: Path) -> None:
    spec = gen.CorpusSpec(size_mb=0.5, files=120, seed=11)
    gen.generate(tmp_path / "a", spec)
    gen.generate(tmp_path / "b", spec)
    gen.generate(tmp_path / "c", gen.CorpusSpec(size_mb=0.5, files=120, seed=12))
    a, b, c = (_tree_digest(tmp_path / x) for x in "abc")
    assert a == b
    assert len(a) == 120 + 2  # the files, the .gitignore and the manifest
    assert a != c


def test_manifest_round_trips_and_matches_disk(corpus: tuple[Path, list]) -> None:
    root, records = corpus
    spec, read_back = gen.read_manifest(root)
    assert spec == gen.CorpusSpec(size_mb=TINY_MB, files=TINY_FILES, seed=7)
    assert read_back == records
    for r in records:
        assert (root / r.path).stat().st_size == r.bytes


def test_every_shape_encoding_and_line_ending_is_present(corpus: tuple[Path, list]) -> None:
    _, records = corpus
    assert {r.shape for r in records} == {s.value for s in gen.Shape}
    assert {(r.encoding, r.eol) for r in records} == {(e.value, l.value) for e, l in gen.ENCODING_WEIGHTS}
    shapes = Counter(r.shape for r in records)
    # Mostly ordinary code: scripts and functions dominate, big data files are rare.
    assert shapes["script"] + shapes["functions"] > 0.4 * len(records)
    assert 0 < shapes["data"] < 0.03 * len(records)
    assert any(r.path.endswith(".psm1") for r in records)
    assert any(r.path.endswith(".psd1") for r in records)
    assert any(r.path.endswith(".Tests.ps1") for r in records)
    assert max(r.path.count("/") for r in records) >= 4  # nested folders


def test_encodings_and_line_endings_are_what_the_manifest_says(corpus: tuple[Path, list]) -> None:
    root, records = corpus
    for r in records:
        data = (root / r.path).read_bytes()
        if r.encoding == "utf-16le-bom":
            assert data.startswith(b"\xff\xfe")
            text = data[2:].decode("utf-16-le")
        elif r.encoding == "utf-8-bom":
            assert data.startswith(b"\xef\xbb\xbf")
            text = data[3:].decode("utf-8")
        else:
            assert not data.startswith((b"\xff\xfe", b"\xef\xbb\xbf"))
            text = data.decode("utf-8" if r.encoding == "utf-8" else "cp1252")
        if r.eol == "crlf":
            assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
        else:
            assert "\r" not in text
    # The cp1252 files carry a non-ASCII byte, or their encoding would not matter.
    assert any(max((root / r.path).read_bytes()) > 0x7F for r in records if r.encoding == "cp1252")


def test_about_two_percent_send_mail_and_the_rest_never_does(corpus: tuple[Path, list]) -> None:
    root, records = corpus
    mail = [r for r in records if r.sends_mail]
    assert len(mail) == round(TINY_FILES * 0.02)
    assert {f for r in mail for f in r.mail_forms} == {f.value for f in gen.MailForm}
    for r in records:
        text = _decode((root / r.path).read_bytes())
        assert bool(MAIL_TOKENS.search(text)) == (r.sends_mail or r.mentions_api), r.path
        assert not (r.sends_mail and r.path.endswith(".psd1")), r.path  # data files never run
        if not r.sends_mail and not r.mentions_api:
            # Nothing boilerplate (a header naming the tool, ...) may hand every file to a mail prefilter.
            assert "smtp" not in text.lower(), r.path
    # Files that only talk about mail (mailbox admin, `-Properties mail`, comments): prefilter false positives.
    mentions = [r for r in records if r.mentions_mail]
    assert len(mentions) >= 0.05 * TINY_FILES
    assert all("mail" in _decode((root / r.path).read_bytes()).lower() for r in mentions)
    # A few name the API in comments, strings and Get-Help only: a prefilter passes them, a scanner must not flag them.
    api_mentions = [r for r in records if r.mentions_api]
    assert 1 <= len(api_mentions) <= 0.01 * TINY_FILES
    assert not any(r.sends_mail for r in api_mentions)


def test_gitignore_excludes_exactly_the_files_marked_ignored(corpus: tuple[Path, list]) -> None:
    root, records = corpus
    assert (root / ".gitignore").read_text(encoding="utf-8").splitlines()[1:] == ["build/", "*.bak"]
    for r in records:
        assert r.ignored == ("/build/" in r.path or r.path.endswith(".bak")), r.path
    assert 0 < sum(r.ignored for r in records) < 0.05 * TINY_FILES


def test_files_parse_exactly_as_the_manifest_says(corpus: tuple[Path, list]) -> None:
    """Clean shapes have no ERROR/MISSING node; the deliberate mis-parse shapes (empty Mock blocks, ...) do."""
    root, records = corpus
    parser = ts.Parser(ts.Language(tsp.language()))
    clean = broken = 0
    for r in records:
        tree = parser.parse(_decode((root / r.path).read_bytes()).encode("utf-8"))
        assert tree.root_node.has_error == (not r.expect_clean_parse), r.path
        clean += r.expect_clean_parse
        broken += not r.expect_clean_parse
    # Real estates: roughly a quarter of files have parse errors (GRAMMAR_NOTES.md); we keep a visible share.
    assert 0.05 * len(records) < broken < 0.4 * len(records)


def test_total_size_is_close_to_the_request(corpus: tuple[Path, list]) -> None:
    _, records = corpus
    total = sum(r.bytes for r in records)
    assert 0.85 * TINY_MB * 1048576 < total < 1.15 * TINY_MB * 1048576


def test_mail_dense_corpus_sends_mail_in_every_file(tmp_path: Path) -> None:
    records = gen.generate(tmp_path / "dense", gen.CorpusSpec(size_mb=0.3, files=60, seed=1, mail_dense=True))
    assert len(records) == 60
    assert all(r.sends_mail for r in records)
    assert not any(r.path.endswith(".psd1") for r in records)  # a .psd1 never runs, so it cannot send
    for r in records:
        assert MAIL_TOKENS.search(_decode((tmp_path / "dense" / r.path).read_bytes())), r.path


def test_cli_refuses_a_non_empty_output_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "keep.txt").write_text("x", encoding="utf-8")
    assert gen.main(["--out", str(tmp_path), "--size-mb", "0.1", "--files", "5"]) == 2
    assert f"{tmp_path}: output folder is not empty" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_ensure_corpus_reuses_a_matching_corpus_and_regenerates_on_spec_change(tmp_path: Path) -> None:
    out = tmp_path / "c"
    spec = gen.CorpusSpec(size_mb=0.2, files=30, seed=3)
    gen.ensure_corpus(out, spec)
    marker = out / "untouched-marker"
    marker.write_text("x", encoding="utf-8")
    gen.ensure_corpus(out, spec)
    assert marker.exists()
    records = gen.ensure_corpus(out, gen.CorpusSpec(size_mb=0.2, files=40, seed=3))
    assert not marker.exists() and len(records) == 40
