"""The report opened from disk in headless Chromium: every section and image renders, offline, without errors.

The checks run in the browser (DOM, image decoding, console log, network log), so they catch what
string checks on the HTML cannot: an image that does not decode, a formula that did not typeset, a
request to the network, a table that pushes the page wider than the window.
"""

from __future__ import annotations

import pytest

import gelulab as gl
from gelulab.report.browser import full_page_screenshot, page_problems
from gelulab.report.build import SECTIONS


def test_report_renders_in_chromium_offline_without_errors(chromium, quick_report, screenshot_dir, capsys):
    # chromium first: without a browser the test skips (or fails in CI) before building the report
    keys = [quick_report.summary.key, *(s.key for s in quick_report.sections), "environment"]
    assert len(quick_report.sections) == len(SECTIONS)

    assert page_problems(chromium, quick_report.html_path, keys) == []

    n_figures = sum(len(s.figures) for s in quick_report.sections)
    figures = chromium.execute_script("return document.querySelectorAll('figure img').length;")
    math = chromium.execute_script("return document.querySelectorAll('img.math').length;")
    untypeset = chromium.execute_script(
        "return Array.from(document.querySelectorAll('code.latex')).map(c => c.textContent);")
    assert figures == n_figures > 0
    assert math >= len(gl.names()), "every registered activation's formula is typeset as an image"
    assert untypeset == []
    feet = chromium.execute_script(
        "return Array.from(document.querySelectorAll('main > section .foot')).map(f => f.textContent);")
    assert len(feet) == len(SECTIONS)
    assert all("Rerun:" in f and "Data:" in f and "Ran on:" in f for f in feet)

    shot = full_page_screenshot(chromium, screenshot_dir / "report_full_page.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
    with capsys.disabled():
        print(f"\nreport screenshot: {shot}")


@pytest.mark.parametrize("fault, expected", [
    ('<img src="data:image/png;base64,AAAA" alt="bad">', "is broken"),
    ('<img src="http://example.invalid/plot.png" alt="remote">', "network request"),
    ('<script>throw new Error("boom")</script>', "console error"),
    ('<table><tr><td style="white-space:nowrap">' + "wide " * 600 + "</td></tr></table>", "horizontal overflow"),
], ids=["broken-image", "remote-image", "script-error", "wide-table"])
def test_the_browser_checks_catch_a_faulty_page(chromium, tmp_path, fault, expected):
    page = tmp_path / "faulty.html"
    page.write_text(f"<!DOCTYPE html><html><body><section id='a'><h2>A</h2>{fault}</section></body></html>")
    problems = page_problems(chromium, page, ["a", "not-there"])
    assert "section #not-there missing" in problems
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize("ci, outcome", [("", pytest.skip.Exception), ("false", pytest.skip.Exception),
                                         ("true", pytest.fail.Exception), ("1", pytest.fail.Exception)])
def test_missing_browser_skips_outside_ci_and_fails_in_ci(monkeypatch, on_browser_unavailable, ci, outcome):
    from gelulab.report import browser

    monkeypatch.setattr(browser.shutil, "which", lambda name: None)
    with pytest.raises(browser.BrowserUnavailable, match="chromium and chromedriver not found") as missing:
        browser.launch_chromium("/nonexistent-profile")
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="chromium and chromedriver not found"):
        on_browser_unavailable(missing.value)
