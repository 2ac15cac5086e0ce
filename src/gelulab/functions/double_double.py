"""Error-free transformations on NumPy float64 arrays (Dekker / Knuth).

NumPy has no fused multiply-add, so products are made exact with Veltkamp's split. These are
what keep the tails of GELU within a couple of ulp: the argument x/sqrt(2) and the exponent
x**2/2 are carried as unevaluated sums ``hi + lo`` so that exp(-x**2/2) only sees the
rounding error of exp itself. Inputs must satisfy |a| < 2**995 (callers clamp the tails,
where the result no longer depends on these digits).
"""

from __future__ import annotations

import numpy as np

_SPLITTER = 134217729.0  # 2**27 + 1

#: Whether np.longdouble carries more significand bits than float64 (x86: 64 against 53). Where
#: it does, float64 results are evaluated in it and rounded once.
LONG_DOUBLE_IS_WIDER: bool = np.finfo(np.longdouble).nmant > np.finfo(np.float64).nmant

DD = tuple[np.ndarray, np.ndarray]


def two_sum(a: np.ndarray, b: np.ndarray) -> DD:
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _split(a: np.ndarray) -> DD:
    c = _SPLITTER * a
    hi = c - (c - a)
    return hi, a - hi


def two_prod(a: np.ndarray, b: np.ndarray) -> DD:
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def mul_d_dd(x: np.ndarray, c: tuple[float, float]) -> DD:
    """x * (c_hi + c_lo) for a double x and a double-double constant."""
    p, e = two_prod(x, np.float64(c[0]))
    return p, e + x * c[1]


def mul_dd(a: DD, b: DD) -> DD:
    p, e = two_prod(a[0], b[0])
    e = e + (a[0] * b[1] + a[1] * b[0])
    return two_sum_fast(p, e)


def two_sum_fast(a: np.ndarray, b: np.ndarray) -> DD:
    """Renormalise when |a| >= |b| (or a == 0)."""
    s = a + b
    return s, b - (s - a)


def add_dd(a: DD, b: DD) -> DD:
    s, e = two_sum(a[0], b[0])
    return two_sum_fast(s, e + a[1] + b[1])


def square(x: np.ndarray) -> DD:
    return two_prod(x, x)


def exp_dd(a: DD) -> np.ndarray:
    """exp(hi + lo) with |lo| <= ulp(hi): exp(hi) * (1 + lo) is exact to second order in lo."""
    return np.exp(a[0]) * (1.0 + a[1])
