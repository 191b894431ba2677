"""The core has layers and no import circle (docs/architecture.md): each module imports only from its
own layer or the layers below, and no chain of imports (function-level ones included) comes back."""

from __future__ import annotations

import re

import pytest

from importgraph import build

# Layers from the bottom up, as regular expressions over module names; the first match decides.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("text", (
        r"scanner", r"scanner\.(model|lexer|structure|parse|script|files|safetext|fastjson|serialize|declared|redact|cache|powershell|ruleconfig)",
    )),
    ("analysis", (r"scanner\.analysis(\..+)?",)),
    ("recognizers", (r"scanner\.extract(\..+)?",)),
    ("findings", (
        r"scanner\.(assess|assess_ews|secrets|masking|findings|fixes|check)", r"scanner\.rules(\..+)?",
        r"scanner\.migrate(\.(mapping|snippets|syntax|judge|safety|edits|placement|contexts|diffs|patch|ews_fix|xoauth2))?",
    )),
    ("estate", (r"scanner\.estate(\..+)?", r"scanner\.owners")),
    ("outputs", (
        r"scanner\.(cli|__main__|run|explain|errors|outputs)", r"scanner\.reports(\..+)?", r"scanner\.graph(\..+)?",
        r"scanner\.migrate\.(commands|writer|kit)",
    )),
]


def layer_of(module: str) -> int:
    for index, (_, patterns) in enumerate(LAYERS):
        if any(re.fullmatch(pattern, module) for pattern in patterns):
            return index
    raise AssertionError(f"{module} belongs to no layer: add it to LAYERS (and to docs/architecture.md)")


GRAPH = build()


def test_every_module_has_a_layer() -> None:
    for module in GRAPH.modules:
        layer_of(module)


def test_no_import_circle_not_even_through_function_level_imports() -> None:
    assert GRAPH.cycles() == []


@pytest.mark.parametrize("module", sorted(GRAPH.modules))
def test_imports_go_down_the_layers(module: str) -> None:
    mine = layer_of(module)
    upward = [
        f"{module} ({LAYERS[mine][0]}) imports {target} ({LAYERS[layer_of(target)][0]}) at line {GRAPH.where[(module, target)]}"
        for target in sorted(GRAPH.edges.get(module, ()))
        if layer_of(target) > mine
    ]
    assert upward == []


def test_the_graph_sees_function_level_imports() -> None:
    """The checks above would pass vacuously if a function's import went unseen: a known one must be there."""
    assert ("scanner.reports.render", "scanner.reports.html") in GRAPH.function_level
    assert "scanner.migrate.kit" in GRAPH.edges["scanner.migrate.commands"]
