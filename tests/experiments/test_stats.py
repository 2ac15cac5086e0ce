from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as st

from gelulab.experiments.stats import better, mean_ci, paired_comparison, summarise
from gelulab.experiments.store import RunRecord


def test_mean_ci_matches_the_textbook_t_interval():
    est = mean_ci([1.0, 2.0, 3.0, 4.0, 5.0])
    # s = sqrt(2.5), t_{0.975, 4} = 2.7764451 (tables), half-width = t * s / sqrt(5)
    assert est.mean == 3.0
    assert est.half_width == pytest.approx(2.7764451 * math.sqrt(2.5) / math.sqrt(5), rel=1e-6)
    assert est.n == 5
    assert math.isnan(mean_ci([4.0]).half_width)


def test_ci_covers_the_true_mean_about_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    covered = 0
    for _ in range(2000):
        est = mean_ci(rng.normal(1.0, 2.0, size=5))
        covered += est.low <= 1.0 <= est.high
    assert 0.93 < covered / 2000 < 0.97


def test_paired_comparison_is_the_one_sample_test_of_the_differences_on_common_seeds():
    a = {0: 1.0, 1: 1.3, 2: 0.9, 3: 1.1, 7: 5.0}
    b = {0: 1.2, 1: 1.4, 2: 1.2, 3: 1.15, 9: 0.0}
    comp = paired_comparison(a, b)
    d = np.array([1.0 - 1.2, 1.3 - 1.4, 0.9 - 1.2, 1.1 - 1.15])
    ref = st.ttest_1samp(d, 0.0)
    assert comp.seeds == (0, 1, 2, 3)
    assert comp.difference.mean == pytest.approx(d.mean())
    assert comp.p_value == pytest.approx(ref.pvalue)
    assert comp.t == pytest.approx(ref.statistic)
    assert better(comp, "val_loss") == (1 if comp.p_value < 0.05 else 0)  # a has lower loss


def test_paired_comparison_needs_two_common_seeds_and_handles_constant_differences():
    assert paired_comparison({0: 1.0, 1: 2.0}, {1: 1.0, 2: 3.0}) is None
    const = paired_comparison({0: 2.0, 1: 3.0, 2: 4.0}, {0: 1.0, 1: 2.0, 2: 3.0})
    assert const.p_value == 0.0 and const.difference.mean == 1.0
    same = paired_comparison({0: 1.0, 1: 2.0}, {0: 1.0, 1: 2.0})
    assert same.p_value == 1.0


def _run(activation: str, seed: int, acc: float, experiment: str = "e1") -> RunRecord:
    return RunRecord(config_hash=f"{experiment}-{activation}", experiment_hash=experiment, seed=seed,
                     task="digits", activation=activation,
                     config={"task": "digits", "activation": activation, "model": "cnn"},
                     metrics={"test_acc": acc, "test_loss": 1 - acc, "grad_flow_log_ratio": 0.0}, n_params=10)


def test_summarise_pairs_by_seed_and_puts_the_baseline_first():
    runs = [_run("relu", s, 0.90 + 0.01 * s) for s in range(4)]
    runs += [_run("gelu", s, 0.92 + 0.01 * s + (0.001 if s % 2 else -0.001)) for s in range(4)]
    runs += [_run("gelu", 0, 0.5, experiment="other")]
    summaries = summarise(runs, baseline="relu")
    assert len(summaries) == 2
    main = next(s for s in summaries if s.experiment_hash == "e1")
    assert [r.activation for r in main.rows] == ["relu", "gelu"]
    comp = main.row("gelu").vs_baseline["test_acc"]
    # the seed effect (+0.01 per seed) cancels in the pairs: the difference is 0.02 +- 0.001
    assert comp.difference.mean == pytest.approx(0.02)
    assert comp.p_value < 1e-4
    assert better(comp, "test_acc") == 1
    other = next(s for s in summaries if s.experiment_hash == "other")
    assert other.baseline is None and other.row("gelu").vs_baseline["test_acc"] is None
