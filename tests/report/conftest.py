"""Fixtures of the report tests: one quick report per session, and headless Chromium driven by selenium.

Chromium is the Debian package (``scripts/setup_browser.sh`` installs it). Without it the browser test
skips with the reason, except under CI (``CI`` set), where a missing browser is a failure: CI must
prove the page renders.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from gelulab.report import ReportResult, build_report

#: Launch flags for a headless, offline, reproducible Chromium that may run as root.
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--disable-extensions", "--disable-default-apps", "--hide-scrollbars",
    "--window-size=1280,900",
)
_BROWSERS = ("chromium", "chromium-browser", "google-chrome")
_DRIVERS = ("chromedriver",)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _which(names: tuple[str, ...]) -> str | None:
    return next((path for path in map(shutil.which, names) if path), None)


def _unavailable(reason: str) -> None:
    if _in_ci():
        pytest.fail(f"{reason}; CI must run the browser test (run scripts/setup_browser.sh)", pytrace=False)
    pytest.skip(f"{reason} (install with scripts/setup_browser.sh; with CI set this fails instead)")


@pytest.fixture(scope="session")
def quick_report(tmp_path_factory: pytest.TempPathFactory) -> ReportResult:
    """``gelulab report --quick``, built once for every report test of the session."""
    return build_report(tmp_path_factory.mktemp("report"), quick=True, show_progress=False)


@pytest.fixture(scope="session")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A headless Chromium (selenium WebDriver) with a fresh profile, logging console and network events."""
    browser, driver_path = _which(_BROWSERS), _which(_DRIVERS)
    if browser is None or driver_path is None:
        missing = " and ".join(n for n, p in (("chromium", browser), ("chromedriver", driver_path)) if p is None)
        _unavailable(f"{missing} not found on PATH")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _unavailable("selenium is not installed (pip install -e '.[test]')")

    os.environ.setdefault("SE_AVOID_STATS", "true")  # selenium must not phone home; there is no network anyway
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: ``$GELULAB_SCREENSHOT_DIR`` if set (CI artefacts), else a pytest temp folder."""
    chosen = os.environ.get("GELULAB_SCREENSHOT_DIR")
    path = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path
