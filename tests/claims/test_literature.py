"""The literature table: every row names its source, and verdicts drawn from it follow its numbers."""

from __future__ import annotations

import copy

import pytest

from gelulab.analysis.explainer import quote
from gelulab.claims import check_claims, literature
from gelulab.claims import verdicts as ev


def test_every_row_names_its_source():
    rows = literature.rows()
    assert len(rows) >= 4
    for row in rows:
        assert row["paper"].strip() and row["where"].strip(), row["key"]
        assert any(ch.isdigit() for ch in row["paper"]), f"{row['key']}: the paper's year"
        assert row.get("arxiv") or "OpenAI" in row["paper"], f"{row['key']}: an arXiv id or the publisher"
        if row["compares"]:
            assert row["metric"] and isinstance(row["lower_is_better"], bool)
            for values in row["checkpoints"].values():
                assert all(isinstance(v, str) and float(v) == float(v) for v in values.values())  # as printed
        else:
            assert row["activation"] and row["note"]


def test_literature_claims_are_marked_and_sourced():
    results = {r.claim.key: r for r in check_claims(quick=True, keys=["reported_pretraining",
                                                                      "advice_large_pretrained"])}
    assert set(results) == {"reported_pretraining", "advice_large_pretrained"}
    for r in results.values():
        assert r.claim.kind == "literature"
        assert r.evidence.summary.startswith(literature.PER_THE_LITERATURE)
        assert r.evidence.numbers["per_the_literature"] is True
        assert all("arXiv" in s or "OpenAI" in s for s in r.evidence.numbers["sources"].values())
    assert "Better performance" in quote("**Better performance** reported")


def test_verdicts_follow_the_table_not_typed_text(monkeypatch):
    rows = copy.deepcopy(literature.rows())
    t5 = next(r for r in rows if r["key"] == "t5_glu_variants")
    before = ev.reported_pretraining(ev.EvidenceContext())
    assert before.verdict == ev.IN_PART
    # had GELU won at both checkpoints and had BERT reported the comparison, more of the statement would hold
    for values in t5["checkpoints"].values():
        values["gelu"] = str(float(values["relu"]) - 0.01)
    monkeypatch.setattr(literature, "rows", lambda: tuple(rows))
    after = ev.reported_pretraining(ev.EvidenceContext())
    assert after.numbers["parts"] != before.numbers["parts"]
    assert all(v for k, v in after.numbers["parts"].items() if k.startswith("T5"))
    advice = ev.large_pretrained_gelu(ev.EvidenceContext())
    assert advice.verdict == ev.HOLDS


def test_a_broken_table_is_refused(tmp_path, monkeypatch):
    bad = tmp_path / "literature.json"
    bad.write_text('{"format": "gelulab-literature/1", "rows": [{"key": "x", "model": "M"}]}', encoding="utf-8")
    monkeypatch.setattr(literature, "LITERATURE_PATH", bad)
    literature.rows.cache_clear()
    try:
        with pytest.raises(ValueError, match="lacks paper"):
            literature.rows()
    finally:
        monkeypatch.undo()
        literature.rows.cache_clear()
