"""Open the report in headless Chromium and say what is wrong with it, as a browser sees it.

Used by the browser test and by hand::

    python -m gelulab.report.browser report/index.html --screenshot report.png

Checks, on the page loaded from disk (``file://``): every expected section is present and rendered,
every image decodes (``naturalWidth > 0``) and every figure is shown at a readable width, the console
has no error, no request leaves the machine (only ``file:`` and ``data:`` URLs), and the page is not
wider than the window. Needs Chromium and chromedriver (Debian: ``chromium``, ``chromium-driver``;
``scripts/setup_browser.sh``) and selenium (the ``test`` extra). Selenium is given both paths, so it
never downloads a driver.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

#: Launch flags for a headless, offline, reproducible Chromium that may run as root.
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--disable-extensions", "--disable-default-apps", "--hide-scrollbars",
)
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
DRIVERS = ("chromedriver",)
ALLOWED_SCHEMES = ("file:", "data:")
#: A figure narrower than this on a 1280-px window is too small to read.
MIN_FIGURE_WIDTH = 400


class BrowserUnavailable(RuntimeError):
    """Chromium, chromedriver or selenium is missing; the message says which and how to install it."""


def find_browser() -> tuple[str, str]:
    """Paths of the Chromium binary and its chromedriver, or BrowserUnavailable naming what is missing."""
    browser = next((p for p in map(shutil.which, BROWSERS) if p), None)
    driver = next((p for p in map(shutil.which, DRIVERS) if p), None)
    missing = [name for name, path in (("chromium", browser), ("chromedriver", driver)) if path is None]
    if missing:
        raise BrowserUnavailable(" and ".join(missing) + " not found on PATH (install: bash scripts/setup_browser.sh)")
    assert browser is not None and driver is not None
    return browser, driver


def launch_chromium(profile_dir: str | Path, width: int = 1280, height: int = 900) -> Any:
    """A headless Chromium WebDriver with a fresh profile in ``profile_dir``, logging console and network."""
    browser, driver_path = find_browser()
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as exc:
        raise BrowserUnavailable("selenium is not installed (pip install -e '.[test]')") from exc
    os.environ.setdefault("SE_AVOID_STATS", "true")  # no usage statistics from selenium
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in (*CHROMIUM_FLAGS, f"--window-size={width},{height}", f"--user-data-dir={profile_dir}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_page_load_timeout(60)
    return driver


def open_page(driver: Any, path: Path) -> str:
    """Load ``path`` from disk after a blank page (so the logs hold only its events); returns its URL."""
    driver.get("about:blank")
    driver.get_log("browser")
    driver.get_log("performance")
    url = path.resolve().as_uri()
    driver.get(url)
    driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "if (document.readyState === 'complete') done(); else window.addEventListener('load', () => done());"
    )
    return url


def _requests(driver: Any, page_url: str) -> list[str]:
    """URLs the page asked for (the browser's own pages, e.g. its new-tab page, are not the report's)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent" and message["params"].get("documentURL") == page_url:
            urls.append(message["params"]["request"]["url"])
    return urls


def page_problems(driver: Any, path: Path, section_ids: list[str]) -> list[str]:
    """Everything wrong with the page at ``path`` as the browser sees it; empty when it renders cleanly."""
    page_url = open_page(driver, path)
    problems = []
    for sid in section_ids:
        height = driver.execute_script(
            "const e = document.getElementById(arguments[0]); return e ? e.getBoundingClientRect().height : -1;", sid)
        if height < 0:
            problems.append(f"section #{sid} missing")
        elif height < 20:
            problems.append(f"section #{sid} not rendered (height {height:.0f} px)")
    for img in driver.execute_script(
        "return Array.from(document.images).map((im, i) => ({i: i, ok: im.complete && im.naturalWidth > 0,"
        " alt: im.alt.slice(0, 60), cls: im.className, shown: im.getBoundingClientRect().width}));"
    ):
        if not img["ok"]:
            problems.append(f"image {img['i']} ({img['alt']!r}) is broken (naturalWidth 0)")
        elif img["cls"] != "math" and img["shown"] < MIN_FIGURE_WIDTH:
            problems.append(f"figure {img['i']} ({img['alt']!r}) shown only {img['shown']:.0f} px wide")
    problems += [f"console error: {e['message'][:200]}" for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    problems += [f"network request: {url[:120]}" for url in _requests(driver, page_url)
                 if not url.startswith(ALLOWED_SCHEMES)]
    resources = driver.execute_script("return performance.getEntriesByType('resource').map(r => r.name);")
    problems += [f"resource loaded: {url[:120]}" for url in resources if not url.startswith(ALLOWED_SCHEMES)]
    overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth;")
    if overflow > 0:
        problems.append(f"page is {overflow} px wider than the window (horizontal overflow)")
    return problems


def full_page_screenshot(driver: Any, path: Path, max_height: int | None = None, scale: float = 1.0) -> Path:
    """A PNG of the whole page (or its top ``max_height`` CSS px), captured beyond the window via DevTools.

    ``scale`` < 1 downsizes the image (e.g. 0.7 for a README picture).
    """
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    height = size["height"] if max_height is None else min(size["height"], max_height)
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": size["width"], "height": height, "scale": scale},
    })
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gelulab.report.browser",
                                     description="Check a report page in headless Chromium; exit 1 on any problem.")
    parser.add_argument("html", type=Path, help="the report's index.html")
    parser.add_argument("--sections", nargs="*", default=[], help="section ids that must be present")
    parser.add_argument("--screenshot", type=Path, help="write a full-page PNG here")
    parser.add_argument("--max-height", type=int, help="screenshot only the top N CSS pixels")
    parser.add_argument("--scale", type=float, default=1.0, help="screenshot scale, e.g. 0.7 (default 1)")
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 4:
        parser.error(f"--scale must be in (0, 4], got {args.scale}")
    if not args.html.is_file():
        parser.error(f"{args.html} is not a file; build one with 'gelulab report'")
    try:
        with tempfile.TemporaryDirectory(prefix="gelulab-chromium-") as profile:
            driver = launch_chromium(profile)
            try:
                problems = page_problems(driver, args.html, args.sections)
                if args.screenshot:
                    print(f"screenshot: {full_page_screenshot(driver, args.screenshot, args.max_height, args.scale)}")
            finally:
                driver.quit()
    except BrowserUnavailable as exc:
        print(f"gelulab: error: {exc}", file=sys.stderr)
        return 2
    for p in problems:
        print(p)
    print(f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
