"""The HTML migration report: one self-contained file (inline CSS/JS, no network) rendered from embedded JSON."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime
from importlib import resources
from typing import Optional

import jinja2
from markupsafe import Markup

from .merge import JsonDict, MergedReport, merge_documents

# Inside <script> the HTML parser only looks for "</script" and "<!--"; escaping <, > and & makes
# both impossible, and U+2028/2029 are escaped so the text is also a valid JavaScript literal.
_JSON_ESCAPES = {
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def embed_json(data: object) -> str:
    """Serialize `data` for a `<script type="application/json">` element: no character can end the element."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=False).translate(_JSON_ESCAPES)


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath("templates").joinpath(name).read_text(encoding="utf-8")


def _csp_hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader(__package__, "templates"),
        autoescape=True,  # every value from a scanned file is escaped unless we built it ourselves
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def render_report_html(report: MergedReport) -> str:
    """Render a merged report as one self-contained HTML page."""
    css = _asset("report.css")
    js = _asset("report.js")
    for asset_name, text, closer in (("report.css", css, "</style"), ("report.js", js, "</script")):
        # Our own assets are inlined verbatim, so they must not close their element early.
        if closer in text.lower():
            raise RuntimeError(f"{asset_name} contains {closer!r}")
    template = _environment().get_template("report.html.j2")
    return template.render(
        css=Markup(css),
        js=Markup(js),
        data_json=Markup(embed_json(report.to_json())),
        script_hash=_csp_hash(js),
        style_hash=_csp_hash(css),
    )


def render_html(documents: list[dict[str, object]], *, now: Optional[datetime] = None) -> str:
    """Render scan (and audit) JSON documents as one self-contained HTML report.

    `now` defaults to the newest document's `generated_at`; the days-left figure is computed from it.
    Raises reports.merge.ReportInputError when a document is neither a scan nor an audit document.
    """
    docs: list[JsonDict] = documents
    return render_report_html(merge_documents(docs, now=now))
