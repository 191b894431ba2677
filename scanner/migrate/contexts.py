"""Code that runs elsewhere: the innermost script block around a call that a job, a runspace or a
remote Invoke-Command runs in another session (which needs its own Import-Module)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache


class RunsElsewhere(str, Enum):
    """Where a script block runs when it is not the script's own session."""

    JOB = "job"  # Start-Job / Start-ThreadJob / ForEach-Object -Parallel: a new session on this machine
    RUNSPACE = "runspace"  # [powershell]::Create().AddScript(...): a new runspace on this machine
    REMOTE = "remote"  # Invoke-Command -ComputerName / -Session …: another computer


@dataclass(frozen=True)
class BlockContext:
    """The innermost script block around a call that runs in another session, and how it gets there."""

    kind: RunsElsewhere
    what: str  # "Start-Job", "Invoke-Command -ComputerName", …
    open_brace: int
    close: int  # just past the `}`


_JOB_COMMAND = re.compile(r"(?i)(?<![\w-])(Start-Job|Start-ThreadJob|sajb|Register-ScheduledJob)(?![\w-])")


_PARALLEL = re.compile(r"(?i)(?<![\w-])(ForEach-Object|foreach|%)[ \t]+.*-Parallel\b")


_INVOKE_COMMAND = re.compile(r"(?i)(?<![\w-])(Invoke-Command|icm)(?![\w-])")


_REMOTE_PARAMETER = re.compile(
    r"(?i)(?<![\w])-(ComputerName|Cn|Session|VMName|VMId|VMGuid|ContainerId|HostName|SSHConnection|"
    r"ConnectionUri|Uri|RunAsAdministrator)\b")


_RUNSPACE = re.compile(r"(?i)\.(AddScript|BeginInvoke)[ \t]*\(\s*$|\[(?:System\.Management\.Automation\.)?powershell\]::Create")


_ASSIGNED_BLOCK = re.compile(r"(?i)\$(?:script:|global:|local:|private:)?(\w+)[ \t]*=[ \t]*$")


# How far around a script block its statement is read: a statement longer than this is cut (a file of
# thousands of blocks on one line, or of thousands of unclosed ones, read the whole text before each).
_REACH = 2048


def _statement_text(code: str, open_brace: int, close: int) -> str:
    """The masked text of the statement a script block sits in: back to the start of its (continued) line,
    on to the end of the line after its `}` (at most _REACH characters each way)."""
    floor = max(0, open_brace - _REACH)
    start = open_brace
    while True:
        newline = code.rfind("\n", floor, start)
        if newline < 0:
            start = floor
            break
        line_start = newline + 1
        previous_end = newline
        if previous_end <= 0:
            start = line_start
            break
        before = code.rfind("\n", floor, previous_end)
        previous = code[before + 1 if before >= 0 else floor : previous_end].rstrip("\r \t")
        if previous.endswith(("`", "|", "(", ",")):
            start = previous_end
            continue
        start = line_start
        break
    reach = min(len(code), close + _REACH)
    end = code.find("\n", close, reach)
    end = reach if end < 0 else end
    return code[start:open_brace] + " " + code[close:end]


def _classify_block(code: str, open_brace: int, close: int) -> tuple[RunsElsewhere, str] | None:
    floor = max(0, open_brace - _REACH)
    line_start = max(code.rfind("\n", floor, open_brace), code.rfind(";", floor, open_brace), code.rfind("{", floor, open_brace)) + 1
    head = code[max(line_start, floor) : open_brace]
    statement = _statement_text(code, open_brace, close)
    if _RUNSPACE.search(head) or re.search(r"(?i)\.AddScript[ \t]*\(\s*$", code[max(0, open_brace - 200) : open_brace]):
        return RunsElsewhere.RUNSPACE, "a runspace (AddScript)"
    return _job_or_remote(statement)


def _job_or_remote(text: str) -> tuple[RunsElsewhere, str] | None:
    """Whether ``text`` hands a script block to a job, ForEach-Object -Parallel or a remote Invoke-Command."""
    job = _JOB_COMMAND.search(text)
    if job:
        return RunsElsewhere.JOB, job.group(1)
    if _PARALLEL.search(text):
        return RunsElsewhere.JOB, "ForEach-Object -Parallel"
    if _INVOKE_COMMAND.search(text):
        remote = _REMOTE_PARAMETER.search(text)
        if remote:
            return RunsElsewhere.REMOTE, f"Invoke-Command -{remote.group(1)}"
    return None


def _variable_use(code: str, name: str, after: int) -> tuple[RunsElsewhere, str] | None:
    """How a script block held in ``$name`` is run, when a job, runspace or remote command takes it."""
    use = re.compile(r"(?i)\$(?:script:|global:|local:)?" + re.escape(name) + r"(?![\w:])")
    for match in use.finditer(code, after):
        line_start = code.rfind("\n", 0, match.start()) + 1
        line_end = code.find("\n", match.end())
        line = code[line_start : len(code) if line_end < 0 else line_end]
        if re.search(r"(?i)\.AddScript[ \t]*\(", line):
            return RunsElsewhere.RUNSPACE, "a runspace (AddScript)"
        runner = _job_or_remote(line)
        if runner:
            return runner
    return None


def enclosing_blocks(code: str, offset: int) -> list[tuple[int, int]]:
    """The `{ … }` pairs (masked code) around ``offset``, innermost first: (offset of `{`, just past its `}`,
    or the end of the code when it is never closed)."""
    return [(open_brace, close) for open_brace, close, closed in reversed(_brace_pairs(code))
            if open_brace < offset and (offset < close or not closed)]


@lru_cache(maxsize=8)
def _brace_pairs(code: str) -> tuple[tuple[int, int, bool], ...]:
    """Every `{` of the code with the end of its block and whether it is closed, in text order: one
    pass for every question about the file (a file of thousands of unclosed `@{` took a pass each)."""
    pairs: list[list[int]] = []
    stack: list[int] = []
    for match in _BRACES.finditer(code):
        if match.group() == "{":
            stack.append(len(pairs))
            pairs.append([match.start(), len(code), 0])
        elif stack:
            pair = pairs[stack.pop()]
            pair[1], pair[2] = match.start() + 1, 1
    return tuple((start, end, bool(closed)) for start, end, closed in pairs)


_BRACES = re.compile(r"[{}]")


# How many blocks around a call are asked whether they run elsewhere, innermost first: a call under
# more is a file of thousands of unclosed `{` (each block's question costs up to 2 x _REACH).
_DEEPEST = 1000


def runs_elsewhere(code: str, offset: int) -> BlockContext | None:
    """The innermost script block around ``offset`` that runs in another session (job, runspace, remote)."""
    for open_brace, close in enclosing_blocks(code, offset)[:_DEEPEST]:
        found = _classify_block(code, open_brace, close)
        if found is None:
            assigned = _ASSIGNED_BLOCK.search(code[max(0, open_brace - 120) : open_brace])
            if assigned:
                found = _variable_use(code, assigned.group(1), close)
        if found is not None:
            return BlockContext(found[0], found[1], open_brace, close)
    return None


_TRY_BEFORE = re.compile(r"(?i)(?<![\w-])try\s*$")
_CATCH = re.compile(r"(?i)\s*catch\b((?:\s*\[[^\]\r\n]+\]\s*,?)*)\s*\{")
_CATCH_TYPE = re.compile(r"\[([^\]\r\n]+)\]")


@dataclass(frozen=True)
class TryContext:
    """The innermost `try { }` around a call and the exception types its catch clauses name (() for a plain catch)."""

    open_brace: int
    catches: tuple[tuple[str, ...], ...]

    @property
    def catches_everything(self) -> bool:
        return any(not types for types in self.catches)


def enclosing_try(code: str, offset: int) -> TryContext | None:
    """The innermost try block (masked code) whose braces hold ``offset``, with its catch clauses; None outside one."""
    for open_brace, close in enclosing_blocks(code, offset):
        if not _TRY_BEFORE.search(code, max(0, open_brace - 40), open_brace):
            continue
        catches: list[tuple[str, ...]] = []
        position = close
        while True:
            match = _CATCH.match(code, position)
            if match is None:
                break
            catches.append(tuple(t.strip() for t in _CATCH_TYPE.findall(match.group(1))))
            block = next((end for start, end, _ in _brace_pairs(code) if start == match.end() - 1), len(code))
            position = block
        return TryContext(open_brace, tuple(catches))
    return None
