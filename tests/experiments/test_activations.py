from __future__ import annotations

import numpy as np
import pytest
import torch

import gelulab as gl
from gelulab.experiments.activations import GATED, activation_module, canonical_activation, torch_function


@pytest.mark.parametrize("impl", ["torch", "gelulab"])
@pytest.mark.parametrize("name", ["relu", "gelu", "gelu_tanh", "silu", "quick_gelu", "relu2"])
def test_modules_compute_the_registry_function(name, impl):
    x = torch.linspace(-5, 5, 201, dtype=torch.float32)
    got = activation_module(name, impl)(x).double().numpy()
    expected = gl.get(name).evaluate(x.double().numpy(), 0)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("impl", ["torch", "gelulab"])
@pytest.mark.parametrize("gated", sorted(GATED))
def test_gated_units_halve_the_last_dim_and_multiply(gated, impl):
    a, b = torch.randn(3, 5), torch.randn(3, 5)
    got = activation_module(gated, impl)(torch.cat([a, b], dim=-1))
    base = gl.get(GATED[gated]).evaluate(a.double().numpy(), 0)
    np.testing.assert_allclose(got.double().numpy(), base * b.double().numpy(), rtol=1e-5, atol=1e-6)


def test_torch_function_rejects_a_pytorch_op_whose_definition_differs():
    # PyTorch has F.gelu and F.silu, but nothing under the registry names of the sigmoid-GELU or
    # squared ReLU: those must come from gelulab's own ops
    assert torch_function("gelu") is not None
    assert torch_function("quick_gelu") is None
    assert torch_function("relu2") is None


def test_aliases_resolve_and_unknown_names_fail():
    assert canonical_activation("gelu_new") == "gelu_tanh"
    assert canonical_activation("SwiGLU") == "swiglu"
    with pytest.raises(gl.functions.UnknownActivationError):
        canonical_activation("gleu")
    with pytest.raises(ValueError, match="implementation"):
        activation_module("gelu", "cuda-magic")
