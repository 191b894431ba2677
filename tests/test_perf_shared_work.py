"""Issue 16: work the analysis shares or skips must give the answers the full work gives."""

from __future__ import annotations

from scanner.extract import RECOGNIZERS, may_find, recognizer_named
from scanner.extract.graph import find_graph
from scanner.script import Script


def test_a_file_without_the_graph_tokens_gets_no_graph_calls_from_the_rules_either() -> None:
    # The URI comes from elsewhere: no token, so the Graph recognizer is not run on the file, and
    # GRAPH003's own look at the file's Graph calls must agree with it.
    script = Script("$u = $cfg.Uri\nInvoke-RestMethod -Method Post -Uri $u -Headers $h -Body $b\n", "a.ps1")
    assert not may_find(recognizer_named("graph"), script)
    assert find_graph(script) == []
    with_token = Script("Invoke-RestMethod -Method Post -Uri 'https://graph.microsoft.com/v1.0/users/a@b.c/sendMail' -Headers $h -Body $b\n", "b.ps1")
    assert may_find(recognizer_named("graph"), with_token)
    assert len(find_graph(with_token)) == 1


def test_may_find_is_the_prefilter_contract_of_every_recognizer() -> None:
    for recognizer in RECOGNIZERS:
        for token in recognizer.tokens:
            assert may_find(recognizer, Script(f"# {token.upper()}\n"))
        assert not may_find(recognizer, Script("Write-Host 'nothing here'\n"))


def test_read_bytes_reads_whole_files_and_refuses_those_over_the_limit(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import os

    from scanner.files import read_bytes

    empty, small, big = tmp_path / "e.ps1", tmp_path / "s.ps1", tmp_path / "b.ps1"
    empty.write_bytes(b"")
    small.write_bytes(b"\xef\xbb\xbfSend-MailMessage\r\n")
    big.write_bytes(b"x" * 3_000_000)
    assert read_bytes(str(empty), 10)[0] == b""
    raw, st = read_bytes(str(small), st_size := small.stat().st_size)
    assert raw == small.read_bytes() and st.st_size == st_size
    assert read_bytes(str(small), st_size - 1)[0] is None
    assert read_bytes(str(big), 10**7)[0] == big.read_bytes()
    # A file that grew after its stat was taken is read to its end, as a buffered read() would.
    real_fstat = os.fstat

    class Shrunk:
        def __init__(self, st: os.stat_result) -> None:
            self._st = st
            self.st_size = 5

        def __getattr__(self, name: str) -> object:
            return getattr(self._st, name)

    monkeypatch.setattr(os, "fstat", lambda fd: Shrunk(real_fstat(fd)))
    assert read_bytes(str(big), 10**7)[0] == big.read_bytes()
