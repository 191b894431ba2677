"""Issue 16: the resolver's and the secrets finder's patterns were rewritten for speed, not meaning.

A pattern that starts with a lookbehind is tried at every offset of the file; one that starts
with the literal the lookbehind guards (`\\$(?<![\\w$:]\\$)` for `(?<![\\w$:])\\$`) is searched for
that literal at C speed. Each rewritten pattern must find exactly the matches its original form
finds, on any text and from any start and end offset (lookbehinds see before ``pos``).
"""

from __future__ import annotations

import bisect
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from scanner import secrets
from scanner.analysis import resolve

# The forms each pattern had before issue 16, kept here as the reference.
ORIGINAL_VAR = r"(?<![\w$:])\$(?:script:|global:|local:|private:)?{name}(?![\w:])"
ORIGINAL = {
    "_SECRET_PARAMETER": r"(?i)(?<![\w])-(Password|ClientSecret|Secret|AccessToken|Token|ApiKey)(?::)?[ \t]+",
    "_ASSIGNMENT_ANY": r"(?i)(?<![\w$:`])\$(?:script:|global:|local:|private:)?(\w+)((?:\.\w+|\[[^\]\r\n]{0,80}\])*)[ \t]*(\+?=)(?!=)",
    "_SECRET_PARAM_ANY": r"(?i)(?<![\w-])[-\u2013\u2014](\w*(?:password|passwd|secret|token|apikey|passphrase))(:?)(?=[\s:]|$)",
}

# Text made of the characters these patterns care about, so that matches and near misses are common.
_PIECES = st.sampled_from(
    ["$", "$", "-", "\u2013", ":", "`", "=", "==", "+=", " ", "\t", "\n", "[", "]", ".", "x", "X", "_", "1", "é",
     "\u212a", "script:", "Global:", "private:", "using:", "env:", "smtp", "Smtp", "server", "Password", "secret",
     "token", "ApiKey", "ClientSecret", "AccessToken", "passphrase", "pw", "'", '"', "#", "a-b"]
)
TEXTS = st.lists(_PIECES, max_size=40).map("".join)


def _found(pattern: re.Pattern[str], text: str, pos: int, endpos: int) -> list[tuple[tuple[int, int], tuple[object, ...]]]:
    return [(m.span(), m.groups()) for m in pattern.finditer(text, pos, endpos)]


@settings(max_examples=400, deadline=None)
@given(TEXTS, st.integers(0, 60), st.integers(0, 80), st.sampled_from(["smtpServer", "x", "script", "pw", "Kelvin", "a_1"]))
def test_variable_pattern_finds_what_the_lookbehind_first_form_found(text: str, pos: int, endpos: int, name: str) -> None:
    text = text.replace("smtp", name)
    new = re.compile(r"(?i)" + resolve._var_pattern(name) + r"[ \t]*(\+?=)(?!=)")
    old = re.compile(r"(?i)" + ORIGINAL_VAR.format(name=re.escape(name)) + r"[ \t]*(\+?=)(?!=)")
    assert _found(new, text, pos, endpos) == _found(old, text, pos, endpos)
    assert _found(new, text, 0, len(text)) == _found(old, text, 0, len(text))


@settings(max_examples=400, deadline=None)
@given(TEXTS, st.integers(0, 60), st.integers(0, 80), st.sampled_from(sorted(ORIGINAL)))
def test_secret_patterns_find_what_the_lookbehind_first_forms_found(text: str, pos: int, endpos: int, which: str) -> None:
    new = getattr(secrets, which)
    old = re.compile(ORIGINAL[which])
    assert new.pattern != old.pattern
    assert _found(new, text, pos, endpos) == _found(old, text, pos, endpos)
    assert _found(new, text, 0, len(text)) == _found(old, text, 0, len(text))


def test_rewritten_patterns_keep_the_edge_cases() -> None:
    """Named cases: a `$` at offset 0, after a word, after `$`, after `:`, after a backtick."""
    var = re.compile(r"(?i)" + resolve._var_pattern("x") + r"[ \t]*(\+?=)(?!=)")
    assert [m.start() for m in var.finditer("$x = 1; a$x = 2; $$x = 3; :$x = 4; ($script:X += 5)")] == [0, 36]
    assert [m.start() for m in var.finditer("$x = 1", 1)] == []
    any_assign = secrets._ASSIGNMENT_ANY
    assert [m.group(1) for m in any_assign.finditer("$a = 1\n`$b = 2\n$c.d['e'] = 3")] == ["a", "c"]
    param = secrets._SECRET_PARAMETER
    assert [m.group(1) for m in param.finditer("-Password 'x' a-Token 'y'\n-token 'z'")] == ["Password", "token"]
    assert [m.group(1) for m in secrets._SECRET_PARAM_ANY.finditer("\u2013SmtpPassword x -x-token y")] == ["SmtpPassword"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["password", "pwd", "token", "x", "\n", "é", "\U0001f600", "İ", "key-", "://", "sg.", "bearer ", "q~", " "]), max_size=50).map("".join))
def test_word_hits_match_the_python_regex_on_any_text(low: str) -> None:
    """`_Hits` runs re2 on non-ASCII text too (each non-ASCII character encoded as '?'): the same
    words at the same offsets, and the same lines for every group of words, as Python's re."""
    starts = [0] + [i + 1 for i, c in enumerate(low) if c == "\n"]
    hits = secrets._Hits(low, starts)
    assert hits.found == [(m.start(), m.group()) for m in secrets._WORDS_STR.finditer(low)]
    for words in (secrets._TEXT_SHAPE_WORDS, secrets._PREFIXED_KEY_WORDS, secrets._HASH_KEY_WORDS, ("pwd",), ("nothing",)):
        wanted = set(words)
        lines = sorted({bisect.bisect_right(starts, i) - 1 for i, word in hits.found if word in wanted})
        assert hits.lines(words) == [(starts[n], starts[n + 1] if n + 1 < len(starts) else len(low)) for n in lines]


_SECRET_TEXT = st.lists(
    st.sampled_from(["pass", "pw", "pwd", "password", "passphrase", "secret", "token", "apikey", "api_key", "com",
                     " ", "\t", "=", "==", "'", '"', "\n", "\r\n", "\r", "$", "x", "_", "é", "\U0001f600", "İ"]),
    max_size=40,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(_SECRET_TEXT)
def test_secret_words_are_the_matches_of_the_whole_text(low: str) -> None:
    """The named-assignment finder looks only at lines holding a first word: the same matches as
    one search over the whole (lower-cased) code."""
    assert [(m.span(), m.group()) for m in secrets._secret_words(low)] == [(m.span(), m.group()) for m in secrets._SECRET_WORD.finditer(low)]


def _split_addresses_reference(text: str) -> list[str]:
    """split_addresses as it was before issue 16 (the character loop for every text)."""
    parts: list[str] = []
    current: list[str] = []
    in_quotes = False
    in_angle = False
    for char in text:
        if char == '"' and not in_angle:
            in_quotes = not in_quotes
        elif char == "<" and not in_quotes:
            in_angle = True
        elif char == ">" and not in_quotes:
            in_angle = False
        if char in ",;" and not in_quotes and not in_angle:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["a@x.com", " ", ",", ";", '"', "<", ">", "Name", "\t", "\n"]), max_size=20).map("".join))
def test_split_addresses_fast_path_splits_as_before(text: str) -> None:
    from scanner.migrate.mapping import split_addresses

    assert split_addresses(text) == _split_addresses_reference(text)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from([". ", ".", " ", "\t", "\n", ";", "{", "x", "$a", ".\\b.ps1", "\r\n"]), max_size=30).map("".join), st.integers(-2, 70))
def test_dot_source_statements_found_once_are_those_found_up_to_the_offset(code: str, before: int) -> None:
    """dot_sourced keeps the statements of the whole code and stops at the first that does not end
    before ``before``: the same statements as searching the code up to ``before``."""
    from scanner.analysis.configreads import _DOT_SOURCE

    whole = list(_DOT_SOURCE.finditer(code))
    kept = []
    for m in whole:
        if m.end() >= before:
            break
        kept.append(m.span())
    assert kept == [m.span() for m in _DOT_SOURCE.finditer(code, 0, before)]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["a", " ", "'", "\u2018", "\u2019", "\u201a", "\u201b", '"', "\u201c", "$", "`", "\n"]), max_size=20).map("".join))
def test_ps_quote_doubles_every_single_quote_as_before(text: str) -> None:
    from scanner.migrate.mapping import ps_quote

    assert ps_quote(text) == "'" + re.sub(r"(['\u2018\u2019\u201a\u201b])", r"\1\1", text) + "'"
