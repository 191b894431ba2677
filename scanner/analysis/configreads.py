"""How a script reads its configuration into variables: `Get-Content x.json | ConvertFrom-Json`,
`[xml](Get-Content x.xml)`, `Import-PowerShellDataFile`, `Import-Csv` rows, `foreach` and pipeline
rows, key=value files read by hand, INI readers defined in the script, dot-sourced scripts.

Reading such code means knowing what its path variables hold, and knowing a variable can mean
reading such code: the two recurse. The resolver (``scanner.analysis.resolve``) sits above this
module and hands itself in as a :class:`Values`; ``configfiles`` below reads the files.
"""

from __future__ import annotations

import json
import re
from typing import Any, Optional, Protocol, Union

from scanner.analysis.commands import CommandSpec, ParameterSpec, argument_text, find_command_sites, lex_call
from scanner.analysis.configfiles import ROOT_MARK, ConfigNode, child, command_path, csv_options, is_element, load_file, locate, parse_document, pipeline_upstream, read_config
from scanner.analysis.functions import function_parameters
from scanner.analysis.literals import Assignment, static_value
from scanner.lexer import LexError, scan_primary, skip_balanced
from scanner.script import Script
from scanner.structure import matching_open_paren


class Values(Protocol):
    """What the configuration readers ask the resolver: a variable's assignment, an expression's value."""

    def resolve_variable(self, script: Script, name: str, at: int, depth: int = 0) -> Optional[Assignment]: ...

    def follow_value(self, script: Script, text: str, at: int, depth: int = 0) -> Optional[Assignment]: ...


_SCRIPT_ROOT = re.compile(
    r"(?i)\$\{?PSScriptRoot\}?|\$\((?:Split-Path\s+(?:-Parent\s+)?(?:-Path\s+)?)\$(?:PSCommandPath|MyInvocation\.MyCommand\.(?:Path|Definition))\)"
)


_SPLIT_PATH = re.compile(r"(?i)^\(?\s*Split-Path\s+(?:-Parent\s+)?(?:-Path\s+)?\$(?:PSCommandPath|MyInvocation\.MyCommand\.(?:Path|Definition))(?:\s+-Parent)?\s*\)?$")


# The parent is a word or a parenthesised expression ((Split-Path -Parent $MyInvocation.MyCommand.Path), one
# level of nested parentheses), the child what follows it.
_JOIN_PATH = re.compile(r"(?is)^\(?\s*Join-Path\s+(?:-Path\s+)?(?P<a>\((?:[^()]|\([^()]*\))*\)|\S+)\s+(?:-ChildPath\s+)?(?P<b>[^)]+?)\s*\)?$")


def path_value(values: Values, script: Script, text: str, at: int, depth: int = 0) -> Optional[str]:
    """The path a PowerShell path argument names, with `$PSScriptRoot` as a marker for the script's folder."""

    t = text.strip()
    if depth > 5 or not t:
        return None
    if _SPLIT_PATH.match(t) or re.fullmatch(r"(?i)\$\{?PSScriptRoot\}?", t):
        return ROOT_MARK
    join = _JOIN_PATH.match(t)
    if join:
        a = path_value(values, script, join.group("a"), at, depth + 1)
        b = path_value(values, script, join.group("b"), at, depth + 1)
        return None if a is None or b is None else a.rstrip("\\/") + "/" + b.lstrip("\\/")
    marked = _SCRIPT_ROOT.sub(lambda m: ROOT_MARK, t)
    if marked != t and t[:1] == '"':
        inner = marked[1:-1]
        if "$" not in inner:
            return inner
    if t[:1] not in "'\"$(@":
        bare = static_value(t, argument_mode=True)  # a bare word is a string in argument mode: .\settings.xml
        return bare if isinstance(bare, str) else None
    found = values.follow_value(script, marked if marked[:1] in "'\"" else t, at)
    if found is not None and isinstance(found.value, str):
        return found.value
    var = re.fullmatch(r"(?i)\$(?:script:|global:|local:)?(\w+)", t)
    if var:
        assigned = values.resolve_variable(script, var.group(1), at)
        if assigned is not None:
            return path_value(values, script, assigned.text, assigned.start, depth + 1)
    return None


_GET_CONTENT = re.compile(r"(?i)\bGet-Content\b|\bgc\b|\bcat\b")


_CONVERT = re.compile(r"(?i)\|\s*(?:Out-String\s*\|\s*)?ConvertFrom-(Json|Yaml|StringData|Csv)\b|\bConvertFrom-(Json|Yaml|StringData|Csv)\b")


_IMPORT = re.compile(r"(?i)^\(?\s*(Import-PowerShellDataFile|Import-Csv|Import-LocalizedData)\b")


def loaded_node(values: Values, script: Script, text: str, at: int, xml_cast: bool = False) -> Optional[ConfigNode]:
    """The configuration a value expression loads, if it is one of the recognised forms."""
    t = text.strip()
    if t.startswith("(") and t.endswith(")"):
        try:
            if skip_balanced(t, 0) == len(t):
                return loaded_node(values, script, t[1:-1], at, xml_cast)
        except LexError:
            return None
    xml = re.match(r"(?i)^\[xml\]\s*", t)
    if xml:
        return loaded_node(values, script, t[xml.end() :], at, True)
    imported = _IMPORT.match(t)
    if imported:
        kind = {"import-powershelldatafile": "psd1", "import-csv": "csv", "import-localizeddata": "psd1"}[imported.group(1).lower()]
        path = command_path(t, imported.end())
        if kind == "csv" and path:
            options = csv_options(t[imported.end() :])
            if options is None:
                return None  # -UseCulture, or a delimiter / header computed at run time: the columns are not known
            kind = "csv:" + json.dumps(options, sort_keys=True) if options else "csv"
        return load(values, script, kind, path, at) if path else None
    convert = _CONVERT.search(t)
    content = _GET_CONTENT.search(t)
    if content is None:
        if convert is not None:
            inline = _inline_node(values, script, t, convert, at)
            if inline is not None:
                return inline
        return _ini_function_node(values, script, t, at)
    path = command_path(t, content.end())
    if path is None:
        return None
    if convert is not None:
        kind = (convert.group(1) or convert.group(2)).lower()
        if kind == "csv":
            options = csv_options(t[convert.end() :])  # ConvertFrom-Csv takes -Delimiter / -Header like Import-Csv
            if options is None:
                return None
            kind = "csv:" + json.dumps(options, sort_keys=True) if options else "csv"
        return load(values, script, kind, path, at)
    if xml_cast:
        return load(values, script, "xml", path, at)
    return None


# A switch that changes nothing about which keys and values a converted document has.
_HARMLESS_SWITCH = r"\s+-(?:AsHashtable|NoEnumerate|Depth\s+\d+|DateKind\s+\w+)"
_CONVERT_SWITCHES = re.compile(rf"(?i)(?:{_HARMLESS_SWITCH})*\s*")
_CONVERT_ARGUMENT = re.compile(r"(?is)\s+(?:-(?:InputObject|StringData|Yaml)\s*:?\s*)?")
_ARGUMENT_THEN_SWITCHES = re.compile(rf"(?is)(?P<document>.+?)(?:{_HARMLESS_SWITCH})*\s*")


def _inline_node(values: Values, script: Script, t: str, convert: "re.Match[str]", at: int) -> Optional[ConfigNode]:
    """A document the script writes itself and converts: `@'{…}'@ | ConvertFrom-Json`, `$json | ConvertFrom-Json`,
    `ConvertFrom-StringData @'…'@`, `ConvertFrom-Json -InputObject $text`, the text a constant (a literal or
    a variable set to one). Its keys are read as a configuration file's are; None when it is not this form."""
    kind = (convert.group(1) or convert.group(2)).lower()
    if kind not in ("json", "stringdata", "yaml"):
        return None
    if convert.group(1):  # piped: what flows in is everything before the pipe
        document = t[: convert.start()].strip()
        if not _CONVERT_SWITCHES.fullmatch(t[convert.end() :]):
            return None
    else:
        if t[: convert.start()].strip():
            return None
        argument = _CONVERT_ARGUMENT.match(t, convert.end())
        if argument is None:
            return None
        split = _ARGUMENT_THEN_SWITCHES.fullmatch(t, argument.end())
        if split is None:
            return None
        document = split.group("document").strip()
    if not document or document[:1] not in "@'\"$":
        return None
    found = values.follow_value(script, document, at)
    if found is None or not isinstance(found.value, str):
        return None
    start = at + max(t.find(document), 0)
    line = found.line if document[:1] == "$" and found.line else script.line_of(start)
    label = f"{script.path} (line {line})"
    memo_key = f"inline-config:{kind}:{found.value}"
    cached = script.memo.get(memo_key)
    if isinstance(cached, ConfigNode):
        return ConfigNode(label, (), cached.data, cached.problem)
    node = ConfigNode(label, (), None)
    try:
        node.data = parse_document(kind, found.value)
    except Exception as exc:  # noqa: BLE001 - JSON, YAML and lexer errors alike: text we cannot read is not a crash
        node.problem = f"the {kind} the script writes at line {line} cannot be parsed ({str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__})"
    script.memo[memo_key] = node
    return node


_MEMBER_PATH = re.compile(r"(?i)^\$(?:script:|global:|local:|using:)?(\w+)((?:\.\w+|\[\s*['\"][^'\"]+['\"]\s*\]|\.Get_Item\(\s*['\"][^'\"]+['\"]\s*\))*)$")


_STEP = re.compile(r"(?i)\.Get_Item\(\s*['\"]([^'\"]+)['\"]\s*\)|\.(\w+)|\[\s*['\"]([^'\"]+)['\"]\s*\]")


def config_node(values: Values, script: Script, text: str, at: int, depth: int = 0) -> Optional[ConfigNode]:
    """The configuration value a variable or member path (`$cfg.Mail.Server`, `$ini['host']`) reads."""
    if depth > 6:
        return None
    t = text.strip()
    direct = loaded_node(values, script, t, at)
    if direct is not None:
        return direct
    m = _MEMBER_PATH.match(t)
    if m is None:
        return None
    name, steps = m.group(1), m.group(2)
    base: Optional[ConfigNode] = None
    found = values.resolve_variable(script, name, at)
    if found is not None and found.value is None:
        xml_cast = bool(re.search(r"(?i)\[xml\]\s*\$" + re.escape(name) + r"\s*=\s*$", script.text[max(0, found.start - 80) : found.start]))
        base = loaded_node(values, script, found.text, found.start, xml_cast) or config_node(values, script, found.text, found.start, depth + 1)
    if base is None:
        base = _loop_rows(values, script, name, at, depth)
    if base is None and name.lower() in ("_", "psitem"):
        base = _pipeline_rows(values, script, at, depth)
    if base is None and found is not None:
        base = key_value_table(values, script, name, found, at)
    if base is None:
        return None
    for step in _STEP.finditer(steps):
        key = step.group(1) or step.group(2) or step.group(3)
        if key.lower() in ("value", "innertext", "#text") and is_element(base.data):
            base = ConfigNode(base.path, base.keys, (base.data.text or "").strip(), base.problem)
            continue
        base = child(base, key)
    return base


def _loop_rows(values: Values, script: Script, name: str, at: int, depth: int) -> Optional[ConfigNode]:
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
        return config_node(values, script, script.text[start:close], start, depth + 1)
    return None


_FILTERS = re.compile(r"(?i)\|\s*(?:Where-Object|where|\?|Select-Object|select|Sort-Object|sort)\b")


def _pipeline_rows(values: Values, script: Script, at: int, depth: int) -> Optional[ConfigNode]:
    """`$_` / `$PSItem` inside `Import-Csv x.csv | ForEach-Object { … }` (or JSON rows): the rows piped in."""
    for block in reversed(script.structure.enclosing(at)):
        span = pipeline_upstream(script, block.start)
        if span is None:
            continue
        upstream = script.text[span[0] : span[1]].strip()
        node = loaded_node(values, script, upstream, span[0])
        if node is None:
            node = config_node(values, script, upstream, span[0], depth + 1)
        if node is not None and _FILTERS.search(script.code[span[0] : span[1]]):
            filtered = _FILTERS.search(script.code[span[0] : span[1]])
            node = ConfigNode(node.path, node.keys, node.data, node.problem, filtered=filtered.group(0).lstrip("| \t") if filtered else "")
        return node
    return None


_TABLE_WRITE = r"(?i)\$(?:script:|global:|local:)?{name}(?:[ \t]*\[(?:[^\[\]\r\n]|\[[^\]\r\n]*\])+\][ \t]*=(?!=)|\.Add[ \t]*\(|\.Set_Item[ \t]*\()"


_SPLIT_EQUALS = re.compile(
    r"""(?ix)
    -i?split[ \t]*\(?[ \t]*(?P<q>['"])(?P<re>(?:\\s[*+])?[ \t]*=[ \t]*(?:\\s[*+])?)(?P=q)[ \t]*\)?(?:[ \t]*,[ \t]*(?P<n>\d+))?
    | \.Split[ \t]*\([ \t]*(?:\[char\][ \t]*)?(?P<q2>['"])=(?P=q2)[ \t]*(?:,[ \t]*(?P<n2>\d+))?[ \t]*\)
    """
)


_LOOP_HEAD = re.compile(r"(?i)\bforeach[ \t]*\([ \t]*\$(\w+)[ \t]+in[ \t]+")


def _lines_source(values: Values, script: Script, block_start: int, depth: int = 0) -> Optional[tuple[str, int]]:
    """The file whose lines a loop block walks: `Get-Content f | ForEach-Object {`, `foreach ($l in
    Get-Content f) {`, `foreach ($l in $lines) {` with `$lines = Get-Content f`: (path text, offset)."""
    span = pipeline_upstream(script, block_start)
    text: Optional[str] = None
    at = block_start
    if span is not None:
        text, at = script.text[span[0] : span[1]], span[0]
    else:
        # `foreach (<var> in <expr>) {`: the parenthesis right before the block must be the foreach's.

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
        found = values.resolve_variable(script, var.group(1), at)
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
    path = command_path(text.lstrip("( "), content.end())
    return (path, at) if path else None


def key_value_table(values: Values, script: Script, name: str, found: Any, at: int) -> Optional[ConfigNode]:
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
            matched = _match_table(values, script, name, block, m.start())
            if matched is not None:
                return matched
            split = _SPLIT_EQUALS.search(body)  # on the text: the masked code blanks the quoted '='
            if split is None:
                continue
            source = _lines_source(values, script, block.start)
            if source is None:
                continue
            limit = split.group("n") or split.group("n2")
            trims = "trim" in body.lower() or "\\s" in (split.group("re") or "")
            kind = f"keyvalue:{'trim' if trims else 'raw'}:{limit or 0}"
            node = load(values, script, kind, source[0], source[1])
            if node is not None:
                return node
    return None


_MATCHES_REF = r"\$matches\s*(?:\[\s*(?:(\d+)|'(\w+)'|\"(\w+)\")\s*\]|\.(\w+))"


_SWITCH_FILE = re.compile(r"(?i)\bswitch\s+(?:-(?:Regex|CaseSensitive|Wildcard|Exact)\s+)*-File(?=\s)")


def _match_table(values: Values, script: Script, name: str, block: Any, write_at: int) -> Optional[ConfigNode]:
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
        loop = next((b for b in reversed(script.structure.enclosing(write_at)) if _lines_source(values, script, b.start) is not None), None)
        if loop is None:
            return None
        test = None
        for test in re.finditer(r"(?i)-c?i?match\s*(['\"])((?:(?!\1).)+)\1", script.text[loop.start : write_at]):
            pass
        if test is None:
            return None
        pattern = test.group(2)
        source = _lines_source(values, script, loop.start)
    if source is None or pattern is None:
        return None
    python = re.sub(r"\(\?<(\w+)>", r"(?P<\1>", pattern)
    try:
        re.compile(python)
    except re.error:
        return None
    options = {"pattern": python, "key": ref(refs.group("k")), "value": ref(refs.group("v")), "trim": [bool(refs.group("kt")), bool(refs.group("vt"))]}
    return load(values, script, "keymatch:" + json.dumps(options, sort_keys=True), source[0], source[1])


_CASE = re.compile(r"""(?P<q>['"])(?P<pattern>(?:(?!(?P=q))[^\r\n])+)(?P=q)[ \t]*(?:\#[^\r\n]*)?\s*\{""")


def _ini_function_node(values: Values, script: Script, text: str, at: int) -> Optional[ConfigNode]:
    """`$ini = Get-IniContent f` where the function is defined in this file and reads the file the
    classic way: `switch -regex -file $FilePath { "^\\[(.+)\\]" { $section = $matches[1]; $ini[$section] = @{} }
    "(.+?)\\s*=(.*)" { $name, $value = $matches[1..2]; $ini[$section][$name] = $value } }`.
    The file's lines run through the function's own two patterns: `$ini.Section.Key`, `$ini['Section']['Key']`."""

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
    argument = argument_text(spec, lex_call(script, sites[0]), switch.group(1))
    if argument is None:
        return None
    try:
        re.compile(section_pattern)
        re.compile(key_pattern)
    except re.error:
        return None
    options = {"section": section_pattern, "key": key_pattern}
    return load(values, script, "inisections:" + json.dumps(options, sort_keys=True), argument, sites[0].start)


_DOT_SOURCE = re.compile(r"(?m)(?:^|[;{])[ \t]*\.(?=[ \t])")


def dot_sourced(values: Values, script: Script, before: int) -> list[tuple[Script, str]]:
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
        written = path_value(values, script, argument, start)
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
            text, _ = read_config(script, full, rel)
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


def load(values: Values, script: Script, kind: str, path_text: str, at: int) -> Optional[ConfigNode]:
    """The data of the configuration file a path argument names (None when the path is not known)."""
    written = path_value(values, script, path_text, at)
    if written is None:
        return None
    return load_file(script, kind, written)
