from __future__ import annotations

import json
import shlex

import numpy as np
import pytest

from gelulab.cli import main
from gelulab.experiments.defaults import QUICK_SWEEP
from gelulab.experiments.store import RunStore


def _json(capsys, argv: list[str]) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_train_stores_a_run_and_does_not_retrain_it(capsys, store_path):
    argv = ["train", "--task", "digits", "--activation", "gelu_new", "--seed", "2", "--steps", "6",
            "--store", str(store_path), "--json"]
    first = _json(capsys, argv)
    assert first["stored"] is True and first["activation"] == "gelu_tanh" and first["seed"] == 2
    assert 0.0 <= first["metrics"]["test_acc"] <= 1.0
    second = _json(capsys, argv)
    assert second["stored"] is False and second["metrics"] == first["metrics"]
    with RunStore(store_path, readonly=True) as store:
        assert store.count() == 1


def test_sweep_then_results_report_mean_ci_and_paired_p_from_the_stored_runs(capsys, store_path, tmp_path):
    summary = _json(capsys, ["sweep", "--task", "mnist1d", "--model", "mlp", "--activations", "relu,silu",
                             "--seeds", "3", "--steps", "10", "--store", str(store_path), "--json"])
    assert summary["finished"] == 6 and summary["failed"] == []
    plot = tmp_path / "curves.png"
    out = _json(capsys, ["results", "--store", str(store_path), "--json", "--plot", str(plot)])
    (exp,) = out["summaries"]
    assert exp["label"] == "mnist1d/mlp" and exp["baseline"] == "relu"
    silu = next(a for a in exp["activations"] if a["activation"] == "silu")
    with RunStore(store_path, readonly=True) as store:
        runs = store.runs()
    acc = {(r.activation, r.seed): r.metrics["test_acc"] for r in runs}
    values = [acc["silu", s] for s in range(3)]
    assert silu["metrics"]["test_acc"]["mean"] == pytest.approx(np.mean(values))
    diffs = [acc["silu", s] - acc["relu", s] for s in range(3)]
    assert silu["vs_baseline"]["test_acc"]["difference"]["mean"] == pytest.approx(np.mean(diffs))
    assert 0.0 <= silu["vs_baseline"]["test_acc"]["p_value"] <= 1.0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    main(["results", "--store", str(store_path)])
    assert "mnist1d/mlp" in capsys.readouterr().out


def test_quick_sweep_commands_resume_what_the_library_stored(capsys, store_path):
    """The command lines printed in the report reproduce the same runs (same config hashes)."""
    spec = QUICK_SWEEP[0]
    from gelulab.experiments.sweep import run_sweep

    run_sweep(spec.plan()[:2], store_path, show_progress=False)
    argv = shlex.split(spec.command(store=str(store_path), workers=1))[1:] + ["--json", "--seeds", "1"]
    out = _json(capsys, argv)
    assert out["skipped"] == 2 and out["finished"] == len(spec.activations) - 2


@pytest.mark.parametrize(("argv", "message"), [
    (["train", "--task", "cifar", "--activation", "relu"], "train takes one task"),
    (["train", "--task", "lm", "--activation", "gleu"], "gelu"),
    (["sweep", "--task", "vision", "--activations", "relu,geglu"], "needs a transformer FFN"),
    (["sweep", "--task", "lm", "--address", "127.0.0.1:1"], "--address needs --ray"),
    (["sweep", "--task", "lm", "--seeds", "0"], "at least 1"),
    (["train", "--task", "lm", "--activation", "relu", "--set", "n_layer"], "KEY=VALUE"),
    (["results", "--task", "lm"], "gelulab sweep"),
])
def test_bad_input_exits_2_with_one_line(capsys, store_path, argv, message):
    assert main([*argv, "--store", str(store_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err


def test_corrupt_store_exits_2_and_is_not_overwritten(capsys, tmp_path):
    path = tmp_path / "results.sqlite"
    path.write_bytes(b"\x00garbage" * 64)
    assert main(["train", "--task", "digits", "--activation", "relu", "--steps", "2", "--store", str(path)]) == 2
    assert "not a gelulab results store" in capsys.readouterr().err
    assert path.read_bytes() == b"\x00garbage" * 64


def test_ray_missing_is_one_actionable_line(capsys, store_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # makes 'import ray' fail as if it were not installed
    argv = ["sweep", "--task", "digits", "--activations", "relu", "--seeds", "1", "--steps", "2", "--ray",
            "--no-progress", "--store", str(store_path)]
    assert main(argv) == 2
    assert "pip install 'gelulab[ray]'" in capsys.readouterr().err
