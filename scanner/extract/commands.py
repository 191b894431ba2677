"""Finding command call sites and binding their arguments the way PowerShell's parameter binder does."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Optional

from scanner.lexer import CommandArguments, Element, ElementKind, LexError, lex_arguments
from scanner.model import BindKind, BoundParam
from scanner.resolve import Assignment, follow_value, parameter_defaults, resolve_hashtable, static_value
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


@dataclass
class Binding:
    params: dict[str, BoundParam] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    splats: list[str] = field(default_factory=list)
    positional_used: bool = False
    related: list[tuple[int, str]] = field(default_factory=list)  # (offset, role)
    arguments: Optional[CommandArguments] = None


_SIMPLE_VARIABLE = re.compile(r"\$(?:script:|global:|local:)?([\w]+)$", re.I)


def value_param(script: Script, name: str, text: str, kind: BindKind, at: int, line: int) -> BoundParam:
    """A bound value; a plain `$variable` is followed to its literal assignment when the script has one."""
    value = static_value(text, argument_mode=True)
    if value is not None:
        return BoundParam(name, text, BindKind.LITERAL if kind is BindKind.EXPRESSION else kind, value, line=line)
    bound = BoundParam(name, text, kind, None, line=line)
    found = follow_value(script, text, at)
    if found is not None and found.value is not None:
        bound.value = found.value
        bound.conditional = found.conditional
        bound.reason = f"value from {found.origin}"
        bound.provenance, bound.source = found.provenance, found.source
    elif found is not None and found.origin:
        bound.reason, bound.provenance, bound.source = found.origin, found.provenance, found.source  # e.g. a config file outside the tree
        if found.alternatives:
            set_alternatives(bound, found.alternatives)
    return bound


# The settings a verdict depends on: when configuration rows disagree on one of them, each value is
# assessed. Rows that differ on a recipient or subject are ordinary run-time values.
VERDICT_PARAMS = ("SmtpServer", "Port", "UseSsl", "Credential", "UseDefaultCredentials")


def set_alternatives(bound: BoundParam, alternatives: list[tuple[str, int, object]]) -> None:
    """Configuration rows that disagree on a setting the verdict depends on: the param holds no one
    value (unresolved, each row's value kept); the call is assessed once per distinct value and the
    worst verdict is its verdict."""
    if bound.name not in VERDICT_PARAMS:
        return
    bound.kind = BindKind.UNRESOLVED
    bound.alternatives = [(path, row, value if isinstance(value, (str, int, bool)) else None) for path, row, value in alternatives]


def _assignment_param(name: str, assignment: Assignment, kind: BindKind, reason: str) -> BoundParam:
    return BoundParam(name, assignment.text, kind, assignment.value, assignment.conditional, reason, assignment.line, assignment.provenance, assignment.source)


def bind_arguments(
    script: Script,
    spec: CommandSpec,
    arguments: CommandArguments,
    call_start: int,
    pipeline_upstream: Optional[tuple[int, int]] = None,
    defaults_for: tuple[str, ...] = (),
) -> Binding:
    """Bind a command's arguments to ``spec``: named, prefixes, aliases, colon values, switches,
    positional values, splats rebuilt from the script, pipeline input and defaults."""
    binding = Binding(arguments=arguments)
    binding.notes.extend(arguments.notes)
    positional: list[Element] = []
    named: set[str] = set()
    elements = arguments.elements
    i = 0
    line = script.line_of(call_start)
    while i < len(elements):
        element = elements[i]
        i += 1
        if element.kind is ElementKind.REDIRECTION:
            continue
        if element.kind is ElementKind.SPLAT:
            _bind_splat(script, spec, element, call_start, binding)
            continue
        if element.kind is ElementKind.VALUE:
            positional.append(element)
            continue
        written = element.text[1:]
        param, error = spec.lookup(written)
        value_element = element.value
        if param is not None and error:
            binding.notes.append(error)
        if param is not None and param.name in named:
            # PowerShell refuses the call (ParameterAlreadyBound); the first value is the one it reports.
            binding.notes.append(f"-{written} is given more than once (-{param.name}): PowerShell refuses the call")
            if not param.switch and value_element is None and i < len(elements) and elements[i].kind is ElementKind.VALUE:
                i += 1
            continue
        if param is not None:
            named.add(param.name)
        if param is None:
            binding.notes.append(error)
            # an unknown parameter still swallows its argument, as PowerShell would try to
            if value_element is None and i < len(elements) and elements[i].kind is ElementKind.VALUE:
                i += 1
            continue
        if param.switch:
            if value_element is not None:
                binding.params[param.name] = value_param(script, param.name, value_element.text, BindKind.EXPRESSION, call_start, line)
            else:
                binding.params[param.name] = BoundParam(param.name, "$true", BindKind.LITERAL, True, line=line)
            continue
        if value_element is None:
            if i < len(elements) and elements[i].kind is ElementKind.VALUE:
                value_element = elements[i]
                i += 1
            elif i < len(elements) and elements[i].kind is ElementKind.PARAMETER and not spec.names_parameter(elements[i].text[1:]):
                # PowerShell passes a parameter token that names no parameter of the command as the
                # argument (`-Cc -x-` binds -Cc '-x-'); one that does (`-Cc -To`) leaves -Cc without.
                token = elements[i]
                value_element = Element(ElementKind.VALUE, script.text[token.start : token.end], token.start, token.end)
                i += 1
            else:
                binding.notes.append(f"-{param.name} has no argument")
                continue
        binding.params[param.name] = value_param(script, param.name, value_element.text, BindKind.EXPRESSION, call_start, script.line_of(value_element.start))
    if positional:
        binding.positional_used = True
        free = [p for p in spec.positional() if p.name not in binding.params]
        for element, param in zip(positional, free):
            binding.params[param.name] = value_param(script, param.name, element.text, BindKind.POSITIONAL, call_start, script.line_of(element.start))
        for element in positional[len(free) :]:
            binding.notes.append(f"positional argument {element.text!r} does not bind to any parameter")
    pipeline_param = spec.pipeline_parameter()
    if pipeline_upstream and pipeline_param and pipeline_param.name not in binding.params:
        up_text = script.text[pipeline_upstream[0] : pipeline_upstream[1]].strip()
        binding.params[pipeline_param.name] = BoundParam(
            pipeline_param.name, up_text, BindKind.PIPELINE, None, reason="pipeline input", line=script.line_of(pipeline_upstream[0])
        )
    # Later names win: the command's own defaults over those it honours for another command.
    for command in defaults_for:
        _bind_defaults(script, spec, command, call_start, binding)
    return binding


def _bind_splat(script: Script, spec: CommandSpec, element: Element, call_start: int, binding: Binding) -> None:
    name = element.text[1:]
    binding.splats.append(name)
    table = resolve_hashtable(script, name, call_start)
    if table.defined_at >= 0:
        binding.related.append((table.defined_at, "splat"))
    for entry in table.entries.values():
        param, error = spec.lookup(entry.key)
        if error:
            binding.notes.append(f"splat @{name}: {error}")
        if param is None:
            continue
        if param.name in binding.params and binding.params[param.name].kind is not BindKind.SPLAT:
            binding.notes.append(f"-{param.name} is given both by name and in @{name}")
            continue
        bound = _assignment_param(param.name, entry.assignment, BindKind.SPLAT, f"from @{name}, {entry.assignment.origin}")
        if bound.value is None:
            found = follow_value(script, bound.text, entry.assignment.start)
            if found is not None and found.value is not None:
                bound.value = found.value
                bound.conditional = bound.conditional or found.conditional
                bound.reason += f"; value from {found.origin}"
                bound.provenance, bound.source = found.provenance, found.source
        binding.params[param.name] = bound
    if not table.complete:
        reason = "; ".join(table.reasons) or f"@{name} cannot be rebuilt from this file"
        binding.notes.append(f"splat @{name}: {reason}")
        for key in spec.key_parameters:
            if key not in binding.params:
                binding.params[key] = BoundParam(key, element.text, BindKind.UNRESOLVED, None, reason=f"may be set by @{name}: {reason}")


def _bind_defaults(script: Script, spec: CommandSpec, command: str, call_start: int, binding: Binding) -> None:
    defaults = parameter_defaults(script, command, call_start)
    for key, assignment in defaults.items():
        param, _ = spec.lookup(key)
        if param is None:
            continue
        existing = binding.params.get(param.name)
        if existing is not None and existing.kind not in (BindKind.UNRESOLVED, BindKind.DEFAULT):
            continue
        binding.params[param.name] = _assignment_param(param.name, assignment, BindKind.DEFAULT, f"default from {assignment.origin}")
        binding.related.append((assignment.start, "default"))


# --------------------------------------------------------------------------- call sites


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
    return sorted(sites.values(), key=lambda s: s.name_start)


def lex_call(script: Script, site: CallSite) -> CommandArguments:
    try:
        return lex_arguments(script.text, site.name_end)
    except LexError as exc:  # pragma: no cover - lex_arguments reports its own errors
        return CommandArguments([], len(script.text), "eof", [str(exc)])


# --------------------------------------------------------------------------- aliases

_ALIAS_SPEC = CommandSpec(
    "Set-Alias",
    (
        ParameterSpec("Name", position=0),
        ParameterSpec("Value", position=1),
        ParameterSpec("Description"),
        ParameterSpec("Option"),
        ParameterSpec("Scope"),
        ParameterSpec("PassThru", switch=True),
        ParameterSpec("Force", switch=True),
    ),
)
_ALIAS_COMMANDS = {"set-alias": "Set-Alias", "new-alias": "New-Alias", "sal": "Set-Alias", "nal": "New-Alias"}


@dataclass(frozen=True)
class AliasDefinition:
    alias: str
    target: str
    offset: int


def alias_definitions(script: Script, targets: set[str]) -> list[AliasDefinition]:
    """`Set-Alias`/`New-Alias` statements in the script that point at one of ``targets`` (lower-case)."""
    found = []
    for site in find_command_sites(script, _ALIAS_COMMANDS):
        arguments = lex_call(script, site)
        binding = bind_arguments(script, _ALIAS_SPEC, arguments, site.start)
        name = binding.params.get("Name")
        value = binding.params.get("Value")
        if name is None or value is None or not isinstance(name.value, str) or not isinstance(value.value, str):
            continue
        target = value.value.rsplit("\\", 1)[-1].lower()
        if target in targets:
            found.append(AliasDefinition(name.value, target, site.start))
    return found
