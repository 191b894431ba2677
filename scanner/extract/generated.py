"""Mail sends inside script text that becomes code elsewhere: a string run by Invoke-Expression or
`[scriptblock]::Create`, or written out (Set-Content, Add-Content, Out-File, a scheduled task's action).

The text is bound as a script of its own, so the finding says what the send does; the call is reported
at its place in the string with the form ``generated-code`` and never patched (the code runs elsewhere).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import replace
from typing import Callable

from scanner.model import MailCall
from scanner.script import Script
from scanner.structure import string_body

GENERATED_FORM = "generated-code"

# Commands and methods that turn a string into code, here or in a file another process runs.
_SINK = re.compile(
    r"(?i)(?<![\w-])(Invoke-Expression|iex|Set-Content|Add-Content|Out-File|New-ScheduledTaskAction|"
    r"Register-ScheduledTask)(?![\w-])|(\[(?:System\.Management\.Automation\.)?scriptblock\]::Create)\s*\(")
_ASSIGNED = re.compile(r"(?i)\$(?:script:|global:|local:|private:)?(\w+)\s*=\s*$")
_COMMAND_ARGUMENT = re.compile(r"(?i)(?<![\w-])-(?:Command|c)\s+")
_TEXT_SEND = re.compile(r"(?i)(?<![\w-])Send-MailMessage(?![\w-])|\.Send\s*\(")
_TEXT_SEND_HINT = re.compile(r"send-mailmessage|\.send")


def _statement(code: str, start: int, end: int) -> tuple[str, str]:
    """The code before the string on its line and after it to the end of its line."""
    line_start = code.rfind("\n", 0, start) + 1
    line_end = code.find("\n", end)
    return code[line_start:start], code[end : len(code) if line_end < 0 else line_end]


def _sink_of(code: str, start: int, end: int) -> str:
    """The command that makes the string at ``start:end`` code ("" when none is seen)."""
    before, after = _statement(code, start, end)
    match = _SINK.search(before + " " + after)
    if match:
        return match.group(1) or match.group(2)
    assigned = _ASSIGNED.search(before)
    if assigned is None:
        return ""
    use = re.compile(r"(?i)\$(?:script:|global:|local:|private:)?" + re.escape(assigned.group(1)) + r"(?!\w)")
    for line in code[end:].splitlines():
        if use.search(line):
            match = _SINK.search(line)
            if match:
                return match.group(1) or match.group(2)
    return ""


def _find_inner(script: Script, find: Callable[[Script], list[MailCall]], start: int, end: int) -> tuple[list[MailCall], int]:
    """The calls in ``script.text[start:end]`` read as a script, and the offset that text starts at."""
    def calls_from(offset: int) -> list[MailCall]:
        inner = Script(script.text[offset:end], script.path)
        inner.estate, inner.root = script.estate, script.root
        return find(inner)

    found = calls_from(start)
    if not found:
        # A command line for powershell.exe / pwsh (a scheduled task's -Argument): the code follows -Command.
        command = _COMMAND_ARGUMENT.search(script.text, start, end)
        if command is not None:
            return calls_from(command.end()), command.end()
    return found, start


def generated_calls(script: Script, find: Callable[[Script], list[MailCall]]) -> list[MailCall]:
    """Calls ``find`` sees in strings that become code (each reported where it sits in the string)."""
    if script.is_data_file:
        return []
    # Each string searched on its own: strings are a small part of a file, and a case-insensitive
    # search of the whole text first costs more than all of them (measured on the mail-dense corpus).
    text = script.text
    calls: list[MailCall] = []
    # Where what _TEXT_SEND matches may start, found once in the lower-cased text: a string holding none
    # is not searched (in ASCII text only: case-insensitive matching folds a few other letters to ASCII).
    hints = [m.start() for m in _TEXT_SEND_HINT.finditer(script.text_lower)] if text.isascii() else None
    if hints == []:
        return calls
    for start, end in script.structure.masked.strings:
        if hints is not None:
            k = bisect.bisect_left(hints, start)
            if k == len(hints) or hints[k] >= end:
                continue
        if not _TEXT_SEND.search(text, start, end):
            continue
        code = script.code
        sink = _sink_of(code, start, end)
        if not sink:
            continue
        inner_start, inner_end = string_body(text, start, end)
        found, inner_start = _find_inner(script, find, inner_start, inner_end)
        for call in found:
            if call.form == "shadowing-function" or not call.sent:
                continue
            a, b = call.call_span[0] + inner_start, call.call_span[1] + inner_start
            calls.append(replace(
                call,
                form=GENERATED_FORM,
                location=script.location(a, b),
                related=[],
                notes=[*call.notes, f"text that becomes code elsewhere ({sink})"],
                name_span=(call.name_span[0] + inner_start, call.name_span[1] + inner_start),
                call_span=(a, b),
            ))
    return calls
