"""The one rounding decision (gelulab.functions.rounding) against mpmath's rounding."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from gelulab import reference
from gelulab.functions import get
from gelulab.functions.rounding import (
    FORMATS,
    correctly_rounded,
    midpoint_distance,
    round_to_grid,
    tiny_taylor,
    undecided,
)
from gelulab.functions.rounding_kernel import decide

NARROW = ("float32", "float16", "bfloat16")


def _values(rng: np.random.Generator) -> np.ndarray:
    """float64 values over every binade of the narrow formats, their midpoints, subnormals and overflow."""
    v = np.ldexp(rng.uniform(0.5, 1.0, 4000), rng.integers(-160, 132, 4000))
    f32 = np.finfo(np.float32)
    edges = [f32.max, float(f32.max) * (1 + 2.0**-25), 65504.0, 65520.0, 65519.99, 2.0**-150, 2.0**-25,
             3 * 2.0**-150, 1 + 2.0**-24, 1 + 2.0**-8, 1 + 3 * 2.0**-9, 0.0, np.inf, np.nan]
    return np.concatenate([v, -v, edges, -np.asarray(edges)])


@pytest.mark.parametrize("fmt", NARROW)
def test_round_to_grid_is_mpmaths_nearest_even_rounding(fmt):
    v = _values(np.random.default_rng(3))
    got = round_to_grid(v, FORMATS[fmt])
    want = np.array([reference.round_to_format(mpmath.mpf(float(x)), fmt) if np.isfinite(x) else x for x in v])
    same = (got == want) | (np.isnan(got) & np.isnan(want))
    assert same.all(), [(float(a).hex(), float(b).hex()) for a, b in zip(v[~same], got[~same], strict=True)][:5]
    assert np.array_equal(np.signbit(got[np.isfinite(v)]), np.signbit(v[np.isfinite(v)]))


@pytest.mark.parametrize("fmt", NARROW + ("float64",))
def test_compiled_decision_rounds_as_mpmath_and_finds_every_midpoint_within_the_bound(fmt):
    v = _values(np.random.default_rng(4))
    f = FORMATS[fmt]
    # each value's nearest midpoint, and values just beside it: the bound decides which are open
    finite = v[np.isfinite(v) & (np.abs(v) < f.largest) & (np.abs(v) >= 2.0 ** (f.emin + 1))]  # normal: ulp by binade
    mids = [float(reference.round_to_format(mpmath.mpf(float(x)), fmt)) for x in finite[:300]]
    half = [float(np.ldexp(1.0, int(np.frexp(m)[1]) - f.precision - 1)) for m in mids]
    # the midpoint below a power of two is half as far
    near = np.array([m + h * (s if s > 0 or np.frexp(m)[0] != 0.5 else -0.5)
                     for m, h in zip(mids, half, strict=True) for s in (1, -1)])
    above = np.ldexp(1.0, np.arange(f.emax + 1, 1024, 7)) * 1.37  # past the overflow threshold: decided as inf
    v = np.concatenate([v, near, np.nextafter(near, np.inf), np.nextafter(near, -np.inf), above, -above])
    bound = np.abs(v) * 2.0**-50 + 2.0**-1060  # covers a float64 step beside each midpoint
    got, open_ = decide(v, f, bound)
    want = np.array([reference.round_to_format(mpmath.mpf(float(x)), fmt) if np.isfinite(x) else x for x in v])
    same = (got == want) | (np.isnan(got) & np.isnan(want))
    assert same.all(), [(float(a).hex(), float(b).hex()) for a, b in zip(v[~same], got[~same], strict=True)][:5]
    assert np.array_equal(np.signbit(got[~np.isnan(v)]), np.signbit(v[~np.isnan(v)]))
    # open exactly where a midpoint (or the overflow threshold) lies in [v - bound, v + bound], by mpmath
    with mpmath.workprec(1200):
        def has_midpoint(x: float, b: float) -> bool:
            if not np.isfinite(x):
                return False
            lo, hi = mpmath.mpf(x) - mpmath.mpf(b), mpmath.mpf(x) + mpmath.mpf(b)
            return reference.round_to_format(lo, fmt) != reference.round_to_format(hi, fmt) or lo == 0 != hi
        exact = np.array([has_midpoint(float(x), float(b)) for x, b in zip(v, bound, strict=True)])
    if fmt == "float64":  # float64 itself: its midpoints are not float64 values, mpmath sees no interval
        exact = np.abs(v) * 2.0**-50 >= np.ldexp(1.0, np.frexp(np.abs(v))[1] - 54)
        exact &= np.isfinite(v)
        exact |= v == 0
    assert np.array_equal(open_, exact), v[open_ != exact][:5]
    if fmt != "float64":
        start = v.size - 3 * near.size - 2 * above.size
        assert open_[start:start + 3 * near.size].all()  # every midpoint and the float64 values beside it are open
    # without a bound: max(ulps * spacing(|v|), absolute), the float64 kernels' bound
    _, open64 = decide(v, f, None, 64.0, 2.0**-1000)
    assert np.array_equal(open64, undecided(v, np.maximum(64 * np.spacing(np.abs(v)), 2.0**-1000), f))


def test_round_to_grid_rounds_long_double_values_once():
    # 1 + 2**-24 + 2**-60 is above the float32 midpoint: float64 would round it onto the tie first
    v = np.array([1, -1], dtype=np.longdouble) * (np.longdouble(1) + np.longdouble(2.0**-24) + np.longdouble(2.0**-60))
    if np.finfo(np.longdouble).nmant <= 52:
        pytest.skip("long double is float64 on this platform: there is no wider value to round")
    assert list(round_to_grid(v, FORMATS["float32"])) == [1 + 2.0**-23, -(1 + 2.0**-23)]


def test_undecided_means_a_midpoint_lies_within_the_bound():
    fmt = FORMATS["float32"]
    mid = 1 + 2.0**-24
    v = np.array([mid, mid + 2.0**-40, mid + 2.0**-30, 1.0, np.nan, np.inf])
    bound = np.full(v.shape, 2.0**-35)
    assert list(undecided(v, bound, fmt)) == [True, True, False, False, False, False]
    assert midpoint_distance(np.array([mid + 2.0**-30]), fmt)[0] == 2.0**-30


def test_silu_derivative_tie_near_zero_is_decided_by_the_cubic_term():
    # SiLU'(x) = 1/2 + x/2 - x**3/12: at x = 0x1.3p-20, 1/2 + x/2 is a float32 midpoint and float64
    # cannot see the cubic term; the decision must not round the tie to even (for -x, 1/2 - x/2 is
    # on the finer grid below 1/2: no tie)
    x = np.array([float.fromhex("0x1.3p-20"), -float.fromhex("0x1.3p-20")])
    r = correctly_rounded(get("silu"), x, 1, FORMATS["float32"])
    want = [reference.round_to_format(reference.evaluate("silu", float(v), 1), "float32") for v in x]
    assert list(r.rounded) == want
    assert r.oracle + r.long_double == 1


def test_products_are_decided_as_products():
    # 3 * sigma(x) near the tie of 1/2 + x/4: the factor scales the value and its bound
    x = np.array([3.5762786865234375e-07, 0.25, -1.5])
    factor = np.array([1.0, 3.0, -0.75])
    r = correctly_rounded(get("softplus"), x, 1, FORMATS["float32"], factor=factor)
    with mpmath.workprec(300):
        want = [reference.round_to_format(reference.evaluate("softplus", float(v), 1) * f, "float32")
                for v, f in zip(x, factor, strict=True)]
    assert list(r.rounded) == want


def test_tiny_rule_coefficients_come_from_the_oracle_on_each_side():
    left, right = tiny_taylor("gelu", 0)
    assert left == right and left[0] == 0.5 and left[1] > 0
    assert tiny_taylor("relu", 0) == (None, None)  # c1 = 0 on the left, c2 = 0 on the right
    r = correctly_rounded(get("gelu"), np.array([2.0**-149, -(2.0**-149)]), 0, FORMATS["float32"])
    assert r.tie_resolved == 2 and r.oracle == 0
    assert r.rounded[0] == 2.0**-149 and r.rounded[1] == 0 and np.signbit(r.rounded[1])


def test_subnormal_ties_take_the_tiny_rule_before_long_double(monkeypatch):
    """A network whose activations shrank to subnormals sends nearly every element to the rounding
    decision: its x/2 ties must be decided by the exact tiny-x rule, not evaluated in long double."""
    from gelulab.functions import rounding as r

    odd = np.arange(1, 2001, 2, dtype=np.uint32).view(np.float32).astype(np.float64)  # x/2 a float32 midpoint
    x = np.concatenate([odd, -odd])
    calls = []
    real = r.long_double_values
    monkeypatch.setattr(r, "long_double_values", lambda *a: calls.append(a[3].size) or real(*a))
    for name in ("gelu", "silu", "gelu_tanh"):
        got = r.correctly_rounded(get(name), x, 0, r.FORMATS["float32"])
        assert got.tie_resolved == x.size and got.long_double == 0 and got.oracle == 0
        want = [reference.round_to_format(reference.evaluate(name, float(v), 0), "float32") for v in x[::97]]
        assert np.array_equal(got.rounded[::97], want), name
    assert calls == []
