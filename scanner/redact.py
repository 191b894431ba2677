"""Mask secret values wherever they appear: one registry per run, one redactor every output passes through.

A value joins the registry when the scanner sees it reach a credential sink (``scanner.secrets``).
The redactor then replaces every occurrence of every registered value in any text with ``***``,
in one multi-pattern pass per text (Aho-Corasick), whatever the text is: a snippet, a context
line, a bound parameter, a fix preview, an error message. Redaction happens once, on the data,
before any formatter sees it, so a new output format is covered without knowing about secrets.
"""

from __future__ import annotations

import base64
import dataclasses
import re
from enum import Enum
from typing import Any, Iterable, Optional
from scanner.safetext import safe_text

MASK = "***"
# Shorter values would mask ordinary words everywhere; a rule never reports a value this short.
MIN_VALUE = 3
# A secret value this long is masked inside longer words too; a longer one also by each window of
# _WINDOW characters (a part of a token pasted into a note is as bad as the token).
_ANYWHERE = 10  # a plain word this long is masked inside longer words too
_LONG = 16
_WINDOW = 12
_SECRET, _LITERAL, _PART = 0, 1, 2


def _encodings(value: str) -> list[str]:
    """Base64 forms a value is commonly written in (UTF-8 and UTF-16LE, as PowerShell's encoders give)."""
    out = []
    for codec in ("utf-8", "utf-16-le"):
        try:
            out.append(base64.b64encode(value.encode(codec, "surrogatepass")).decode("ascii"))
        except UnicodeEncodeError:  # pragma: no cover - surrogatepass encodes anything
            continue
    return out


# Fields that hold the tool's own words or identities, never a script's value.
_NOT_MASKED = frozenset({"path", "root", "fingerprint", "rule", "name", "role", "cache_key", "command", "form"})
# Fields written by the tool in which a script's values are quoted (messages, verdicts, reasons).
_PROSE = frozenset({"message", "verdict", "migration", "reason", "notes", "refused"})
_WORD = re.compile(r"\w", re.UNICODE)
_PLAIN_WORD = re.compile(r"[A-Za-z]+(?:[ -][A-Za-z]+)*")
_QUOTE_CHARS = "'\"`\u2018\u2019\u201c\u201d"


def _whole_token(text: str, span: tuple[int, int], prose: bool) -> bool:
    """Whether the value at ``span`` stands alone (not inside a longer word), and in prose, whether a
    plain-word value is quoted there as a script value."""
    start, end = span
    value = text[start:end]
    if not _PLAIN_WORD.fullmatch(value):
        return True  # a value with digits or symbols is a real secret: masked wherever it appears
    if not prose and len(value) >= _ANYWHERE:
        return True  # a long word is masked inside longer ones too ("Sunshine" in "Sunshine2024")
    if _WORD.match(value[0]) and start > 0 and _WORD.match(text[start - 1]):
        return False
    if _WORD.match(value[-1]) and end < len(text) and _WORD.match(text[end]):
        return False
    if prose and _PLAIN_WORD.fullmatch(value):
        before = text[start - 1] if start > 0 else ""
        after = text[end] if end < len(text) else ""
        return bool(before and before in _QUOTE_CHARS) or bool(after and after in _QUOTE_CHARS) or before in ("=", ":") and not after.isspace()
    return True


def _keep(text: str, span: tuple[int, int], tier: int, prose: bool) -> bool:
    """Whether a match of a value of ``tier`` at ``span`` is masked (see Redactor)."""
    if tier == _SECRET:
        return _whole_token(text, span, prose)
    start, end = span
    if tier == _PART:
        return True
    value = text[start:end]
    if value[:1] in _QUOTE_CHARS + "#" or value[-1:] in _QUOTE_CHARS:
        return True  # a literal as written, quotes and all (or a comment line)
    if not text[:start].strip() and not text[end:].strip():
        return True  # the whole field
    before = text[start - 1] if start > 0 else ""
    after = text[end] if end < len(text) else ""
    return bool(before) and before in _QUOTE_CHARS and bool(after) and after in _QUOTE_CHARS


class SecretRegistry:
    """Every secret value met in one run (never written anywhere: it lives in memory only)."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self.values: set[str] = set()
        self._redactor: Optional[Redactor] = None
        self.add(values)

    def add(self, values: Iterable[str]) -> None:
        """Register values (and their base64 forms); values shorter than MIN_VALUE are ignored."""
        for value in values:
            value = value.strip("\r\n")
            if len(value) < MIN_VALUE or value == MASK or value in self.values:
                continue
            self.values.add(value)
            if len(value) >= 4:
                self.values.update(_encodings(value))
            self._redactor = None

    def __len__(self) -> int:
        return len(self.values)

    def __bool__(self) -> bool:
        return bool(self.values)

    def redactor(self, escape_controls: bool = False) -> "Redactor":
        if escape_controls:
            return Redactor(self.values, escape_controls=True)
        if self._redactor is None:
            self._redactor = Redactor(self.values)
        return self._redactor

    def redact(self, text: str) -> str:
        return self.redactor().redact(text)


class Redactor:
    """Replaces every occurrence of any of a set of values with ``***`` in one pass per text.

    ``values`` are secrets: masked wherever they stand (a short plain word only as a whole word),
    and a long one also where a part of it of _WINDOW characters stands. ``literals`` are the
    masked literals and comments of a file (scanner.masking): masked where one stands whole, as
    written (quotes or comment marker included), as the whole of a field, or between quotes.
    """

    def __init__(self, values: Iterable[str], escape_controls: bool = False, literals: Iterable[str] = ()) -> None:
        # escape_controls: also make every string safe to show (terminal controls, lone surrogates)
        self.escape_controls = escape_controls
        self.values = sorted({v for v in values if len(v) >= MIN_VALUE and v != MASK}, key=len, reverse=True)
        self.literals = sorted({v for v in literals if len(v) >= MIN_VALUE and v != MASK} - set(self.values), key=len, reverse=True)
        self._tiers: dict[str, int] = {}
        for value in self.literals:
            self._tiers[value] = _LITERAL
        for value in self.values:
            self._tiers[value] = _SECRET
            if len(value) >= _LONG:
                for i in range(len(value) - _WINDOW + 1):
                    self._tiers.setdefault(value[i : i + _WINDOW], _PART)
        self._automaton: Any = None
        self._regex: Optional[re.Pattern[str]] = None
        if not self._tiers:
            return
        try:
            import ahocorasick
        except ImportError:  # pragma: no cover - pyahocorasick is a declared dependency
            self._regex = re.compile("|".join(re.escape(v) for v in sorted(self._tiers, key=len, reverse=True)))
            return
        automaton = ahocorasick.Automaton()
        for value, tier in self._tiers.items():
            automaton.add_word(value, (len(value), tier))
        automaton.make_automaton()
        self._automaton = automaton

    def __bool__(self) -> bool:
        return bool(self._tiers)

    def _spans(self, text: str, prose: bool = False) -> list[tuple[int, int]]:
        if self._automaton is not None:
            found = [(end - length + 1, end + 1, tier) for end, (length, tier) in self._automaton.iter(text)]
        elif self._regex is not None:
            found = [(m.start(), m.end(), self._tiers[m.group()]) for m in self._regex.finditer(text)]
        else:
            return []
        if not found:
            return []
        kept = [(s, e) for s, e, tier in found if _keep(text, (s, e), tier, prose)]
        if not kept:
            return []
        kept.sort()
        merged = [kept[0]]
        for start, end in kept[1:]:
            last = merged[-1]
            if start <= last[1]:
                if end > last[1]:
                    merged[-1] = (last[0], end)
            else:
                merged.append((start, end))
        return merged

    def redact(self, text: str, prose: bool = False) -> str:
        """``text`` with every registered value replaced by ``***`` where it stands (see the class).

        ``prose``: the tool's own sentences (messages, verdicts): a value that is a plain word
        ("password", "public") is masked there only where a script value is quoted into them, so
        the sentence around it stays readable.
        """
        if not self._tiers or not text:
            return text
        spans = self._spans(text, prose)
        if not spans:
            return text
        out = []
        cursor = 0
        for start, end in spans:
            out.append(text[cursor:start])
            out.append(MASK)
            cursor = end
        out.append(text[cursor:])
        return "".join(out)

    def leaks(self, text: str) -> bool:
        """Whether ``text`` still holds a registered value."""
        return bool(self._tiers) and bool(self._spans(text))

    def redact_tree(self, obj: Any) -> Any:
        """Redact every string inside dataclasses, lists, tuples and dicts (values, not keys).

        Mutable containers and dataclasses are changed in place; the (possibly new) object is
        returned, so frozen dataclasses and tuples are rebuilt.
        """
        if not self._tiers and not self.escape_controls:
            return obj
        return self._walk(obj)

    def _text(self, text: str, prose: bool = False) -> str:
        if self._tiers:
            text = self.redact(text, prose)
        # Printable ASCII holds no control character: most strings skip the escaping regex.
        if self.escape_controls and not (text.isascii() and text.isprintable()):

            text = safe_text(text)
        return text

    def _walk(self, obj: Any, prose: bool = False) -> Any:
        # Dispatch on the exact type first: a scan result is a tree of a few hundred thousand nodes,
        # so the common cases (str, None, int, list, dict, non-frozen dataclass) go first.
        kind = type(obj)
        if kind is str:
            return self._text(obj, prose)
        if obj is None or kind is bool or kind is int or kind is float:
            return obj
        if kind is list:
            for i, item in enumerate(obj):
                obj[i] = self._text(item, prose) if type(item) is str else self._walk(item, prose)
            return obj
        if kind is dict:
            for key in list(obj):
                item = obj[key]
                obj[key] = self._text(item) if type(item) is str else self._walk(item)
            return obj
        if isinstance(obj, Enum):
            return obj
        if isinstance(obj, str):
            return self._text(obj, prose)
        if isinstance(obj, (bool, int, float)):
            return obj
        if isinstance(obj, list):
            for i, item in enumerate(obj):
                obj[i] = self._walk(item, prose)
            return obj
        if isinstance(obj, tuple):
            items = [self._walk(item, prose) for item in obj]
            if all(a is b for a, b in zip(items, obj)) or hasattr(obj, "_fields"):
                return obj
            return tuple(items)
        if isinstance(obj, dict):
            for key in list(obj):
                obj[key] = self._walk(obj[key])
            return obj
        layout = _LAYOUTS.get(kind)
        if layout is None:
            if not (dataclasses.is_dataclass(obj) and not isinstance(obj, type)):
                return obj
            params = getattr(obj, "__dataclass_params__", None)
            frozen = params is not None and bool(params.frozen)
            layout = _LAYOUTS[kind] = (
                frozen,
                tuple((f.name, f.name in _PROSE, f.init) for f in dataclasses.fields(obj) if f.name not in _NOT_MASKED),
            )
        frozen, fields = layout
        if frozen:
            changes = {}
            for name, field_prose, init in fields:
                value = getattr(obj, name)
                new = self._walk(value, field_prose)
                if new is not value and init:
                    changes[name] = new
            return dataclasses.replace(obj, **changes) if changes else obj
        for name, field_prose, _init in fields:
            value = getattr(obj, name)
            if value is None:
                continue
            new = self._walk(value, field_prose)
            if new is not value:
                setattr(obj, name, new)
        return obj


# Per dataclass type: (frozen, ((field name, is prose, init), ...)) without the fields never masked.
_LAYOUTS: dict[type, tuple[bool, tuple[tuple[str, bool, bool], ...]]] = {}
