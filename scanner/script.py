"""One script as the recognizers see it: text, masked code, block structure and (lazily) the tree."""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Iterable, Optional

from scanner.declared import EstateFacts
from scanner.model import Location, RelatedLocation
from scanner.parse import ParsedSource, parse_source
from scanner.structure import Structure

# Larger files are not parsed (memory); the lexer finds and binds their calls all the same.
PARSE_MAX_CHARS = 512 * 1024

# Where a command may start: after these (ignoring spaces and line continuations).
_COMMAND_BOUNDARY = set("\n\r;{(|&=}")
_LOOKBACK_WS = " \t\ufeff"


class Script:
    """A decoded script and the views of it that every recognizer shares."""

    def __init__(self, text: str, path: str = "<text>", is_data_file: bool = False) -> None:
        self.text = text
        self.path = path
        self.is_data_file = is_data_file
        # Results that several recognizers need, computed once per script.
        self.memo: dict[str, object] = {}
        # Facts the estate declares in .smtp2graph.toml (assumed values, host classes).
        self.estate: Optional[EstateFacts] = None
        # The scan root on disk: configuration files the script loads are read below it.
        self.root: Optional[Path] = None
        # How the file was read (scanner.files.decode: "utf-8" is UTF-8 without a BOM), when it came from a file.
        self.encoding: Optional[str] = None

    @cached_property
    def text_lower(self) -> str:
        """The text in lower case (the recognizers' token checks)."""
        return self.text.lower()

    @cached_property
    def structure(self) -> Structure:
        return Structure(self.text)

    @property
    def code(self) -> str:
        """The text with comments and strings blanked."""
        return self.structure.code

    @cached_property
    def parsed(self) -> Optional[ParsedSource]:
        """The tree-sitter view, or None for a file too large to parse (its tree would cost ~100 bytes
        of memory per source byte); calls in such a file are still found and bound from the text."""
        if len(self.text) > PARSE_MAX_CHARS:
            return None
        return parse_source(self.text)

    def tree_doubts(self, start: int, end: int) -> Optional[str]:
        """Why the call at ``start:end`` deserves less confidence, from the tree's point of view."""
        parsed = self.parsed
        if parsed is None:
            return f"the file is over {PARSE_MAX_CHARS // 1024} KiB, so tree-sitter was not run; found from the text alone"
        if parsed.overlaps_error(start, end):
            return "recovered from a region tree-sitter could not parse"
        return None

    def location(self, start: int, end: int) -> Location:
        line, col = self.structure.line_col(start)
        end_line, end_col = self.structure.line_col(max(start, end))
        return Location(self.path, line, col, end_line, end_col, start, end)

    def related(self, offsets: Iterable[tuple[int, str]]) -> list[RelatedLocation]:
        """A related location (line and column in this script) for each (offset, role)."""
        return [RelatedLocation(self.path, *self.structure.line_col(offset), role) for offset, role in offsets]

    def line_of(self, offset: int) -> int:
        return self.structure.line_col(offset)[0]

    def previous_code_char(self, offset: int) -> tuple[str, int]:
        """The code character before ``offset``, skipping spaces and backtick line continuations."""
        code = self.code
        i = offset - 1
        while i >= 0:
            c = code[i]
            if c in _LOOKBACK_WS:
                i -= 1
            elif c in "\r\n" and i > 0 and (code[i - 1] == "`" or (c == "\n" and code[i - 1] == "\r" and i > 1 and code[i - 2] == "`")):
                i -= 2 if code[i - 1] == "`" else 3
            else:
                return c, i
        return "", -1

    def at_command_position(self, offset: int) -> bool:
        """Whether a word at ``offset`` would be read as a command name by PowerShell."""
        c, i = self.previous_code_char(offset)
        if c == "" or c in _COMMAND_BOUNDARY:
            if c == "=" and i > 0 and self.code[i - 1] in "=!<>":
                return False
            if c == "}":
                return i in self.structure.statement_closers  # `if (…) {…} Send-MailMessage`, not `Invoke-Command {…} x`
            return True
        if c == ")" and i in self.structure.statement_closers:
            return True  # `{ param($p) Send-MailMessage @p }`
        if c == "." and (i == 0 or self.code[i - 1] in " \t\r\n;{("):
            return True  # dot-sourcing
        # keywords that take a pipeline: return, throw, else, and the pipe chain operators
        m = re.search(r"(?i)(?:^|[\s;{(])(return|throw|exit)\s*$", self.code[max(0, i - 10) : i + 1])
        return m is not None

    def pipeline_upstream(self, offset: int) -> Optional[tuple[int, int]]:
        """When the command at ``offset`` receives pipeline input, the span of what feeds it."""
        code = self.code
        i = offset - 1
        while i >= 0 and (code[i] in " \t\r\n`"):
            i -= 1
        if i < 0 or code[i] != "|" or (i > 0 and code[i - 1] == "|"):
            return None
        pipe = i
        line_start = code.rfind("\n", 0, pipe) + 1
        start = line_start
        for boundary in (";", "{", "("):
            k = code.rfind(boundary, line_start, pipe)
            if k >= 0:
                start = max(start, k + 1)
        # On the source text: the masked code blanks a string literal to spaces, and
        # `('x' | ConvertTo-SecureString …)` would lose the very value piped in.
        text = self.text
        while start < pipe and text[start] in " \t":
            start += 1
        return (start, pipe) if start < pipe else None
