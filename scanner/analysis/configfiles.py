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

from scanner.lexer import LexError, scan_primary
from scanner.script import Script
from scanner.analysis.literals import parse_hashtable_literal, static_value
from scanner.files import DecodeError, decode

MAX_CONFIG_BYTES = 2 * 1024 * 1024
ROOT_MARK = "\x00scriptroot\x00"


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
    if is_element(data):
        if len(data) or data.attrib:
            return None
        return (data.text or "").strip()
    if isinstance(data, bool) or isinstance(data, (str, int)):
        return data
    if isinstance(data, float) and data.is_integer():
        return int(data)
    return None


def is_element(data: Any) -> bool:
    return hasattr(data, "tag") and hasattr(data, "attrib")


# --------------------------------------------------------------------------- paths


def _script_dir(script: Script) -> str:
    return posixpath.dirname(script.path.replace("\\", "/"))


def locate(script: Script, written: str) -> tuple[Optional[Path], str, str]:
    """(absolute file, path relative to the scan root, problem) for a path the script names.

    A relative path is relative to the current folder at run time: taken as the script's folder,
    which is what a script that names `.\\settings.json` assumes.
    """
    path = written.replace("\\", "/")
    shown = written.replace(ROOT_MARK, "$PSScriptRoot/")
    if re.match(r"^[A-Za-z]:/|^//|^/|^~", path):
        return None, shown, f"the configuration file {shown} is outside the scanned tree"
    base = _script_dir(script)
    if ROOT_MARK in path:
        path = path.split(ROOT_MARK)[-1].lstrip("/")
    rel = posixpath.normpath(posixpath.join(base, path) if base else path)
    if rel.startswith("../") or rel == "..":
        return None, rel, f"the configuration file {rel} is outside the scanned tree"
    if script.root is None:
        return None, rel, f"the configuration file {rel} is not read (no scan root)"
    full = script.root / rel
    if not full.is_file():
        depends_on(script, rel, ABSENT)  # if it appears, the verdict may change: part of the cache key
        return None, rel, f"the configuration file {rel} is not in the scanned tree"
    return full, rel, ""


# What the analysis of a script read besides the script itself (configuration files, dot-sourced
# scripts) and what it looked for and did not find: rel -> file_state. A cached analysis is reused
# only while every one of them is as it was (scanner.estate.worker).
ABSENT = "absent"


def depends_on(script: Script, rel: str, state: str) -> None:
    dependencies = script.memo.setdefault("dependencies", {})
    assert isinstance(dependencies, dict)
    dependencies[rel] = state


def content_state(raw: bytes) -> str:
    return hashlib.sha256(raw[: MAX_CONFIG_BYTES + 1]).hexdigest()


def file_state(full: Path) -> str:
    """What a dependency is now: the hash of what the readers read of it, or ABSENT."""
    try:
        with open(full, "rb") as handle:
            return content_state(handle.read(MAX_CONFIG_BYTES + 1))
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return ABSENT
    except OSError:
        return "unreadable"


# --------------------------------------------------------------------------- loading


def read_config(script: Script, full: Path, rel: str) -> tuple[Optional[str], str]:
    try:
        raw = full.read_bytes()[: MAX_CONFIG_BYTES + 1]
    except OSError as exc:
        return None, f"the configuration file {rel} cannot be read ({exc.strerror or exc})"
    if len(raw) > MAX_CONFIG_BYTES:
        return None, f"the configuration file {rel} is over {MAX_CONFIG_BYTES // 1024 // 1024} MB"
    depends_on(script, rel, content_state(raw))

    try:
        return decode(raw)[0], ""
    except DecodeError as exc:
        return None, f"the configuration file {rel} cannot be decoded ({exc})"


def load_file(script: Script, kind: str, written: str) -> ConfigNode:
    """The data of the configuration file ``written`` (a path as the script names it, resolved)
    loaded as ``kind`` (json, xml, psd1, stringdata, yaml, csv, ps1), or why it cannot be read."""
    memo_key = f"config:{kind}:{written}"
    cached = script.memo.get(memo_key)
    if isinstance(cached, ConfigNode):
        return cached
    full, rel, problem = locate(script, written)
    node = ConfigNode(rel, (), None, problem)
    if full is not None:
        text, problem = read_config(script, full, rel)
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


def parse_document(kind: str, text: str) -> Any:
    """``text`` read as ``kind`` (json, stringdata, yaml …): a document the script writes itself and converts.
    Raises what the reader raises (ValueError, LexError, a YAML error) on text it cannot read."""
    return _parse(kind, text)


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

    sub = Script(text, "<psd1>", True)
    code = sub.code
    brace = code.find("@{")
    if brace < 0:
        raise ValueError("no @{ } hashtable")
    return _psd1_table(sub, brace + 1)


def _psd1_table(sub: Script, brace: int) -> dict[str, Any]:

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
    elif is_element(data):
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


_VALUE_PARAMETERS = {"encoding", "delimiter", "header", "totalcount", "tail", "readcount", "first", "head", "uiculture", "basedirectory", "filename", "bindingvariable"}


def command_path(text: str, command_end: int) -> Optional[str]:
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


def csv_options(arguments: str) -> Optional[dict[str, Any]]:
    """Import-Csv's -Delimiter and -Header as written ({} when neither), None when they are not constants."""

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


# --------------------------------------------------------------------------- key=value files read by hand


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
            depends_on(script, rel, ABSENT)
            continue
        text, problem = read_config(script, full, rel)
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
