"""Grading statistics: ulp errors, flushes, overflows, and exact merging across chunks."""

from __future__ import annotations

import numpy as np

from gelulab.accuracy import GradeStats, correctly_rounded, dtype_info, grade
from gelulab.accuracy.grading import NONFINITE


def _setup(x):
    dt = dtype_info("float32")
    x = np.asarray(x, dtype=np.float32)
    return dt, x, correctly_rounded("gelu", x, 0, dt)


def test_one_ulp_off_is_not_correctly_rounded_and_costs_between_half_and_one_and_a_half_ulp():
    dt, x, ref = _setup([0.3, 1.7, -2.5])
    computed = np.nextafter(ref.rounded.astype(np.float32), np.float32(np.inf))
    s = grade(x, computed, ref.exact, ref.rounded, dt)
    assert s.correct == 0 and s.count == 3
    assert 0.5 <= s.max_ulp <= 1.5


def test_flush_to_zero_and_overflow_are_counted_by_region():
    dt, x, ref = _setup([-9.0, -6.0, 1.0, 2.0**127])
    computed = ref.rounded.astype(np.float32).copy()
    computed[[0, 1]] = 0.0
    computed[3] = np.inf
    s = grade(x, computed, ref.exact, ref.rounded, dt)
    assert s.flushed_to_zero == 2 and s.overflowed == 1 and s.correct == 1
    assert s.regions["-16 <= x < -4"].flushed == 2
    assert s.max_ulp == np.inf and float.fromhex(s.worst_x) == 2.0**127
    assert s.regions["-16 <= x < -4"].max_ulp > 2.0**23  # a flushed normal result is ~2**24 ulp off


def test_nan_for_a_finite_exact_value_is_an_infinite_error_and_infinities_are_their_own_region():
    dt, x, ref = _setup([np.inf, -np.inf, 1.0])
    computed = np.array([np.inf, np.nan, np.nan], dtype=np.float32)
    s = grade(x, computed, ref.exact, ref.rounded, dt)
    assert s.nan_mismatch == 2
    assert s.regions[NONFINITE].count == 2 and s.regions[NONFINITE].correct == 1
    assert s.finite_count == 1 and s.finite_correct == 0 and s.max_ulp == np.inf


def test_merging_two_halves_equals_grading_the_whole():
    dt = dtype_info("float32")
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(4000) * 6).astype(np.float32)
    ref = correctly_rounded("gelu", x, 0, dt)
    noisy = (ref.rounded * (1 + rng.normal(0, 1e-7, x.size))).astype(np.float32)
    whole = grade(x, noisy, ref.exact, ref.rounded, dt)
    a = grade(x[:1234], noisy[:1234], ref.exact[:1234], ref.rounded[:1234], dt)
    b = grade(x[1234:], noisy[1234:], ref.exact[1234:], ref.rounded[1234:], dt)
    merged = GradeStats()
    merged.merge(a)
    merged.merge(b)
    assert merged.to_dict() == whole.to_dict()
    assert GradeStats.from_dict(whole.to_dict()).to_dict() == whole.to_dict()
