"""Load time of a 10,000-finding HTML report in headless Chromium (navigation start -> rendered table).

Usage: .venv/bin/python bench/html_load.py [--findings 10000] [--runs 3] [--seed 2026] [--keep report.html]
Prints the Python render time, the file size and the median browser load time of `--runs` fresh loads.
Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "fixtures" / "reports"))

from report_corpus import synthetic_scan  # noqa: E402

from scanner.reports.html import render_html  # noqa: E402


def _driver(profile: str):  # type: ignore[no-untyped-def]
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", "--window-size=1400,1000", f"--user-data-dir={profile}"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)


def measure(page: Path, runs: int) -> list[float]:
    """Milliseconds from navigation start to the page's 'report-rendered' mark, one per fresh load."""
    from selenium.webdriver.support.ui import WebDriverWait

    profile = tempfile.mkdtemp(prefix="smtp2graph-bench-")
    driver = _driver(profile)
    times: list[float] = []
    try:
        for _ in range(runs):
            driver.get("about:blank")
            driver.get(page.resolve().as_uri())
            WebDriverWait(driver, 120).until(
                lambda d: d.execute_script("return document.documentElement.getAttribute('data-rendered')") == "true")
            mark = driver.execute_script(
                "var m = performance.getEntriesByName('report-rendered'); return m.length ? m[0].startTime : null;")
            if mark is None:
                raise RuntimeError("the page did not set the 'report-rendered' performance mark")
            times.append(float(mark))
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    return times


def main() -> int:
    """Generate the report, load it `--runs` times and print the median load time."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", type=Path, help="also write the generated report here")
    args = parser.parse_args()
    if not shutil.which("chromium") or not shutil.which("chromedriver"):
        print("chromium and chromedriver are needed: apt-get install chromium chromium-driver", file=sys.stderr)
        return 2
    document = synthetic_scan(args.findings, seed=args.seed)
    started = time.perf_counter()
    html = render_html([document])
    render_seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "report.html"
        page.write_text(html, encoding="utf-8")
        if args.keep:
            shutil.copyfile(page, args.keep)
        times = measure(page, args.runs)
    print(f"findings: {args.findings}  file: {len(html.encode('utf-8')) / 1e6:.1f} MB  python render: {render_seconds:.2f} s")
    print("browser load (navigation start -> rendered table): " + ", ".join(f"{t:.0f} ms" for t in times))
    print(f"median of {len(times)}: {statistics.median(times):.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
