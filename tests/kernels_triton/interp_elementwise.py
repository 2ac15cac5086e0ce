"""Elementwise Triton kernels (interpreted) against the NumPy reference and the CPU ops, bit for bit."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import torch
from interp_guard import require_interpreter
from triton_inputs import NP_DTYPES, all_16bit, assert_bitwise, float32_hard_regions, from_numpy, to_numpy

import gelulab as gl
from gelulab import reference as reference_module
from gelulab.accuracy.hard_cases import load_hard_cases
from gelulab.kernels import triton as gk
from gelulab.kernels.cpu import reference_path
from gelulab.torch import ops

require_interpreter()

DTYPES = (torch.float32, torch.float16, torch.bfloat16)


def reference(name: str, x: torch.Tensor, order: int) -> np.ndarray:
    return gl.get(name).evaluate(to_numpy(x), order)


def reference_backward(name: str, g: torch.Tensor, x: torch.Tensor) -> np.ndarray:
    return reference_path.derivative_times(name, to_numpy(g), to_numpy(x), 1)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
@pytest.mark.parametrize("name", gk.NAMES)
def test_every_16bit_input_matches_the_correctly_rounded_reference(name, dtype):
    x = all_16bit(dtype)
    assert_bitwise(gk.forward(name, x), reference(name, x, 0), x)
    assert_bitwise(gk.derivative_times(name, torch.ones_like(x), x), reference(name, x, 1), x)


@pytest.mark.parametrize("name", gk.NAMES)
def test_float32_hard_regions_match_reference_and_cpu_ops(name):
    x = float32_hard_regions()
    y = gk.forward(name, x)
    assert_bitwise(y, reference(name, x, 0), x)
    assert_bitwise(y, ops.activation_op(name)(x), x)
    g = torch.from_numpy(np.random.default_rng(1).normal(0, 3, x.numel()).astype(np.float32))
    d = gk.derivative_times(name, g, x)
    assert_bitwise(d, reference_backward(name, g, x), x)
    assert_bitwise(d, ops.activation_backward_op(name)(g, x, 1), x)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_backward_with_random_gradients_matches_cpu_op(dtype):
    rng = np.random.default_rng(2)
    x = torch.from_numpy(rng.normal(0, 3, 4000).astype(np.float32)).to(dtype)
    g = torch.from_numpy(rng.normal(0, 1, 4000).astype(np.float32)).to(dtype)
    for name in gk.NAMES:
        assert_bitwise(gk.derivative_times(name, g, x), ops.activation_backward_op(name)(g, x, 1), x)


def test_checked_in_hard_cases():
    cases = [c for c in load_hard_cases() if c.function in gk.NAMES and c.order in (0, 1)
             and c.dtype in ("float32", "float16", "bfloat16")]
    assert cases, "the hard-case list has no entry for the Triton activations"
    for c in cases:
        # against the mpmath oracle alone, not another gelulab path
        want = reference_module.round_to_format(reference_module.evaluate(c.function, c.x, c.order), c.dtype)
        x = from_numpy(np.array([c.x]).astype(NP_DTYPES[getattr(torch, c.dtype)]))
        got = gk.forward(c.function, x) if c.order == 0 else gk.derivative_times(c.function, torch.ones_like(x), x)
        got = float(got.double()[0])
        assert got == want or (got != got and want != want), (c, got.hex(), want.hex())
        if c.order == 0:  # the gated product f(a) * 3 rounds once too
            with mpmath.workprec(512):
                want3 = reference_module.round_to_format(reference_module.evaluate(c.function, c.x, 0) * 3, c.dtype)
            ab = torch.stack([x, torch.full_like(x, 3.0)], dim=-1)
            got3 = float(gk.gated_forward(c.function, ab).double().reshape(-1)[0])
            assert got3 == want3 or (got3 != got3 and want3 != want3), (c, got3.hex(), want3.hex())


def test_hard_roundings_go_to_the_exact_path(monkeypatch):
    """Inputs flagged hard are recomputed by the CPU kernels; the result still matches."""
    from gelulab.kernels.triton import launch

    calls = []
    real = launch.cpu.forward
    monkeypatch.setattr(launch.cpu, "forward", lambda name, x: calls.append(x.size) or real(name, x))
    cases = [c for c in load_hard_cases() if c.function == "gelu" and c.order == 0 and c.dtype == "float32"]
    x = torch.tensor([c.x for c in cases] or [0.0], dtype=torch.float32)
    x = torch.cat([x, float32_hard_regions()])
    # |y| in the float32 subnormal range near an odd multiple of 2^-150 is always flagged
    x = torch.cat([x, torch.tensor([-13.0, -13.1, -13.2], dtype=torch.float32)])
    assert_bitwise(gk.forward("gelu", x), reference("gelu", x, 0), x)
    assert calls, "no element was sent to the exact path"


def test_more_hard_elements_than_slots_runs_again(monkeypatch):
    from gelulab.kernels.triton import launch

    real = launch._HardList.__init__

    def tiny_capacity(self, device, n, capacity=None):
        real(self, device, n, 1 if capacity is None else capacity)

    monkeypatch.setattr(launch._HardList, "__init__", tiny_capacity)
    x = float32_hard_regions(seed=3)
    assert_bitwise(gk.forward("silu", x), reference("silu", x, 0), x)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_strided_inputs_give_the_contiguous_result(dtype):
    rng = np.random.default_rng(4)
    base = torch.from_numpy(rng.normal(0, 3, (12, 20)).astype(np.float32)).to(dtype)
    grad = torch.from_numpy(rng.normal(0, 1, (12, 20)).astype(np.float32)).to(dtype)
    views = {
        "transposed": base.t(),
        "every other column": base[:, ::2],
        "column slice": base[2:9, 3:17],
        "3-d, dims that do not merge": base.reshape(3, 4, 20).permute(2, 0, 1)[::3],
    }
    for what, v in views.items():
        assert not v.is_contiguous(), what
        for name in ("gelu", "silu"):
            assert_bitwise(gk.forward(name, v), gk.forward(name, v.contiguous()), v)
        g = grad.reshape(-1)[: v.numel()].reshape(v.shape)
        assert_bitwise(gk.derivative_times("gelu_tanh", g, v), gk.derivative_times("gelu_tanh", g, v.contiguous()))
    row = grad[0]
    expanded = row.expand(12, 20)  # stride 0: one gradient row for every row
    assert_bitwise(gk.derivative_times("gelu", expanded, base),
                   gk.derivative_times("gelu", expanded.contiguous(), base))


@pytest.mark.parametrize("shape", [(0,), (3, 0), (0, 5), ()])
def test_empty_and_zero_dim_inputs(shape):
    x = torch.full(shape, -0.75, dtype=torch.bfloat16)
    y = gk.forward("gelu", x)
    assert y.shape == x.shape and y.dtype == x.dtype
    assert_bitwise(y, ops.activation_op("gelu")(x))
    assert_bitwise(gk.derivative_times("gelu", torch.ones_like(x), x), ops.activation_backward_op("gelu")(
        torch.ones_like(x), x, 1))


def test_no_kernel_for_float64_or_other_activations_says_so():
    with pytest.raises(ValueError, match="no kernel for 'gelu' in torch.float64"):
        gk.forward("gelu", torch.zeros(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="no kernel for 'mish'"):
        gk.forward("mish", torch.zeros(3))
    assert gk.supports("gelu_new", torch.bfloat16) and not gk.supports("elu", torch.float32)
