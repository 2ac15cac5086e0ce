r"""The Gaussian pieces of exact GELU, in float64 with double-double arguments.

GELU(x) = x \Phi(x) with \Phi(x) = \tfrac12\operatorname{erfc}(-x/\sqrt2).

Forms evaluated, and why:

* x < 0: \Phi(x) = \tfrac12 \operatorname{erfcx}(t)\, e^{-t^2}, t = -x/\sqrt2. Never
  ``1 + erf(x/sqrt2)`` (cancels to nothing below x = -6) and never ``erfc(t)`` with a rounded
  t in the tail: the rounding of t (and of t**2) is multiplied by 2 t**2 ~ 1400 in the
  relative error of exp(-t**2). Here t and t**2 are double-double, erfcx (Faddeeva, scaled so
  it has no exponential) is corrected to first order for the low part of t, and the exponent
  is exact up to exp's own rounding.
* x >= 0: \Phi(x) = 1 - \tfrac12 \operatorname{erfc}(x/\sqrt2): no cancellation, the erfc term is
  below one half.
* GELU'(x) = \Phi(x) + x\varphi(x); for x < 0 it is \varphi(x)(M(x) + x) with the Mills
  ratio M = \Phi/\varphi = \sqrt{\pi/2}\operatorname{erfcx}(t), so one exponential serves both
  terms and nothing underflows early. Its root near -0.7518 is handled by a local expansion
  (:mod:`gelulab.functions.root_patches`).
* GELU''(x) = \varphi(x)(2 - x^2) = \varphi(x)(\sqrt2 - x)(\sqrt2 + x) with a double-double
  sqrt(2), so the roots at +-sqrt(2) keep full relative accuracy.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from . import double_double as dd
from .constants import INV_SQRT2, INV_SQRT_2PI, SQRT2, SQRT_PI_OVER_2

# Beyond |x| = 40 the Gaussian factor exp(-x**2/2) is below 1e-347: zero in float64.
_TAIL_CLAMP = 40.0
_SQRT_PI = float(np.sqrt(np.pi))
# Inside |x| <= 1/2, 1/2 + erf/2 loses less than half a bit and erf is accurate to ~1 ulp.
_CENTRAL = 0.5


def _scaled_tail(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For x <= 0: (erfcx(t) corrected for t_lo, exp(-t**2)) with t = -x/sqrt(2) exact to 2**-106."""
    xc = np.maximum(x, -_TAIL_CLAMP)
    t_hi, t_lo = dd.mul_d_dd(-xc, INV_SQRT2)
    s_hi, s_lo = dd.square(t_hi)
    s_lo = s_lo + 2.0 * t_hi * t_lo
    gauss = dd.exp_dd((-s_hi, -s_lo))
    ex = special.erfcx(t_hi)
    # erfcx'(t) = 2 t erfcx(t) - 2/sqrt(pi): first-order correction for the low part of t.
    ex = ex + t_lo * (2.0 * t_hi * ex - 2.0 / _SQRT_PI)
    return ex, gauss


def _upper_tail(x: np.ndarray) -> np.ndarray:
    """For x >= 0: erfc(x/sqrt(2)) / 2 = 1 - Phi(x)."""
    ex, gauss = _scaled_tail(-x)
    return 0.5 * ex * gauss


def _central_cdf(x: np.ndarray) -> np.ndarray:
    """Phi(x) for |x| <= 1/2 from erf, where erfcx * exp would add two roundings near 1/2."""
    xc = np.clip(x, -_CENTRAL, _CENTRAL)
    t_hi, t_lo = dd.mul_d_dd(xc, INV_SQRT2)
    erf = special.erf(t_hi) + t_lo * (2.0 / _SQRT_PI) * np.exp(-t_hi * t_hi)
    return 0.5 + 0.5 * erf


def normal_cdf(x: np.ndarray) -> np.ndarray:
    """Phi(x) in float64, relative error of a few ulp everywhere (including the far left tail)."""
    ex, gauss = _scaled_tail(np.minimum(x, 0.0))
    left = 0.5 * ex * gauss
    right = 1.0 - _upper_tail(np.maximum(x, 0.0))
    return np.where(np.abs(x) <= _CENTRAL, _central_cdf(x), np.where(x < 0, left, right))


def normal_pdf(x: np.ndarray) -> np.ndarray:
    """phi(x) = exp(-x**2/2)/sqrt(2 pi), with the exponent carried exactly."""
    xc = np.clip(x, -_TAIL_CLAMP, _TAIL_CLAMP)
    s_hi, s_lo = dd.square(xc)
    return dd.exp_dd((-0.5 * s_hi, -0.5 * s_lo)) * INV_SQRT_2PI[0]


def gelu(x: np.ndarray) -> np.ndarray:
    ex, gauss = _scaled_tail(np.minimum(x, 0.0))
    # Multiply the normal-range factors first so an underflowing Gaussian rounds only once.
    left = (0.5 * x * ex) * gauss
    right = x * (1.0 - _upper_tail(np.maximum(x, 0.0)))
    central = x * _central_cdf(x)
    return np.where(np.abs(x) <= _CENTRAL, central, np.where(x < 0, left, right))


def gelu_derivative(x: np.ndarray) -> np.ndarray:
    xn = np.minimum(x, 0.0)
    ex, gauss = _scaled_tail(xn)
    mills = SQRT_PI_OVER_2[0] * ex
    left = (gauss * INV_SQRT_2PI[0]) * (mills + xn)
    xp = np.maximum(x, 0.0)
    right = (1.0 - _upper_tail(xp)) + xp * normal_pdf(xp)
    central = _central_cdf(x) + x * normal_pdf(x)
    return np.where(np.abs(x) <= _CENTRAL, central, np.where(x < 0, left, right))


def gelu_second_derivative(x: np.ndarray) -> np.ndarray:
    a = (SQRT2[0] - x) + SQRT2[1]
    b = (SQRT2[0] + x) + SQRT2[1]
    return normal_pdf(x) * (a * b)
