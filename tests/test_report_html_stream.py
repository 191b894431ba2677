"""The HTML report written in pieces (issue 12 item 5: a 20,000-call file under 300 MB).

`scan -f html` streams the page: the template around the data, then the embedded JSON one finding
at a time. The pieces must join to exactly the page a one-shot rendering gives, and the merge must
not copy what it does not mask.
"""

from __future__ import annotations

import json
from pathlib import Path

from markupsafe import Markup
from scanner.reports.render import html_report_chunks
from scanner.reports.html import (
    _asset,
    _csp_hash,
    _environment,
    _escape_for_script,
    embed_json,
    embed_json_chunks,
    html_chunks,
)
from scanner.reports.json_report import to_document
from scanner.reports.builder import _masked_copy, merge_documents

from scanner.estate.scan import scan
from scanner.estate.options import ScanOptions

# The escapes the page's data needs, as a translation table: the streamed, str.replace-based escaping must equal it.
_JSON_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026", 0x2028: "\\u2028", 0x2029: "\\u2029"}
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TRICKY = ["</script><!-- & >", "a\u2028b\u2029c", "plain", "", "\\u003c already", "é ✓ \U0001f4e7", "<<>>&&"]


def _one_shot(report) -> str:  # type: ignore[no-untyped-def]
    """The page as rendered before streaming: the whole data as one translated string."""
    css, js = _asset("report.css"), _asset("report.js")
    data = json.dumps(report.to_json(), ensure_ascii=False, separators=(",", ":")).translate(_JSON_ESCAPES)
    return _environment().get_template("report.html.j2").render(
        css=Markup(css), js=Markup(js), data_json=Markup(data), script_hash=_csp_hash(js), style_hash=_csp_hash(css))


def test_the_streamed_page_is_the_one_shot_page() -> None:
    result = scan([EXAMPLES], ScanOptions(use_cache=False, jobs=1))
    assert result.findings
    report = merge_documents([to_document(result)])
    pieces = list(html_chunks(report))
    assert len(pieces) > 3  # really in pieces
    assert "".join(pieces) == _one_shot(report)
    page = "".join(html_report_chunks(result))  # what `scan -f html` writes
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    data = page.split('<script type="application/json" id="report-data">')[1].split("</script>")[0]
    assert len(json.loads(data)["findings"]) == len(result.findings)


def test_escaping_for_the_script_element_equals_the_translation_table() -> None:
    for text in TRICKY:
        assert _escape_for_script(text) == text.translate(_JSON_ESCAPES)
    assert "</script" not in embed_json({"x": "</script>"}) and "<!--" not in embed_json({"x": "<!--"})


def test_a_long_list_is_written_one_item_at_a_time_and_joins_to_the_same_json() -> None:
    data = {"a": 1, "findings": [{"i": i, "t": TRICKY[i % len(TRICKY)]} for i in range(200)], "z": ["<&>"] * 3}
    pieces = list(embed_json_chunks(data))
    assert len(pieces) > 200
    assert "".join(pieces) == embed_json(data)
    assert json.loads("".join(pieces)) == data  # \u003c and friends are JSON escapes of the same text


def test_the_merge_copies_only_what_it_masks_and_never_writes_into_the_caller_s_document() -> None:
    nested = {"lines": ["Send-MailMessage -To a@b.c"], "params": {"to": {"text": "a@b.c"}}}
    secret = {"lines": ["$password = 'Hunter2Hunter2'"]}
    raw = {"context": nested, "snippet": "x", "other": secret}
    before = json.dumps(raw)
    copy = _masked_copy(raw)
    assert json.dumps(raw) == before  # untouched
    assert copy is not raw
    assert copy["context"] is nested  # nothing to mask: shared, not copied
    assert copy["other"] is not secret and "Hunter2Hunter2" not in json.dumps(copy["other"])
