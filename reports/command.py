"""The `smtp2graph report` command: read many scan and audit JSON files, merge them, render one report."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterable, Iterator, Optional, TextIO, Union

from scanner.outputs import prepare_output
from scanner.migrate.writer import OutputRefused, is_stdout, write_output_file
from scanner.safetext import safe_line, safe_text

from .builder import ReportBuilder, _obj, classify_document
from .formats import Format, ReportFormat
from .model import DocumentKind, JsonDict, ReportInputError
from .render import render_merged


@dataclass(frozen=True)
class InputProblem:
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def read_document(path: Path) -> JsonDict:
    """Load and classify one JSON file; raise ReportInputError with a one-line reason."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ReportInputError("no such file") from None
    except IsADirectoryError:
        raise ReportInputError("is a directory, expected a JSON file") from None
    except UnicodeDecodeError:
        raise ReportInputError("not UTF-8 text") from None
    except OSError as error:
        raise ReportInputError(error.strerror or str(error)) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ReportInputError(f"invalid JSON at line {error.lineno} column {error.colno}: {error.msg}") from None
    except RecursionError:
        raise ReportInputError("nested too deeply to be a smtp2graph report (arrays or objects hundreds of levels down)") from None
    kind = classify_document(document)  # raises unless it is a JSON object of the right shape
    if kind is DocumentKind.SCAN:
        _normalize_scan(_obj(document))
    else:
        _normalize_audit(_obj(document))
    return _obj(document)


# The lists an audit section's renderers walk (section -> list keys, each of objects; a nested list of strings).
_AUDIT_LISTS = {"mail_send_apps": ("items",), "smtp_auth_signins": ("items",), "correlation": ("unscanned_accounts", "silent_senders")}
_STRING_LISTS = ("client_ips", "scripts")


def _normalize_audit(document: JsonDict) -> None:
    """An audit document's lists made lists of objects (a hand-edited file must not stop the report)."""
    for section, keys in _AUDIT_LISTS.items():
        part = document.get(section)
        if part is None:
            continue
        if not isinstance(part, dict):
            document[section] = part = {}
        for key in keys:
            items = part.get(key)
            kept = [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []
            for item in kept:
                for name in _STRING_LISTS:
                    if name in item and not isinstance(item[name], list):
                        item[name] = []
            part[key] = kept


_WHOLE_NUMBERS = ("line", "column", "end_line", "end_column")


def _normalize_scan(document: JsonDict) -> None:
    """Values a renderer computes with, made the type it expects (a scan JSON file is input like any other:
    edited, truncated or written by hand): a position that is not a whole number is 0, a deadline that
    is not an ISO date is dropped."""
    findings = document.get("findings")
    for finding in findings if isinstance(findings, list) else ():
        if not isinstance(finding, dict):
            continue
        for key in _WHOLE_NUMBERS:
            value = finding.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                finding[key] = _whole_number(value)
        related_locations = finding.get("related_locations")
        for related in related_locations if isinstance(related_locations, list) else ():
            if isinstance(related, dict):
                for key in ("line", "column"):
                    value = related.get(key)
                    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                        related[key] = _whole_number(value)
    deadline = document.get("deadline")
    if deadline is not None and not _iso_date(deadline):
        document.pop("deadline", None)


def _whole_number(value: object) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e12:
        return int(value)
    return 0


def _iso_date(value: object) -> bool:
    from datetime import date

    if not isinstance(value, str):
        return False
    try:
        date.fromisoformat(value[:10])
    except ValueError:
        return False
    return True


def iter_documents(paths: Iterable[Path], problems: list[InputProblem]) -> Iterator[JsonDict]:
    """Yield usable documents one at a time; unusable files are appended to `problems` and skipped."""
    for path in paths:
        try:
            yield read_document(path)
        except ReportInputError as error:
            problems.append(InputProblem(str(path), str(error)))


@dataclass
class RenderedFiles:
    text: Optional[Union[str, bytes]]  # None when no input was usable; bytes for XLSX
    problems: list[InputProblem]
    documents: int


def render_files(
    paths: Iterable[Path], report_format: Union[ReportFormat, str], *, now: Optional[datetime] = None,
    owners: Iterable[str] = (), repositories: Iterable[str] = (),
) -> RenderedFiles:
    """Read many scan/audit JSON files (streamed) and render one report; unusable files become problems."""
    problems: list[InputProblem] = []
    builder = ReportBuilder(owners=owners, repositories=repositories)
    count = 0
    for document in iter_documents(paths, problems):
        builder.add(document)
        count += 1
    if count == 0:
        return RenderedFiles(text=None, problems=problems, documents=0)
    report = builder.build(now=now)
    return RenderedFiles(text=render_merged(report, Format(ReportFormat(report_format).value)), problems=problems,
                         documents=count)


def run_report(
    paths: list[Path], output: Optional[Path], report_format: Union[ReportFormat, str], *, err: Optional[TextIO] = None,
    owners: Iterable[str] = (), repositories: Iterable[str] = (),
) -> int:
    """The `smtp2graph report` command: render many JSON files into one report; returns the exit code.

    One line per unusable file on `err` (path and reason); exit 2 when no file is usable or the output
    cannot be written, 0 otherwise.
    """
    stream = err if err is not None else sys.stderr
    if is_stdout(output):
        output = None  # `-o -`: standard output
    if ReportFormat(report_format) is ReportFormat.XLSX and output is None and sys.stdout.isatty():
        print("smtp2graph: error: --format xlsx writes a binary file: add --output FILE.xlsx", file=stream)
        return 2
    rendered = render_files(paths, report_format, owners=owners, repositories=repositories)
    for problem in rendered.problems:
        print(safe_line(f"smtp2graph: error: {problem}"), file=stream)
    if rendered.text is None:
        print("smtp2graph: error: no usable scan or audit JSON document; nothing rendered", file=stream)
        return 2
    if isinstance(rendered.text, str) and output is None and sys.stdout.isatty():
        rendered.text = safe_text(rendered.text)  # a terminal never receives a raw control character
    content = rendered.text.encode("utf-8") if isinstance(rendered.text, str) else rendered.text
    if output is None:
        sys.stdout.flush()
        if hasattr(sys.stdout, "buffer"):
            sys.stdout.buffer.write(content)
        else:
            sys.stdout.write(content.decode("utf-8"))
        sys.stdout.flush()
        return 0
    try:
        prepare_output(output, "the report", stream)
        write_output_file(output, [content], make_parents=False)
    except OutputRefused as error:
        print(safe_line(f"smtp2graph: error: {error}"), file=stream)
        return 2
    except OSError as error:
        print(safe_line(f"smtp2graph: error: {output}: cannot write the report: {error.strerror or error}"), file=stream)
        return 2
    print(safe_line(f"wrote {output} ({rendered.documents} document{'s' if rendered.documents != 1 else ''})"), file=stream)
    return 0
