"""The functions a script defines: their parameters, read from the header or the param block."""

from __future__ import annotations

import re

from scanner.lexer import LexError, split_arguments
from scanner.script import Script
from scanner.structure import FunctionDef


def function_parameters(script: Script, function: FunctionDef) -> list[str]:
    """Parameter names of a function, in declaration order: `function f($a, $b)` or its `param(…)` block
    (read once per function and script: the wrapper pass and the SmtpClient recognizer both ask)."""
    key = f"function-parameters:{function.name_start}"
    memo = script.memo.get(key)
    if memo is None:
        memo = script.memo[key] = _function_parameters(script, function)
    assert isinstance(memo, list)
    return list(memo)


def unset_parameters(script: Script, function: FunctionDef) -> list[str]:
    """The parameters (lower case) that hold nothing unless the caller passes them: no default value, not
    Mandatory (PowerShell would ask), not bound from the pipeline, and never assigned in the body."""
    unset: list[str] = []
    body = script.structure.code_lower[function.body.start : function.body.end]
    for name, item in _parameter_items(script, function):
        low = name.lower()
        declared = re.sub(r"\[[^\[\]]*(?:\[[^\[\]]*\][^\[\]]*)*\]", " ", item)
        if "=" in declared or _GIVEN.search(item):
            continue
        if re.search(r"\$(?:script:|local:)?" + re.escape(low) + r"\b[ \t]*(?:[-+*/]?=(?!=)|\+\+|--)", body) or "set-variable" in body:
            continue
        unset.append(low)
    return unset


# An attribute that gives a parameter a value without the caller naming it.
_GIVEN = re.compile(r"(?i)\bMandatory\b(?![ \t]*=[ \t]*\$false)|\bValueFromPipeline(?:ByPropertyName)?\b(?![ \t]*=[ \t]*\$false)")


def _parameter_items(script: Script, function: FunctionDef) -> list[tuple[str, str]]:
    """(name, declaration text) of each parameter, in declaration order."""
    text = script.text
    name_end, body = function.name_end, function.body
    header = text[name_end : body.start]
    spans: list[tuple[int, int]] = []
    paren = header.find("(")
    if paren >= 0:
        start = name_end + paren
        try:
            close = script.structure.balanced_end(start)
            spans = split_arguments(text, start + 1, close - 1)
        except LexError:
            spans = []
    else:
        for block_start, block_end in script.structure.param_blocks:
            if body.start < block_start < body.end and script.structure.function_at(block_start) == body:
                opening = text.find("(", block_start)
                spans = split_arguments(text, opening + 1, block_end - 1)
                break
    return _named(text, spans)


def parameter_list(text: str, start: int, end: int) -> list[tuple[str, str]]:
    """(name, declaration text) of each parameter declared in ``text[start:end]`` (inside a `param(…)`)."""
    return _named(text, split_arguments(text, start, end))


def _named(text: str, spans: list[tuple[int, int]]) -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    for start, end in spans:
        item = re.sub(r"\[[^\[\]]*(?:\[[^\[\]]*\][^\[\]]*)*\]", " ", text[start:end])  # attributes and types
        item = re.sub(r"=.*$", "", item, flags=re.S)  # the default value
        variables = re.findall(r"\$(\w+)", item)
        if variables and variables[-1].lower() not in ("true", "false", "null"):
            items.append((variables[-1], text[start:end]))
    return items


def _function_parameters(script: Script, function: FunctionDef) -> list[str]:
    return [name for name, _ in _parameter_items(script, function)]
