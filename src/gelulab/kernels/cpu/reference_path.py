"""The exact path: every activation, any dtype, through the NumPy reference of ``functions/``.

Results are the registry's float64 values rounded once into the caller's dtype, so they are
correctly rounded wherever ``ActivationSpec.evaluate`` is. Products (``grad * f'(x)``,
``f(a) * b``) are formed in float64 before that single rounding, so a fused op rounds once,
not twice. This path is used for the activations and dtypes the fast numba kernels do not
cover, and by the fast kernels for the rare inputs whose rounding they cannot decide.
"""

from __future__ import annotations

import numpy as np

from ...functions import get, round_float64_to


def _float64(a: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):  # widening a signalling NaN is exact; NumPy still warns
        return np.asarray(a).astype(np.float64)


def forward(name: str, x: np.ndarray) -> np.ndarray:
    """f(x), correctly rounded into x's dtype."""
    x = np.asarray(x)
    # 1-d in, original shape out: the bfloat16 narrowing of functions/ fails on 0-d arrays
    return np.asarray(get(name).evaluate(x.reshape(-1), 0)).reshape(x.shape)


def derivative_times(name: str, grad: np.ndarray, x: np.ndarray, order: int = 1) -> np.ndarray:
    """grad * f^(order)(x), formed in float64 and rounded once into x's dtype."""
    x = np.asarray(x)
    y = get(name).evaluate_float64(_float64(x).reshape(-1), order)
    with np.errstate(all="ignore"):
        prod = np.broadcast_to(_float64(grad), x.shape).reshape(-1) * y
    return round_float64_to(prod, x.dtype).reshape(x.shape)


def gated_forward(name: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """f(a) * b, formed in float64 and rounded once."""
    a = np.asarray(a)
    fa = get(name).evaluate_float64(_float64(a).reshape(-1), 0)
    with np.errstate(all="ignore"):
        prod = fa * _float64(b).reshape(-1)
    return round_float64_to(prod, a.dtype).reshape(a.shape)


def gated_backward(name: str, grad: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(grad * b * f'(a), grad * f(a)), each formed in float64 and rounded once."""
    spec = get(name)
    a64, b64, g64 = _float64(a), _float64(b), _float64(grad)
    with np.errstate(all="ignore"):
        ga = g64 * b64 * spec.evaluate_float64(a64, 1)
        gb = g64 * spec.evaluate_float64(a64, 0)
    dtype = np.asarray(a).dtype
    return round_float64_to(ga, dtype), round_float64_to(gb, dtype)
