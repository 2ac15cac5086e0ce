"""ReLU and ReLU6, whose values and slopes are exact in every format: computed in the input's own
arithmetic, no rounding decision needed.

relu(x) and relu6(x) are x, 0 or 6, and their first derivatives 0 or 1: each is a value of the
input's format, so the correctly rounded result is the value itself. A product with a factor
(grad * f'(x), f(a) * b, grad * f(a)) is one IEEE multiplication of two values of the format,
which rounds once, correctly, by the standard; for 16-bit inputs it runs in float32, where such a
product is exact, and is rounded once into the format. So these are the exact path's results bit
for bit (tests/kernels checks it on every 16-bit input and on float32 samples, specials included),
in one numba pass (NumPy where numba is missing or the shapes differ) instead of the float64
evaluation and rounding decision (~15 ns an element): what a network with its ReLUs swapped to
gelulab's runs. NaN inputs give
the registry's NaN (positive, quiet), zero is +0.0 (relu(-0.0) = +0.0, as the registry defines it).
"""

from __future__ import annotations

import functools

import numpy as np

#: The activations computed here (orders 0 and 1).
NAMES = ("relu", "relu6")
_CAP = 6.0


def supports(name: str, dtype: np.dtype, order: int = 0) -> bool:
    return name in NAMES and order in (0, 1) and _compute_dtype(np.dtype(dtype)) is not None


def _compute_dtype(dtype: np.dtype) -> np.dtype | None:
    if dtype in (np.float32, np.float64):
        return dtype
    if dtype == np.float16 or dtype.name == "bfloat16":
        return np.dtype(np.float32)  # a product of two 16-bit values is exact there
    return None


@functools.cache
def _compiled():
    """numba loops for float32 and float64 arrays (one pass; NumPy's where-chains take five), or None
    without numba."""
    try:
        from numba import njit

        from .simd import OPTS, select
    except ImportError:
        return None

    @njit(inline="always", **OPTS)
    def element(relu6, order, xi):
        """f(xi) (order 0) or f'(xi) (order 1) in xi's type, NaN for NaN."""
        t = type(xi)
        nan, zero, one, six = t(np.nan), t(0), t(1), t(_CAP)
        if order == 0:
            inside = select(relu6 and xi > six, six, xi)
            rest = select(xi <= zero, zero, nan)
        else:
            inside = select(relu6 and xi >= six, zero, one)
            rest = select(xi == xi, zero, nan)
        return select(xi > zero, inside, rest)

    @njit(**OPTS)
    def values(relu6, order, x, out):
        for i in range(x.size):
            out[i] = element(relu6, order, x[i])

    @njit(**OPTS)
    def slope_times(relu6, g, x, out):
        for i in range(x.size):
            out[i] = g[i] * element(relu6, 1, x[i])

    return values, slope_times


def _values(name: str, x: np.ndarray, order: int) -> np.ndarray:
    """f or f' of x (a compute-dtype array), NaN where x is NaN."""
    loops = _compiled() if x.dtype in (np.float32, np.float64) and x.ndim == 1 else None
    if loops is not None:
        out = np.empty_like(x)
        loops[0](name == "relu6", order, np.ascontiguousarray(x), out)
        return out
    c = x.dtype.type
    nan, zero, one = c(np.nan), c(0), c(1)
    with np.errstate(invalid="ignore"):
        rest = np.where(x <= 0, zero, nan) if name == "relu" or order == 0 else np.where(x == x, zero, nan)
        if order == 0:
            inside = x if name == "relu" else np.minimum(x, c(_CAP))
            return np.where(x > 0, inside, rest)
        inside = (x > 0) if name == "relu" else (x > 0) & (x < c(_CAP))
        return np.where(inside, one, rest)


def _finish(y: np.ndarray, dtype: np.dtype, shape: tuple, out: np.ndarray | None) -> np.ndarray:
    with np.errstate(invalid="ignore", over="ignore"):
        y = y.astype(dtype, copy=False).reshape(shape)
    if out is None:  # (np.ascontiguousarray would turn a 0-d result into shape (1,))
        return y if y.flags.c_contiguous else y.copy()
    out[...] = y
    return out


def _compute(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    with np.errstate(invalid="ignore"):
        return a.astype(_compute_dtype(a.dtype), copy=False)


def forward(name: str, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    x = np.asarray(x)
    return _finish(_values(name, _compute(x).reshape(-1), 0), x.dtype, x.shape, out)


def derivative_times(name: str, grad: np.ndarray, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """grad * f'(x): one multiplication by 0, 1 or NaN."""
    x = np.asarray(x)
    grad = np.asarray(grad)
    loops = _compiled() if x.dtype in (np.float32, np.float64) and grad.shape == x.shape else None
    if loops is not None:
        y = np.empty(x.shape, x.dtype)
        loops[1](name == "relu6", np.ascontiguousarray(grad).reshape(-1), np.ascontiguousarray(x).reshape(-1),
                 y.reshape(-1))
        return _finish(y, x.dtype, x.shape, out)
    with np.errstate(invalid="ignore", over="ignore"):
        y = _compute(grad) * _values(name, _compute(x), 1)
    return _finish(np.broadcast_to(y, x.shape), x.dtype, x.shape, out)


def gated_forward(name: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """f(a) * b, one multiplication (exact for 16-bit inputs in float32, then rounded once)."""
    a = np.asarray(a)
    with np.errstate(invalid="ignore", over="ignore"):
        y = _values(name, _compute(a), 0) * _compute(b)
    return _finish(y, a.dtype, a.shape, None)


def gated_backward(name: str, grad: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(grad * b * f'(a), grad * f(a)). grad * b in float64, where it is exact (a product that would
    overflow the format is still 0 where f'(a) is), then times 0, 1 or NaN and rounded once."""
    a = np.asarray(a)
    g = _compute(grad)
    with np.errstate(invalid="ignore", over="ignore"):
        gb = np.asarray(grad).astype(np.float64) * np.asarray(b).astype(np.float64)
        ga = gb * _values(name, _compute(a), 1)
        gf = g * _values(name, _compute(a), 0)
    return _finish(ga, a.dtype, a.shape, None), _finish(gf, a.dtype, a.shape, None)
