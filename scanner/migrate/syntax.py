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


# A patch is parsed incrementally from the tree of the text it was made from (tree-sitter re-reads
# only what the edits touched): render() records each patched text's lineage, the analysis the tree
# of each file it parsed. Bounded: the judge works on one file at a time.
_TREES: dict[str, Any] = {}  # text -> the tree the analysis parsed from it
_TREES_MAX = 8
_LINEAGE: dict[str, tuple[str, tuple[tuple[int, int, str], ...]]] = {}  # patched -> (original, edits as applied)
_LINEAGE_MAX = 64


def remember_edits(original: str, applied: list[tuple[int, int, str]], patched: str) -> None:
    """Record that ``patched`` is ``original`` with ``applied`` (start, end, replacement in offsets of
    ``original``, applied right to left, each left of the one before), so :func:`problem_count` can
    parse it incrementally. Only for a text whose tree the analysis left here."""
    if original not in _TREES or patched == original:
        return
    if len(_LINEAGE) >= _LINEAGE_MAX:
        _LINEAGE.clear()
    _LINEAGE[patched] = (original, tuple(applied))


def _byte_point(text: str, offset: int) -> tuple[int, tuple[int, int]]:
    """The UTF-8 byte offset of a text offset, and its (row, byte column) as tree-sitter counts them."""
    last = text.rfind("\n", 0, offset)
    column = len(text[last + 1:offset].encode("utf-8", "surrogatepass"))
    data = offset if text.isascii() else len(text[:offset].encode("utf-8", "surrogatepass"))
    return data, (text.count("\n", 0, offset), column)


def _incremental_count(patched: str) -> int | None:
    """0 when a patch of a remembered tree parses cleanly, parsed incrementally; None when it is not
    known here or the incremental tree has problems. tree-sitter's error recovery can differ between
    an incremental and a fresh parse of a broken text (on 2,394 random edits of public scripts three
    counts differed, each time the incremental one higher), never on a clean one: only a clean
    incremental tree stands for the fresh parse, a count is always a fresh parse's."""
    origin = _LINEAGE.get(patched)
    if origin is None:
        return None
    original, applied = origin
    tree = _TREES.get(original)
    if tree is None:
        return None
    tree = tree.copy()
    untouched = len(original)  # the original's text up to here is still as it was
    for start, end, replacement in applied:
        if not 0 <= start <= end <= untouched:
            return None  # not right to left, or overlapping: parsed whole
        untouched = start
        start_byte, start_point = _byte_point(original, start)
        end_byte, end_point = _byte_point(original, end)
        new_bytes = replacement.encode("utf-8", "surrogatepass")
        newline = replacement.rfind("\n")
        if newline < 0:
            new_point = (start_point[0], start_point[1] + len(new_bytes))
        else:
            new_point = (start_point[0] + replacement.count("\n"),
                         len(replacement[newline + 1:].encode("utf-8", "surrogatepass")))
        tree.edit(start_byte, end_byte, start_byte + len(new_bytes), start_point, end_point, new_point)
    data = patched.encode("utf-8", "surrogatepass")
    return None if _parser().parse(data, tree).root_node.has_error else 0


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
    if len(_TREES) >= _TREES_MAX:
        _TREES.clear()
    _TREES[text] = tree


def problem_count(source: bytes | str) -> int:
    """How many ERROR/MISSING nodes ``source`` has (0 for a clean parse)."""
    count = _COUNTS.get(source)
    if count is None:
        if len(_COUNTS) >= _COUNTS_MAX:
            _COUNTS.clear()
        known = _incremental_count(source) if isinstance(source, str) else None
        count = _COUNTS[source] = known if known is not None else len(parse_problems(source))
    return count
