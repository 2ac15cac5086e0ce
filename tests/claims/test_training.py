from __future__ import annotations

import os

import numpy as np
import pytest

from gelulab.claims.training import KEYS, training_evidence
from gelulab.experiments.defaults import DEFAULT_SWEEP
from gelulab.experiments.store import RunRecord, RunStore
from gelulab.experiments.tasks import config_hash, experiment_hash, make_config

VERDICTS = {"holds", "fails", "holds in part", "cannot be settled here"}


def _add(store: RunStore, spec_index: int, activation: str, metrics_by_seed: dict[int, dict[str, float]]) -> None:
    spec = DEFAULT_SWEEP[spec_index]
    config = make_config(spec.task, activation, **spec.overrides)
    for seed, metrics in metrics_by_seed.items():
        store.add(RunRecord(config_hash=config_hash(config), experiment_hash=experiment_hash(config), seed=seed,
                            task=spec.task, activation=activation, config=config, metrics=metrics, n_params=1))


def _lm(loss: float, grad: float) -> dict[str, float]:
    return {"val_loss": loss, "train_loss": loss, "grad_flow_log_ratio": grad}


def _vision(acc: float, grad: float) -> dict[str, float]:
    return {"test_acc": acc, "test_loss": 1.0 - acc, "grad_flow_log_ratio": grad}


@pytest.fixture
def store_with_runs(store_path):
    rng = np.random.default_rng(0)
    seeds = range(5)
    with RunStore(store_path) as store:
        # lm: gelu lower loss on every seed by 0.05 (+- 0.005): significant
        base = {s: 2.0 + 0.1 * rng.standard_normal() for s in seeds}
        _add(store, 0, "relu", {s: _lm(base[s], 0.0) for s in seeds})
        _add(store, 0, "gelu", {s: _lm(base[s] - 0.05 + 0.005 * rng.standard_normal(), 0.5) for s in seeds})
        # digits: silu better, gelu indistinguishable from relu (noise around zero)
        acc = {s: 0.95 + 0.01 * rng.standard_normal() for s in seeds}
        _add(store, 1, "relu", {s: _vision(acc[s], 0.0) for s in seeds})
        _add(store, 1, "gelu", {s: _vision(acc[s] + 0.002 * (-1) ** s, 0.3) for s in seeds})
        _add(store, 1, "silu", {s: _vision(acc[s] + 0.02 + 0.001 * rng.standard_normal(), 0.1) for s in seeds})
        # mnist1d/cnn: relu clearly better than gelu; silu indistinguishable
        acc = {s: 0.90 + 0.01 * rng.standard_normal() for s in seeds}
        _add(store, 2, "relu", {s: _vision(acc[s], 0.0) for s in seeds})
        _add(store, 2, "gelu", {s: _vision(acc[s] - 0.03 + 0.002 * rng.standard_normal(), 0.4) for s in seeds})
        _add(store, 2, "silu", {s: _vision(acc[s] + 0.003 * (-1) ** s, 0.0) for s in seeds})
    return store_path


@pytest.mark.parametrize(("key", "verdict"), [
    ("gelu_better_language", "holds"),
    ("relu_better_vision", "holds in part"),       # better on mnist1d/cnn, not significant on digits
    ("relu_small_models", "holds in part"),        # worse on lm, better on mnist1d/cnn
    ("silu_replacing_relu", "holds in part"),      # better on digits only
    ("gelu_gradient_flow", "holds"),               # higher ratio in all three experiments
])
def test_verdicts_follow_the_paired_tests(store_with_runs, key, verdict):
    ev = training_evidence(key, store_with_runs)
    assert ev["verdict"] == verdict
    assert ev["command"].startswith("gelulab sweep --task")
    assert "p = " in ev["summary"] and "\n" not in ev["summary"]


def test_only_worse_is_fails_and_only_noise_cannot_be_settled(store_path):
    seeds = range(4)
    with RunStore(store_path) as store:
        _add(store, 0, "relu", {s: _lm(2.0 + 0.1 * s, 0.0) for s in seeds})
        _add(store, 0, "gelu", {s: _lm(2.03 + 0.1 * s + 0.001 * (-1) ** s, -0.1 * (1 + (s % 2))) for s in seeds})
        _add(store, 1, "relu", {s: _vision(0.9 + 0.01 * s, 0.0) for s in seeds})
        _add(store, 1, "silu", {s: _vision(0.9 + 0.01 * s + 0.004 * (-1) ** s, 0.0) for s in seeds})
    assert training_evidence("gelu_better_language", store_path)["verdict"] == "fails"
    assert training_evidence("silu_replacing_relu", store_path)["verdict"] == "cannot be settled here"
    assert training_evidence("relu_better_vision", store_path) is None  # no gelu vision runs stored


def test_no_store_or_no_runs_gives_none(tmp_path, store_path):
    RunStore(store_path).close()
    for key in KEYS:
        assert training_evidence(key, tmp_path / "missing.sqlite") is None
        assert training_evidence(key, store_path) is None
    with pytest.raises(KeyError, match="unknown training claim"):
        training_evidence("relu_is_faster", store_path)


def test_default_store_path_comes_from_the_environment(store_with_runs, monkeypatch, tmp_path):
    monkeypatch.setenv("GELULAB_STORE", str(store_with_runs))
    assert training_evidence("gelu_better_language")["verdict"] in VERDICTS
    monkeypatch.delenv("GELULAB_STORE")
    monkeypatch.chdir(tmp_path)
    assert training_evidence("gelu_better_language") is None


def test_the_evidence_names_the_stored_runs_it_came_from(store_with_runs):
    from gelulab.experiments.store import RunStore

    ev = training_evidence("gelu_better_language", store_with_runs)
    with RunStore(store_with_runs, readonly=True) as store:
        n = store.count()
    assert ev["source"].startswith(f"{n} stored runs in {store_with_runs}")


def test_runs_written_by_another_gelulab_version_are_flagged(store_path):
    from gelulab import __version__

    spec = DEFAULT_SWEEP[0]

    def add(store, activation, seed, loss, version):
        config = make_config(spec.task, activation, **spec.overrides)
        store.add(RunRecord(config_hash=config_hash(config), experiment_hash=experiment_hash(config), seed=seed,
                            task=spec.task, activation=activation, config=config, metrics=_lm(loss, 0.1), n_params=1,
                            versions={"gelulab": version}))

    with RunStore(store_path) as store:
        for s in range(4):
            add(store, "relu", s, 2.0 + 0.1 * s, __version__)
            add(store, "gelu", s, 1.9 + 0.1 * s + 0.001 * (-1) ** s, __version__)
    assert "flagged" not in training_evidence("gelu_better_language", store_path)["source"]
    with RunStore(store_path) as store:  # one more run, written by an older version
        add(store, "gelu", 9, 1.95, "0.0.1")
    assert "flagged: 1 written by gelulab 0.0.1" in training_evidence("gelu_better_language", store_path)["source"]


def test_training_verdicts_judge_every_comparison_once_per_state_of_the_store(store_with_runs, monkeypatch):
    from gelulab.claims import training

    training._VERDICTS.clear()
    judged = []
    real = training.judge
    monkeypatch.setattr(training, "judge", lambda c, s: judged.append(c) or real(c, s))
    first = training.training_verdicts(store_with_runs)
    assert len(judged) == len(training.COMPARISONS)
    again = {k: training.training_evidence(k, store_with_runs) for k in first}
    assert len(judged) == len(training.COMPARISONS)  # not judged again
    assert again == first
    os.utime(store_with_runs, ns=(1, 1))  # the file changed (a run was added, say): judged anew
    assert training.training_verdicts(store_with_runs) == first
    assert len(judged) == 2 * len(training.COMPARISONS)
