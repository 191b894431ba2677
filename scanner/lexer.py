"""A small PowerShell lexer over decoded text: comments, strings, balanced groups and command arguments.

tree-sitter-powershell errors on about 28% of real files and, inside an ERROR region, re-lexes
tokens wrongly (``-From`` becomes ``-F`` + ``rom``). Binding must not depend on that, so the
argument tokens of a command are read here, the way PowerShell's own tokenizer reads them in
argument mode, straight from the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Optional

SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"
DOUBLE_QUOTES = '"\u201c\u201d\u201e'
DASHES = "-\u2013\u2014\u2015"
_OPENERS = {"(": ")", "{": "}", "[": "]"}

# Characters after which a `#` starts a comment (PowerShell only starts one at the beginning of a token).
_COMMENT_AFTER = set(" \t\r\n;(){}|,=&\ufeff")

_DQ_SPECIAL = re.compile(r'[`"\u201c\u201d\u201e$]')
_LINE_END = re.compile(r"[\r\n]")


class LexError(ValueError):
    """Unterminated construct; carries the offset where it started."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


def _comment_starts(text: str, i: int) -> bool:
    return i == 0 or text[i - 1] in _COMMENT_AFTER


def skip_line_comment(text: str, i: int) -> int:
    """Offset of the line end after a `#` comment starting at ``i``."""
    m = _LINE_END.search(text, i)
    return m.start() if m else len(text)


def skip_block_comment(text: str, i: int) -> int:
    """Offset just past the `#>` closing the block comment at ``i``; end of text if unterminated."""
    end = text.find("#>", i + 2)
    return len(text) if end < 0 else end + 2


# The rest of a single-quoted string: '' pairs inside, then the first quote not followed by another
# (a pair's first quote is followed by a quote, so backtracking cannot end the string there either).
_SQ_REST = re.compile(
    "[^" + SINGLE_QUOTES + "]*(?:[" + SINGLE_QUOTES + "]{2}[^" + SINGLE_QUOTES + "]*)*[" + SINGLE_QUOTES
    + "](?![" + SINGLE_QUOTES + "])"
)
# The rest of an expandable string without $( ): `x escapes, ${name}, $ not before ( or {, "" pairs,
# then a quote not followed by another; each character has one reading, so a match ends where the
# loop in skip_double_quoted would, and anything else ($( ), unterminated) is left to that loop.
_DQ_REST = re.compile(
    r"[^" + DOUBLE_QUOTES + r"`$]*(?:(?:`.|\$\{[^}]*\}|\$(?![({])|[" + DOUBLE_QUOTES + r"]{2})[^" + DOUBLE_QUOTES
    + r"`$]*)*[" + DOUBLE_QUOTES + r"](?![" + DOUBLE_QUOTES + r"])",
    re.S,
)


def skip_single_quoted(text: str, i: int) -> int:
    """Offset just past a single-quoted string starting at ``i`` ('' and smart quotes as PowerShell does)."""
    m = _SQ_REST.match(text, i + 1)
    if m is None:
        raise LexError("unterminated string", i)
    return m.end()


def skip_double_quoted(text: str, i: int) -> int:
    """Offset just past an expandable string starting at ``i``, skipping `$( )` subexpressions."""
    m = _DQ_REST.match(text, i + 1)
    if m is not None:
        return m.end()
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
                j = skip_balanced(text, j + 1)
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
    """Offset past a here-string opened at ``i`` (``@'`` / ``@"``), or None if ``i`` does not open one."""
    m = re.compile(r"[ \t]*\r?\n").match(text, i + 2)
    if m is None:
        return None
    closer = re.compile(r"(?:\r?\n)[ \t]*" + ("['\u2018\u2019]@" if quote == "'" else '["\u201c\u201d]@'))
    c = closer.search(text, m.start())
    if c is None:
        raise LexError("unterminated here-string", i)
    return c.end()


def skip_string(text: str, i: int) -> int:
    """Offset past the string literal (quoted or here-string) that starts at ``i``."""
    c = text[i]
    if c == "@":
        end = _here_string_end(text, i, "'" if text[i + 1] in SINGLE_QUOTES else '"')
        if end is None:
            raise LexError("not a here-string", i)
        return end
    if c in SINGLE_QUOTES:
        return skip_single_quoted(text, i)
    return skip_double_quoted(text, i)


_Q = SINGLE_QUOTES + DOUBLE_QUOTES
# What skip_balanced stops at, found by one search that skips ordinary code in C (its first character is a
# plain class; a lookbehind then picks the token): a bracket; a whole single-quoted string; a whole
# double-quoted string without `$` or "" in it; a line comment (a `#` at a token start); a block comment
# (to the end if unclosed); an escape; a ${name}; an `@` before a quote (perhaps a here-string) and any
# quote the string patterns could not close, both read in Python. A string pattern matches only where
# skip_string would end the string at the same offset (the closing quote not followed by another).
# A `#` glued to a word, `$` without `{` and `<` without `#` fail, and the search moves on.
_BALANCED_TOKEN = re.compile(
    r"[(){}\[\]#<`@$" + _Q + r"]"
    r"(?:(?<=[(){}\[\]])"
    r"|(?<=[" + SINGLE_QUOTES + r"])[^" + SINGLE_QUOTES + r"]*(?:[" + SINGLE_QUOTES + r"]{2}[^" + SINGLE_QUOTES
    + r"]*)*[" + SINGLE_QUOTES + r"](?![" + SINGLE_QUOTES + r"])"
    r"|(?<=[" + DOUBLE_QUOTES + r"])[^" + DOUBLE_QUOTES + r"`$]*(?:`.[^" + DOUBLE_QUOTES + r"`$]*)*[" + DOUBLE_QUOTES
    + r"](?![" + DOUBLE_QUOTES + r"])"
    r"|(?<=#)(?<![^ \t\r\n;(){}|,=&\ufeff]#)[^\r\n]*"
    r"|(?<=<)#[^#]*(?:#(?!>)[^#]*)*(?:#>)?"
    r"|(?<=`)."
    r"|(?<=\$)\{[^}]*\}?"
    r"|(?<=@)(?=[" + _Q + r"])"
    r"|(?<=[" + _Q + r"])"
    r")",
    re.S,
)


def skip_balanced(text: str, i: int) -> int:
    """Offset just past the bracket matching the one at ``i``; strings and comments are skipped."""
    closers = [_OPENERS[text[i]]]
    j = i + 1
    search = _BALANCED_TOKEN.search
    while closers:
        m = search(text, j)
        if m is None:
            raise LexError(f"unclosed '{text[i]}'", i)
        j = m.start()
        end = m.end()
        c = text[j]
        if c in "({[":
            closers.append(_OPENERS[c])
        elif c in ")}]":
            if c == closers[-1]:
                closers.pop()
        elif end == j + 1 and (c == "@" or c in _Q):  # not matched whole: read in Python
            if c == "@":
                here_end = _here_string_end(text, j, "'" if text[j + 1] in SINGLE_QUOTES else '"')
                end = j + 1 if here_end is None else here_end
            else:
                end = skip_string(text, j)
        j = end
    return j


@dataclass
class Masked:
    """The text with comments and string literals blanked (newlines kept), plus where they were."""

    code: str
    strings: list[tuple[int, int]]
    comments: list[tuple[int, int]]
    error: Optional[LexError] = None


_SQ = SINGLE_QUOTES
_DQ = DOUBLE_QUOTES
# One search finds the next token that can blank text. Its first character is a plain character class,
# so the regex engine skips ordinary code in C; a lookbehind on that character then picks the token:
# a whole single-quoted string ('' doubled inside), a whole double-quoted string without `$` (`x escaped;
# its first quote closes it), a block comment (to the end if unclosed), a line comment (a `#` at the
# start of a token), a here-string opener, any other quote (read by skip_string: `$( )`, "" inside,
# unterminated), and the two things that hide quotes without blanking: `x escapes and ${braced names}.
# A `#` glued to a word, `$` without `{`, `<` without `#` and `@` without a here-string opener fail
# the lookbehinds, and the search moves on without a Python step.
_MASK_TOKEN = re.compile(
    r"[#<`@$" + _SQ + _DQ + r"]"
    r"(?:(?<=[" + _SQ + r"])(?P<sq>[^" + _SQ + r"]*(?:[" + _SQ + r"]{2}[^" + _SQ + r"]*)*[" + _SQ + r"])"
    r"|(?<=[" + _DQ + r"])(?P<dq>[^" + _DQ + r"`$]*(?:`.[^" + _DQ + r"`$]*)*[" + _DQ + r"])"
    r"|(?<=<)(?P<block>#[^#]*(?:#(?!>)[^#]*)*(?:#>)?)"
    r"|(?<=#)(?<![^ \t\r\n;(){}|,=&\ufeff]#)(?P<line>[^\r\n]*)"
    r"|(?<=@)(?P<here>)(?=['\"\u2018\u2019\u201c\u201d][ \t]*\r?\n)"
    r"|(?<=[" + _SQ + _DQ + r"])(?P<quote>)"
    r"|(?<=`)(?P<escape>.)"
    r"|(?<=\$)(?P<braced>\{[^}]*\}?)"
    r")",
    re.S,
)
_NOT_NEWLINE = re.compile(r"[^\r\n]")


def _blank(text: str, start: int, end: int) -> str:
    """``text[start:end]`` with every character but line breaks turned into a space."""
    if text.find("\n", start, end) < 0 and text.find("\r", start, end) < 0:
        return " " * (end - start)
    return _NOT_NEWLINE.sub(" ", text[start:end])


def mask(text: str) -> Masked:
    """Blank comments and strings so that code patterns can be searched without false hits.

    An unterminated string or comment blanks to the end of the text, as PowerShell would read it,
    and is recorded in ``error``.
    """
    parts: list[str] = []
    strings: list[tuple[int, int]] = []
    comments: list[tuple[int, int]] = []
    error: Optional[LexError] = None
    n = len(text)
    copied = 0  # text[:copied] is in parts
    pos = 0
    search = _MASK_TOKEN.search
    while True:
        m = search(text, pos)
        if m is None:
            break
        kind = m.lastgroup
        j, end = m.span()
        if kind == "sq" or kind == "dq":
            strings.append((j, end))
        elif kind == "line" or kind == "block":
            comments.append((j, end))
        elif kind == "escape" or kind == "braced":
            pos = end  # kept as code
            continue
        else:  # a here-string opener or a quote the patterns above could not close
            try:
                if kind == "here":
                    here_end = _here_string_end(text, j, "'" if text[j + 1] in SINGLE_QUOTES else '"')
                    assert here_end is not None  # the lookahead saw the opener's line break
                    end = here_end
                else:
                    end = skip_string(text, j)
            except LexError as exc:
                error = exc
                end = n
            strings.append((j, end))
        parts.append(text[copied:j])
        parts.append(_blank(text, j, end))
        copied = pos = end
    parts.append(text[copied:])
    return Masked("".join(parts), strings, comments, error)


# --------------------------------------------------------------------------- command arguments


class ElementKind(str, Enum):
    PARAMETER = "parameter"  # -Name (text has no colon); value set when colon-bound
    VALUE = "value"  # an argument (possibly a comma array)
    SPLAT = "splat"  # @name
    REDIRECTION = "redirection"


@dataclass
class Element:
    kind: ElementKind
    text: str
    start: int
    end: int
    # For a parameter written -Name:value, the value element.
    value: Optional["Element"] = None
    # For an array value (a,b,'c'), its items.
    items: list["Element"] = field(default_factory=list)


@dataclass
class CommandArguments:
    elements: list[Element]
    end: int  # offset where the statement ends (before the newline, `;`, `|` …)
    terminator: str  # "newline", ";", "|", "eof", ")", "}", "&&", "||"
    notes: list[str] = field(default_factory=list)


# A parameter token: a dash and a letter, `_` or `?`, then anything up to whitespace or one of
# the characters PowerShell's tokenizer ends it at (`-To=a` is a parameter named `To=a`; `-Subject.x`
# is -Subject then `.x`); a quote anywhere in it makes the whole token an argument (`-From'x'`).
_PARAM = re.compile(r"[" + DASHES + r"](?:[^\W\d]|\?)")
_PARAM_END = re.compile(r"[\s{}();,|&.\[:" + SINGLE_QUOTES + DOUBLE_QUOTES + r"]|`\r?\n|$")
_REDIRECT = re.compile(r"(?:[1-6*]>&[12]|[1-6*]?>>?)")
# A backtick before a space or tab, where a token would start, is whitespace to PowerShell.
_WS = re.compile(r"(?:[ \t\f\v\u00a0\ufeff]|`\r?\n|`[ \t\f\v\u00a0])*")
_WS_NL = re.compile(r"(?:\s|`\r?\n|`[ \t\f\v\u00a0])*")
_BARE_STOP = re.compile(r"[\s,;|(){}&]|`\r?\n|$")
_VAR = re.compile(r"\$(?:\{[^}]*\}|[\w:?^$]+|[\w]*)")
_MEMBER_NAME = re.compile(r"\w+")
# After a bare variable, these keep it a variable; anything else glues it into one word ($a-b).
_VARIABLE_ENDS = re.compile(r"[\s,;|&(){}=.\[>]|`\s|$")
_SPLAT = re.compile(r"@[\w:]+")


def _skip_ws(text: str, i: int, newlines: bool = False) -> int:
    m = (_WS_NL if newlines else _WS).match(text, i)
    return m.end() if m else i


_QUOTE_OR_ESCAPE = re.compile("[`" + SINGLE_QUOTES + DOUBLE_QUOTES + "]")


def _scan_word(text: str, i: int) -> int:
    """Offset past a bare (generic) word starting at ``i``; quotes and escapes inside it belong to it: a"b c"d."""
    n = len(text)
    m = _BARE_STOP.search(text, i)
    j = m.start() if m else n
    k = i
    find = _QUOTE_OR_ESCAPE.search
    while True:  # from quote or escape to the next one before the word's end (which each may push on)
        q = find(text, k, j)
        if q is None:
            break
        k = q.start()
        k = k + 2 if text[k] == "`" else skip_string(text, k)
        m = _BARE_STOP.search(text, k)
        j = max(j, m.start() if m else n)
    return max(j, i + 1)


def _member_end(text: str, j: int) -> Optional[int]:
    """Offset past a member access at ``j`` (`.name`, `::name`, `.'name'`, `.$name`, `.(expr)`), or None."""
    k = j + (2 if text.startswith("::", j) else 1)
    if k >= len(text):
        return None
    c = text[k]
    if c in SINGLE_QUOTES or c in DOUBLE_QUOTES:
        return skip_string(text, k)
    if c == "(":
        return skip_balanced(text, k)
    if c == "$":
        m = _VAR.match(text, k)
        return m.end() if m and m.end() > k + 1 else None
    m = _MEMBER_NAME.match(text, k)
    return m.end() if m else None


def scan_primary(text: str, i: int) -> int:
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
        j = skip_balanced(text, i + 1)
    elif c == "$" and i + 1 < n and text[i + 1] == "(":
        j = skip_balanced(text, i + 1)
    elif c in "({":
        j = skip_balanced(text, i)
    elif c == "$":
        m = _VAR.match(text, i)
        j = m.end() if m and m.end() > i + 1 else i + 1
        if j < n and not _VARIABLE_ENDS.match(text, j):
            return _scan_word(text, i)
    else:
        return _scan_word(text, i)
    while j < n:
        ch = text[j]
        if ch == "[":
            j = skip_balanced(text, j)
        elif ch == "(" and (text[j - 1].isalnum() or text[j - 1] == "_"):
            j = skip_balanced(text, j)
        elif ch == "." or text.startswith("::", j):
            end = _member_end(text, j)
            if end is None:
                break
            j = end
        else:
            break
    return j


def scan_value(text: str, i: int) -> Element:
    """One argument value starting at ``i``; commas make it an array (a newline may follow a comma)."""
    items: list[Element] = []
    start = i
    n = len(text)
    while True:
        end = scan_primary(text, i)
        items.append(Element(ElementKind.VALUE, text[i:end], i, end))
        m = _WS.match(text, end)
        k = m.end() if m else end
        if text.startswith(",", k):
            m = _WS_NL.match(text, k + 1)
            k = m.end() if m else k + 1
            if k >= n or text[k] in ";|)}":
                break
            i = k
            continue
        break
    if len(items) == 1:
        return items[0]
    last = items[-1].end
    return Element(ElementKind.VALUE, text[start:last], start, last, items=items)


def lex_arguments(text: str, i: int) -> CommandArguments:
    """Read the arguments of a command whose name ends at ``i``, up to the end of its statement."""
    elements: list[Element] = []
    notes: list[str] = []
    n = len(text)
    skip_ws = _WS.match
    while True:
        ws = skip_ws(text, i)
        i = ws.end() if ws else i
        if i >= n:
            return CommandArguments(elements, n, "eof", notes)
        c = text[i]
        if c in "\r\n":
            return CommandArguments(elements, i, "newline", notes)
        if c == "#" and _comment_starts(text, i):
            return CommandArguments(elements, i, "newline", notes)
        if c == "<" and text.startswith("<#", i):
            i = skip_block_comment(text, i)
            continue
        if (c == "&" or c == "|") and text.startswith(c + c, i):
            return CommandArguments(elements, i, text[i : i + 2], notes)
        if c in ";|)}":
            return CommandArguments(elements, i, c, notes)
        if c == "-" and text.startswith("--%", i):
            m = _LINE_END.search(text, i)
            end = m.start() if m else n
            elements.append(Element(ElementKind.VALUE, text[i:end], i, end))
            notes.append("stop-parsing token --% passes the rest of the line verbatim")
            return CommandArguments(elements, end, "newline", notes)
        m = _REDIRECT.match(text, i) if c in "12345*6><" else None
        if m:
            j = _skip_ws(text, m.end())
            if ">&" not in m.group() and j < n and text[j] not in "\r\n;|":
                j = scan_primary(text, j)
            elements.append(Element(ElementKind.REDIRECTION, text[i:j], i, j))
            i = j
            continue
        if c in DASHES and _PARAM.match(text, i):
            stop = _PARAM_END.search(text, i + 2)
            name_end = stop.start() if stop else n
            colon = name_end < n and text[name_end] == ":"
            if name_end >= n or text[name_end] not in _Q:
                param = Element(ElementKind.PARAMETER, text[i:name_end], i, name_end + (1 if colon else 0))
                if colon:  # colon-bound: the value follows the colon (spaces allowed)
                    j = _skip_ws(text, param.end)
                    if j < n and text[j] not in "\r\n;|)}":
                        param.value = scan_value(text, j)
                        param.end = param.value.end
                elements.append(param)
                i = param.end
                continue
        if c == "@" and i + 1 < n and (text[i + 1].isalnum() or text[i + 1] == "_"):
            m2 = _SPLAT.match(text, i)
            assert m2 is not None
            elements.append(Element(ElementKind.SPLAT, m2.group(), i, m2.end()))
            i = m2.end()
            continue
        try:
            value = scan_value(text, i)
        except LexError as exc:
            notes.append(f"{exc} at offset {exc.offset}")
            return CommandArguments(elements, n, "eof", notes)
        elements.append(value)
        i = value.end


# --------------------------------------------------------------------------- literal values


_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?$")


def literal_value(text: str) -> Optional[str]:
    """The constant string a PowerShell argument text denotes, or None when it is computed at run time."""
    t = text.strip()
    if not t:
        return None
    if t[0] in SINGLE_QUOTES and t[-1] in SINGLE_QUOTES and len(t) >= 2:
        inner = t[1:-1]
        return re.sub("[" + SINGLE_QUOTES + "]{2}", "'", inner)
    if t[0] in DOUBLE_QUOTES and t[-1] in DOUBLE_QUOTES and len(t) >= 2:
        inner = t[1:-1]
        if "$" in inner.replace("`$", ""):
            return None
        return re.sub(r"`(.)", lambda m: {"n": "\n", "r": "\r", "t": "\t", "0": "\0"}.get(m.group(1), m.group(1)), inner)
    if t[:2] in ("@'", "@\u2018") or t[:2] in ('@"', "@\u201c"):
        body = re.sub(r"^@.[ \t]*\r?\n", "", t)
        body = re.sub(r"\r?\n[ \t]*.@$", "", body)
        if t[1] in DOUBLE_QUOTES and "$" in body.replace("`$", ""):
            return None
        return body
    if t[0] in "$@([{":
        return None
    if "$" in t or "`" in t or t[0] in SINGLE_QUOTES + DOUBLE_QUOTES:
        return None
    return t


def literal_list(element: Element) -> Optional[list[str]]:
    """The constant strings of an array element (or a one-item list), or None if any item is dynamic."""
    items = element.items or [element]
    values: list[str] = []
    for item in items:
        text = item.text.strip()
        # @('a','b') and ('a','b') array expressions of constants
        if text[:2] == "@(" or (text[:1] == "(" and "," in text):
            inner = text[2:-1] if text[0] == "@" else text[1:-1]
            try:
                sub = scan_value(inner.strip(), 0) if inner.strip() else None
            except LexError:
                return None
            if sub is None or sub.end < len(inner.strip()):
                return None
            nested = literal_list(sub)
            if nested is None:
                return None
            values.extend(nested)
            continue
        value = literal_value(text)
        if value is None:
            return None
        values.append(value)
    return values


_SPLIT_SPECIAL = re.compile(r"[,({\['\"\u2018-\u201e`@$]")


def split_arguments(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Spans of the comma-separated expressions in ``text[start:end]`` (a method's argument list)."""
    spans: list[tuple[int, int]] = []
    i = item_start = start
    while True:
        m = _SPLIT_SPECIAL.search(text, i, end)
        if m is None:
            break
        i = m.start()
        c = text[i]
        try:
            if c == ",":
                spans.append((item_start, i))
                i = item_start = i + 1
                continue
            if c in "({[":
                i = skip_balanced(text, i)
            elif c == "`":
                i += 2
            elif c == "@":
                if i + 1 < end and text[i + 1] in SINGLE_QUOTES + DOUBLE_QUOTES:
                    i = skip_string(text, i)
                else:
                    i += 1
            elif c == "$":
                i += 1
                if i < end and text[i] == "{":
                    close = text.find("}", i)
                    i = end if close < 0 else close + 1
            else:
                i = skip_string(text, i)
        except LexError:
            break
    spans.append((item_start, end))
    trimmed = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        trimmed.append((s, e))
    return [s for s in trimmed if s[0] < s[1]] if len(trimmed) > 1 or trimmed[0][0] < trimmed[0][1] else []


def lower_same_length(text: str) -> str:
    """``text.lower()`` with every offset unchanged (a few characters, like 'İ', lower to two)."""
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
