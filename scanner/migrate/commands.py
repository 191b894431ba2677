"""The migration commands' bodies (`kit`, `fix`, `snippet`): arguments in, exit code out, one line per error."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

from scanner.migrate.kit import KitError, build_kit


def _error(message: str) -> None:
    print(f"smtp2graph: error: {message}", file=sys.stderr)


def run_kit(dest: Path, senders_from: Optional[Path]) -> int:
    """Write the kit into ``dest``; 0 on success, 2 on a usage or I/O error."""
    if dest.exists() and not dest.is_dir():
        _error(f"{dest}: exists and is not a folder")
        return 2
    try:
        written = build_kit(dest, senders_from)
    except KitError as error:
        _error(str(error))
        return 2
    except OSError as error:
        _error(f"{error.filename or dest}: cannot write: {error.strerror or error}")
        return 2
    for path in written:
        print(path)
    print(f"Wrote {len(written)} files; start with {dest / 'README.md'}", file=sys.stderr)
    return 0
