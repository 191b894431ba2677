"""The HTML report as an admin reads it, at 390 px (a phone) and 1440 px (a desktop): issue 25, item 4,
one test per slip the admin met, each at both widths."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from test_browser_report import FIXTURES, driver, open_report, reset_viewport, set_viewport, wait_for_count  # noqa: F401

from scanner.reports.builder import merge_documents
from scanner.reports.html import render_html

sys.path.insert(0, str(FIXTURES))
from report_corpus import synthetic_scan  # noqa: E402

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.chrome.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

Doc = dict[str, Any]
VIEWPORTS = {"phone": (390, 844), "desktop": (1440, 900)}

WEEKLY = """param([string]$EmailTo)
$subject = 'Weekly report'
$cred = Get-Credential
Send-MailMessage -To $EmailTo -From 'reports@contoso.com' -Subject $subject -Body $body -SmtpServer smtp.office365.com -Port 587 -UseSsl -Credential $cred
"""
RELAY = "Send-MailMessage -To 'desk@contoso.com' -From 'scanner@contoso.com' -Subject 'Scan' -SmtpServer relay.contoso.local\n"


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> list[Doc]:
    """A real scan (a send to $EmailTo, a relay-only sender; no git, no owners map: nobody owns them)
    beside the ops and hr fixture scans."""
    from typer.testing import CliRunner

    from scanner.cli import app

    folder = tmp_path_factory.mktemp("reading") / "tools"
    (folder / "reports").mkdir(parents=True)
    (folder / "reports" / "Send-Weekly.ps1").write_text(WEEKLY, encoding="utf-8")
    (folder / "relay").mkdir()
    (folder / "relay" / "Scan-To-Mail.ps1").write_text(RELAY, encoding="utf-8")
    output = folder.parent / "scan.json"
    result = CliRunner().invoke(app, ["scan", str(folder), "--format", "json", "--output", str(output), "--no-cache",
                                      "--jobs", "1", "--no-blame"])
    assert result.exit_code == 1, result.stderr
    scan = json.loads(output.read_text(encoding="utf-8"))
    return [scan] + [json.loads((FIXTURES / name).read_text(encoding="utf-8")) for name in ("scan-ops.json", "scan-hr.json")]


@pytest.fixture(scope="module")
def page(documents: list[Doc], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("reading-page") / "report.html"
    path.write_text(render_html(documents), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def paged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Doc]:
    """250 findings: three pages of the table."""
    document = synthetic_scan(250, seed=25)
    path = tmp_path_factory.mktemp("reading-paged") / "report.html"
    path.write_text(render_html([document]), encoding="utf-8")
    return path, document


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request: pytest.FixtureRequest, driver: WebDriver) -> Iterator[tuple[int, int]]:  # noqa: F811
    width, height = VIEWPORTS[request.param]
    set_viewport(driver, width, height)
    try:
        yield width, height
    finally:
        reset_viewport(driver)


def in_view(driver: WebDriver, element: Any) -> bool:
    return bool(driver.execute_script(
        "var r = arguments[0].getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0;",
        element))


def open_finding(driver: WebDriver, text: str) -> Any:
    search = driver.find_element(By.ID, "search")
    search.clear()
    search.send_keys(text, Keys.ENTER)
    wait_for_count(driver, 1)
    driver.find_element(By.CSS_SELECTOR, "#findings-body .open-detail").click()
    pane = driver.find_element(By.ID, "detail")
    WebDriverWait(driver, 5).until(lambda d: pane.is_displayed())
    return pane


def test_graph_request_shows_expressions_as_expressions(driver: WebDriver, page: Path, viewport: tuple[int, int]) -> None:  # noqa: F811
    open_report(driver, page)
    pane = open_finding(driver, "Send-Weekly")
    request = pane.find_element(By.CSS_SELECTOR, "pre.graph-request")
    text = request.text
    assert '"toRecipients": $EmailTo\n' in text  # not the JSON string "$EmailTo"
    assert '"$EmailTo"' not in text and '"content": $body' in text
    assert '"subject": "Weekly report"' in text  # resolved from $subject: the value Graph gets
    marked = [e.text for e in request.find_elements(By.CSS_SELECTOR, ".ps-expr")]
    assert marked == ["$body", "$EmailTo"]
    assert all(e.is_displayed() for e in request.find_elements(By.CSS_SELECTOR, ".ps-expr"))
    legend = pane.find_element(By.CSS_SELECTOR, ".request-legend").text
    assert "PowerShell expressions" in legend and 'one {"emailAddress": {"address": …}} per address' in legend
    assert driver.execute_script("return document.getElementById('detail').scrollWidth <= document.getElementById('detail').clientWidth")


BADGES = """
return Array.prototype.map.call(document.querySelectorAll(
    '#findings-body .status-badge, #findings-body .badge, #findings-body .sev, #findings-body .rule-name, #findings-body .open-detail'),
  function (e) { var r = e.getBoundingClientRect(), lh = parseFloat(getComputedStyle(e).lineHeight);
    return {text: e.textContent, lines: Math.round((r.height - 2) / lh), rects: e.getClientRects().length}; });
"""


def test_rows_are_short_and_no_badge_wraps(driver: WebDriver, page: Path, viewport: tuple[int, int]) -> None:  # noqa: F811
    width, _ = viewport
    open_report(driver, page)
    badges = driver.execute_script(BADGES)
    assert len(badges) > 20
    wrapped = [b["text"] for b in badges if b["lines"] > 1 or b["rects"] > 1]
    assert wrapped == []  # "send-mailmess/age", "uns/afe" were two lines each
    rows = driver.find_elements(By.CSS_SELECTOR, "#findings-body tr.finding-row")
    line = float(driver.execute_script("return parseFloat(getComputedStyle(document.body).lineHeight)"))
    heights = [row.rect["height"] / line for row in rows]
    if width == 1440:
        assert max(heights) <= 2.6, heights  # two lines at most; three to five before
    else:
        # A card: status, severity and rule on its first line, sender / owner / fix, then the message.
        row = rows[0]
        tops = {round(row.find_element(By.CSS_SELECTOR, css).rect["y"]) for css in (".status-badge", ".sev", ".open-detail")}
        assert max(tops) - min(tops) <= 6
        assert max(heights) <= 12, heights  # nine labelled lines and more before
    # A long message shows its first lines; the whole of it is the tooltip (and the detail pane's first line).
    data = {f["id"]: f for f in json.loads(driver.execute_script("return document.getElementById('report-data').textContent"))["findings"]}
    for row in rows:
        assert row.find_element(By.CSS_SELECTOR, "td.message .msg").get_attribute("title") == data[int(row.get_attribute("data-id"))]["message"]
    # A mailbox breaks after its '@', never inside a word.
    sender = driver.find_element(By.CSS_SELECTOR, "#findings-body td.cell-sender .ident")
    assert driver.execute_script("return getComputedStyle(arguments[0]).overflowWrap", sender) == "break-word"
    assert sender.get_attribute("innerHTML").count("<wbr>") == sender.text.count("@") == 1


def test_next_page_starts_at_its_first_row(driver: WebDriver, paged: tuple[Path, Doc], viewport: tuple[int, int]) -> None:  # noqa: F811
    open_report(driver, paged[0])
    button = driver.find_element(By.ID, "page-next")
    driver.execute_script("arguments[0].scrollIntoView({block: 'end'})", button)
    first = driver.find_element(By.CSS_SELECTOR, "#findings-body tr.finding-row")
    assert not in_view(driver, first)  # the reader is at the bottom of page 1
    button.click()
    assert driver.find_element(By.ID, "page-info").text == "Page 2 of 3"
    status = driver.find_element(By.ID, "match-count")
    assert status.text.startswith("Showing 101–200 of 250 findings")
    assert in_view(driver, status)
    assert in_view(driver, driver.find_element(By.CSS_SELECTOR, "#findings-body tr.finding-row"))
    assert driver.switch_to.active_element == button  # the keyboard stays on the pager: Enter again goes on
    driver.find_element(By.ID, "page-prev").click()
    assert driver.find_element(By.ID, "page-info").text == "Page 1 of 3"
    assert in_view(driver, driver.find_element(By.CSS_SELECTOR, "#findings-body tr.finding-row"))


def option_counts(driver: WebDriver, select_id: str) -> dict[str, int]:
    options = Select(driver.find_element(By.ID, select_id)).options
    counts = {}
    for option in options:
        label = option.text
        assert label.endswith(f" ({option.get_attribute('data-count')})"), label
        counts[option.get_attribute("value")] = int(option.get_attribute("data-count"))
    return counts


def test_select_filters_show_counts(driver: WebDriver, paged: tuple[Path, Doc], viewport: tuple[int, int]) -> None:  # noqa: F811
    path, document = paged
    findings = document["findings"]
    open_report(driver, path)
    severity = option_counts(driver, "filter-severity")
    expected = {s: sum(1 for f in findings if f["severity"] == s) for s in ("critical", "high", "medium", "low", "info")}
    assert severity == {"": len(findings), **{s: n for s, n in expected.items() if n}}
    assert Select(driver.find_element(By.ID, "filter-severity")).options[1].text == f"critical ({expected['critical']})"
    # Counts follow the other filters: with one API chosen, each severity counts that API's findings.
    Select(driver.find_element(By.ID, "filter-api")).select_by_value("smtpclient")
    smtpclient = [f for f in findings if (f.get("call") or {}).get("api") == "smtpclient"]
    wait_for_count(driver, len(smtpclient))
    severity = option_counts(driver, "filter-severity")
    assert severity["high"] == sum(1 for f in smtpclient if f["severity"] == "high") == len(smtpclient)
    assert severity["critical"] == 0
    assert option_counts(driver, "filter-api")["smtpclient"] == len(smtpclient)  # its own filter does not narrow it
    Select(driver.find_element(By.ID, "filter-severity")).select_by_value("high")
    wait_for_count(driver, severity["high"])
    driver.find_element(By.ID, "clear-filters").click()
    wait_for_count(driver, len(findings))


def test_a_tile_brings_its_filter_into_view(driver: WebDriver, page: Path, viewport: tuple[int, int]) -> None:  # noqa: F811
    open_report(driver, page)
    total = int(driver.find_element(By.ID, "match-count").get_attribute("data-count"))
    tile = driver.find_element(By.CSS_SELECTOR, '#tiles button[data-tile="will-break"]')
    bar = driver.find_element(By.ID, "active-filters")
    assert not in_view(driver, driver.find_element(By.ID, "match-count"))  # the table is below the fold
    tile.send_keys(Keys.ENTER)  # from the keyboard
    chip = bar.find_element(By.CSS_SELECTOR, 'button[data-filter-chip="tile"]')
    assert in_view(driver, bar) and in_view(driver, chip)
    assert in_view(driver, driver.find_element(By.CSS_SELECTOR, "#findings-body tr.finding-row"))
    assert driver.switch_to.active_element == chip  # Enter removes the filter again
    chip.send_keys(Keys.ENTER)
    wait_for_count(driver, total)
    step = driver.find_element(By.CSS_SELECTOR, '#work-order button[data-step="1"]')
    driver.execute_script("window.scrollTo(0, 0)")
    step.click()
    assert in_view(driver, bar.find_element(By.CSS_SELECTOR, 'button[data-filter-chip="step"]'))


def test_charts_draw_no_zero_row_and_colour_graph_apart(driver: WebDriver, documents: list[Doc], viewport: tuple[int, int],  # noqa: F811
                                                        tmp_path: Path) -> None:
    page = tmp_path / "charts.html"
    graph = synthetic_scan(60, seed=7)  # its Graph calls only: the estate's other APIs stay at zero
    graph["findings"] = [f for f in graph["findings"] if f["rule"].startswith("GRAPH")]
    page.write_text(render_html(documents[:1] + [graph]), encoding="utf-8")
    open_report(driver, page)
    data = json.loads(driver.execute_script("return document.getElementById('report-data').textContent"))
    by_api = data["summary"]["by_api"]
    assert 0 in by_api.values() and 0 in data["summary"]["by_severity"].values()  # there are zero rows to leave out
    drawn = {r.get_attribute("data-name"): r for r in driver.find_elements(By.CSS_SELECTOR, ".chart-api rect")}
    assert set(drawn) == {api for api, n in by_api.items() if n}
    severities = {r.get_attribute("data-name") for r in driver.find_elements(By.CSS_SELECTOR, ".chart-severity rect")}
    assert severities == {s for s, n in data["summary"]["by_severity"].items() if n}
    fill = {name: driver.execute_script("return getComputedStyle(arguments[0]).fill", rect) for name, rect in drawn.items()}
    graph = {fill[name] for name in ("graph-sendmail", "send-mgusermail") if name in fill}
    legacy = {fill[name] for name in fill if name not in ("graph-sendmail", "send-mgusermail")}
    assert len(graph) == 1 and len(legacy) == 1 and graph != legacy
    names = [t.text for t in driver.find_elements(By.CSS_SELECTOR, ".chart-api text")][::2]
    assert names.index("send-mailmessage") < names.index("graph-sendmail")  # legacy first, then Graph
    assert "green: already on Microsoft Graph" in driver.find_element(By.CSS_SELECTOR, ".chart-api").text


def test_the_rule_heading_is_said_once(driver: WebDriver, page: Path, viewport: tuple[int, int]) -> None:  # noqa: F811
    open_report(driver, page)
    pane = open_finding(driver, "Send-Weekly")
    headings = [h.text for h in pane.find_elements(By.CSS_SELECTOR, "h2, h3, h4")]
    assert [h for h in headings if "SMTP001" in h] == ["SMTP001 send-mailmessage"]  # the pane's title only
    assert "Rule documentation" in headings and "What it does" in headings


def test_senders_say_why_each_mailbox_is_there(driver: WebDriver, page: Path, documents: list[Doc],
                                               viewport: tuple[int, int]) -> None:  # noqa: F811
    width, _ = viewport
    open_report(driver, page)
    report = merge_documents(documents)
    rows = driver.find_elements(By.CSS_SELECTOR, "#senders-static table.senders tbody tr")
    assert [row.find_element(By.TAG_NAME, "th").text for row in rows] == [s.mailbox for s in report.senders]
    labels = {"breaks": "Will break", "may break": "May break"}
    for row, sender in zip(rows, report.senders):
        badges = [b.text for b in row.find_elements(By.CSS_SELECTOR, "td .status-badge")]
        assert badges == [labels[v] for v in sender.verdicts] and badges
    assert "scanner@contoso.com" not in driver.find_element(By.ID, "senders-static").text  # relay-only: not in the scope
    excluded = driver.find_element(By.CSS_SELECTOR, "#senders-excluded table").text
    assert "scanner@contoso.com" in excluded and "relay" in excluded
    credential = rows[0].find_elements(By.TAG_NAME, "td")[2]
    label = driver.execute_script("return getComputedStyle(arguments[0], '::before').content", credential)
    assert label == ('"Credential: "' if width == 390 else "none")  # a phone's card names each value


def test_an_unowned_finding_says_how_to_name_an_owner(driver: WebDriver, page: Path, viewport: tuple[int, int]) -> None:  # noqa: F811
    open_report(driver, page)
    hint = driver.find_element(By.ID, "owner-hint")
    summary = hint.find_element(By.TAG_NAME, "summary")
    assert summary.text == "No finding has an owner: how to name one"
    summary.click()
    text = hint.find_element(By.TAG_NAME, "p").text
    assert "CODEOWNERS" in text and "[owners] map of .smtp2graph.toml" in text and '"hr-tools/**" = "hr@contoso.com"' in text
    assert driver.find_element(By.CSS_SELECTOR, "#findings-body td.cell-owner").text.endswith("none")
    pane = open_finding(driver, "Send-Weekly")
    assert "Owner\nnone: no CODEOWNERS, owners map or git history names one. Name an owner in a CODEOWNERS file" in pane.text


def test_an_owned_estate_shows_no_owner_hint(driver: WebDriver, documents: list[Doc], tmp_path: Path) -> None:  # noqa: F811
    owned = json.loads(json.dumps(documents[0]))
    for finding in owned["findings"]:
        finding["owner"], finding["owner_source"] = "@contoso/tools", "CODEOWNERS"
    page = tmp_path / "owned.html"
    page.write_text(render_html([owned]), encoding="utf-8")
    open_report(driver, page)
    assert not driver.find_element(By.ID, "owner-hint").is_displayed()


@pytest.fixture(scope="module")
def reads_only(tmp_path_factory: pytest.TempPathFactory) -> Doc:
    """An estate whose only EWS use is reading: no EWS send."""
    import shutil

    from typer.testing import CliRunner

    from scanner.cli import app

    tree = tmp_path_factory.mktemp("ews-reads")
    shutil.copyfile(Path(__file__).parent / "fixtures" / "ews" / "reads_only.ps1", tree / "reads_only.ps1")
    (tree / "Weekly.ps1").write_text(WEEKLY, encoding="utf-8")
    result = CliRunner().invoke(app, ["scan", str(tree), "-f", "json", "--no-cache", "--jobs", "1", "--exit-zero", "--no-blame"])
    return json.loads(result.stdout)


def test_no_line_of_zero_ews_sends(driver: WebDriver, reads_only: Doc, viewport: tuple[int, int], tmp_path: Path) -> None:  # noqa: F811
    page = tmp_path / "ews.html"
    page.write_text(render_html([reads_only]), encoding="utf-8")
    open_report(driver, page)
    countdown = driver.find_element(By.ID, "countdown").text
    assert "0 EWS sends" not in countdown  # "0 EWS sends in 0 scripts (0 will break, 0 may break, 0 already broken)" before
    assert "1 script uses EWS for other things than sending (reads, searches, calendar)" in countdown
    assert "2027-04-01: EWS switched off for good" in countdown
    assert not driver.find_elements(By.CSS_SELECTOR, '#fix-tiles button[data-tile="ews-send"]')
