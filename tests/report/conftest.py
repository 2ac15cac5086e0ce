"""Fixtures of the report tests: one quick report per session (headless Chromium is in tests/conftest.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gelulab.report import ReportResult, build_report


@pytest.fixture(scope="session")
def quick_report(tmp_path_factory: pytest.TempPathFactory) -> ReportResult:
    """``gelulab report --quick``, built once for every report test of the session."""
    return build_report(tmp_path_factory.mktemp("report"), quick=True, show_progress=False)


@pytest.fixture
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: ``$GELULAB_SCREENSHOT_DIR`` if set (CI artefacts), else a pytest temp folder."""
    chosen = os.environ.get("GELULAB_SCREENSHOT_DIR")
    path = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path
