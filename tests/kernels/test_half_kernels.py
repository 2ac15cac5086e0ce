"""float16 and bfloat16 kernels: every one of the 65,536 inputs agrees bit for bit with the reference."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from gelulab.functions import get, round_float64_to
from gelulab.kernels import cpu
from gelulab.kernels.cpu import fast, half, reference_path, runtime

ml_dtypes = pytest.importorskip("ml_dtypes", reason="bfloat16 arrays come from ml_dtypes")
FORMATS = [np.dtype(np.float16), np.dtype(ml_dtypes.bfloat16)]


def _same_bits(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a32, b32 = np.asarray(a).astype(np.float32), np.asarray(b).astype(np.float32)
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype, (a.dtype, b.dtype)
    unsigned = f"u{a.itemsize}"
    return (a.view(unsigned) == b.view(unsigned)) | (np.isnan(a32) & np.isnan(b32))


@pytest.mark.parametrize("dtype", FORMATS, ids=lambda d: d.name)
@pytest.mark.parametrize("name", fast.FAST_NAMES)
def test_every_input_forward_and_backward_match_the_reference(name, dtype):
    every = np.arange(1 << 16, dtype=np.uint16).view(dtype)
    grad = np.random.default_rng(3).standard_normal(every.size).astype(dtype)
    # all at once (chunks on the threads), and in small calls (one span on the calling thread)
    for xs, gs in [(every, grad), *zip(np.split(every, 64), np.split(grad, 64), strict=True)]:
        assert _same_bits(half.forward(name, xs), np.asarray(get(name).evaluate(xs, 0)).astype(dtype)).all()
        assert _same_bits(half.derivative_times(name, gs, xs), reference_path.derivative_times(name, gs, xs, 1)).all()


@pytest.mark.parametrize("dtype", FORMATS, ids=lambda d: d.name)
@pytest.mark.parametrize("name", fast.FAST_NAMES)
def test_extreme_gradients_over_every_input_match_the_reference(name, dtype):
    """grad * f'(x) and f(a) * b with factors at the format's edges (largest finite, smallest
    subnormal, zeros, NaN) over every pattern: the products of the tails' tagged values, which
    must round to signed zeros or be left to the exact path. (No infinities: an infinite product
    sends its whole chunk to the exact path, which would hide the kernel's own results.)"""
    import ml_dtypes

    info = ml_dtypes.finfo(dtype)
    edges = np.array([info.max, -info.max, info.smallest_subnormal, -info.smallest_subnormal, 0.0, -0.0,
                      np.nan, 1.0, 2.0**-8], dtype=np.float64)
    every = np.arange(1 << 16, dtype=np.uint16).view(dtype)
    grad = np.random.default_rng(4).choice(edges, every.size).astype(dtype)
    with np.errstate(all="ignore"):
        want = reference_path.derivative_times(name, grad, every, 1)
        want_gated = reference_path.gated_forward(name, every, grad)
    assert _same_bits(half.derivative_times(name, grad, every), want).all()
    x = np.concatenate([every.reshape(256, 256), grad.reshape(256, 256)], axis=-1)
    assert _same_bits(cpu.gated_forward(name, x), want_gated.reshape(256, 256)).all()


def test_float16_conversions_by_bits_and_by_the_cpu_agree_with_numpy():
    """float16 in and out by bit operations (the path of CPUs without AVX512-FP16) and, where the CPU
    has it, by its own conversions: every pattern decodes to NumPy's value, and float64 values of
    every kind (normal, subnormal, overflowing, ties, NaN) round to NumPy's float16 (which rounds
    once, to nearest even). The rounding test flags a value within its bound of a midpoint."""

    @njit
    def decode(h, hardware):
        out = np.empty(h.size)
        for i in range(h.size):
            out[i] = half._f16_to_float64(h[i]) if hardware else half._load_bits(half.F16, h[i])
        return out

    @njit
    def encode(y, bound, hardware):
        bits = np.empty(y.size, np.uint16)
        hard = np.empty(y.size, np.bool_)
        for i in range(y.size):
            if hardware:
                bits[i], hard[i] = half._store(half.F16, y[i], bound[i])
            else:
                bits[i], hard[i] = half._store_bits(half.F16, y[i], bound[i])
        return bits, hard

    patterns = np.arange(1 << 16, dtype=np.uint16)
    want = patterns.view(np.float16).astype(np.float64)
    rng = np.random.default_rng(17)
    finite = want[np.isfinite(want)]
    lo, hi = np.sort(finite)[:-1], np.sort(finite)[1:]
    mids = (lo + hi) / 2  # exact midpoints (ties), but for 0 between -0 and +0
    mids = mids[mids != 0]
    y = np.concatenate([finite * (1 + rng.uniform(-1e-3, 1e-3, finite.size)), mids, [7e4, -7e4, 65519.0, 65520.0,
                        1e-9, -1e-9, 2.0**-25, 2.0**-26, np.nan, np.inf, -np.inf]])
    bound = np.abs(y) * 2.0**-40
    for hardware in (False, True) if half.HARDWARE_F16 else (False,):
        assert _same_bits(decode(patterns, hardware).astype(np.float16), want.astype(np.float16)).all()
        got = decode(patterns, hardware)
        assert (got[np.isfinite(want)] == want[np.isfinite(want)]).all() and np.isnan(got[np.isnan(want)]).all()
        bits, hard = encode(y, bound, hardware)
        with np.errstate(over="ignore"):
            assert _same_bits(bits.view(np.float16), y.astype(np.float16)).all(), hardware
        is_mid = np.isin(y, mids)
        assert hard[is_mid].all() and not hard[:finite.size][np.abs(y[:finite.size]) > 1e-3].any()


@pytest.mark.parametrize("dtype", FORMATS, ids=lambda d: d.name)
def test_the_kernel_entry_points_route_16_bit_elementwise_ops_here(dtype):
    assert cpu.has_fast_kernel("gelu", dtype) and cpu.has_fast_kernel("swish", dtype)
    x = np.linspace(-6, 6, 3 * (runtime.PARALLEL_MIN + 7)).astype(dtype).reshape(3, -1)
    out = np.empty_like(x)
    got = cpu.forward("gelu", x, out=out)
    assert got is out and _same_bits(out, half.forward("gelu", x)).all()
    assert _same_bits(out, reference_path.forward("gelu", x)).all()


@pytest.mark.parametrize("dtype", FORMATS, ids=lambda d: d.name)
@pytest.mark.parametrize("name", fast.FAST_NAMES)
def test_gated_forms_match_the_reference(name, dtype):
    """f(a) * b and its two gradients, a running over every 16-bit pattern, b and the gradient random."""
    rng = np.random.default_rng(9)
    a = np.arange(1 << 16, dtype=np.uint16).view(dtype).reshape(256, 256)
    b = (rng.standard_normal(a.shape) * 3).astype(dtype)
    g = rng.standard_normal(a.shape).astype(dtype)
    x = np.concatenate([a, b], axis=-1)
    assert _same_bits(cpu.gated_forward(name, x), reference_path.gated_forward(name, a, b)).all()
    ga, gb = reference_path.gated_backward(name, g, a, b)
    assert _same_bits(cpu.gated_backward(name, g, x), np.concatenate([ga, gb], axis=-1)).all()


def test_rounding_at_the_edges_of_the_formats():
    """Ties to even, subnormals, overflow to inf: the kernels' 16-bit rounding against round_float64_to
    (NumPy's float16 cast; for bfloat16 a single rounding, where ml_dtypes' cast rounds twice)."""
    rng = np.random.default_rng(11)
    y = np.concatenate([
        rng.standard_normal(20000) * np.exp2(rng.integers(-30, 20, 20000)),
        np.float16(65504.0) + np.array([0.0, 15.99, 16.0, 16.01, 31.99, 32.0, 1e6]),
        np.exp2(np.arange(-26.0, -13.0)) * 1.5,  # float16 subnormal ties
        [0.0, -0.0, np.inf, -np.inf, 3.4e38, -3.4e38, 1e300],
    ])
    for dtype, code in ((np.dtype(np.float16), half.F16), (np.dtype(ml_dtypes.bfloat16), half.BF16)):
        bits = np.empty(y.size, dtype=np.uint16)
        _round_all(code, y, bits)
        want = round_float64_to(y, dtype)
        assert _same_bits(bits.view(dtype), want).all(), dtype


@njit
def _round_all(code, y, out):
    for i in range(y.size):
        r, _ = half._grid(code, abs(y[i]))
        out[i] = half._bits(code, y[i], r)


@pytest.mark.parametrize("dtype", [np.dtype(np.float32), *FORMATS], ids=lambda d: d.name)
@pytest.mark.parametrize("name", fast.FAST_NAMES)
def test_gated_special_values_match_the_reference(name, dtype):
    """inf * 0 (f(-inf) = -0 times an infinite b or gradient) is NaN, as the reference says, in every dtype."""
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-40, -1e-40, -0.7518, -9.0, -30.0, 2.0**-70, 3.0])
    a, b = np.meshgrid(specials, specials)
    a, b = a.astype(dtype), b.astype(dtype)
    g = np.roll(b, 1, axis=0)
    x = np.concatenate([a, b], axis=-1)
    with np.errstate(all="ignore"):
        want_f = reference_path.gated_forward(name, a, b)
        ga, gb = reference_path.gated_backward(name, g, a, b)
    assert _same_bits(cpu.gated_forward(name, x), want_f).all()
    assert _same_bits(cpu.gated_backward(name, g, x), np.concatenate([ga, gb], axis=-1)).all()


@pytest.mark.parametrize("dtype", FORMATS, ids=lambda d: d.name)
@pytest.mark.parametrize("name", fast.FAST_NAMES)
def test_tables_agree_with_the_mpmath_oracle(name, dtype):
    """The forward table is correctly rounded, and each tagged value of the product table lies within
    the bound its tag gives (what the kernels' rounding test relies on), or is so small that every
    product of it rounds to a signed zero in the format; checked against mpmath on sampled patterns."""
    import mpmath

    from gelulab import reference

    exact, products = half.tables(name, dtype)
    assert not exact.flags.writeable and not products.flags.writeable
    assert products.shape == (2, 1 << 16)
    patterns = np.random.default_rng(5).choice(1 << 16, 160, replace=False).astype(np.uint16)
    x = patterns.view(dtype).astype(np.float64)
    keep = np.isfinite(x)
    patterns, x = patterns[keep], x[keep]
    near = np.abs(x) < 60  # the forward's clamped tails are covered by the float32 kernel tests
    rounded = np.array(reference.correctly_rounded(name, x[near], 0, dtype), dtype=dtype)
    assert _same_bits(exact[patterns[near]].view(dtype), rounded).all()
    import ml_dtypes

    info = ml_dtypes.finfo(dtype)
    largest, vanishing = float(info.max), float(info.smallest_subnormal) / 4
    with mpmath.workdps(60):
        for k, xv in zip(patterns, x, strict=True):
            for order, row in enumerate((half.F, half.D)):
                true = reference.evaluate(name, float(xv), order, dps=60)
                v = float(products[row, k])
                t = int(products[row, k:k + 1].view(np.int64)[0]) & ((1 << half.TAG_BITS) - 1)
                error = abs(mpmath.mpf(v) - true)
                covered = error <= abs(v) * (2.0 ** (1 - t) - 2.0**-52)
                tiny = max(abs(v), abs(true)) * largest < vanishing and (v == 0 or mpmath.sign(true) == np.sign(v))
                assert covered or tiny, (name, xv, order, v, t)


def test_tags_cover_the_bounds_they_carry():
    """A tag's factor covers the value's relative bound plus the slack; an uncovered bound is refused."""
    values = np.array([1.5, -3.0, 2.0**-1060, 0.0, np.inf, np.nan, 1.0])
    bounds = np.array([2.0**-47, 2.0**-30 * 3.0, 2.0**-1060, 0.0, np.inf, 0.0, 1.0])
    tagged = half.tag(values, bounds)
    t = tagged.view(np.int64) & ((1 << half.TAG_BITS) - 1)
    factor = 2.0 ** (1 - t[:3].astype(float))
    assert (factor >= bounds[:3] / np.abs(values[:3])).all()
    assert (factor <= 4 * (bounds[:3] / np.abs(values[:3]) + 2.0**-42)).all()  # the largest tag that covers
    assert np.isposinf(tagged[4]) and np.isnan(tagged[5])
    assert abs(tagged[0] - 1.5) <= 1.5 * 2.0**-44 and t[3] > 40  # an exact zero: the tightest tag
    assert tagged[6] == 1.0 or abs(tagged[6] - 1.0) <= 2.0**-44
    with pytest.raises(ValueError, match="no tag covers"):
        half.tag(np.array([1.0]), np.array([3.0]))
    with pytest.raises(ValueError, match="no tag covers"):
        half.tag(np.array([0.0]), np.array([1e-300]))
