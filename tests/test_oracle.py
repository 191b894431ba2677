"""The differential execution oracle as a test: one row per shape and style (see tests/oracle/).

The oracle runs once per test session (under xdist, one worker runs it and the others read its
result) and every row becomes a test:

* pass / intended difference: the test passes (an intended difference must sit on a call `fix`
  marks unsafe or display-only, report.classify checks that);
* a difference attributed to an open defect (tests/oracle/known.py, kind "finding"): strict xfail
  raising KnownDifference, so the row fails loudly the day the defect is fixed (XPASS) and the
  entry must be removed; any other difference on that row is a plain failure;
* not patched: only where known.py expects that refusal (with its reason), so a patch that starts
  applying gets compared and a shape that stops being patched is noticed;
* anything unexplained: a failure naming the field, the original and the patched value.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from oracle.harness import STYLES, run_oracle
from oracle.known import KNOWN, NOT_PATCHED
from oracle.report import classify_all, render_table, rows_as_json
from oracle.shapes import all_shapes, matrix_count

pytestmark = pytest.mark.pwsh

SHAPES = all_shapes()


class KnownDifference(Exception):
    """The row differs exactly as an open finding says (strict xfail)."""


def _shared_dir(factory: pytest.TempPathFactory) -> Path:
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def oracle_rows(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], dict[str, Any]]:
    """Every row of the oracle's table, computed once per session (across xdist workers).

    SMTP2GRAPH_ORACLE_ROWS=rows.json (written by `python -m tests.oracle --json rows.json`) reuses a run
    instead, to check known.py against it in seconds; CI never sets it.
    """
    reuse = os.environ.get("SMTP2GRAPH_ORACLE_ROWS")
    if reuse:
        data = json.loads(Path(reuse).read_text(encoding="utf-8"))
        return {(row["shape"], row["style"]): row for row in data}
    shared = _shared_dir(tmp_path_factory)
    result_file = shared / "oracle-rows.json"
    with open(shared / "oracle.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not result_file.exists():
            result = run_oracle(SHAPES)
            rows = classify_all(result.outcomes)
            table = render_table(rows, details=True, seconds=result.seconds)
            (shared / "oracle-table.txt").write_text(table, encoding="utf-8")
            print("\n" + table)
            result_file.write_text(json.dumps(rows_as_json(rows)), encoding="utf-8")
    data = json.loads(result_file.read_text(encoding="utf-8"))
    return {(row["shape"], row["style"]): row for row in data}


def _expected_findings(shape: str, style: str) -> list[str]:
    return [k.text for k in KNOWN if k.kind == "finding" and k.applies(shape, style)]


def _expected_refusal(shape: str, style: str) -> str | None:
    for entry in NOT_PATCHED:
        if entry.applies(shape, style):
            return entry.reason
    return None


def _params() -> list[Any]:
    params = []
    for shape in SHAPES:
        for style in STYLES:
            findings = _expected_findings(shape.name, style)
            marks = [pytest.mark.xfail(strict=True, raises=KnownDifference, reason=" | ".join(findings))] if findings else []
            params.append(pytest.param(shape.name, style, marks=marks, id=f"{shape.name}-{style}"))
    return params


def test_matrix_is_big_enough() -> None:
    """The issue's floor: at least 60 generated shapes, plus every fixture and example fix patches."""
    assert matrix_count() >= 60
    sources = {shape.source for shape in SHAPES}
    for path in ("examples/modules/MailTools.psm1", "examples/monitoring/Send-ServiceAlert.ps1",
                 "examples/onboarding/New-UserWelcomeMail.ps1", "examples/reports/Nightly-DiskReport.ps1",
                 "examples/reports/Weekly-LicenseSummary.ps1"):
        assert path in sources
    fixtures = {p.name for p in (Path(__file__).parent / "fixtures" / "migrate" / "files").iterdir()}
    assert fixtures <= {Path(source).name for source in sources}


@pytest.mark.parametrize(("shape", "style"), _params())
def test_oracle_row(oracle_rows: dict[tuple[str, str], dict[str, Any]], shape: str, style: str) -> None:
    row = oracle_rows[(shape, style)]
    refusal = _expected_refusal(shape, style)
    if row["verdict"] == "not patched":
        assert refusal is not None, f"fix did not patch this shape ({row['reason']}); known.py expects it patched"
        assert re.search(refusal, row["reason"]), f"refused for another reason: {row['reason']}"
        return
    assert refusal is None, f"known.py expects fix to refuse this shape ({refusal}), but it was patched: update known.py"
    assert row["verdict"] != "error", row["note"]
    assert row["verdict"] != "FAIL", "unexplained difference(s):\n" + "\n".join(row["unexplained"])
    if row["verdict"] == "xfail":
        raise KnownDifference("; ".join(row["findings"]) + "\n" + "\n".join(row["differences"]))
    assert row["verdict"] in ("pass", "intended")
