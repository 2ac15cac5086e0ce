"""The torch front's parameterised activations and torch's signatures: functional forms and modules
(positional order, keywords, ``inplace=``), values graded against the mpmath oracle, forward and
backward, ``swap_activations`` on parameterised modules, and TorchScript / compile / export."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from torch import nn

import gelulab.torch as gt
from gelulab import reference
from gelulab.functions import resolve

FUNCTIONAL = ["relu", "relu6", "leaky_relu", "elu", "celu", "selu", "silu", "mish", "hardswish"]


@pytest.mark.parametrize("name", FUNCTIONAL)
def test_functional_signatures_are_torchs(name):
    ours = [(p.name, p.default, p.kind) for p in inspect.signature(getattr(gt, name)).parameters.values()
            if p.kind != inspect.Parameter.KEYWORD_ONLY]  # gelulab adds a keyword-only out= to some
    theirs = [(p.name, p.default, p.kind) for p in inspect.signature(getattr(TF, name)).parameters.values()]
    assert ours == theirs


def test_softplus_and_gelu_signatures_are_torchs():
    # torch's are builtins without an inspectable signature; their documented ones
    assert list(inspect.signature(gt.softplus).parameters) == ["input", "beta", "threshold"]
    assert inspect.signature(gt.softplus).parameters["threshold"].default == 20.0
    assert list(inspect.signature(gt.gelu).parameters)[:2] == ["input", "approximate"]


@pytest.mark.parametrize(("ours", "theirs"), [
    (gt.LeakyReLU(0.2, True), nn.LeakyReLU(0.2, True)), (gt.ELU(alpha=0.5), nn.ELU(alpha=0.5)),
    (gt.CELU(2.0, inplace=True), nn.CELU(2.0, inplace=True)), (gt.Softplus(beta=2, threshold=5), nn.Softplus(2, 5)),
    (gt.ReLU(inplace=True), nn.ReLU(inplace=True)), (gt.SiLU(True), nn.SiLU(True)), (gt.GELU("tanh"), nn.GELU("tanh")),
])
def test_modules_take_torchs_arguments_and_print_like_torch(ours, theirs):
    assert repr(ours) == repr(theirs)
    x = torch.linspace(-6, 6, 101)
    torch.testing.assert_close(ours(x.clone()), theirs(x.clone()), rtol=2e-6, atol=4e-6)


def _oracle(name: str, x: np.ndarray, order: int, fmt: str, grad: np.ndarray | None = None) -> np.ndarray:
    import mpmath

    out = []
    for i, xv in enumerate(x):
        v = reference.evaluate(name, float(xv), order)
        if grad is not None:
            with mpmath.workprec(512):
                v = v * mpmath.mpf(float(grad[i]))
        out.append(reference.round_to_format(v, fmt))
    return np.array(out)


CALLS = [
    (gt.leaky_relu, (0.2,), "leaky_relu(0.2)"), (gt.leaky_relu, (-0.5,), "leaky_relu(-0.5)"),
    (gt.elu, (0.5,), "elu(0.5)"), (gt.celu, (3.0,), "celu(3.0)"), (gt.celu, (-1.5,), "celu(-1.5)"),
    (gt.softplus, (2.0, 20.0), "softplus(2, 20)"), (gt.softplus, (3, 0.2), "softplus(3, 0.2)"),
    (gt.softplus, (), "softplus(1, 20)"),
]


@pytest.mark.parametrize(("fn", "args", "name"), CALLS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_forward_and_backward_are_correctly_rounded(fn, args, name, dtype):
    torch.manual_seed(0)
    x = torch.cat([torch.randn(40) * 4, -torch.rand(10) * 120, torch.tensor([0.0, -0.0, 1e-20, -1e-20])]).to(dtype)
    g = torch.randn(x.shape).to(dtype)
    leaf = x.clone().requires_grad_(True)
    y = fn(leaf, *args)
    y.backward(g)
    fmt = "float32" if dtype == torch.float32 else "bfloat16"
    xs = x.double().numpy()
    np.testing.assert_array_equal(y.detach().double().numpy(), _oracle(resolve(name), xs, 0, fmt))
    np.testing.assert_array_equal(leaf.grad.double().numpy(), _oracle(resolve(name), xs, 1, fmt, g.double().numpy()))


def test_inplace_overwrites_and_returns_the_input_with_torchs_autograd():
    torch.manual_seed(1)
    base = torch.randn(6, 5)
    for ours, theirs in ((lambda t: gt.leaky_relu(t, 0.2, True), lambda t: TF.leaky_relu(t, 0.2, True)),
                         (lambda t: gt.elu(t, 0.5, inplace=True), lambda t: TF.elu(t, 0.5, inplace=True)),
                         (lambda t: gt.relu(t, inplace=True), lambda t: TF.relu(t, inplace=True)),
                         (lambda t: gt.LeakyReLU(0.2, inplace=True)(t), lambda t: nn.LeakyReLU(0.2, inplace=True)(t))):
        x = base.clone()
        assert ours(x) is x and torch.equal(x, ours(base.clone()))
        # a non-leaf: the gradient flows through the overwritten tensor as through torch's in-place op
        w1, w2 = (torch.full((5,), 0.7, requires_grad=True) for _ in range(2))
        a, b = base * w1, base * w2
        out_ours, out_theirs = ours(a), theirs(b)
        assert out_ours is a
        (out_ours * base).sum().backward()
        (out_theirs * base).sum().backward()
        torch.testing.assert_close(w1.grad, w2.grad, rtol=1e-5, atol=1e-6)
        # a leaf that requires grad is refused, with torch's own error
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            theirs(base.clone().requires_grad_(True))
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            ours(base.clone().requires_grad_(True))
    with pytest.raises(ValueError, match="not both"):
        gt.activation(base, "relu", inplace=True, out=torch.empty_like(base))


class _Attr(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.act = TF.leaky_relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x, 0.3)  # the parameter is passed at the call


def test_swap_keeps_each_modules_parameters():
    torch.manual_seed(2)
    model = nn.Sequential(nn.Linear(4, 8), nn.LeakyReLU(0.2), nn.ELU(alpha=0.5), nn.CELU(2.0), nn.Softplus(beta=2),
                          nn.Softplus(beta=-1), _Attr(), nn.ReLU(inplace=True))
    x = torch.randn(3, 4)
    before = model(x)
    report = gt.swap_activations(model)
    assert [s.after for s in report.swapped] == [
        "leaky_relu(negative_slope=0.2)", "elu(alpha=0.5)", "celu(alpha=2.0)", "softplus(beta=2.0, threshold=20.0)",
        "leaky_relu", "relu"]
    assert [(n.path, n.reason) for n in report.not_swapped] == [("5", "softplus: beta must be positive, got -1.0")]
    assert model[6].act is gt.leaky_relu  # a functional attribute keeps torch's signature, parameters included
    torch.testing.assert_close(model(x), before, rtol=1e-5, atol=1e-6)


def test_parameterised_modules_script_compile_and_export():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(4, 8), gt.LeakyReLU(0.2), gt.ELU(0.5), gt.CELU(2.0), gt.Softplus(2.0, 5.0),
                          gt.LeakyReLU(0.1, inplace=True))
    x = torch.randn(5, 4)
    want = model(x)
    scripted = torch.jit.script(model)
    assert torch.equal(scripted(x), want)
    xg = x.clone().requires_grad_(True)
    scripted(xg).sum().backward()
    ref = x.clone().requires_grad_(True)
    model(ref).sum().backward()
    assert torch.equal(xg.grad, ref.grad)
    assert torch.equal(torch.compile(model, fullgraph=True)(x), want)
    assert torch.equal(torch.export.export(model, (x,)).module()(x), want)


def test_parameterised_ops_pass_opcheck():
    x = torch.randn(4, 3, dtype=torch.float64)
    for name in ("elu(alpha=0.5)", "softplus(beta=2.0, threshold=20.0)", "celu(alpha=-1.5)"):
        torch.library.opcheck(gt.ops.parametric, (x, name))
        torch.library.opcheck(gt.ops.parametric_backward, (torch.randn(4, 3, dtype=torch.float64), x, name, 1))
        t = x.clone().requires_grad_(True)
        assert torch.autograd.gradcheck(lambda v, n=name: gt.activation(v, n), (t,))
        assert torch.autograd.gradgradcheck(lambda v, n=name: gt.activation(v, n), (t,))
