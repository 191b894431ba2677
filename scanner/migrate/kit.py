"""The migration kit: the Smtp2Graph PowerShell module and the admin scripts that register and scope its app."""

from __future__ import annotations

import json
import os
import re
import stat
import tempfile
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

from scanner import __version__
from scanner.estate.senders import SenderPlan, plan_of_document
from scanner.migrate.mapping import ps_quote
from scanner.migrate.writer import OutputRefused, refuse_output

MODULE_NAME = "Smtp2Graph"
MODULE_FILES: tuple[str, ...] = (
    "Smtp2Graph.psm1",
    "Smtp2Graph.psd1",
    "Smtp2Graph.Tests.ps1",
    "Smtp2Graph.config.example.psd1",
)
KIT_SCRIPTS: tuple[str, ...] = (
    "Register-Smtp2GraphApp.ps1",
    "Set-Smtp2GraphScope.ps1",
    "Test-Smtp2GraphSend.ps1",
    "README.md",
)
class KitError(Exception):
    """A kit input the user must fix (unreadable scan JSON, wrong shape)."""


def _template_text(*parts: str) -> str:
    return resources.files("scanner.migrate").joinpath("templates", *parts).read_text(encoding="utf-8")


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename (never through a
    symbolic link or over a read-only file: KitError says so)."""
    try:
        refuse_output(path)
    except OutputRefused as refused:
        raise KitError(str(refused)) from None
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)  # patching in place keeps the file's permissions
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temp_name, mode)
        os.replace(temp_name, path)
    except BaseException:
        if os.path.exists(temp_name):
            os.unlink(temp_name)
        raise


def _generated(text: str) -> bytes:
    # CRLF and a UTF-8 BOM: Windows PowerShell 5.1 reads BOM-less files as the ANSI code page.
    body = text.replace("__VERSION__", __version__).replace("\r\n", "\n").replace("\n", "\r\n")
    return b"\xef\xbb\xbf" + body.encode("utf-8")


def module_sources() -> dict[str, bytes]:
    """The module's files (name → bytes exactly as written to disk)."""
    return {name: _generated(_template_text("module", name)) for name in MODULE_FILES}


def write_module(dest: Path) -> list[Path]:
    """Write the Smtp2Graph module files into ``dest`` (the module folder itself); return the paths."""
    written: list[Path] = []
    for name, data in module_sources().items():
        target = dest / name
        write_atomic(target, data)
        written.append(target)
    return written


def _md_code(text: str) -> str:
    return "`" + text.replace("`", "'") + "`"


def _md_code_or_dash(text: str) -> str:
    return _md_code(text) if text else "-"


def render_kit(plan: SenderPlan, root: str = "") -> dict[str, bytes]:
    """The kit scripts and README rendered for the scan's sender list (name → bytes): the app is
    scoped to its mailboxes; the README lists what to decide and what is left out of the scope."""
    import jinja2  # only the kit and fix commands pay for jinja2

    environment = jinja2.Environment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
    )
    environment.filters["psq"] = ps_quote
    environment.filters["md_code"] = _md_code
    environment.filters["md_code_or_dash"] = _md_code_or_dash
    static = sorted((replace(sender, scripts=sorted(sender.scripts)) for sender in plan.mailboxes), key=lambda item: item.mailbox)
    out: dict[str, bytes] = {}
    for name in KIT_SCRIPTS:
        template = environment.from_string(_template_text("kit", name + ".j2"))
        text = template.render(version=__version__, senders=static, decide=plan.decide, out_of_scope=plan.out_of_scope, root=root)
        if name.endswith(".ps1"):
            out[name] = _generated(text)
        else:
            # Template conditionals leave runs of blank lines; Markdown needs one.
            out[name] = re.sub(r"\n{3,}", "\n\n", text).encode("utf-8")
    return out


def write_kit(dest: Path, plan: SenderPlan, root: str = "") -> list[Path]:
    """Write the module (under ``dest/Smtp2Graph``), the admin scripts and the kit README; return the paths."""
    written = write_module(dest / MODULE_NAME)
    for name, data in render_kit(plan, root).items():
        target = dest / name
        write_atomic(target, data)
        written.append(target)
    return written


def load_scan(path: Path) -> dict[str, Any]:
    """Read a scan JSON file, or raise KitError with the path and the reason."""
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as error:
        raise KitError(f"{path}: cannot read: {error.strerror or error}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise KitError(f"{path}: not JSON: {error}") from None
    if not isinstance(document, dict):
        raise KitError(f"{path}: not a smtp2graph scan JSON document")
    return document


def build_kit(dest: Path, senders_from: Path | None = None) -> list[Path]:
    """The `kit` command: write the kit into ``dest``, scoped to the senders of a scan JSON file if given."""
    plan = SenderPlan()
    root = ""
    if senders_from is not None:
        document = load_scan(senders_from)
        if not isinstance(document.get("findings"), list):
            raise KitError(f"{senders_from}: not a smtp2graph scan JSON document: no 'findings' list")
        plan = plan_of_document(document)
        root = str(document.get("root") or "")
    return write_kit(dest, plan, root)
