"""Text that is safe to show: no terminal control sequences, no undecodable file-name bytes.

A file name or a script may hold ESC, OSC, BEL, CR or newlines: printed raw, they can recolour
or retitle a terminal, hide lines, forge a "no findings" line, or (OSC 8) plant links. A file
name that is not valid UTF-8 arrives from the OS as lone surrogates, which no UTF-8 output can
encode. Both are turned into visible escapes (``\\x1b``, ``\\n``, ``\\xff``) here, once, before
any report or message is written.
"""

from __future__ import annotations

import re

# C0 controls, DEL, C1 controls, lone surrogates, and the bidirectional overrides of "Trojan Source".
_UNSAFE_IN_PATH = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")
_UNSAFE_IN_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")  # keeps \t and \n
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\x1b", "\x07": "\\x07"}


def _escape(m: "re.Match[str]") -> str:
    c = m.group()
    if c in _NAMED:
        return _NAMED[c]
    code = ord(c)
    if 0xDC80 <= code <= 0xDCFF:  # a byte the OS name did not decode (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def safe_path(path: str) -> str:
    """A path as shown in reports and messages: control characters and undecodable bytes escaped."""
    if _UNSAFE_IN_PATH.search(path) is None:
        return path
    return _UNSAFE_IN_PATH.sub(_escape, path)


def safe_text(text: str) -> str:
    """Text for a terminal or a report: every control character except tab and newline escaped."""
    if _UNSAFE_IN_TEXT.search(text) is None:
        return text
    return _UNSAFE_IN_TEXT.sub(_escape, text)


def safe_line(text: str) -> str:
    """One line of a message: newlines too are escaped, so a name cannot forge a line of its own."""
    return safe_path(text)


_UNSAFE_IN_JSON = re.compile("[\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")


def json_safe(document: str) -> str:
    """JSON text (from json.dumps) with DEL, C1 controls, lone surrogates and bidi overrides written as \\u
    escapes: the same JSON value, but a terminal that shows it receives no control character (json.dumps
    already escapes C0 controls; with ensure_ascii=False it leaves these raw)."""
    if _UNSAFE_IN_JSON.search(document) is None:
        return document
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", document)


def matchable(path: str) -> str:
    """``path`` with lone surrogates replaced, for libraries that need valid Unicode (RE2, pathspec)."""
    return _SURROGATE.sub("\ufffd", path) if _SURROGATE.search(path) else path


_SURROGATE = re.compile("[\ud800-\udfff]")


# A source line longer than this is shown as a window around the finding: a minified or generated
# one-line file would otherwise put the whole file into every finding (memory quadratic in calls).
LINE_MAX = 400


CLIP_MARK = "…"
