"""Conformance with PyTorch's own test inputs: every OpInfo sample (``torch.testing._internal``'s
``op_db``) of every activation gelulab has goes through gelulab's functional form and module, forward
and backward, in float32, float64 and bfloat16, and is compared with torch's op on the same sample.

The results must agree within torch's own tolerances for the dtype (``torch.testing.assert_close``
defaults, which admit torch's known errors); every element where the two differ at all is checked
against the mpmath oracle: gelulab's value must be the correctly rounded one (float64: within the
README's 2-ulp bound). In-place variants must return their input, overwritten with the same values.
"""

from __future__ import annotations

import inspect

import mpmath
import pytest
import torch
from torch import nn

import gelulab.torch as gt
from gelulab import reference
from gelulab.functions import resolve

op_db = pytest.importorskip("torch.testing._internal.common_methods_invocations",
                            reason="torch's test internals need expecttest (in the test extra)").op_db

#: OpInfo name -> (gelulab functional, the name of the function a call computes, a module for the call)
OPS = {
    "nn.functional.gelu": (gt.gelu, lambda a: gt.functional._gelu_name(a["approximate"]),
                           lambda a: gt.GELU(a["approximate"])),
    "nn.functional.relu": (gt.relu, lambda a: "relu", lambda a: gt.ReLU()),
    "nn.functional.relu6": (gt.relu6, lambda a: "relu6", lambda a: gt.ReLU6()),
    "nn.functional.leaky_relu": (gt.leaky_relu, lambda a: gt.functional.leaky_relu_name(a["negative_slope"]),
                                 lambda a: gt.LeakyReLU(a["negative_slope"])),
    "nn.functional.elu": (gt.elu, lambda a: gt.functional.elu_name(a["alpha"]), lambda a: gt.ELU(a["alpha"])),
    "nn.functional.celu": (gt.celu, lambda a: gt.functional.celu_name(a["alpha"]), lambda a: gt.CELU(a["alpha"])),
    "nn.functional.selu": (gt.selu, lambda a: "selu", lambda a: gt.SELU()),
    "nn.functional.silu": (gt.silu, lambda a: "silu", lambda a: gt.SiLU()),
    "nn.functional.mish": (gt.mish, lambda a: "mish", lambda a: gt.Mish()),
    "nn.functional.hardswish": (gt.hardswish, lambda a: "hardswish", lambda a: gt.Hardswish()),
    "nn.functional.softplus": (gt.softplus, lambda a: gt.functional.softplus_name(a["beta"], a["threshold"]),
                               lambda a: gt.Softplus(a["beta"], a["threshold"])),
}
DTYPES = {torch.float32: "float32", torch.float64: "float64", torch.bfloat16: "bfloat16"}
FLOAT64_BOUND_ULPS = 2.0

OPINFOS = [op for op in op_db if op.name in OPS and op.variant_test_name == ""]


def test_every_activation_gelulab_has_is_in_op_db():
    assert {op.name for op in OPINFOS} == set(OPS)


def _bound_arguments(fn, sample) -> dict:
    bound = inspect.signature(fn).bind(sample.input, *sample.args, **sample.kwargs)
    bound.apply_defaults()
    return dict(bound.arguments)


def _check_against_oracle(name: str, x: torch.Tensor, ours: torch.Tensor, theirs: torch.Tensor, order: int,
                          grad: torch.Tensor | None, what: str) -> int:
    """Elements where gelulab and torch differ: gelulab's must be the oracle's. Returns how many differed."""
    fmt = DTYPES[x.dtype]
    o, t = ours.detach().double().reshape(-1), theirs.detach().double().reshape(-1)
    differ = ~((o == t) | (o.isnan() & t.isnan()))
    xs = x.detach().double().reshape(-1)
    gs = None if grad is None else grad.double().expand(x.shape).reshape(-1)
    for i in torch.nonzero(differ).reshape(-1).tolist():
        v = reference.evaluate(name, float(xs[i]), order)
        if gs is not None:
            with mpmath.workprec(512):
                v = v * mpmath.mpf(float(gs[i]))
        got = float(o[i])
        if fmt == "float64":
            want = reference.round_to_format(v, "float64")
            assert got == want or float(reference.ulp_error(got, v)) <= FLOAT64_BOUND_ULPS, (what, float(xs[i]))
        else:
            want = reference.round_to_format(v, fmt)
            assert got == want or (got != got and want != want), (what, float(xs[i]).hex(), got, want)
    return int(differ.sum())


@pytest.mark.parametrize("dtype", list(DTYPES), ids=list(DTYPES.values()))
@pytest.mark.parametrize("opinfo", OPINFOS, ids=[op.name.split(".")[-1] for op in OPINFOS])
def test_opinfo_samples_forward_backward_and_inplace(opinfo, dtype):
    fn, name_of, module_of = OPS[opinfo.name]
    samples = list(opinfo.sample_inputs("cpu", dtype, requires_grad=True))
    assert samples, opinfo.name
    for k, sample in enumerate(samples):
        args = _bound_arguments(fn, sample)
        name = resolve(name_of(args))
        what = f"{opinfo.name} sample {k} {tuple(sample.input.shape)} {sample.args} {sample.kwargs} {dtype}"
        x = sample.input
        theirs = opinfo.op(x, *sample.args, **sample.kwargs)
        ours = fn(x, *sample.args, **sample.kwargs)
        assert ours.shape == theirs.shape and ours.dtype == theirs.dtype, what
        torch.testing.assert_close(ours, theirs, equal_nan=True, msg=what)
        _check_against_oracle(name, x, ours, theirs, 0, None, what)
        module_out = module_of(args)(x)
        assert torch.equal(module_out, ours) or (module_out.isnan() == ours.isnan()).all(), what
        if x.numel():
            g = torch.randn(theirs.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(k)).to(dtype)
            (g_theirs,) = torch.autograd.grad(theirs, x, g)
            (g_ours,) = torch.autograd.grad(ours, x, g)
            torch.testing.assert_close(g_ours, g_theirs, equal_nan=True, msg=what)
            _check_against_oracle(name, x, g_ours, g_theirs, 1, g, what + " backward")
        if opinfo.inplace_variant is not None and "inplace" in inspect.signature(fn).parameters:
            y = x.detach().clone()
            kwargs = {**sample.kwargs, "inplace": True}
            assert fn(y, *sample.args, **kwargs) is y, what
            assert torch.equal(y, ours.detach()) or (y.isnan() == ours.isnan()).all(), what


def test_opinfo_modules_swap_in_for_torchs():
    # the modules of the OpInfo ops with the samples' parameters, swapped into a model by swap_activations
    model = nn.Sequential(nn.Softplus(beta=3, threshold=0.2), nn.LeakyReLU(0.1), nn.ELU(0.5), nn.CELU(0.7))
    x = torch.randn(6, 7, dtype=torch.float64)
    before = model(x)
    report = gt.swap_activations(model)
    assert report.complete and len(report.swapped) == 4
    torch.testing.assert_close(model(x), before)
