"""The Properties and Claims report sections build, mark the explainer's wrong row, and place figures."""

from __future__ import annotations

from gelulab.report.build import SECTIONS
from gelulab.report.section import ReportContext
from gelulab.report.sections_claims import build as build_claims
from gelulab.report.sections_properties import build as build_properties


def test_sections_are_registered():
    titles = [t for t, _ in SECTIONS]
    assert "Properties" in titles and "Claims" in titles


def test_properties_section_marks_the_monotonic_row(tmp_path):
    s = build_properties(ReportContext(out_dir=tmp_path, quick=True))
    row = next(ln for ln in s.markdown.splitlines() if ln.startswith("| Monotonic"))
    assert "✗" in row and "NO" in row
    other = next(ln for ln in s.markdown.splitlines() if ln.startswith("| Nonlinear"))
    assert "✗" not in other
    assert all(f.exists() and f.stat().st_size > 1000 for f in s.figures)


def test_claims_section_lists_every_verdict(tmp_path):
    s = build_claims(ReportContext(out_dir=tmp_path, quick=True))
    assert "✗ **fails**" in s.markdown and "cannot be settled here" in s.markdown
    assert s.figures and s.figures[0].exists()
