"""Report renderers (mapped into the package as ``scanner.reports``): one format, one formatter.

``formats`` names the formats, ``render`` dispatches a scan result to its formatter; the merged
(estate) report is ``model`` + ``builder`` (what both the HTML and Markdown views read), and
``command`` is `smtp2graph report`. The package itself only re-exports the format names, so the
CLI can list them without importing a renderer.
"""

from .formats import BINARY_FORMATS, Format, GroupBy, RenderOptions, ReportFormat

__all__ = ["BINARY_FORMATS", "Format", "GroupBy", "RenderOptions", "ReportFormat"]
