"""The shared fast erfc: its coefficients are what the fit produces, and it is accurate in float64."""

from __future__ import annotations

import mpmath
import numpy as np

from gelulab.functions import fast_erfc as fe


def _float32_grid(lo: float, hi: float, n: int) -> np.ndarray:
    return np.unique(np.linspace(lo, hi, n).astype(np.float32)).astype(np.float64)


def test_stored_coefficients_are_what_the_fits_produce():
    assert fe.fit_tail_polynomial() == fe.TAIL_COEFFICIENTS
    assert fe.fit_exp_polynomial() == fe.EXP_COEFFICIENTS
    assert len(fe.TAIL_COEFFICIENTS) == fe.TAIL_DEGREE + 1 and len(fe.EXP_COEFFICIENTS) == fe.EXP_DEGREE + 1


def test_ln2_split_is_exact_for_the_range_reduction():
    hi_bits = np.float64(fe.LN2_HI).view(np.int64)
    assert hi_bits & ((1 << 20) - 1) == 0  # k * LN2_HI exact for |k| < 2**20
    with mpmath.workdps(40):
        assert abs(mpmath.mpf(fe.LN2_HI) + mpmath.mpf(fe.LN2_LO) - mpmath.log(2)) < mpmath.mpf(2) ** -80


def test_gaussian_tail_is_accurate_to_2_pow_minus_48_on_float32_inputs():
    x = np.concatenate([_float32_grid(0, fe.X_MAX, 3001), _float32_grid(0, 1e-3, 50)])
    q = fe.gaussian_tail(x)
    with mpmath.workdps(40):
        exact = [mpmath.erfc(mpmath.mpf(v) / mpmath.sqrt(2)) / 2 for v in x]
        rel = max(abs((mpmath.mpf(a) - e) / e) for a, e in zip(q, exact, strict=True))
    assert rel < 2.0**-48, float(rel)


def test_exp_is_accurate_to_2_pow_minus_50():
    a = -0.5 * _float32_grid(0, fe.X_MAX, 2001) ** 2
    with mpmath.workdps(40):
        rel = max(abs(mpmath.mpf(v) / mpmath.exp(mpmath.mpf(t)) - 1) for v, t in zip(fe.exp_fast(a), a, strict=True))
    assert rel < 2.0**-50, float(rel)


def test_erfc_matches_mpmath_in_the_centre():
    z = np.linspace(0, 3, 301)
    with mpmath.workdps(30):
        rel = max(abs(mpmath.mpf(v) / mpmath.erfc(mpmath.mpf(t)) - 1) for v, t in zip(fe.erfc(z), z, strict=True))
    # z*sqrt(2) is rounded here (the kernels avoid that), so a few more ulps than gaussian_tail
    assert rel < 2.0**-45, float(rel)


def test_tail_polynomial_degree_is_needed():
    """One degree less and the fit misses the 2^-48 target: the stored degree is not padding."""
    lower = fe.fit_tail_polynomial(fe.TAIL_DEGREE - 2)
    w = 1.0 / (1.0 + fe.TAIL_C * np.linspace(0, fe.X_MAX, 400)) - fe.TAIL_SHIFT
    with mpmath.workdps(40):
        worst = max(abs(float(np.polyval(lower, v)) / fe._tail_target(mpmath.mpf(v)) - 1) for v in w)
    assert worst > 2.0**-48
