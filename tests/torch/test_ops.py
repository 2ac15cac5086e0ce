"""The custom ops: registration (opcheck), gradients, agreement with eager PyTorch and with the reference."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
import torch
from torch.library import opcheck

import gelulab as gl
import gelulab.torch as gt
from conftest import DTYPES, EAGER, NAMES, away_from_kinks
from gelulab.torch import ops


def test_eager_table_covers_the_registry():
    assert set(EAGER) == set(NAMES)
    assert set(ops.ACTIVATION_OPS) == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_opcheck_every_activation_op(name):
    fwd, bwd, out = ops.ACTIVATION_OPS[name]
    for dtype in (torch.float64, torch.float32):
        x = away_from_kinks(torch.randn(3, 5, dtype=dtype), name).requires_grad_()
        opcheck(fwd, (x,))
        opcheck(bwd, (torch.randn(3, 5, dtype=dtype), x.detach(), 1))
        opcheck(out, (x.detach(), torch.empty(3, 5, dtype=dtype)))


def test_opcheck_gated_and_bias_ops():
    x = torch.randn(4, 6, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(6, dtype=torch.float64, requires_grad=True)
    for name in ("gelu", "silu", "relu"):
        opcheck(ops.gated, (x, name))
        opcheck(ops.gated_backward, (torch.randn(4, 3, dtype=torch.float64), x.detach(), name))
        opcheck(ops.bias_act, (x, bias, name))


@pytest.mark.parametrize("name", NAMES)
def test_gradcheck_and_gradgradcheck_in_float64(name):
    x = away_from_kinks(torch.linspace(-4, 4, 23, dtype=torch.float64), name).requires_grad_()
    assert torch.autograd.gradcheck(lambda t: gt.activation(t, name), (x,))
    if name not in ("relu", "relu6", "leaky_relu"):  # f'' is 0 almost everywhere: nothing to check
        assert torch.autograd.gradgradcheck(lambda t: gt.activation(t, name), (x,))


@pytest.mark.parametrize("fn", [gt.geglu, gt.swiglu, gt.reglu, lambda t: gt.gated(t, "mish")])
def test_gated_gradcheck_and_gradgradcheck(fn):
    x = torch.randn(3, 8, dtype=torch.float64)
    x = torch.where(x.abs() < 0.05, x + 0.1, x).requires_grad_()
    assert torch.autograd.gradcheck(fn, (x,))
    assert torch.autograd.gradgradcheck(fn, (x,))


def test_bias_gelu_gradcheck_and_matches_composition():
    x = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    b = torch.randn(4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(gt.bias_gelu, (x, b))
    assert torch.autograd.gradgradcheck(gt.bias_gelu, (x, b))
    x32, b32 = x.detach().float(), b.detach().float()
    assert torch.equal(gt.bias_gelu(x32, b32, "tanh"), gt.gelu(x32 + b32, "tanh"))


def _ulp(dtype: torch.dtype) -> float:
    return torch.finfo(dtype).eps


def _shapes() -> list[tuple[int, ...]]:
    return [(), (0,), (1,), (7,), (3, 4, 5)]


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("name", NAMES)
def test_forward_and_backward_match_eager_torch(name, dtype):
    eps = _ulp(dtype)
    for shape in _shapes():
        x64 = away_from_kinks(torch.randn(shape, dtype=torch.float64) * 3, name, gap=0.01)
        x = x64.to(dtype)
        a = x.clone().requires_grad_()
        b = x.clone().requires_grad_()
        ya = gt.activation(a, name)
        yb = EAGER[name](b)
        assert ya.shape == yb.shape and ya.dtype == dtype
        # eager torch forms 1 + erf(x/sqrt2) and loses ~eps*|x| absolutely in the left tail
        xmax = max(1.0, float(x64.abs().max())) if x64.numel() else 1.0
        torch.testing.assert_close(ya, yb, rtol=4 * eps, atol=4 * eps * xmax)
        g = torch.randn(shape, dtype=dtype)
        (ga,) = torch.autograd.grad(ya, a, g)
        (gb,) = torch.autograd.grad(yb, b, g)
        # torch's float32 derivative loses absolute accuracy ~eps*|grad| where f' cancels (its root)
        scale = float(g.abs().max()) if g.numel() else 1.0
        torch.testing.assert_close(ga, gb, rtol=8 * eps, atol=8 * eps * max(1.0, scale))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16], ids=str)
@pytest.mark.parametrize("name", NAMES)
def test_results_are_the_correctly_rounded_reference(name, dtype):
    """Bit for bit what the NumPy reference gives (correctly rounded) for the same inputs."""
    x = torch.cat([torch.randn(300) * 4, torch.tensor([0.0, -0.0, 1e-30, -1e-30, 50.0, -50.0])]).to(dtype)
    y = gt.activation(x, name)
    if dtype == torch.bfloat16:
        xn = x.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
        ref = gl.get(name).evaluate(xn, 0)
        assert np.array_equal(y.view(torch.int16).numpy(), ref.view(np.int16))
    else:
        ref = gl.get(name).evaluate(x.numpy(), 0)
        assert np.array_equal(y.numpy().view(np.uint16 if dtype == torch.float16 else np.uint32),
                              ref.view(np.uint16 if dtype == torch.float16 else np.uint32))


def test_non_contiguous_inputs():
    base = torch.randn(6, 8)
    for x in (base.t(), base[:, ::2], base[::2, 1:]):
        assert not x.is_contiguous()
        for name in ("gelu", "silu", "mish"):
            assert torch.equal(gt.activation(x, name), gt.activation(x.contiguous(), name))
    x = base.t().contiguous().t()  # (6, 8) with strides (1, 6)
    assert not x.is_contiguous() and torch.equal(gt.swiglu(x), gt.swiglu(x.contiguous()))


def test_special_values():
    inf, nan = float("inf"), float("nan")
    x = torch.tensor([-inf, inf, nan, 0.0, -0.0])
    for name in ("gelu", "gelu_tanh", "silu", "quick_gelu", "mish"):
        y = gt.activation(x, name)
        assert y[0] == 0 and torch.signbit(y[0]), name  # the limit at -inf is -0.0
        assert y[1] == inf and torch.isnan(y[2])
        assert y[3] == 0 and not torch.signbit(y[3]) and torch.signbit(y[4]), name  # signed zeros kept
    g = gt.ops.activation_backward_op("gelu")(torch.ones(2), torch.tensor([-inf, inf]), 1)
    assert g.tolist() == [0.0, 1.0]


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_gated_forms_match_eager(dtype):
    eps = _ulp(dtype)
    x = (torch.randn(3, 5, 10) * 2).to(dtype)
    a, b = x.chunk(2, dim=-1)
    fn = torch.nn.functional
    cases = [(gt.geglu(x), fn.gelu(a) * b), (gt.swiglu(x), fn.silu(a) * b), (gt.reglu(x), torch.relu(a) * b),
             (gt.geglu(x, "tanh"), fn.gelu(a, approximate="tanh") * b)]
    for got, want in cases:
        torch.testing.assert_close(got, want, rtol=4 * eps, atol=4 * eps)


def test_gated_rejects_odd_last_dimension():
    with pytest.raises(ValueError, match="even"):
        gt.swiglu(torch.randn(3, 5))


def test_bad_inputs_raise_one_clear_line():
    with pytest.raises(TypeError, match="unsupported dtype"):
        gt.gelu(torch.arange(3))
    with pytest.raises(ValueError, match="approximate"):
        gt.gelu(torch.randn(3), approximate="cubic")
    with pytest.raises(gl.functions.UnknownActivationError, match="gelu"):
        gt.activation(torch.randn(3), "gelu_erf_typo")


def test_out_form_writes_in_place_and_refuses_autograd():
    x = torch.randn(1000)
    out = torch.empty(1000)
    assert gt.gelu(x, out=out) is out and torch.equal(out, gt.gelu(x))
    with pytest.raises(RuntimeError, match="autograd"):
        gt.gelu(x.requires_grad_(), out=out)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("name", ["gelu", "gelu_tanh", "silu"])
def test_out_may_be_the_input_itself(name, dtype):
    """out=x computes in place (the kernels write into a temporary when out overlaps an input)."""
    x = (torch.randn(3 * 4096 + 7) * 4).to(dtype)  # wide inputs: many blocks past the core form
    x[::97] = 0.0
    expect = gt.activation(x, name)
    y = x.clone()
    assert gt.activation(y, name, out=y) is y
    assert torch.equal(y.view(torch.int16 if dtype != torch.float32 else torch.int32),
                       expect.view(torch.int16 if dtype != torch.float32 else torch.int32))
    big = (torch.randn(1 << 17) * 4).to(dtype)  # the threaded path
    expect = gt.activation(big, name)
    assert torch.equal(gt.activation(big, name, out=big), expect)


def test_backward_saves_only_the_input():
    """Saved tensors of forward: the input alone (eager GEGLU also keeps gelu(a), the product's factor)."""
    saved: list[torch.Tensor] = []

    def pack(t: torch.Tensor) -> torch.Tensor:
        saved.append(t)
        return t

    x = torch.randn(8, 16, requires_grad=True)
    for fn in (gt.gelu, gt.silu, gt.geglu, gt.swiglu):
        saved.clear()
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            fn(x)
        assert len(saved) == 1 and saved[0] is x
    saved.clear()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        a, b = x.chunk(2, dim=-1)
        torch.nn.functional.gelu(a) * b
    assert len(saved) > 1


def test_torch_compile_traces_the_ops_without_graph_breaks():
    torch._dynamo.reset()
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), gt.GELU(), torch.nn.Linear(16, 16), gt.SwiGLU(),
                                torch.nn.Linear(8, 4), gt.SiLU())
    x = torch.randn(5, 8)
    eager = model(x)
    compiled = torch.compile(model, fullgraph=True, backend="aot_eager")
    y = compiled(x)
    assert torch.equal(y, eager)
    y.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("shape", [(3, 0), (0, 4), (2, 0, 0)])
def test_gated_ops_take_an_empty_tensor_as_glu_does(shape):
    x = torch.randn(*shape, requires_grad=True)
    y = gt.swiglu(x)
    assert y.shape == torch.nn.functional.glu(x.detach()).shape
    y.sum().backward()
    assert x.grad.shape == x.shape


@pytest.mark.parametrize("make", [
    lambda: torch.randn(2, 3, 4, 5).to(memory_format=torch.channels_last),
    lambda: torch.randn(2, 3, 4, 5, 6).to(memory_format=torch.channels_last_3d),
    lambda: torch.randn(6, 9).t(),
    lambda: torch.randn(3, 4, 5).permute(2, 0, 1),
], ids=["channels_last", "channels_last_3d", "transpose", "permuted"])
def test_elementwise_ops_keep_a_dense_inputs_memory_layout(make):
    x = make().requires_grad_(True)
    y = gt.gelu(x)
    assert y.stride() == torch.nn.functional.gelu(x.detach()).stride() == x.stride()
    assert torch.equal(y, gt.gelu(x.detach().contiguous()))
    y.backward(torch.ones_like(y))
    assert x.grad.stride() == x.stride()
    assert torch.equal(x.grad, ops.activation_backward_op("gelu")(torch.ones(x.shape), x.detach().contiguous(), 1))
    compiled = torch.compile(lambda v: gt.silu(v) + 1, fullgraph=True)
    z = compiled(x.detach())
    assert z.stride() == x.stride() and torch.equal(z, gt.silu(x.detach().contiguous()) + 1)


def test_outputs_are_freed_on_their_last_reference_from_the_first_call_on():
    # a fresh process: the first calls compile (or load) the kernels; gc stays off, so only reference
    # counting can free the outputs
    code = """
import gc, weakref, torch, gelulab.torch as gt
gc.disable()
alive = []
for dt in (torch.float32, torch.bfloat16, torch.float64):
    x = torch.randn(1000).to(dt).requires_grad_(True)
    y = gt.gelu(x); r1 = weakref.ref(y); y.sum().backward(); del y
    w = gt.swiglu(torch.randn(4, 250).to(dt)); r2 = weakref.ref(w); del w
    alive += [r1() is not None, r2() is not None]
print(sum(alive))
"""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "0"
