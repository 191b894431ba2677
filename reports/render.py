"""One format, one formatter: a scan result (or a merged estate report) rendered in the format asked.

Each renderer is imported only when its format is asked for (jinja2, rich and xlsxwriter are not
cheap to import).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterator, Optional, Union

from scanner.model import ScanResult

from .formats import Format, RenderOptions

if TYPE_CHECKING:
    from .model import MergedReport


def _merged(result: ScanResult) -> "MergedReport":
    from .json_report import to_document
    from .builder import merge_documents

    return merge_documents([to_document(result)])


def _terminal(result: ScanResult, options: RenderOptions) -> str:
    from .terminal import format_report_terminal

    return format_report_terminal(_merged(result), group_by=options.group_by.value)


def _json(result: ScanResult, options: RenderOptions) -> str:
    from .json_report import format_json

    return format_json(result)


def _sarif(result: ScanResult, options: RenderOptions) -> str:
    from .sarif import format_sarif

    return format_sarif(result)


def _html(result: ScanResult, options: RenderOptions) -> str:
    # jinja2 is imported only when an HTML report is asked for.
    from .html import render_report_html

    return render_report_html(_merged(result))


def html_report_chunks(result: ScanResult) -> Iterator[str]:
    """The HTML report of ``result`` in pieces (joined: ``render(result, Format.HTML)``), for writing a
    large report without holding the page whole."""
    from .html import html_chunks

    return html_chunks(_merged(result))


def _markdown(result: ScanResult, options: RenderOptions) -> str:
    from .markdown import render_report_markdown

    return render_report_markdown(_merged(result))


def render_merged(report: "MergedReport", fmt: Format, options: Optional[RenderOptions] = None) -> Union[str, bytes]:
    """A merged (estate) report in `fmt`: bytes for XLSX, text otherwise. JSON and SARIF are per-scan formats."""
    options = options or RenderOptions()
    if fmt is Format.CSV:
        from .action_plan import format_csv

        return format_csv(report)
    if fmt is Format.XLSX:
        from .action_plan import format_xlsx

        return format_xlsx(report)
    if fmt is Format.CONCISE:
        from .annotations import format_concise

        return format_concise(report)
    if fmt is Format.GITHUB:
        from .annotations import format_github

        return format_github(report)
    if fmt is Format.TERMINAL:
        from .terminal import format_report_terminal

        return format_report_terminal(report, group_by=options.group_by.value)
    if fmt is Format.HTML:
        from .html import render_report_html

        return render_report_html(report)
    if fmt is Format.MARKDOWN:
        from .markdown import render_report_markdown

        return render_report_markdown(report)
    raise ValueError(f"{fmt.value} is a per-scan format; it cannot render a merged report")


def _from_merged(fmt: Format) -> Callable[[ScanResult, RenderOptions], Union[str, bytes]]:
    return lambda result, options: render_merged(_merged(result), fmt, options)


FORMATTERS: dict[Format, Callable[[ScanResult, RenderOptions], Union[str, bytes]]] = {
    Format.TERMINAL: _terminal,
    Format.CONCISE: _from_merged(Format.CONCISE),
    Format.GITHUB: _from_merged(Format.GITHUB),
    Format.JSON: _json,
    Format.SARIF: _sarif,
    Format.HTML: _html,
    Format.MARKDOWN: _markdown,
    Format.CSV: _from_merged(Format.CSV),
    Format.XLSX: _from_merged(Format.XLSX),
}


def render_bytes(result: ScanResult, fmt: Format, options: Optional[RenderOptions] = None) -> bytes:
    """The report of ``result`` in ``fmt`` as the bytes to write (UTF-8 for the text formats)."""
    content = FORMATTERS[fmt](result, options or RenderOptions())
    return content if isinstance(content, bytes) else content.encode("utf-8")


def render(result: ScanResult, fmt: Format, options: Optional[RenderOptions] = None) -> str:
    """The report of ``result`` in a text format (``render_bytes`` for XLSX)."""
    content = FORMATTERS[fmt](result, options or RenderOptions())
    if isinstance(content, bytes):
        raise ValueError(f"{fmt.value} is a binary format; use render_bytes")
    return content
