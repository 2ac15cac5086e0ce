"""The core form (|x| <= 3.5): stored polynomials, error bounds against mpmath, and the kernels that
take it agree bit for bit with the correctly rounded reference."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from gelulab import reference
from gelulab.accuracy.sampler import derivative_roots
from gelulab.functions import fast_core as fc
from gelulab.functions import get
from gelulab.kernels.cpu import fast, reference_path

KEYS = list(fc.CORE_DEGREES)


def _bits_equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.asarray(a), np.asarray(b)
    return (a.view(np.uint32) == b.view(np.uint32)) | (np.isnan(a) & np.isnan(b))


def _core_inputs(n: int = 1200, seed: int = 5) -> np.ndarray:
    """float32 points over the core, its ends, zero's neighbourhood and the roots of f' and f''."""
    rng = np.random.default_rng(seed)
    edge = np.float32(fc.X_CORE)
    return np.concatenate([
        np.linspace(-fc.X_CORE, fc.X_CORE, n), rng.uniform(-fc.X_CORE, fc.X_CORE, n),
        [edge, -edge, np.nextafter(edge, np.float32(0)), -np.nextafter(edge, np.float32(0)), 0.0, 1e-30, -1e-30],
        *(rng.uniform(r - 1e-4, r + 1e-4, 40) for name in fast.CORE_NAMES for r in derivative_roots(name)),
    ]).astype(np.float32)


def test_stored_coefficients_are_what_the_fits_produce():
    for key in KEYS:
        assert fc.fit_core_polynomial(*key) == fc.CORE_COEFFICIENTS[key], key
        assert len(fc.CORE_COEFFICIENTS[key]) == fc.CORE_DEGREES[key] + 1


def test_core_scale_maps_the_core_onto_the_chebyshev_interval():
    """w = x^2 s - 1 runs over [-1, 1] up to the rounding of s (the fit uses s's exact value)."""
    assert 0.0 * fc.CORE_SCALE - 1.0 == -1.0
    assert abs(fc.X_CORE**2 * fc.CORE_SCALE - 1.0 - 1.0) <= 2.0**-51


def _oracle(name: str, x: np.ndarray, order: int, s: np.ndarray | None = None) -> list:
    with mpmath.workdps(40):
        values = [reference.evaluate(name, float(xv), order, dps=40) for xv in x]
        return values if s is None else [mpmath.mpf(float(sv)) * v for sv, v in zip(s, values, strict=True)]


@pytest.mark.parametrize("key", KEYS, ids=lambda k: f"{k[0]}-order{k[1]}")
def test_kernel_core_intervals_hold_the_oracle(key):
    """The kernels' own core intervals (fused multiply-adds and all) hold the true value, and are
    not loose by orders of magnitude either: the worst input spends more than 1/64 of the room."""
    name, order = key
    x = _core_inputs()
    low, high = fast.core_ends(name, x, order)
    worst = 0.0
    with mpmath.workdps(40):
        for xv, lo, hi, ref in zip(x, low, high, _oracle(name, x, order), strict=True):
            assert mpmath.mpf(float(lo)) <= ref <= mpmath.mpf(float(hi)), (xv, lo, hi, ref)
            if hi > lo:
                mid = (mpmath.mpf(float(lo)) + mpmath.mpf(float(hi))) / 2
                worst = max(worst, float(abs(ref - mid) / (mpmath.mpf(float(hi)) - mid)))
            else:
                assert lo == ref, xv  # an interval of one point only where the value is exact (x = 0)
    assert worst > 1 / 64, worst


@pytest.mark.parametrize("key", KEYS, ids=lambda k: f"{k[0]}-order{k[1]}")
def test_scaled_core_intervals_hold_the_oracle(key):
    """With a factor s (a gradient, or b of a gated product), down to subnormal and up to the
    largest float32 s, the interval for s * f(x) or s * f'(x) still holds it."""
    name, order = key
    rng = np.random.default_rng(11)
    x = _core_inputs(150, seed=12)
    s = (rng.choice([-1.0, 1.0], x.size) * 2.0 ** rng.uniform(-149, 128, x.size)).astype(np.float32)
    s[:4] = [np.finfo(np.float32).max, -np.finfo(np.float32).max, 2.0**-149, 0.0]
    low, high = fast.core_ends(name, x, order, s)
    with mpmath.workdps(40):
        for xv, sv, lo, hi, ref in zip(x, s, low, high, _oracle(name, x, order, s), strict=True):
            assert mpmath.mpf(float(lo)) <= ref <= mpmath.mpf(float(hi)), (xv, sv, lo, hi, ref)


@pytest.mark.parametrize("key", KEYS, ids=lambda k: f"{k[0]}-order{k[1]}")
def test_core_intervals_never_straddle_zero(key):
    """The kernels take the rounding of an interval's low end when both ends round alike, which
    is only sound if the ends are never zeros of opposite signs (-0.0 == +0.0): the interval of
    v must lie away from zero, so |v| must exceed the bound at every float32 input of the core.
    The smallest |v| is at the float32 neighbours of a derivative's root, or at -X_CORE for a
    value."""
    name, order = key
    x = [-fc.X_CORE, -fc.X_CORE / 2, *derivative_roots(name)] if order == 1 else [-fc.X_CORE]
    points = np.array(x, dtype=np.float32)
    inf = np.float32(np.inf)
    points = np.concatenate([points, np.nextafter(points, -inf), np.nextafter(points, inf)])
    low, high = fast.core_ends(name, points, order, s=np.ones_like(points) / points if order == 0 else None)
    assert np.all(np.sign(low) == np.sign(high)) and np.all(low != 0), (points, low, high)


@pytest.mark.parametrize("key", KEYS, ids=lambda k: f"{k[0]}-order{k[1]}")
def test_numpy_mirror_matches_the_kernels(key):
    x = _core_inputs(400, seed=9)
    low, high = fast.core_ends(key[0], x, key[1])
    mlow, mhigh = fc.core_ends(*key, x)
    width = high - low
    assert np.all(np.abs(low - mlow) <= width / 8) and np.all(np.abs(high - mhigh) <= width / 8)


def test_core_ends_refuses_a_core_form_that_does_not_exist():
    with pytest.raises(ValueError, match="no core form for 'relu'"):
        fast.core_ends("relu", np.zeros(3, np.float32), 0)


def test_every_compiled_activation_has_a_core_form():
    assert set(fast.CORE_NAMES) == set(fast.FAST_NAMES)
    assert {name for name, _ in fc.CORE_DEGREES} == set(fast.CORE_NAMES)


def _core_blocks(rng: np.random.Generator, n: int) -> np.ndarray:
    """Standard normal data clipped into the core, so every block takes the core form."""
    return np.clip(rng.standard_normal(n), -fc.X_CORE, fc.X_CORE).astype(np.float32)


@pytest.mark.parametrize("name", fast.CORE_NAMES)
@pytest.mark.parametrize("n", [1, fast.BLOCK - 1, fast.BLOCK, fast.BLOCK + 1, 5000])
def test_core_blocks_equal_the_reference_bit_for_bit(name, n):
    rng = np.random.default_rng(n)
    x = _core_blocks(rng, n)
    assert _bits_equal(fast.forward(name, x), get(name).evaluate(x, 0)).all()
    g = rng.standard_normal(n).astype(np.float32)
    assert _bits_equal(fast.derivative_times(name, g, x), reference_path.derivative_times(name, g, x)).all()


@pytest.mark.parametrize("name", fast.CORE_NAMES)
def test_core_blocks_with_special_and_undecided_inputs(name):
    """Zeros of both signs, NaN, odd subnormals (x/2 a float32 midpoint: undecided in the core form
    too) and points at a derivative's root, each inside a block that otherwise lies in the core."""
    rng = np.random.default_rng(3)
    x = _core_blocks(rng, 64 * fast.BLOCK)
    specials = np.array([0.0, -0.0, np.nan, 3 * 2.0**-149, -5 * 2.0**-149, 2.0**-126, fc.X_CORE, -fc.X_CORE,
                         *derivative_roots(name)[:1]], dtype=np.float32)
    x[:: 4 * fast.BLOCK][: specials.size] = specials  # one special per block of four
    y = fast.forward(name, x)
    assert _bits_equal(y, get(name).evaluate(x, 0)).all()
    assert np.signbit(y[fast.BLOCK * 4]) == np.signbit(x[fast.BLOCK * 4])  # -0.0 stays -0.0
    ones = fast.derivative_times(name, np.ones_like(x), x)
    assert _bits_equal(ones, get(name).evaluate(x, 1)).all()


@pytest.mark.parametrize("name", fast.CORE_NAMES)
def test_a_block_just_outside_the_core_takes_the_erfc_form_and_stays_exact(name):
    x = _core_blocks(np.random.default_rng(4), 4 * fast.BLOCK)
    x[fast.BLOCK + 7] = np.nextafter(np.float32(fc.X_CORE), np.float32(4))
    x[2 * fast.BLOCK] = -np.inf
    assert _bits_equal(fast.forward(name, x), get(name).evaluate(x, 0)).all()
    ones = fast.derivative_times(name, np.ones_like(x), x)
    assert _bits_equal(ones, get(name).evaluate(x, 1)).all()


@pytest.mark.parametrize("name", fast.FAST_NAMES)
def test_gated_rows_in_the_core_equal_the_exact_path(name):
    """Rows of 3 blocks and a bit, so each row has core blocks, a short block, and (with one input
    moved out of the core) an erfc block; a zero, a NaN and an odd subnormal inside core blocks."""
    rng = np.random.default_rng(8)
    half = 3 * fast.BLOCK + 5
    x = _core_blocks(rng, 40 * 2 * half).reshape(40, 2 * half)
    x[1, 3], x[2, 70], x[3, 10], x[4, 2 * fast.BLOCK + 1] = 0.0, np.nan, 3 * 2.0**-149, 5.0
    a, b = x[:, :half].reshape(-1), x[:, half:].reshape(-1)
    assert _bits_equal(fast.gated_forward(name, x).reshape(-1), reference_path.gated_forward(name, a, b)).all()
    g = rng.standard_normal((40, half)).astype(np.float32)
    got = fast.gated_backward(name, g, x)
    ga, gb = reference_path.gated_backward(name, g.reshape(-1), a, b)
    assert _bits_equal(got[:, :half].reshape(-1), ga).all() and _bits_equal(got[:, half:].reshape(-1), gb).all()
