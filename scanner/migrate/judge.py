"""The judge of a patch: does the patched script parse no worse and keep its structure?

PowerShell's own parser (``scanner.powershell.ParserSession``) is the judge whenever pwsh is
installed: it decides whether a patch adds a parse error or changes the script's structure (its
param block, its named begin/process/end blocks, each function and the blocks of each function).
Without pwsh, tree-sitter-powershell counts ERROR/MISSING nodes and a small lexer reads the
script's param block and named blocks (tree-sitter misreads ``begin {}`` after ``param()``).
Every file of a run is judged in one pwsh process (it takes about half a second to start), which
reads each text as soon as the run hands it in.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from scanner.migrate.placement import named_blocks, read_header
from scanner.migrate.syntax import problem_count
from scanner import powershell
from scanner.powershell import ParserSession, ScriptShape

# Helper functions the inline styles define inside their own `& { }` block: not the script's functions.
GENERATED_FUNCTIONS = frozenset({"convertto-graphrecipient", "convertto-graphattachment", "assert-graphasciilocalpart",
                                 "resolve-graphattachmentpath", "convertto-graphsendfailure"})


class JudgeName(str, Enum):
    POWERSHELL = "powershell"
    TREE_SITTER = "tree-sitter"


@dataclass(frozen=True)
class Verdict:
    """Whether one patched text may replace its original, and why not."""

    ok: bool
    reason: str = ""


class PatchJudge(Protocol):
    name: JudgeName
    description: str  # one line for the terminal and the JSON summary

    def judge(self, pairs: Sequence[tuple[str, str]]) -> list[Verdict]:
        """One verdict per (original, patched) pair, in order."""
        ...

    def rejects(self, texts: Sequence[str]) -> list[str]:
        """For each text, the first parse error this judge reports ("" when it parses, or when the
        judge cannot tell a script PowerShell rejects from one it cannot read itself)."""
        ...

    def prepare(self, texts: Sequence[str]) -> None:
        """Start reading these texts now (later questions about them cost less)."""
        ...

    def close(self) -> None:
        """End what the judge started (a pwsh process)."""
        ...


# --------------------------------------------------------------------------- PowerShell's parser


def _error_id(error: str) -> str:
    # "12:5 SplattingNotPermitted The splatting operator..." -> the id (positions move with edits)
    parts = error.split(" ", 2)
    return parts[1] if len(parts) > 1 else error


def _describe_blocks(blocks: Sequence[str]) -> str:
    return ", ".join(blocks) if blocks else "none"


def _structure_change(before: object, after: object) -> str:
    """A sentence saying what a patch changed in the script's structure ("" when nothing)."""
    assert isinstance(before, ScriptShape) and isinstance(after, ScriptShape)
    if before.has_param_block != after.has_param_block:
        return "the script's param block " + ("disappears" if before.has_param_block else "appears")
    if before.named_blocks != after.named_blocks:
        return (f"the script's named blocks change from {_describe_blocks(before.named_blocks)} "
                f"to {_describe_blocks(after.named_blocks)} (PowerShell would run them as commands)")
    functions_after = [fn for fn in after.functions if fn.name.lower() not in GENERATED_FUNCTIONS
                       or any(fn.name.lower() == old.name.lower() for old in before.functions)]
    if len(functions_after) != len(before.functions):
        return (f"the script's functions change from {len(before.functions)} to {len(functions_after)}")
    for old, new in zip(before.functions, functions_after):
        if old != new:
            return (f"function {old.name} changes shape (param block {old.has_param_block} -> {new.has_param_block}, "
                    f"named blocks {_describe_blocks(old.named_blocks)} -> {_describe_blocks(new.named_blocks)})")
    return ""


class PowerShellJudge:
    """PowerShell's own parser, in one pwsh process per batch."""

    name = JudgeName.POWERSHELL

    def __init__(self, pwsh: str) -> None:
        self.description = f"PowerShell's parser ({pwsh})"
        self._session: ParserSession | None = None

    @staticmethod
    def _readable(texts: Sequence[str]) -> list[str]:
        # A lone surrogate (undecodable UTF-16 in the file) cannot travel as UTF-8: the parser sees U+FFFD there.
        return [text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace") for text in texts]

    def _parser(self) -> ParserSession:
        if self._session is None:
            self._session = ParserSession()
        return self._session

    def prepare(self, texts: Sequence[str]) -> None:
        """Hand the texts to the pwsh process now: it parses them while the run goes on."""
        self._parser().submit(self._readable(texts))

    def _shapes(self, texts: Sequence[str]) -> list[ScriptShape]:
        return self._parser().shapes(self._readable(texts))

    def rejects(self, texts: Sequence[str]) -> list[str]:
        return [shape.errors[0] if shape.errors else "" for shape in self._shapes(texts)]

    def judge(self, pairs: Sequence[tuple[str, str]]) -> list[Verdict]:
        shapes = self._shapes([text for pair in pairs for text in pair])
        return [self._verdict(shapes[2 * i], shapes[2 * i + 1]) for i in range(len(pairs))]

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    @staticmethod
    def _verdict(before: object, after: object) -> Verdict:
        assert isinstance(before, ScriptShape) and isinstance(after, ScriptShape)
        added = Counter(_error_id(e) for e in after.errors) - Counter(_error_id(e) for e in before.errors)
        if added:
            first = next(e for e in after.errors if _error_id(e) in added)
            return Verdict(False, f"PowerShell's parser reports a new parse error in the patched file: {first[:200]}")
        change = _structure_change(before, after)
        if change:
            return Verdict(False, f"PowerShell's parser: the patch changes the script's structure: {change}")
        return Verdict(True)


# --------------------------------------------------------------------------- tree-sitter fallback


_NAMED_BLOCK = re.compile(r"(dynamicparam|begin|process|end|clean)[ \t\r\n]*\{", re.IGNORECASE)


def lexer_shape(text: str) -> tuple[bool, tuple[str, ...]]:
    """The script's param block and top-level named blocks, read with the lexer (no pwsh needed)."""
    end, has_param = read_header(text)
    return has_param, tuple(name for name, _, _ in named_blocks(text, end))


class TreeSitterJudge:
    """tree-sitter-powershell's ERROR/MISSING nodes plus the lexer's view of the script's blocks."""

    name = JudgeName.TREE_SITTER

    def __init__(self, why: str = "pwsh not found") -> None:
        self.description = f"tree-sitter-powershell ({why}; PowerShell's parser is the stronger judge)"

    def rejects(self, texts: Sequence[str]) -> list[str]:
        # tree-sitter reports errors in about a quarter of the scripts PowerShell reads without one:
        # it cannot tell a script PowerShell rejects (GRAMMAR_NOTES.md), so it never says so.
        return ["" for _ in texts]

    def prepare(self, texts: Sequence[str]) -> None:
        return None

    def close(self) -> None:
        return None

    def judge(self, pairs: Sequence[tuple[str, str]]) -> list[Verdict]:
        verdicts = []
        for before, after in pairs:
            if problem_count(after) > problem_count(before):
                verdicts.append(Verdict(False, "the patched file would not parse cleanly "
                                               "(tree-sitter reports new ERROR/MISSING nodes)"))
                continue
            old, new = lexer_shape(before), lexer_shape(after)
            if old != new:
                verdicts.append(Verdict(False, "the patch changes the script's structure: named blocks "
                                               f"{_describe_blocks(old[1])} -> {_describe_blocks(new[1])}"))
                continue
            verdicts.append(Verdict(True))
        return verdicts


def default_judge(use_powershell: bool = True) -> PatchJudge:
    """PowerShell's parser when pwsh is installed (and wanted), else the tree-sitter fallback."""
    if use_powershell:
        pwsh = powershell.find_pwsh()  # looked up on the module: a test can stand in for it
        if pwsh is not None:
            return PowerShellJudge(pwsh)
        return TreeSitterJudge("pwsh not found")
    return TreeSitterJudge("PowerShell's parser not used")
