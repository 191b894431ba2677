"""Constant values as PowerShell writes them: strings, numbers, switches, lists, hashtable literals.

Everything here reads text alone (no variable is followed): the resolver, the binder and the
configuration readers above build on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional, Union

from scanner.lexer import LexError, literal_list, literal_value, scan_value, skip_balanced, split_arguments
from scanner.model import Provenance
from scanner.script import Script
from scanner.structure import assigned_value_extent


StaticValue = Union[str, bool, int, list[str]]


_BOOL = {"$true": True, "$false": False}


_INT = re.compile(r"[+-]?\d+$")


_QUOTED_OR_NUMBER = re.compile(r"""^(?:@?\(|['"\u2018-\u201e]|@['"]|[+-]?\d)""")


# static_value is a pure function of its text, and the same texts come back call after call and
# script after script ('$true', '25', a shared $cred): answered once per process. Long texts are
# rarely asked twice and are not kept; the table is emptied when full.
_STATIC_VALUES: dict[tuple[str, bool], Optional[StaticValue]] = {}


_STATIC_VALUES_MAX = 8192


_STATIC_TEXT_MAX = 512


def static_value(text: str, argument_mode: bool = False) -> Optional[StaticValue]:
    """The constant a PowerShell value text denotes ('a', "b", 25, $true, 'a','b', @('a')), or None.

    In expression mode (the right of `=`, a hashtable value) a bare word is a command call, not a
    string; only command arguments (``argument_mode``) read bare words as strings.
    """
    if len(text) > _STATIC_TEXT_MAX:
        return _static_value(text, argument_mode)
    key = (text, bool(argument_mode))
    try:
        value = _STATIC_VALUES[key]
    except KeyError:
        value = _static_value(text, argument_mode)
        if len(_STATIC_VALUES) >= _STATIC_VALUES_MAX:
            _STATIC_VALUES.clear()
        _STATIC_VALUES[key] = value
    return list(value) if isinstance(value, list) else value  # each caller gets its own list, as before


def _static_value(text: str, argument_mode: bool) -> Optional[StaticValue]:
    t = text.strip()
    if not t:
        return None
    low = t.lower()
    if low in _BOOL:
        return _BOOL[low]
    if _INT.match(t):
        return int(t)
    try:
        element = scan_value(t, 0)
    except LexError:
        return None
    if element.end != len(t):
        return None
    if not argument_mode and not all(_QUOTED_OR_NUMBER.match(item.text) for item in (element.items or [element])):
        return None
    values = literal_list(element)
    if values is None:
        return None
    if len(values) == 1 and not element.items and not t.startswith("@("):
        return values[0]
    return values


@dataclass
class Assignment:
    """One value given to a variable or a hashtable key somewhere in the script."""

    text: str
    start: int  # offset of the value text
    line: int
    conditional: bool
    value: Optional[StaticValue] = None
    origin: str = ""  # "$name = …", "param default", ".Add()", …
    provenance: Provenance = Provenance.WRITTEN
    source: str = ""  # config-file / declared: "path: key" or the .smtp2graph.toml entry
    # Configuration rows that disagree: (file, row number, value) of each; ``value`` is then None.
    alternatives: list[tuple[str, int, object]] = field(default_factory=list)


def skip_spaces(text: str, i: int) -> int:
    """Where the value after an `=` starts: spaces and tabs skipped, and the line break PowerShell
    allows right after the operator (`Body =` then the value on the next line).

    Matching runs on masked code, where strings are blanked to spaces, so callers skip on the text.
    """
    n = len(text)
    while i < n and text[i] in " \t":
        i += 1
    j = i
    if j < n and text[j] == "#":  # a comment after the operator: the value is on a following line
        while j < n and text[j] not in "\r\n":
            j += 1
    if j < n and text[j] in "\r\n":
        while j < n and text[j] in " \t\r\n":
            j += 1
        return j
    return i


@dataclass
class HashtableEntry:
    key: str
    assignment: Assignment


_KEY = re.compile(r"""[ \t]*(?:'([^']*)'|"([^"$]*)"|([\w-]+))[ \t]*=(?!=)[ \t]*""")


_SEPARATORS = re.compile(r"(?:\s|;|`\r?\n)+")


def parse_hashtable_literal(script: Script, brace: int, conditional: bool, origin: str) -> tuple[list[HashtableEntry], bool]:
    """Entries of the `@{ … }` whose `{` is at ``brace``; the flag is False when a key is computed."""
    text = script.text
    try:
        end = skip_balanced(text, brace) - 1
    except LexError:
        return [], False
    entries: list[HashtableEntry] = []
    complete = True
    i = brace + 1
    while i < end:
        m = _SEPARATORS.match(text, i)
        if m:
            i = m.end()
            continue
        if text[i] == "#":
            nl = text.find("\n", i)
            i = end if nl < 0 or nl > end else nl + 1
            continue
        km = _KEY.match(text, i)
        if km is None or km.end() > end:
            complete = False
            break
        key = km.group(1) if km.group(1) is not None else km.group(2) if km.group(2) is not None else km.group(3)
        vstart, vend = assigned_value_extent(script.structure, skip_spaces(text, km.end()))
        vend = min(vend, end)
        value_text = text[vstart:vend].strip()
        entries.append(
            HashtableEntry(key, Assignment(value_text, vstart, script.line_of(vstart), conditional, static_value(value_text), origin))
        )
        i = max(vend, km.end() + 1)
    return entries, complete


_INNER_NEW = re.compile(r"(?is)^(?:New-Object\s+(?:-TypeName\s+)?[\w.]+\s*(?:-ArgumentList\s*)?|\[[\w.]+\]::new\s*)\((.*)\)$")


_INNER_NEW_BARE = re.compile(r"(?is)^New-Object\s+(?:-TypeName\s+)?[\w.]+\s+(?:-ArgumentList\s+)?(.+)$")


def constructor_arguments(text: str) -> Optional[list[str]]:
    """Argument texts of an inline `New-Object T(a, b)` / `[T]::new(a, b)` value, else None."""
    t = text.strip()
    if t.startswith("(") and t.endswith(")"):
        t = t[1:-1].strip()
    m = _INNER_NEW.match(t) or _INNER_NEW_BARE.match(t)
    if m is None:
        return None
    inner = m.group(1)
    return [inner[s:e] for s, e in split_arguments(inner, 0, len(inner))]


def literal_or_none(text: str) -> Optional[str]:
    value = literal_value(text)
    if value is not None and text.strip()[:1] not in "'\"\u2018\u2019\u201c\u201d@":
        return None  # a bare word in expression mode is a command, not a string
    return value
