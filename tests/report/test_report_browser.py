"""The report opened from disk in headless Chromium: every section and image renders, offline, without errors.

The checks run in the browser (DOM, image decoding, console log, network log), so they catch what
string checks on the HTML cannot: an image that does not decode, a formula that did not typeset, a
request to the network, a table that pushes the page wider than the window.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

import gelulab as gl
from gelulab.report.build import SECTIONS

_ALLOWED_SCHEMES = ("file:", "data:")


def _open(driver, path: Path) -> str:
    driver.get("about:blank")
    driver.get_log("browser")  # drop what earlier pages logged
    driver.get_log("performance")
    url = path.resolve().as_uri()
    driver.get(url)
    driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "if (document.readyState === 'complete') done(); else window.addEventListener('load', () => done());"
    )
    return url


def _requests(driver, page_url: str) -> list[str]:
    """URLs the page asked for (the browser's own pages, e.g. its new-tab page, are not the report's)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent" and message["params"].get("documentURL") == page_url:
            urls.append(message["params"]["request"]["url"])
    return urls


def page_problems(driver, path: Path, section_ids: list[str]) -> list[str]:
    """Everything wrong with the page at ``path`` as the browser sees it; empty when it renders cleanly."""
    page_url = _open(driver, path)
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
        elif img["cls"] != "math" and img["shown"] < 400:
            problems.append(f"figure {img['i']} ({img['alt']!r}) shown only {img['shown']:.0f} px wide")
    for entry in driver.get_log("browser"):
        if entry["level"] == "SEVERE":
            problems.append(f"console error: {entry['message'][:200]}")
    problems += [f"network request: {url[:120]}" for url in _requests(driver, page_url)
                 if not url.startswith(_ALLOWED_SCHEMES)]
    resources = driver.execute_script("return performance.getEntriesByType('resource').map(r => r.name);")
    problems += [f"resource loaded: {url[:120]}" for url in resources if not url.startswith(_ALLOWED_SCHEMES)]
    overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth;")
    if overflow > 0:
        problems.append(f"page is {overflow} px wider than the window (horizontal overflow)")
    return problems


def _full_page_screenshot(driver, path: Path) -> Path:
    """The whole page, not only the window: the DevTools protocol captures beyond the viewport."""
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
    })
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def test_report_renders_in_chromium_offline_without_errors(quick_report, chromium, screenshot_dir, capsys):
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

    shot = _full_page_screenshot(chromium, screenshot_dir / "report_full_page.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
    with capsys.disabled():
        print(f"\nreport screenshot: {shot}")


@pytest.mark.parametrize("fault, expected", [
    ('<img src="data:image/png;base64,AAAA" alt="bad">', "is broken"),
    ('<img src="http://example.invalid/plot.png" alt="remote">', "network request"),
    ('<script>throw new Error("boom")</script>', "console error"),
    ('<table><tr><td style="white-space:nowrap">' + "wide " * 600 + "</td></tr></table>", "horizontal overflow"),
])
def test_the_browser_checks_catch_a_faulty_page(chromium, tmp_path, fault, expected):
    page = tmp_path / "faulty.html"
    page.write_text(f"<!DOCTYPE html><html><body><section id='a'><h2>A</h2>{fault}</section></body></html>")
    problems = page_problems(chromium, page, ["a", "not-there"])
    assert "section #not-there missing" in problems
    assert any(expected in p for p in problems), problems
