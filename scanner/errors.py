"""One error style for every command: `smtp2graph: error: WHAT: reason`, the option or path first.

Typer (click) prints usage errors as a box with a usage line; here they become the same single
line the commands print for their own errors, followed by where to read more.
"""

from __future__ import annotations

import sys
from typing import Optional, TextIO

import typer

from scanner.safetext import safe_line

try:  # typer >= 0.2x vendors click; older releases depend on it
    from typer._click import exceptions as _errors  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - depends on the installed typer
    from click import exceptions as _errors  # type: ignore[no-redef]

_CLEAN = {"str": "TEXT", "path": "PATH", "file": "FILE", "directory": "DIR", "int": "N", "float": "N", "bool": ""}


def usage_message(error: _errors.UsageError) -> str:
    """`OPTION: reason` for a click usage error (no box, no usage line)."""
    message = error.format_message() if not isinstance(error, _errors.BadParameter) else error.message
    message = message.replace("Value error, ", "")
    if isinstance(error, _errors.NoSuchOption):
        hint = f" (did you mean {', '.join(sorted(error.possibilities))}?)" if error.possibilities else ""
        return f"{error.option_name}: no such option{hint}"
    if isinstance(error, _errors.MissingParameter):
        name = _param_name(error.param) or "argument"
        return f"{name}: missing {'argument' if _is_argument(error.param) else 'value'}"
    if isinstance(error, _errors.BadParameter):
        hint = error.param_hint if isinstance(error.param_hint, str) else ""
        name = _param_name(error.param) or hint or "value"
        return f"{name}: {message}"
    return message[0].lower() + message[1:] if message else "invalid command line"


def _is_argument(param: object) -> bool:
    return getattr(param, "param_type_name", "") == "argument"


def _param_name(param: object) -> str:
    if param is None:
        return ""
    if not _is_argument(param):
        opts = list(getattr(param, "opts", []) or [])
        return str(max(opts, key=len)) if opts else str(getattr(param, "name", "") or "")
    metavar = getattr(param, "metavar", None)
    return str(metavar) if metavar else str(getattr(param, "name", "") or "").upper()


def clean_type(shown: str) -> str:
    """`<list[str]>` -> `TEXT`, `<int>` -> `N`, `<a|b>` -> `[a|b]`: what a person types, not a Python type."""
    inner = shown[1:-1] if shown.startswith("<") and shown.endswith(">") else shown
    listed = inner.startswith("list[") and inner.endswith("]")
    if listed:
        inner = inner[5:-1]
    if "|" in inner:
        return f"[{inner}]"
    return _CLEAN.get(inner.lower(), inner.upper() if inner else "")


def tidy_metavars(command: object) -> None:
    """`--select TEXT` instead of `--select <list[str]>`: type names are noise in a help text."""
    for param in getattr(command, "params", []):
        original = getattr(param, "display_type", None)
        if not callable(original):
            continue
        if getattr(param, "metavar", None) is not None:
            param.display_type = lambda ctx: ""  # type: ignore[attr-defined]  # FILE.json says it already
        else:
            param.display_type = lambda ctx, _original=original: clean_type(str(_original(ctx)))  # type: ignore[attr-defined]
    for sub in (getattr(command, "commands", None) or {}).values():
        tidy_metavars(sub)


def run_cli(app: typer.Typer, args: Optional[list[str]] = None, *, err: Optional[TextIO] = None) -> int:
    """Run the typer app; return its exit code, usage errors printed in the one error style (exit 2)."""
    stream = err if err is not None else sys.stderr
    command = typer.main.get_command(app)
    tidy_metavars(command)
    try:
        result = command.main(args=args, prog_name="smtp2graph", standalone_mode=False)
    except _errors.UsageError as error:
        where = error.ctx.command_path if error.ctx is not None else "smtp2graph"
        print(safe_line(f"smtp2graph: error: {usage_message(error)} (see `{where} --help`)"), file=stream)
        return 2
    except typer.Exit as done:
        return int(done.exit_code or 0)
    except typer.Abort:
        print("smtp2graph: error: interrupted", file=stream)
        return 130
    except _errors.ClickException as error:
        print(safe_line(f"smtp2graph: error: {error.format_message()}"), file=stream)
        return error.exit_code
    return result if isinstance(result, int) and not isinstance(result, bool) else 0
