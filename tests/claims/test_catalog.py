"""Claims: quotes are verbatim, verdicts come from the evidence, training claims wait for training."""

from __future__ import annotations

from pathlib import Path

import pytest

from gelulab.analysis.explainer import explainer_text, properties_table
from gelulab.claims import KINDS, check_claims, claims
from gelulab.claims import verdicts as ev

SHARED = Path(__file__).resolve().parents[3] / "shared" / "explainer.md"


def test_packaged_explainer_is_a_verbatim_copy():
    if not SHARED.exists():
        pytest.skip("../shared/explainer.md is not beside this checkout (installed-package run)")
    assert explainer_text() == SHARED.read_text(encoding="utf-8")


def test_every_quote_is_a_line_of_the_explainer():
    lines = {ln.strip() for ln in explainer_text().splitlines()}
    all_claims = claims()
    assert len(all_claims) >= 30
    for c in all_claims:
        assert c.quote in lines, c.key
        assert c.kind in KINDS


def test_properties_table_is_parsed_from_the_explainer():
    t = properties_table()
    assert t.header == ("Property", "GELU", "ReLU")
    assert t.row("Monotonic") == ("Monotonic", "Yes", "Yes")
    assert [r[0] for r in t.rows] == ["Nonlinear", "Differentiable everywhere", "Monotonic",
                                      "Outputs negative values"]


def _one(key):
    (r,) = check_claims(quick=True, keys=[key])
    return r


def test_monotonic_claim_fails_because_gelu_decreases():
    r = _one("property_monotonic")
    assert r.verdict == ev.FAILS
    assert r.evidence.numbers["gelu"]["computed"] is False
    assert r.evidence.numbers["relu"]["computed"] is True
    assert "-0.751792" in r.evidence.summary


@pytest.mark.parametrize("key", ["property_nonlinear", "property_differentiable_everywhere",
                                 "property_outputs_negative_values", "table_derivative", "formula_gelu"])
def test_true_property_claims_hold(key):
    assert _one(key).verdict == ev.HOLDS


def test_every_claim_has_a_verdict_and_a_command():
    results = check_claims(quick=True)
    assert {r.verdict for r in results} <= set(ev.VERDICTS)
    assert all(r.evidence.summary and r.evidence.command for r in results)
    assert sum(r.verdict == ev.FAILS for r in results) >= 1


def test_training_claims_wait_for_training(monkeypatch, tmp_path):
    from gelulab.claims import training

    monkeypatch.setattr(training, "default_store_path", lambda: tmp_path / "no-runs.sqlite")
    r = _one("advice_language")  # no store: nothing to judge
    assert r.verdict == ev.UNSETTLED and ev.NOT_YET_TRAINED in r.evidence.summary


def test_training_claims_take_the_experiments_verdict(monkeypatch):
    from gelulab.claims import training

    seen = []

    def training_evidence(key, store_path=None):
        seen.append(key)
        if key == "relu_small_models":
            return None
        return {"verdict": "fails", "summary": "GELU 0.91 vs ReLU 0.92 accuracy, p = 0.4", "command": "gelulab sweep x"}

    monkeypatch.setattr(training, "training_evidence", training_evidence)
    from gelulab.experiments import int8

    int8_part = int8.Int8Result([int8.Int8Row("a", "m", "relu", 0.9, 0.9, 0, 2, {"1": 1.0}, {"1": 1.0}),
                                 int8.Int8Row("a", "m", "gelu", 0.9, 0.9, 2, 0, {"1": 1.0}, {"1": 2.0})], {})
    monkeypatch.setattr(int8, "load_or_measure", lambda quick: (int8_part, "stub"))
    lang, small = _one("advice_language"), _one("advice_small_models")
    assert (lang.verdict, lang.evidence.command) == ("fails", "gelulab sweep x")
    assert "p = 0.4" in lang.evidence.summary
    assert small.claim.kind == "measurement"
    assert small.verdict == ev.HOLDS  # training not settled: the int8 part decides
    assert "int8: holds" in small.evidence.summary and "gelulab int8" in small.evidence.command
    assert seen == ["gelu_better_language", "relu_small_models"]


def test_the_small_models_claim_weighs_int8_against_training(monkeypatch):
    from gelulab.claims import training
    from gelulab.experiments import int8

    monkeypatch.setattr(training, "training_evidence", lambda key, store_path=None: {
        "verdict": "fails", "summary": "ReLU worse", "command": "gelulab sweep"})
    slower = int8.Int8Result([int8.Int8Row("a", "m", "relu", 0.9, 0.9, 0, 2, {"1": 1.0}, {"1": 3.0}),
                              int8.Int8Row("a", "m", "gelu", 0.9, 0.9, 2, 0, {"1": 1.0}, {"1": 2.0})], {})
    monkeypatch.setattr(int8, "load_or_measure", lambda quick: (slower, "stub"))
    assert _one("advice_small_models").verdict == ev.FAILS  # both parts fail
    faster = int8.Int8Result([int8.Int8Row("a", "m", "relu", 0.9, 0.9, 0, 2, {"1": 1.0}, {"1": 1.0}),
                              int8.Int8Row("a", "m", "gelu", 0.9, 0.9, 2, 0, {"1": 1.0}, {"1": 2.0})], {})
    monkeypatch.setattr(int8, "load_or_measure", lambda quick: (faster, "stub"))
    assert _one("advice_small_models").verdict == ev.IN_PART  # the parts disagree


class _FakeSpeed:
    def __init__(self, tanh_over_none, numpy_tanh_over_gelu, gelu_over_relu):
        self.size, self.repeats, self.threads = 8, 1, 1
        self.ratios = {"torch tanh / none": tanh_over_none, "gelulab gelu_tanh / gelu": numpy_tanh_over_gelu,
                       "torch gelu(none) / relu": gelu_over_relu, "gelulab gelu / relu": gelu_over_relu}
        self.ns_per_element = {"torch.gelu.tanh": 1.0, "torch.gelu.none": 1.0, "gelulab.gelu_tanh": 1.0,
                               "gelulab.gelu": 1.0, "torch.relu": 1.0, "gelulab.relu": 1.0}


@pytest.mark.parametrize("ratios,verdict", [((0.5, 0.5), ev.HOLDS), ((2.0, 1.2), ev.FAILS),
                                            ((2.0, 0.7), ev.IN_PART)])
def test_tanh_faster_verdict_follows_the_measured_ratios(ratios, verdict):
    ctx = ev.EvidenceContext(quick=True, _speed=_FakeSpeed(*ratios, 3.0))
    assert ev.tanh_faster(ctx).verdict == verdict


@pytest.mark.parametrize("ratio,verdict", [(1.0, ev.FAILS), (1.5, ev.HOLDS), (6.0, ev.IN_PART)])
def test_cost_claim_verdict_follows_the_measured_ratio(ratio, verdict):
    ctx = ev.EvidenceContext(quick=True, _speed=_FakeSpeed(1.0, 1.0, ratio), _inference=_networks(ratio))
    assert ev.cost_slightly_higher(ctx).verdict == verdict
    # the bare tensor and the whole networks disagreeing: the claim holds in part
    other = ev.EvidenceContext(quick=True, _speed=_FakeSpeed(1.0, 1.0, ratio), _inference=_networks(1.5 if ratio != 1.5
                                                                                                    else 1.0))
    assert ev.cost_slightly_higher(other).verdict == ev.IN_PART


def _networks(gelu_over_relu: float) -> dict:
    """A whole-network measurement with GELU's latency at ``gelu_over_relu`` times ReLU's."""
    rows = [{"variant": f"torch {a}", "activation": a, "implementation": "torch", "median_ms": r, "vs_relu": r,
             "activation_share": 0.1} for a, r in (("relu", 1.0), ("gelu", gelu_over_relu))]
    return {"groups": [{"model": "M", "family": "vision", "batch": 1, "mode": "eager", "rows": rows}],
            "machine": {"cpu": "c", "threads": 1, "torch": "t"}, "stored": None}


def test_unknown_claim_key_is_refused():
    with pytest.raises(KeyError):
        check_claims(quick=True, keys=["no_such_claim"])


def test_quotes_are_shown_with_the_encoding_damage_repaired_and_matched_on_the_original():
    from gelulab.analysis.explainer import explainer_text, repair_encoding
    from gelulab.claims import claims

    assert repair_encoding("‚úÖ Faster ‚Üí better ‚Äî é Φ") == "✅ Faster → better — é Φ"
    text = repair_encoding(explainer_text())
    assert "‚" not in text and "✅" in text and "→" in text
    catalog = claims()
    damaged = [c for c in catalog if "‚" in c.quote]
    assert damaged, "some quotes carry the damaged characters in the original"
    for c in catalog:
        assert c.quote in explainer_text()  # matched on the original bytes
        assert "‚" not in repair_encoding(c.quote)
