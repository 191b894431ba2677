"""The terminal view at 80, 120 and 200 columns: every line fits, and nothing is lost — each finding keeps its
rule, severity and line number on its first line, each message and the summary arrive whole (wrapped, not cut)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scanner.cli import app
from scanner.reports.builder import merge_documents
from scanner.reports.terminal import format_report_terminal, shorten_location, wrap_segments
from scanner.run import ScanProgress

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
LONG_ROOT = "/srv/automation/teams/infrastructure-operations/legacy-scheduled-tasks/production/examples"


@pytest.fixture(scope="module")
def examples_document() -> dict[str, object]:
    result = CliRunner().invoke(app, ["scan", str(EXAMPLES), "--no-cache", "--format", "json", "--exit-zero",
                                      "--no-blame", "--quiet"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def render(document: dict[str, object], width: int, root: str | None = None) -> tuple[str, list[dict[str, object]]]:
    doc = json.loads(json.dumps(document))
    if root is not None:
        doc["root"] = root
    report = merge_documents([doc])
    return format_report_terminal(report, width=width, color=False, truncate=True), report.findings


@pytest.mark.parametrize("width", [80, 120, 200])
@pytest.mark.parametrize("root", [None, LONG_ROOT], ids=["examples", "long-paths"])
def test_nothing_is_lost_at_this_width(examples_document: dict[str, object], width: int, root: str | None) -> None:
    text, findings = render(examples_document, width, root)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    assert "…" not in flat(text).replace("/…/", "")  # no message, summary or count is cut
    headers = [line for line in lines if re.match(r"^  \S.*:\d+:\d+  [A-Z]+\d+ (critical|high|medium|low|info)\b", line)]
    # One first line per finding, each with its rule, severity and line:column.
    assert len(headers) == len(findings) == 21
    for finding in findings:
        where = f":{finding['line']}:{finding['column']}  {finding['rule']} {finding['severity']}"
        name = str(finding["path"]).rsplit("/", 1)[-1]
        assert any(where in line and name + where in line for line in headers), (finding["path"], where)
        assert flat(str(finding["message"])) in flat(text)
    assert "21 finding(s) (13 high, 2 medium, 2 low, 4 info); 7 script(s) break when basic auth is disabled, 0 more " \
           "may break (verdict unknown)" in flat(text)
    assert lines[-1].startswith(("5 of these are fixed", "    ")) and "(0 more with --unsafe-fixes)" in flat(text)


def test_wide_terminal_starts_the_message_on_the_first_line(examples_document: dict[str, object]) -> None:
    text, _ = render(examples_document, 200)
    first = next(line for line in text.splitlines() if "MailTools.psm1:24:5" in line)
    assert first.startswith("  examples/modules/MailTools.psm1:24:5  SMTP001 high  Send-MailMessage: Authenticates")
    narrow, _ = render(examples_document, 80)
    lines = narrow.splitlines()
    at = next(i for i, line in enumerate(lines) if "MailTools.psm1:24:5" in line)
    assert lines[at].rstrip().endswith("SMTP001 high")
    assert lines[at + 1].startswith("    Send-MailMessage: Authenticates")


def test_a_pipe_gets_whole_lines(examples_document: dict[str, object]) -> None:
    report = merge_documents([json.loads(json.dumps(examples_document))])
    text = format_report_terminal(report, width=80, color=False, truncate=False)
    summary = next(line for line in text.splitlines() if line.startswith("16 file(s) scanned"))
    assert summary.endswith("0 more may break (verdict unknown)")
    assert any(len(line) > 200 for line in text.splitlines())


def test_shorten_location_keeps_the_file_name_and_line() -> None:
    long = "/srv/a/b/c/d/e/f/g/h/Very-Long-Script-Name.ps1:120:17"
    assert shorten_location(long, 200) == long
    short = shorten_location(long, 40)
    assert short.endswith("Very-Long-Script-Name.ps1:120:17") and "…" in short and len(short) <= 40
    tiny = shorten_location(long, 16)
    assert tiny.endswith(":120:17") and len(tiny) <= 16


def test_wrap_cuts_a_word_wider_than_the_line_without_losing_it() -> None:
    word = "https://contoso.sharepoint.com/" + "x" * 90
    rows = wrap_segments((("see ", ""), (word, "")), 40, 4)
    texts = ["".join(part for part, _ in row) for row in rows]
    assert all(len(t) <= 40 for t in texts)
    assert "".join(t.strip() for t in texts).replace("see", "", 1) == word


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_says_so_far_while_the_walk_goes_on_then_the_total_and_the_time() -> None:
    clock, stream = Clock(), io.StringIO()
    progress = ScanProgress(stream=stream, clock=clock, width=120)
    progress(10, 40, True)
    assert stream.getvalue() == ""  # nothing in the first second: a small scan shows no progress
    clock.now += 2
    progress(200, 900, True)
    assert "200 files analysed, 900 found so far (still looking for more), 0:02 elapsed" in stream.getvalue()
    assert " of 900" not in stream.getvalue()
    clock.now += 0.1
    progress(210, 950, True)  # redrawn at most every 0.25 s
    assert "210 files" not in stream.getvalue()
    clock.now += 63
    progress(1500, 3000, False)
    assert "scanning: 1,500 of 3,000 files (50%), 1:05 elapsed" in stream.getvalue()
    clock.now += 3600
    progress(3000, 3000, False)
    progress.finish()
    last = stream.getvalue().split("\r")[-1]
    assert last.startswith("scanned 3,000 files in 1:01:05") and last.endswith("\n")


def test_progress_lines_fit_the_terminal_and_overwrite_each_other() -> None:
    clock, stream = Clock(), io.StringIO()
    progress = ScanProgress(stream=stream, clock=clock, width=60, delay=0, interval=0)
    progress(5, 19_800, True)
    progress(6, 19_800, False)
    drawn = stream.getvalue().split("\r")[1:]
    assert all(len(line) <= 59 for line in drawn)
    assert len(drawn[1]) >= len(drawn[0].rstrip())  # the shorter line is padded over the longer one


def test_no_progress_line_for_a_scan_that_never_drew_one() -> None:
    stream = io.StringIO()
    ScanProgress(stream=stream, clock=Clock(), width=80).finish()
    assert stream.getvalue() == ""
