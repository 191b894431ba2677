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


def _function_parameters(script: Script, function: FunctionDef) -> list[str]:
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
    names: list[str] = []
    for start, end in spans:
        item = re.sub(r"\[[^\[\]]*(?:\[[^\[\]]*\][^\[\]]*)*\]", " ", text[start:end])  # attributes and types
        item = re.sub(r"=.*$", "", item, flags=re.S)  # the default value
        variables = re.findall(r"\$(\w+)", item)
        if variables and variables[-1].lower() not in ("true", "false", "null"):
            names.append(variables[-1])
    return names
