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


def test_gradients_still_flow_through_the_op(dispatched):
    x = torch.randn(32, requires_grad=True)
    gtf.activation(x, "gelu").sum().backward()
    assert dispatched == ["gelu"] and x.grad is not None and x.grad.shape == x.shape
