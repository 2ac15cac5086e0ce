r"""The fast erfc shared by every compiled kernel (numba on the CPU, Triton on the GPU).

The kernels need the Gaussian upper tail

.. math::  Q(x) = 1 - \Phi(x) = \tfrac12\operatorname{erfc}(x/\sqrt2), \qquad x \ge 0,

in float64 to about 2^-49 relative, with no libm call per element (so a loop of it vectorises)
and no table lookups (so no gathers). The form evaluated is

.. math::  Q(x) = u\,E(u - s)\,e^{-x^2/2}, \qquad u = \frac{1}{1 + c\,x},

with ``c = 0.2``, ``s = 0.625`` and E a polynomial of degree 17. Why this form:

* the Gaussian factor is taken out exactly: for a float32 x, x*x is exact in float64, so
  e^{-x^2/2} sees only the rounding of the exponential itself (a rounded x/sqrt(2) would cost
  2 t^2 ~ 400 ulp at the tail);
* what is left, Q(x) e^{x^2/2} / u, is the Mills ratio times (1 + c x)/sqrt(2 pi): smooth and
  bounded on all of [0, inf) (it tends to c/sqrt(2 pi)), so one polynomial in u covers
  [0, X_MAX] (u in [1/4, 1]); the shift s centres u so the coefficients stay below 1;
* cost: one division, 17 + 10 fused multiply-adds, a few selects.

The fit uses the binary values of ``c`` and ``s`` exactly, so the kernels' ``1 + c*x`` is the fit's u.
Beyond ``X_MAX`` = 15, Q(x) < 4e-51: every float32 GELU value is then x or -0.0.

The exponential is evaluated the same way in every kernel: e^a = 2^k e^r, k = round(a/ln 2),
r = (a - k ln2_hi) - k ln2_lo (ln2_hi has zero low bits, so k*ln2_hi is exact), e^r by a
degree-10 polynomial on |r| <= ln(2)/2.

Both polynomials are Chebyshev interpolants computed with mpmath at 40 digits
(:func:`fit_tail_polynomial`, :func:`fit_exp_polynomial`); the stored coefficients are exactly
what those functions return (``python -m gelulab.functions.fast_erfc`` prints them, and a test
checks they match). Measured relative error of the float64 evaluation (tests/kernels):
about 2^-50 for E, 2^-51 for the exponential, below 2^-48 for Q on [0, 15].
"""

from __future__ import annotations

import mpmath
import numpy as np

from .constants import INV_SQRT_2PI as _INV_SQRT_2PI_DD

#: u = 1/(1 + TAIL_C*x). The fit uses this float's exact binary value, so the kernels' u is the fit's u.
TAIL_C = 0.2
#: E is a polynomial in w = u - TAIL_SHIFT (centres [1/4, 1])
TAIL_SHIFT = 0.625
#: the fit interval is x in [0, X_MAX]; beyond it the kernels clamp (Q(15) < 4e-51)
X_MAX = 15.0
TAIL_DEGREE = 17
FIT_DPS = 40

#: E(w) coefficients, highest degree first (Horner order)
TAIL_COEFFICIENTS: tuple[float, ...] = (
    -0.0027574483965893894, -0.0009448373737849959, 0.006942941108138752, 0.0020145762892875836,
    -0.01393297056908274, -0.005749133436065688, 0.02787066343640713, 0.02445288912634452,
    -0.049232009362503125, -0.1043024945503721, 0.0034595206860100433, 0.30590717649471816,
    0.6608987329700444, 0.8712444731330498, 0.8457684416969578, 0.6435288606389713,
    0.3934452078653628, 0.19442231736889964,
)

EXP_DEGREE = 10
#: e^r on |r| <= ln(2)/2, highest degree first
EXP_COEFFICIENTS: tuple[float, ...] = (
    2.7626357241447223e-07, 2.764018079620985e-06, 2.4801504346997686e-05, 0.00019841170270440067,
    0.0013888888932488599, 0.008333333385667782, 0.04166666666657314, 0.16666666666554406,
    0.5000000000000006, 1.0000000000000067, 1.0,
)
LOG2_E = 1.4426950408889634
#: ln 2 = LN2_HI + LN2_LO with 32 trailing zero bits in LN2_HI (fdlibm's split): k * LN2_HI is exact
LN2_HI = 0.6931471803691238
LN2_LO = 1.9082149292705877e-10
#: 1/sqrt(2 pi), for the Gaussian density phi(x) = e^{-x^2/2} / sqrt(2 pi)
INV_SQRT_2PI = _INV_SQRT_2PI_DD[0]


def _tail_target(w: mpmath.mpf) -> mpmath.mpf:
    """E(w) = Q(x) e^{x^2/2} / u at u = w + s, x = (1/u - 1)/c, in mpmath."""
    u = w + mpmath.mpf(TAIL_SHIFT)
    x = (1 / u - 1) / mpmath.mpf(TAIL_C)
    return mpmath.erfc(x / mpmath.sqrt(2)) / 2 * mpmath.exp(x * x / 2) / u


def fit_tail_polynomial(degree: int = TAIL_DEGREE, dps: int = FIT_DPS) -> tuple[float, ...]:
    """Chebyshev interpolant of E on w in [1/(1 + c X_MAX) - s, 1 - s], coefficients highest first."""
    with mpmath.workdps(dps):
        lo = 1 / (1 + mpmath.mpf(TAIL_C) * mpmath.mpf(X_MAX)) - mpmath.mpf(TAIL_SHIFT)
        hi = 1 - mpmath.mpf(TAIL_SHIFT)
        poly = mpmath.chebyfit(_tail_target, [lo, hi], degree + 1)
    return tuple(float(p) for p in poly)


def fit_exp_polynomial(degree: int = EXP_DEGREE, dps: int = FIT_DPS) -> tuple[float, ...]:
    """Chebyshev interpolant of e^r on |r| <= ln(2)/2, coefficients highest first."""
    with mpmath.workdps(dps):
        half = mpmath.log(2) / 2
        poly = mpmath.chebyfit(mpmath.exp, [-half, half], degree + 1)
    return tuple(float(p) for p in poly)


def _horner(coefficients: tuple[float, ...], w: np.ndarray) -> np.ndarray:
    acc = np.zeros_like(w)
    for c in coefficients:
        acc = acc * w + c
    return acc


def exp_fast(a: np.ndarray) -> np.ndarray:
    """e^a for float64 a in [-700, 0], as the kernels evaluate it (NumPy mirror, for tests)."""
    a = np.asarray(a, dtype=np.float64)
    k = np.rint(a * LOG2_E)
    r = (a - k * LN2_HI) - k * LN2_LO
    return np.ldexp(_horner(EXP_COEFFICIENTS, r), k.astype(np.int64))


def gaussian_tail(x: np.ndarray) -> np.ndarray:
    """Q(x) = erfc(x/sqrt2)/2 for float64 x in [0, X_MAX], as the kernels evaluate it."""
    x = np.asarray(x, dtype=np.float64)
    u = 1.0 / (1.0 + TAIL_C * x)
    return u * _horner(TAIL_COEFFICIENTS, u - TAIL_SHIFT) * exp_fast(-0.5 * (x * x))


def erfc(z: np.ndarray) -> np.ndarray:
    """erfc(z) for float64 z >= 0 up to X_MAX/sqrt(2), through Q: erfc(z) = 2 Q(z sqrt2).

    For checking the algorithm against mpmath; the kernels call :func:`gaussian_tail`'s form on
    the Gaussian variable directly (rounding z*sqrt2 costs |2 z^2| ulps in the tail).
    """
    return 2.0 * gaussian_tail(np.asarray(z, dtype=np.float64) * np.sqrt(2.0))


if __name__ == "__main__":
    print("TAIL_COEFFICIENTS =", fit_tail_polynomial())
    print("EXP_COEFFICIENTS =", fit_exp_polynomial())
