"""The CUDA implementations registered for the gelulab.torch ops, run on CPU tensors under the interpreter."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from interp_guard import require_interpreter
from triton_inputs import assert_bitwise

from gelulab.torch import cuda_kernels, ops

require_interpreter()


@pytest.fixture
def x() -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(0).normal(0, 3, (6, 16)).astype(np.float32))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float64], ids=str)
@pytest.mark.parametrize("name", ["gelu", "gelu_tanh", "quick_gelu", "silu", "relu", "mish"])
def test_cuda_activation_kernels_equal_the_cpu_ops(x, name, dtype):
    x = x.to(dtype)
    g = torch.ones_like(x) * 0.75
    assert cuda_kernels.uses_triton(name, dtype) == (dtype != torch.float64 and name != "mish")
    fwd, bwd, _ = ops.ACTIVATION_OPS[name]
    assert_bitwise(cuda_kernels.activation_forward(name)(x), fwd(x), x) if dtype != torch.float64 else None
    if dtype == torch.float64:  # no Triton kernel: the CPU fallback, same values
        assert torch.equal(cuda_kernels.activation_forward(name)(x), fwd(x))
        return
    for order in (1, 2):  # order 2 has no Triton kernel: CPU fallback
        assert_bitwise(cuda_kernels.activation_backward(name)(g, x, order), bwd(g, x, order), x)
    out = torch.empty_like(x)
    cuda_kernels.activation_out(name)(x, out)
    assert_bitwise(out, fwd(x), x)


@pytest.mark.parametrize("activation", ["gelu", "gelu_tanh", "silu", "relu"])
def test_cuda_gated_and_bias_kernels_equal_the_cpu_ops(x, activation):
    xb = x.to(torch.float16)
    g = torch.full((6, 8), -1.5, dtype=torch.float16)
    assert_bitwise(cuda_kernels.gated(xb, activation), ops.gated(xb, activation))
    assert_bitwise(cuda_kernels.gated_backward(g, xb, activation), ops.gated_backward(g, xb, activation))
    bias = xb[0].clone()
    assert_bitwise(cuda_kernels.bias_act(xb, bias, activation), ops.bias_act(xb, bias, activation))


def test_scalar_gradient_is_broadcast_like_the_cpu_op(x):
    g = torch.tensor(2.0)
    assert_bitwise(cuda_kernels.activation_backward("gelu")(g, x, 1),
                   ops.ACTIVATION_OPS["gelu"][1](g.expand(x.shape).contiguous(), x, 1))
