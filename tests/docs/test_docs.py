"""The documentation: the site builds strictly, opens from disk cleanly in Chromium, its references are
generated (not retyped), and every ``>>>`` example in it and in the README runs with the output shown."""

from __future__ import annotations

import doctest
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from gelulab.cli import build_parser
from gelulab.report.browser import page_problems

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted((ROOT / "docs").rglob("*.md"))
EXAMPLE_FILES = [p for p in (ROOT / "README.md", *PAGES) if ">>> " in p.read_text(encoding="utf-8")]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``mkdocs build --strict``: a broken link, anchor or API reference fails the build."""
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def test_the_site_has_a_page_for_every_page_of_the_nav(site):
    built = {p.relative_to(site).with_suffix(".md").as_posix() for p in site.rglob("*.html")}
    for page in PAGES:
        if "hooks" not in page.parts:
            assert page.relative_to(ROOT / "docs").as_posix() in built


def test_the_cli_reference_is_generated_from_the_parser(site):
    text = (site / "reference" / "cli.html").read_text(encoding="utf-8")
    parser = build_parser()
    verbs = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction").choices
    assert len(verbs) >= 10
    for verb, sub in verbs.items():
        assert f"gelulab {verb}" in text, verb
        for action in sub._actions:  # every option of every verb, as the parser spells it
            for flag in action.option_strings:
                assert flag in text, (verb, flag)


def test_the_api_reference_carries_the_docstrings(site):
    import gelulab.torch as gt

    text = re.sub(r"<[^>]+>", "", (site / "reference" / "api.html").read_text(encoding="utf-8"))
    first_line = gt.swap_activations.__doc__.strip().splitlines()[0]
    assert first_line.split("``")[0].strip() in text
    assert "correctly_rounded" in text and "ActivationSpec" in text


def test_the_readme_and_the_guides_hold_examples():
    names = {p.name for p in EXAMPLE_FILES}
    assert {"README.md", "getting-started.md", "exactness.md", "grading.md", "swapping.md"} <= names


def _local_links(html: str) -> list[str]:
    return [h for h in re.findall(r'(?:href|src)="([^"]+)"', html)
            if not urlparse(h).scheme and not h.startswith("#")]


def test_every_page_opens_from_disk_without_a_broken_link_image_or_error(site, chromium):
    pages = sorted(p for p in site.rglob("*.html") if p.name != "404.html")
    assert len(pages) >= 10
    problems = {}
    for page in pages:
        found = page_problems(chromium, page, [])
        html = page.read_text(encoding="utf-8")
        for link in _local_links(html):
            target = (page.parent / unquote(link.split("#")[0].split("?")[0])).resolve()
            if link.split("#")[0] and not target.exists():
                found.append(f"broken link: {link}")
        if found:
            problems[page.relative_to(site).as_posix()] = found
    assert problems == {}


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.relative_to(ROOT).as_posix() for p in EXAMPLE_FILES])
def test_the_examples_run_and_print_what_the_page_shows(path, tmp_path, monkeypatch):
    # a code fence ends an example's expected output, as a blank line does in a docstring
    text = re.sub(r"^\s*```.*$", "", path.read_text(encoding="utf-8"), flags=re.MULTILINE)
    monkeypatch.chdir(tmp_path)  # examples that write files (the quick report) write them here
    parser = doctest.DocTestParser()
    test = parser.get_doctest(text, {}, path.name, str(path), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    out: list[str] = []
    runner.run(test, out=out.append)
    assert runner.failures == 0, "".join(out)[-4000:]
    assert runner.tries > 0
