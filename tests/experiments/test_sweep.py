from __future__ import annotations

import pytest

from gelulab.experiments import tasks
from gelulab.experiments.store import RunStore
from gelulab.experiments.sweep import plan_sweep, run_sweep
from gelulab.experiments.tasks import execute_run, make_config


def test_same_seed_gives_the_same_data_order_for_every_activation_and_the_same_result_twice(tiny_lm):
    runs = {act: execute_run(make_config("lm", act, **tiny_lm), seed=3) for act in ("relu", "gelu", "swiglu")}
    assert len({r.extra["data_order_sha256"] for r in runs.values()}) == 1
    other_seed = execute_run(make_config("lm", "relu", **tiny_lm), seed=4)
    assert other_seed.extra["data_order_sha256"] != runs["relu"].extra["data_order_sha256"]
    again = execute_run(make_config("lm", "relu", **tiny_lm), seed=3)
    assert again.metrics == runs["relu"].metrics
    assert runs["relu"].metrics != runs["gelu"].metrics


def test_lm_run_records_metrics_curves_and_equal_parameter_counts(tiny_lm):
    plain = execute_run(make_config("lm", "gelu", **tiny_lm), seed=0)
    gated = execute_run(make_config("lm", "geglu", **tiny_lm), seed=0)
    assert plain.n_params == gated.n_params and plain.extra["ffn_params"] == gated.extra["ffn_params"]
    assert gated.extra["ffn_width"] == 2 * tiny_lm["d_ff"] // 3
    assert [s for s, _ in plain.curves["val_loss"]] == [3, 6]
    assert plain.metrics["val_bits_per_char"] == pytest.approx(plain.metrics["val_loss"] / 0.6931471805599453)
    assert {"torch", "numpy", "gelulab", "python"} <= set(plain.versions)


def test_config_hash_separates_settings_and_activation_but_not_aliases():
    a = make_config("digits", "gelu", steps=10)
    assert tasks.config_hash(a) == tasks.config_hash(make_config("digits", "GELU", steps=10))
    assert tasks.config_hash(a) != tasks.config_hash(make_config("digits", "gelu", steps=11))
    assert tasks.experiment_hash(a) == tasks.experiment_hash(make_config("digits", "relu", steps=10))


@pytest.mark.parametrize(("task", "act", "settings", "message"), [
    ("vision2", "relu", {}, "unknown task"),
    ("digits", "geglu", {}, "needs a transformer FFN"),
    ("digits", "relu", {"n_layer": 3}, "has no setting n_layer"),
    ("mnist1d", "relu", {"model": "resnet"}, "models are mlp, cnn"),
    ("lm", "relu", {"steps": 0}, "must be positive"),
    ("lm", "relu", {"impl": "cuda"}, "impl must be one of"),
])
def test_bad_settings_are_refused_before_training(task, act, settings, message):
    with pytest.raises(ValueError, match=message):
        make_config(task, act, **settings)


def test_sweep_stores_every_run_once_and_a_rerun_trains_nothing(store_path, tiny_vision):
    plan = plan_sweep(["digits", "mnist1d"], ["relu", "silu"], range(2), tiny_vision)
    first = run_sweep(plan, store_path, show_progress=False)
    assert (first.planned, first.finished, first.skipped, first.failed) == (8, 8, 0, [])
    second = run_sweep(plan, store_path, show_progress=False)
    assert (second.finished, second.skipped) == (0, 8)
    with RunStore(store_path, readonly=True) as store:
        runs = store.runs()
    assert len(runs) == 8 and len({(r.config_hash, r.seed) for r in runs}) == 8
    assert {r.seed for r in runs} == {0, 1}


def test_a_failing_run_is_reported_and_the_others_are_stored(store_path, monkeypatch, tiny_vision):
    real = tasks.TASKS["digits"]

    def flaky(config, seed, on_step=None):
        if config["activation"] == "silu" and seed == 1:
            raise FloatingPointError("training loss became nan at step 3")
        return real.runner(config, seed, on_step=on_step)

    monkeypatch.setitem(tasks.TASKS, "digits", tasks.TaskSpec(**{**real.__dict__, "runner": flaky}))
    summary = run_sweep(plan_sweep(["digits"], ["relu", "silu"], range(2), tiny_vision), store_path,
                        show_progress=False)
    assert summary.finished == 3
    assert summary.failed == [("digits silu seed 1", "FloatingPointError: training loss became nan at step 3")]


def test_gelulab_ops_train_like_pytorch_ops(tiny_lm):
    """impl=gelulab (correctly rounded custom ops, their own backward) follows the PyTorch-op run closely."""
    for act in ("gelu", "swiglu"):
        ours = execute_run(make_config("lm", act, impl="gelulab", **tiny_lm), seed=1)
        torch_ops = execute_run(make_config("lm", act, impl="torch", **tiny_lm), seed=1)
        assert ours.config_hash != torch_ops.config_hash
        assert abs(ours.metrics["val_loss"] - torch_ops.metrics["val_loss"]) < 1e-3
