""".NET and COM objects a script creates, the variable that holds each one, and what is done to it.

Shared by the SmtpClient recognizer and the other object-based senders (MailKit, CDO, Outlook).
"""

from __future__ import annotations

import bisect
import copy
import re
from dataclasses import dataclass, field
from typing import Optional

from scanner.analysis.binding import bind_arguments
from scanner.analysis.commands import CommandSpec, ParameterSpec, find_command_sites, lex_call
from scanner.analysis.functions import function_parameters
from scanner.lexer import LexError, split_arguments
from scanner.analysis.literals import skip_spaces
from scanner.script import Script
from scanner.structure import assigned_value_extent
from scanner.analysis.literals import constructor_arguments, literal_or_none, static_value
from scanner.analysis.resolve import follow_value
from scanner.model import BindKind, BoundParam
from scanner.analysis.binding import set_alternatives

NEW_OBJECT = CommandSpec(
    "New-Object",
    (
        ParameterSpec("TypeName", ("Type",), position=0),
        ParameterSpec("ArgumentList", ("Args",), position=1),
        ParameterSpec("ComObject", ("Com",)),
        ParameterSpec("Property"),
        ParameterSpec("Strict", switch=True),
    ),
)


@dataclass
class Construction:
    """`$var = New-Object T(args)` / `[T]::new(args)` / `New-Object -ComObject T`."""

    type_name: str  # as written
    start: int
    end: int
    arguments: list[tuple[int, int]]  # spans of constructor arguments
    variable: Optional[str] = None  # without `$`, lower-case
    form: str = "new-object"  # new-object, static-new, com
    property_spans: list[tuple[int, int]] = field(default_factory=list)  # New-Object -Property @{…}


@dataclass
class MemberUse:
    """`$var.Member = value` or `$var.Member(args)` / `$var.A.B(args)`."""

    member: str  # dotted path after the variable, e.g. "To.Add", "Host"
    start: int  # start of `$var`
    end: int  # end of the statement part that was read
    member_start: int  # offset of the `.` before the first member
    value: Optional[tuple[int, int]] = None  # assigned value span
    arguments: list[tuple[int, int]] = field(default_factory=list)  # call arguments
    is_call: bool = False


def assigned_variable(script: Script, start: int) -> Optional[str]:
    code = script.code
    line_start = max(code.rfind("\n", 0, start), code.rfind(";", 0, start)) + 1
    m = re.search(r"\$(?:script:|global:|local:)?([\w]+)[ \t]*=[ \t]*(?:\([ \t]*)?$", code[line_start:start])
    return m.group(1).lower() if m else None


def _arguments_of(text: str) -> list[tuple[int, int]]:
    """Spans (relative to ``text``) of an -ArgumentList value: `a,b`, `(a, b)` or `@(a, b)`."""
    t = text.strip()
    offset = len(text) - len(text.lstrip())
    if t.startswith("@(") and t.endswith(")"):
        return [(s + offset, e + offset) for s, e in split_arguments(t, 2, len(t) - 1)]
    if t.startswith("(") and t.endswith(")"):
        return [(s + offset, e + offset) for s, e in split_arguments(t, 1, len(t) - 1)]
    return [(s + offset, e + offset) for s, e in split_arguments(t, 0, len(t))]


def _all_constructions(script: Script) -> list[tuple[str, str, Construction]]:
    """Every `New-Object` (TypeName or ComObject) and `[T]::new(…)` in the script, found once:
    (kind, type name as written, construction). Several recognizers ask for their own types."""
    memo = script.memo.get("constructions")
    if memo is not None:
        return memo  # type: ignore[return-value]
    found: list[tuple[str, str, Construction]] = []
    text = script.text
    for site in find_command_sites(script, {"new-object": "New-Object"}):
        arguments = lex_call(script, site)
        binding = bind_arguments(script, NEW_OBJECT, arguments, site.start)
        for key, kind in (("TypeName", "new-object"), ("ComObject", "com")):
            bound = binding.params.get(key)
            if bound is None or not isinstance(bound.value, str):
                continue
            construction = Construction(bound.value, site.start, arguments.end, [], form=kind)
            args = binding.params.get("ArgumentList")
            if args is not None:
                base = text.find(args.text, site.name_end)
                construction.arguments = [(base + s, base + e) for s, e in _arguments_of(args.text)] if base >= 0 else []
            prop = binding.params.get("Property")
            if prop is not None:
                base = text.find(prop.text, site.name_end)
                if base >= 0:
                    construction.property_spans = [(base, base + len(prop.text))]
            construction.variable = assigned_variable(script, site.start)
            found.append((kind, bound.value.strip(), construction))
    if "::new" in script.structure.code_lower:
        for m in _STATIC_NEW.finditer(script.code):
            paren = m.end() - 1
            try:
                close = script.structure.balanced_end(paren)
            except LexError:
                close = len(text)
            construction = Construction(m.group(1), m.start(), close, split_arguments(text, paren + 1, close - 1), form="static-new")
            construction.variable = assigned_variable(script, m.start())
            found.append(("static-new", m.group(1), construction))
    if "smtpclient" in script.structure.code_lower:
        # A cast is a construction too: `[System.Net.Mail.SmtpClient]'smtp.office365.com'` calls SmtpClient(string host).
        for m in _CAST_TO_CLIENT.finditer(script.code):
            operand = m.end()
            while operand < len(script.text) and script.text[operand] in " \t":
                operand += 1
            end = _operand_end(script, operand)
            variable = assigned_variable(script, m.start())
            if end is None or (script.text[operand] == "$" and variable is None):
                continue  # `[SmtpClient]$c` alone is a parameter's or a variable's type, not a conversion
            if script.text.startswith("@{", operand):
                # `[SmtpClient]@{ Host = …; Port = … }`: the default constructor, then each key as a property.
                construction = Construction(m.group(1), m.start(), end, [], form="static-new", property_spans=[(operand, end)])
            else:
                construction = Construction(m.group(1), m.start(), end, [(operand, end)], form="static-new")
            construction.variable = variable
            found.append(("static-new", m.group(1), construction))
    found.sort(key=lambda item: item[2].start)
    script.memo["constructions"] = found
    return found


_STATIC_NEW = re.compile(r"\[[ \t]*([\w.]+)[ \t]*\]::new[ \t]*\(", re.I)
# The only mail type a cast builds (a one-string constructor); `[SmtpClient]::new` and `[SmtpClient]$x.Field` are not casts of a value.
_CAST_TO_CLIENT = re.compile(r"\[[ \t]*((?:[\w]+\.)*SmtpClient)[ \t]*\]", re.I)


def _operand_end(script: Script, start: int) -> Optional[int]:
    """The end of a cast's operand at ``start``: a string literal, a variable or a parenthesised expression."""
    text = script.text
    if start >= len(text):
        return None
    strings = script.structure.masked.strings
    k = bisect.bisect_left(strings, (start, -1))
    if k < len(strings) and strings[k][0] == start:
        return strings[k][1]
    if text[start] == "$":
        m = re.compile(r"\$(?:\w+:)?\w+").match(text, start)
        return m.end() if m else None
    if text[start] == "(" or text.startswith("@{", start):
        try:
            return script.structure.balanced_end(start + (text[start] == "@"))
        except LexError:
            return None
    return None


def find_constructions(script: Script, type_pattern: re.Pattern[str], com: bool = False) -> list[Construction]:
    """Objects of a type whose written name matches ``type_pattern`` (a full match, case-insensitive)."""
    kinds = ("com",) if com else ("new-object", "static-new")
    # Callers keep and extend the objects they get (variables, arguments): hand out copies.
    return [
        copy.copy(construction)
        for kind, name, construction in _all_constructions(script)
        if kind in kinds and type_pattern.fullmatch(name)
    ]


def member_uses(script: Script, variable: str, after: int, before: Optional[int] = None) -> list[MemberUse]:
    """Property assignments and method calls on ``$variable`` between ``after`` and ``before``."""
    code = script.code
    text = script.text
    end_limit = len(code) if before is None else before
    name = r"(?:script:|global:|local:)?" + re.escape(variable)
    # `$smtp.Send(…)` and the braced form `${smtp}.Send(…)`.
    pattern = re.compile(r"(?i)(?<![\w$:])\$(?:" + name + r"(?![\w:])|\{" + name + r"\})((?:\.[\w]+)+)[ \t]*(\(|=(?!=))?")
    uses: list[MemberUse] = []
    for m in pattern.finditer(code, after, end_limit):
        member = m.group(1)[1:]
        op = m.group(2)
        use = MemberUse(member, m.start(), m.end(), m.start(1))
        if op == "(":
            paren = m.end() - 1
            try:
                close = script.structure.balanced_end(paren)
            except LexError:
                continue
            use.is_call = True
            use.arguments = split_arguments(text, paren + 1, close - 1)
            use.end = close
        elif op:
            vstart, vend = assigned_value_extent(script.structure, skip_spaces(text, m.end()))
            use.value = (vstart, vend)
            use.end = vend
        else:
            continue
        uses.append(use)
    return uses




@dataclass(frozen=True)
class Returned:
    """A call of a function of this file that builds an object and returns it, whose result a variable holds."""

    function: str  # the function's name, as defined
    site: int  # where it is called
    holder: str  # the variable the result is assigned to (lower case)
    after: int  # the end of the call's arguments: the holder has the object from here
    until: Optional[int]  # where the holder is assigned again (None: never)


def returned_holders(script: Script, built: Construction) -> list[Returned]:
    """The variables holding an object a function of this file builds into ``built.variable`` and returns:
    `function New-Msg { $m = New-Object …; …; return $m }`, then `$msg = New-Msg …`."""
    body = script.structure.function_at(built.start)
    if body is None or not built.variable:
        return []
    function = next((f for f in script.structure.functions if f.body == body), None)
    if function is None or not function.name.isascii():
        return []
    variable = re.escape(built.variable)
    if not re.search(r"(?im)(?:\breturn[ \t]+|^[ \t]*|\bWrite-Output[ \t]+)\$(?:script:|local:)?" + variable + r"[ \t]*(?:;|\r?$|\})",
                     script.code[body.start : body.end]):
        return []
    found: list[Returned] = []
    for site in find_command_sites(script, {function.name.lower(): function.name}, module="*"):
        if body.start <= site.name_start < body.end:
            continue
        holder = assigned_variable(script, site.start)
        if holder is None:
            continue
        arguments = lex_call(script, site)
        again = re.compile(r"(?i)(?<![\w$:])\$(?:script:|global:|local:)?" + re.escape(holder) + r"[ \t]*=(?!=)")
        reassigned = again.search(script.code, arguments.end)
        found.append(Returned(function.name, site.start, holder, arguments.end, reassigned.start() if reassigned else None))
    return found


def returned_uses(script: Script, built: Construction) -> list[tuple[str, int, MemberUse]]:
    """Where an object a function of this file builds and returns is used: (function name, where it is
    called, a member use of the variable holding its result, up to that variable's next assignment,
    where the call's scope sees it)."""
    return [(returned.function, returned.site, use)
            for returned in returned_holders(script, built)
            for use in member_uses(script, returned.holder, returned.after, returned.until)
            if script.structure.visible_from(returned.site, use.start)]


_PARAMETER_TEXT = re.compile(r"\$(?:script:|global:|local:)?(\w+)", re.I)


def with_site_arguments(script: Script, function_name: str, site_start: int, params: dict[str, BoundParam]) -> dict[str, BoundParam]:
    """A factory's settings written as its own parameters (`$m.From = $From`) take what the call site
    at ``site_start`` passes for them (`New-Msg -From 'a@contoso.com'`)."""
    function = next((f for f in script.structure.functions if f.name == function_name), None)
    site = next((s for s in find_command_sites(script, {function_name.lower(): function_name}, module="*") if s.start == site_start), None)
    if function is None or site is None:
        return params
    parameters = function_parameters(script, function)
    if not parameters:
        return params
    spec = CommandSpec(function_name, tuple(ParameterSpec(p, position=i) for i, p in enumerate(parameters)))
    binding = bind_arguments(script, spec, lex_call(script, site), site.start)
    passed = {n.lower(): b for n, b in binding.params.items()}
    out = dict(params)
    for key, bound in params.items():
        m = _PARAMETER_TEXT.fullmatch(bound.text.strip())
        given = passed.get(m.group(1).lower()) if m else None
        if given is not None:
            out[key] = BoundParam(key, given.text, given.kind, given.value, given.conditional,
                                  f"passed as -{given.name} {given.text} to {function_name} at line {script.line_of(site_start)}"
                                  + (f"; {given.reason}" if given.reason else ""),
                                  given.line, given.provenance, given.source)
    return out


def superseded(script: Script, client: Construction, later: Optional[int]) -> bool:
    """Whether the object built at ``client`` is replaced, before anything sends with it, by the
    construction into the same variable at ``later`` in the same block (straight-line code: it
    runs on every path that built the first). One built in an `if` and another in its `else`
    both reach the send after them: neither is superseded."""
    if later is None:
        return False
    structure = script.structure
    return structure.enclosing(later) == structure.enclosing(client.start)


def member_param(script: Script, name: str, span: tuple[int, int], reason: str) -> BoundParam:
    """A mail parameter set on an object (a property, a constructor or method argument), followed to its value."""
    text = script.text[span[0] : span[1]].strip()
    value = static_value(text)
    if value is None and name in ("From", "To", "Cc", "Bcc", "ReplyTo", "Attachments", "Sender"):
        inner = constructor_arguments(text)  # New-Object Net.Mail.MailAddress('a@b', 'Name') / Attachment($p)
        if inner:
            address = literal_or_none(inner[0])
            if address is not None:
                display = literal_or_none(inner[1]) if len(inner) > 1 else None
                value = f"{display} <{address}>" if display else address
    if value is None and name == "Priority":
        m = re.search(r"(?i)\bMailPriority\]::(\w+)", text)
        value = m.group(1) if m else None
    kind = BindKind.LITERAL if value is not None else BindKind.EXPRESSION
    bound = BoundParam(name, text, kind, value, reason=reason, line=script.line_of(span[0]))
    if value is None:
        # $smtp = New-Object Net.Mail.SmtpClient($SMTPServer, $SMTPPort) with `$SMTPServer = "…"` above.
        found = follow_value(script, text, span[0])
        if found is not None and found.value is not None:
            bound.value = found.value
            bound.conditional = found.conditional
            bound.reason = f"{reason}; value from {found.origin}"
            bound.provenance, bound.source = found.provenance, found.source
        elif found is not None and found.origin:
            bound.reason, bound.provenance, bound.source = f"{reason}; {found.origin}", found.provenance, found.source
            if found.alternatives:
                bound.conditional = found.conditional  # a value that differs by path in the script
                set_alternatives(bound, found.alternatives)
    return bound


def add_param(params: dict[str, BoundParam], bound: BoundParam, conditional: bool) -> None:
    """Add a member parameter; a collection (`.To.Add()`) grows with each item."""
    bound.conditional = bound.conditional or conditional
    existing = params.get(bound.name)
    if existing is None:
        params[bound.name] = bound
        if isinstance(bound.value, str) and bound.name in ("To", "Cc", "Bcc") and "," in bound.value:
            bound.value = [v.strip() for v in bound.value.split(",") if v.strip()]
        return
    # Collections grow with each .Add(): keep every item's text and the list of static values.
    existing.text = f"{existing.text}, {bound.text}"
    if isinstance(existing.value, list) and bound.value is not None:
        existing.value = existing.value + ([bound.value] if isinstance(bound.value, str) else list(bound.value) if isinstance(bound.value, list) else [str(bound.value)])
    elif isinstance(existing.value, str) and isinstance(bound.value, str):
        existing.value = [existing.value, bound.value]
    else:
        existing.value = None
        existing.kind = BindKind.EXPRESSION
    existing.conditional = existing.conditional or bound.conditional
