r"""numba kernels for float16 and bfloat16: GELU, GELU-tanh and SiLU; forward, ``grad * f'`` and the
gated forms f(a) * b with their gradients.

The same float64 evaluation as the float32 kernels (:mod:`.fast`), rounded once into the 16-bit
format. numba has no 16-bit float type on the CPU, so the arrays are read and written as their
uint16 bit patterns and the conversions are done on the bits:

* in: bfloat16 is the top half of a float32; float16 is decoded field by field (normal,
  subnormal, inf/NaN, chosen with selects so the loop still vectorises);
* out: |y| is rounded at the format's precision for its binade with one addition and one
  subtraction of a power of two C (ties to even, as the addition rounds), subnormals by
  clamping the binade at the format's smallest normal one, overflow to inf past the largest
  finite value, and the bits are assembled from the rounded value.

Rounding test: the float64 value y, within ``bound`` of the true value, rounds like it unless a
rounding midpoint lies within ``bound``; the nearest midpoint is at ``h - |y - r|`` (r: y rounded,
h: half the format's spacing there). A 16-bit spacing is ~2^38 times the bound, so flagged
inputs are rarer still than in float32 (exact ties such as x/2 for odd subnormal x are
the usual ones); a flagged chunk is recomputed whole on the exact path.
"""

from __future__ import annotations

import numpy as np
from numba import carray, literally, njit, types

from . import fast, reference_path
from .fast import _OPTS, _next_block, _pointer, _select, _slope, _value, _wide_vectors

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


@njit(inline="always", **_OPTS)
def _load(fmt, h):
    """A 16-bit pattern (uint16) as the float64 it encodes."""
    b = np.int64(h)
    if fmt == BF16:
        return np.float64(np.uint32(b << 16).view(np.float32))
    sign = (b >> 15) << 63
    e = (b >> 10) & 0x1F
    m = b & 0x3FF
    normal = np.int64(sign | ((e + 1008) << 52) | (m << 42)).view(np.float64)
    special = np.int64(sign | (0x7FF << 52) | (m << 42)).view(np.float64)
    tiny = np.float64(m) * 2.0**-24
    tiny = _select(sign != 0, -tiny, tiny)
    return _select(e == 0, tiny, _select(e == 31, special, normal))


@njit(inline="always", **_OPTS)
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


@njit(inline="always", **_OPTS)
def _bits(fmt, y, r):
    """The 16-bit pattern of r (|y| rounded by _grid), with y's sign and overflow to inf."""
    sign = np.int64(np.float64(y).view(np.int64) < 0)
    if fmt == BF16:
        v = _select(r > _BF16_MAX, _INF, r)
        return np.uint16((np.int64(np.float32(v).view(np.uint32)) >> 16) | (sign << 15))
    rb = np.float64(r).view(np.int64)
    normal = ((((rb >> 52) & 0x7FF) - 1008) << 10) | ((rb >> 42) & 0x3FF)
    tiny = np.int64(min(r, 1.0) * 2.0**24)
    b = _select(r >= 2.0**-14, normal, tiny)
    b = _select(r > _F16_MAX, np.int64(0x7C00), b)
    b = _select(r != r, np.int64(0x7E00), b)
    return np.uint16(b | (sign << 15))


@njit(inline="always", **_OPTS)
def _store(fmt, y, bound):
    """(16-bit pattern of y rounded once, whether a midpoint lies within ``bound`` of y)."""
    a = abs(y)
    r, h = _grid(fmt, a)
    # "not (far from the midpoint)": an infinite y or bound (inf * 0 in a gated product) makes the
    # distance NaN, and then the exact path decides; y NaN (a NaN input) is never hard
    return _bits(fmt, y, r), ~(h - abs(a - r) > bound) & (y == y)


@njit(**_OPTS)
def _forward_span(kind, fmt, x, out):
    literally(kind)
    literally(fmt)
    _wide_vectors()
    hard = 0
    for i in range(x.size):
        y, bound = _value(kind, _load(fmt, x[i]))
        out[i], h = _store(fmt, y, bound)
        hard += h
    return hard


@njit(**_OPTS)
def _forward_block(kind, fmt, x, out, counts, c0, c1):
    literally(kind)
    literally(fmt)
    _wide_vectors()
    for c in range(c0, c1):
        a = c * fast.CHUNK
        b = min(x.size, a + fast.CHUNK)
        counts[c] = _forward_span(kind, fmt, x[a:b], out[a:b])


@njit(inline="always", **_OPTS)
def _scaled(kind, fmt, order, s, x, out):
    """s * f(x) (order 0) or s * f'(x) (order 1), rounded once: grad * f'(x) for a backward,
    f(a) * b for a gated forward. The count of undecided roundings."""
    hard = 0
    for i in range(x.size):
        si, xi = _load(fmt, s[i]), _load(fmt, x[i])
        v, bound = _value(kind, xi) if order == 0 else _slope(kind, xi)
        out[i], h = _store(fmt, si * v, abs(si) * bound)
        hard += h
    return hard


@njit(**_OPTS)
def _backward_span(kind, fmt, g, x, out):
    literally(kind)
    literally(fmt)
    _wide_vectors()
    return _scaled(kind, fmt, 1, g, x, out)


@njit(**_OPTS)
def _backward_block(kind, fmt, g, x, out, counts, c0, c1):
    literally(kind)
    literally(fmt)
    _wide_vectors()
    for c in range(c0, c1):
        a = c * fast.CHUNK
        b = min(x.size, a + fast.CHUNK)
        counts[c] = _backward_span(kind, fmt, g[a:b], x[a:b], out[a:b])


@njit(**_OPTS)
def _gated_forward_row(kind, fmt, a, b, out):
    _wide_vectors()
    return _scaled(kind, fmt, 0, b, a, out)


@njit(**_OPTS)
def _gated_forward_rows(kind, fmt, x, out, counts, rows_per_chunk, c0, c1):
    """Row chunks c0..c1 of x = [a | b]: f(a) * b into out, hard counts into counts."""
    literally(kind)
    literally(fmt)
    _wide_vectors()
    n = x.shape[1] // 2
    for c in range(c0, c1):
        hard = 0
        for r in range(c * rows_per_chunk, min(x.shape[0], (c + 1) * rows_per_chunk)):
            hard += _gated_forward_row(kind, fmt, x[r, :n], x[r, n:], out[r])
        counts[c] = hard


@njit(**_OPTS)
def _gated_backward_row(kind, fmt, g, a, b, out_a, out_b):
    _wide_vectors()
    hard = 0
    for j in range(a.size):
        gj, aj, bj = _load(fmt, g[j]), _load(fmt, a[j]), _load(fmt, b[j])
        fa, fbound = _value(kind, aj)
        d, dbound = _slope(kind, aj)
        gb = gj * bj  # exact: two 16-bit significands fit in float64's
        out_a[j], ha = _store(fmt, gb * d, abs(gb) * dbound)
        out_b[j], hb = _store(fmt, gj * fa, abs(gj) * fbound)
        hard += ha | hb
    return hard


@njit(**_OPTS)
def _gated_backward_rows(kind, fmt, g, x, out, counts, rows_per_chunk, c0, c1):
    literally(kind)
    literally(fmt)
    _wide_vectors()
    n = x.shape[1] // 2
    for c in range(c0, c1):
        hard = 0
        for r in range(c * rows_per_chunk, min(x.shape[0], (c + 1) * rows_per_chunk)):
            hard += _gated_backward_row(kind, fmt, g[r], x[r, :n], x[r, n:], out[r, :n], out[r, n:])
        counts[c] = hard


# --- OpenMP workers (layout of fast's, with the format in the kind slot: kind + 3 * fmt) -------------

@njit(inline="always", **_OPTS)
def _forward_dispatch(code, x, out, counts, c0, c1):
    if code == 3:
        _forward_block(0, 1, x, out, counts, c0, c1)
    elif code == 4:
        _forward_block(1, 1, x, out, counts, c0, c1)
    elif code == 5:
        _forward_block(2, 1, x, out, counts, c0, c1)
    elif code == 6:
        _forward_block(0, 2, x, out, counts, c0, c1)
    elif code == 7:
        _forward_block(1, 2, x, out, counts, c0, c1)
    else:
        _forward_block(2, 2, x, out, counts, c0, c1)


@njit(inline="always", **_OPTS)
def _backward_dispatch(code, g, x, out, counts, c0, c1):
    if code == 3:
        _backward_block(0, 1, g, x, out, counts, c0, c1)
    elif code == 4:
        _backward_block(1, 1, g, x, out, counts, c0, c1)
    elif code == 5:
        _backward_block(2, 1, g, x, out, counts, c0, c1)
    elif code == 6:
        _backward_block(0, 2, g, x, out, counts, c0, c1)
    elif code == 7:
        _backward_block(1, 2, g, x, out, counts, c0, c1)
    else:
        _backward_block(2, 2, g, x, out, counts, c0, c1)


@njit(inline="always", **_OPTS)
def _gated_forward_dispatch(code, x, out, counts, per, c0, c1):
    if code == 3:
        _gated_forward_rows(0, 1, x, out, counts, per, c0, c1)
    elif code == 4:
        _gated_forward_rows(1, 1, x, out, counts, per, c0, c1)
    elif code == 5:
        _gated_forward_rows(2, 1, x, out, counts, per, c0, c1)
    elif code == 6:
        _gated_forward_rows(0, 2, x, out, counts, per, c0, c1)
    elif code == 7:
        _gated_forward_rows(1, 2, x, out, counts, per, c0, c1)
    else:
        _gated_forward_rows(2, 2, x, out, counts, per, c0, c1)


@njit(inline="always", **_OPTS)
def _gated_backward_dispatch(code, g, x, out, counts, per, c0, c1):
    if code == 3:
        _gated_backward_rows(0, 1, g, x, out, counts, per, c0, c1)
    elif code == 4:
        _gated_backward_rows(1, 1, g, x, out, counts, per, c0, c1)
    elif code == 5:
        _gated_backward_rows(2, 1, g, x, out, counts, per, c0, c1)
    elif code == 6:
        _gated_backward_rows(0, 2, g, x, out, counts, per, c0, c1)
    elif code == 7:
        _gated_backward_rows(1, 2, g, x, out, counts, per, c0, c1)
    else:
        _gated_backward_rows(2, 2, g, x, out, counts, per, c0, c1)


def _forward_worker(data):
    a = carray(_pointer(data, types.int64), 8)
    counts = carray(_pointer(a[4], types.int64), a[1])
    x = carray(_pointer(a[5], types.uint16), a[7])
    out = carray(_pointer(a[6], types.uint16), a[7])
    c0, c1 = _next_block(data, a)
    while c0 < a[1]:
        _forward_dispatch(a[3], x, out, counts, c0, c1)
        c0, c1 = _next_block(data, a)


def _backward_worker(data):
    a = carray(_pointer(data, types.int64), 9)
    counts = carray(_pointer(a[4], types.int64), a[1])
    g = carray(_pointer(a[5], types.uint16), a[8])
    x = carray(_pointer(a[6], types.uint16), a[8])
    out = carray(_pointer(a[7], types.uint16), a[8])
    c0, c1 = _next_block(data, a)
    while c0 < a[1]:
        _backward_dispatch(a[3], g, x, out, counts, c0, c1)
        c0, c1 = _next_block(data, a)


def _gated_forward_worker(data):
    a = carray(_pointer(data, types.int64), 10)
    counts = carray(_pointer(a[4], types.int64), a[1])
    rows, half, per = a[7], a[8], a[9]
    x = carray(_pointer(a[5], types.uint16), (rows, 2 * half))
    out = carray(_pointer(a[6], types.uint16), (rows, half))
    c0, c1 = _next_block(data, a)
    while c0 < a[1]:
        _gated_forward_dispatch(a[3], x, out, counts, per, c0, c1)
        c0, c1 = _next_block(data, a)


def _gated_backward_worker(data):
    a = carray(_pointer(data, types.int64), 11)
    counts = carray(_pointer(a[4], types.int64), a[1])
    rows, half, per = a[8], a[9], a[10]
    g = carray(_pointer(a[5], types.uint16), (rows, half))
    x = carray(_pointer(a[6], types.uint16), (rows, 2 * half))
    out = carray(_pointer(a[7], types.uint16), (rows, 2 * half))
    c0, c1 = _next_block(data, a)
    while c0 < a[1]:
        _gated_backward_dispatch(a[3], g, x, out, counts, per, c0, c1)
        c0, c1 = _next_block(data, a)


fast.register_worker("half_forward", _forward_worker)
fast.register_worker("half_backward", _backward_worker)
fast.register_worker("half_gated_forward", _gated_forward_worker)
fast.register_worker("half_gated_backward", _gated_backward_worker)


# --- entry points --------------------------------------------------------------------------------

def _bits_view(a: np.ndarray) -> np.ndarray:
    return fast._flat(a).view(np.uint16)


def forward(name: str, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """f(x) for float16 / bfloat16 x, correctly rounded (flagged chunks recomputed on the exact path)."""
    kind, fmt = fast.KINDS[name], format_code(x.dtype)
    result = fast._output(x.shape, out, x.dtype)
    xb, yb = _bits_view(x), result.reshape(-1).view(np.uint16)
    idx = fast.run_elementwise(_forward_span, _forward_block, "half_forward", kind + 3 * fmt, kind, (xb, yb), fmt)
    if idx is not None:
        xs = xb[idx].view(x.dtype)
        yb[idx] = reference_path.forward(name, xs).view(np.uint16)
    return fast._finish(result, out)


def derivative_times(name: str, grad: np.ndarray, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """grad * f'(x) for float16 / bfloat16, rounded once, correctly."""
    kind, fmt = fast.KINDS[name], format_code(x.dtype)
    result = fast._output(x.shape, out, x.dtype)
    xb, yb = _bits_view(x), result.reshape(-1).view(np.uint16)
    gb = _bits_view(fast._full(grad, x.shape, x.dtype))
    idx = fast.run_elementwise(_backward_span, _backward_block, "half_backward", kind + 3 * fmt, kind,
                               (gb, xb, yb), fmt)
    if idx is not None:
        yb[idx] = reference_path.derivative_times(name, gb[idx].view(x.dtype), xb[idx].view(x.dtype), 1) \
            .view(np.uint16)
    return fast._finish(result, out)


def _bit_rows(x: np.ndarray) -> tuple[np.ndarray, int, int]:
    x2, per, n_chunks = fast._rows(x)
    return x2.view(np.uint16), per, n_chunks


def gated_forward(name: str, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """f(a) * b for x = [a | b] (last axis) in float16 / bfloat16, rounded once, correctly."""
    kind, fmt = fast.KINDS[name], format_code(x.dtype)
    half = x.shape[-1] // 2
    result = fast._output((*x.shape[:-1], half), out, x.dtype)
    x2, per, n_chunks = _bit_rows(x)
    y2 = result.reshape(x2.shape[0], half).view(np.uint16)
    counts = fast._run_chunks(
        lambda cs, c0, c1: fast._run(_gated_forward_rows, kind, x2, y2, cs, per, c0, c1, fmt=fmt), n_chunks, x.size,
        ("half_gated_forward", kind + 3 * fmt, (x2, y2), (x2.shape[0], half, per)))
    if np.count_nonzero(counts):
        r = fast._flagged(counts, per, x2.shape[0])
        a, b = x2[r, :half].view(x.dtype), x2[r, half:].view(x.dtype)
        y2[r] = reference_path.gated_forward(name, a, b).view(np.uint16)
    return fast._finish(result, out)


def gated_backward(name: str, grad: np.ndarray, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """[grad * b * f'(a) | grad * f(a)] in float16 / bfloat16, each rounded once, correctly."""
    kind, fmt = fast.KINDS[name], format_code(x.dtype)
    half = x.shape[-1] // 2
    result = fast._output(x.shape, out, x.dtype)
    x2, per, n_chunks = _bit_rows(x)
    g2 = fast._full(grad, (*x.shape[:-1], half), x.dtype).reshape(x2.shape[0], half).view(np.uint16)
    y2 = result.reshape(x2.shape).view(np.uint16)
    counts = fast._run_chunks(
        lambda cs, c0, c1: fast._run(_gated_backward_rows, kind, g2, x2, y2, cs, per, c0, c1, fmt=fmt), n_chunks,
        x.size, ("half_gated_backward", kind + 3 * fmt, (g2, x2, y2), (x2.shape[0], half, per)))
    if np.count_nonzero(counts):
        r = fast._flagged(counts, per, x2.shape[0])
        ga, gb = reference_path.gated_backward(name, g2[r].view(x.dtype), x2[r, :half].view(x.dtype),
                                               x2[r, half:].view(x.dtype))
        y2[r, :half] = ga.view(np.uint16)
        y2[r, half:] = gb.view(np.uint16)
    return fast._finish(result, out)
