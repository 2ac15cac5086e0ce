"""Whole-network inference (gelulab inference): the variants hold the activation they are named for and
compute with the same weights, the timing gives ratios to ReLU's and a profiled share, a stored
measurement is resumed and never overwritten by another machine's, the verdicts follow the ratios,
and the verb's bad input is one line. Few-layer configs keep it to seconds."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from gelulab.bench import models
from gelulab.cli import main
from gelulab.torch.swap import recognise


def _config(**kw) -> models.ModelBenchConfig:
    base = {"models": ["ResNet-50"], "batches": [1], "modes": ["eager"], "activations": ["relu", "gelu"],
            "gelulab": True, "repeats": 2, "small": True, "threads": 1}
    return models.ModelBenchConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def resnet_variants():
    return models.build_variants(models.MODELS["ResNet-50"], _config())


def _activations(model: nn.Module) -> list[tuple[str, str]]:
    return [(type(m).__module__, recognise(m)[0]) for _, m in model.named_modules() if recognise(m)[0]]


def test_each_variant_holds_only_the_activation_it_is_named_for(resnet_variants):
    own = _activations(resnet_variants["own"]["model"])
    assert own and {a for _, a in own} == {"relu"}  # ResNet's own activation
    for key in ("torch relu", "torch gelu", "gelulab relu", "gelulab gelu"):
        v = resnet_variants[key]
        found = _activations(v["model"])
        assert v["swapped"] == len(own) == len(found)
        assert {a for _, a in found} == {v["activation"]}
        assert all(mod.startswith("gelulab") == (v["implementation"] == "gelulab") for mod, _ in found)


def test_variants_share_the_weights_so_only_the_activation_differs(resnet_variants):
    x = models.MODELS["ResNet-50"].inputs(2, True)
    with torch.inference_mode():
        own = resnet_variants["own"]["model"](**x).logits
        relu = resnet_variants["torch relu"]["model"](**x).logits
        ours = resnet_variants["gelulab gelu"]["model"](**x).logits
        theirs = resnet_variants["torch gelu"]["model"](**x).logits
    assert torch.equal(own, relu)  # nn.ReLU for transformers' ReLU: the same network
    assert not torch.allclose(relu, theirs)
    assert torch.allclose(ours, theirs, rtol=1e-4, atol=1e-5)  # gelulab's GELU vs torch's, same weights


def test_a_group_times_every_variant_against_relu_and_profiles_the_share(resnet_variants):
    g = models.measure_group(models.MODELS["ResNet-50"], resnet_variants, 1, "eager", _config())
    rows = {r["variant"]: r for r in g["rows"]}
    assert set(rows) == set(resnet_variants)
    assert rows["torch relu"]["vs_relu"] == 1.0
    for r in rows.values():
        assert 0 < r["min_ms"] <= r["median_ms"] <= r["max_ms"]
        assert 0 < r["activation_share"] < 1
    # the compiled mode times torch's variants only (gelulab's ops are timed eager)
    assert all(r["implementation"] == "torch" for r in
               models.measure_group(models.MODELS["ResNet-50"], {k: v for k, v in resnet_variants.items()
                                                                 if k == "torch relu"}, 1, "compile",
                                    _config(repeats=1))["rows"])


def test_a_training_step_runs_backward_through_every_variant_and_leaves_them_for_inference(resnet_variants):
    g = models.measure_group(models.MODELS["ResNet-50"], resnet_variants, 1, "train", _config(repeats=1))
    rows = {r["variant"]: r for r in g["rows"]}
    assert g["mode"] == "train" and set(rows) == set(resnet_variants)  # gelulab's ops too: eager
    assert all("activation_share" not in r for r in rows.values())
    assert all(not v["model"].training for v in resnet_variants.values())

    def grad(key):  # the first convolution's gradient after the step: it flows through every activation
        return next(p.grad for p in resnet_variants[key]["model"].parameters() if p.grad is not None)

    ours, theirs, relu = grad("gelulab gelu"), grad("torch gelu"), grad("torch relu")
    assert (ours - theirs).norm() <= 1e-3 * theirs.norm()  # the same step, up to torch's GELU's roundings
    assert (relu - theirs).norm() > 0.1 * theirs.norm()


def test_training_groups_are_not_counted_as_inference():
    def group(mode, gelu):
        rows = [{"variant": "torch relu", "activation": "relu", "implementation": "torch", "vs_relu": 1.0},
                {"variant": "torch gelu", "activation": "gelu", "implementation": "torch", "vs_relu": gelu}]
        return {"model": "ResNet-50", "family": "vision", "batch": 1, "mode": mode, "rows": rows}

    verdict = models.relu_faster_inference({"groups": [group("eager", 1.2), group("train", 0.9)]})
    assert verdict["verdict"] == "holds" and len(verdict["numbers"]["parts"]) == 1


def test_a_stored_measurement_is_resumed_group_by_group(tmp_path, monkeypatch):
    calls = []
    real = models.measure_group

    def counting(spec, variants, batch, mode, config):
        calls.append((spec.label, batch, mode))
        return real(spec, variants, batch, mode, config)

    monkeypatch.setattr(models, "measure_group", counting)
    path = tmp_path / "models.json"
    models.run(_config(gelulab=False, activations=["relu"]), path, progress=False)
    first = json.loads(path.read_text())
    data = models.run(_config(gelulab=False, activations=["relu"], batches=[1, 2]), path, progress=False)
    assert calls == [("ResNet-50", 1, "eager"), ("ResNet-50", 2, "eager")]
    assert data["groups"][0] == first["groups"][0]
    assert [g["batch"] for g in json.loads(path.read_text())["groups"]] == [1, 2]


def test_another_machines_measurement_is_not_overwritten(tmp_path):
    path = tmp_path / "models.json"
    models.run(_config(gelulab=False, activations=["relu"]), path, progress=False)
    data = json.loads(path.read_text())
    data["machine"]["cpu"] = "Some Other CPU"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="Some Other CPU.*--fresh"):
        models.run(_config(gelulab=False, activations=["relu"]), path, progress=False)
    assert json.loads(path.read_text())["machine"]["cpu"] == "Some Other CPU"


def _data(ratios: dict[str, float], family: str = "vision") -> dict:
    rows = [{"variant": "torch relu", "activation": "relu", "implementation": "torch", "median_ms": 1.0,
             "vs_relu": 1.0, "activation_share": 0.05}]
    rows += [{"variant": f"torch {a}", "activation": a, "implementation": "torch", "median_ms": r, "vs_relu": r,
              "activation_share": 0.1} for a, r in ratios.items()]
    return {"groups": [{"model": "M", "family": family, "batch": 1, "mode": "eager", "rows": rows}],
            "machine": {"cpu": "c", "threads": 1, "torch": "t"}}


@pytest.mark.parametrize("gelu, silu, cost, faster", [
    (1.2, 1.1, "holds", "holds"),
    (1.0, 0.99, "fails", "fails"),
    (2.5, 1.0, "holds in part", "holds in part"),
])
def test_verdicts_follow_the_measured_ratios(gelu, silu, cost, faster):
    d = _data({"gelu": gelu, "silu": silu})
    assert models.cost_on_real_models(d)["verdict"] == cost
    assert models.relu_faster_inference(d)["verdict"] == faster
    assert models.relu_faster_inference(_data({"gelu": 1.5}, "text"))["verdict"] == "cannot be settled here"


def test_table_and_plot(tmp_path, resnet_variants):
    g = models.measure_group(models.MODELS["ResNet-50"], resnet_variants, 1, "eager", _config())
    data = {"groups": [{**g, "measured_at": "2026-01-01T00:00:00Z"}], "machine": models.machine(), "small": True}
    header, rows = models.table_rows(data)
    assert header[0] == "model" and rows[0][:3] == ["ResNet-50", "1", "eager"]
    assert "[relu]" in rows[0][3]
    assert models.plot(data, tmp_path / "p.png").stat().st_size > 1000


@pytest.mark.parametrize("argv, message", [
    (["--models", "resnet"], "--models: unknown 'resnet'"),
    (["--activations", "tanh"], "--activations: unknown 'tanh'"),
    (["--batches", "1,x"], "bad --batches"),
    (["--repeats", "0"], "--repeats must be at least 1"),
])
def test_bad_input_is_one_line(capsys, argv, message):
    assert main(["inference", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_quick_json_is_strict_and_stores_nothing(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["inference", "--quick", "--models", "ViT-S/16", "--threads", "1", "--json",
                 "--plot", str(tmp_path / "p.png")]) == 0
    data = json.loads(capsys.readouterr().out, parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"))
    assert data["stored"] is None and data["small"] is True
    assert [g["model"] for g in data["groups"]] == ["ViT-S/16"]
    assert not (tmp_path / "results").exists()
