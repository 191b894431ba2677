"""Static values in one script: variables, splatted hashtables, $PSDefaultParameterValues, $PSEmailServer."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import Optional

from scanner.lexer import LexError, literal_value, scan_primary, scan_value, skip_balanced, split_arguments
from scanner.model import Provenance
from scanner.script import Script
from scanner.structure import Block, assigned_value_extent, matching_open_paren
from scanner.analysis.configfiles import ConfigNode, child, scalar
from scanner.analysis.configreads import config_node, dot_sourced
from scanner.analysis.functions import parameter_list
from scanner.analysis.literals import Assignment, HashtableEntry, constructor_arguments, parse_hashtable_literal, skip_spaces, static_value



def _var_pattern(name: str) -> str:
    # The lookbehind comes after the `$` it guards: a pattern that starts with a literal is searched
    # for that character at C speed, one that starts with a lookbehind is tried at every offset
    # (measured ~15x slower). `\$(?<![\w$:]\$)` accepts exactly the `$` that `(?<![\w$:])\$` accepts.
    return r"\$(?<![\w$:]\$)(?:script:|global:|local:|private:)?" + re.escape(name) + r"(?![\w:])"


_SCOPES = ("script:", "global:", "local:", "private:", "using:")


def _assignments(script: Script, name: str, before: int, anywhere: bool = False) -> list[tuple[int, int, str]]:
    """(statement start, value start, operator) of `$name = …` / `$name += …` before ``before``
    (visible from it), or, with ``anywhere``, at script level anywhere in the file."""
    found = []
    pattern = re.compile(r"(?i)" + _var_pattern(name) + r"[ \t]*(\+?=)(?!=)")
    for m in pattern.finditer(script.code, 0, len(script.code) if anywhere else before):
        if anywhere:
            scoped = m.group(0)[1:].lower().startswith(("script:", "global:"))
            if script.structure.function_at(m.start()) is not None and not scoped:
                continue
        elif not script.structure.visible_from(m.start(), before):
            continue
        owner = _header_owner(script, m.start())
        if owner is not None and (anywhere or script.structure.function_at(before) != owner):
            continue  # a default in `function f($x = 1)` exists only inside f
        found.append((m.start(), skip_spaces(script.text, m.end()), m.group(1)))
    return found


def _header_owner(script: Script, offset: int) -> Optional[Block]:
    """The body of the function whose header `function f(…)` contains ``offset``."""
    headers = script.memo.get("function-headers")
    if headers is None:
        headers = sorted((f.name_end, f.body.start, f.body) for f in script.structure.functions if f.body.start > f.name_end + 1)
        script.memo["function-headers"] = headers
    assert isinstance(headers, list)
    index = bisect.bisect_right(headers, (offset, len(script.text) + 1)) - 1
    while index >= 0:
        start, end, body = headers[index]
        if start <= offset < end:
            return body  # type: ignore[no-any-return]
        if end <= offset and start < offset - 4096:
            break
        index -= 1
    return None


def _chain_covers(script: Script, offsets: list[int], at: int) -> bool:
    """Whether every path to ``at`` runs one of ``offsets``: an if/elseif/else chain that ends in
    `else` and assigns in each branch (the branches' blocks are siblings, none is a loop)."""
    structure = script.structure
    outer = set(structure.enclosing(at))
    branches = []
    for offset in offsets:
        inner = [b for b in structure.enclosing(offset) if b not in outer]
        if not inner:
            return True  # unconditional
        branches.append(inner[0])
    code = structure.code_lower
    first = min(branches, key=lambda b: b.start)
    if _header_word(code, first.start) != "if":
        return False
    # Walk the chain: `} elseif (...) {` and `} else {` after each branch.
    chain = [first]
    block = first
    while True:
        following = [b for b in structure.blocks if b.parent == block.parent and b.start > block.end]
        if not following:
            break
        nxt = min(following, key=lambda b: b.start)
        between = code[block.end : nxt.start]
        if re.fullmatch(r"\s*else\s*", between):
            chain.append(nxt)
            return all(any(b == c for b in branches) for c in chain) and all(b in chain for b in branches)
        if re.match(r"\s*elseif\s*\(", between):
            chain.append(nxt)
            block = nxt
            continue
        break
    return False


def _header_word(code: str, brace: int) -> str:
    """The keyword before a block's `(…)` header: `if` for `if (…) {`."""
    j = brace - 1
    while j >= 0 and code[j] in " \t\r\n":
        j -= 1
    if j < 0 or code[j] != ")":
        return ""
    j = matching_open_paren(code, j)
    m = re.search(r"([\w-]+)\s*$", code[max(0, j - 40) : j])
    return m.group(1) if m else ""


def _function_parameter(script: Script, name: str, at: int) -> bool:
    """Whether ``$name`` is a parameter of the function that contains ``at``."""
    body = script.structure.function_at(at)
    if body is None:
        return False
    function = next((f for f in script.structure.functions if f.body.start == body.start), None)
    low = name.lower()
    pattern = re.compile(r"(?i)\$" + re.escape(low) + r"(?![\w:])")
    if function is not None and pattern.search(script.code, function.name_end, body.start):
        return True
    for start, end in script.structure.param_blocks:
        if body.start < start < body.end and script.structure.function_at(start) == body and pattern.search(script.code, start, end):
            return True
    return False


# Commands that run a script block elsewhere and hand its param() block the values of -ArgumentList.
_BLOCK_RUNNERS = re.compile(r"(?i)(?<![\w-])(?:Start-Job|Start-ThreadJob|Invoke-Command|icm)(?![\w-])")
_ARGUMENT_LIST = re.compile(r"(?i)(?<![\w-])-(?:ArgumentList|Args)(?=[ \t:])")
_NEXT_PARAMETER = re.compile(r"[ \t]+-[A-Za-z]")


def _block_argument(script: Script, name: str, at: int) -> Optional[tuple[int, str]]:
    """``$name`` is a parameter of the script block around ``at`` that Start-Job / Invoke-Command runs with
    -ArgumentList: (offset, text) of the argument at its position (`{ param($m) … } -ArgumentList $mail`)."""
    structure = script.structure
    code, text = script.code, script.text
    for block in reversed(structure.enclosing(at)):
        if block.name:
            return None  # a function's parameters are its callers'
        opening = skip_spaces(code, block.start + 1)
        while opening < block.end and code[opening] in " \t\r\n":
            opening += 1
        span = next(((s, e) for s, e in structure.param_blocks if s == opening), None)
        if span is None:
            continue
        paren = code.find("(", span[0])
        names = [declared.lower() for declared, _ in parameter_list(text, paren + 1, span[1] - 1)]
        if name.lower() not in names:
            return None
        index = names.index(name.lower())
        line_start = code.rfind("\n", 0, block.start) + 1
        line_end = code.find("\n", block.end)
        line_end = len(code) if line_end < 0 else line_end
        if not _BLOCK_RUNNERS.search(code, line_start, block.start):
            return None
        found = _ARGUMENT_LIST.search(code, block.end, line_end) or _ARGUMENT_LIST.search(code, line_start, block.start)
        if found is None:
            return None
        limit = line_end if found.start() > block.end else block.start
        # The values start after the switch (and a `:`), read on the text: the masked code shows a string as blanks.
        first = found.end()
        while first < limit and text[first] in " \t:":
            first += 1
        # The next parameter ends them: found on the text (a string is blanks in the code), outside strings.
        stop = next((m for m in _NEXT_PARAMETER.finditer(text, first, limit) if code[m.end() - 2] == "-"), None)
        end = stop.start() if stop else limit
        end = min(end, next((i for i in range(first, end) if code[i] in ";|"), end))
        elements = split_arguments(text, first, end)
        if index >= len(elements):
            return None
        s, e = elements[index]
        return s, text[s:e].strip()
    return None


def resolve_variable(script: Script, name: str, at: int, depth: int = 0) -> Optional[Assignment]:
    """The value ``$name`` holds at ``at`` in a visible scope, if the script shows it.

    The last unconditional assignment wins; assignments on several paths count when they all give
    the same value (then the value is known on every path); a variable read inside a function
    and assigned only at script level is looked up there; a value that is itself a variable, a
    quoted variable or a cast is followed.
    """
    low = name.lower()
    if ":" in name and not low.startswith(_SCOPES):
        return None  # $env:X and provider paths are outside the file
    scoped = low.startswith(("script:", "global:"))
    name = name.split(":", 1)[-1]
    structure = script.structure
    assigns = [a for a in _assignments(script, name, at) if a[2] == "="]
    script_scope = False
    if not assigns and depth < 4:
        sourced = _dot_sourced_variable(script, name, at, depth)
        if sourced is not None:
            return sourced
    if not assigns and (scoped or structure.function_at(at) is not None) and not _function_parameter(script, name, at):
        assigns = [a for a in _assignments(script, name, at, anywhere=True) if a[2] == "="]
        script_scope = bool(assigns)
    if not assigns:
        handed = _block_argument(script, name, at) if depth < 4 else None
        if handed is not None:
            found = follow_value(script, handed[1], handed[0], depth + 1)
            if found is not None:
                found.origin = f"-ArgumentList of the script block (line {script.line_of(handed[0])}): {found.origin}"
            return found
        return None
    if script_scope:
        reaching = assigns
        relative = len(script.text)
    else:
        reaching = []
        relative = at
        for a in reversed(assigns):
            reaching.append(a)
            if not structure.is_conditional(a[0], at):
                break
    results = [_assigned(script, name, a, depth) for a in reaching]
    latest = results[0]
    if len(results) == 1:
        latest.conditional = structure.is_conditional(reaching[0][0], relative)
    else:
        values = {repr(r.value) for r in results}
        agree = len(values) == 1 and latest.value is not None
        covered = not script_scope and (not structure.is_conditional(reaching[-1][0], at) or _chain_covers(script, [a[0] for a in reaching], at))
        if script_scope:
            covered = any(not structure.is_conditional(a[0], relative) for a in reaching)
        constants = all(r.value is not None and not r.conditional for r in results)
        latest.conditional = not (agree and covered)
        if agree and covered:
            latest.origin = f"the same value on every path (lines {', '.join(str(script.line_of(a[0])) for a in reversed(reaching))})"
        elif covered and not script_scope and constants:
            # Every path sets it, to constants that differ: no one value, each path's kept (row 0 = a path
            # of this file, not a configuration row); the call is assessed once per value, the worst applies.
            lines = ", ".join(str(script.line_of(a[0])) for a in reversed(reaching))
            latest = Assignment(latest.text, latest.start, latest.line, True, None, f"${name} differs by path (lines {lines})",
                                alternatives=[(f"path {k}: ${name} = … (line {script.line_of(a[0])})", 0, r.value)
                                              for k, (a, r) in enumerate(zip(reversed(reaching), reversed(results)), 1)])
    if script_scope:
        latest.origin = f"script scope: {latest.origin}"
    return latest


def _dot_sourced_variable(script: Script, name: str, at: int, depth: int) -> Optional[Assignment]:
    """``$name`` as a dot-sourced script in the scanned tree sets it (the last such file wins)."""

    for sub, rel in reversed(dot_sourced(VALUES, script, at)):
        found = resolve_variable(sub, name, len(sub.text), depth + 1)
        if found is not None:
            found.origin = f"dot-sourced {rel}: {found.origin}"
            if found.provenance is Provenance.WRITTEN:
                found.provenance, found.source = Provenance.CONFIG_FILE, f"{rel}: ${name} (line {found.line})"
            return found
    return None


def _assigned(script: Script, name: str, assign: tuple[int, int, str], depth: int) -> Assignment:
    stmt, value_start, _ = assign
    header = _header_owner(script, stmt) is not None
    if header:  # function f($Server = 'x', $Port = 25) { … }: a parameter default, one value
        try:
            start, end = value_start, scan_primary(script.text, value_start)
        except LexError:
            start, end = assigned_value_extent(script.structure, value_start)
    else:
        start, end = assigned_value_extent(script.structure, value_start)
    text = script.text[start:end].strip()
    origin = "param default" if header or script.structure.in_param_block(stmt) else f"${name} = … (line {script.line_of(stmt)})"
    found = Assignment(text, start, script.line_of(start), False, static_value(text), origin)
    if found.value is None and depth < 4:
        followed = follow_value(script, text, start, depth + 1)
        if followed is not None and followed.value is not None:
            found.value = followed.value
            found.conditional = followed.conditional
            found.origin = f"{origin}, {followed.origin}"
            found.provenance, found.source = followed.provenance, followed.source
        elif followed is not None and (followed.provenance is not Provenance.WRITTEN or followed.alternatives):
            found.origin = f"{origin}: {followed.origin}"
            found.provenance, found.source = followed.provenance, followed.source
            found.alternatives = followed.alternatives
    return found


_CAST = re.compile(r"(?i)^\[(?:System\.)?(?:string|int|int32|uint16|bool|boolean)\][ \t]*")
_VARIABLE_TEXT = re.compile(r"(?i)^\$(?:\{)?((?:script:|global:|local:|private:|using:|env:)?\w+)(?:\})?$")
_EMBEDDED_VARIABLE = re.compile(r"(?i)`.|\$\{([^}]+)\}|\$((?:script:|global:|local:|private:|using:)?\w+)")
_MAIL_ADDRESS_NEW = re.compile(r"(?i)New-Object\s+(?:-TypeName\s+)?(?:System\.)?(?:Net\.Mail\.)?MailAddress\b|\[(?:System\.)?(?:Net\.Mail\.)?MailAddress\]::new\b")
_MAIL_ADDRESS = re.compile(r"(?i)^\[(?:System\.)?(?:Net\.Mail\.)?MailAddress\][ \t]*(.+)$")


def follow_value(script: Script, text: str, at: int, depth: int = 0) -> Optional[Assignment]:
    """The constant a value text stands for at ``at``, followed through variables, quoting
    (`"$Server"`, `"smtp.$domain"`), casts (`[string]$x`), parentheses, scopes (`$using:`,
    `$script:`) and MailAddress constructions; None when it depends on the run."""
    t = text.strip()
    if depth > 6 or not t:
        return None
    value = static_value(t)
    if value is not None:
        return Assignment(t, at, script.line_of(at), False, value, "literal")
    if t.startswith("(") and t.endswith(")"):
        try:
            if skip_balanced(t, 0) == len(t):
                return follow_value(script, t[1:-1], at, depth + 1)
        except LexError:
            return None
    cast = _CAST.match(t)
    if cast:
        return follow_value(script, t[cast.end() :], at, depth + 1)
    variable = _VARIABLE_TEXT.match(t)
    if variable:
        found = resolve_variable(script, variable.group(1), at, depth + 1)
        if found is None or found.value is None or _parameter_default(script, found.start):
            # What .smtp2graph.toml declares is what the run gives: it decides over a parameter's
            # default (`[string]$MailServer = ''`), which any caller may replace.
            assumed = assumed_variable(script, variable.group(1), at)
            if assumed is None and found is not None and (found.value is not None or found.provenance is Provenance.CONFIG_FILE
                                                          or found.alternatives):
                return found  # no declaration: the default, or no value but the reason names the configuration file or the paths
            return assumed
        return found
    if len(t) >= 2 and t[0] == '"' and t[-1] == '"' and "$(" not in t:
        return _expand(script, t[1:-1], at, depth)
    address = mail_address(script, t, at, depth)
    if address is not None:
        return address
    member = _member_value(script, t, at, depth)
    if member is not None:
        return member
    branches = _branch_bodies(t)
    if branches is not None:
        return _same_in_every_branch(script, t, at, depth, branches)
    return config_value(script, t, at)


_IF_HEAD = re.compile(r"(?i)if[ \t]*\(")
_ELSEIF_HEAD = re.compile(r"(?i)\s*elseif[ \t]*\(")
_ELSE_HEAD = re.compile(r"(?i)\s*else\s*(?=\{)")
_SWITCH_HEAD = re.compile(r"(?i)switch(?:[ \t]+-(?:regex|wildcard|exact|casesensitive))*[ \t]*\(")
_SWITCH_LABEL = re.compile(r"""\s*(?:'(?:[^']|'')*'|"[^"]*"|[^\s{}'"]+)\s*(?=\{)""")


def _block_body(text: str, i: int) -> Optional[tuple[str, int]]:
    """The text inside the `{ … }` at ``i`` (after spaces) and the offset past it; None when there is none."""
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    if i >= len(text) or text[i] != "{":
        return None
    try:
        end = skip_balanced(text, i)
    except LexError:
        return None
    return text[i + 1 : end - 1].strip(), end


def _branch_bodies(text: str) -> Optional[list[str]]:
    """The bodies of `if (…) {…} elseif (…) {…} else {…}` or `switch (…) { … default {…} }` written as a
    value (`$server = if ($test) { 'a' } else { 'b' }`), when every path gives one (an else, a default)."""
    try:
        head = _IF_HEAD.match(text)
        if head is not None:
            bodies: list[str] = []
            i = skip_balanced(text, head.end() - 1)
            while True:
                block = _block_body(text, i)
                if block is None:
                    return None
                bodies.append(block[0])
                i = block[1]
                more = _ELSEIF_HEAD.match(text, i)
                if more is not None:
                    i = skip_balanced(text, more.end() - 1)
                    continue
                last = _ELSE_HEAD.match(text, i)
                if last is None:
                    return None  # no else: on the other path the value is $null
                block = _block_body(text, last.end())
                if block is None or text[block[1]:].strip():
                    return None
                return bodies + [block[0]]
        head = _SWITCH_HEAD.match(text)
        if head is None:
            return None
        outer = _block_body(text, skip_balanced(text, head.end() - 1))
        if outer is None or text[outer[1]:].strip():
            return None
        inner, bodies, default, i = outer[0], [], False, 0
        while inner[i:].strip():
            label = _SWITCH_LABEL.match(inner, i)
            if label is None:
                return None  # a condition block, or something else: not read
            block = _block_body(inner, label.end())
            if block is None:
                return None
            default = default or label.group().strip().lower() == "default"
            bodies.append(block[0])
            i = block[1]
        return bodies if default and bodies else None
    except LexError:
        return None


def _same_in_every_branch(script: Script, text: str, at: int, depth: int, bodies: list[str]) -> Optional[Assignment]:
    """One value when every branch gives the same constant (as a statement-form if/else that sets the
    variable alike on every path does); each branch's constant kept as an alternative when they differ
    (the call is assessed once per value); None when one is not known."""
    values = []
    for body in bodies:
        found = follow_value(script, body, at, depth + 1)
        if found is None or found.value is None or found.conditional:
            return None
        values.append(found.value)
    if any(repr(v) != repr(values[0]) for v in values[1:]):
        # Constants that differ by branch: each kept (row 0 = a path of this file), the worst verdict applies.
        line = script.line_of(at)
        return Assignment(text, at, line, True, None, f"a different value in each branch ({len(bodies)}, line {line})",
                          alternatives=[(f"branch {n} (line {line})", 0, v) for n, v in enumerate(values, 1)])
    return Assignment(text, at, script.line_of(at), False, values[0], f"the same value in every branch ({len(bodies)})")


# `$cfg.Mail.Server`, `$cfg['Mail']['Server']`: a key (or a chain of them) of a variable.
_MEMBER = re.compile(r"""(?i)^\$(?:script:|global:|local:)?(\w+)((?:\.\w+|\[[ \t]*(?:'[^'\r\n]*'|"[^"$`\r\n]*")[ \t]*\])+)$""")
_MEMBER_STEP = re.compile(r"""\.(\w+)|\[[ \t]*(?:'([^']*)'|"([^"]*)")[ \t]*\]""")
_TABLE_OR_OBJECT_LITERAL = re.compile(r"(?i)(?:\[(?:ordered|hashtable|System\.Collections\.Hashtable|pscustomobject)\][ \t]*)?@\{")


def _member_value(script: Script, text: str, at: int, depth: int) -> Optional[Assignment]:
    """The value of a key of a hashtable the script writes (`$cfg = @{ Mail = @{ Server = 'x' } }` then
    `$cfg.Mail.Server`): the table as rebuilt before ``at`` (resolve_hashtable: later `.Key =` and
    `[Key] =` edits included), then each nested `@{}` literal. None when a key is not written there (a
    table loaded from a configuration file is config_value's) or a nested table is changed after it
    was written (only the outer table's edits are followed)."""
    m = _MEMBER.match(text)
    if m is None:
        return None
    name = m.group(1)
    keys = [a or b or c for a, b, c in _MEMBER_STEP.findall(m.group(2))]
    if depth > 6 or not any(kind == "=" and _TABLE_OR_OBJECT_LITERAL.match(script.code, value) for _, value, kind in _assignments(script, name, at)):
        return None  # no table literal is assigned to it: nothing written here to read
    # Rebuilding the table follows values again (an entry's `$x`, whose table may hold `$cfg.Key`): bounded.
    nesting = script.memo.get("member-nesting", 0)
    assert isinstance(nesting, int)
    if nesting >= 3:
        return None
    script.memo["member-nesting"] = nesting + 1
    try:
        return _member_of_table(script, text, at, depth, name, keys)
    finally:
        script.memo["member-nesting"] = nesting


def _member_of_table(script: Script, text: str, at: int, depth: int, name: str, keys: list[str]) -> Optional[Assignment]:
    table = resolve_hashtable(script, name, at, objects=True)
    entry = table.entries.get(keys[0].lower()) if table.defined_at >= 0 and table.complete else None
    if entry is None or entry.assignment.provenance is not Provenance.WRITTEN:
        return None
    assignment = entry.assignment
    if len(keys) > 1:
        first = re.escape(keys[0])
        changed = re.compile(rf"""(?i)\$(?:script:|global:|local:)?{re.escape(name)}(?:\.{first}|\[[ \t]*['"]{first}['"][ \t]*\])"""
                             r"""(?:\.\w+|\[[^\]\r\n]*\])+[ \t]*(?:[-+*/]?=(?!=)|\.(?:Add|Remove|Clear)\b)""")
        if changed.search(script.code, table.defined_at, at) or changed.search(script.text, table.defined_at, at):
            return None  # a nested key set after the literal: its value at the call is not the written one
    for key in keys[1:]:
        literal = _TABLE_OR_OBJECT_LITERAL.match(script.code, assignment.start)
        if literal is None:
            return None
        entries, _ = parse_hashtable_literal(script, literal.end() - 1, assignment.conditional, assignment.origin)
        nested = next((e for e in entries if e.key.lower() == key.lower()), None)
        if nested is None:
            return None
        assignment = nested.assignment
    value, conditional, origin = assignment.value, assignment.conditional, assignment.origin
    provenance, source = Provenance.WRITTEN, ""
    if value is None:
        followed = follow_value(script, assignment.text, assignment.start, depth + 1)  # `Server = $server`
        if followed is None or followed.value is None:
            return None
        value, conditional = followed.value, conditional or followed.conditional
        origin, provenance, source = f"{origin}; {followed.origin}", followed.provenance, followed.source
    path = "".join(f".{key}" for key in keys)
    return Assignment(text, at, script.line_of(at), conditional, value, f"${name}{path} of {origin}", provenance, source)


def config_value(script: Script, text: str, at: int) -> Optional[Assignment]:
    """A value read from a configuration file the script loads (`$cfg.Mail.Server`), marked config-file.

    When the file cannot be read (outside the tree, missing) the Assignment has no value and its
    origin says why, with the path; an [assume] entry for the file and key decides it then.
    """

    if script.root is None or "$" not in text:
        return None
    # config_node follows variables again (resolve_variable -> follow_value -> here): bound the
    # nesting so that `$x = $x.Next` or two variables built from each other cannot loop.
    nesting = script.memo.get("config-nesting", 0)
    assert isinstance(nesting, int)
    if nesting >= 3:
        return None
    script.memo["config-nesting"] = nesting + 1
    try:
        node = config_node(VALUES, script, text, at)
    finally:
        script.memo["config-nesting"] = nesting
    if node is None:
        return None
    value = scalar(node) if not node.problem else None
    source = node.source
    if node.rows is not None and not node.problem:
        return _row_values(script, text, at, node)
    if value is None and script.estate:
        hit = script.estate.assumed_key(node.path, node.key_text)
        if hit is not None:
            entry = f'{script.estate.source}: [assume] "{hit[0]}" = "{hit[1]}"'
            return Assignment(text, at, script.line_of(at), False, hit[1], f"declared in {entry} ({node.problem or 'not a single value'})", Provenance.DECLARED, entry)
    if isinstance(value, str) and value.strip() and value != value.strip():
        # `Server = smtp.office365.com` split on '=' without a Trim(): the script passes ' smtp.office365.com',
        # and whether that name resolves is decided at run time, not here.
        why = f"{source} in {node.path} is {value!r}, with spaces the script does not trim"
        return Assignment(text, at, script.line_of(at), False, None, why, Provenance.CONFIG_FILE, source)
    if value is None:
        why = node.problem or f"{source} is not a single value in {node.path}"
        return Assignment(text, at, script.line_of(at), False, None, why, Provenance.CONFIG_FILE, source)
    return Assignment(text, at, script.line_of(at), False, value, f"configuration file {source}", Provenance.CONFIG_FILE, source)


def _row_values(script: Script, text: str, at: int, node: ConfigNode) -> Assignment:
    """A column whose rows disagree: no one value, every distinct one listed with its rows."""

    assert node.rows is not None
    by_value: dict[str, list[int]] = {}
    alternatives: list[tuple[str, int, object]] = []
    for row, data in node.rows:
        one = scalar(ConfigNode(node.path, node.keys, data))
        alternatives.append((node.path, row, one))
        by_value.setdefault(repr(one) if one is not None else "(empty)", []).append(row)
    listed = "; ".join(f"{value} ({_rows_text(rows)})" for value, rows in list(by_value.items())[:MAX_ROW_VALUES])
    if len(by_value) > MAX_ROW_VALUES:
        # Too many to assess one by one: the call stays unknown, and says so.
        listed += f"; and {len(by_value) - MAX_ROW_VALUES} more distinct values"
        return Assignment(text, at, script.line_of(at), False, None, f"{node.source} has {len(by_value)} distinct values in the rows of {node.path}: {listed}", Provenance.CONFIG_FILE, node.source)
    # Each distinct value is assessed once; a few rows of each are kept to name them.
    kept: dict[str, int] = {}
    trimmed: list[tuple[str, int, object]] = []
    for path, row, value in alternatives:
        key = repr(value)
        kept[key] = kept.get(key, 0) + 1
        if kept[key] <= 8:
            trimmed.append((path, row, value))
    alternatives = trimmed
    why = f"{node.source} differs between the rows of {node.path}: {listed}"
    if node.filtered:
        # A filter decides which rows reach the call: assessing every row could blame a row it drops.
        return Assignment(text, at, script.line_of(at), False, None, f"{why}; the rows pass {node.filtered} first, which decides which of them are sent", Provenance.CONFIG_FILE, node.source)
    return Assignment(text, at, script.line_of(at), False, None, why, Provenance.CONFIG_FILE, node.source, alternatives)


MAX_ROW_VALUES = 20


def _rows_text(rows: list[int]) -> str:
    shown = ", ".join(str(r) for r in rows[:8]) + (f" and {len(rows) - 8} more" if len(rows) > 8 else "")
    return ("row " if len(rows) == 1 else "rows ") + shown


def _parameter_default(script: Script, offset: int) -> bool:
    """Whether a value at ``offset`` is the default of a script or function parameter."""
    if any(start <= offset < end for start, end in script.structure.param_blocks):
        return True
    return _header_owner(script, offset) is not None


def assumed_variable(script: Script, name: str, at: int) -> Optional[Assignment]:
    """The value .smtp2graph.toml's [assume] declares for ``$name``, marked declared."""
    estate = script.estate
    hit = estate.assumed_variable(name) if estate else None
    if hit is None or estate is None:
        return None
    key, value = hit
    entry = f'{estate.source}: [assume] "{key}" = "{value}"'
    return Assignment("$" + name, at, script.line_of(at), False, value, f"declared in {entry}", Provenance.DECLARED, entry)


def _expand(script: Script, inner: str, at: int, depth: int) -> Optional[Assignment]:
    """An expandable string whose every variable has a known string value."""
    parts: list[str] = []
    origins: list[str] = []
    conditional = False
    cursor = 0
    for m in _EMBEDDED_VARIABLE.finditer(inner):
        if m.group(0).startswith("`"):
            continue
        name = m.group(1) or m.group(2)
        found = resolve_variable(script, name, at, depth + 1)
        if found is None or not isinstance(found.value, (str, int)) or isinstance(found.value, bool):
            return None
        parts.append(inner[cursor : m.start()])
        parts.append(str(found.value))
        origins.append(f"${name.split(':')[-1]}: {found.origin}")
        conditional = conditional or found.conditional
        cursor = m.end()
    if not origins:
        return None
    parts.append(inner[cursor:])
    literal = literal_value('"' + "".join(parts).replace("$", "`$") + '"')
    if literal is None:
        return None
    return Assignment('"' + inner + '"', at, script.line_of(at), conditional, literal, "; ".join(origins))


def mail_address(script: Script, text: str, at: int, depth: int = 0) -> Optional[Assignment]:
    """`New-Object Net.Mail.MailAddress('a@b', 'Name')`, `[MailAddress]::new(…)` or `[mailaddress]'a@b'`
    as the address text Send-MailMessage and MailMessage would use ("Name <a@b>")."""

    t = text.strip()
    cast = _MAIL_ADDRESS.match(t)
    if cast and not cast.group(1).startswith(("::", "(")):
        return follow_value(script, cast.group(1), at, depth + 1)
    if not _MAIL_ADDRESS_NEW.match(t[1:] if t.startswith("(") else t):
        return None
    arguments = constructor_arguments(t)
    if not arguments:
        return None
    first = follow_value(script, arguments[0], at, depth + 1)
    if first is None or not isinstance(first.value, str):
        return None
    display = follow_value(script, arguments[1], at, depth + 1) if len(arguments) > 1 else None
    if len(arguments) > 1 and (display is None or not isinstance(display.value, str)):
        return Assignment(t, at, script.line_of(at), first.conditional, first.value, "MailAddress constructor")
    value = f"{display.value} <{first.value}>" if display is not None and display.value else first.value
    conditional = first.conditional or (display is not None and display.conditional)
    return Assignment(t, at, script.line_of(at), conditional, value, "MailAddress constructor")


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


def resolve_hashtable(script: Script, name: str, at: int, objects: bool = False) -> Hashtable:
    """Rebuild the hashtable ``$name`` splatted at ``at``: its literal plus later .Add / [k]= / .k= / += edits.

    ``objects``: a `[pscustomobject]@{}` counts too (its members are read like keys; it is no splat)."""
    table = Hashtable(name)
    if name.lower() in ("psboundparameters", "args"):
        table.complete = False
        table.reasons.append(f"@{name} forwards the caller's parameters, which are not known in this file")
        return table
    structure = script.structure
    assigns = _assignments(script, name, at)
    base = [a for a in assigns if a[2] == "="]
    handed = _block_argument(script, name, at) if not base else None
    if handed is not None and re.fullmatch(r"\$(?:script:|global:|local:)?\w+", handed[1]):
        source = resolve_hashtable(script, handed[1].lstrip("$").split(":")[-1], handed[0])
        source.reasons = [f"-ArgumentList of the script block (line {script.line_of(handed[0])}): {r}" for r in source.reasons]
        return source
    if not base:
        table.complete = False
        table.reasons.append(f"${name} is not assigned in this file before the call")
        return table
    reaching: list[tuple[int, int, str]] = []
    for assign in reversed(base):
        reaching.append(assign)
        if not structure.is_conditional(assign[0], at):
            break
    stmt = reaching[0][0]
    table.defined_at = stmt
    covered = len(reaching) == 1 or not structure.is_conditional(reaching[-1][0], at) or _chain_covers(script, [r[0] for r in reaching], at)
    built: list[Hashtable] = []
    for r_stmt, r_value, _ in reaching:
        one = _base_table(script, name, r_stmt, r_value, structure.is_conditional(r_stmt, at) if len(reaching) == 1 else False, objects)
        if one is None:
            return table
        built.append(one)
        if not one.complete:
            table.complete = False
            table.reasons.extend(one.reasons)
    if len(built) == 1:
        table.entries = dict(built[0].entries)
    else:
        agreed = []
        for key, entry in built[0].entries.items():
            same = all(key in other.entries and other.entries[key].assignment.value is not None and repr(other.entries[key].assignment.value) == repr(entry.assignment.value) for other in built[1:])
            if not (same and covered and entry.assignment.value is not None):
                entry.assignment.conditional = True
            else:
                agreed.append(entry.key)
                entry.assignment.origin = f"@{{}} with the same {entry.key} on every path (lines {', '.join(str(script.line_of(r[0])) for r in reversed(reaching))})"
            table.entries[key] = entry
        for other in built[1:]:
            for key, entry in other.entries.items():
                if key not in table.entries:
                    entry.assignment.conditional = True
                    table.entries[key] = entry
        if len(agreed) < len(table.entries):
            table.reasons.append(f"${name} is assigned on more than one path")
    table_start = min(r[0] for r in reaching)
    _apply_edits(script, table, name, table_start, at)
    return table


_CLONE = re.compile(r"(?i)\$(?:script:|global:|local:)?(\w+)(?:\.Clone\(\))?[ \t]*(?:[;\r\n#}]|$)")


def _config_table(script: Script, name: str, stmt: int, value_start: int, conditional: bool) -> Optional[Hashtable]:
    """A splat read from a configuration file (`$mail = Import-PowerShellDataFile mail.psd1`, `$cfg.Mail`)."""

    if script.root is None:
        return None
    start, end = assigned_value_extent(script.structure, value_start)
    node = config_node(VALUES, script, script.text[start:end].strip(), start)
    if node is None:
        return None
    table = Hashtable(name)
    if node.problem or not isinstance(node.data, dict):
        table.complete = False
        table.reasons.append(node.problem or f"{node.source} is not a table of parameters")
        return table
    line = script.line_of(stmt)
    for key in node.data:
        item: ConfigNode = child(node, str(key))
        value = scalar(item)
        if isinstance(item.data, list) and all(isinstance(v, str) for v in item.data):
            value = None
        origin = f"configuration file {item.source}"
        table.set(str(key), Assignment(f"${name}['{key}']", start, line, conditional, value, origin, Provenance.CONFIG_FILE, item.source))
    return table


def _base_table(script: Script, name: str, stmt: int, value_start: int, conditional: bool, objects: bool = False) -> Optional[Hashtable]:
    """The hashtable one assignment `$name = …` creates: a literal, or a copy (`.Clone()`) of another table."""
    table = Hashtable(name)
    code = script.code
    m = (_TABLE_OR_OBJECT_LITERAL if objects else _TABLE_LITERAL).match(code, value_start)
    if m is None:
        clone = _CLONE.match(code, value_start)
        if clone is not None and clone.group(1).lower() != name.lower():
            _copy_entries(table, resolve_hashtable(script, clone.group(1), stmt), conditional,
                          f"${clone.group(1)} copied at line {script.line_of(stmt)}")
            return table
        summed = _summed_table(script, name, stmt, value_start, conditional)
        if summed is not None:
            return summed
        loaded = _config_table(script, name, stmt, value_start, conditional)
        if loaded is not None:
            return loaded
        table.complete = False
        snippet = script.text[value_start : value_start + 40].split("\n")[0]
        table.reasons.append(f"${name} is built by an expression ({snippet.strip()}), not a hashtable literal")
        return table
    entries, complete = parse_hashtable_literal(script, m.end() - 1, conditional, f"@{{}} (line {script.line_of(stmt)})")
    for entry in entries:
        table.set(entry.key, entry.assignment)
    if not complete:
        table.complete = False
        table.reasons.append(f"a key of ${name} is computed")
    return table


_TABLE_LITERAL = re.compile(r"(?i)(?:\[(?:ordered|hashtable|System\.Collections\.Hashtable)\][ \t]*)?@\{")
_TABLE_VARIABLE = re.compile(r"(?i)\$(?:script:|global:|local:)?(\w+)(?:\.Clone\(\))?")


def _copy_entries(table: Hashtable, source: Hashtable, conditional: bool, how: str) -> None:
    """Copy ``source``'s entries into ``table`` (a clone, an operand of a sum), saying ``how`` in their origin."""
    table.complete = table.complete and source.complete
    table.reasons.extend(source.reasons)
    for key, entry in source.entries.items():
        copied = Assignment(**{**entry.assignment.__dict__})
        copied.conditional = copied.conditional or conditional
        copied.origin = f"{how}, {copied.origin}"
        table.entries[key] = HashtableEntry(entry.key, copied)


def _summed_table(script: Script, name: str, stmt: int, value_start: int, conditional: bool) -> Optional[Hashtable]:
    """`$base + @{ Subject = … }` (or `$a + $b`): the tables added together; None when the value is no such sum."""
    code = script.code
    start, end = assigned_value_extent(script.structure, value_start)
    operands: list[tuple[int, int]] = []
    depth, begin = 0, start
    for i in range(start, end):
        c = code[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == "+" and depth == 0 and code[i + 1 : i + 2] not in ("+", "=") and code[i - 1 : i] != "+":
            operands.append((begin, i))
            begin = i + 1
    operands.append((begin, end))
    if len(operands) < 2:
        return None
    table = Hashtable(name)
    line = script.line_of(stmt)
    for s, e in operands:
        s = skip_spaces(code, s)
        piece = code[s:e].strip()
        literal = _TABLE_LITERAL.match(code, s)
        variable = _TABLE_VARIABLE.fullmatch(piece)
        if literal is not None:
            entries, complete = parse_hashtable_literal(script, literal.end() - 1, conditional, f"@{{}} added at line {line}")
            if not complete:
                table.complete = False
                table.reasons.append(f"a key of ${name} is computed")
            for entry in entries:
                table.set(entry.key, entry.assignment)
        elif variable is not None and variable.group(1).lower() != name.lower():
            _copy_entries(table, resolve_hashtable(script, variable.group(1), stmt), conditional,
                          f"${variable.group(1)} added at line {line}")
        else:
            return None
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
    # Searched once per script, not once per call: a file with thousands of calls stays linear.
    memo: Optional[tuple[list[re.Match[str]], list[re.Match[str]], list[re.Match[str]]]] = script.memo.get("psdefault_matches")  # type: ignore[assignment]
    if memo is None:
        if "psdefaultparametervalues" not in structure.code_lower:
            memo = ([], [], [])
        else:
            memo = (list(_PSDEFAULT_INDEX.finditer(code)), list(_PSDEFAULT_ADD.finditer(code)), list(_PSDEFAULT_ASSIGN.finditer(code)))
        script.memo["psdefault_matches"] = memo
    index_matches, add_matches, assign_matches = memo
    if not (index_matches or add_matches or assign_matches):
        return {}
    for m in (m for m in index_matches if m.end() <= at):
        key = literal_value(text[m.start("key") : m.end("key")].strip())
        if key is None:
            continue
        vstart, vend = assigned_value_extent(structure, skip_spaces(text, m.end()))
        value_text = text[vstart:vend].strip()
        line = script.line_of(m.start())
        found.append((m.start(), key, Assignment(value_text, vstart, line, structure.is_conditional(m.start(), at), static_value(value_text), f"$PSDefaultParameterValues['{key}'] (line {line})")))
    for m in (m for m in add_matches if m.end() <= at):
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
    for m in (m for m in assign_matches if m.end() <= at):
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


class _ScriptValues:
    """This module's answers, handed to the configuration readers below it (configreads.Values)."""

    @staticmethod
    def resolve_variable(script: Script, name: str, at: int, depth: int = 0) -> Optional[Assignment]:
        return resolve_variable(script, name, at, depth)

    @staticmethod
    def follow_value(script: Script, text: str, at: int, depth: int = 0) -> Optional[Assignment]:
        return follow_value(script, text, at, depth)


VALUES = _ScriptValues()
