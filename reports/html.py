"""The HTML migration report: one self-contained file (inline CSS/JS, no network) rendered from embedded JSON."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime
from importlib import resources
from typing import Iterator, Optional

import jinja2
from markupsafe import Markup

from .model import JsonDict, MergedReport
from .builder import merge_documents

def embed_json(data: object) -> str:
    """Serialize `data` for a `<script type="application/json">` element: no character can end the element."""
    return _escape_for_script(json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=False))


def _escape_for_script(text: str) -> str:
    # Inside <script> the HTML parser only looks for "</script" and "<!--"; escaping <, > and & makes
    # both impossible, and U+2028/2029 are escaped so the text is also a valid JavaScript literal.
    # str.replace runs at C speed (a 100 MB report in a fraction of a second; str.translate took seconds).
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    if "\u2028" in text or "\u2029" in text:
        text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return text


def embed_json_chunks(data: dict[str, object]) -> Iterator[str]:
    """``embed_json(data)`` in pieces: a top-level list (the findings) one item at a time, so a report of
    many findings is never held whole as one string (and its escaped copy). Joined, the pieces are
    exactly ``embed_json(data)``: the compact encoding of an object is "{" + ",".join('"key":value') + "}"."""
    yield "{"
    for i, (key, value) in enumerate(data.items()):
        head = _escape_for_script(("," if i else "") + json.dumps(key, ensure_ascii=False) + ":")
        if isinstance(value, list) and len(value) > 64:
            yield head + "["
            for j, item in enumerate(value):
                yield ("," if j else "") + embed_json(item)
            yield "]"
        else:
            yield head + embed_json(value)
    yield "}"


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


def html_chunks(report: MergedReport) -> Iterator[str]:
    """The HTML page of a merged report in pieces (the embedded data one finding at a time): what
    `scan -f html` writes, so 20,000 findings never sit in memory as one 100 MB string three times over."""
    css = _asset("report.css")
    js = _asset("report.js")
    for asset_name, text, closer in (("report.css", css, "</style"), ("report.js", js, "</script")):
        # Our own assets are inlined verbatim, so they must not close their element early.
        if closer in text.lower():
            raise RuntimeError(f"{asset_name} contains {closer!r}")
    template = _environment().get_template("report.html.j2")
    marker = "\x00smtp2graph-data-" + hashlib.sha256(css.encode() + js.encode()).hexdigest() + "\x00"
    page = template.render(css=Markup(css), js=Markup(js), data_json=Markup(marker), script_hash=_csp_hash(js),
                           style_hash=_csp_hash(css))
    head, tail = page.split(marker)  # the template places the data once; NUL never occurs in a page
    yield head
    yield from embed_json_chunks(report.to_json())
    yield tail


def render_report_html(report: MergedReport) -> str:
    """Render a merged report as one self-contained HTML page."""
    return "".join(html_chunks(report))


def render_html(documents: list[dict[str, object]], *, now: Optional[datetime] = None) -> str:
    """Render scan (and audit) JSON documents as one self-contained HTML report.

    `now` defaults to the newest document's `generated_at`; the days-left figure is computed from it.
    Raises reports.model.ReportInputError when a document is neither a scan nor an audit document.
    """
    docs: list[JsonDict] = documents
    return render_report_html(merge_documents(docs, now=now))
