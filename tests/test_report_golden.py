"""Golden files: the Markdown report and the HTML page's embedded data for the hand-made fixtures.

They change only deliberately: after checking a diff by eye, refresh them with
`SMTP2GRAPH_UPDATE_GOLDEN=1 python -m pytest tests/test_report_golden.py`.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Callable

import pytest

from scanner.reports.html import render_html
from scanner.reports.markdown import render_markdown

FIXTURES = Path(__file__).parent / "fixtures" / "reports"
GOLDEN = FIXTURES / "golden"
INPUTS = ("scan-ops.json", "scan-hr.json", "scan-xss.json", "audit-contoso.json")


def documents() -> list[dict[str, object]]:
    return [json.loads((FIXTURES / name).read_text(encoding="utf-8")) for name in INPUTS]


def embedded_data() -> str:
    page = render_html(documents())
    match = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
    assert match is not None
    return json.dumps(json.loads(match.group(1)), indent=1, ensure_ascii=False, sort_keys=True) + "\n"


@pytest.mark.parametrize(("name", "render"), [("estate.md", lambda: render_markdown(documents())),
                                              ("estate-data.json", embedded_data)])
def test_golden(name: str, render: Callable[[], str]) -> None:
    actual = render()
    path = GOLDEN / name
    if os.environ.get("SMTP2GRAPH_UPDATE_GOLDEN") == "1":
        path.write_text(actual, encoding="utf-8")
    assert actual == path.read_text(encoding="utf-8"), f"{path} is out of date (see this module's docstring)"
