"""Issue 16: work the analysis shares or skips must give the answers the full work gives."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.extract import RECOGNIZERS, may_find, recognizer_named
from scanner.extract.generated import _TEXT_SEND, _strings_with_send
from scanner.extract.graph import find_graph
from scanner.script import Script

_PIECES = ["Send-MailMessage", ".Send(", ".Send (", "'", '"', "''", "@'\n", "\n'@", "$(", ")", "#", "<#", "#>", "x", " ", "\n", "`", "iex ", "-", "send-mailmessage-x"]


def _reference(text: str, strings: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The search this replaced: every string of the file searched on its own."""
    return [(a, b) for a, b in strings if _TEXT_SEND.search(text, a, b)]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=40))
def test_the_strings_holding_a_send_are_those_a_search_of_each_string_finds(pieces: list[str]) -> None:
    text = "".join(pieces)
    strings = Script(text).structure.masked.strings
    assert _strings_with_send(text, strings) == _reference(text, strings)


def test_a_send_in_code_next_to_strings_is_not_placed_in_them() -> None:
    text = "$a = 'x'; Send-MailMessage -To 'b'\n$s = 'Send-MailMessage -To c'\niex $s\n"
    strings = Script(text).structure.masked.strings
    assert _strings_with_send(text, strings) == [strings[2]]


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
