"""Where the `Import-Module Smtp2Graph` line goes so the script keeps its structure: after the
header (#requires, comment-based help, using, attributes, param()), at the top of `begin` or of
each named block that sends, or first inside a script block that runs in another session."""

from __future__ import annotations

import re

from scanner.lexer import LexError, skip_balanced, skip_block_comment, skip_line_comment
from scanner.migrate.edits import TextEdit


# Guarded: where Smtp2Graph is not installed (yet), a failing import must not stop the script, or a toolkit module
# (whose commands would never be defined), where before only a failed send was reported. With -ErrorAction Ignore
# nothing is shown or kept in $Error, even under $ErrorActionPreference = 'Stop', and the missing module surfaces at
# the Send-GraphMailMessage call itself, where the send was (measured: bench/import_strategies.py). The explicit
# import still serves sessions that do not auto-load modules ($PSModuleAutoLoadingPreference) and shows reviewers
# the dependency.
IMPORT_LINE = "Import-Module Smtp2Graph -ErrorAction Ignore"


IMPORT_PRESENT = re.compile(r"(?im)^[ \t]*Import-Module\s+(?:-Name\s+)?['\"]?(?:[^\s'\"]*[\\/])?Smtp2Graph(?:\.psd1)?['\"]?(?:\s|;|$)")


def _skip_comment(text: str, index: int) -> int:
    if text.startswith("<#", index):
        return skip_block_comment(text, index)
    return skip_line_comment(text, index)


def _skip_balanced(text: str, index: int) -> int:
    """Index just past the bracket that closes the one at ``index``; len(text) when unbalanced."""
    try:
        return skip_balanced(text, index)
    except LexError:
        return len(text)


def _skip_trivia(text: str, index: int) -> int:
    while index < len(text):
        if text[index] in " \t\r\n\ufeff":
            index += 1
        elif text.startswith("<#", index) or text[index] == "#":
            index = _skip_comment(text, index)
        else:
            break
    return index


_PARAM = re.compile(r"param\s*\(", re.IGNORECASE)


_USING = re.compile(r"using\s+(namespace|module|assembly)\b", re.IGNORECASE)


_NAMED_BLOCK = re.compile(r"(dynamicparam|begin|process|end|clean)[ \t\r\n]*\{", re.IGNORECASE)


def read_header(text: str, start: int = 0) -> tuple[int, bool]:
    """Offset just past the header that starts at ``start`` (comments, #requires, using, attributes,
    param()), and whether it has a param block. ``start`` is 0 for a file, or just past a script block's `{`."""
    index = _skip_trivia(text, start)
    end = _end_of_comments(text, start, index)
    has_param = False
    while index < len(text):
        if _USING.match(text, index):
            line_end = text.find("\n", index)
            index = len(text) if line_end < 0 else line_end
            end = index
        elif text[index] == "[":
            # Attributes count only when a param block follows them.
            probe = index
            while probe < len(text) and text[probe] == "[":
                probe = _skip_trivia(text, _skip_balanced(text, probe))
            if not _PARAM.match(text, probe):
                break
            index = probe
            continue
        elif _PARAM.match(text, index):
            open_paren = text.index("(", index)
            index = _skip_balanced(text, open_paren)
            end = index
            has_param = True
        else:
            break
        following = _skip_trivia(text, index)
        end = max(end, _end_of_comments(text, index, following))
        index = following
    return end, has_param


def header_end(text: str, start: int = 0) -> int:
    """Offset just past the script header: comments, #requires, using lines, attributes and param()."""
    return read_header(text, start)[0]


def named_blocks(text: str, index: int) -> list[tuple[str, int, int]]:
    """The named blocks (begin, process, end, …) that follow the header ending at ``index``.

    Each is (name, offset of its `{`, offset just past its `}`); empty when the body is plain statements.
    """
    blocks: list[tuple[str, int, int]] = []
    position = _skip_trivia(text, index)
    while True:
        match = _NAMED_BLOCK.match(text, position)
        if match is None:
            break
        open_brace = match.end() - 1
        close = _skip_balanced(text, open_brace)
        blocks.append((match.group(1).lower(), open_brace, close))
        position = _skip_trivia(text, close)
    return blocks


_HELP_KEYWORD = re.compile(r"(?im)^[ \t]*\.(SYNOPSIS|DESCRIPTION|PARAMETER|EXAMPLE|NOTES|LINK|INPUTS|OUTPUTS|COMPONENT|"
                           r"ROLE|FUNCTIONALITY|FORWARDHELPTARGETNAME|FORWARDHELPCATEGORY|REMOTEHELPRUNSPACE|EXTERNALHELP)\b")
_DIRECTIVE = re.compile(r"(?i)#(requires\b|!)")


def _describes_code(text: str, start: int, end: int) -> bool:
    """Whether the comment at ``start:end`` may describe the code below it: not comment-based help, #requires or #!."""
    if text.startswith("<#", start):
        return not _HELP_KEYWORD.search(text, start, end)
    return not _DIRECTIVE.match(text, start)


def _end_of_comments(text: str, start: int, stop: int) -> int:
    """End of the last comment between ``start`` and ``stop`` that belongs to the header (``start`` when none does).

    The comments right above the code at ``stop`` (no blank line between them, nor between them and the code)
    describe that code: the import must not come between them and it, so they are not header. Comment-based help,
    `#requires` and `#!` are always header; so is every comment when no code follows.
    """
    comments: list[tuple[int, int]] = []
    index = start
    while index < stop:
        if text.startswith("<#", index) or text[index] == "#":
            end = _skip_comment(text, index)
            comments.append((index, end))
            index = end
        else:
            index += 1
    if stop < len(text):
        following = stop
        while comments:
            comment_start, comment_end = comments[-1]
            gap = text[comment_end:following]
            line_start = text.rfind("\n", 0, comment_start) + 1
            trailing = bool(text[line_start:comment_start].strip(" \t\ufeff"))  # ends a line of code: belongs to it
            if trailing or gap.count("\n") > 1 or not _describes_code(text, comment_start, comment_end):
                break
            comments.pop()
            following = comment_start
    return comments[-1][1] if comments else start


def import_edit(text: str, newline: str) -> TextEdit | None:
    """The one `Import-Module Smtp2Graph` line for a script without named blocks; None when it has one already."""
    if IMPORT_PRESENT.search(text):
        return None
    end = header_end(text)
    if end == 0:
        return TextEdit(0, 0, IMPORT_LINE + newline)
    line_end = text.find("\n", end)
    if line_end < 0:
        return TextEdit(len(text), len(text), newline + IMPORT_LINE + (newline if text.endswith("\n") else ""))
    if text[end:line_end].strip():
        # Code follows the header on the same line: put the import on its own line before it.
        return TextEdit(end, end, newline + IMPORT_LINE + newline)
    return TextEdit(line_end + 1, line_end + 1, IMPORT_LINE + newline)


def _line_indent(text: str, offset: int) -> str:
    line_start = text.rfind("\n", 0, offset) + 1
    match = re.match(r"[ \t]*", text[line_start:])
    return match.group(0) if match else ""


def _insert_import_after(text: str, offset: int, limit: int, newline: str, deeper: bool) -> TextEdit:
    """The import as the first statement after ``offset`` (just past a `{` or a param block), before ``limit``.

    When the rest of the line is empty (or a comment) the import gets its own line, indented like the
    code that follows; otherwise it goes on the same line, ended by `;`.
    """
    line_end = text.find("\n", offset)
    line_end = len(text) if line_end < 0 else line_end
    rest = text[offset:line_end].strip()
    if line_end < limit and (not rest or rest.startswith("#")):
        indent = ""
        following = _skip_trivia(text, line_end)
        if following < limit and following < len(text):
            indent = _line_indent(text, following)
        if not indent:
            indent = _line_indent(text, offset) + ("    " if deeper else "")
        cut = line_end - 1 if line_end > 0 and text[line_end - 1] == "\r" else line_end
        return TextEdit(cut, cut, newline + indent + IMPORT_LINE)
    return TextEdit(offset, offset, " " + IMPORT_LINE + ";")


def import_edits_in_body(text: str, body_start: int, body_end: int, call_offsets: list[int],
                          newline: str) -> list[TextEdit]:
    """Where the import goes in one script body (the file, or a script block's inside) so it keeps its structure.

    After param() come either statements (the import goes right after the header) or named blocks:
    then the import goes at the top of `begin` (which always runs first), else at the top of each
    named block that holds a rewritten call. Never between param() and the blocks, where PowerShell
    would read `begin {…}` / `process {…}` as commands.
    """
    end = header_end(text, body_start)
    blocks = named_blocks(text, max(body_start, end))
    if blocks:
        begin = [block for block in blocks if block[0] == "begin"]
        chosen = begin or [block for block in blocks if any(block[1] < at < block[2] for at in call_offsets)]
        if not chosen:
            chosen = [block for block in blocks if block[0] != "dynamicparam"][:1] or blocks[:1]
        return [_insert_import_after(text, open_brace + 1, close - 1, newline, deeper=True)
                for _, open_brace, close in chosen]
    if body_start == 0:
        edit = import_edit(text, newline)
        return [edit] if edit is not None else []
    if end > body_start:
        return [_insert_import_after(text, end, body_end - 1, newline, deeper=False)]
    return [_insert_import_after(text, body_start, body_end - 1, newline, deeper=True)]
