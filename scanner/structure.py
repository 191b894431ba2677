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
from itertools import accumulate, repeat
from operator import add
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
# The words before a block whose `}` ends a statement (`do {…} while (…)` goes on after it: not here).
_STATEMENT_WORDS = {"if", "elseif", "else", "switch", "foreach", "for", "while", "until", "catch", "trap",
                    "try", "finally", "begin", "process", "end", "dynamicparam", "clean"}
_FUNCTION = re.compile(r"(function|filter|workflow)\s+([^\s(){}]+)\s*(\([^)]*\)\s*)?\{")
_BRACES = re.compile(r"([{}](?<!\$\{))")  # a brace, but not the one of ${name}
_WORD_BEFORE = re.compile(r"([\w-]+)\s*$")
# `param` then `(`; the word boundary before it is checked on each hit, so that the search can use the
# literal prefix (a leading \b makes the regex engine try every offset).
_PARAM_BLOCK = re.compile(r"param\s*\(")
_WORD_CHAR = re.compile(r"\w")
# What skip_balanced sees in masked code: brackets, `x escapes and ${braced names} (each alternative starts
# with a literal, so the search skips everything else in C; `$` without `{` fails and is passed over).
_BRACKET_TOKEN = re.compile(r"(\(|\)|\{|\}|\[|\]|`(?:.|\Z)|\$\{[^}]*\}?)", re.S)
_CLOSER_OF = {"(": ")", "{": "}", "[": "]"}
_OTHER_HERE_OPENER = re.compile("@[\u201a\u201b\u201e]")


def _tokens_and_offsets(pattern: "re.Pattern[str]", text: str) -> tuple[list[str], list[int]]:
    """The matches of ``pattern`` (one group around all of it) in ``text`` and their offsets.

    re.split hands back the text between matches and the matches in turn, and each match's offset is
    the summed length of what comes before it: no Match object per token."""
    parts = pattern.split(text)
    return parts[1::2], list(accumulate(map(len, parts)))[0:-1:2]


class Structure:
    """Blocks, functions and line starts of one script, each computed when first asked for."""

    def __init__(self, text: str, masked: Optional[Masked] = None) -> None:
        self.text = text
        self.masked = masked if masked is not None else mask(text)
        self.code = self.masked.code
        self._kinds: dict[int, BlockKind] = {}
        self._bracket_ends: Optional[dict[int, int]] = None  # opener -> skip_balanced's answer (-1: unclosed)

    @cached_property
    def code_lower(self) -> str:
        """The masked code lower-cased, same offsets: keyword searches run on it without re.I."""
        return lower_same_length(self.code)

    @cached_property
    def line_starts(self) -> list[int]:
        """Offset 0 and the offset after every "\\n" (where `^` matches under re.M), summed in C."""
        lines = self.text.split("\n")
        starts = list(accumulate(map(add, map(len, lines), repeat(1)), initial=0))
        starts.pop()  # the sum past the last line
        return starts

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

        Every bracket the mask left as code is matched in one pass over the masked code, where strings
        and comments are already blanks; any other opener (in a string, a comment, a ${name}, escaped)
        is read from the text by skip_balanced when first asked for."""
        ends = self._bracket_ends
        if ends is None:
            ends = self._bracket_ends = self._code_bracket_ends()
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

    def _code_bracket_ends(self) -> dict[int, int]:
        """skip_balanced's answer for each bracket of the masked code (-1: unclosed).

        From a code-level opener, skip_balanced reads the text the way mask did (strings, comments,
        here-strings, escapes, ${name}), so its bracket stack is the part above the opener of one
        stack kept over the whole code: a closer pops only the bracket it closes, any other closer
        is ignored, and an opener still open at the end is unclosed. The one difference: skip_balanced
        also opens a here-string at `@` followed by \u201a, \u201b or \u201e; such a text answers
        every bracket with skip_balanced."""
        if _OTHER_HERE_OPENER.search(self.text):
            return {}
        tokens, offsets = _tokens_and_offsets(_BRACKET_TOKEN, self.code)
        ends: dict[int, int] = {}
        openers: list[int] = []
        closers: list[str] = []
        for token, offset in zip(tokens, offsets):
            closer = _CLOSER_OF.get(token)
            if closer is not None:
                openers.append(offset)
                closers.append(closer)
                ends[offset] = -1
            elif closers and token == closers[-1]:
                closers.pop()
                ends[openers.pop()] = offset + 1
        return ends

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
        # One pass over the braces of the code (not ${name}): blocks come out in order of their `{`,
        # and a block's parent is the brace open below it, if that one closes.
        code = self.code
        starts: list[int] = []
        ends: list[int] = []  # -1 while (or if never) closed
        parents: list[int] = []
        stack: list[int] = []  # indexes into starts
        for brace, i in zip(*_tokens_and_offsets(_BRACES, code)):
            if brace == "{":
                parents.append(stack[-1] if stack else -1)
                stack.append(len(starts))
                starts.append(i)
                ends.append(-1)
            elif stack:
                ends[stack.pop()] = i + 1
        names = {f.body.start: f.name for f in self.functions}.get
        if not stack:
            return [Block(s, e, p, names(s, "")) for s, e, p in zip(starts, ends, parents)]
        # An unclosed `{` is no block; everything open below it stays open too, so a block whose
        # parent never closes is at script level.
        index: dict[int, int] = {}
        kept = [k for k, e in enumerate(ends) if e >= 0]
        for k in kept:
            index[k] = len(index)
        return [Block(starts[k], ends[k], index.get(parents[k], -1), names(starts[k], "")) for k in kept]

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
        j, word = self._block_header(brace)
        if word in _CONDITIONAL_WORDS:
            return BlockKind.CONDITIONAL
        if word in _PLAIN_WORDS:
            return BlockKind.PLAIN
        if j >= 0 and code[j] in "=(,":
            return BlockKind.CONDITIONAL  # a script block value: it runs only if somebody invokes it
        return BlockKind.CONDITIONAL if word else BlockKind.PLAIN

    def _block_header(self, brace: int) -> tuple[int, str]:
        """Where the code before the block at ``brace`` ends (a `(…)` or `[…]` header skipped) and the word
        there, lower case ("" when none): `if (…) {` gives "if", `catch [X] {` "catch", `$x = {` none."""
        code = self.code
        j = brace - 1
        while j >= 0 and code[j] in " \t\r\n`":
            j -= 1
        if j < 0:
            return j, ""
        if code[j] == ")":
            j = matching_open_paren(code, j) - 1
        elif code[j] == "]":  # catch [Exception] {
            j = code.rfind("[", 0, j) - 1
        if j < 0:
            return j, ""
        # Only the word right before the header matters: search a short window, not the whole file.
        m = _WORD_BEFORE.search(code[max(0, j - 64) : j + 1])
        return j, m.group(1).lower() if m else ""

    @cached_property
    def statement_closers(self) -> frozenset[int]:
        """Offsets of the `)` of each param block and of the `}` of each block a statement owns (a function
        body, if/else, a loop, switch, try/catch/finally, trap, begin/process/end): PowerShell starts a new
        statement after them on the same line (`{ param($p) Send-MailMessage @p }`), where after the `}` of
        a script block passed as an argument (`Invoke-Command {…} x`) a word is one more argument."""
        closers = {end - 1 for _, end in self.param_blocks}
        code = self.code
        for block in self.blocks:
            if block.name or self._owned_by_statement(block.start):
                closers.add(block.end - 1)
        return frozenset(i for i in closers if 0 <= i < len(code))

    def _owned_by_statement(self, brace: int) -> bool:
        if brace > 0 and self.code[brace - 1] == "@":
            return False
        return self._block_header(brace)[1] in _STATEMENT_WORDS

    def _find_param_blocks(self) -> list[tuple[int, int]]:
        spans = []
        low = self.code_lower
        for m in _PARAM_BLOCK.finditer(low):
            if m.start() > 0 and _WORD_CHAR.match(low, m.start() - 1):
                continue
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



def string_body(text: str, start: int, end: int) -> tuple[int, int]:
    """The span inside the quotes of the string literal at ``start:end`` (a here-string: between its
    opening and closing lines)."""
    if text.startswith(("@\"", "@'"), start):
        first = text.find("\n", start)
        last = text.rfind("\n", start, end)
        if 0 <= first < last:
            return first + 1, last
    return start + 1, max(start + 1, end - 1)


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
