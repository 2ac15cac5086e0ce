r"""numba kernels for float16 and bfloat16: GELU, GELU-tanh and SiLU; forward, ``grad * f'`` and the
gated forms f(a) * b with their gradients, all by table lookup.

A 16-bit format has only 65,536 inputs, so each function is tabulated once (on first use, ~10 ms):

* the forward reads the correctly rounded f(x) of the input's pattern (the exact path's values);
* a product (``grad * f'(x)``, ``f(a) * b`` and the gated gradients) reads the float64 value of f
  or f' at the pattern, as the float32 kernels (:mod:`.fast`) evaluate them, with its error bound
  carried in the value's last bits (:func:`tag`), forms the product in float64 and rounds it once
  into the format.

numba has no 16-bit float type on the CPU, so the arrays are read and written as their uint16 bit
patterns. float16 converts by the CPU's own instructions where it has them (AVX512-FP16: LLVM's
``fpext`` and ``fptrunc`` on half, each rounding once; :data:`HARDWARE_F16`); otherwise, and for
bfloat16, the conversions are done on the bits:

* in: bfloat16 is the top half of a float32; float16 is decoded field by field (normal,
  subnormal, inf/NaN, chosen with selects so the loop still vectorises);
* out: |y| is rounded at the format's precision for its binade with one addition and one
  subtraction of a power of two C (ties to even, as the addition rounds), subnormals by
  clamping the binade at the format's smallest normal one, overflow to inf past the largest
  finite value, and the bits are assembled from the rounded value.

Rounding test of a product: the float64 value y, within ``bound`` (|y| times the tag's factor) of
the true value, rounds like it unless a rounding midpoint lies within ``bound``; the nearest
midpoint is at ``h - |y - r|`` (r: y rounded, h: half the format's spacing there); with the
CPU's float16 conversions, it is whether y - bound and y + bound round alike. A 16-bit
spacing is 2^30 times the bound or more (a tag covers at least 2^-42 of the value), so flagged
inputs are rare (exact ties are the usual ones); a flagged chunk is recomputed whole on the exact
path.
"""

from __future__ import annotations

import functools

import numba
import numpy as np
from llvmlite import binding as llvm
from llvmlite import ir
from numba import carray, literally, njit, types
from numba.extending import intrinsic

from . import reference_path, runtime
from .elements import FAST_NAMES, float64_values
from .simd import OPTS, pointer, select, wide_vectors

#: format codes, compile-time literals of the drivers
F16, BF16 = 1, 2
_F16_MAX = 65504.0
_BF16_MAX = float(np.float32(3.3895313892515355e38))
_INF = np.inf


def format_code(dtype: np.dtype) -> int | None:
    """F16, BF16, or None for a dtype these kernels do not take."""
    dtype = np.dtype(dtype)
    if dtype == np.float16:
        return F16
    if dtype.name == "bfloat16" and dtype.itemsize == 2:
        return BF16
    return None


def supports(name: str, dtype: np.dtype) -> bool:
    """Whether these kernels take (activation, dtype): float16 and bfloat16, elementwise and gated."""
    return name in FAST_NAMES and format_code(dtype) is not None


def _hardware_half() -> bool:
    """Whether numba compiles for this CPU (its default) and the CPU converts between float64 and
    float16 in one instruction each way (AVX512-FP16: Sapphire Rapids and later). Elsewhere LLVM
    would call a runtime function for those conversions, which a numba process need not have.
    (numba's cache keeps compiled code per CPU and its features, so a cache never crosses over.)"""
    if numba.config.CPU_NAME not in (None, "host") or numba.config.CPU_FEATURES is not None:
        return False
    try:
        return bool(llvm.get_host_cpu_features().get("avx512fp16", False))
    except (RuntimeError, AttributeError):
        return False


#: float16 in and out by the CPU's own conversions (rounding once, to nearest even, subnormals,
#: overflow and NaN included) rather than the bit operations of _load_bits and _store_bits.
HARDWARE_F16 = _hardware_half()


@intrinsic
def _f16_to_float64(typingctx, h):
    """A float16 bit pattern (uint16) as the float64 it encodes: LLVM's ``fpext``."""
    if not isinstance(h, types.Integer) or h.bitwidth != 16:
        return None

    def codegen(context, builder, signature, args):
        return builder.fpext(builder.bitcast(args[0], ir.HalfType()), ir.DoubleType())

    return types.float64(h), codegen


@intrinsic
def _float64_to_f16(typingctx, y):
    """The float16 bit pattern (uint16) of a float64 rounded once, to nearest even: LLVM's
    ``fptrunc``."""
    if y != types.float64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(builder.fptrunc(args[0], ir.HalfType()), ir.IntType(16))

    return types.uint16(y), codegen


@njit(inline="always", **OPTS)
def _load(fmt, h):
    """A 16-bit pattern (uint16) as the float64 it encodes."""
    if fmt == F16 and HARDWARE_F16:
        return _f16_to_float64(np.uint16(h))
    return _load_bits(fmt, h)


@njit(inline="always", **OPTS)
def _load_bits(fmt, h):
    """_load by bit operations."""
    b = np.int64(h)
    if fmt == BF16:
        return np.float64(np.uint32(b << 16).view(np.float32))
    sign = (b >> 15) << 63
    e = (b >> 10) & 0x1F
    m = b & 0x3FF
    normal = np.int64(sign | ((e + 1008) << 52) | (m << 42)).view(np.float64)
    special = np.int64(sign | (0x7FF << 52) | (m << 42)).view(np.float64)
    tiny = np.float64(m) * 2.0**-24
    tiny = select(sign != 0, -tiny, tiny)
    return select(e == 0, tiny, select(e == 31, special, normal))


@njit(inline="always", **OPTS)
def _grid(fmt, a):
    """(r, h) for a = |y|: a rounded to the format's spacing at its binade (ties to even, before
    overflow), and half that spacing. NaN gives r = NaN."""
    p = 11 if fmt == F16 else 8
    emin = -14 if fmt == F16 else -126
    emax = 15 if fmt == F16 else 127
    e = ((np.float64(a).view(np.int64) >> 52) & 0x7FF) - 1023
    e = min(max(e, emin), emax + 1)
    c = np.int64((e + 1023 + 53 - p) << 52).view(np.float64)
    return (a + c) - c, c * 2.0**-53


@njit(inline="always", **OPTS)
def _bits(fmt, y, r):
    """The 16-bit pattern of r (|y| rounded by _grid), with y's sign and overflow to inf."""
    sign = np.int64(np.float64(y).view(np.int64) < 0)
    if fmt == BF16:
        v = select(r > _BF16_MAX, _INF, r)
        return np.uint16((np.int64(np.float32(v).view(np.uint32)) >> 16) | (sign << 15))
    # r >= 0 sits on the format's grid: its exponent and top 10 mantissa bits, rebiased, are the pattern
    normal = (np.float64(r).view(np.int64) >> 42) - (1008 << 10)
    tiny = np.int64(min(r, 1.0) * 2.0**24)
    b = select(r >= 2.0**-14, normal, tiny)
    b = select(r > _F16_MAX, np.int64(0x7C00), b)
    b = select(r != r, np.int64(0x7E00), b)
    return np.uint16(b | (sign << 15))


@njit(inline="always", **OPTS)
def _store(fmt, y, bound):
    """(16-bit pattern of y rounded once, whether a midpoint lies within ``bound`` of y)."""
    if fmt == F16 and HARDWARE_F16:
        # the ends of [y - bound, y + bound] round alike unless a midpoint lies between them (an
        # infinite bound gives a NaN or infinite end: undecided); y NaN is never hard. Ends that
        # round to zeros of both signs agree too: only a value past the clamps has a bound that
        # reaches across 0, and its true value lies between it and 0 (as in _store_bits).
        lo, hi = _float64_to_f16(y - bound), _float64_to_f16(y + bound)
        return _float64_to_f16(y), (lo != hi) & (((lo | hi) & 0x7FFF) != 0) & (y == y)
    return _store_bits(fmt, y, bound)


@njit(inline="always", **OPTS)
def _store_bits(fmt, y, bound):
    """_store by bit operations and one addition at the format's spacing."""
    a = abs(y)
    r, h = _grid(fmt, a)
    # "not (far from the midpoint)": an infinite y or bound (inf * 0 in a gated product) makes the
    # distance NaN, and then the exact path decides; y NaN (a NaN input) is never hard
    return _bits(fmt, y, r), ~(h - abs(a - r) > bound) & (y == y)


# --- tables ----------------------------------------------------------------------------------------
# A 16-bit format has 65,536 patterns: f of each, correctly rounded, is one table (128 KiB), and the
# products (grad * f'(x), f(a) * b) take the float64 value of f and f' of each pattern from another
# (two rows of 512 KiB), filled by the float32 kernels' own float64 evaluation. A lookup replaces
# ~60 operations per element; the results are the same bit for bit.
#
# Each value's error bound travels in its own last bits: one load per element, not two (a loop
# that reads a value and its bound from the table and stores both takes ~1.1 ns per element here,
# one that reads and stores one value 0.3 ns).

#: Rows of the product table: f and f' (float64, as the float32 kernels evaluate them, tagged).
F, D = 0, 1
_PATTERNS = 1 << 16
#: Low bits of each product-table value that carry its tag t: the value lies within |value| times
#: 2^(1 - t) - 2^-52 of the true one (so a product y = s * value, rounded once, lies within
#: |y| 2^(1 - t) of s times the true value).
TAG_BITS = 8
_TAG_MASK = (1 << TAG_BITS) - 1
#: What a tag covers beyond the value's own relative bound: the tag bits themselves (at most
#: 2^-44 of the value) and the product's rounding (2^-53), with room.
_TAG_SLACK = 2.0**-42


def tag(values: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """float64 values with their last TAG_BITS bits replaced by the tag of their error bounds.

    The tag is the largest t with 2^(1 - t) >= bound / |value| (1 + 2^-40) + 2^-42: t = 0 covers a
    bound up to about the value itself (the kernels' values past their clamps, where the true one
    lies between the value and 0), t = 43 the tightest bounds. NaN and infinite values are left as
    they are (an infinity's tag reads 0; its products are undecided or NaN, as they should be).
    A finite value whose bound no tag covers (zero with a nonzero bound, or a bound over the
    value) is an error in the kernels' bounds.

    A subnormal value (a derivative past the clamp, ~1e-316) can lose most of its digits to the
    tag; every product of it still rounds to a signed zero in a 16-bit format, as the true one does.
    """
    v = np.asarray(values, dtype=np.float64)
    b = np.asarray(bounds, dtype=np.float64)
    finite = np.isfinite(v)
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(b == 0, 0.0, b / np.abs(v))
        need = relative * (1 + 2.0**-40) + _TAG_SLACK
        t = np.clip(np.floor(1 - np.log2(need)), 0, _TAG_MASK)
    uncovered = finite & ~(np.exp2(1 - t) >= need)
    if uncovered.any():
        k = int(np.flatnonzero(uncovered)[0])
        raise ValueError(f"no tag covers the bound {b.flat[k]!r} of the value {v.flat[k]!r}")
    bits = v.view(np.int64)
    t = np.where(finite, t, 0).astype(np.int64)
    tagged = np.where(finite, (bits & ~np.int64(_TAG_MASK)) | t, bits)
    return tagged.view(np.float64)


@njit(inline="always", **OPTS)
def _tag_factor(v):
    """2^(1 - t) for the tag t in a product-table value's last bits."""
    t = np.float64(v).view(np.int64) & _TAG_MASK
    return np.int64((1024 - t) << 52).view(np.float64)


@functools.cache
def tables(name: str, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """(exact, products) for an activation with a compiled kernel and a 16-bit dtype: f of every
    pattern correctly rounded (uint16 patterns, by the exact path), and the tagged float64 values
    of f and f' of every pattern (2 x 65,536, rows F and D). Built on first use (~10 ms)."""
    x = np.arange(_PATTERNS, dtype=np.uint16).view(dtype)
    x32 = x.astype(np.float32)  # exact: every 16-bit value is a float32
    products = np.empty((2, _PATTERNS))
    products[F] = tag(*float64_values(name, x32, 0))
    products[D] = tag(*float64_values(name, x32, 1))
    exact = np.ascontiguousarray(reference_path.forward(name, x)).view(np.uint16)
    exact.flags.writeable = products.flags.writeable = False  # shared by every call
    return exact, products


# --- drivers: fmt is a compile-time literal (the decoding and rounding differ by format) -----------

@njit(**OPTS)
def _forward_span(fmt, exact, x, out):
    literally(fmt)
    wide_vectors()
    for i in range(x.size):
        out[i] = exact[x[i]]
    return 0


@njit(**OPTS)
def _forward_block(fmt, exact, x, out, counts, c0, c1):
    literally(fmt)
    wide_vectors()
    for c in range(c0, c1):
        a = c * runtime.CHUNK
        b = min(x.size, a + runtime.CHUNK)
        counts[c] = _forward_span(fmt, exact, x[a:b], out[a:b])


@njit(inline="always", **OPTS)
def _gather(products, row, x, scratch):
    """scratch = the row of the product table at x's patterns. A pass of its own: a loop with the
    lookups in it is not vectorised (gathers), and the rounding that follows is ~5x slower
    unvectorised (measured: 4.6 ns per element in one loop, 1.9 ns in two)."""
    for i in range(x.size):
        scratch[i] = products[row, np.int64(x[i])]


@njit(inline="always", **OPTS)
def _scaled(fmt, products, row, s, x, out, scratch):
    """s * f(x) (row F) or s * f'(x) (row D), rounded once: grad * f'(x) for a backward, f(a) * b
    for a gated forward. The count of undecided roundings. scratch: len(x) floats."""
    _gather(products, row, x, scratch)
    hard = 0
    for i in range(x.size):
        v = scratch[i]
        y = _load(fmt, s[i]) * v
        out[i], h = _store(fmt, y, abs(y) * _tag_factor(v))
        hard += h
    return hard


@njit(**OPTS)
def _backward_span(fmt, products, g, x, out):
    literally(fmt)
    wide_vectors()
    return _scaled(fmt, products, D, g, x, out, np.empty(x.size))


@njit(**OPTS)
def _backward_block(fmt, products, g, x, out, counts, c0, c1):
    literally(fmt)
    wide_vectors()
    for c in range(c0, c1):
        a = c * runtime.CHUNK
        b = min(x.size, a + runtime.CHUNK)
        counts[c] = _backward_span(fmt, products, g[a:b], x[a:b], out[a:b])


@njit(**OPTS)
def _gated_forward_rows(fmt, products, x, out, counts, rows_per_chunk, c0, c1):
    """Row chunks c0..c1 of x = [a | b]: f(a) * b into out, hard counts into counts."""
    literally(fmt)
    wide_vectors()
    n = x.shape[1] // 2
    scratch = np.empty(n)
    for c in range(c0, c1):
        hard = 0
        for r in range(c * rows_per_chunk, min(x.shape[0], (c + 1) * rows_per_chunk)):
            hard += _scaled(fmt, products, F, x[r, n:], x[r, :n], out[r], scratch)
        counts[c] = hard


@njit(inline="always", **OPTS)
def _gated_backward_row(fmt, products, g, a, b, out_a, out_b, scratch):
    _gather(products, F, a, scratch[0])
    _gather(products, D, a, scratch[1])
    hard = 0
    for j in range(a.size):
        gj, bj = _load(fmt, g[j]), _load(fmt, b[j])
        fa, d = scratch[0, j], scratch[1, j]
        gb = gj * bj  # exact: two 16-bit significands fit in float64's
        ya, yb = gb * d, gj * fa
        out_a[j], ha = _store(fmt, ya, abs(ya) * _tag_factor(d))
        out_b[j], hb = _store(fmt, yb, abs(yb) * _tag_factor(fa))
        hard += ha | hb
    return hard


@njit(**OPTS)
def _gated_backward_rows(fmt, products, g, x, out, counts, rows_per_chunk, c0, c1):
    literally(fmt)
    wide_vectors()
    n = x.shape[1] // 2
    scratch = np.empty((2, n))
    for c in range(c0, c1):
        hard = 0
        for r in range(c * rows_per_chunk, min(x.shape[0], (c + 1) * rows_per_chunk)):
            hard += _gated_backward_row(fmt, products, g[r], x[r, :n], x[r, n:], out[r, :n], out[r, n:], scratch)
        counts[c] = hard


# --- OpenMP workers (fast's layout, with the format in the kind slot and the table's address as
# the first array) ---------------------------------------------------------------------------------

def _forward_worker(data):
    a = carray(pointer(data, types.int64), 9)
    counts = carray(pointer(a[4], types.int64), a[1])
    exact = carray(pointer(a[5], types.uint16), _PATTERNS)
    x = carray(pointer(a[6], types.uint16), a[8])
    out = carray(pointer(a[7], types.uint16), a[8])
    c0, c1 = runtime.next_block(data, a)
    while c0 < a[1]:
        if a[3] == F16:
            _forward_block(F16, exact, x, out, counts, c0, c1)
        else:
            _forward_block(BF16, exact, x, out, counts, c0, c1)
        c0, c1 = runtime.next_block(data, a)


def _backward_worker(data):
    a = carray(pointer(data, types.int64), 10)
    counts = carray(pointer(a[4], types.int64), a[1])
    products = carray(pointer(a[5], types.float64), (2, _PATTERNS))
    g = carray(pointer(a[6], types.uint16), a[9])
    x = carray(pointer(a[7], types.uint16), a[9])
    out = carray(pointer(a[8], types.uint16), a[9])
    c0, c1 = runtime.next_block(data, a)
    while c0 < a[1]:
        if a[3] == F16:
            _backward_block(F16, products, g, x, out, counts, c0, c1)
        else:
            _backward_block(BF16, products, g, x, out, counts, c0, c1)
        c0, c1 = runtime.next_block(data, a)


def _gated_forward_worker(data):
    a = carray(pointer(data, types.int64), 11)
    counts = carray(pointer(a[4], types.int64), a[1])
    products = carray(pointer(a[5], types.float64), (2, _PATTERNS))
    rows, half, per = a[8], a[9], a[10]
    x = carray(pointer(a[6], types.uint16), (rows, 2 * half))
    out = carray(pointer(a[7], types.uint16), (rows, half))
    c0, c1 = runtime.next_block(data, a)
    while c0 < a[1]:
        if a[3] == F16:
            _gated_forward_rows(F16, products, x, out, counts, per, c0, c1)
        else:
            _gated_forward_rows(BF16, products, x, out, counts, per, c0, c1)
        c0, c1 = runtime.next_block(data, a)


def _gated_backward_worker(data):
    a = carray(pointer(data, types.int64), 12)
    counts = carray(pointer(a[4], types.int64), a[1])
    products = carray(pointer(a[5], types.float64), (2, _PATTERNS))
    rows, half, per = a[9], a[10], a[11]
    g = carray(pointer(a[6], types.uint16), (rows, half))
    x = carray(pointer(a[7], types.uint16), (rows, 2 * half))
    out = carray(pointer(a[8], types.uint16), (rows, 2 * half))
    c0, c1 = runtime.next_block(data, a)
    while c0 < a[1]:
        if a[3] == F16:
            _gated_backward_rows(F16, products, g, x, out, counts, per, c0, c1)
        else:
            _gated_backward_rows(BF16, products, g, x, out, counts, per, c0, c1)
        c0, c1 = runtime.next_block(data, a)


runtime.register_worker("half_forward", _forward_worker)
runtime.register_worker("half_backward", _backward_worker)
runtime.register_worker("half_gated_forward", _gated_forward_worker)
runtime.register_worker("half_gated_backward", _gated_backward_worker)


# --- entry points --------------------------------------------------------------------------------

def _bits_view(a: np.ndarray) -> np.ndarray:
    return runtime.flat(a).view(np.uint16)


def forward(name: str, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """f(x) for float16 / bfloat16 x, correctly rounded: a lookup in the table of every pattern's value."""
    fmt = format_code(x.dtype)
    exact, _ = tables(name, x.dtype)
    result = runtime.output(x.shape, out, x.dtype, (x,))
    xb, yb = _bits_view(x), result.reshape(-1).view(np.uint16)
    runtime.run_elementwise(_forward_span, _forward_block, "half_forward", fmt, fmt, (exact, xb, yb))
    return runtime.finish(result, out)


def derivative_times(name: str, grad: np.ndarray, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """grad * f'(x) for float16 / bfloat16, rounded once, correctly."""
    fmt = format_code(x.dtype)
    _, products = tables(name, x.dtype)
    result = runtime.output(x.shape, out, x.dtype, (x, grad))
    xb, yb = _bits_view(x), result.reshape(-1).view(np.uint16)
    gb = _bits_view(runtime.full(grad, x.shape, x.dtype))
    idx = runtime.run_elementwise(_backward_span, _backward_block, "half_backward", fmt, fmt, (products, gb, xb, yb))
    if idx is not None:
        yb[idx] = reference_path.derivative_times(name, gb[idx].view(x.dtype), xb[idx].view(x.dtype), 1) \
            .view(np.uint16)
    return runtime.finish(result, out)


def _bit_rows(x: np.ndarray) -> tuple[np.ndarray, int, int]:
    x2, per, n_chunks = runtime.rows(x)
    return x2.view(np.uint16), per, n_chunks


def gated_forward(name: str, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """f(a) * b for x = [a | b] (last axis) in float16 / bfloat16, rounded once, correctly."""
    fmt = format_code(x.dtype)
    _, products = tables(name, x.dtype)
    half = x.shape[-1] // 2
    result = runtime.output((*x.shape[:-1], half), out, x.dtype, (x,))
    x2, per, n_chunks = _bit_rows(x)
    y2 = result.reshape(x2.shape[0], half).view(np.uint16)
    counts = runtime.run_chunks(
        lambda cs, c0, c1: runtime.call(_gated_forward_rows, fmt, products, x2, y2, cs, per, c0, c1), n_chunks, x.size,
        ("half_gated_forward", fmt, (products, x2, y2), (x2.shape[0], half, per)))
    if np.count_nonzero(counts):
        r = runtime.flagged(counts, per, x2.shape[0])
        a, b = x2[r, :half].view(x.dtype), x2[r, half:].view(x.dtype)
        y2[r] = reference_path.gated_forward(name, a, b).view(np.uint16)
    return runtime.finish(result, out)


def gated_backward(name: str, grad: np.ndarray, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """[grad * b * f'(a) | grad * f(a)] in float16 / bfloat16, each rounded once, correctly."""
    fmt = format_code(x.dtype)
    _, products = tables(name, x.dtype)
    half = x.shape[-1] // 2
    result = runtime.output(x.shape, out, x.dtype, (x, grad))
    x2, per, n_chunks = _bit_rows(x)
    g2 = runtime.full(grad, (*x.shape[:-1], half), x.dtype).reshape(x2.shape[0], half).view(np.uint16)
    y2 = result.reshape(x2.shape).view(np.uint16)
    counts = runtime.run_chunks(
        lambda cs, c0, c1: runtime.call(_gated_backward_rows, fmt, products, g2, x2, y2, cs, per, c0, c1), n_chunks,
        x.size, ("half_gated_backward", fmt, (products, g2, x2, y2), (x2.shape[0], half, per)))
    if np.count_nonzero(counts):
        r = runtime.flagged(counts, per, x2.shape[0])
        ga, gb = reference_path.gated_backward(name, g2[r].view(x.dtype), x2[r, :half].view(x.dtype),
                                               x2[r, half:].view(x.dtype))
        y2[r, :half] = ga.view(np.uint16)
        y2[r, half:] = gb.view(np.uint16)
    return runtime.finish(result, out)
