"""What every command says the same way: the prefix of its error and warning lines, and where an
`--output FILE` goes (a missing folder is created, and said).

One prefix for everyone: `smtp2graph: error: WHAT: reason` and `smtp2graph: warning: WHAT: reason`,
whichever command prints it (scan, fix, verify, audit, report), so a log can be searched for one string.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional, TextIO

from scanner.safetext import safe_line

ERROR_PREFIX = "smtp2graph: error: "
WARNING_PREFIX = "smtp2graph: warning: "


def error_line(message: str) -> str:
    """`smtp2graph: error: message`, one line (control characters and newlines escaped)."""
    return safe_line(ERROR_PREFIX + message)


def warning_line(message: str) -> str:
    """`smtp2graph: warning: message`, one line."""
    return safe_line(WARNING_PREFIX + message)


def print_error(message: str, stream: Optional[TextIO] = None) -> None:
    """Print `smtp2graph: error: message` on stderr (or ``stream``)."""
    print(error_line(message), file=stream if stream is not None else sys.stderr)


def print_warning(message: str, stream: Optional[TextIO] = None) -> None:
    """Print `smtp2graph: warning: message` on stderr (or ``stream``)."""
    print(warning_line(message), file=stream if stream is not None else sys.stderr)


def prepare_output(path: Path, what: str = "the report", stream: Optional[TextIO] = None) -> None:
    """Make sure the folder of an `--output` file exists: a missing one is created and a line on stderr says
    so (a mistyped folder is then visible, not a silent new tree). Raises OSError when it cannot be made."""
    parent = path.parent
    if str(parent) in ("", ".") or parent.is_dir():
        return
    parent.mkdir(parents=True, exist_ok=True)
    print(safe_line(f"smtp2graph: created the folder {parent} for {what}"), file=stream if stream is not None else sys.stderr)
