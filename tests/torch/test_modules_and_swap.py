"""Modules mirroring torch.nn, activation_module for every name, and swap_activations on real models."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import gelulab as gl
import gelulab.torch as gt
from conftest import NAMES
from gelulab.functions import UnknownActivationError


@pytest.mark.parametrize(("ours", "theirs"), [
    (gt.GELU(), nn.GELU()), (gt.GELU("tanh"), nn.GELU(approximate="tanh")), (gt.ReLU(), nn.ReLU()),
    (gt.ReLU6(), nn.ReLU6()), (gt.LeakyReLU(), nn.LeakyReLU()), (gt.ELU(), nn.ELU()), (gt.SELU(), nn.SELU()),
    (gt.Softplus(), nn.Softplus()), (gt.SiLU(), nn.SiLU()), (gt.Mish(), nn.Mish()), (gt.Hardswish(), nn.Hardswish()),
])
def test_modules_mirror_torch_nn(ours, theirs):
    x = torch.linspace(-6, 6, 101)
    torch.testing.assert_close(ours(x), theirs(x), rtol=1e-6, atol=4e-6)


def test_module_arguments_gelulab_does_not_take_are_refused_in_one_line():
    with pytest.raises(ValueError, match="alpha must be nonzero"):
        gt.CELU(alpha=0.0)
    with pytest.raises(ValueError, match="beta must be positive"):
        gt.Softplus(beta=-1.0)
    with pytest.raises(ValueError, match="negative_slope must be finite"):
        gt.LeakyReLU(float("inf"))
    with pytest.raises(ValueError, match="approximate"):
        gt.GELU("erf")


def test_activation_module_for_every_name_and_alias():
    x = torch.linspace(-3, 3, 13, dtype=torch.float64)
    for name in NAMES:
        spec = gl.get(name)
        for key in (name, *spec.aliases):
            module = gt.activation_module(key)
            assert isinstance(module, nn.Module) and module.name == name
            assert torch.equal(module(x), torch.from_numpy(spec.evaluate(x.numpy(), 0)))


def test_activation_module_for_gated_names():
    x = torch.randn(4, 10)
    for key, fn in (("geglu", gt.geglu), ("swiglu", gt.swiglu), ("reglu", gt.reglu), ("SwiGLU", gt.swiglu)):
        module = gt.activation_module(key)
        assert module(x).shape == (4, 5) and torch.equal(module(x), fn(x))
    assert isinstance(gt.activation_module("geglu"), gt.GEGLU)
    with pytest.raises(UnknownActivationError, match="Did you mean"):
        gt.activation_module("swigluu")


class _FunctionalBlock(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return F.gelu(self.fc(x))  # not reachable by a module swap


class _AttributeAct(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.act_fn = F.silu

    def forward(self, x):
        return self.act_fn(self.fc(x))


def _toy() -> nn.Module:
    return nn.Sequential(nn.Linear(4, 4), nn.GELU(), nn.Linear(4, 4), nn.ReLU(), nn.LeakyReLU(0.2), nn.Tanh(),
                         _FunctionalBlock(), _AttributeAct(), nn.Softplus())


def test_swap_keeps_the_function_and_reports_what_it_cannot_swap():
    model = _toy().eval()
    x = torch.randn(3, 4)
    before = model(x)
    report = gt.swap_activations(model)
    swapped = {s.path: (s.activation, s.after) for s in report.swapped}
    softplus = "softplus(beta=1.0, threshold=20.0)"  # torch's Softplus(): its threshold is part of the function
    leaky = "leaky_relu(negative_slope=0.2)"
    assert swapped == {"1": ("gelu", "gelu"), "3": ("relu", "relu"), "4": (leaky, leaky), "8": (softplus, softplus),
                       "7.act_fn": ("silu", "silu")}
    assert {n.path for n in report.not_swapped} == {"5"}  # Tanh
    assert [c.path for c in report.functional_calls] == ["6"] and "F.gelu" in report.functional_calls[0].reason
    assert not report.complete and "functional calls" in report.summary()
    assert isinstance(model[1], gt.Activation)
    torch.testing.assert_close(model(x), before, rtol=1e-5, atol=1e-6)


def test_swap_to_another_activation():
    model = _toy()
    report = gt.swap_activations(model, to="gelu_new")
    assert {s.after for s in report.swapped} == {"gelu_tanh"}
    x = torch.randn(2, 4)
    assert torch.equal(model[3](x), gt.gelu(x, approximate="tanh"))
    with pytest.raises(ValueError, match="gated"):
        gt.swap_activations(_toy(), to="swiglu")
    with pytest.raises(UnknownActivationError):
        gt.swap_activations(_toy(), to="gleu")


def test_swap_shared_module_is_replaced_everywhere():
    act = nn.SiLU()
    model = nn.Sequential(nn.Linear(2, 2), act, nn.Linear(2, 2), act)
    report = gt.swap_activations(model, to="relu")
    assert [s.path for s in report.swapped] == ["1", "3"]
    assert all(isinstance(m, gt.Activation) for m in (model[1], model[3]))


def test_hf_transformers_bert_swap_matches_within_dtype_tolerance():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    transformers = pytest.importorskip("transformers", reason="transformers is in the test extra; not installed here")
    config = transformers.BertConfig(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                     intermediate_size=64, hidden_act="gelu")
    torch.manual_seed(0)
    model = transformers.BertModel(config).eval()
    ids = torch.randint(0, 64, (2, 9))
    with torch.no_grad():
        before = model(ids).last_hidden_state
    report = gt.swap_activations(model)
    assert len(report.swapped) == 2 and all(s.before == "GELUActivation" for s in report.swapped)
    assert [n.what for n in report.not_swapped] == ["Tanh"]  # the pooler's tanh is not a registry activation
    with torch.no_grad():
        after = model(ids).last_hidden_state
    torch.testing.assert_close(after, before, rtol=1e-5, atol=1e-5)
    # and to another activation: outputs change, the model still runs
    gt.swap_activations(model, to="relu")
    with torch.no_grad():
        assert not torch.allclose(model(ids).last_hidden_state, before)


def _timm_activations():
    """timm's own activation classes, loaded from its installed source without importing timm.

    ``import timm`` needs torchvision, and the only torchvision wheel for this torch is a CUDA build
    whose operators do not load on a CPU-only torch, so timm (installed with --no-deps) can only
    be used this way here.
    """
    spec = importlib.util.find_spec("timm")
    if spec is None or spec.origin is None:
        reason = "timm is not installed (pip install --no-deps timm); its classes cannot be loaded"
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(f"{reason}; the README's test command installs it, and CI must run this test", pytrace=False)
        pytest.skip(reason)
    path = Path(spec.origin).parent / "layers" / "activations.py"
    module_spec = importlib.util.spec_from_file_location("timm.layers.activations", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def test_timm_activation_classes_are_swapped():
    acts = _timm_activations()
    model = nn.Sequential(nn.Linear(4, 4), acts.GELU(), nn.Linear(4, 4), acts.Swish(), acts.GELUTanh(),
                          acts.QuickGELU(), acts.HardSwish(), acts.Mish(), acts.Tanh())
    x = torch.randn(3, 4)
    with torch.no_grad():
        before = model(x)
    report = gt.swap_activations(model)
    assert [s.activation for s in report.swapped] == ["gelu", "silu", "gelu_tanh", "quick_gelu", "hardswish", "mish"]
    assert [n.what for n in report.not_swapped] == ["Tanh"]
    with torch.no_grad():
        torch.testing.assert_close(model(x), before, rtol=1e-5, atol=1e-5)


class _Block(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.up = torch.nn.Linear(8, 16)
        self.act = torch.nn.GELU(approximate="tanh")
        self.mid = torch.nn.Linear(16, 16)
        self.gate = torch.nn.SiLU()
        self.down = torch.nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.gate(self.mid(self.act(self.up(x))))
        return self.down(h[..., :8] * h[..., 8:])


def test_a_swapped_model_scripts_compiles_and_exports_with_the_same_results():
    torch.manual_seed(0)
    model = _Block()
    gt.swap_activations(model)
    gated = torch.nn.Sequential(torch.nn.Linear(8, 16), gt.SwiGLU(), torch.nn.Linear(8, 4))
    x = torch.randn(5, 8)
    for m in (model, gated):
        want = m(x)
        scripted = torch.jit.script(m)
        assert torch.equal(scripted(x), want)
        xg = x.clone().requires_grad_(True)
        scripted(xg).sum().backward()
        assert xg.grad is not None and torch.isfinite(xg.grad).all()
        assert torch.equal(torch.compile(m, fullgraph=True)(x), want)
        exported = torch.export.export(m, (x,))
        assert torch.equal(exported.module()(x), want)
