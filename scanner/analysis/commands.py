"""Commands as PowerShell sees them before any value is known: parameter specs (names, aliases,
prefixes, positions), the places a command is invoked, and the argument tokens of an invocation.

``binding`` binds those arguments to values (following variables, splats and defaults).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Optional

from scanner.lexer import CommandArguments, ElementKind, LexError, lex_arguments
from scanner.script import Script


@dataclass(frozen=True)
class ParameterSpec:
    name: str
    aliases: tuple[str, ...] = ()
    position: Optional[int] = None
    switch: bool = False
    pipeline: bool = False  # ValueFromPipeline


COMMON_PARAMETERS = (
    ParameterSpec("Verbose", ("vb",), switch=True),
    ParameterSpec("Debug", ("db",), switch=True),
    ParameterSpec("ErrorAction", ("ea",)),
    ParameterSpec("WarningAction", ("wa",)),
    ParameterSpec("InformationAction", ("infa",)),
    ParameterSpec("ProgressAction", ("proga",)),
    ParameterSpec("ErrorVariable", ("ev",)),
    ParameterSpec("WarningVariable", ("wv",)),
    ParameterSpec("InformationVariable", ("iv",)),
    ParameterSpec("OutVariable", ("ov",)),
    ParameterSpec("OutBuffer", ("ob",)),
    ParameterSpec("PipelineVariable", ("pv",)),
)


COMMON_NAMES = {p.name for p in COMMON_PARAMETERS}


@dataclass(frozen=True)
class CommandSpec:
    name: str
    parameters: tuple[ParameterSpec, ...]
    # Parameters that matter enough to be listed as "unresolved" when an opaque splat may set them.
    key_parameters: tuple[str, ...] = ()

    def all_parameters(self) -> tuple[ParameterSpec, ...]:
        return self.parameters + COMMON_PARAMETERS

    def lookup(self, written: str) -> tuple[Optional[ParameterSpec], str]:
        """The parameter ``-written`` binds to, or None and why (unknown / ambiguous prefix)."""
        # A pure function of the spec and the text: answered once per spelling (every call of
        # every script binds the same few parameter names).
        answers = _answers(self, "lookup")
        answer = answers.get(written)
        if answer is None:
            answer = answers[written] = self._lookup(written)
        return answer  # type: ignore[return-value]

    def _lookup(self, written: str) -> tuple[Optional[ParameterSpec], str]:
        low = written.lower()
        params = self.all_parameters()
        for p in params:
            if p.name.lower() == low or low in (a.lower() for a in p.aliases):
                return p, ""
        matches = {p.name: p for p in params for n in (p.name, *p.aliases) if n.lower().startswith(low)}
        if len(matches) == 1:
            return next(iter(matches.values())), ""
        if not matches:
            return None, f"-{written} is not a parameter of {self.name}"
        # PowerShell's binder prefers the command's own parameter over common ones when a prefix
        # matches both: -Pr is -Priority (not -ProgressAction), -E is -Encoding (not -ErrorAction).
        own = [p for p in self.parameters if p.name in matches]
        if len(own) == 1:
            return own[0], ""
        return None, f"-{written} is ambiguous for {self.name} ({', '.join(sorted(matches))})"

    def names_parameter(self, written: str) -> bool:
        """Whether ``-written`` names a parameter of the command (exactly, by alias or by a prefix, even an ambiguous one)."""
        answers = _answers(self, "names")
        answer = answers.get(written)
        if answer is None:
            low = written.lower()
            answer = answers[written] = any(n.lower().startswith(low) for p in self.all_parameters() for n in (p.name, *p.aliases))
        return answer  # type: ignore[return-value]

    def positional(self) -> list[ParameterSpec]:
        return sorted((p for p in self.parameters if p.position is not None), key=lambda p: p.position or 0)

    def pipeline_parameter(self) -> Optional[ParameterSpec]:
        return next((p for p in self.parameters if p.pipeline), None)


_MAX_ANSWERS = 4096  # spellings remembered per spec and question; a hostile file cannot grow it without bound


def _answers(spec: CommandSpec, question: str) -> dict[str, object]:
    """The answers ``spec`` has given to ``question``, kept on the (frozen) spec itself: not a
    field, so equality, hashing and repr of specs are unchanged."""
    key = "_answers_" + question
    answers: Optional[dict[str, object]] = spec.__dict__.get(key)
    if answers is None or len(answers) >= _MAX_ANSWERS:
        answers = {}
        object.__setattr__(spec, key, answers)
    return answers


@dataclass(frozen=True)
class CallSite:
    """Where a command is invoked: the name as written and how."""

    start: int  # start of the whole invocation (the `&` for call-operator forms)
    name_start: int
    name_end: int
    written: str  # the command name as written, without quotes
    form: str  # plain, module-qualified, call-operator, alias
    canonical: str  # the command it resolves to


_BEFORE_NAME = set("-.$@:") | set("_")


_AFTER_NAME = set("-\\:.") | set("_")


_QUALIFIER = re.compile(r"([\w.]+)\\$")


def _name_hits(script: Script, names: Iterable[str]) -> list[tuple[int, int]]:
    """(start, end) of each whole-word occurrence of the (lower-case) names in the masked code.

    `str.find` on the lower-cased code (computed once per script) is many times faster than a
    case-insensitive regex.
    """
    low = script.structure.code_lower
    # Several recognizers look for the same names (New-Object, ConvertTo-SecureString, the web
    # cmdlets): each name's hits are found once per script.
    memo: Optional[dict[str, list[tuple[int, int]]]] = script.memo.get("name-hits")  # type: ignore[assignment]
    if memo is None:
        memo = script.memo["name-hits"] = {}
    hits: list[tuple[int, int]] = []
    for name in names:
        found = memo.get(name)
        if found is None:
            found = memo[name] = []
            i = low.find(name)
            while i >= 0:
                end = i + len(name)
                before = low[i - 1] if i > 0 else " "
                after = low[end] if end < len(low) else " "
                if not (before.isalnum() or before in _BEFORE_NAME) and not (after.isalnum() or after in _AFTER_NAME):
                    found.append((i, end))
                i = low.find(name, end)
        hits.extend(found)
    hits.sort()
    return hits


_ASSIGNED_NAME = re.compile(r"[ \t]*=(?!=)")


_CALL_OPERATOR = re.compile(r"&[ \t]*(['\"])((?:[\w.]+\\)?[\w\-]+)\1")


def _call_operator_matches(script: Script) -> list[re.Match[str]]:
    """`& 'name'` invocations, found once per script (every recognizer asks)."""
    cached: list[re.Match[str]] | None = script.memo.get("call-operator")  # type: ignore[assignment]
    if cached is None:
        cached = list(_CALL_OPERATOR.finditer(script.text)) if "&" in script.text else []
        script.memo["call-operator"] = cached
    return cached


# `& $cmd …` where the script set `$cmd = Get-Command Send-MailMessage` or `$cmd = 'Send-MailMessage'`.
_CALL_VARIABLE = re.compile(r"&[ \t]*\$(\w+)(?![\w:.\[(])")
_COMMAND_VARIABLE = re.compile(
    r"\$(\w+)[ \t]*=[ \t]*(?:\(?[ \t]*(?:Get-Command|gcm)[ \t]+(?:-Name[ \t]+)?(['\"]?)((?:[\w.]+\\)?[\w-]+)\2[ \t]*\)?"
    r"|(['\"])((?:[\w.]+\\)?[\w-]+)\4)[ \t]*(?=\r?$|[;#|}])", re.I | re.M)


def _command_variables(script: Script) -> dict[str, list[tuple[int, str]]]:
    """variable (lower case) -> (offset, command name written, lower case) of each assignment of a command to it."""
    cached: Optional[dict[str, list[tuple[int, str]]]] = script.memo.get("command-variables")  # type: ignore[assignment]
    if cached is None:
        cached = {}
        if "&" in script.code:
            code = script.code
            for m in _COMMAND_VARIABLE.finditer(script.text):
                if code[m.start()] != "$":
                    continue  # in a string or a comment
                written = (m.group(3) or m.group(5) or "").rsplit("\\", 1)[-1].lower()
                cached.setdefault(m.group(1).lower(), []).append((m.start(), written))
        script.memo["command-variables"] = cached
    return cached


def _variable_call_sites(script: Script, names: dict[str, str]) -> list[CallSite]:
    """`& $cmd …` invocations whose variable was last set, before the call, to one of ``names``."""
    variables = _command_variables(script)
    if not variables:
        return []
    code = script.code
    sites = []
    for m in _CALL_VARIABLE.finditer(code):
        assigned = [name for offset, name in variables.get(m.group(1).lower(), ()) if offset < m.start()]
        if not assigned or assigned[-1] not in names or not script.at_command_position(m.start()):
            continue
        sites.append(CallSite(m.start(), m.start(1) - 1, m.end(1), "$" + m.group(1), "call-operator", names[assigned[-1]]))
    return sites


def find_command_sites(script: Script, names: dict[str, str], module: str = "Microsoft.PowerShell.Utility") -> list[CallSite]:
    """Invocations of any of ``names`` (lower-case written name -> canonical command) in code positions.

    Comments, strings, hashtable keys and arguments (``Get-Help Send-MailMessage``) are not calls.
    A module-qualified name must name ``module`` (``"*"`` accepts any module).
    """
    if not names:
        return []
    code = script.code
    sites: dict[int, CallSite] = {}
    for hit_start, hit_end in _name_hits(script, names):
        base = code[hit_start:hit_end]
        start = hit_start
        qualifier = ""
        if start > 0 and code[start - 1] == "\\":
            q = _QUALIFIER.search(code, max(0, start - 128), start)
            if q is None:
                continue
            qualifier = q.group(1)
            if module != "*" and qualifier.lower() != module.lower():
                continue
            start = q.start(1)
        written = code[start:hit_end]
        if not script.at_command_position(start):
            continue
        if _ASSIGNED_NAME.match(code[hit_end : hit_end + 4]):
            continue  # a hashtable key or an assignment target, not a call
        name_start = start
        form = "module-qualified" if qualifier else "plain"
        c, amp = script.previous_code_char(start)
        if c == "&" and not (amp > 0 and code[amp - 1] == "&"):
            form = "call-operator"
            start = amp
        sites[name_start] = CallSite(start, name_start, hit_end, written, form, names[base.lower()])
    for m in _call_operator_matches(script):
        if code[m.start()] != "&":
            continue
        written = m.group(2)
        base = written.rsplit("\\", 1)[-1]
        if base.lower() not in names or not script.at_command_position(m.start()):
            continue
        sites[m.start(2) - 1] = CallSite(m.start(), m.start(2) - 1, m.end(2) + 1, written, "call-operator", names[base.lower()])
    for site in _variable_call_sites(script, names):
        sites.setdefault(site.name_start, site)
    return sorted(sites.values(), key=lambda s: s.name_start)


def lex_call(script: Script, site: CallSite) -> CommandArguments:
    try:
        return lex_arguments(script.text, site.name_end)
    except LexError as exc:  # pragma: no cover - lex_arguments reports its own errors
        return CommandArguments([], len(script.text), "eof", [str(exc)])


def argument_text(spec: CommandSpec, arguments: CommandArguments, parameter: str) -> Optional[str]:
    """The text of the argument ``-parameter`` (or its position) receives, without following any
    value; None when it is not passed or a splat may pass it (``binding`` rebuilds splats)."""
    wanted = parameter.lower()
    positional: list[str] = []
    elements = [e for e in arguments.elements if e.kind is not ElementKind.REDIRECTION]
    i = 0
    while i < len(elements):
        element = elements[i]
        i += 1
        if element.kind is ElementKind.SPLAT:
            return None
        if element.kind is ElementKind.VALUE:
            positional.append(element.text)
            continue
        param, _ = spec.lookup(element.text[1:])
        value = element.value
        if value is None and param is not None and not param.switch and i < len(elements) and elements[i].kind is ElementKind.VALUE:
            value = elements[i]
            i += 1
        if param is not None and param.name.lower() == wanted:
            return value.text if value is not None else None
    free = [p for p in spec.positional()]
    for text, param in zip(positional, free):
        if param.name.lower() == wanted:
            return text
    return None
