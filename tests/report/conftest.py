"""Fixtures of the report tests: one quick report per session, and headless Chromium driven by selenium.

Chromium is the Debian package (``scripts/setup_browser.sh`` installs it). Without it the browser test
skips with the reason, except under CI (``CI`` set), where a missing browser is a failure: CI must
prove the page renders.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gelulab.report import ReportResult, build_report
from gelulab.report.browser import BrowserUnavailable, launch_chromium


def in_ci() -> bool:
    """CI sets CI=true; "", "0", "false" and "no" mean not in CI."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def browser_unavailable(exc: BrowserUnavailable) -> None:
    """Skip with the reason outside CI; fail under CI, where the browser test must run."""
    if in_ci():
        pytest.fail(f"{exc}; CI must run the browser test", pytrace=False)
    pytest.skip(f"{exc}; with CI set this fails instead")


@pytest.fixture(scope="session")
def quick_report(tmp_path_factory: pytest.TempPathFactory) -> ReportResult:
    """``gelulab report --quick``, built once for every report test of the session."""
    return build_report(tmp_path_factory.mktemp("report"), quick=True, show_progress=False)


@pytest.fixture(scope="session")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A headless Chromium (selenium WebDriver) with a fresh profile; skipped only outside CI when missing."""
    try:
        driver = launch_chromium(tmp_path_factory.mktemp("chromium-profile"))
    except BrowserUnavailable as exc:
        browser_unavailable(exc)
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


@pytest.fixture
def on_browser_unavailable() -> Any:
    """The fixture's skip-or-fail rule, for the test of that rule."""
    return browser_unavailable
