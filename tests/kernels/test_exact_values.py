"""ReLU and ReLU6 in the input's own arithmetic (kernels.cpu.exact_values): the correctly rounded results,
on every 16-bit input and float32 samples, products included, specials included."""

from __future__ import annotations

import ml_dtypes
import mpmath
import numpy as np
import pytest

from gelulab import reference
from gelulab.kernels import cpu
from gelulab.kernels.cpu import exact_values, reference_path

DTYPES = {"float32": np.dtype(np.float32), "float16": np.dtype(np.float16),
          "bfloat16": np.dtype(ml_dtypes.bfloat16)}


def _inputs(dtype: np.dtype) -> np.ndarray:
    if dtype.itemsize == 2:
        return np.arange(1 << 16, dtype=np.uint16).view(dtype)  # every pattern
    rng = np.random.default_rng(4)
    special = np.float32([0.0, -0.0, np.nan, -np.nan, np.inf, -np.inf, 6.0, np.nextafter(6, 0), np.nextafter(6, 7),
                          1e-45, -1e-45, 3.4e38, -3.4e38])
    return np.concatenate([special, rng.integers(0, 2**32, 20000, dtype=np.uint64).astype(np.uint32).view(np.float32),
                           (rng.standard_normal(5000) * 8).astype(np.float32)])


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    a64, b64 = np.asarray(a).astype(np.float64), np.asarray(b).astype(np.float64)
    nan = np.isnan(a64)
    return bool(np.array_equal(nan, np.isnan(b64)) and np.array_equal(a64[~nan], b64[~nan])
                and np.array_equal(np.signbit(a64[~nan]), np.signbit(b64[~nan])))


def _oracle(name: str, x: np.ndarray, order: int, factor: np.ndarray, dtype: str) -> np.ndarray:
    out = []
    for v, g in zip(x.astype(np.float64), factor.astype(np.float64), strict=True):
        with mpmath.workdps(60):
            out.append(reference.round_to_format(mpmath.mpf(g) * reference.evaluate(name, v, order), dtype))
    return np.array(out)


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("name", exact_values.NAMES)
def test_values_and_products_are_the_correctly_rounded_ones(name, dtype):
    dt = DTYPES[dtype]
    x = _inputs(dt)
    grad = np.random.default_rng(9).permutation(x)  # factors: the same mix of specials and magnitudes
    assert exact_values.supports(name, dt, 0) and exact_values.supports(name, dt, 1)
    f, d = cpu.forward(name, x), cpu.derivative_times(name, grad, x)
    assert f.dtype == dt and d.dtype == dt
    # every input, against the exact path (the rounding decision), NaN and signed zeros included
    assert _same(f, reference_path.forward(name, x)) and _same(d, reference_path.derivative_times(name, grad, x))
    ga, gb = cpu.gated_backward(name, grad, np.concatenate([x, grad])[None, :]).reshape(2, -1)
    want_a, want_b = reference_path.gated_backward(name, grad, x, grad)
    assert _same(ga, want_a) and _same(gb, want_b)
    assert _same(cpu.gated_forward(name, np.concatenate([x, grad])[None, :])[0],
                 reference_path.gated_forward(name, x, grad))
    # a spread of finite ones against mpmath itself (nonzero results: mpmath has no signed zero)
    x64, g64 = x.astype(np.float64), grad.astype(np.float64)
    pick = np.flatnonzero(np.isfinite(x64) & np.isfinite(g64))[::40][:800]
    assert np.array_equal(f[pick].astype(np.float64), _oracle(name, x[pick], 0, np.ones(pick.size), dtype))
    assert np.array_equal(d[pick].astype(np.float64), _oracle(name, x[pick], 1, grad[pick], dtype))


def test_other_activations_and_orders_stay_on_the_exact_path():
    assert not exact_values.supports("leaky_relu", np.float32)  # 0.01 x is rounded
    assert not exact_values.supports("relu", np.float32, order=2)
    assert not exact_values.supports("relu", np.int32)
