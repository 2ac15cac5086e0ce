"""float64 through the torch front: forward, backward and the backward's backward within the same ulp
bound as the NumPy functions (tests/functions/test_accuracy.py), measured against the mpmath oracle."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gelulab as gl
from gelulab import reference
from gelulab.accuracy.sampler import sample_inputs
from gelulab.torch import ops

BOUND_ULPS = 2.0  # the README's float64 bound where long double is wider (x86); 1.44 measured on the NumPy path
# inputs of the issue that found the torch backward at 2.8-4.6 ulp
KNOWN = {"gelu": [-1.1585272578776915], "silu": [-2.4871916395747835]}


def _worst(name: str, xs: np.ndarray, order: int, got: np.ndarray) -> tuple[float, float]:
    worst, at = 0.0, float("nan")
    tiny = float(np.finfo(np.float64).smallest_normal)
    for x, y in zip(xs, got, strict=True):
        exact = reference.evaluate(name, float(x), order)
        want = reference.round_to_format(exact, "float64")
        if want == y or abs(want) < tiny:
            continue  # correctly rounded (overflow to inf included); subnormal results: no relative bound
        err = float(reference.ulp_error(float(y), exact))
        if err > worst:
            worst, at = err, float(x)
    return worst, at


@pytest.mark.parametrize("name", gl.names())
def test_float64_torch_derivatives_are_within_the_bound(name):
    if not gl.functions.double_double.LONG_DOUBLE_IS_WIDER:
        pytest.skip("long double is float64 here: the double-only bounds of tests/functions apply instead")
    # every 4th input of the shared sampler (its special values, tails and roots come in runs)
    xs = np.concatenate([sample_inputs("float64", name, n_random=40)[::4], KNOWN.get(name, [])])
    xs = xs[np.isfinite(xs)]
    t = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    y = ops.activation_op(name)(t)
    (d1,) = torch.autograd.grad(y, t, torch.ones_like(t), create_graph=True)
    (d2,) = torch.autograd.grad(d1, t, torch.ones_like(t))
    for order, got in ((0, y), (1, d1), (2, d2)):
        worst, at = _worst(name, xs, order, got.detach().numpy())
        assert worst <= BOUND_ULPS, (name, order, at, worst)
