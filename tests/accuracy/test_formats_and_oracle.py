"""The dtype enumeration, ulps, and the correctly rounded reference against the mpmath oracle."""

from __future__ import annotations

import numpy as np
import pytest

from gelulab import reference
from gelulab.accuracy import correctly_rounded, dtype_info
from gelulab.accuracy.formats import ulp
from gelulab.functions.rounding import midpoint_distance


@pytest.mark.parametrize("name", ["float16", "bfloat16"])
def test_ordinals_enumerate_every_16bit_pattern_in_increasing_order(name):
    dt = dtype_info(name)
    raw = dt.from_ordinals(np.arange(dt.count))
    assert len(np.unique(raw.view(dt.uint))) == dt.count
    with np.errstate(invalid="ignore"):
        x = raw.astype(np.float64)
    finite = x[np.isfinite(x)]
    assert np.all(np.diff(finite) >= 0)  # -0.0 then +0.0 compare equal
    assert np.isnan(x[0]) and np.isnan(x[-1])


def test_ordinal_of_a_value_rounds_inwards_and_round_trips():
    dt = dtype_info("float32")
    lo, hi = dt.ordinal(-8.3, "up"), dt.ordinal(-8.2, "down")
    xs = dt.from_ordinals(np.array([lo, hi])).astype(np.float64)
    assert -8.3 <= xs[0] <= xs[1] <= -8.2
    below = dt.from_ordinals(np.array([lo - 1])).astype(np.float64)[0]
    assert below < -8.3
    assert dt.ordinal(float(xs[0]), "up") == lo == dt.ordinal(float(xs[0]), "down")


def test_ulp_matches_numpy_spacing_for_float32_values():
    rng = np.random.default_rng(1)
    v = (rng.standard_normal(1000) * 2.0 ** rng.integers(-140, 120, 1000)).astype(np.float32)
    v = v[(v != 0) & np.isfinite(v)]
    expected = np.spacing(np.abs(v)).astype(np.float64)  # float32 spacing
    assert expected.max() > 1e20 and expected.min() == 2.0**-149
    assert np.array_equal(ulp(v.astype(np.float64), dtype_info("float32").fmt), expected)


def test_midpoint_distance_is_zero_on_midpoints_and_half_ulp_on_grid_points():
    dt = dtype_info("float32")
    d = midpoint_distance(np.array([1.0 + 2.0**-24, 1.0 + 2.0**-23]), dt.fmt)
    assert d[0] == 0.0 and d[1] == 2.0**-24


def _oracle(name, xs, order, dtype):
    fmt = dtype_info(dtype).fmt
    return np.array([reference.round_to_format(reference.evaluate(name, float(x), order), fmt) for x in xs])


@pytest.mark.parametrize("name,order", [("gelu", 0), ("gelu", 1), ("gelu_tanh", 0), ("silu", 1)])
def test_reference_equals_mpmath_on_random_float32_inputs(name, order):
    rng = np.random.default_rng(7)
    bits = rng.integers(0, 2**32, 150, dtype=np.uint64).astype(np.uint32)
    x = bits.view(np.float32)
    x = np.concatenate([x[np.isfinite(x)], rng.standard_normal(150).astype(np.float32) * 4])
    got = correctly_rounded(name, x, order, dtype_info("float32")).rounded
    assert np.array_equal(got, _oracle(name, x, order, "float32"))


def test_exact_ties_near_zero_are_settled_by_the_second_order_term():
    dt = dtype_info("float32")
    x = np.array([2.0**-149, -(2.0**-149), 3 * 2.0**-149], dtype=np.float32)
    ref = correctly_rounded("gelu", x, 0, dt)
    assert ref.tie_resolved == 3 and ref.escalated == 0
    assert np.array_equal(ref.rounded, _oracle("gelu", x, 0, "float32"))
    assert np.signbit(ref.rounded[1])  # -2**-150 + c2*x**2 rounds to -0.0, not +0.0


def test_inputs_near_a_rounding_boundary_are_escalated_and_counted():
    dt = dtype_info("float32")
    hard = np.array([float.fromhex("-0x1.3e49fcp-14"), float.fromhex("-0x1.887004p-21"), 0.5], dtype=np.float32)
    ref = correctly_rounded("gelu", hard, 0, dt)
    assert ref.escalated + ref.long_double == 2  # long double first, the oracle where it cannot decide
    assert np.array_equal(ref.rounded, _oracle("gelu", hard, 0, "float32"))


def test_verify_measures_the_float64_error_bound():
    dt = dtype_info("float32")
    x = np.linspace(-12, 6, 4001).astype(np.float32)
    ref = correctly_rounded("gelu", x, 1, dt, verify=40)
    assert ref.verified == 40 and not ref.verify_failures
    assert 0 <= ref.verify_worst_float64_ulps < 64
