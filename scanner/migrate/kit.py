"""The migration kit: the Smtp2Graph PowerShell module and the admin scripts that register and scope its app."""

from __future__ import annotations

import json
import os
import re
import stat
import tempfile
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from scanner import __version__
from scanner.migrate.mapping import ps_quote

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
GRAPH_APIS = {"graph-sendmail", "send-mgusermail"}
# APIs whose calls send as a mailbox the app must be allowed to use.
_SENDING_APIS = {
    "send-mailmessage",
    "smtpclient",
    "mailkit",
    "cdo",
    "system-web-mail",
    "graph-sendmail",
    "send-mgusermail",
}


class KitError(Exception):
    """A kit input the user must fix (unreadable scan JSON, wrong shape)."""


@dataclass
class SenderUse:
    """One sender mailbox and the scripts that send as it (mailbox "" when computed at run time)."""

    mailbox: str
    scripts: list[str] = field(default_factory=list)  # paths relative to the scan root, '/' separators
    credential: str = ""  # credential kinds seen (explicit, default-windows-logon, …), comma-joined
    smtp_server: str = ""  # SMTP servers as written, comma-joined


def _template_text(*parts: str) -> str:
    return resources.files("scanner.migrate").joinpath("templates", *parts).read_text(encoding="utf-8")


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
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


def render_kit(senders: list[SenderUse], root: str = "") -> dict[str, bytes]:
    """The kit scripts and README rendered for these senders (name → bytes)."""
    import jinja2  # only the kit and fix commands pay for jinja2

    environment = jinja2.Environment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
    )
    environment.filters["psq"] = ps_quote
    environment.filters["md_code"] = _md_code
    environment.filters["md_code_or_dash"] = _md_code_or_dash
    static = sorted(
        (replace(sender, scripts=sorted(sender.scripts)) for sender in senders if sender.mailbox),
        key=lambda item: item.mailbox,
    )
    unknown = sorted({script for sender in senders if not sender.mailbox for script in sender.scripts})
    out: dict[str, bytes] = {}
    for name in KIT_SCRIPTS:
        template = environment.from_string(_template_text("kit", name + ".j2"))
        text = template.render(version=__version__, senders=static, unknown=unknown, root=root)
        if name.endswith(".ps1"):
            out[name] = _generated(text)
        else:
            # Template conditionals leave runs of blank lines; Markdown needs one.
            out[name] = re.sub(r"\n{3,}", "\n\n", text).encode("utf-8")
    return out


def write_kit(dest: Path, senders: list[SenderUse], root: str = "") -> list[Path]:
    """Write the module (under ``dest/Smtp2Graph``), the admin scripts and the kit README; return the paths."""
    written = write_module(dest / MODULE_NAME)
    for name, data in render_kit(senders, root).items():
        target = dest / name
        write_atomic(target, data)
        written.append(target)
    return written


def _join_unique(values: list[str]) -> str:
    seen: list[str] = []
    for value in values:
        if value and value not in seen:
            seen.append(value)
    return ", ".join(seen)


class _SenderAccumulator:
    def __init__(self) -> None:
        self.scripts: dict[str, list[str]] = {}
        self.credentials: dict[str, list[str]] = {}
        self.servers: dict[str, list[str]] = {}

    def add(self, mailbox: str, script: str, credential: str, server: str) -> None:
        scripts = self.scripts.setdefault(mailbox, [])
        if script and script not in scripts:
            scripts.append(script)
        self.credentials.setdefault(mailbox, []).append(credential)
        self.servers.setdefault(mailbox, []).append(server)

    def result(self) -> list[SenderUse]:
        return [
            SenderUse(
                mailbox=mailbox,
                scripts=sorted(scripts),
                credential=_join_unique(self.credentials[mailbox]),
                smtp_server=_join_unique(self.servers[mailbox]),
            )
            for mailbox, scripts in sorted(self.scripts.items())
        ]


def senders_from_scan(document: dict[str, Any]) -> list[SenderUse]:
    """Group a scan JSON document's mail-sending findings by sender mailbox."""
    findings = document.get("findings")
    if not isinstance(findings, list):
        raise KitError("not a smtp2graph scan JSON document: no 'findings' list")
    accumulator = _SenderAccumulator()
    for finding in findings:
        if not isinstance(finding, dict):
            continue
        call = finding.get("call")
        if not isinstance(call, dict) or call.get("api") not in _SENDING_APIS:
            continue
        sender = finding.get("sender")
        mailbox = sender.strip().lower() if isinstance(sender, str) else ""
        raw_assessment = finding.get("assessment")
        assessment: dict[str, Any] = raw_assessment if isinstance(raw_assessment, dict) else {}
        if assessment.get("breaks") is False and call.get("api") not in GRAPH_APIS:
            continue  # an on-premises relay or direct send: it keeps working and never uses the app
        accumulator.add(
            mailbox,
            str(finding.get("path") or ""),
            str(assessment.get("credential") or ""),
            str(assessment.get("server_text") or ""),
        )
    return accumulator.result()


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
    senders: list[SenderUse] = []
    root = ""
    if senders_from is not None:
        document = load_scan(senders_from)
        try:
            senders = senders_from_scan(document)
        except KitError as error:
            raise KitError(f"{senders_from}: {error}") from None
        root = str(document.get("root") or "")
    return write_kit(dest, senders, root)
