"""Gated (GEGLU, ReGLU, SwiGLU, ...) and bias + activation Triton kernels against the CPU ops, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from interp_guard import require_interpreter
from triton_inputs import assert_bitwise

from gelulab.kernels import triton as gk
from gelulab.torch import ops

require_interpreter()

DTYPES = (torch.float32, torch.float16, torch.bfloat16)
SPECIALS = [0.0, -0.0, float("inf"), float("-inf"), float("nan"), 1e-40, -1e-40, -0.7518, -9.0, -30.0, 2.0**-70]


def _inputs(shape: tuple[int, ...], dtype: torch.dtype, seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 3, shape).astype(np.float32).reshape(-1)
    x[: len(SPECIALS) * 3: 3] = SPECIALS[: len(x[: len(SPECIALS) * 3: 3])]
    return torch.from_numpy(x.reshape(shape)).to(dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("name", gk.NAMES)
def test_gated_forward_and_backward_match_cpu_ops(name, dtype):
    for shape, seed in (((7, 64), 0), ((2, 3, 18), 1), ((1, 2), 2)):
        x = _inputs(shape, dtype, seed)
        g = _inputs((*shape[:-1], shape[-1] // 2), dtype, seed + 10)
        assert_bitwise(gk.gated_forward(name, x), ops.gated(x, name), x)
        assert_bitwise(gk.gated_backward(name, g, x), ops.gated_backward(g, x, name), x)


def test_tiny_gate_inputs_take_the_exact_path():
    """f(a) for 0 < |a| < 2^-60 is a nudged a/2; those products are always recomputed exactly."""
    a = torch.tensor([2.0**-100, -(2.0**-100), 3 * 2.0**-149, -(2.0**-149)], dtype=torch.float32)
    b = torch.tensor([2.0**-40, 3.0, 2.0**30, 1.0], dtype=torch.float32)
    x = torch.cat([a, b])[None, :]
    for name in ("gelu", "silu", "gelu_tanh"):
        assert_bitwise(gk.gated_forward(name, x), ops.gated(x, name), x)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_far_left_gates_with_huge_factors_take_the_exact_path(dtype):
    """f(a) * b and its gradients with a past the clamps and b near the format's largest value: the
    true products can be normal numbers (GELU(-18.69) * 3e38 = -1.75e-38), not -0.0."""
    big = 6e4 if dtype == torch.float16 else 3e38
    a = torch.tensor([-15.5, -18.6875, -30.0, -121.0, -200.0, float("-inf")], dtype=torch.float32)
    b = torch.tensor([big, -big, big, big, big / 2, big], dtype=torch.float32)
    x = torch.cat([a, b])[None, :].to(dtype)
    g = b[None, :].to(dtype)
    for name in ("gelu", "silu", "gelu_tanh"):
        assert_bitwise(gk.gated_forward(name, x), ops.gated(x, name), x)
        assert_bitwise(gk.gated_backward(name, g, x), ops.gated_backward(g, x, name), x)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_gated_strided_inputs_and_expanded_gradients(dtype):
    base = _inputs((12, 24), dtype, 3)
    g_row = _inputs((6,), dtype, 4)
    views = {"transposed": base.t()[:, :12], "every other row": base[::2, :12],
             "3-d": base.reshape(2, 6, 24)[:, 1:, :12]}
    for what, v in views.items():
        assert not v.is_contiguous(), what
        assert_bitwise(gk.gated_forward("silu", v), gk.gated_forward("silu", v.contiguous()))
        g = g_row.expand(*v.shape[:-1], v.shape[-1] // 2)
        assert_bitwise(gk.gated_backward("gelu", g, v), ops.gated_backward(g.contiguous(), v.contiguous(), "gelu"))


@pytest.mark.parametrize("shape", [(0, 8), (4, 0), (2, 0, 6)])
def test_gated_empty_inputs(shape):
    x = torch.zeros(shape, dtype=torch.float16)
    y = gk.gated_forward("gelu", x)
    assert y.shape == (*shape[:-1], shape[-1] // 2) and y.dtype == x.dtype
    assert gk.gated_backward("gelu", torch.zeros(y.shape, dtype=x.dtype), x).shape == x.shape


def test_gated_odd_last_dimension_is_refused_in_one_line():
    with pytest.raises(ValueError, match="last dimension must be even"):
        gk.gated_forward("silu", torch.zeros(3, 5))


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("name", ["gelu", "gelu_tanh", "quick_gelu", "relu"])
def test_bias_forward_and_backward_match_the_unfused_cpu_ops(name, dtype):
    x = _inputs((9, 40), dtype, 5)
    bias = _inputs((40,), dtype, 6)
    g = _inputs((9, 40), dtype, 7)
    assert_bitwise(gk.bias_forward(name, x, bias), ops.bias_act(x, bias, name), x)
    s = x + bias  # the sum as torch rounds it; the fused kernel must round it the same way
    assert_bitwise(gk.bias_derivative_times(name, g, x, bias), ops.activation_backward_op(name)(g, s, 1), x)
    xt = x.t().contiguous().t()  # strided input, bias still along the last dimension
    assert_bitwise(gk.bias_forward(name, xt, bias), ops.bias_act(x, bias, name), x)


def test_bias_sum_rounds_like_torch_where_it_is_inexact():
    x = torch.tensor([[1.0, 1000.0, -3.0e4]], dtype=torch.bfloat16)
    bias = torch.tensor([2.0**-9, 3.0, 1.0 / 3.0], dtype=torch.bfloat16)
    assert_bitwise(gk.bias_forward("gelu", x, bias), ops.bias_act(x, bias, "gelu"), x)


def test_bias_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError, match="bias must be 1-d of length x.shape"):
        gk.bias_forward("gelu", torch.zeros(2, 3), torch.zeros(4))
