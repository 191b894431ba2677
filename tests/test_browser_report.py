"""The HTML report in a real browser (Debian chromium + chromedriver, driven by selenium, from file://)."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from scanner.reports.builder import merge_documents
from scanner.reports.html import render_html

FIXTURES = Path(__file__).parent / "fixtures" / "reports"
ARTIFACTS = Path(__file__).parent / "artifacts"
sys.path.insert(0, str(FIXTURES))
from report_corpus import synthetic_scan  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
GRAPH_APIS = {"graph-sendmail", "send-mgusermail"}

if not CHROMIUM or not CHROMEDRIVER:
    pytest.skip(
        f"chromium ({CHROMIUM or 'not found'}) and chromedriver ({CHROMEDRIVER or 'not found'}) are both needed; "
        "install them with `apt-get install chromium chromium-driver` (.ci/run does)",
        allow_module_level=True,
    )

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import NoAlertPresentException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.chrome.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

Doc = dict[str, Any]


def load_fixtures() -> list[Doc]:
    return [json.loads((FIXTURES / name).read_text(encoding="utf-8"))
            for name in ("scan-ops.json", "scan-hr.json", "scan-xss.json", "audit-contoso.json")]


@pytest.fixture(scope="module")
def driver() -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tempfile.mkdtemp(prefix="smtp2graph-chromium-")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", "--window-size=1400,1000", f"--user-data-dir={profile}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    browser.set_page_load_timeout(60)
    try:
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def fixture_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(render_html(load_fixtures()), encoding="utf-8")
    return path


def open_report(driver: WebDriver, path: Path) -> list[dict[str, object]]:
    """Load the page from file:// and return the console messages logged while loading."""
    driver.get("about:blank")
    driver.get_log("browser")  # drop what earlier pages logged
    driver.get(path.resolve().as_uri())
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script("return document.documentElement.getAttribute('data-rendered')") == "true")
    return driver.get_log("browser")


def visible_rows(driver: WebDriver) -> int:
    return len(driver.find_elements(By.CSS_SELECTOR, "#findings-body tr.finding-row"))


def match_count(driver: WebDriver) -> tuple[int, int]:
    status = driver.find_element(By.ID, "match-count")
    return int(status.get_attribute("data-count") or -1), int(status.get_attribute("data-scripts") or -1)


def wait_for_count(driver: WebDriver, expected: int) -> None:
    WebDriverWait(driver, 5).until(lambda d: match_count(d)[0] == expected)


def all_findings() -> list[tuple[str, dict]]:
    return [(str(doc["root"]), finding) for doc in load_fixtures() if doc.get("kind") != "audit"
            for finding in doc["findings"]]


def legacy(f: dict) -> bool:
    return f["rule"].startswith("SMTP") and (f.get("call") or {}).get("api") not in GRAPH_APIS


def _no_password_on_exo(f: dict) -> bool:
    a = f.get("assessment") or {}
    return a.get("server") == "exchange-online-submission" and a.get("credential") in ("none", "default-windows-logon")


def _needs_work(f: dict) -> bool:
    return legacy(f) and (f.get("assessment") or {}).get("breaks") is not False


TILES: dict[str, Callable[[dict], bool]] = {
    "will-break": lambda f: legacy(f) and (f.get("assessment") or {}).get("breaks") is True,
    "may-break": lambda f: legacy(f) and (f.get("assessment") or {}).get("breaks") is None and not _no_password_on_exo(f),
    "not-affected": lambda f: legacy(f) and (f.get("assessment") or {}).get("breaks") is False,
    # The fix tiles count the calls the retirement breaks or may break: a call it does not touch is no work.
    "fix-safe": lambda f: _needs_work(f) and f["fix"]["available"] and f["fix"]["applicability"] == "safe",
    "fix-unsafe": lambda f: _needs_work(f) and f["fix"]["available"] and f["fix"]["applicability"] == "unsafe",
    "manual": lambda f: _needs_work(f) and not (f["fix"]["available"] and f["fix"]["applicability"] in ("safe", "unsafe")),
    "graph": lambda f: f["rule"].startswith("GRAPH") or (f.get("call") or {}).get("api") in GRAPH_APIS,
    "secret": lambda f: f["rule"].startswith("SEC"),
}


def test_loads_from_file_url_without_console_errors(driver: WebDriver, fixture_page: Path) -> None:
    logs = open_report(driver, fixture_page)
    problems = [entry for entry in logs if entry.get("level") in ("SEVERE", "WARNING")]
    assert problems == []
    assert driver.title.startswith("smtp2graph migration report")
    assert visible_rows(driver) == len(all_findings())
    countdown = driver.find_element(By.ID, "countdown").text
    assert countdown.startswith("35 days left until") and "end of December 2026" in countdown
    # Nothing was fetched: the only resource the page has is itself.
    resources = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert resources == []
    ARTIFACTS.mkdir(exist_ok=True)
    assert driver.save_screenshot(str(ARTIFACTS / "report.png"))


@pytest.mark.parametrize("tile", list(TILES))
def test_clicking_a_tile_filters_the_rows(driver: WebDriver, fixture_page: Path, tile: str) -> None:
    open_report(driver, fixture_page)
    hits = [(root, f["path"]) for root, f in all_findings() if TILES[tile](f)]
    button = driver.find_element(By.CSS_SELECTOR, f'.tiles button[data-tile="{tile}"]')
    assert button.find_element(By.CLASS_NAME, "tile-count").text == str(len(set(hits)))
    button.click()
    wait_for_count(driver, len(hits))
    assert button.get_attribute("aria-pressed") == "true"
    assert visible_rows(driver) == len(hits)
    assert match_count(driver) == (len(hits), len(set(hits)))
    button.click()  # a second click clears the tile filter
    wait_for_count(driver, len(all_findings()))
    assert visible_rows(driver) == len(all_findings())


def test_search_and_tile_combine(driver: WebDriver, fixture_page: Path) -> None:
    open_report(driver, fixture_page)
    search = driver.find_element(By.ID, "search")
    search.send_keys("onboarding")
    onboarding = [f for root, f in all_findings() if "onboarding" in f["path"]]
    wait_for_count(driver, len(onboarding))
    assert visible_rows(driver) == len(onboarding) == 4
    driver.find_element(By.CSS_SELECTOR, '.tiles button[data-tile="will-break"]').click()
    both = [f for f in onboarding if TILES["will-break"](f)]
    wait_for_count(driver, len(both))
    assert visible_rows(driver) == len(both) == 2
    search.send_keys(Keys.ESCAPE)  # Escape clears the search, the tile stays
    wait_for_count(driver, len([f for _, f in all_findings() if TILES["will-break"](f)]))
    driver.find_element(By.ID, "clear-filters").click()
    wait_for_count(driver, len(all_findings()))


def test_select_filters_and_sorting(driver: WebDriver, fixture_page: Path) -> None:
    open_report(driver, fixture_page)
    Select(driver.find_element(By.ID, "filter-severity")).select_by_value("high")
    high = [f for _, f in all_findings() if f["severity"] == "high"]
    wait_for_count(driver, len(high))
    assert visible_rows(driver) == len(high)
    Select(driver.find_element(By.ID, "filter-repo")).select_by_value("ops-scripts")
    wait_for_count(driver, len([f for root, f in all_findings() if f["severity"] == "high" and root == "ops-scripts"]))
    driver.find_element(By.ID, "clear-filters").click()
    wait_for_count(driver, len(all_findings()))
    Select(driver.find_element(By.ID, "filter-fix")).select_by_value("display-only")
    wait_for_count(driver, len([f for _, f in all_findings() if f["fix"]["available"] and f["fix"]["applicability"] == "display-only"]))
    driver.find_element(By.ID, "clear-filters").click()
    # Sort by line: groups are ordered by their smallest line, the first row holds the smallest line of all.
    driver.find_element(By.CSS_SELECTOR, 'th[data-sort="line"] button').click()
    first_line = driver.find_element(By.CSS_SELECTOR, "#findings-body tr.finding-row td.mono").text
    assert int(first_line) == min(f["line"] for _, f in all_findings())
    assert driver.find_element(By.CSS_SELECTOR, 'th[data-sort="line"]').get_attribute("aria-sort") == "ascending"


def test_detail_pane_opens_and_closes_with_escape(driver: WebDriver, fixture_page: Path) -> None:
    open_report(driver, fixture_page)
    driver.find_element(By.ID, "search").send_keys("Nightly-Report")
    wait_for_count(driver, 1)
    opener = driver.find_element(By.CSS_SELECTOR, "#findings-body .open-detail")
    opener.send_keys(Keys.ENTER)  # keyboard: the rule id is a real button
    pane = driver.find_element(By.ID, "detail")
    WebDriverWait(driver, 5).until(lambda d: pane.is_displayed())
    assert driver.find_element(By.ID, "detail-title").text == "SMTP001 send-mailmessage"
    hit = pane.find_elements(By.CSS_SELECTOR, "pre.code .ln.hit")
    assert [line.text for line in hit] == ["8Send-MailMessage @mail -Credential $cred -UseSsl -Port 587"]
    params = pane.find_elements(By.CSS_SELECTOR, "table.params tbody tr")
    assert len(params) == 7
    assert params[0].text.split() == ["To", "'ops@contoso.com'", "splat", "no", "from", "@mail", "(line", "3)"]
    assert params[4].text.split() == ["Credential", "$cred", "expression", "no", "line", "8"]
    assert "+Send-GraphMailMessage @mail" in pane.find_element(By.CSS_SELECTOR, "pre.diff").text
    assert "Invoke-RestMethod" in pane.find_element(By.CSS_SELECTOR, "pre.snippet").text
    assert "Graph always sends UTF-8." in pane.text
    assert "Why is this bad" in pane.text  # the rule's docs
    driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    WebDriverWait(driver, 5).until(lambda d: not pane.is_displayed())
    assert driver.switch_to.active_element == opener  # focus goes back to where it was


def test_scanned_html_executes_nothing(driver: WebDriver, tmp_path: Path) -> None:
    page = tmp_path / "xss.html"
    page.write_text(render_html([json.loads((FIXTURES / "scan-xss.json").read_text(encoding="utf-8"))]), encoding="utf-8")
    logs = open_report(driver, page)
    assert [entry for entry in logs if entry.get("level") == "SEVERE"] == []
    # Open every finding so the detail pane renders each field (snippet, comment, file name, params, diff).
    for index in range(visible_rows(driver)):
        driver.find_elements(By.CSS_SELECTOR, "#findings-body .open-detail")[index].click()
        driver.find_element(By.ID, "detail-close").click()
    driver.find_elements(By.CSS_SELECTOR, "#findings-body .open-detail")[0].click()
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018
    assert driver.execute_script("return typeof window.__xss") == "undefined"
    assert driver.execute_script("return document.querySelectorAll('img, iframe, object, embed').length") == 0
    assert driver.execute_script("return document.querySelectorAll('script').length") == 2
    assert driver.execute_script("return document.querySelectorAll('a[href^=\"javascript\"]').length") == 0
    # The hostile file name and comment are shown as text.
    payload = '</script><img src=x onerror="window.__xss=1;alert(1)"><!--'
    assert payload + ".ps1" in driver.find_element(By.ID, "findings-body").text
    assert "# comment " + payload in driver.find_element(By.ID, "detail").text
    assert driver.title == "smtp2graph migration report — evil<b>repo</b>"
    logs = driver.get_log("browser")
    assert [entry for entry in logs if entry.get("level") == "SEVERE"] == []


def test_ten_thousand_findings_stay_paginated(driver: WebDriver, tmp_path: Path) -> None:
    document = synthetic_scan(10_000, seed=11)
    page = tmp_path / "big.html"
    page.write_text(render_html([document]), encoding="utf-8")
    logs = open_report(driver, page)
    assert [entry for entry in logs if entry.get("level") == "SEVERE"] == []
    assert visible_rows(driver) == 100
    assert match_count(driver)[0] == 10_000
    driver.find_element(By.ID, "page-next").click()
    assert driver.find_element(By.ID, "page-info").text == "Page 2 of 100"
    assert visible_rows(driver) == 100
    findings = document["findings"]
    assert isinstance(findings, list)
    secrets = [f for f in findings if f["rule"].startswith("SEC")]
    driver.find_element(By.CSS_SELECTOR, '.tiles button[data-tile="secret"]').click()
    wait_for_count(driver, len(secrets))
    assert driver.find_element(By.ID, "page-info").text == f"Page 1 of {-(-len(secrets) // 100)}"
    elapsed = driver.execute_script(
        "var s = performance.now(); document.getElementById('clear-filters').click(); return performance.now() - s;")
    assert elapsed < 1000  # re-filtering 10,000 findings stays interactive


def test_dark_mode_and_print_styles(driver: WebDriver, fixture_page: Path) -> None:
    open_report(driver, fixture_page)
    background = "return getComputedStyle(document.body).backgroundColor"
    hidden = "return getComputedStyle(document.getElementById('filters')).display"
    try:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "light"}]})
        light = driver.execute_script(background)
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
        dark = driver.execute_script(background)
        assert light == "rgb(255, 255, 255)" and dark == "rgb(13, 17, 23)"
        assert driver.execute_script(hidden) == "flex"
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print", "features": []})
        assert driver.execute_script(hidden) == "none"
        assert driver.execute_script(background) == "rgb(255, 255, 255)"
    finally:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "", "features": []})


def test_senders_and_audit_sections(driver: WebDriver, fixture_page: Path) -> None:
    open_report(driver, fixture_page)
    rows = driver.find_elements(By.CSS_SELECTOR, "#senders-static table.senders tbody tr")
    report = merge_documents(load_fixtures())  # the sender list itself is tested in test_report_merge
    assert [row.find_element(By.TAG_NAME, "th").text for row in rows] == [s.mailbox for s in report.senders]
    assert "Will break" in rows[0].text  # each mailbox says why the app needs it
    dynamic = driver.find_elements(By.CSS_SELECTOR, "#senders-dynamic table tbody tr")
    assert len(dynamic) == len(report.dynamic_senders)
    excluded = driver.find_element(By.ID, "senders-excluded").text
    assert all(e.mailbox in excluded for e in report.excluded_senders) and report.excluded_senders
    audit = driver.find_element(By.ID, "audit")
    assert audit.is_displayed()
    assert "svc-mail@contoso.com" in audit.find_element(By.CSS_SELECTOR, "table.audit-signins").text
    assert "Status: degraded — sign-in logs need Entra ID P1; showing 7 days" in audit.text


def test_detail_pane_handles_missing_parts(driver: WebDriver, fixture_page: Path) -> None:
    """A secret finding has no call, no assessment, no snippet, no diff: the pane still opens, without errors."""
    open_report(driver, fixture_page)
    driver.find_element(By.CSS_SELECTOR, '.tiles button[data-tile="secret"]').click()
    wait_for_count(driver, 1)
    driver.find_element(By.CSS_SELECTOR, "#findings-body .open-detail").click()
    pane = driver.find_element(By.ID, "detail")
    assert pane.is_displayed()
    assert pane.find_elements(By.CSS_SELECTOR, "table.params, pre.diff, pre.snippet") == []
    assert "no automatic fix" in pane.text and "Winter2026" not in pane.text
    driver.find_element(By.ID, "detail-close").click()
    driver.find_element(By.ID, "clear-filters").click()
    driver.find_element(By.ID, "search").send_keys("Welcome.ps1")
    wait_for_count(driver, 1)
    driver.find_element(By.CSS_SELECTOR, "#findings-body .open-detail").click()
    assert "From comes from $manager.Mail, resolved at run time" in pane.text
    assert [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"] == []


def test_printing_lists_every_filtered_finding(driver: WebDriver, tmp_path: Path) -> None:
    page = tmp_path / "print.html"
    page.write_text(render_html([synthetic_scan(250, seed=3)]), encoding="utf-8")
    open_report(driver, page)
    driver.find_element(By.ID, "page-next").click()
    assert visible_rows(driver) == 100
    driver.execute_script("window.dispatchEvent(new Event('beforeprint'))")
    assert visible_rows(driver) == 250
    driver.execute_script("window.dispatchEvent(new Event('afterprint'))")
    assert visible_rows(driver) == 100
    assert driver.find_element(By.ID, "page-info").text == "Page 2 of 3"  # back where the reader was


def test_rule_docs_render_code_spans_as_code(driver: WebDriver, fixture_page: Path) -> None:
    open_report(driver, fixture_page)
    driver.find_element(By.ID, "search").send_keys("Nightly-Report")
    wait_for_count(driver, 1)
    driver.find_element(By.CSS_SELECTOR, "#findings-body .open-detail").click()
    docs = driver.find_element(By.CSS_SELECTOR, "#detail .docs")
    assert [c.text for c in docs.find_elements(By.CSS_SELECTOR, "p code")] == ["Send-MailMessage"]
    assert "`" not in docs.find_element(By.TAG_NAME, "p").text
    fenced = docs.find_elements(By.TAG_NAME, "pre")
    assert fenced[0].text == "Send-MailMessage -To 'ops@contoso.com' -SmtpServer smtp.office365.com -Credential $cred"
    link = driver.find_element(By.CSS_SELECTOR, "#detail a[href]")
    assert link.get_attribute("href") == "https://github.com/smtp2graph/smtp2graph/blob/main/docs/rules/SMTP001.md"


def test_sparse_and_malformed_findings_render_without_errors(driver: WebDriver, tmp_path: Path) -> None:
    """Older or hand-edited scans: missing parts, nulls and wrong types must not break the page."""
    page = tmp_path / "sparse.html"
    page.write_text(render_html([json.loads((FIXTURES / "scan-minimal.json").read_text(encoding="utf-8"))]), encoding="utf-8")
    logs = open_report(driver, page)
    assert [e for e in logs if e.get("level") == "SEVERE"] == []
    assert visible_rows(driver) == 3
    for index in range(3):
        driver.find_elements(By.CSS_SELECTOR, "#findings-body .open-detail")[index].click()
        assert driver.find_element(By.ID, "detail").is_displayed()
        driver.find_element(By.ID, "detail-close").click()
    driver.find_element(By.CSS_SELECTOR, 'th[data-sort="sender"] button').click()
    driver.find_element(By.ID, "search").send_keys("wrong")
    wait_for_count(driver, 1)
    assert [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"] == []


def test_mailbox_list_for_scoping(driver: WebDriver, fixture_page: Path) -> None:
    open_report(driver, fixture_page)
    details = driver.find_element(By.CSS_SELECTOR, "#senders details.mailbox-list")
    details.find_element(By.TAG_NAME, "summary").click()
    mailboxes = [s.mailbox for s in merge_documents(load_fixtures()).senders]
    assert details.find_element(By.TAG_NAME, "pre").text.splitlines() == mailboxes


def test_real_scan_of_examples_renders(driver: WebDriver, tmp_path: Path) -> None:
    """The scanner's own JSON for examples/ (not a hand-made fixture) renders and every finding is listed."""
    import subprocess

    repo = Path(__file__).resolve().parents[1]
    scan = tmp_path / "examples.json"
    completed = subprocess.run([sys.executable, "-m", "scanner", "scan", str(repo / "examples"), "--format", "json",
                                "--output", str(scan)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert completed.returncode in (0, 1), completed.stderr
    document = json.loads(scan.read_text(encoding="utf-8"))
    page = tmp_path / "examples.html"
    page.write_text(render_html([document]), encoding="utf-8")
    logs = open_report(driver, page)
    assert [e for e in logs if e.get("level") == "SEVERE"] == []
    assert match_count(driver)[0] == len(document["findings"]) > 0
    for index in range(min(visible_rows(driver), 10)):
        driver.find_elements(By.CSS_SELECTOR, "#findings-body .open-detail")[index].click()
        driver.find_element(By.ID, "detail-close").click()
    assert [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"] == []


# ---------- the estate page at phone and desktop widths (layout assertions, not only screenshots) ----------

sys.path.insert(0, str(FIXTURES))
from estate import make_estate  # noqa: E402

DOCS = Path(__file__).resolve().parents[1] / "docs"
VIEWPORTS = {"phone": (390, 844), "desktop": (1440, 900)}


def _dated(document: Doc, stamp: str, keep: int) -> Doc:
    older = json.loads(json.dumps(document))
    older["generated_at"] = stamp
    older["findings"] = older["findings"][:keep]
    return older


@pytest.fixture(scope="module")
def estate_page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Doc]]:
    """Three scanned repositories (owners from CODEOWNERS, the owners map, git blame) plus two fixture scans,
    with an older scan of the ops repository so the page has a burn-down."""
    from typer.testing import CliRunner

    from scanner.cli import app

    base = tmp_path_factory.mktemp("estate-page")
    root = make_estate(base / "estate")
    scan = base / "estate.json"
    result = CliRunner().invoke(app, ["scan", str(root), "--format", "json", "--output", str(scan), "--no-cache", "--jobs", "1"])
    assert result.exit_code == 1, result.stderr
    estate = json.loads(scan.read_text(encoding="utf-8"))
    estate["generated_at"] = "2026-11-26T15:00:00Z"
    ops, hr = (json.loads((FIXTURES / name).read_text(encoding="utf-8")) for name in ("scan-ops.json", "scan-hr.json"))
    documents = [_dated(ops, "2026-09-15T08:00:00Z", 6), _dated(hr, "2026-10-10T08:00:00Z", 4),
                 _dated(ops, "2026-10-28T08:00:00Z", 3), estate, ops, hr]
    page = base / "estate.html"
    page.write_text(render_html(documents), encoding="utf-8")
    return page, [estate, ops, hr]


def set_viewport(driver: WebDriver, width: int, height: int) -> None:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 700})


def reset_viewport(driver: WebDriver) -> None:
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


OVERFLOWING = """
var vw = document.documentElement.clientWidth, bad = [];
document.querySelectorAll('table, .tiles, .charts, .filters, .active-filters, figure, pre, #findings-table tr').forEach(function (e) {
  var r = e.getBoundingClientRect();
  if (r.width === 0 && r.height === 0) { return; }
  if (r.right > vw + 1 || r.left < -1) { bad.push((e.id || e.tagName + '.' + e.className) + ' ' + Math.round(r.left) + '..' + Math.round(r.right)); }
});
return {vw: vw, scroll: document.documentElement.scrollWidth, bad: bad};
"""


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_no_element_is_wider_than_the_viewport(driver: WebDriver, estate_page: tuple[Path, list[Doc]], viewport: str) -> None:
    width, height = VIEWPORTS[viewport]
    set_viewport(driver, width, height)
    try:
        logs = open_report(driver, estate_page[0])
        assert [e for e in logs if e.get("level") == "SEVERE"] == []
        layout = driver.execute_script(OVERFLOWING)
        assert width - 20 <= layout["vw"] <= width  # a desktop scroll bar takes its width
        assert layout["scroll"] <= layout["vw"], "the page scrolls sideways"
        assert layout["bad"] == []
        table = driver.find_element(By.ID, "findings-table").rect
        assert table["width"] <= width
        rows = driver.find_elements(By.CSS_SELECTOR, "#findings-body tr.finding-row")
        display = driver.execute_script("return getComputedStyle(arguments[0]).display", rows[0])
        if viewport == "phone":
            assert display == "flex"  # a card per finding
            assert all(row.rect["width"] <= width - 2 * 10 for row in rows[:20])
            labels = [driver.execute_script("return getComputedStyle(arguments[0], '::before').content",
                                            rows[0].find_element(By.CSS_SELECTOR, css)) for css in ("td.cell-sender", "td.message")]
            assert labels == ['"Sender: "', "none"]  # the message needs no label
        else:
            assert display == "table-row"
            assert driver.find_element(By.CSS_SELECTOR, "#findings-table thead").is_displayed()
        # The first thing under the countdown is the triage: will break, may break, already broken, …
        keys = [b.get_attribute("data-tile") for b in driver.find_elements(By.CSS_SELECTOR, "#tiles .tile")]
        assert keys == ["will-break", "may-break", "already-broken", "not-affected", "graph", "secret"]
        first = driver.find_element(By.CSS_SELECTOR, "#tiles .tile").rect
        assert first["y"] < height  # visible without scrolling
    finally:
        reset_viewport(driver)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_detail_is_a_full_screen_sheet_on_a_phone(driver: WebDriver, estate_page: tuple[Path, list[Doc]], viewport: str) -> None:
    width, height = VIEWPORTS[viewport]
    set_viewport(driver, width, height)
    try:
        open_report(driver, estate_page[0])
        driver.find_element(By.CSS_SELECTOR, "#findings-body .open-detail").click()
        pane = driver.find_element(By.ID, "detail")
        WebDriverWait(driver, 5).until(lambda d: pane.is_displayed())
        rect = pane.rect
        if viewport == "phone":
            assert (rect["x"], rect["width"], rect["height"]) == (0, width, height)
        else:
            client = driver.execute_script("return document.documentElement.clientWidth")
            assert rect["width"] == 760 and rect["x"] + rect["width"] in (width, client)
        scroll = driver.execute_script("return document.getElementById('detail').scrollWidth")
        assert scroll <= rect["width"], "the detail pane scrolls sideways"
        assert "Owner" in pane.text and "(from CODEOWNERS)" in pane.text  # the first finding: billing's CODEOWNERS
        assert "Due\n2026-12-31" in pane.text
        driver.find_element(By.ID, "detail-close").click()
    finally:
        reset_viewport(driver)


def test_breaking_calls_come_first_with_repository_relative_headers(driver: WebDriver, estate_page: tuple[Path, list[Doc]]) -> None:
    page, (estate, _, _) = estate_page
    open_report(driver, page)
    statuses = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#findings-body .status-badge")]
    assert statuses[0] == "Will break"
    # Scripts are ordered by their most urgent call: breaking (safe fix first, then manual), may-break, the rest.
    data = data_findings(driver)
    rows = driver.find_elements(By.CSS_SELECTOR, "#findings-body tr")
    leads, previous_group = [], False
    for row in rows:
        if "group-row" in row.get_attribute("class"):
            previous_group = True
        elif previous_group:
            leads.append(data[int(row.get_attribute("data-id"))]["work_step"])
            previous_group = False
    assert leads == sorted(leads) and leads[0] == 1
    headers = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#findings-body tr.group-row")]
    assert headers[0].startswith("billing / jobs/Send-Invoice.ps1")
    assert not any(estate["root"] in h for h in headers)  # never the absolute scan root
    meta = driver.find_element(By.ID, "report-meta").text
    assert meta.startswith("5 repositories")  # billing, hr-tools, misc + the two fixture scans


def test_charts_by_repository_and_by_owner_and_the_burn_down(driver: WebDriver, estate_page: tuple[Path, list[Doc]]) -> None:
    page, _ = estate_page
    open_report(driver, page)
    data = json.loads(driver.execute_script("return document.getElementById('report-data').textContent"))
    for chart, groups in (("chart-repo", data["summary"]["by_repository"]), ("chart-owner", data["summary"]["by_owner"])):
        expected = {g["name"] for g in groups if g["counts"]["will-break"] + g["counts"]["may-break"]}
        drawn = {r.get_attribute("data-name") for r in driver.find_elements(By.CSS_SELECTOR, f".{chart} rect.bar-will")}
        assert drawn == expected
        for group in groups:
            if group["name"] in drawn and group["counts"]["will-break"]:
                bar = driver.find_element(By.CSS_SELECTOR, f'.{chart} rect.bar-will[data-name="{group["name"]}"]')
                assert float(bar.get_attribute("width")) > 0
    assert "@contoso/billing-team" in driver.find_element(By.CSS_SELECTOR, ".chart-owner").text
    burndown = driver.find_element(By.CSS_SELECTOR, ".chart-burndown")
    assert [p["date"] for p in data["burndown"]] == ["2026-09-15", "2026-10-10", "2026-10-28", "2026-11-25", "2026-11-26"]
    dots = burndown.find_elements(By.CSS_SELECTOR, "circle.line-will-dot")
    assert len(dots) == len(data["burndown"])
    # Higher count, higher dot (smaller y): the line goes the way the numbers go.
    ys = [float(d.get_attribute("cy")) for d in dots]
    counts = [p["will_break"] for p in data["burndown"]]
    assert all((ys[i] < ys[j]) == (counts[i] > counts[j]) for i in range(len(ys)) for j in range(len(ys)) if counts[i] != counts[j])
    assert "until 2026-12-31" in burndown.text


def test_an_active_filter_is_obvious_and_removable(driver: WebDriver, estate_page: tuple[Path, list[Doc]]) -> None:
    page, _ = estate_page
    open_report(driver, page)
    box = driver.find_element(By.ID, "active-filters")
    assert not box.is_displayed()
    total = match_count(driver)[0]
    Select(driver.find_element(By.ID, "filter-owner")).select_by_value("hr@contoso.com")
    wait_for_count(driver, 2)
    assert box.is_displayed()
    assert box.text.startswith("Filtered: showing 2 findings of " + str(total))
    chip = box.find_element(By.CSS_SELECTOR, 'button[data-filter-chip="owner"]')
    assert chip.text == "Owner: hr@contoso.com ×"
    owner_select = driver.find_element(By.ID, "filter-owner")
    assert "is-active" in owner_select.get_attribute("class")
    assert driver.execute_script("return getComputedStyle(arguments[0]).borderTopWidth", owner_select) == "2px"
    driver.find_element(By.CSS_SELECTOR, '#work-order button[data-step="1"]').click()
    wait_for_count(driver, 1)  # hr's Welcome.ps1: breaking, safe fix
    assert len(box.find_elements(By.CSS_SELECTOR, "button.chip")) == 2
    box.find_element(By.CSS_SELECTOR, 'button[data-filter-chip="owner"]').click()  # the chips were redrawn
    wait_for_count(driver, len([f for f in data_findings(driver) if f["work_step"] == 1]))
    driver.find_element(By.ID, "clear-filters").click()
    wait_for_count(driver, total)
    assert not box.is_displayed()


def data_findings(driver: WebDriver) -> list[dict]:
    return json.loads(driver.execute_script("return document.getElementById('report-data').textContent"))["findings"]


def test_screenshots_at_both_widths(driver: WebDriver, estate_page: tuple[Path, list[Doc]]) -> None:
    """tests/artifacts/report-{1440,390}.png on every run; SMTP2GRAPH_UPDATE_SCREENSHOTS=1 refreshes docs/ too."""
    import os

    ARTIFACTS.mkdir(exist_ok=True)
    for name, (width, height) in (("report.png", (1440, 1400)), ("report-390.png", (390, 1600))):
        set_viewport(driver, width, height)
        try:
            open_report(driver, estate_page[0])
            target = ARTIFACTS / name
            assert driver.save_screenshot(str(target))
            if os.environ.get("SMTP2GRAPH_UPDATE_SCREENSHOTS") == "1":
                shutil.copyfile(target, DOCS / name)
        finally:
            reset_viewport(driver)


def test_detail_pane_shows_the_mailkit_xoauth2_alternative(driver: WebDriver, tmp_path: Path) -> None:
    """A MailKit password logon to Exchange Online: the detail pane shows the Graph snippets and, labelled as the
    display-only alternative, the snippet that keeps MailKit with SMTP OAuth 2.0; the script's password is nowhere."""
    import subprocess

    fixture = Path(__file__).parent / "fixtures" / "xoauth2" / "print-queue-password.ps1"
    scan = subprocess.run([sys.executable, "-m", "scanner", "scan", str(fixture), "--format", "json"],
                          capture_output=True, text=True, timeout=120)
    assert scan.returncode in (0, 1), scan.stderr
    page = tmp_path / "xoauth2.html"
    page.write_text(render_html([json.loads(scan.stdout)]), encoding="utf-8")
    assert [e for e in open_report(driver, page) if e.get("level") == "SEVERE"] == []
    driver.find_element(By.ID, "search").send_keys("SMTP003")
    wait_for_count(driver, 1)
    driver.find_element(By.CSS_SELECTOR, "#findings-body .open-detail").click()
    pane = driver.find_element(By.ID, "detail")
    WebDriverWait(driver, 5).until(lambda d: pane.is_displayed())
    headings = [h.text for h in pane.find_elements(By.CSS_SELECTOR, "h4")]
    assert "Graph snippet (invoke-restmethod)" in headings and "Graph snippet (send-mgusermail)" in headings
    assert "Keep MailKit: SMTP OAuth 2.0 (XOAUTH2)" in headings
    assert "Graph snippet (mailkit-xoauth2)" not in headings
    snippets = [pre.text for pre in pane.find_elements(By.CSS_SELECTOR, "pre.snippet")]
    assert len(snippets) == 3 and "SaslMechanismOAuth2" in snippets[2]
    assert "Display-only alternative to the Graph snippets" in pane.text
    assert "Qu3ue-Watch-Fixture-9731" not in driver.page_source
