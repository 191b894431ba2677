"""tree-sitter-powershell wrapper: parse decoded text, map byte offsets back to characters, list errors."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when a file is parsed: a warm re-scan or a report parses nothing
    import tree_sitter


@lru_cache(maxsize=1)
def _parser() -> tree_sitter.Parser:
    import tree_sitter
    import tree_sitter_powershell

    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))


def parse_bytes(data: bytes) -> tree_sitter.Tree:
    """Parse UTF-8 PowerShell source."""
    return _parser().parse(data)


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


class OffsetMap:
    """Converts tree-sitter byte offsets (UTF-8) into offsets of the decoded text."""

    def __init__(self, text: str) -> None:
        self.identity = text.isascii()
        self._byte_starts: list[int] = []
        self._char_starts: list[int] = []
        if not self.identity:
            # Record (byte offset, char offset) after every non-ASCII character; only those are visited.
            extra = 0
            for m in _NON_ASCII.finditer(text):
                extra += len(m.group().encode("utf-8", "surrogatepass")) - 1
                self._byte_starts.append(m.end() + extra)
                self._char_starts.append(m.end())

    def char(self, byte_offset: int) -> int:
        if self.identity:
            return byte_offset
        i = bisect.bisect_right(self._byte_starts, byte_offset) - 1
        if i < 0:
            return byte_offset
        return self._char_starts[i] + (byte_offset - self._byte_starts[i])


@dataclass
class ParsedSource:
    """The tree of one script plus what the recognizers need from it: where it has errors.

    Commands are located and bound from the text (scanner.lexer), which PowerShell semantics
    allow in every region; the tree says where its own reading broke down, which lowers the
    confidence of a call found there.
    """

    tree: tree_sitter.Tree
    offsets: OffsetMap
    error_spans: list[tuple[int, int]] = field(default_factory=list)  # char offsets of ERROR / MISSING nodes

    @property
    def has_error(self) -> bool:
        return bool(self.error_spans)

    def overlaps_error(self, start: int, end: int) -> bool:
        """Whether the span touches an ERROR or MISSING node (then the tree is not trusted there)."""
        return any(s < end + 1 and start <= e for s, e in self.error_spans)


@lru_cache(maxsize=1)
def _query() -> tree_sitter.Query:
    import tree_sitter
    import tree_sitter_powershell

    language = tree_sitter.Language(tree_sitter_powershell.language())
    return tree_sitter.Query(language, "(ERROR) @error (MISSING) @missing")


def parse_source(text: str) -> ParsedSource:
    """Parse decoded text and collect the spans (text offsets) where the tree is not trusted."""
    data = text.encode("utf-8", "surrogatepass")
    tree = parse_bytes(data)
    offsets = OffsetMap(text)
    parsed = ParsedSource(tree, offsets)
    if not tree.root_node.has_error:
        return parsed
    # A query runs in C; walking every node in Python would cost as much as the parse itself.
    import tree_sitter

    captures = tree_sitter.QueryCursor(_query()).captures(tree.root_node)
    for key in ("error", "missing"):
        for node in captures.get(key, []):
            parsed.error_spans.append((offsets.char(node.start_byte), offsets.char(node.end_byte)))
    parsed.error_spans.sort()
    return parsed
