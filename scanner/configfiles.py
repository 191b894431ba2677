"""Values from the configuration files a script loads, when those files are in the scanned tree.

A script that reads its SMTP server from `settings.json` gets no verdict from its own text. This
module reads what the script reads, the way PowerShell would: `Import-PowerShellDataFile`,
`Get-Content x.json | ConvertFrom-Json` (with or without `-Raw`), `[xml](Get-Content x.xml)` with
property paths, `ConvertFrom-StringData`, `ConvertFrom-Yaml`, `Import-Csv` rows, dot-sourced
`.ps1` files, and .NET `system.net/mailSettings` in a `web.config` / `app.config` beside the script.

Every value says which file and key it came from (provenance `config-file`); a file the script
names outside the scanned tree, or missing from it, is reported with its path instead of being a
silent "unknown". XML goes through defusedxml, YAML through yaml.safe_load: a configuration file
is data, never code (a dot-sourced `.ps1` is read as text, never run).
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

from scanner.lexer import LexError, scan_primary, skip_balanced
from scanner.script import Script

MAX_CONFIG_BYTES = 2 * 1024 * 1024
_ROOT_MARK = "\x00scriptroot\x00"


@dataclass
class ConfigNode:
    """A value inside a loaded configuration file (or why the file could not be read)."""

    path: str  # the file relative to the scan root (as written when it is outside the tree)
    keys: tuple[str, ...]
    data: Any  # dict / list / str / int / bool / None, or an XML element
    problem: str = ""  # set when the file is outside the tree, missing or unreadable
    # Member enumeration over rows (Import-Csv, a JSON array) that disagree: (row number, value) of each row.
    rows: Optional[list[tuple[int, Any]]] = None
    filtered: str = ""  # the rows pass a filter first (Where-Object …): which rows reach the call is not known

    @property
    def key_text(self) -> str:
        return ".".join(self.keys)

    @property
    def source(self) -> str:
        return f"{self.path}: {self.key_text}" if self.keys else self.path


Scalar = Union[str, int, bool]


def scalar(node: ConfigNode) -> Optional[Scalar]:
    """The node's value when it is one string, number or boolean."""
    data = node.data
    if _is_element(data):
        if len(data) or data.attrib:
            return None
        return (data.text or "").strip()
    if isinstance(data, bool) or isinstance(data, (str, int)):
        return data
    if isinstance(data, float) and data.is_integer():
        return int(data)
    return None


def _is_element(data: Any) -> bool:
    return hasattr(data, "tag") and hasattr(data, "attrib")


# --------------------------------------------------------------------------- paths


def _script_dir(script: Script) -> str:
    return posixpath.dirname(script.path.replace("\\", "/"))


_SCRIPT_ROOT = re.compile(
    r"(?i)\$\{?PSScriptRoot\}?|\$\((?:Split-Path\s+(?:-Parent\s+)?(?:-Path\s+)?)\$(?:PSCommandPath|MyInvocation\.MyCommand\.(?:Path|Definition))\)"
)
_SPLIT_PATH = re.compile(r"(?i)^\(?\s*Split-Path\s+(?:-Parent\s+)?(?:-Path\s+)?\$(?:PSCommandPath|MyInvocation\.MyCommand\.(?:Path|Definition))(?:\s+-Parent)?\s*\)?$")
# The parent is a word or a parenthesised expression ((Split-Path -Parent $MyInvocation.MyCommand.Path), one
# level of nested parentheses), the child what follows it.
_JOIN_PATH = re.compile(r"(?is)^\(?\s*Join-Path\s+(?:-Path\s+)?(?P<a>\((?:[^()]|\([^()]*\))*\)|\S+)\s+(?:-ChildPath\s+)?(?P<b>[^)]+?)\s*\)?$")


def path_value(script: Script, text: str, at: int, depth: int = 0) -> Optional[str]:
    """The path a PowerShell path argument names, with `$PSScriptRoot` as a marker for the script's folder."""
    from scanner.resolve import follow_value, resolve_variable, static_value

    t = text.strip()
    if depth > 5 or not t:
        return None
    if _SPLIT_PATH.match(t) or re.fullmatch(r"(?i)\$\{?PSScriptRoot\}?", t):
        return _ROOT_MARK
    join = _JOIN_PATH.match(t)
    if join:
        a = path_value(script, join.group("a"), at, depth + 1)
        b = path_value(script, join.group("b"), at, depth + 1)
        return None if a is None or b is None else a.rstrip("\\/") + "/" + b.lstrip("\\/")
    marked = _SCRIPT_ROOT.sub(lambda m: _ROOT_MARK, t)
    if marked != t and t[:1] == '"':
        inner = marked[1:-1]
        if "$" not in inner:
            return inner
    if t[:1] not in "'\"$(@":
        bare = static_value(t, argument_mode=True)  # a bare word is a string in argument mode: .\settings.xml
        return bare if isinstance(bare, str) else None
    found = follow_value(script, marked if marked[:1] in "'\"" else t, at)
    if found is not None and isinstance(found.value, str):
        return found.value
    var = re.fullmatch(r"(?i)\$(?:script:|global:|local:)?(\w+)", t)
    if var:
        assigned = resolve_variable(script, var.group(1), at)
        if assigned is not None:
            return path_value(script, assigned.text, assigned.start, depth + 1)
    return None


def locate(script: Script, written: str) -> tuple[Optional[Path], str, str]:
    """(absolute file, path relative to the scan root, problem) for a path the script names.

    A relative path is relative to the current folder at run time: taken as the script's folder,
    which is what a script that names `.\\settings.json` assumes.
    """
    path = written.replace("\\", "/")
    shown = written.replace(_ROOT_MARK, "$PSScriptRoot/")
    if re.match(r"^[A-Za-z]:/|^//|^/|^~", path):
        return None, shown, f"the configuration file {shown} is outside the scanned tree"
    base = _script_dir(script)
    if _ROOT_MARK in path:
        path = path.split(_ROOT_MARK)[-1].lstrip("/")
    rel = posixpath.normpath(posixpath.join(base, path) if base else path)
    if rel.startswith("../") or rel == "..":
        return None, rel, f"the configuration file {rel} is outside the scanned tree"
    if script.root is None:
        return None, rel, f"the configuration file {rel} is not read (no scan root)"
    full = script.root / rel
    if not full.is_file():
        return None, rel, f"the configuration file {rel} is not in the scanned tree"
    return full, rel, ""


# --------------------------------------------------------------------------- loading


def _read(script: Script, full: Path, rel: str) -> tuple[Optional[str], str]:
    try:
        raw = full.read_bytes()[: MAX_CONFIG_BYTES + 1]
    except OSError as exc:
        return None, f"the configuration file {rel} cannot be read ({exc.strerror or exc})"
    if len(raw) > MAX_CONFIG_BYTES:
        return None, f"the configuration file {rel} is over {MAX_CONFIG_BYTES // 1024 // 1024} MB"
    dependencies = script.memo.setdefault("dependencies", {})
    assert isinstance(dependencies, dict)
    dependencies[rel] = hashlib.sha256(raw).hexdigest()
    from scanner.files import DecodeError, decode

    try:
        return decode(raw)[0], ""
    except DecodeError as exc:
        return None, f"the configuration file {rel} cannot be decoded ({exc})"


def load(script: Script, kind: str, path_text: str, at: int) -> Optional[ConfigNode]:
    """The data of a configuration file loaded as ``kind`` (json, xml, psd1, stringdata, yaml, csv, ps1)."""
    written = path_value(script, path_text, at)
    if written is None:
        return None
    memo_key = f"config:{kind}:{written}"
    cached = script.memo.get(memo_key)
    if isinstance(cached, ConfigNode):
        return cached
    full, rel, problem = locate(script, written)
    node = ConfigNode(rel, (), None, problem)
    if full is not None:
        text, problem = _read(script, full, rel)
        if text is None:
            node.problem = problem
        else:
            try:
                node.data = _parse(kind, text)
            except (ValueError, TypeError, LexError) as exc:
                node.problem = f"the configuration file {rel} cannot be parsed as {kind} ({str(exc).splitlines()[0][:120]})"
            except Exception as exc:  # defusedxml / yaml errors: data we cannot read is not a crash
                node.problem = f"the configuration file {rel} cannot be parsed as {kind} ({type(exc).__name__})"
    script.memo[memo_key] = node
    return node


def _parse(kind: str, text: str) -> Any:
    text = text.lstrip("\ufeff")
    if kind == "json":
        return json.loads(text)
    if kind == "xml":
        from defusedxml import ElementTree

        return _XmlDocument(ElementTree.fromstring(text.encode("utf-8")))
    if kind == "yaml":
        import yaml

        return yaml.safe_load(text)
    if kind == "stringdata":
        return _string_data(text)
    if kind == "csv" or kind.startswith("csv:"):
        import csv
        import io

        options = json.loads(kind[4:]) if kind.startswith("csv:") else {}
        delimiter = options.get("delimiter", ",")
        header = options.get("header")
        return list(csv.DictReader(io.StringIO(text), fieldnames=header, delimiter=delimiter))
    if kind == "psd1":
        return _psd1(text)
    if kind.startswith("keyvalue:"):
        return _key_values(text, kind)
    if kind.startswith("keymatch:"):
        return _key_matches(text, kind)
    if kind.startswith("inisections:"):
        return _ini_sections(text, kind)
    raise ValueError(kind)


class _XmlDocument:
    """`[xml]` as PowerShell shows it: the document's only property is its root element's name."""

    def __init__(self, root: Any) -> None:
        self.root = root


def _string_data(text: str) -> dict[str, str]:
    """ConvertFrom-StringData: `key = value` lines; `#` comments and blank lines skipped."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith(("#", ";", "[")) or "=" not in s:
            continue
        key, value = s.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def _psd1(text: str) -> Any:
    """A .psd1 data file: one hashtable literal of constants (nested hashtables and arrays allowed)."""
    from scanner.resolve import parse_hashtable_literal

    sub = Script(text, "<psd1>", True)
    code = sub.code
    brace = code.find("@{")
    if brace < 0:
        raise ValueError("no @{ } hashtable")
    return _psd1_table(sub, brace + 1)


def _psd1_table(sub: Script, brace: int) -> dict[str, Any]:
    from scanner.resolve import parse_hashtable_literal, static_value

    entries, _ = parse_hashtable_literal(sub, brace, False, "psd1")
    table: dict[str, Any] = {}
    for entry in entries:
        text = entry.assignment.text
        if text.startswith("@{"):
            table[entry.key] = _psd1_table(sub, entry.assignment.start + 1)
        else:
            table[entry.key] = entry.assignment.value if entry.assignment.value is not None else static_value(text)
    return table


# --------------------------------------------------------------------------- navigation


def child(node: ConfigNode, key: str) -> ConfigNode:
    """``node.key`` (or ``node['key']``) the way PowerShell reads it: keys compare case-insensitively."""
    data = node.data
    keys = node.keys + (key,)
    if node.problem:
        return ConfigNode(node.path, keys, None, node.problem)
    value: Any = None
    rows: Optional[list[tuple[int, Any]]] = None
    if isinstance(data, _XmlDocument):
        value = data.root if _local(data.root.tag).lower() == key.lower() else None
    elif _is_element(data):
        attribute = next((v for k, v in data.attrib.items() if k.lower() == key.lower()), None)
        children = [c for c in data if _local(c.tag).lower() == key.lower()]
        if attribute is not None:
            value = attribute
        elif len(children) == 1:
            value = children[0]
        elif children:
            value = children
    elif isinstance(data, dict):
        value = next((v for k, v in data.items() if str(k).lower() == key.lower()), None)
    elif isinstance(data, list) and data and all(isinstance(row, dict) for row in data):
        # Member enumeration over rows (Import-Csv): one value when every row agrees; otherwise each
        # row's value is kept (in file order) so that every distinct one is assessed.
        each = [next((v for k, v in row.items() if str(k).lower() == key.lower()), None) for row in data]
        distinct = list(dict.fromkeys(json.dumps(v) for v in each))
        if len(distinct) == 1:
            value = each[0]
        else:
            value = [json.loads(v) for v in distinct]
            rows = [(i + 1, v) for i, v in enumerate(each)]
    return ConfigNode(node.path, keys, value, rows=rows, filtered=node.filtered)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


# --------------------------------------------------------------------------- what a script assigns

_GET_CONTENT = re.compile(r"(?i)\bGet-Content\b|\bgc\b|\bcat\b")
_CONVERT = re.compile(r"(?i)\|\s*(?:Out-String\s*\|\s*)?ConvertFrom-(Json|Yaml|StringData|Csv)\b|\bConvertFrom-(Json|Yaml|StringData|Csv)\b")
_IMPORT = re.compile(r"(?i)^\(?\s*(Import-PowerShellDataFile|Import-Csv|Import-LocalizedData)\b")


_VALUE_PARAMETERS = {"encoding", "delimiter", "header", "totalcount", "tail", "readcount", "first", "head", "uiculture", "basedirectory", "filename", "bindingvariable"}


def _command_path(text: str, command_end: int) -> Optional[str]:
    """The path argument of a command whose name ends at ``command_end``: -Path/-LiteralPath or the first positional."""
    i = command_end
    n = len(text)
    while i < n:
        while i < n and text[i] in " \t":
            i += 1
        if i >= n or text[i] in "|);\r\n}":
            return None
        m = re.match(r"-(\w+)(:)?\s*", text[i:])
        if m:
            name = m.group(1).lower()
            i += m.end()
            if name in ("path", "literalpath", "filepath", "pspath"):
                return text[i : scan_primary(text, i)] if i < n else None
            if name in _VALUE_PARAMETERS and i < n:
                i = scan_primary(text, i)
            continue
        try:
            end = scan_primary(text, i)
        except LexError:
            return None
        return text[i:end]
    return None


def _csv_options(arguments: str) -> Optional[dict[str, Any]]:
    """Import-Csv's -Delimiter and -Header as written ({} when neither), None when they are not constants."""
    from scanner.resolve import static_value

    quote = ""
    for i, c in enumerate(arguments):  # this command's arguments only: up to a `|`, `;` or line end outside quotes
        if quote:
            quote = "" if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c in "|;\r\n":
            arguments = arguments[:i]
            break
    options: dict[str, Any] = {}
    if re.search(r"(?i)(?<![\w-])-UseCulture\b", arguments):
        return None
    delimiter = re.search(r"(?i)(?<![\w-])-Delimiter(?::|\s+)\s*('[^']*'|\"[^\"$]*\"|[^\s'\"]+)", arguments)
    if delimiter:
        value = static_value(delimiter.group(1), argument_mode=True)
        if not isinstance(value, str) or len(value) != 1:
            return None
        options["delimiter"] = value
    header = re.search(r"(?i)(?<![\w-])-Header(?::|\s+)\s*((?:(?:'[^']*'|\"[^\"$]*\"|[\w.-]+)\s*,\s*)*(?:'[^']*'|\"[^\"$]*\"|[\w.-]+))", arguments)
    if header:
        value = static_value(header.group(1), argument_mode=True)
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            return None
        options["header"] = names
    elif re.search(r"(?i)(?<![\w-])-Header\b", arguments):
        return None
    return options


def loaded_node(script: Script, text: str, at: int, xml_cast: bool = False) -> Optional[ConfigNode]:
    """The configuration a value expression loads, if it is one of the recognised forms."""
    t = text.strip()
    if t.startswith("(") and t.endswith(")"):
        try:
            if skip_balanced(t, 0) == len(t):
                return loaded_node(script, t[1:-1], at, xml_cast)
        except LexError:
            return None
    xml = re.match(r"(?i)^\[xml\]\s*", t)
    if xml:
        return loaded_node(script, t[xml.end() :], at, True)
    imported = _IMPORT.match(t)
    if imported:
        kind = {"import-powershelldatafile": "psd1", "import-csv": "csv", "import-localizeddata": "psd1"}[imported.group(1).lower()]
        path = _command_path(t, imported.end())
        if kind == "csv" and path:
            options = _csv_options(t[imported.end() :])
            if options is None:
                return None  # -UseCulture, or a delimiter / header computed at run time: the columns are not known
            kind = "csv:" + json.dumps(options, sort_keys=True) if options else "csv"
        return load(script, kind, path, at) if path else None
    convert = _CONVERT.search(t)
    content = _GET_CONTENT.search(t)
    if content is None:
        return _ini_function_node(script, t, at)
    path = _command_path(t, content.end())
    if path is None:
        return None
    if convert is not None:
        kind = (convert.group(1) or convert.group(2)).lower()
        if kind == "csv":
            options = _csv_options(t[convert.end() :])  # ConvertFrom-Csv takes -Delimiter / -Header like Import-Csv
            if options is None:
                return None
            kind = "csv:" + json.dumps(options, sort_keys=True) if options else "csv"
        return load(script, kind, path, at)
    if xml_cast:
        return load(script, "xml", path, at)
    return None


_MEMBER_PATH = re.compile(r"(?i)^\$(?:script:|global:|local:|using:)?(\w+)((?:\.\w+|\[\s*['\"][^'\"]+['\"]\s*\]|\.Get_Item\(\s*['\"][^'\"]+['\"]\s*\))*)$")
_STEP = re.compile(r"(?i)\.Get_Item\(\s*['\"]([^'\"]+)['\"]\s*\)|\.(\w+)|\[\s*['\"]([^'\"]+)['\"]\s*\]")


def config_node(script: Script, text: str, at: int, depth: int = 0) -> Optional[ConfigNode]:
    """The configuration value a variable or member path (`$cfg.Mail.Server`, `$ini['host']`) reads."""
    from scanner.resolve import resolve_variable

    if depth > 6:
        return None
    t = text.strip()
    direct = loaded_node(script, t, at)
    if direct is not None:
        return direct
    m = _MEMBER_PATH.match(t)
    if m is None:
        return None
    name, steps = m.group(1), m.group(2)
    base: Optional[ConfigNode] = None
    found = resolve_variable(script, name, at)
    if found is not None and found.value is None:
        xml_cast = bool(re.search(r"(?i)\[xml\]\s*\$" + re.escape(name) + r"\s*=\s*$", script.text[max(0, found.start - 80) : found.start]))
        base = loaded_node(script, found.text, found.start, xml_cast) or config_node(script, found.text, found.start, depth + 1)
    if base is None:
        base = _loop_rows(script, name, at, depth)
    if base is None and name.lower() in ("_", "psitem"):
        base = _pipeline_rows(script, at, depth)
    if base is None and found is not None:
        base = key_value_table(script, name, found, at)
    if base is None:
        return None
    for step in _STEP.finditer(steps):
        key = step.group(1) or step.group(2) or step.group(3)
        if key.lower() in ("value", "innertext", "#text") and _is_element(base.data):
            base = ConfigNode(base.path, base.keys, (base.data.text or "").strip(), base.problem)
            continue
        base = child(base, key)
    return base


def _loop_rows(script: Script, name: str, at: int, depth: int) -> Optional[ConfigNode]:
    """`foreach ($row in $rows)` around ``at``: the rows (every row's value must agree to be known)."""
    pattern = re.compile(r"(?i)\bforeach\s*\(\s*\$" + re.escape(name) + r"\s+in\s+")
    for block in reversed(script.structure.enclosing(at)):
        head = script.code[max(0, block.start - 300) : block.start]
        m = None
        for m in pattern.finditer(head):
            pass
        if m is None:
            continue
        start = max(0, block.start - 300) + m.end()
        close = script.text.rfind(")", start, block.start)
        if close < 0:
            continue
        return config_node(script, script.text[start:close], start, depth + 1)
    return None


_FOREACH_OBJECT = re.compile(r"(?i)\|[ \t]*(?:ForEach-Object|foreach|%)(?:[ \t]+-Process)?[ \t]*(?:`?\r?\n[ \t]*)?$")


def pipeline_upstream(script: Script, block_start: int) -> Optional[tuple[int, int]]:
    """(start, end) of what is piped into the `ForEach-Object {` whose script block opens at
    ``block_start``: the statement's text before its last `|` (`$x = ` left out), else None."""
    code = script.code
    head_start = max(0, block_start - 2000)
    m = _FOREACH_OBJECT.search(code, head_start, block_start)
    if m is None:
        return None
    pipe = m.start()
    depth = 0
    i = pipe - 1
    while i >= 0:
        c = code[i]
        if c in ")]}":
            depth += 1
        elif c in "([{":
            if depth == 0:
                break
            depth -= 1
        elif depth == 0 and c == ";":
            break
        elif depth == 0 and c == "\n":
            before = code[:i].rstrip(" \t\r")
            if not before.endswith(("|", "`")):
                break
        i -= 1
    start = i + 1
    assign = re.match(r"[ \t\r\n]*(?:\$[\w:]+[ \t]*=(?!=)[ \t]*)?", code[start:pipe])
    if assign:
        start += assign.end()
    while start < pipe and code[start] in " \t\r\n":
        start += 1
    return (start, pipe) if start < pipe else None


_FILTERS = re.compile(r"(?i)\|\s*(?:Where-Object|where|\?|Select-Object|select|Sort-Object|sort)\b")


def _pipeline_rows(script: Script, at: int, depth: int) -> Optional[ConfigNode]:
    """`$_` / `$PSItem` inside `Import-Csv x.csv | ForEach-Object { … }` (or JSON rows): the rows piped in."""
    for block in reversed(script.structure.enclosing(at)):
        span = pipeline_upstream(script, block.start)
        if span is None:
            continue
        upstream = script.text[span[0] : span[1]].strip()
        node = loaded_node(script, upstream, span[0])
        if node is None:
            node = config_node(script, upstream, span[0], depth + 1)
        if node is not None and _FILTERS.search(script.code[span[0] : span[1]]):
            filtered = _FILTERS.search(script.code[span[0] : span[1]])
            node = ConfigNode(node.path, node.keys, node.data, node.problem, filtered=filtered.group(0).lstrip("| \t") if filtered else "")
        return node
    return None


# --------------------------------------------------------------------------- key=value files read by hand

_TABLE_WRITE = r"(?i)\$(?:script:|global:|local:)?{name}(?:[ \t]*\[(?:[^\[\]\r\n]|\[[^\]\r\n]*\])+\][ \t]*=(?!=)|\.Add[ \t]*\(|\.Set_Item[ \t]*\()"
_SPLIT_EQUALS = re.compile(
    r"""(?ix)
    -i?split[ \t]*\(?[ \t]*(?P<q>['"])(?P<re>(?:\\s[*+])?[ \t]*=[ \t]*(?:\\s[*+])?)(?P=q)[ \t]*\)?(?:[ \t]*,[ \t]*(?P<n>\d+))?
    | \.Split[ \t]*\([ \t]*(?:\[char\][ \t]*)?(?P<q2>['"])=(?P=q2)[ \t]*(?:,[ \t]*(?P<n2>\d+))?[ \t]*\)
    """
)
_LOOP_HEAD = re.compile(r"(?i)\bforeach[ \t]*\([ \t]*\$(\w+)[ \t]+in[ \t]+")


def _lines_source(script: Script, block_start: int, depth: int = 0) -> Optional[tuple[str, int]]:
    """The file whose lines a loop block walks: `Get-Content f | ForEach-Object {`, `foreach ($l in
    Get-Content f) {`, `foreach ($l in $lines) {` with `$lines = Get-Content f`: (path text, offset)."""
    from scanner.resolve import resolve_variable

    span = pipeline_upstream(script, block_start)
    text: Optional[str] = None
    at = block_start
    if span is not None:
        text, at = script.text[span[0] : span[1]], span[0]
    else:
        # `foreach (<var> in <expr>) {`: the parenthesis right before the block must be the foreach's.
        from scanner.structure import matching_open_paren

        close = block_start - 1
        while close >= 0 and script.code[close] in " \t\r\n":
            close -= 1
        if close < 0 or script.code[close] != ")":
            return None
        opening = matching_open_paren(script.code, close)
        m = None
        for candidate in _LOOP_HEAD.finditer(script.code, max(0, opening - 16), close):
            if script.code.find("(", candidate.start()) == opening:
                m = candidate
        if m is None:
            return None
        text, at = script.text[m.end() : close], m.end()
    text = text.strip()
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    var = re.fullmatch(r"(?i)\$(?:script:|global:|local:)?(\w+)", text)
    if var and depth < 2:
        found = resolve_variable(script, var.group(1), at)
        if found is None or found.value is not None:
            return None
        text, at = found.text, found.start
    content = _GET_CONTENT.match(text.lstrip("( "))
    reader = re.match(r"(?i)\(?\s*\[(?:System\.)?IO\.File\]::ReadAllLines\(\s*(.+?)\s*\)\s*\)?$", text)
    if reader:
        return reader.group(1), at
    if content is None:
        return None
    if re.search(r"(?i)ConvertFrom-|-Raw\b", text):
        return None  # one string, or data already parsed: not a line loop
    path = _command_path(text.lstrip("( "), content.end())
    return (path, at) if path else None


def key_value_table(script: Script, name: str, found: Any, at: int) -> Optional[ConfigNode]:
    """A hashtable filled by a hand-written loop over the `key=value` lines of a file:
    `Get-Content f | ForEach-Object { $k, $v = $_ -split '=', 2; $cfg[$k.Trim()] = $v.Trim() }`,
    `foreach ($line in Get-Content f) { $p = $line.Split('='); $h[$p[0]] = $p[1] }`, `-split '\\s*=\\s*'`.
    The file is read as the loop reads it: `[Section]` lines, comments and lines without `=` add no key."""
    empty = r"(?i)(?:\[(?:ordered|hashtable|System\.Collections\.Hashtable)\]\s*)?@\{\s*\}|New-Object\s+(?:-TypeName\s+)?(?:System\.Collections\.)?Hashtable"
    if not re.fullmatch(empty, found.text.strip()):
        return None
    write = re.compile(_TABLE_WRITE.format(name=re.escape(name)))
    for m in write.finditer(script.code, found.start, at):
        blocks = script.structure.enclosing(m.start())
        outer = set(script.structure.enclosing(found.start))
        for block in reversed(blocks):
            if block in outer:
                break
            body = script.text[block.start : block.end]
            matched = _match_table(script, name, block, m.start())
            if matched is not None:
                return matched
            split = _SPLIT_EQUALS.search(body)  # on the text: the masked code blanks the quoted '='
            if split is None:
                continue
            source = _lines_source(script, block.start)
            if source is None:
                continue
            limit = split.group("n") or split.group("n2")
            trims = "trim" in body.lower() or "\\s" in (split.group("re") or "")
            kind = f"keyvalue:{'trim' if trims else 'raw'}:{limit or 0}"
            node = load(script, kind, source[0], source[1])
            if node is not None:
                return node
    return None


_MATCHES_REF = r"\$matches\s*(?:\[\s*(?:(\d+)|'(\w+)'|\"(\w+)\")\s*\]|\.(\w+))"
_SWITCH_FILE = re.compile(r"(?i)\bswitch\s+(?:-(?:Regex|CaseSensitive|Wildcard|Exact)\s+)*-File(?=\s)")


def _match_table(script: Script, name: str, block: Any, write_at: int) -> Optional[ConfigNode]:
    """`if ($line -match '^(.+?)=(.*)$') { $h[$matches[1]] = $matches[2] }` in a line loop, or the same
    in `switch -Regex -File f { '^(.+?)=(.*)$' { … } }`: the file's lines run through the script's pattern."""
    statement_end = script.text.find("\n", write_at)
    statement = script.text[write_at : statement_end if statement_end >= 0 else len(script.text)]
    refs = re.match(r"(?i)\$(?:script:|global:|local:)?" + re.escape(name) + r"\[\s*(?P<k>" + _MATCHES_REF + r")(?P<kt>\.Trim\(\))?\s*\]\s*=\s*(?P<v>" + _MATCHES_REF + r")(?P<vt>\.Trim\(\))?", statement)
    if refs is None:
        return None

    def ref(text: str) -> Union[int, str]:
        g = re.match(r"(?i)" + _MATCHES_REF, text)
        assert g is not None
        return int(g.group(1)) if g.group(1) else (g.group(2) or g.group(3) or g.group(4))

    pattern: Optional[str] = None
    source: Optional[tuple[str, int]] = None
    head = script.text[max(0, block.start - 300) : block.start]
    case = re.search(r"(['\"])((?:(?!\1).)+)\1\s*$", head)
    parent = script.structure.blocks[block.parent] if block.parent >= 0 else None
    if case and parent is not None:
        switch = None
        for switch in _SWITCH_FILE.finditer(script.code, max(0, parent.start - 300), parent.start):
            pass
        if switch is not None and re.search(r"(?i)-Regex\b", script.code[switch.start() : switch.end()]):
            start = switch.end()
            while start < parent.start and script.text[start] in " \t":
                start += 1  # on the text: the masked code blanks the quoted path
            try:
                end = scan_primary(script.text, start)
            except LexError:
                return None
            pattern, source = case.group(2), (script.text[start:end], start)
    if pattern is None:
        # The loop over the lines, then the last `-match 'pattern'` before the write inside it.
        loop = next((b for b in reversed(script.structure.enclosing(write_at)) if _lines_source(script, b.start) is not None), None)
        if loop is None:
            return None
        test = None
        for test in re.finditer(r"(?i)-c?i?match\s*(['\"])((?:(?!\1).)+)\1", script.text[loop.start : write_at]):
            pass
        if test is None:
            return None
        pattern = test.group(2)
        source = _lines_source(script, loop.start)
    if source is None or pattern is None:
        return None
    python = re.sub(r"\(\?<(\w+)>", r"(?P<\1>", pattern)
    try:
        re.compile(python)
    except re.error:
        return None
    options = {"pattern": python, "key": ref(refs.group("k")), "value": ref(refs.group("v")), "trim": [bool(refs.group("kt")), bool(refs.group("vt"))]}
    return load(script, "keymatch:" + json.dumps(options, sort_keys=True), source[0], source[1])


_CASE = re.compile(r"""(?P<q>['"])(?P<pattern>(?:(?!(?P=q))[^\r\n])+)(?P=q)[ \t]*(?:\#[^\r\n]*)?\s*\{""")


def _ini_function_node(script: Script, text: str, at: int) -> Optional[ConfigNode]:
    """`$ini = Get-IniContent f` where the function is defined in this file and reads the file the
    classic way: `switch -regex -file $FilePath { "^\\[(.+)\\]" { $section = $matches[1]; $ini[$section] = @{} }
    "(.+?)\\s*=(.*)" { $name, $value = $matches[1..2]; $ini[$section][$name] = $value } }`.
    The file's lines run through the function's own two patterns: `$ini.Section.Key`, `$ini['Section']['Key']`."""
    from scanner.engine import function_parameters
    from scanner.extract.commands import CommandSpec, ParameterSpec, bind_arguments, find_command_sites, lex_call

    head = re.match(r"([A-Za-z][\w]*-[\w-]+)\b", text)
    if head is None:
        return None
    function = next((f for f in script.structure.functions if f.name.lower() == head.group(1).lower()), None)
    if function is None:
        return None
    body = script.text[function.body.start : function.body.end]
    code = script.code[function.body.start : function.body.end]
    switch = re.search(r"(?i)\bswitch\s+(?:-(?:regex|casesensitive)\s+)*-file\s+\$(\w+)\s*(?:-(?:regex|casesensitive)\s+)*\{", code)
    if switch is None or not re.search(r"(?i)-regex\b", switch.group(0)):
        return None
    section_pattern = key_pattern = None
    for case in _CASE.finditer(body, switch.end()):
        try:
            block_end = skip_balanced(body, case.end() - 1)
        except LexError:
            return None
        block = body[case.end() : block_end]
        pattern = case.group("pattern")
        if case.group("q") == '"' and re.search(r"\$[\w{(]", pattern):
            return None  # a pattern built from variables
        if re.search(r"(?i)\$section\s*=\s*\$matches\[\s*1\s*\]", block):
            section_pattern = pattern
        elif re.search(r"(?i)\$matches\[\s*1\s*\.\.\s*2\s*\]|\$matches\[\s*2\s*\]", block) and re.search(r"(?i)\[\s*\$section\s*\]\s*\[\s*\$\w+\s*\]\s*=", block):
            if re.search(r"(?i)\.Trim\(", block):
                return None  # trimmed somewhere: not the plain form read here
            key_pattern = pattern
    if section_pattern is None or key_pattern is None:
        return None
    parameters = function_parameters(script, function)
    sites = [site for site in find_command_sites(script, {function.name.lower(): function.name}, module="*") if site.start >= at - 1 and site.start <= at + len(text)]
    if not sites or not parameters:
        return None
    spec = CommandSpec(function.name, tuple(ParameterSpec(p, position=i) for i, p in enumerate(parameters)))
    binding = bind_arguments(script, spec, lex_call(script, sites[0]), sites[0].start)
    bound = next((b for n, b in binding.params.items() if n.lower() == switch.group(1).lower()), None)
    if bound is None:
        return None
    try:
        re.compile(section_pattern)
        re.compile(key_pattern)
    except re.error:
        return None
    options = {"section": section_pattern, "key": key_pattern}
    return load(script, "inisections:" + json.dumps(options, sort_keys=True), bound.text, sites[0].start)


def _ini_sections(text: str, kind: str) -> dict[str, Any]:
    """What the classic Get-IniContent builds: a table per `[Section]`, each line of the key pattern in it
    (switch -regex runs every case a line matches, case-insensitively; a new `[Section]` starts it empty)."""
    options = json.loads(kind.split(":", 1)[1])
    section_re = re.compile(options["section"], re.I)
    key_re = re.compile(options["key"], re.I)
    out: dict[str, Any] = {}
    section: Optional[str] = None
    for line in text.splitlines():
        m = section_re.search(line)
        if m is not None and m.groups():
            section = m.group(1)
            out[section] = {}
        k = key_re.search(line)
        if k is not None and len(k.groups()) >= 2 and section is not None:
            out[section][k.group(1)] = k.group(2)
    return out


def _key_matches(text: str, kind: str) -> dict[str, Any]:
    """The table a `-match` loop builds: each line the pattern matches (case-insensitively, as -match) adds a key."""
    options = json.loads(kind.split(":", 1)[1])
    pattern = re.compile(options["pattern"], re.I)
    out: dict[str, Any] = {}
    for line in text.splitlines():
        m = pattern.search(line)
        if m is None:
            continue
        try:
            key, value = m.group(options["key"]), m.group(options["value"])
        except IndexError:
            return {}  # the script reads a group its pattern does not have
        if key is None:
            continue
        out[key.strip() if options["trim"][0] else key] = value.strip() if options["trim"][1] and value is not None else value
    return out


def _key_values(text: str, kind: str) -> dict[str, Any]:
    """The table a split loop builds from ``text``: the last value of a key wins, as with `$h[$k] = $v`."""
    _, trim, limit = kind.split(":")
    out: dict[str, Any] = {}
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith(("#", ";", "[")) or "=" not in s:
            continue
        parts = line.split("=") if limit == "0" else line.split("=", int(limit) - 1)
        key = parts[0]
        value: Optional[str] = parts[1] if len(parts) > 1 else ""
        if trim == "trim" and value is not None:
            key, value = key.strip(), value.strip()
        if limit == "0" and len(parts) > 2:
            value = None  # `$k, $v = $line -split '='` leaves $v an array; `$p[1]` only its first part: not one value
        out[key] = value
    return out


# --------------------------------------------------------------------------- dot-sourcing

_DOT_SOURCE = re.compile(r"(?m)(?:^|[;{])[ \t]*\.(?=[ \t])")


def dot_sourced(script: Script, before: int) -> list[tuple[Script, str]]:
    """Scripts dot-sourced at script level before ``before`` that are in the scanned tree: (script, path)."""
    out: list[tuple[Script, str]] = []
    if script.root is None or ". " not in script.code:
        return out
    # Every variable the resolver cannot find in the file asks again: the statements are found once
    # per script. A match found in the code up to ``before`` is one that ends before it (the
    # lookahead needs the character after the dot).
    matches: Optional[list[re.Match[str]]] = script.memo.get("dot-source-statements")  # type: ignore[assignment]
    if matches is None:
        matches = script.memo["dot-source-statements"] = list(_DOT_SOURCE.finditer(script.code))
    for m in matches:
        if m.end() >= before:
            break
        if script.structure.function_at(m.end()) is not None and script.structure.function_at(m.end()) != script.structure.function_at(before):
            continue
        start = m.end()
        while start < len(script.text) and script.text[start] in " \t":
            start += 1  # on the text: the masked code blanks the quoted path too
        if start >= len(script.text) or script.text[start].isspace():
            continue
        try:
            end = scan_primary(script.text, start)
        except LexError:
            continue
        argument = script.text[start:end]
        written = path_value(script, argument, start)
        if written is None or not written.lower().endswith(".ps1"):
            continue
        memo_key = f"dot:{written}"
        cached = script.memo.get(memo_key)
        if isinstance(cached, tuple):
            if cached[0] is not None:
                out.append(cached)  # type: ignore[arg-type]
            continue
        full, rel, problem = locate(script, written)
        entry: tuple[Optional[Script], str] = (None, problem or rel)
        if full is not None:
            text, _ = _read(script, full, rel)
            if text is not None:
                sub = Script(text, rel)
                sub.root = script.root
                sub.estate = script.estate
                sub.memo["dependencies"] = script.memo.get("dependencies", {})
                entry = (sub, rel)
        script.memo[memo_key] = entry
        if entry[0] is not None:
            out.append(entry)  # type: ignore[arg-type]
    return out


# --------------------------------------------------------------------------- .NET mailSettings


def mail_settings(script: Script) -> Optional[ConfigNode]:
    """`<system.net><mailSettings><smtp>` of a web.config / app.config / <script>.config beside the script."""
    if script.root is None:
        return None
    base = _script_dir(script)
    names = [posixpath.basename(script.path) + ".config", "app.config", "web.config", "App.config", "Web.config"]
    for name in names:
        rel = posixpath.join(base, name) if base else name
        full = script.root / rel
        if not full.is_file():
            continue
        text, problem = _read(script, full, rel)
        if text is None:
            return ConfigNode(rel, (), None, problem)
        try:
            document = _parse("xml", text)
        except Exception:
            return ConfigNode(rel, (), None, f"the configuration file {rel} cannot be parsed as xml")
        smtp = document.root.find("system.net/mailSettings/smtp")
        if smtp is not None:
            return ConfigNode(rel, ("system.net", "mailSettings", "smtp"), smtp)
    return None
