"""The report framework: formulas typeset offline, the summary from highlights, data age, the section feet."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta

import pytest

import gelulab as gl
from gelulab.report import Section, build_report
from gelulab.report import build as build_module
from gelulab.report.html import formula_image, markdown_to_html, to_mathtext
from gelulab.report.section import COMPUTED_NOW, age_text
from gelulab.report.sections_summary import build_summary


@pytest.mark.parametrize("name", gl.names())
def test_every_registered_formula_typesets_offline_as_svg(name):
    latex = gl.get(name).latex
    uri = formula_image(latex)
    assert uri is not None, f"mathtext could not typeset {latex!r} (rewritten: {to_mathtext(latex)!r})"
    svg = base64.b64decode(uri.split(",", 1)[1]).decode()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "<path" in svg  # glyphs drawn, no font needed
    assert "http" not in re.sub(r'xmlns(:\w+)?="[^"]*"|<metadata>.*</metadata>|<!DOCTYPE[^>]*>', "", svg, flags=re.S)


def test_cases_become_one_line_mathtext_can_parse():
    assert to_mathtext(r"\begin{cases} x & x > 0 \\ 0 & x \le 0 \end{cases}") == \
        r"\left\{ x\ \mathrm{if}\ x > 0;\quad 0\ \mathrm{if}\ x \leq 0 \right."
    assert to_mathtext(r"\tfrac{1}{2} \left") == r"\frac{1}{2} \left"  # \le only as a whole command


def test_unparseable_latex_is_shown_as_source_not_dropped():
    html = markdown_to_html(r"before $\begin{array}{c} x \end{array}$ after")
    assert '<code class="latex">' in html and "array" in html and "before" in html and "after" in html


def test_math_is_typeset_outside_code_but_not_inside_and_prices_are_not_math():
    html = markdown_to_html("a $x^2$ b `$y$` costs $5 and $6")
    assert html.count('<img class="math"') == 1
    assert "<code>$y$</code>" in html and "costs $5 and $6" in html


def test_crossed_cells_are_marked_and_tables_scroll():
    html = markdown_to_html("| p | q |\n|---|---|\n| yes | no ✗ |\n")
    assert '<td class="disagree">no ✗</td>' in html and "<td>yes</td>" in html
    assert html.startswith('<div class="table-wrap"><table>')


@pytest.mark.parametrize("delta, expected", [
    (timedelta(seconds=30), "30 s old"), (timedelta(minutes=5), "5 min old"),
    (timedelta(hours=3, minutes=12), "3.2 h old"), (timedelta(days=4), "4 days old"),
])
def test_age_text_words_the_age(delta, expected):
    now = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
    assert age_text(now - delta, now) == expected
    assert age_text((now - delta).replace(tzinfo=None), now) == expected  # naive means UTC


def _section(key: str, highlights: list[str], measured: bool = True, source: str = COMPUTED_NOW) -> Section:
    return Section(key=key, title=key.title(), markdown="body", rerun=f"gelulab {key}", measured=measured,
                   highlights=highlights, data_source=source)


def test_summary_collects_highlights_and_says_what_is_missing_or_stored():
    summary = build_summary([
        _section("claims", ["3 hold, 1 fails"]),
        _section("speed", [], measured=False),
        _section("accuracy", ["gelulab: 0 wrong"], source="stored scan, 2.0 h old"),
        _section("functions", []),
    ])
    md = summary.markdown
    assert "- 3 hold, 1 fails" in md and "- gelulab: 0 wrong" in md
    assert md.index("3 hold") < md.index("0 wrong")  # page order
    assert "[Speed](#speed) (no measured data yet" in md and "[Functions](#functions)" in md
    assert "Accuracy: stored scan, 2.0 h old" in md
    assert not summary.measured


def _fake_sections(monkeypatch):
    def stored(ctx):
        return _section("stored", ["the answer is 42"], source="stored x.json, 3 min old")

    def broken(ctx):
        raise RuntimeError("no data")

    monkeypatch.setattr(build_module, "SECTIONS", [("Stored", stored), ("Broken", broken)])


def test_report_shows_summary_first_and_each_sections_rerun_data_age_and_machine(tmp_path, monkeypatch):
    _fake_sections(monkeypatch)
    result = build_report(tmp_path, quick=True, show_progress=False)
    md = result.markdown_path.read_text()
    html = result.html_path.read_text()
    assert md.index("## The answer") < md.index("## Stored") < md.index("## Broken") < md.index("## Environment")
    assert "- the answer is 42" in md
    assert "*Data:* stored x.json, 3 min old" in md and "*Rerun:* `gelulab stored`" in md
    assert md.count("*Ran on:*") == 2 and "python" in md.split("*Ran on:*")[1].splitlines()[0]
    assert 'id="summary"' in html and html.index('id="summary"') < html.index('id="stored"')
    assert "stored x.json, 3 min old" in html and 'class="missing"' in html  # the broken section is flagged
    assert "*Data:* none: the section failed" in md
    assert "Content-Security-Policy" in html and "<script" not in html and "http://" not in html.split("</style>")[1]


def test_progress_lists_every_section_with_time_and_data_source(tmp_path, monkeypatch, capsys):
    _fake_sections(monkeypatch)
    build_report(tmp_path, quick=True, show_progress=True)
    err = capsys.readouterr().err
    assert re.search(r"Stored\s+\d+\.\d s\s+stored x\.json, 3 min old", err)
    assert re.search(r"Broken\s+\d+\.\d s", err)
    build_report(tmp_path, quick=True, show_progress=False)
    assert capsys.readouterr().err == ""


def test_cli_report_json_lists_sections_and_a_file_as_out_is_a_usage_error(tmp_path, monkeypatch, capsys):
    import json

    from gelulab.cli import main

    _fake_sections(monkeypatch)
    assert main(["report", "--quick", "--json", "--out", str(tmp_path / "r")]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["html_bytes"] == (tmp_path / "r" / "index.html").stat().st_size > 0
    assert [(s["key"], s["measured"]) for s in data["sections"]] == [("stored", True), ("broken", False)]
    assert data["sections"][0]["data_source"] == "stored x.json, 3 min old"
    (tmp_path / "file").write_text("x")
    assert main(["report", "--out", str(tmp_path / "file")]) == 2
    assert "is a file" in capsys.readouterr().err


def test_figures_outside_the_report_are_copied_in_and_missing_ones_noted(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stray = tmp_path / "elsewhere" / "stray.png"
    stray.parent.mkdir()
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 1], [0, 1])
    fig.savefig(stray)
    plt.close(fig)

    def with_figures(ctx):
        return Section(key="figs", title="Figs", markdown="text", rerun="gelulab figs",
                       figures=[stray, ctx.figures_dir / "never_written.png"])

    monkeypatch.setattr(build_module, "SECTIONS", [("Figs", with_figures)])
    result = build_report(tmp_path / "out", quick=True, show_progress=False)
    md = result.markdown_path.read_text()
    assert "![stray](figures/stray.png)" in md and (tmp_path / "out" / "figures" / "stray.png").is_file()
    assert "The figure `never_written.png` was not written" in md
    assert result.html_path.read_text().count("data:image/png;base64,") == 1
