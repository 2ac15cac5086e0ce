from __future__ import annotations

from gelulab.experiments.defaults import QUICK_SWEEP, plan_of
from gelulab.report import sections_training
from gelulab.report.section import ReportContext


def test_the_claims_section_trains_the_sweep_itself_and_the_training_section_reuses_it(tmp_path, monkeypatch):
    from gelulab.claims import training
    from gelulab.report import sections_claims

    calls = []
    real = training.report_runs
    monkeypatch.setattr(training, "report_runs", lambda quick, out: calls.append(out) or real(quick, out))
    ctx = ReportContext(out_dir=tmp_path, quick=True)
    claims = sections_claims.build(ctx)  # Claims first: the order of SECTIONS is not what feeds it
    assert (tmp_path / "training.sqlite").exists() and len(calls) == 1
    assert str(tmp_path / "training.sqlite") in claims.data_source
    section = sections_training.build(ctx)
    assert len(calls) == 1 and f"trained {len(plan_of(QUICK_SWEEP))} runs" in section.markdown
    from gelulab.claims import training_statements

    verdicts = training.training_verdicts(tmp_path / "training.sqlite")
    assert verdicts
    for key, judged in verdicts.items():  # the section shows the one verdict computed from the store
        shown = sections_training.SHOWN_VERDICT.get(judged["verdict"], judged["verdict"])
        assert f"| {training_statements()[key]} | **{shown}** |" in section.markdown


def test_quick_section_runs_a_tiny_sweep_into_the_report_folder_then_reuses_it(tmp_path):
    ctx = ReportContext(out_dir=tmp_path, quick=True)
    first = sections_training.build(ctx)
    planned = len(plan_of(QUICK_SWEEP))
    assert f"This build trained {planned} runs and reused 0" in first.markdown
    assert (tmp_path / "training.sqlite").exists()
    assert first.measured is False  # a quick build's numbers only show that the pipeline works
    from gelulab.claims import training_statements

    for statement in training_statements().values():  # quoted from the catalog, not retyped
        assert statement in first.markdown
    for label in ("### lm", "### digits", "### mnist1d/mlp"):
        assert label in first.markdown
    assert "p (paired t)" in first.markdown and "Scale." in first.markdown
    (figure,) = first.figures
    assert figure.read_bytes()[:4] == b"\x89PNG" and figure.parent == ctx.figures_dir
    assert "--store" in first.rerun and "gelulab results" in first.rerun

    second = sections_training.build(ReportContext(out_dir=tmp_path, quick=True))  # a new build
    assert f"trained 0 runs and reused {planned}" in second.markdown
    assert second.data_source.startswith(f"{planned} stored runs from")
