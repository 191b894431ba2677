"""The HTML report: one self-contained file, data embedded once and safely, nothing from scanned files as markup."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sys
from pathlib import Path

import pytest

from scanner.reports.html import embed_json, render_html
from scanner.reports.model import ReportInputError
from scanner.reports.builder import merge_documents

FIXTURES = Path(__file__).parent / "fixtures" / "reports"
sys.path.insert(0, str(FIXTURES))
from report_corpus import synthetic_scan  # noqa: E402

XSS = '</script><img src=x onerror="window.__xss=1;alert(1)"><!--'
DATA_RE = re.compile(r'<script type="application/json" id="report-data">(.*?)</script>', re.S)


def fixture_documents() -> list[dict[str, object]]:
    return [json.loads((FIXTURES / name).read_text(encoding="utf-8"))
            for name in ("scan-ops.json", "scan-hr.json", "scan-xss.json", "audit-contoso.json")]


@pytest.fixture(scope="module")
def page() -> str:
    return render_html(fixture_documents())


def test_embed_json_cannot_close_the_script_element() -> None:
    value = {"a": XSS, "b": "x & y \u2028 \u2029 <!-- -->", "c": ["</SCRIPT>"]}
    text = embed_json(value)
    assert not set(text) & {"<", ">", "&", "\u2028", "\u2029"}
    assert "\\u003c/script\\u003e" in text
    assert json.loads(text) == value


def test_data_is_embedded_once_and_is_the_whole_report(page: str) -> None:
    blocks = DATA_RE.findall(page)
    assert len(blocks) == 1
    assert json.loads(blocks[0]) == json.loads(json.dumps(merge_documents(fixture_documents()).to_json()))
    # Two script elements (data + code) and nothing a scanned value could have opened or closed.
    assert page.count("<script") == 2 and page.lower().count("</script") == 2
    assert "<img" not in page and "<!--" not in page and "onerror" not in DATA_RE.sub("", page)


def test_page_uses_no_network(page: str) -> None:
    markup = DATA_RE.sub("", page)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", markup, re.I)
    assert "@import" not in markup and "url(" not in markup
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert csp is not None and "default-src 'none'" in csp.group(1)
    script = re.search(r"<script>(.*?)</script>", page, re.S)
    style = re.search(r"<style>(.*?)</style>", page, re.S)
    assert script and style
    for body in (script.group(1), style.group(1)):
        digest = base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode()
        assert f"'sha256-{digest}'" in csp.group(1)  # the inline code is allowed by hash, nothing else runs


def test_page_renders_with_dom_apis_only() -> None:
    js = (Path(__file__).parents[1] / "reports" / "templates" / "report.js").read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in js


def test_secrets_never_reach_the_page(page: str) -> None:
    assert "Winter2026!" not in page


def test_accessibility_markup(page: str) -> None:
    assert '<html lang="en">' in page
    assert "<caption" in page and '<th scope="col"' in page and "<thead>" in page
    assert "prefers-color-scheme: dark" in page and "@media print" in page
    assert ":focus-visible" in page


def test_bad_document_raises() -> None:
    with pytest.raises(ReportInputError):
        render_html([{"findings": []}])


def test_ten_thousand_findings_are_all_embedded() -> None:
    # Render and load time of a large page are measured by bench/html_load.py and bench/report_scale.py.
    document = synthetic_scan(10_000, seed=7)
    page = render_html([document])
    data = json.loads(DATA_RE.findall(page)[0])
    assert len(data["findings"]) == 10_000
    assert len({finding["fingerprint"] for finding in data["findings"]}) == 10_000


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>&/!-'\"\\ \u2028\u2029scriptSCRIPT\n")) | st.characters(), max_size=60))
def test_embedded_data_round_trips_and_never_closes_the_element(text: str) -> None:
    document = {"schema_version": "1.0", "root": text, "findings": [{"rule": "SMTP001", "path": text, "message": text}]}
    page = render_html([document])
    blocks = DATA_RE.findall(page)
    assert len(blocks) == 1
    data = json.loads(blocks[0])
    assert data["findings"][0]["path"] == text and data["repositories"][0]["root"] == text
    assert "<" not in blocks[0] and "\u2028" not in blocks[0]
