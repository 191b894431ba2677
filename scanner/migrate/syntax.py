"""Parse checks for generated and patched PowerShell: where tree-sitter finds ERROR or MISSING nodes."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any


@dataclass(frozen=True)
class ParseProblem:
    """One ERROR or MISSING node: 1-based line and column, and the text it covers (shortened)."""

    kind: str  # "ERROR" or "MISSING <type>"
    line: int
    column: int
    text: str

    def __str__(self) -> str:
        return f"{self.kind} at {self.line}:{self.column} {self.text!r}"


@lru_cache(maxsize=1)
def _parser() -> Any:
    import tree_sitter as ts
    import tree_sitter_powershell as tsp

    return ts.Parser(ts.Language(tsp.language()))


def parse_problems(source: bytes | str) -> list[ParseProblem]:
    """Every outermost ERROR node and every MISSING node in ``source`` (UTF-8 when given as text)."""
    data = source.encode("utf-8", "surrogatepass") if isinstance(source, str) else source  # a UTF-16 file may hold lone surrogates
    return tree_problems(_parser().parse(data), data)


def tree_problems(tree: Any, data: bytes) -> list[ParseProblem]:
    """:func:`parse_problems` of a tree already parsed from ``data``."""
    problems: list[ParseProblem] = []
    if not tree.root_node.has_error:
        return problems
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            snippet = data[node.start_byte:node.end_byte][:60].decode("utf-8", "replace")
            kind = "ERROR" if node.type == "ERROR" else f"MISSING {node.type}"
            problems.append(ParseProblem(kind, node.start_point[0] + 1, node.start_point[1] + 1, snippet))
            if node.type == "ERROR":
                continue
        if node.has_error:
            stack.extend(reversed(node.children))
    problems.sort(key=lambda problem: (problem.line, problem.column))
    return problems


# The judge asks about the same texts several times (the original of each option set, a patch it
# checks whole and edit by edit): each text is parsed once. Bounded: a run holds few texts at a time.
_COUNTS: dict[str | bytes, int] = {}
_COUNTS_MAX = 256


def remember_parse(text: str, tree: Any) -> None:
    """Let :func:`problem_count` use the tree the analysis already parsed from ``text`` (the same
    UTF-8 bytes, the same grammar) instead of parsing the text again."""
    if text not in _COUNTS:
        if len(_COUNTS) >= _COUNTS_MAX:
            _COUNTS.clear()
        _COUNTS[text] = len(tree_problems(tree, text.encode("utf-8", "surrogatepass")))


def problem_count(source: bytes | str) -> int:
    """How many ERROR/MISSING nodes ``source`` has (0 for a clean parse)."""
    count = _COUNTS.get(source)
    if count is None:
        if len(_COUNTS) >= _COUNTS_MAX:
            _COUNTS.clear()
        count = _COUNTS[source] = len(parse_problems(source))
    return count
