"""Report renderers (mapped into the package as ``scanner.reports``): one format, one formatter."""

from __future__ import annotations

from enum import Enum
from typing import Callable

from scanner.model import ScanResult


class Format(str, Enum):
    TERMINAL = "terminal"
    JSON = "json"
    SARIF = "sarif"
    HTML = "html"
    MARKDOWN = "markdown"


def _terminal(result: ScanResult) -> str:
    from .terminal import format_terminal

    return format_terminal(result)


def _json(result: ScanResult) -> str:
    from .json_report import format_json

    return format_json(result)


def _sarif(result: ScanResult) -> str:
    from .sarif import format_sarif

    return format_sarif(result)


def _html(result: ScanResult) -> str:
    # jinja2 is imported only when an HTML report is asked for.
    from .html import render_html
    from .json_report import to_document

    return render_html([to_document(result)])


def _markdown(result: ScanResult) -> str:
    from .json_report import to_document
    from .markdown import render_markdown

    return render_markdown([to_document(result)])


FORMATTERS: dict[Format, Callable[[ScanResult], str]] = {
    Format.TERMINAL: _terminal,
    Format.JSON: _json,
    Format.SARIF: _sarif,
    Format.HTML: _html,
    Format.MARKDOWN: _markdown,
}


def render(result: ScanResult, fmt: Format) -> str:
    """The report of ``result`` in ``fmt``."""
    return FORMATTERS[fmt](result)
