"""int8 after training: the graph holds ReLU fused and GELU / SiLU as float islands; storage; the verdict."""

from __future__ import annotations

import json

import pytest

from gelulab.cli import main
from gelulab.experiments import int8


@pytest.fixture(scope="module")
def quick_result() -> int8.Int8Result:
    return int8.run(int8.Int8Config(models=(("mnist1d", "mlp"),), steps=40, batches=(1, 8), repeats=2,
                                    calibration_batches=2), progress=False)


def test_relu_fuses_into_the_int8_layers_and_gelu_silu_leave_them(quick_result):
    rows = {r.activation: r for r in quick_result.rows}
    assert set(rows) == set(int8.ACTIVATIONS)
    assert rows["relu"].float_islands == 0 and rows["relu"].fused == 2  # fc1+relu, fc2+relu
    for name in ("gelu", "silu"):
        assert rows[name].float_islands == 2 and rows[name].fused == 0
    for r in rows.values():
        assert 0.0 <= r.int8_acc <= 1.0 and abs(r.int8_acc - r.fp32_acc) < 0.2  # quantization keeps the model
        assert set(r.int8_ms) == set(r.fp32_ms) == {"1", "8"} and min(r.int8_ms.values()) > 0


def test_the_quantized_model_computes_in_int8(quick_result):
    import torch

    from gelulab.experiments.vision_task import train_vision

    _, model, data = train_vision({"task": "mnist1d", "model": "mlp", "activation": "relu", "steps": 5}, 0)
    q, _, _ = int8.quantize(model, data.x_train, batches=1)
    kinds = {type(m).__module__ for m in q.modules()}
    assert any("quantized" in k for k in kinds)
    with torch.no_grad():
        assert q(torch.from_numpy(data.x_test[:4])).shape == (4, 10)


def test_a_stored_result_round_trips_and_another_machines_is_not_reused(quick_result, tmp_path, monkeypatch):
    path = int8.save(quick_result, tmp_path / "int8.json")
    again = int8.load(path)
    assert again is not None and again.rows == quick_result.rows
    data = json.loads(path.read_text())
    data["meta"]["cpu"] = "some other CPU"
    path.write_text(json.dumps(data))
    assert int8.load(path) is None
    path.write_text("{not json")
    assert int8.load(path) is None


def _row(label: str, act: str, ms: float, fp32: float = 0.9, q: float = 0.89) -> int8.Int8Row:
    task, model = label.split("/")
    return int8.Int8Row(task, model, act, fp32, q, 0 if act == "relu" else 2, 2 if act == "relu" else 0,
                        {"64": ms * 1.5}, {"64": ms})


def test_the_verdict_follows_the_int8_latencies_and_accuracy():
    fast = int8.Int8Result([_row("a/m", "relu", 1.0), _row("a/m", "gelu", 1.5), _row("a/m", "silu", 1.4)], {})
    assert int8.relu_small_int8(fast)["verdict"] == "holds"
    slow = int8.Int8Result([_row("a/m", "relu", 1.0), _row("a/m", "gelu", 1.01), _row("a/m", "silu", 0.9)], {})
    assert int8.relu_small_int8(slow)["verdict"] == "fails"  # within SAME_WITHIN of GELU, slower than SiLU
    lossy = int8.Int8Result([_row("a/m", "relu", 1.0, q=0.80), _row("a/m", "gelu", 1.5)], {})
    assert int8.relu_small_int8(lossy)["verdict"] == "fails"  # faster, but loses 10 points to int8
    mixed = int8.Int8Result(fast.rows + [_row("b/m", "relu", 2.0), _row("b/m", "gelu", 1.0)], {})
    assert int8.relu_small_int8(mixed)["verdict"] == "holds in part"
    assert int8.relu_small_int8(int8.Int8Result([], {}))["verdict"] == "cannot be settled here"


def test_cli_int8(capsys, tmp_path):
    assert main(["int8", "--models", "mnist1d/mlpp"]) == 2
    assert "did you mean 'mnist1d/mlp'" in capsys.readouterr().err
    assert main(["int8", "--batches", "0"]) == 2
    out = tmp_path / "i.json"
    assert main(["int8", "--models", "mnist1d/mlp", "--activations", "relu,gelu", "--steps", "5", "--batches", "1",
                 "--repeats", "1", "--out", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {r["activation"] for r in data["rows"]} == {"relu", "gelu"} and data["verdict"]["verdict"]
    assert int8.load(out) is not None


def test_the_language_model_is_quantized_dynamically_with_its_loss_before_and_after():
    result = int8.run(int8.Int8Config(models=(("lm", "gpt"),), activations=("relu", "gelu"), steps=8,
                                      lm_batches=(1, 4), repeats=1), progress=False)
    rows = {r.activation: r for r in result.rows}
    for r in rows.values():
        assert r.metric == "val_loss" and r.label == "lm/gpt"
        assert 0 < r.fp32_acc < 10 and abs(r.int8_acc - r.fp32_acc) < 0.5  # nats per character
        assert r.float_islands == 2 and r.fused == 0  # two blocks, each activation in float
        assert set(r.int8_ms) == {"1", "4"}
    table = int8.markdown_table(result)
    assert "nats/char" in table and "val loss" in table
    assert "lm/gpt (batch 4)" in int8.relu_small_int8(result)["summary"]
