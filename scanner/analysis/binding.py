"""Finding command call sites and binding their arguments the way PowerShell's parameter binder does."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from scanner.lexer import CommandArguments, Element, ElementKind
from scanner.model import BindKind, BoundParam
from scanner.analysis.resolve import follow_value, parameter_defaults, resolve_hashtable
from scanner.analysis.literals import Assignment, static_value
from scanner.script import Script
from scanner.analysis.commands import CommandSpec, ParameterSpec, find_command_sites, lex_call


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
            bound.conditional = found.conditional  # a value that differs by path in the script
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
