"""Calls with nothing for the dispatcher to record skip it; everything that needs the op still sees it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gelulab import reference
from gelulab.torch import functional as gtf
from gelulab.torch import ops


@pytest.fixture
def dispatched(monkeypatch):
    """The names whose custom op ran (the dispatcher's path), recorded from the op's kernel."""
    seen: list[str] = []
    real = ops._forward
    monkeypatch.setattr(ops, "_forward", lambda name, x: seen.append(name) or real(name, x))
    return seen


def _oracle(name: str, x: torch.Tensor) -> np.ndarray:
    return np.array([reference.round_to_format(reference.evaluate(name, float(v), 0), "float32")
                     for v in x.reshape(-1).tolist()], dtype=np.float32).reshape(tuple(x.shape))


def test_a_plain_call_skips_the_op_and_gives_the_correctly_rounded_value():
    x = torch.tensor([-0.7517916, 1e-20, -3.5, 2.0**-126, 0.0, -0.0, 5.0], dtype=torch.float32)
    assert ops.direct(x)
    for name in ("gelu", "silu", "mish", "elu(alpha=0.5)"):
        got = gtf.activation(x, name).numpy()
        assert np.array_equal(got, _oracle(name, x)), name  # by value (mpmath has no signed zero)
        zero = x.numpy() == 0
        assert np.array_equal(np.signbit(got[zero]), np.signbit(x.numpy()[zero])), name  # f(-0.0) = -0.0
    assert gtf.activation(torch.tensor(1.5), "gelu").shape == ()  # 0-d stays 0-d


def test_whatever_must_see_the_op_takes_it():
    x = torch.randn(64)
    assert not ops.direct(x.clone().requires_grad_())  # autograd records the op
    with torch.no_grad():
        assert ops.direct(x.clone().requires_grad_())  # nothing to record
    assert not ops.direct(torch.nn.Parameter(x))  # a subclass (its __torch_function__ may redirect)
    with torch.profiler.profile() as prof:  # the profiler shows the op
        gtf.activation(x, "gelu")
    assert any(e.name == "gelulab::gelu" for e in prof.events())
    from torch._subclasses.fake_tensor import FakeTensorMode

    with FakeTensorMode():
        fake = torch.empty(8)
        assert not ops.direct(fake)
        assert gtf.activation(fake, "gelu").shape == (8,)  # the op's fake kernel, no memory touched
    traced = torch.jit.trace(lambda t: gtf.activation(t, "silu"), (x,))
    assert "gelulab::silu" in str(traced.graph)  # a trace records the op, not a constant


def _oracle_d(name: str, x: torch.Tensor, order: int, grad: torch.Tensor | None = None) -> np.ndarray:
    import mpmath

    out = []
    for v, g in zip(x.tolist(), (grad if grad is not None else torch.ones_like(x)).tolist(), strict=True):
        with mpmath.workdps(60):
            out.append(reference.round_to_format(mpmath.mpf(g) * reference.evaluate(name, v, order), "float32"))
    return np.array(out, dtype=np.float32)


def test_an_eager_call_that_needs_grad_takes_plain_autograd_with_exact_gradients():
    x = torch.tensor([-0.7517916, 1e-20, -3.5, 0.25, 2.0, -1.2784645], requires_grad=True)
    g = torch.tensor([1.0, -3.0, 0.5, 2.0**-140, 7.0, 1.0])
    assert ops.direct(x, autograd=True) and not ops.direct(x)
    for name in ("gelu", "silu", "gelu_tanh", "mish"):
        y = gtf.activation(x, name)
        assert type(y.grad_fn).__name__ == "DirectActivationBackward"
        (dx,) = torch.autograd.grad(y, x, g)
        assert np.array_equal(dx.numpy(), _oracle_d(name, x.detach(), 1, g)), name
        # create_graph: the backward op, differentiable again (f'' through the op's own autograd)
        (d1,) = torch.autograd.grad(gtf.activation(x, name), x, torch.ones_like(x), create_graph=True)
        (d2,) = torch.autograd.grad(d1, x, torch.ones_like(x))
        assert np.array_equal(d1.detach().numpy(), _oracle_d(name, x.detach(), 1)), name
        assert np.array_equal(d2.numpy(), _oracle_d(name, x.detach(), 2)), name


def test_gradients_of_what_must_see_the_op_still_flow_through_it(dispatched):
    w = torch.nn.Parameter(torch.randn(32))  # a subclass: the op, as before
    y = gtf.activation(w, "gelu")
    assert type(y.grad_fn).__name__ != "DirectActivationBackward"
    y.sum().backward()
    assert dispatched == ["gelu"] and w.grad is not None and w.grad.shape == w.shape
    x = torch.randn(16, requires_grad=True)
    with torch.profiler.profile() as prof:
        gtf.activation(x, "silu").sum().backward()
    assert any(e.name == "gelulab::silu" for e in prof.events())
    assert any(e.name == "gelulab::silu_backward" for e in prof.events())
