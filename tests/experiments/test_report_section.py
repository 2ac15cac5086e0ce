from __future__ import annotations

from gelulab.experiments.defaults import QUICK_SWEEP, plan_of
from gelulab.report import sections_training
from gelulab.report.build import SECTIONS
from gelulab.report.section import ReportContext


def test_training_section_is_registered_before_the_claims_that_read_its_runs():
    titles = [t for t, _ in SECTIONS]
    assert "Training" in titles
    assert titles.index("Training") < titles.index("Claims")


def test_quick_section_runs_a_tiny_sweep_into_the_report_folder_then_reuses_it(tmp_path):
    ctx = ReportContext(out_dir=tmp_path, quick=True)
    first = sections_training.build(ctx)
    planned = len(plan_of(QUICK_SWEEP))
    assert f"This build trained {planned} runs and reused 0" in first.markdown
    assert (tmp_path / "training.sqlite").exists()
    assert first.measured is False  # a quick build's numbers only show that the pipeline works
    for claim in sections_training.CLAIM_TEXT.values():
        assert claim in first.markdown
    for label in ("### lm", "### digits", "### mnist1d/mlp"):
        assert label in first.markdown
    assert "p (paired t)" in first.markdown and "Scale." in first.markdown
    (figure,) = first.figures
    assert figure.read_bytes()[:4] == b"\x89PNG" and figure.parent == ctx.figures_dir
    assert "--store" in first.rerun and "gelulab results" in first.rerun

    second = sections_training.build(ctx)
    assert f"trained 0 runs and reused {planned}" in second.markdown
    assert second.data_source.startswith(f"{planned} stored runs from")
