"""The report writes HTML and Markdown with the function table and the GELU-vs-ReLU plot."""

from gelulab.report import build_report
from gelulab.report.build import SECTIONS


def test_quick_report_writes_html_markdown_and_the_plot(quick_report):
    result = quick_report  # built once per session (conftest.py): a quick report takes tens of seconds
    html = result.html_path.read_text()
    md = result.markdown_path.read_text()
    assert result.html_path.name == "index.html" and result.markdown_path.name == "report.md"
    assert 'id="functions"' in html and "data:image/png;base64," in html
    assert "## Functions" in md and "figures/gelu_vs_relu.png" in md
    png = result.html_path.parent / "figures" / "gelu_vs_relu.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(result.sections) == len(SECTIONS)
    assert "gelu_tanh" in md  # every registered activation is in the table


def test_a_failing_section_is_reported_not_fatal(tmp_path, monkeypatch):
    from gelulab.report import build as build_module

    def broken(ctx):
        raise RuntimeError("no data")

    monkeypatch.setattr(build_module, "SECTIONS", [("Broken", broken), *build_module.SECTIONS[:1]])
    result = build_report(tmp_path, quick=True, show_progress=False)
    assert "could not be built" in result.markdown_path.read_text()
    assert "Functions" in result.markdown_path.read_text()
