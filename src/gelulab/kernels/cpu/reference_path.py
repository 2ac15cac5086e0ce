"""The exact path: every activation, any dtype, through the NumPy reference of ``functions/``.

Results are gelulab's one rounding decision (:func:`gelulab.functions.rounding.correctly_rounded`)
applied to the registry's float64 kernels, so they are correctly rounded wherever
``ActivationSpec.evaluate`` is. Products (``grad * f'(x)``, ``f(a) * b``) are decided as products
(the float64 product and its error bound; the oracle's value times the factor where that cannot
decide), so a fused op rounds once, correctly, not twice. This path is used for the activations and
dtypes the fast numba kernels do not cover, and by the fast kernels for the rare inputs whose
rounding they cannot decide.
"""

from __future__ import annotations

import numpy as np

from ...functions import get
from ...functions.rounding import correctly_rounded, float_format


def _float64(a: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):  # widening a signalling NaN is exact; NumPy still warns
        return np.asarray(a).astype(np.float64)


def _decided(name: str, x: np.ndarray, order: int, factor: np.ndarray | None, dtype: np.dtype) -> np.ndarray:
    """factor * f^(order)(x), rounded once into dtype (float64: the float64 product)."""
    x64 = _float64(x).reshape(-1)
    f64 = None if factor is None else np.broadcast_to(_float64(factor), np.shape(x)).reshape(-1)
    spec = get(name)
    if dtype == np.float64:
        y = spec.evaluate_float64(x64, order, extended=True)
        with np.errstate(all="ignore"):
            return y if f64 is None else f64 * y
    return correctly_rounded(spec, x64, order, float_format(dtype), factor=f64).rounded.astype(dtype)


def forward(name: str, x: np.ndarray) -> np.ndarray:
    """f(x), correctly rounded into x's dtype."""
    x = np.asarray(x)
    return _decided(name, x, 0, None, x.dtype).reshape(x.shape)


def derivative_times(name: str, grad: np.ndarray, x: np.ndarray, order: int = 1) -> np.ndarray:
    """grad * f^(order)(x), correctly rounded once into x's dtype."""
    x = np.asarray(x)
    return _decided(name, x, order, grad, x.dtype).reshape(x.shape)


def gated_forward(name: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """f(a) * b, correctly rounded once."""
    a = np.asarray(a)
    return _decided(name, a, 0, b, a.dtype).reshape(a.shape)


def gated_backward(name: str, grad: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(grad * b * f'(a), grad * f(a)), each correctly rounded once.

    grad * b is exact in float64 for 16- and 32-bit inputs (two significands of at most 24 bits)."""
    a = np.asarray(a)
    g64 = np.broadcast_to(_float64(grad), a.shape)
    with np.errstate(all="ignore"):
        gb = g64 * np.broadcast_to(_float64(b), a.shape)
    ga = _decided(name, a, 1, gb, a.dtype).reshape(a.shape)
    return ga, _decided(name, a, 0, g64, a.dtype).reshape(a.shape)
