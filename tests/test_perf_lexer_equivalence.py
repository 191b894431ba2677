"""The faster lexer and Structure (issue 16) answer exactly what the code they replaced answered.

The reference below is the code as it was on main 47baac8, copied verbatim (only renamed ref_*):
mask with its token regex, skip_balanced and the string and comment skippers it calls, the argument
lexer (lex_arguments, scan_value, scan_primary, _scan_word), and the Structure pieces (blocks, param
blocks, line starts, balanced_end). Each input is compared on the whole Masked (code, strings,
comments, error offset and message); on blocks, functions, param blocks and line starts; on
skip_string from every quote; on lex_arguments and scan_value (result or LexError) from every offset
of a short text and after blanks in a long one; and on balanced_end and skip_balanced from every
bracket. Inputs: generated scripts built from the tokens that matter to the lexer (smart quotes,
doubled quotes, escapes and continuations, here-strings, ${braced names}, $( ) in strings,
unterminated strings and comments, <# #>, # inside words), mutated fixtures, the fixtures and
examples, and every script of the public corpus when it is present.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.files import DecodeError, decode
from scanner import lexer
from scanner.lexer import CommandArguments, Element, ElementKind, LexError, Masked, mask, skip_balanced
from scanner.structure import Block, Structure

REPO = Path(__file__).resolve().parents[1]
PUBLIC = Path("/work/corpus/public")

# --------------------------------------------------------------------------- reference (main 47baac8)

SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"
DOUBLE_QUOTES = '"\u201c\u201d\u201e'
DASHES = "-\u2013\u2014\u2015"
_OPENERS = {"(": ")", "{": "}", "[": "]"}
_COMMENT_AFTER = set(" \t\r\n;(){}|,=&\ufeff")
_CODE_SPECIAL = re.compile(r"[#<'\"\u2018-\u201e`(){}\[\]@$]")
_DQ_SPECIAL = re.compile(r'[`"\u201c\u201d\u201e$]')
_LINE_END = re.compile(r"[\r\n]")
_SQ_CLOSE = re.compile("[" + SINGLE_QUOTES + "]")


def _comment_starts(text: str, i: int) -> bool:
    return i == 0 or text[i - 1] in _COMMENT_AFTER


def skip_line_comment(text: str, i: int) -> int:
    m = _LINE_END.search(text, i)
    return m.start() if m else len(text)


def skip_block_comment(text: str, i: int) -> int:
    end = text.find("#>", i + 2)
    return len(text) if end < 0 else end + 2


def skip_single_quoted(text: str, i: int) -> int:
    j = i + 1
    n = len(text)
    while True:
        m = _SQ_CLOSE.search(text, j)
        if m is None:
            raise LexError("unterminated string", i)
        j = m.start()
        if j + 1 < n and text[j + 1] in SINGLE_QUOTES:
            j += 2
            continue
        return j + 1


def skip_double_quoted(text: str, i: int) -> int:
    j = i + 1
    n = len(text)
    while True:
        m = _DQ_SPECIAL.search(text, j)
        if m is None:
            raise LexError("unterminated string", i)
        j = m.start()
        c = text[j]
        if c == "`":
            j += 2
        elif c == "$":
            if j + 1 < n and text[j + 1] == "(":
                j = ref_skip_balanced(text, j + 1)
            elif j + 1 < n and text[j + 1] == "{":
                end = text.find("}", j + 2)
                j = n if end < 0 else end + 1
            else:
                j += 1
        else:
            if j + 1 < n and text[j + 1] in DOUBLE_QUOTES:
                j += 2
                continue
            return j + 1


def _here_string_end(text: str, i: int, quote: str) -> Optional[int]:
    m = re.compile(r"[ \t]*\r?\n").match(text, i + 2)
    if m is None:
        return None
    closer = re.compile(r"(?:\r?\n)[ \t]*" + ("['\u2018\u2019]@" if quote == "'" else '["\u201c\u201d]@'))
    c = closer.search(text, m.start())
    if c is None:
        raise LexError("unterminated here-string", i)
    return c.end()


def skip_string(text: str, i: int) -> int:
    c = text[i]
    if c == "@":
        end = _here_string_end(text, i, "'" if text[i + 1] in SINGLE_QUOTES else '"')
        if end is None:
            raise LexError("not a here-string", i)
        return end
    if c in SINGLE_QUOTES:
        return skip_single_quoted(text, i)
    return skip_double_quoted(text, i)


def ref_skip_balanced(text: str, i: int) -> int:
    closers = [_OPENERS[text[i]]]
    j = i + 1
    n = len(text)
    while closers:
        m = _CODE_SPECIAL.search(text, j)
        if m is None:
            raise LexError(f"unclosed '{text[i]}'", i)
        j = m.start()
        c = text[j]
        if c in "({[":
            closers.append(_OPENERS[c])
            j += 1
        elif c in ")}]":
            if c == closers[-1]:
                closers.pop()
            j += 1
        elif c == "#":
            j = skip_line_comment(text, j) if _comment_starts(text, j) else j + 1
        elif c == "<":
            j = skip_block_comment(text, j) if text.startswith("<#", j) else j + 1
        elif c == "`":
            j += 2
        elif c == "@":
            if j + 1 < n and (text[j + 1] in SINGLE_QUOTES or text[j + 1] in DOUBLE_QUOTES):
                end = _here_string_end(text, j, "'" if text[j + 1] in SINGLE_QUOTES else '"')
                j = end if end is not None else j + 1
            else:
                j += 1
        elif c == "$":
            if j + 1 < n and text[j + 1] == "{":
                end = text.find("}", j + 2)
                j = n if end < 0 else end + 1
            else:
                j += 1
        else:  # quotes
            j = skip_string(text, j)
    return j


_MASK_SPECIAL = re.compile(
    r"(?P<string>['\u2018-\u201b](?:[^'\u2018-\u201b]|['\u2018-\u201b]{2})*['\u2018-\u201b]"
    r"|[\"\u201c-\u201e](?:[^\"\u201c-\u201e`$]|`.)*[\"\u201c-\u201e])"
    r"|(?P<block><#.*?#>)"
    r"|<#|#|@['\"\u2018\u2019\u201c\u201d]|['\"\u2018-\u201e]|`.|\$\{",
    re.S,
)
_NOT_NEWLINE = re.compile(r"[^\r\n]")


def _blank(segment: str) -> str:
    if "\n" not in segment and "\r" not in segment:
        return " " * len(segment)
    return _NOT_NEWLINE.sub(" ", segment)


def ref_mask(text: str) -> Masked:
    parts: list[str] = []
    strings: list[tuple[int, int]] = []
    comments: list[tuple[int, int]] = []
    error: Optional[LexError] = None
    i = 0
    n = len(text)
    while i < n:
        m = _MASK_SPECIAL.search(text, i)
        if m is None:
            break
        j = m.start()
        tok = m.group()
        end: Optional[int] = None
        kind = ""
        complete = m.lastgroup
        try:
            if complete == "string":
                end, kind = m.end(), "string"
            elif complete == "block":
                end, kind = m.end(), "comment"
            elif tok == "<#":
                end, kind = skip_block_comment(text, j), "comment"
            elif tok == "#":
                if _comment_starts(text, j):
                    end, kind = skip_line_comment(text, j), "comment"
            elif tok.startswith("@"):
                end = _here_string_end(text, j, "'" if tok[1] in SINGLE_QUOTES else '"')
                kind = "string" if end is not None else ""
            elif tok.startswith("`") or tok == "${":
                end = j + len(tok) if tok.startswith("`") else text.find("}", j) + 1 or n
                kind = "skip"
            else:
                end, kind = skip_string(text, j), "string"
        except LexError as exc:
            error = exc
            end, kind = n, "string" if tok != "<#" else "comment"
        if end is None or not kind:
            parts.append(text[i : j + 1])
            i = j + 1
            continue
        parts.append(text[i:j])
        if kind == "skip":
            parts.append(text[j:end])
        else:
            (strings if kind == "string" else comments).append((j, end))
            parts.append(_blank(text[j:end]))
        i = end
    parts.append(text[i:])
    return Masked("".join(parts), strings, comments, error)


_QUOTES = tuple(SINGLE_QUOTES + DOUBLE_QUOTES)
_BRACES = re.compile(r"[{}]")
_PARAM_BLOCK = re.compile(r"\bparam\s*\(")
_LINE_START = re.compile(r"^", re.M)


def ref_blocks(code: str, function_names: dict[int, str]) -> list[Block]:
    spans: list[tuple[int, int]] = []
    stack: list[int] = []
    for m in _BRACES.finditer(code):
        i = m.start()
        if code[i] == "{":
            if i > 0 and code[i - 1] == "$":
                continue
            stack.append(i)
        elif stack:
            spans.append((stack.pop(), i + 1))
    spans.sort()
    blocks: list[Block] = []
    open_blocks: list[int] = []
    for start, end in spans:
        while open_blocks and blocks[open_blocks[-1]].end <= start:
            open_blocks.pop()
        parent = open_blocks[-1] if open_blocks else -1
        blocks.append(Block(start, end, parent, function_names.get(start, "")))
        open_blocks.append(len(blocks) - 1)
    return blocks


def ref_balanced_end(text: str, opener: int) -> int:
    try:
        return ref_skip_balanced(text, opener)
    except LexError:
        return -1


def ref_param_blocks(text: str, code_lower: str) -> list[tuple[int, int]]:
    spans = []
    for m in _PARAM_BLOCK.finditer(code_lower):
        end = ref_balanced_end(text, m.end() - 1)
        if end >= 0:
            spans.append((m.start(), end))
    return spans


def ref_line_starts(text: str) -> list[int]:
    return [m.start() for m in _LINE_START.finditer(text)]


# --------------------------------------------------------------------------- reference: command arguments

_PARAM = re.compile(r"[" + DASHES + r"](?:[^\W\d]|\?)")
_PARAM_END = re.compile(r"[\s{}();,|&.\[:" + SINGLE_QUOTES + DOUBLE_QUOTES + r"]|`\r?\n|$")
_REDIRECT = re.compile(r"(?:[1-6*]>&[12]|[1-6*]?>>?)")
_WS = re.compile(r"(?:[ \t\f\v\u00a0\ufeff]|`\r?\n|`[ \t\f\v\u00a0])*")
_WS_NL = re.compile(r"(?:\s|`\r?\n|`[ \t\f\v\u00a0])*")
_BARE_STOP = re.compile(r"[\s,;|(){}&]|`\r?\n|$")
_VAR = re.compile(r"\$(?:\{[^}]*\}|[\w:?^$]+|[\w]*)")
_MEMBER_NAME = re.compile(r"\w+")
_VARIABLE_ENDS = re.compile(r"[\s,;|&(){}=.\[>]|`\s|$")


def ref_skip_ws(text: str, i: int, newlines: bool = False) -> int:
    m = (_WS_NL if newlines else _WS).match(text, i)
    return m.end() if m else i


def ref__scan_word(text: str, i: int) -> int:
    """Offset past a bare (generic) word starting at ``i``; quotes and escapes inside it belong to it: a"b c"d."""
    n = len(text)
    m = _BARE_STOP.search(text, i)
    j = m.start() if m else n
    k = i
    while k < j:
        ch = text[k]
        if ch in SINGLE_QUOTES or ch in DOUBLE_QUOTES:
            k = skip_string(text, k)
            m = _BARE_STOP.search(text, k)
            j = max(j, m.start() if m else n)
        elif ch == "`":
            k += 2
            m = _BARE_STOP.search(text, k)
            j = max(j, m.start() if m else n)
        else:
            k += 1
    return max(j, i + 1)


def ref__member_end(text: str, j: int) -> Optional[int]:
    """Offset past a member access at ``j`` (`.name`, `::name`, `.'name'`, `.$name`, `.(expr)`), or None."""
    k = j + (2 if text.startswith("::", j) else 1)
    if k >= len(text):
        return None
    c = text[k]
    if c in SINGLE_QUOTES or c in DOUBLE_QUOTES:
        return skip_string(text, k)
    if c == "(":
        return ref_skip_balanced(text, k)
    if c == "$":
        m = _VAR.match(text, k)
        return m.end() if m and m.end() > k + 1 else None
    m = _MEMBER_NAME.match(text, k)
    return m.end() if m else None


def ref_scan_primary(text: str, i: int) -> int:
    """Offset past one argument-mode primary value starting at ``i`` (a word, string, variable, group …).

    As PowerShell reads arguments: a variable glued to more text is one expandable word (`$a-b`,
    `$a+$b`); `[int]5` and `[Math]::PI` are words, not expressions; member access, indexing and
    invocation glued to a variable, string or group belong to it (`$a.b[0].c(1)`, `"a".ToUpper()`,
    `$x.'p'`, `@{}.Count`), and what follows them is the next argument (`$a.b-c` is `$a.b` then `-c`).
    """
    n = len(text)
    c = text[i]
    if c in SINGLE_QUOTES or c in DOUBLE_QUOTES:
        j = skip_string(text, i)
    elif c == "@" and i + 1 < n and (text[i + 1] in SINGLE_QUOTES or text[i + 1] in DOUBLE_QUOTES):
        j = skip_string(text, i)
    elif c == "@" and i + 1 < n and text[i + 1] in "({":
        j = ref_skip_balanced(text, i + 1)
    elif c == "$" and i + 1 < n and text[i + 1] == "(":
        j = ref_skip_balanced(text, i + 1)
    elif c in "({":
        j = ref_skip_balanced(text, i)
    elif c == "$":
        m = _VAR.match(text, i)
        j = m.end() if m and m.end() > i + 1 else i + 1
        if j < n and not _VARIABLE_ENDS.match(text, j):
            return ref__scan_word(text, i)
    else:
        return ref__scan_word(text, i)
    while j < n:
        ch = text[j]
        if ch == "[":
            j = ref_skip_balanced(text, j)
        elif ch == "(" and (text[j - 1].isalnum() or text[j - 1] == "_"):
            j = ref_skip_balanced(text, j)
        elif ch == "." or text.startswith("::", j):
            end = ref__member_end(text, j)
            if end is None:
                break
            j = end
        else:
            break
    return j


def ref_scan_value(text: str, i: int) -> Element:
    """One argument value starting at ``i``; commas make it an array (a newline may follow a comma)."""
    items: list[Element] = []
    start = i
    while True:
        end = ref_scan_primary(text, i)
        items.append(Element(ElementKind.VALUE, text[i:end], i, end))
        k = ref_skip_ws(text, end)
        if k < len(text) and text[k] == ",":
            k = ref_skip_ws(text, k + 1, newlines=True)
            if k >= len(text) or text[k] in ";|)}":
                break
            i = k
            continue
        break
    last = items[-1].end
    if len(items) == 1:
        return items[0]
    return Element(ElementKind.VALUE, text[start:last], start, last, items=items)


def ref_lex_arguments(text: str, i: int) -> CommandArguments:
    """Read the arguments of a command whose name ends at ``i``, up to the end of its statement."""
    elements: list[Element] = []
    notes: list[str] = []
    n = len(text)
    while True:
        i = ref_skip_ws(text, i)
        if i >= n:
            return CommandArguments(elements, n, "eof", notes)
        c = text[i]
        if c in "\r\n":
            return CommandArguments(elements, i, "newline", notes)
        if c == "#" and _comment_starts(text, i):
            return CommandArguments(elements, i, "newline", notes)
        if text.startswith("<#", i):
            i = skip_block_comment(text, i)
            continue
        if text.startswith("&&", i) or text.startswith("||", i):
            return CommandArguments(elements, i, text[i : i + 2], notes)
        if c in ";|)}":
            return CommandArguments(elements, i, c, notes)
        if text.startswith("--%", i):
            m = _LINE_END.search(text, i)
            end = m.start() if m else n
            elements.append(Element(ElementKind.VALUE, text[i:end], i, end))
            notes.append("stop-parsing token --% passes the rest of the line verbatim")
            return CommandArguments(elements, end, "newline", notes)
        m = _REDIRECT.match(text, i)
        if m and c in "12345*6><":
            j = ref_skip_ws(text, m.end())
            if ">&" not in m.group() and j < n and text[j] not in "\r\n;|":
                j = ref_scan_primary(text, j)
            elements.append(Element(ElementKind.REDIRECTION, text[i:j], i, j))
            i = j
            continue
        if c in DASHES and _PARAM.match(text, i):
            stop = _PARAM_END.search(text, i + 2)
            name_end = stop.start() if stop else n
            colon = name_end < n and text[name_end] == ":"
            if name_end >= n or text[name_end] not in SINGLE_QUOTES + DOUBLE_QUOTES:
                param = Element(ElementKind.PARAMETER, text[i:name_end], i, name_end + (1 if colon else 0))
                if colon:  # colon-bound: the value follows the colon (spaces allowed)
                    j = ref_skip_ws(text, param.end)
                    if j < n and text[j] not in "\r\n;|)}":
                        param.value = ref_scan_value(text, j)
                        param.end = param.value.end
                elements.append(param)
                i = param.end
                continue
        if c == "@" and i + 1 < n and (text[i + 1].isalnum() or text[i + 1] == "_"):
            m2 = re.compile(r"@[\w:]+").match(text, i)
            assert m2 is not None
            elements.append(Element(ElementKind.SPLAT, m2.group(), i, m2.end()))
            i = m2.end()
            continue
        try:
            value = ref_scan_value(text, i)
        except LexError as exc:
            notes.append(f"{exc} at offset {exc.offset}")
            return CommandArguments(elements, n, "eof", notes)
        elements.append(value)
        i = value.end


# --------------------------------------------------------------------------- comparison


def _masked_key(masked: Masked) -> tuple[object, ...]:
    error = masked.error
    return (
        masked.code,
        masked.strings,
        masked.comments,
        None if error is None else (type(error), str(error), error.offset),
    )


def _answer(structure: Structure, opener: int) -> int:
    try:
        return structure.balanced_end(opener)
    except LexError as exc:
        assert str(exc) == f"unclosed '{structure.text[opener]}'" and exc.offset == opener
        return -1


def _outcome(call, *args):  # type: ignore[no-untyped-def]
    """What a call returns, or the LexError it raises (message and offset)."""
    try:
        return call(*args)
    except LexError as exc:
        return ("LexError", str(exc), exc.offset)


def assert_same(text: str, every_bracket: bool = True) -> None:
    """New mask and Structure answer what the reference answers for ``text``."""
    old = ref_mask(text)
    new = mask(text)
    assert _masked_key(new) == _masked_key(old), text[:200]
    structure = Structure(text)
    function_names = {f.body.start: f.name for f in structure.functions}
    assert structure.blocks == ref_blocks(old.code, function_names)
    assert structure.param_blocks == ref_param_blocks(text, structure.code_lower)
    assert structure.line_starts == ref_line_starts(text)
    for f in structure.functions:  # function bodies end where skip_balanced says (or at the end of text)
        end = ref_balanced_end(text, f.body.start)
        assert f.body.end == (end if end >= 0 else len(text))
    for i, c in enumerate(text):
        if c in SINGLE_QUOTES or c in DOUBLE_QUOTES or (c == "@" and text[i + 1 : i + 2] in _QUOTES):
            assert _outcome(lexer.skip_string, text, i) == _outcome(skip_string, text, i), (text[max(0, i - 40) : i + 40], i)
    # command arguments and values, read from every offset of a short text, after blanks in a long one
    step = 1 if len(text) < 600 else (3 if every_bracket else 101)
    for i in range(0, len(text), step):
        if step > 1 and not text[i - 1 : i].isspace():
            continue
        assert _outcome(lexer.lex_arguments, text, i) == _outcome(ref_lex_arguments, text, i), (text[max(0, i - 40) : i + 40], i)
        if not text[i].isspace():
            assert _outcome(lexer.scan_value, text, i) == _outcome(ref_scan_value, text, i), (text[max(0, i - 40) : i + 40], i)
    if every_bracket:
        for i, c in enumerate(text):
            if c in "({[":
                assert _answer(structure, i) == ref_balanced_end(text, i), (text[max(0, i - 40) : i + 40], i)
                assert _outcome(skip_balanced, text, i) == _outcome(ref_skip_balanced, text, i), (text[max(0, i - 40) : i + 40], i)


# Fragments that steer the lexer: every quote kind (smart ones too), doubled quotes, escapes and line
# continuations, here-string openers and closers (also after spaces), ${braced names}, $( ) and
# ${} inside strings, comment starts inside and outside words, block comments, brackets.
TOKENS = [
    "'", '"', "''", '""', "\u2018", "\u2019", "\u201a", "\u201b", "\u201c", "\u201d", "\u201e",
    "`", "``", "`'", '`"', "`#", "`$", "` ", "`\n", "`\r\n", "`(", "`{",
    "@'\n", "\n'@", '@"\n', '\n"@', "@'  \n", "\n  '@", "@\u2018\n", "\n\u2019@", "@\u201c\r\n", "\r\n\u201d@",
    "@\u201a\n", "@\u201e\n", "@'x", '@"', "@", "@{", "@(",
    "${a}", "${a'b}", "${", "$(", "$", "$x", "$a(", "}",
    "#", " #", "a#b", ";#", "(#", "<#", "#>", "<", "<##>", "\ufeff",
    "(", ")", "{", "}", "[", "]", ",", ";", "|", "=", "&",
    " ", "\t", "\n", "\r\n", "\r", "x", "ab", "param(", "function f ", "function g() {", "é",
]


@st.composite
def lexer_texts(draw: st.DrawFn) -> str:
    return "".join(draw(st.lists(st.sampled_from(TOKENS), max_size=60)))


def _scripts(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in (".ps1", ".psm1", ".psd1") and p.is_file())


def _decoded(paths: list[Path]) -> list[str]:
    texts = []
    for path in paths:
        try:
            texts.append(decode(path.read_bytes())[0])
        except (DecodeError, OSError):
            continue
    return texts


FIXTURE_TEXTS = _decoded(_scripts(REPO / "tests" / "fixtures") + _scripts(REPO / "examples"))


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lexer_texts())
def test_generated_texts(text: str) -> None:
    assert_same(text)


@st.composite
def mutated_fixture(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(FIXTURE_TEXTS))
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:pos] + draw(st.sampled_from(TOKENS)) + text[pos:]
        else:
            text = text[:pos] + text[pos + draw(st.integers(1, 30)) :]
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_fixture())
def test_mutated_fixtures(text: str) -> None:
    assert_same(text)


@pytest.mark.parametrize(
    "text",
    [
        "'a'' b",  # the old single-quote pattern backtracks to 'a' and the rest is unterminated
        "'a'' b '' c",
        '"a""b" "$x""y" "a""',
        "( @\u201a\n' )\n\u2019@",  # a here-string only skip_balanced opens: the mask closes the ( here
        "{ ( } ) } ] {",
        "${a(b'c} ( 'x' )",
        "#c\n(#x)\n$a#b (1)",
        "<# ( unclosed",
        '"$( ( "',
        "",
    ],
)
def test_edge_cases(text: str) -> None:
    assert_same(text)


def test_fixtures_and_examples() -> None:
    assert len(FIXTURE_TEXTS) > 100
    for text in FIXTURE_TEXTS:
        assert_same(text)


@pytest.mark.skipif(not (PUBLIC / "READY").exists(), reason="public corpus not present (bench/public_corpus.py)")
def test_public_corpus() -> None:
    texts = _decoded(_scripts(PUBLIC))
    assert texts
    for number, text in enumerate(texts):
        # every bracket of one file in twenty (skip_balanced from each bracket is quadratic), the rest whole
        assert_same(text, every_bracket=number % 20 == 0)
