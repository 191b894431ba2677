"""The HTML report in a real browser (Debian chromium + chromedriver, driven by selenium, from file://)."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

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


TILES: dict[str, Callable[[dict], bool]] = {
    "will-break": lambda f: legacy(f) and (f.get("assessment") or {}).get("breaks") is True,
    "may-break": lambda f: legacy(f) and (f.get("assessment") or {}).get("breaks") is None and not _no_password_on_exo(f),
    "not-affected": lambda f: legacy(f) and (f.get("assessment") or {}).get("breaks") is False,
    "fix-safe": lambda f: legacy(f) and f["fix"]["available"] and f["fix"]["applicability"] == "safe",
    "fix-unsafe": lambda f: legacy(f) and f["fix"]["available"] and f["fix"]["applicability"] == "unsafe",
    "manual": lambda f: legacy(f) and not (f["fix"]["available"] and f["fix"]["applicability"] in ("safe", "unsafe")),
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
    button = driver.find_element(By.CSS_SELECTOR, f'#tiles button[data-tile="{tile}"]')
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
    driver.find_element(By.CSS_SELECTOR, '#tiles button[data-tile="will-break"]').click()
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
    driver.find_element(By.CSS_SELECTOR, '#tiles button[data-tile="secret"]').click()
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
    mailboxes = sorted({f["sender"] for _, f in all_findings() if f.get("call") and f.get("sender")})
    assert [row.find_element(By.TAG_NAME, "th").text for row in rows] == mailboxes
    dynamic = driver.find_elements(By.CSS_SELECTOR, "#senders-dynamic table tbody tr")
    assert len(dynamic) == len([f for _, f in all_findings() if f.get("call") and not f.get("sender")])
    audit = driver.find_element(By.ID, "audit")
    assert audit.is_displayed()
    assert "svc-mail@contoso.com" in audit.find_element(By.CSS_SELECTOR, "table.audit-signins").text
    assert "Status: degraded — sign-in logs need Entra ID P1; showing 7 days" in audit.text


def test_detail_pane_handles_missing_parts(driver: WebDriver, fixture_page: Path) -> None:
    """A secret finding has no call, no assessment, no snippet, no diff: the pane still opens, without errors."""
    open_report(driver, fixture_page)
    driver.find_element(By.CSS_SELECTOR, '#tiles button[data-tile="secret"]').click()
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
    mailboxes = sorted({f["sender"] for _, f in all_findings() if f.get("call") and f.get("sender")})
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
