"""Structure.balanced_end (a bracket's match, answered once per script) answers what
lexer.skip_balanced answers for any bracket of the text (code, strings, comments, escapes),
asked in any order and more than once."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.files import DecodeError, decode
from scanner.lexer import LexError, skip_balanced
from scanner.structure import Structure

REPO = Path(__file__).resolve().parents[1]

TRICKY = [
    "function f { if ($a) { 'x}' } else { \"}$(Get-Date)}\" } }\n",
    "$h = @{ a = '{'; b = ${weird}var }; & { param($x) $x[0] } # { not closed\n",
    "Write-Host `{ not a block `}\n$x = (1, 2,\n  3)\n",
    "<# { ( [ #> function g([string]$s = ')') { $s }\n",
    "$s = @\"\n { ( [\n\"@\nfunction h { $a = [int[]](1,2) }\n",
    "function broken { if ($x) { 'unterminated }\n",
    "$a = ( [ ) ]\n$b = { ) }\n",
]


def _texts() -> list[str]:
    texts = list(TRICKY)
    for path in sorted([*(REPO / "tests" / "fixtures").rglob("*.ps1"), *(REPO / "examples").rglob("*.ps1")]):
        try:
            texts.append(decode(path.read_bytes())[0])
        except DecodeError:
            continue
    return texts


def _escaped_or_variable(code: str, text: str, i: int) -> bool:
    """`{ (an escaped character) and ${name}: no caller asks for their match; the lexer skips them."""
    return i > 0 and code[i - 1] in "`$" and code[i] == text[i]


def _answer(call, *args):  # type: ignore[no-untyped-def]
    try:
        return call(*args)
    except LexError:
        return "unclosed"


@pytest.mark.parametrize("index", range(len(TRICKY)))
def test_tricky_texts(index: int) -> None:
    text = TRICKY[index]
    structure = Structure(text)
    code = structure.code
    for i, c in enumerate(text):
        if c in "({[" and not _escaped_or_variable(code, text, i):
            assert _answer(structure.balanced_end, i) == _answer(skip_balanced, text, i), (text, i)
            assert _answer(structure.balanced_end, i) == _answer(skip_balanced, text, i), (text, i)  # memoized


def test_every_bracket_of_the_fixtures_and_examples() -> None:
    checked = 0
    for text in _texts():
        structure = Structure(text)
        code = structure.code
        for i, c in enumerate(text):
            if c in "({[" and not _escaped_or_variable(code, text, i):
                assert _answer(structure.balanced_end, i) == _answer(skip_balanced, text, i), (text[max(0, i - 40) : i + 40], i)
                checked += 1
    assert checked > 500
