"""Brace blocks, function definitions and statement extents of a script, read from its masked text.

Splat keys added inside an `if` are conditional; a hashtable built in one function is not the
one splatted in another. Both questions need the block structure, and they must be answerable
where tree-sitter's tree is broken, so the structure is read from the masked text.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import cached_property
from enum import Enum
from typing import Optional

from scanner.lexer import (
    LexError,
    Masked,
    lower_same_length,
    mask,
    scan_primary,
    scan_value,
    skip_balanced,
    skip_block_comment,
    skip_string,
)


class BlockKind(str, Enum):
    FUNCTION = "function"
    CONDITIONAL = "conditional"  # if/else/switch/loops/catch/trap and script blocks passed to commands
    HASHTABLE = "hashtable"
    PLAIN = "plain"  # try/finally/begin/process/end and anything that always runs when its parent runs


@dataclass(frozen=True)
class Block:
    start: int  # offset of `{`
    end: int  # offset just past `}`
    parent: int = -1  # index of the enclosing block, -1 at script level
    name: str = ""  # function name for FUNCTION blocks


@dataclass(frozen=True)
class FunctionDef:
    name: str
    keyword_start: int  # offset of `function`
    name_start: int
    name_end: int
    body: Block


_CONDITIONAL_WORDS = {
    "if", "elseif", "else", "switch", "foreach", "for", "while", "do", "until", "catch", "trap",
}
_PLAIN_WORDS = {"try", "finally", "begin", "process", "end", "dynamicparam", "clean", "param"}
_FUNCTION = re.compile(r"(function|filter|workflow)\s+([^\s(){}]+)\s*(\([^)]*\)\s*)?\{")
_BRACES = re.compile(r"[{}]")
_WORD_BEFORE = re.compile(r"([\w-]+)\s*$")
_PARAM_BLOCK = re.compile(r"\bparam\s*\(")
_LINE_START = re.compile(r"^", re.M)


class Structure:
    """Blocks, functions and line starts of one script, each computed when first asked for."""

    def __init__(self, text: str, masked: Optional[Masked] = None) -> None:
        self.text = text
        self.masked = masked if masked is not None else mask(text)
        self.code = self.masked.code
        self._kinds: dict[int, BlockKind] = {}
        self._bracket_ends: dict[int, int] = {}  # opener -> skip_balanced's answer (-1: unclosed)

    @cached_property
    def code_lower(self) -> str:
        """The masked code lower-cased, same offsets: keyword searches run on it without re.I."""
        return lower_same_length(self.code)

    @cached_property
    def line_starts(self) -> list[int]:
        return [m.start() for m in _LINE_START.finditer(self.text)]

    @cached_property
    def functions(self) -> list[FunctionDef]:
        return self._find_functions()

    @cached_property
    def blocks(self) -> list[Block]:
        return self._find_blocks()

    @cached_property
    def _block_starts(self) -> list[int]:
        return [b.start for b in self.blocks]

    @cached_property
    def param_blocks(self) -> list[tuple[int, int]]:
        return self._find_param_blocks()

    def balanced_end(self, opener: int) -> int:
        """``lexer.skip_balanced(text, opener)``, answered once per bracket and script: function bodies,
        param blocks, statement ends and constructors ask for the same brackets again and again.
        (One pass over every bracket of the file up front measured slower than this.)"""
        ends = self._bracket_ends
        end = ends.get(opener)
        if end is None:
            try:
                end = skip_balanced(self.text, opener)
            except LexError:
                end = -1
            ends[opener] = end
        if end < 0:
            raise LexError(f"unclosed '{self.text[opener]}'", opener)
        return end

    # ---- positions

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based line and column of a text offset."""
        line = bisect.bisect_right(self.line_starts, offset) - 1
        return line + 1, offset - self.line_starts[line] + 1

    # ---- discovery

    def _find_functions(self) -> list[FunctionDef]:
        found: list[FunctionDef] = []
        # Keywords are found with str.find on the lower-cased code, then the definition is matched there.
        low = self.code_lower
        starts: list[int] = []
        for keyword in ("function", "filter", "workflow"):
            i = low.find(keyword)
            while i >= 0:
                starts.append(i)
                i = low.find(keyword, i + len(keyword))
        for start in sorted(starts):
            m = _FUNCTION.match(low, start)
            if m is None or (start > 0 and (low[start - 1].isalnum() or low[start - 1] in "_-")):
                continue
            brace = m.end() - 1
            try:
                end = self.balanced_end(brace)
            except LexError:
                end = len(self.text)
            name = self.code[m.start(2) : m.end(2)]
            body = Block(brace, end, -1, name)
            found.append(FunctionDef(name, m.start(), m.start(2), m.end(2), body))
        return found

    def _find_blocks(self) -> list[Block]:
        code = self.code
        function_names = {f.body.start: f.name for f in self.functions}
        spans: list[tuple[int, int]] = []
        stack: list[int] = []
        for m in _BRACES.finditer(code):
            i = m.start()
            if code[i] == "{":
                if i > 0 and code[i - 1] == "$":  # ${variable}
                    continue
                stack.append(i)
            elif stack:
                spans.append((stack.pop(), i + 1))
        spans.sort()
        # Braces nest, so each block's parent is the nearest earlier block that still contains it.
        blocks: list[Block] = []
        open_blocks: list[int] = []
        for start, end in spans:
            while open_blocks and blocks[open_blocks[-1]].end <= start:
                open_blocks.pop()
            parent = open_blocks[-1] if open_blocks else -1
            blocks.append(Block(start, end, parent, function_names.get(start, "")))
            open_blocks.append(len(blocks) - 1)
        return blocks

    def kind(self, block: Block) -> BlockKind:
        """What a block is (function, conditional, hashtable, plain), classified on first use."""
        kind = self._kinds.get(block.start)
        if kind is None:
            kind = BlockKind.FUNCTION if block.name else self._classify(block.start)
            self._kinds[block.start] = kind
        return kind

    def _classify(self, brace: int) -> BlockKind:
        code = self.code
        if brace > 0 and code[brace - 1] == "@":
            return BlockKind.HASHTABLE
        j = brace - 1
        while j >= 0 and code[j] in " \t\r\n`":
            j -= 1
        if j < 0:
            return BlockKind.PLAIN
        if code[j] == ")":
            j = matching_open_paren(code, j) - 1
        elif code[j] == "]":  # catch [Exception] {
            j = code.rfind("[", 0, j) - 1
        # Only the word right before the header matters: search a short window, not the whole file.
        m = _WORD_BEFORE.search(code[max(0, j - 64) : j + 1])
        word = m.group(1).lower() if m else ""
        if word in _CONDITIONAL_WORDS:
            return BlockKind.CONDITIONAL
        if word in _PLAIN_WORDS:
            return BlockKind.PLAIN
        if j >= 0 and code[j] in "=(,":
            return BlockKind.CONDITIONAL  # a script block value: it runs only if somebody invokes it
        return BlockKind.CONDITIONAL if word else BlockKind.PLAIN

    def _find_param_blocks(self) -> list[tuple[int, int]]:
        spans = []
        for m in _PARAM_BLOCK.finditer(self.code_lower):
            try:
                spans.append((m.start(), self.balanced_end(m.end() - 1)))
            except LexError:
                continue
        return spans

    # ---- questions

    def enclosing(self, offset: int) -> list[Block]:
        """Blocks containing ``offset``, outermost first."""
        blocks = self.blocks
        index = bisect.bisect_left(self._block_starts, offset) - 1
        # The innermost block containing offset is the last one starting before it, or an ancestor.
        while index >= 0 and blocks[index].end <= offset:
            index = blocks[index].parent
        chain: list[Block] = []
        while index >= 0:
            chain.append(blocks[index])
            index = blocks[index].parent
        chain.reverse()
        return chain

    def function_at(self, offset: int) -> Optional[Block]:
        """The innermost function body containing ``offset``."""
        for block in reversed(self.enclosing(offset)):
            if self.kind(block) is BlockKind.FUNCTION:
                return block
        return None

    def visible_from(self, definition: int, use: int) -> bool:
        """Whether a variable assigned at ``definition`` is in scope at ``use`` (same function, or script scope)."""
        scope = self.function_at(definition)
        return scope is None or scope == self.function_at(use)

    def is_conditional(self, offset: int, relative_to: int) -> bool:
        """Whether code at ``offset`` runs only on some paths that reach ``relative_to``."""
        outer = set(self.enclosing(relative_to))
        return any(
            self.kind(b) is BlockKind.CONDITIONAL for b in self.enclosing(offset) if b not in outer
        )

    def in_param_block(self, offset: int) -> bool:
        return any(s <= offset < e for s, e in self.param_blocks)

    def in_string_or_comment(self, offset: int) -> bool:
        """Whether ``offset`` lies inside a comment or a string literal."""
        for spans in (self.masked.strings, self.masked.comments):
            idx = bisect.bisect_right(spans, (offset, len(self.text) + 1)) - 1
            if idx >= 0 and spans[idx][0] <= offset < spans[idx][1]:
                return True
        return False


_VALUE_END = re.compile(r"[ \t]*(?:[;\r\n}#)]|$)")



def matching_open_paren(code: str, close: int) -> int:
    """Index of the '(' that the ')' at ``close`` closes, scanning backwards; -1 when there is none."""
    depth = 0
    j = close
    while j >= 0:
        if code[j] == ")":
            depth += 1
        elif code[j] == "(":
            depth -= 1
            if depth == 0:
                return j
        j -= 1
    return -1

def assigned_value_extent(structure: Structure, start: int) -> tuple[int, int]:
    """Extent of the value of an assignment whose right-hand side starts at ``start``.

    A simple value (string, number, variable, array of those, hashtable, group) is read as one
    value; anything else runs to the end of the statement.
    """
    text = structure.text
    if start >= len(text):
        return start, start  # `$x =` at the very end of the file
    try:
        if structure.in_param_block(start):
            end = scan_primary(text, start)
            return start, end
        element = scan_value(text, start)
        if _VALUE_END.match(text, element.end):
            return start, element.end
    except LexError:
        pass
    return start, statement_end(structure, start)


_STATEMENT_SPECIAL = re.compile(r"[({\[;)}\r\n#<`'\"\u2018-\u201e@$]")


def statement_end(structure: Structure, start: int) -> int:
    """Offset of the end of the statement that contains ``start`` (newline, `;` or closing brace)."""
    text = structure.text
    i = start
    n = len(text)
    while True:
        m = _STATEMENT_SPECIAL.search(text, i)
        if m is None:
            return n
        i = m.start()
        c = text[i]
        try:
            if c in "({[":
                i = structure.balanced_end(i)
            elif c in ";)}":
                return i
            elif c in "\r\n":
                # a trailing comma or operator continues the statement on the next line
                k = i - 1
                while k >= start and text[k] in " \t":
                    k -= 1
                if k >= start and text[k] in ",|+=":
                    i += 1
                    continue
                return i
            elif c == "`":
                i += 2
            elif c == "#":
                if i == 0 or text[i - 1] in " \t;":
                    return i
                i += 1
            elif c == "<":
                i = skip_block_comment(text, i) if text.startswith("<#", i) else i + 1
            elif c == "$":
                i += 1
                if i < n and text[i] == "{":
                    close = text.find("}", i)
                    i = n if close < 0 else close + 1
            elif c == "@":
                if i + 1 < n and text[i + 1] in "'\"\u2018\u2019\u201c\u201d":
                    i = skip_string(text, i)
                else:
                    i += 1
            else:
                i = skip_string(text, i)
        except LexError:
            return n
