"""Static values in one script: variables, splatted hashtables, $PSDefaultParameterValues, $PSEmailServer."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional, Union

from scanner.lexer import LexError, literal_list, literal_value, scan_value, skip_balanced
from scanner.script import Script
from scanner.structure import assigned_value_extent

StaticValue = Union[str, bool, int, list[str]]

_BOOL = {"$true": True, "$false": False}
_INT = re.compile(r"[+-]?\d+$")


_QUOTED_OR_NUMBER = re.compile(r"""^(?:@?\(|['"\u2018-\u201e]|@['"]|[+-]?\d)""")


def static_value(text: str, argument_mode: bool = False) -> Optional[StaticValue]:
    """The constant a PowerShell value text denotes ('a', "b", 25, $true, 'a','b', @('a')), or None.

    In expression mode (the right of `=`, a hashtable value) a bare word is a command call, not a
    string; only command arguments (``argument_mode``) read bare words as strings.
    """
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


def _var_pattern(name: str) -> str:
    return r"(?<![\w$:])\$(?:script:|global:|local:|private:)?" + re.escape(name) + r"(?![\w:])"


def _assignments(script: Script, name: str, before: int) -> list[tuple[int, int, str]]:
    """(statement start, value start, operator) of `$name = …` / `$name += …` before ``before``."""
    found = []
    pattern = re.compile(r"(?i)" + _var_pattern(name) + r"[ \t]*(\+?=)(?!=)")
    for m in pattern.finditer(script.code, 0, before):
        if not script.structure.visible_from(m.start(), before):
            continue
        found.append((m.start(), skip_spaces(script.text, m.end()), m.group(1)))
    return found


def resolve_variable(script: Script, name: str, at: int) -> Optional[Assignment]:
    """The last value assigned to ``$name`` before ``at`` in a visible scope, if the script shows one."""
    if ":" in name and not name.lower().startswith(("script:", "global:", "local:", "private:")):
        return None  # $env:X and provider paths are outside the file
    name = name.split(":", 1)[-1]
    assigns = [a for a in _assignments(script, name, at) if a[2] == "="]
    if not assigns:
        return None
    stmt, value_start, _ = assigns[-1]
    start, end = assigned_value_extent(script.structure, value_start)
    text = script.text[start:end].strip()
    conditional = script.structure.is_conditional(stmt, at) or (
        len(assigns) > 1 and any(script.structure.is_conditional(a[0], at) for a in assigns)
    )
    origin = "param default" if script.structure.in_param_block(stmt) else f"${name} = … (line {script.line_of(stmt)})"
    return Assignment(text, start, script.line_of(start), conditional, static_value(text), origin)


@dataclass
class HashtableEntry:
    key: str
    assignment: Assignment


@dataclass
class Hashtable:
    """A hashtable as the script builds it before one use."""

    name: str
    entries: dict[str, HashtableEntry] = field(default_factory=dict)  # lower-case key -> entry
    complete: bool = True  # False when keys may come from somewhere we cannot see
    reasons: list[str] = field(default_factory=list)
    defined_at: int = -1

    def set(self, key: str, assignment: Assignment) -> None:
        self.entries[key.lower()] = HashtableEntry(key, assignment)


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


def resolve_hashtable(script: Script, name: str, at: int) -> Hashtable:
    """Rebuild the hashtable ``$name`` splatted at ``at``: its literal plus later .Add / [k]= / .k= / += edits."""
    table = Hashtable(name)
    if name.lower() in ("psboundparameters", "args"):
        table.complete = False
        table.reasons.append(f"@{name} forwards the caller's parameters, which are not known in this file")
        return table
    structure = script.structure
    code = script.code
    assigns = _assignments(script, name, at)
    base = [a for a in assigns if a[2] == "="]
    if not base:
        table.complete = False
        table.reasons.append(f"${name} is not assigned in this file before the call")
        return table
    stmt, value_start, _ = base[-1]
    table.defined_at = stmt
    conditional_base = structure.is_conditional(stmt, at)
    if len(base) > 1 and any(structure.is_conditional(a[0], at) for a in base):
        conditional_base = True
        table.reasons.append(f"${name} is assigned on more than one path")
    m = re.compile(r"(?i)(?:\[(?:ordered|hashtable|System\.Collections\.Hashtable)\][ \t]*)?@\{").match(code, value_start)
    if m is None:
        table.complete = False
        snippet = script.text[value_start : value_start + 40].split("\n")[0]
        table.reasons.append(f"${name} is built by an expression ({snippet.strip()}), not a hashtable literal")
        return table
    entries, complete = parse_hashtable_literal(script, m.end() - 1, conditional_base, f"@{{}} (line {script.line_of(stmt)})")
    for entry in entries:
        table.set(entry.key, entry.assignment)
    if not complete:
        table.complete = False
        table.reasons.append(f"a key of ${name} is computed")
    _apply_edits(script, table, name, stmt, at)
    return table


def _apply_edits(script: Script, table: Hashtable, name: str, after: int, at: int) -> None:
    code = script.code
    text = script.text
    structure = script.structure
    var = _var_pattern(name)
    edit = re.compile(
        r"(?i)" + var + r"(?:"
        r"\.(?P<method>add|remove)[ \t]*\("  # .Add(k, v) / .Remove(k)
        r"|\[(?P<index>[^\]\r\n]*)\][ \t]*=(?!=)"  # ['k'] = v
        r"|\.(?P<prop>[\w]+|'[^']*'|\"[^\"]*\")[ \t]*=(?!=)"  # .k = v
        r"|[ \t]*\+=[ \t]*(?P<plus>(?:\[(?:ordered|hashtable|System\.Collections\.Hashtable)\][ \t]*)?@\{)"  # += @{…}
        r")"
    )
    for m in edit.finditer(code, after + 1, at):
        pos = m.start()
        if not structure.visible_from(pos, at):
            continue
        conditional = structure.is_conditional(pos, at)
        line = script.line_of(pos)
        if m.group("method"):
            paren = m.end() - 1
            try:
                close = skip_balanced(text, paren)
            except LexError:
                continue
            inner = text[paren + 1 : close - 1].strip()
            try:
                args = scan_value(inner, 0) if inner else None
            except LexError:
                args = None
            items = (args.items or [args]) if args is not None else []
            key = literal_value(items[0].text) if items else None
            if key is None:
                table.complete = False
                table.reasons.append(f"a key of ${name} is added with a computed name (line {line})")
                continue
            if m.group("method").lower() == "remove":
                if not conditional:
                    table.entries.pop(key.lower(), None)
                continue
            value_text = inner[items[1].start :].strip() if len(items) > 1 else ""
            table.set(key, Assignment(value_text, paren + 1 + (items[1].start if len(items) > 1 else 0), line, conditional, static_value(value_text), f".Add() (line {line})"))
        elif m.group("plus"):
            brace = m.end() - 1
            entries, complete = parse_hashtable_literal(script, brace, conditional, f"+= @{{}} (line {line})")
            for entry in entries:
                table.set(entry.key, entry.assignment)
            if not complete:
                table.complete = False
        else:
            raw_key = m.group("index") if m.group("index") is not None else m.group("prop")
            if m.group("index") is not None:
                raw_key = text[m.start("index") : m.end("index")]
            elif m.group("prop"):
                raw_key = text[m.start("prop") : m.end("prop")]
            key = literal_value(raw_key.strip()) if raw_key else None
            if key is None:
                table.complete = False
                table.reasons.append(f"a key of ${name} is set with a computed name (line {line})")
                continue
            vstart, vend = assigned_value_extent(structure, skip_spaces(text, m.end()))
            value_text = text[vstart:vend].strip()
            table.set(key, Assignment(value_text, vstart, line, conditional, static_value(value_text), f"${name}[{key}] = (line {line})"))


# --------------------------------------------------------------------------- defaults

_PSDEFAULT_INDEX = re.compile(r"(?i)\$PSDefaultParameterValues\[(?P<key>[^\]\r\n]+)\][ \t]*=(?!=)")
_PSDEFAULT_ADD = re.compile(r"(?i)\$PSDefaultParameterValues\.Add[ \t]*\(")
_PSDEFAULT_ASSIGN = re.compile(r"(?i)\$PSDefaultParameterValues[ \t]*(\+?=)(?!=)[ \t]*(?:\[(?:ordered|hashtable|System\.Collections\.Hashtable)\][ \t]*)?@\{")


def _wildcard_match(pattern: str, name: str) -> bool:
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, name, re.I) is not None


def parameter_defaults(script: Script, command: str, at: int) -> dict[str, Assignment]:
    """Defaults for ``command`` from `$PSDefaultParameterValues` set before ``at``: lower-case param -> value."""
    found: list[tuple[int, str, Assignment]] = []
    code = script.code
    text = script.text
    structure = script.structure
    for m in _PSDEFAULT_INDEX.finditer(code, 0, at):
        key = literal_value(text[m.start("key") : m.end("key")].strip())
        if key is None:
            continue
        vstart, vend = assigned_value_extent(structure, skip_spaces(text, m.end()))
        value_text = text[vstart:vend].strip()
        line = script.line_of(m.start())
        found.append((m.start(), key, Assignment(value_text, vstart, line, structure.is_conditional(m.start(), at), static_value(value_text), f"$PSDefaultParameterValues['{key}'] (line {line})")))
    for m in _PSDEFAULT_ADD.finditer(code, 0, at):
        paren = m.end() - 1
        try:
            close = skip_balanced(text, paren)
            args = scan_value(text[paren + 1 : close - 1].strip(), 0)
        except LexError:
            continue
        inner = text[paren + 1 : close - 1].strip()
        items = args.items
        if len(items) < 2:
            continue
        key = literal_value(items[0].text)
        if key is None:
            continue
        value_text = inner[items[1].start :].strip()
        line = script.line_of(m.start())
        found.append((m.start(), key, Assignment(value_text, paren + 1, line, structure.is_conditional(m.start(), at), static_value(value_text), f"$PSDefaultParameterValues.Add('{key}') (line {line})")))
    for m in _PSDEFAULT_ASSIGN.finditer(code, 0, at):
        line = script.line_of(m.start())
        cond = structure.is_conditional(m.start(), at)
        if m.group(1) == "=":
            found = [f for f in found if f[0] > m.start()]  # a new table replaces earlier keys
        entries, _ = parse_hashtable_literal(script, m.end() - 1, cond, f"$PSDefaultParameterValues = @{{}} (line {line})")
        for entry in entries:
            entry.assignment.origin = f"$PSDefaultParameterValues['{entry.key}'] (line {line})"
            found.append((m.start(), entry.key, entry.assignment))
    found.sort(key=lambda f: f[0])
    defaults: dict[str, Assignment] = {}
    for _, key, assignment in found:
        if ":" not in key:
            continue
        cmd_pattern, param = key.rsplit(":", 1)
        if _wildcard_match(cmd_pattern.strip(), command):
            defaults[param.strip().lower()] = assignment
    return defaults


def ps_email_server(script: Script, at: int) -> Optional[Assignment]:
    """`$PSEmailServer` as set in the script before ``at`` (Send-MailMessage's SmtpServer default)."""
    found = resolve_variable(script, "PSEmailServer", at)
    if found is not None:
        found.origin = f"$PSEmailServer (line {found.line})"
    return found
