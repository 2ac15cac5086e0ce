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


# --- Extended precision (np.longdouble, 64-bit significand on x86) ------------------------------
# Used for float64 outputs: Phi(x) = 1/2 + phi(x) S(|x|) with S(x) = sum x^(2n+1)/(2n+1)!! for
# |x| <= 2.5 (positive terms; 1/2 - phi S loses at most 6.3 of the 64 bits), and the Laplace
# continued fraction for the Mills ratio M(x) = Phi(-x)/phi(x) = 1/(x + 1/(x + 2/(x + ...))) beyond,
# with as many terms as each band needs for 2**-66 (counted against mpmath). Exponents are split
# exp(hi) * (1 + lo) with hi a double, so exp sees its argument exactly.

_SERIES_LIMIT = 2.5
_SERIES_TERMS = 32
_CF_BANDS = ((2.5, 3.0, 160), (3.0, 6.0, 80), (6.0, 10.0, 40), (10.0, np.inf, 20))


def _ld(pair: tuple[float, float]) -> np.longdouble:
    return np.longdouble(pair[0]) + np.longdouble(pair[1])


def _pdf_ld(x64: np.ndarray) -> np.ndarray:
    xc = np.clip(x64, -_TAIL_CLAMP, _TAIL_CLAMP)
    s_hi, s_lo = dd.square(xc)
    e = np.exp(np.asarray(-0.5 * s_hi, dtype=np.longdouble)) * (1 - np.asarray(0.5 * s_lo, dtype=np.longdouble))
    return e * _ld(INV_SQRT_2PI)


def _series_terms(u: float, eps: float = 2.0**-72) -> int:
    """Terms of S enough for every 0 <= a <= u: the first n with the rest below eps * a, bounded by
    the geometric series of the term ratio a**2 / (2n + 3) once that ratio is below 1."""
    t, n = 1.0, 0
    while True:
        n += 1
        t *= u * u / (2 * n + 1)  # (term n) / a at a = u, the largest in the band
        q = u * u / (2 * n + 3)
        if q < 1 and t / (1 - q) < eps:
            return n


#: (upper edge of |x|, terms of S): small arguments need few terms (most float32 inputs are tiny)
_SERIES_BANDS = tuple((u, _series_terms(u)) for u in (2.0**-32, 2.0**-16, 2.0**-8, 2.0**-4, 0.25, 1.0)) + (
    (_SERIES_LIMIT, _SERIES_TERMS + 6),)


def _series_ld(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.longdouble)
    total = np.full_like(a, np.nan)  # NaN stays NaN (it falls in no band)
    band = np.searchsorted(np.array([u for u, _ in _SERIES_BANDS]), a.astype(np.float64), side="left")
    for k, (_, terms) in enumerate(_SERIES_BANDS):
        idx = np.flatnonzero(band == k)
        if not idx.size:
            continue
        ab = a[idx]
        a2 = ab * ab
        term = ab.copy()
        acc = ab.copy()
        for n in range(1, terms):
            term = term * a2 / (2 * n + 1)
            acc = acc + term
        total[idx] = acc
    return total


def _mills_ld(a: np.ndarray) -> np.ndarray:
    """M(a) for a >= 2.5 by the continued fraction, evaluated backwards band by band."""
    a = np.asarray(a, dtype=np.longdouble)
    out = np.zeros_like(a)
    for lo, hi, terms in _CF_BANDS:
        band = (a >= lo) & (a < hi)
        if not np.any(band):
            continue
        ab = a[band]
        v = np.zeros_like(ab)
        for k in range(terms, 0, -1):
            v = k / (ab + v)
        out[band] = 1 / (ab + v)
    return out


def _cdf_parts_ld(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(Phi(x), phi(x), tail mask, M(|x|) on the tail) in long double for float64 values x."""
    x64 = x.astype(np.float64)
    a = np.abs(x64)
    pdf = _pdf_ld(x64)
    tail = a > _SERIES_LIMIT
    cdf = np.empty_like(pdf)
    inner = ~tail
    sign = np.where(x64[inner] < 0, -1, 1)
    cdf[inner] = 0.5 + sign * (pdf[inner] * _series_ld(a[inner]))
    mills = _mills_ld(a[tail])
    lower = pdf[tail] * mills
    cdf[tail] = np.where(x64[tail] < 0, lower, 1 - lower)
    return cdf, pdf, tail, mills


def _gelu_ld(x: np.ndarray) -> np.ndarray:
    return x * _cdf_parts_ld(x)[0]


def _gelu_derivative_ld(x: np.ndarray) -> np.ndarray:
    cdf, pdf, tail, mills = _cdf_parts_ld(x)
    xl = np.clip(x, -_TAIL_CLAMP, _TAIL_CLAMP)
    out = cdf + xl * pdf
    # For x < -2.5, Phi + x phi = phi (M + x): one product, and nothing underflows early.
    xt = xl[tail]
    out[tail] = np.where(xt < 0, pdf[tail] * (mills + xt), out[tail])
    return out


def _gelu_second_ld(x: np.ndarray) -> np.ndarray:
    r2 = _ld(SQRT2)
    xl = np.clip(x, -_TAIL_CLAMP, _TAIL_CLAMP)
    return _pdf_ld(x.astype(np.float64)) * ((r2 - xl) * (r2 + xl))


def _extended(double_kernel, long_kernel):
    def kernel(x: np.ndarray) -> np.ndarray:
        if dd.LONG_DOUBLE_IS_WIDER and x.dtype == np.longdouble:
            return long_kernel(x)
        return double_kernel(x)

    kernel.__name__ = double_kernel.__name__
    kernel.__doc__ = double_kernel.__doc__
    return kernel


gelu_kernels = (
    _extended(gelu, _gelu_ld),
    _extended(gelu_derivative, _gelu_derivative_ld),
    _extended(gelu_second_derivative, _gelu_second_ld),
)
