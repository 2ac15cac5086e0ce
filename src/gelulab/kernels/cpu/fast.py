r"""numba kernels: GELU, GELU-tanh and SiLU in float32, forward and ``grad * f'``, correctly rounded.

Method (CORE-MATH's, in miniature):

1. each float32 input is widened to float64 and the function is evaluated there with
   branch-free polynomials, so the loop vectorises (no libm call, no table gathers) and runs on
   every core (threads). Every block of :data:`BLOCK` elements first takes the core form of
   :mod:`gelulab.functions.fast_core`, one polynomial in x^2, valid in [-3.5, 3.5] (where nearly
   every input of typical activations lies). Its inputs outside that range, when there are at
   most :data:`FEW`, are then computed one by one by the general form; a block with more of them,
   or with a rounding the core form leaves undecided, takes the general form as a whole:
   :mod:`gelulab.functions.fast_erfc` (Gaussian tail, exponential) for GELU, the exponential and a
   division for the sigmoid forms, valid everywhere;
2. the float64 value is rounded once to float32 (the core form rounds the two ends of its
   value's error interval instead, and takes the low end's rounding when the two agree);
3. a cheap rounding test asks whether the float64 value lies within the kernel's error bound of
   a float32 rounding boundary (a midpoint between two floats). Only then could the rounding be
   wrong; such inputs are counted per chunk, found again after the parallel loop, and recomputed
   on the exact NumPy path (:mod:`.reference_path`). They are rare (about one input in 10^6 to
   10^7 for random data), so the output equals the reference bit for bit at almost no cost.

The error bounds are relative to the sum of the magnitudes of the terms that are added, so the
test stays honest where a derivative cancels near its root (GELU' at x = -0.7518, SiLU' at
x = -1.2785), and they grow with |z| for the sigmoid forms, whose exponent's rounding is
amplified by |z|. ``ERROR_BOUNDS`` gives each bound; tests/kernels measures the actual errors
against mpmath and checks they stay below.

Odd subnormal float32 inputs, where f(x) ~ x/2 is a float32 midpoint, leave the core form
undecided; their block takes the erfc form, which applies the tiny-x rule of
:mod:`gelulab.functions.rounding` in the kernel (:func:`.elements.tiny_rule`: such a tie rounds
towards +inf), so a network whose activations have shrunk to subnormals stays off the exact path.

How it is checked: the exhaustive campaign (:mod:`gelulab.accuracy.campaign`, implementation
``gelulab-cpu``) grades f and grad * f' (grad = 1) on every float32 input against the correctly
rounded reference, and checks both forms' error bounds on every input against long double
(:mod:`.bounds`), which covers the products with any other factor.

This module holds the float32 loop drivers, their OpenMP workers and the public functions; the
element math (values, bounds, core forms, rounding tests) is :mod:`.elements`, the threads, the
dispatch and the output arrays are :mod:`.runtime` (shared with the 16-bit kernels of :mod:`.half`),
and the LLVM intrinsics :mod:`.simd`.
"""
from __future__ import annotations

import numpy as np
from numba import carray, literally, njit, types

from . import near_root, reference_path
from .elements import (
    CORE_NAMES,
    FAST_NAMES,
    KINDS,
    X_CORE,
    core_interval,
    float64_values,
    is_hard,
    round_ends,
    slope,
    tiny_rule,
    value,
)
from .runtime import (
    CHUNK,
    HEADER,
    PARALLEL_MIN,
    call,
    entry_point,
    finish,
    flagged,
    flat,
    full,
    next_block,
    output,
    register_worker,
    rows,
    run_chunks,
    run_elementwise,
)
from .simd import OPTS, pointer, wide_vectors

# --- loop drivers -----------------------------------------------------------------------------
# Serial, GIL-free block functions; the Python wrappers below run them on a thread pool, one
# contiguous range per task. (numba's prange would do the same, but compiling parallel loops for
# every function costs several seconds each, which every fresh test run and CI job would pay.)

#: Elements per block that takes the core form or the erfc form as a whole (a vector loop needs the
#: same code for all its elements).
BLOCK = 64


@njit(inline="always", **OPTS)
def _part(a, start, n):
    """a[start:start + n] of a contiguous 1-d array, as a view without a reference count (a slice
    would update the parent's count twice per block: atomic operations on a line both threads share)."""
    return carray(pointer(a.ctypes.data + start * a.itemsize, a.dtype), n)


@njit(inline="always", **OPTS)
def _outside_core(x):
    """|x| > X_CORE: the core form's value there means nothing, and its block takes the erfc form.
    Tested in the core loop itself rather than in a pass of its own before it: 5-8% faster per
    element on typical data, where nearly every block lies in the core."""
    return abs(x) > X_CORE


@njit(inline="always", **OPTS)
def _forward_core(kind, x, out):
    """f over x by the core form: values into out; (whether any rounding is undecided or any value
    NaN, whether any input lies outside the core). Flags are or-ed, not counted: one mask
    operation per vector instead of two."""
    undecided = outside = False
    for i in range(x.size):
        xi = np.float64(x[i])
        low, high = core_interval(kind, 0, 1.0, xi)
        out[i], hard = round_ends(low, high)
        undecided |= hard
        outside |= _outside_core(xi)
    return undecided, outside


@njit(inline="always", **OPTS)
def _forward_general(kind, x, out):
    """f over x by the erfc form, with the tiny-x rule: values into out; the count of undecided
    roundings."""
    hard = 0
    for i in range(x.size):
        xi = np.float64(x[i])
        y, bound = value(kind, xi)
        y, bound = tiny_rule(0, 1.0, xi, y, bound)
        hard += is_hard(y, bound)
        out[i] = np.float32(y)
    return hard


@njit(**OPTS)
def _value_at(kind, x):
    """The erfc form of f at one input. Not inlined: the call keeps the loop around it scalar, so
    it computes only the inputs it picks."""
    literally(kind)
    wide_vectors()
    return value(kind, x)


@njit(**OPTS)
def _slope_at(kind, x):
    """The erfc form of f' at one input (see _value_at)."""
    literally(kind)
    wide_vectors()
    return slope(kind, x)


#: A core block with at most this many inputs outside the core computes them one by one; with more, it
#: takes the erfc form as a whole (one scalar evaluation costs about as much as 1/8 of a vector pass).
FEW = 4


@njit(inline="always", **OPTS)
def _few_outside(x):
    """Whether at most FEW inputs of x lie outside the core."""
    n = 0
    for i in range(x.size):
        n += _outside_core(np.float64(x[i]))
    return n <= FEW


@njit(inline="always", **OPTS)
def _forward_outliers(kind, x, out):
    """f by the erfc form at the inputs of x outside the core only; the count of undecided roundings.
    A block of typical data with one input past 3.5 (3% of standard normal blocks of 64) costs one
    scalar evaluation, not a second pass over the block."""
    hard = 0
    for i in range(x.size):
        xi = np.float64(x[i])
        if _outside_core(xi):
            y, bound = _value_at(kind, xi)
            hard += is_hard(y, bound)
            out[i] = np.float32(y)
    return hard


@njit(**OPTS)
def _forward_span(kind, x, out):
    """x in blocks: the core form, then the erfc form at the block's inputs outside the core, or over
    the whole block where the core form left a rounding undecided; the count of roundings the erfc
    form leaves undecided."""
    literally(kind)
    wide_vectors()
    hard = 0
    for s in range(0, x.size, BLOCK):
        n = min(BLOCK, x.size - s)
        xs, ys = _part(x, s, n), _part(out, s, n)
        undecided, outside = _forward_core(kind, xs, ys)
        if undecided or (outside and not _few_outside(xs)):
            hard += _forward_general(kind, xs, ys)
        elif outside:
            hard += _forward_outliers(kind, xs, ys)
    return hard


@njit(**OPTS)
def _forward_block(kind, x, out, counts, c0, c1):
    """Chunks c0..c1 of x (CHUNK elements each): values into out, hard counts into counts."""
    literally(kind)
    wide_vectors()
    for c in range(c0, c1):
        a = c * CHUNK
        b = min(x.size, a + CHUNK)
        counts[c] = _forward_span(kind, x[a:b], out[a:b])


@njit(inline="always", **OPTS)
def _scaled_core(kind, order, s, x, out):
    """s * f(x) (order 0) or s * f'(x) (order 1) over x by the core form, rounded once: grad * f'(x)
    for a backward, f(a) * b for a gated forward. Flags as _forward_core."""
    undecided = outside = False
    for i in range(x.size):
        si, xi = np.float64(s[i]), np.float64(x[i])
        low, high = core_interval(kind, order, si, xi)
        out[i], hard = round_ends(low, high)
        undecided |= hard
        outside |= _outside_core(xi)
    return undecided, outside


@njit(inline="always", **OPTS)
def _scaled_general(kind, order, s, x, out):
    """The same by the erfc form, with the tiny-x rule; the count of undecided roundings."""
    hard = 0
    for i in range(x.size):
        si, xi = np.float64(s[i]), np.float64(x[i])
        v, bound = value(kind, xi) if order == 0 else slope(kind, xi)
        y, bound = tiny_rule(order, si, xi, si * v, abs(si) * bound)
        hard += is_hard(y, bound)
        out[i] = np.float32(y)
    return hard


@njit(inline="always", **OPTS)
def _scaled_outliers(kind, order, s, x, out):
    """The same by the erfc form at the inputs outside the core only (see _forward_outliers). A loop
    of its own, not _scaled_general with a flag: one element function for both (inlined for the
    one, called for the other) left the whole-block loop unvectorised, 21 ns per element instead of
    3.3 on wide inputs."""
    hard = 0
    for i in range(x.size):
        xi = np.float64(x[i])
        if _outside_core(xi):
            v, bound = _value_at(kind, xi) if order == 0 else _slope_at(kind, xi)
            si = np.float64(s[i])
            y = si * v
            hard += is_hard(y, abs(si) * bound)
            out[i] = np.float32(y)
    return hard


@njit(inline="always", **OPTS)
def _scaled_blocks(kind, order, s, x, out):
    """s * f(x) or s * f'(x) over contiguous arrays in blocks, like _forward_span."""
    hard = 0
    for b in range(0, x.size, BLOCK):
        n = min(BLOCK, x.size - b)
        ss, xs, ys = _part(s, b, n), _part(x, b, n), _part(out, b, n)
        undecided, outside = _scaled_core(kind, order, ss, xs, ys)
        if undecided or (outside and not _few_outside(xs)):
            hard += _scaled_general(kind, order, ss, xs, ys)
        elif outside:
            hard += _scaled_outliers(kind, order, ss, xs, ys)
    return hard


@njit(**OPTS)
def _backward_span(kind, g, x, out):
    """grad * f'(x) in blocks, like _forward_span."""
    literally(kind)
    wide_vectors()
    return _scaled_blocks(kind, 1, g, x, out)


@njit(**OPTS)
def _backward_block(kind, g, x, out, counts, c0, c1):
    literally(kind)
    wide_vectors()
    for c in range(c0, c1):
        a = c * CHUNK
        b = min(x.size, a + CHUNK)
        counts[c] = _backward_span(kind, g[a:b], x[a:b], out[a:b])


@njit(**OPTS)
def _gated_forward_row(kind, a, b, out):
    """f(a) * b in blocks, like _forward_span (a, b and out: contiguous rows)."""
    literally(kind)
    wide_vectors()
    return _scaled_blocks(kind, 0, _part(b, 0, b.size), _part(a, 0, a.size), _part(out, 0, out.size))


@njit(**OPTS)
def _gated_forward_rows(kind, x, out, counts, rows_per_chunk, c0, c1):
    """Row chunks c0..c1: f(a) * b into out, hard counts into counts."""
    literally(kind)
    wide_vectors()
    n = x.shape[1] // 2
    for c in range(c0, c1):
        hard = 0
        for r in range(c * rows_per_chunk, min(x.shape[0], (c + 1) * rows_per_chunk)):
            hard += _gated_forward_row(kind, x[r, :n], x[r, n:], out[r])
        counts[c] = hard


@njit(inline="always", **OPTS)
def _gated_backward_core(kind, g, a, b, out_a, out_b):
    """[grad * b * f'(a) | grad * f(a)] over one stretch of a row by the core form; flags as
    _forward_core."""
    undecided = outside = False
    for j in range(a.size):
        gi, aj, bj = np.float64(g[j]), np.float64(a[j]), np.float64(b[j])
        gb = gi * bj  # exact: two float32 significands fit in float64's
        low_a, high_a = core_interval(kind, 1, gb, aj)
        low_b, high_b = core_interval(kind, 0, gi, aj)
        out_a[j], hard_a = round_ends(low_a, high_a)
        out_b[j], hard_b = round_ends(low_b, high_b)
        undecided |= hard_a | hard_b
        outside |= _outside_core(aj)
    return undecided, outside


@njit(inline="always", **OPTS)
def _gated_backward_one(kind, general, j, g, a, b, out_a, out_b):
    """Element j of [grad * b * f'(a) | grad * f(a)] by the erfc form (inlined, or through the calls
    of _value_at and _slope_at); whether a rounding is undecided."""
    gi, aj, bj = np.float64(g[j]), np.float64(a[j]), np.float64(b[j])
    gb = gi * bj
    if general:
        fa, fbound = value(kind, aj)
        d, dbound = slope(kind, aj)
    else:
        fa, fbound = _value_at(kind, aj)
        d, dbound = _slope_at(kind, aj)
    ya, yb = gb * d, gi * fa
    out_a[j] = np.float32(ya)
    out_b[j] = np.float32(yb)
    return is_hard(ya, abs(gb) * dbound) | is_hard(yb, abs(gi) * fbound)


@njit(**OPTS)
def _gated_backward_row(kind, g, a, b, out_a, out_b):
    literally(kind)
    wide_vectors()
    g, a, b = _part(g, 0, g.size), _part(a, 0, a.size), _part(b, 0, b.size)
    out_a, out_b = _part(out_a, 0, out_a.size), _part(out_b, 0, out_b.size)
    hard = 0
    for s in range(0, a.size, BLOCK):
        n = min(BLOCK, a.size - s)
        gg, aa, bb = _part(g, s, n), _part(a, s, n), _part(b, s, n)
        ya, yb = _part(out_a, s, n), _part(out_b, s, n)
        undecided, outside = _gated_backward_core(kind, gg, aa, bb, ya, yb)
        if undecided or (outside and not _few_outside(aa)):
            for j in range(n):
                hard += _gated_backward_one(kind, True, j, gg, aa, bb, ya, yb)
        elif outside:
            for j in range(n):
                if _outside_core(np.float64(aa[j])):
                    hard += _gated_backward_one(kind, False, j, gg, aa, bb, ya, yb)
    return hard


@njit(**OPTS)
def _gated_backward_rows(kind, g, x, out, counts, rows_per_chunk, c0, c1):
    literally(kind)
    wide_vectors()
    n = x.shape[1] // 2
    for c in range(c0, c1):
        hard = 0
        for r in range(c * rows_per_chunk, min(x.shape[0], (c + 1) * rows_per_chunk)):
            hard += _gated_backward_row(kind, g[r], x[r, :n], x[r, n:], out[r, :n], out[r, n:])
        counts[c] = hard


@njit(**OPTS)
def _core_ends_of(kind, order, s, x, low, high):
    literally(kind)
    wide_vectors()
    for i in range(x.size):
        low[i], high[i] = core_interval(kind, order, np.float64(s[i]), np.float64(x[i]))


def core_ends(name: str, x: np.ndarray, order: int = 0, s: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The core form's interval for s * f(x) (order 0) or s * f'(x) (order 1), as the kernels
    compute it: (low, high), float64, for float32 x and s (s = 1 when not given); meaningful for
    |x| <= X_CORE. For the tests: the true value must lie in it for the kernels to be exact."""
    if name not in CORE_NAMES:
        raise ValueError(f"no core form for {name!r}; there is one for {', '.join(CORE_NAMES)}")
    xf = np.ascontiguousarray(x, dtype=np.float32).reshape(-1)
    sf = np.ones_like(xf) if s is None else np.ascontiguousarray(s, dtype=np.float32).reshape(-1)
    if sf.shape != xf.shape:
        raise ValueError(f"s has {sf.size} elements and x {xf.size}")
    low, high = np.empty(xf.size), np.empty(xf.size)
    call(_core_ends_of, KINDS[name], order, sf, xf, low, high)
    return low.reshape(np.shape(x)), high.reshape(np.shape(x))


def supports(name: str, dtype: np.dtype) -> bool:
    """Whether these kernels take (activation, dtype): float32, elementwise and gated forms (float16
    and bfloat16: :func:`.half.supports`)."""
    return name in FAST_NAMES and np.dtype(dtype) == np.float32


# --- OpenMP workers of the float32 drivers (see .runtime) ---------------------------------------

def _forward_worker(data):
    a = carray(pointer(data, types.int64), HEADER + 3)
    counts = carray(pointer(a[4], types.int64), a[1])
    x = carray(pointer(a[5], types.float32), a[7])
    out = carray(pointer(a[6], types.float32), a[7])
    kind = a[3]
    c0, c1 = next_block(data, a)
    while c0 < a[1]:
        if kind == 0:
            _forward_block(0, x, out, counts, c0, c1)
        elif kind == 1:
            _forward_block(1, x, out, counts, c0, c1)
        else:
            _forward_block(2, x, out, counts, c0, c1)
        c0, c1 = next_block(data, a)


def _backward_worker(data):
    a = carray(pointer(data, types.int64), HEADER + 4)
    counts = carray(pointer(a[4], types.int64), a[1])
    g = carray(pointer(a[5], types.float32), a[8])
    x = carray(pointer(a[6], types.float32), a[8])
    out = carray(pointer(a[7], types.float32), a[8])
    kind = a[3]
    c0, c1 = next_block(data, a)
    while c0 < a[1]:
        if kind == 0:
            _backward_block(0, g, x, out, counts, c0, c1)
        elif kind == 1:
            _backward_block(1, g, x, out, counts, c0, c1)
        else:
            _backward_block(2, g, x, out, counts, c0, c1)
        c0, c1 = next_block(data, a)


def _gated_forward_worker(data):
    a = carray(pointer(data, types.int64), HEADER + 5)
    counts = carray(pointer(a[4], types.int64), a[1])
    rows, half, per = a[7], a[8], a[9]
    x = carray(pointer(a[5], types.float32), (rows, 2 * half))
    out = carray(pointer(a[6], types.float32), (rows, half))
    kind = a[3]
    c0, c1 = next_block(data, a)
    while c0 < a[1]:
        if kind == 0:
            _gated_forward_rows(0, x, out, counts, per, c0, c1)
        elif kind == 1:
            _gated_forward_rows(1, x, out, counts, per, c0, c1)
        else:
            _gated_forward_rows(2, x, out, counts, per, c0, c1)
        c0, c1 = next_block(data, a)


def _gated_backward_worker(data):
    a = carray(pointer(data, types.int64), HEADER + 6)
    counts = carray(pointer(a[4], types.int64), a[1])
    rows, half, per = a[8], a[9], a[10]
    g = carray(pointer(a[5], types.float32), (rows, half))
    x = carray(pointer(a[6], types.float32), (rows, 2 * half))
    out = carray(pointer(a[7], types.float32), (rows, 2 * half))
    kind = a[3]
    c0, c1 = next_block(data, a)
    while c0 < a[1]:
        if kind == 0:
            _gated_backward_rows(0, g, x, out, counts, per, c0, c1)
        elif kind == 1:
            _gated_backward_rows(1, g, x, out, counts, per, c0, c1)
        else:
            _gated_backward_rows(2, g, x, out, counts, per, c0, c1)
        c0, c1 = next_block(data, a)


register_worker("forward", _forward_worker)
register_worker("backward", _backward_worker)
register_worker("gated_forward", _gated_forward_worker)
register_worker("gated_backward", _gated_backward_worker)


def _hard(y: np.ndarray, bound: np.ndarray) -> np.ndarray:
    """NumPy twin of the kernels' rounding test (used only on flagged ranges)."""
    with np.errstate(all="ignore"):
        return (np.float32(y - bound) != np.float32(y + bound)) & (y == y)


def forward(name: str, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """f(x) for float32 x, correctly rounded (hard inputs recomputed on the exact path)."""
    kind = KINDS[name]
    result = output(x.shape, out, inputs=(x,))
    xf, yf = flat(x), result.reshape(-1)
    idx = run_elementwise(_forward_span, _forward_block, "forward", kind, kind, (xf, yf))
    if idx is not None:
        y, bound = float64_values(name, xf[idx], 0)
        idx = idx[_hard(y, bound)]
        yf[idx] = reference_path.forward(name, xf[idx])
    return finish(result, out)


#: kind -> the entry point of _forward_span, and of _backward_span, for the small-call arrays
_SMALL: dict[int, object] = {}
_SMALL_BACKWARD: dict[int, object] = {}


def _small_ok(a: np.ndarray) -> bool:
    """Whether a is of the one type the small-call entry points were compiled for: 1-d, C-contiguous,
    writable, aligned float32, with fewer than PARALLEL_MIN elements."""
    flags = a.flags
    return a.ndim == 1 and a.size < PARALLEL_MIN and a.dtype == np.float32 and flags.c_contiguous \
        and flags.writeable and flags.aligned


def _small_run(entries: dict, driver, kind: int, *arrays: np.ndarray) -> bool:
    """driver(kind, *arrays) on this thread through its compiled entry point, kept in ``entries`` (no
    output choice, no dispatch key: ~1.5 us less a call); whether every rounding was decided."""
    entry = entries.get(kind)
    if entry is None:
        entry = entries[kind] = entry_point(driver, kind, *arrays)
    return entry is not None and not entry(kind, *arrays)


def small_forward(name: str, x: np.ndarray) -> np.ndarray:
    """f(x) as a new array, for a C-contiguous, writable float32 x of fewer than PARALLEL_MIN elements:
    the same kernel as :func:`forward`, by :func:`_small_run`. A call with an undecided rounding is
    done again by :func:`forward`, which sends it to the exact path."""
    flat_x = x if x.ndim == 1 else x.reshape(-1)
    if not _small_ok(flat_x):
        return forward(name, x)
    out = np.empty(x.shape, np.float32)
    flat_out = out if out.ndim == 1 else out.reshape(-1)
    return out if _small_run(_SMALL, _forward_span, KINDS[name], flat_x, flat_out) else forward(name, x)


def small_derivative_times(name: str, grad: np.ndarray, x: np.ndarray) -> np.ndarray:
    """grad * f'(x) as a new array by the shortest path, as :func:`small_forward` (grad of x's shape)."""
    flat_x = x if x.ndim == 1 else x.reshape(-1)
    flat_g = grad if grad.ndim == 1 else grad.reshape(-1)
    if grad.shape != x.shape or not (_small_ok(flat_x) and _small_ok(flat_g)):
        return derivative_times(name, grad, x)
    out = np.empty(x.shape, np.float32)
    flat_out = out if out.ndim == 1 else out.reshape(-1)
    decided = _small_run(_SMALL_BACKWARD, _backward_span, KINDS[name], flat_g, flat_x, flat_out)
    return out if decided else derivative_times(name, grad, x)


def derivative_times(name: str, grad: np.ndarray, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """grad * f'(x) for float32 inputs, rounded once, correctly."""
    kind = KINDS[name]
    result = output(x.shape, out, inputs=(x, grad))
    xf, gf, yf = flat(x), flat(full(grad, x.shape)), result.reshape(-1)
    idx = run_elementwise(_backward_span, _backward_block, "backward", kind, kind, (gf, xf, yf))
    if idx is not None:
        d, bound = float64_values(name, xf[idx], 1)
        g = gf[idx].astype(np.float64)
        idx = idx[_hard(g * d, np.abs(g) * bound)]
        if idx.size:  # most of them near a root of f': compiled there (see near_root)
            yf[idx] = near_root.derivative_times(name, gf[idx], xf[idx])
    return finish(result, out)


def _gated_hard(name: str, a: np.ndarray, b: np.ndarray, g: np.ndarray | None) -> np.ndarray:
    """The kernels' rounding test for f(a) * b (g None) or its two gradients, on flagged rows."""
    fa, fbound = float64_values(name, a, 0)
    b64 = b.astype(np.float64)
    with np.errstate(all="ignore"):  # inf * 0 gives NaN ends, which the test counts as undecided
        if g is None:
            return _hard(fa * b64, fbound * np.abs(b64))
        d, dbound = float64_values(name, a, 1)
        g64 = g.astype(np.float64)
        gb = g64 * b64
        return _hard(gb * d, np.abs(gb) * dbound) | _hard(g64 * fa, np.abs(g64) * fbound)


def gated_forward(name: str, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """f(a) * b for x = [a | b] (last axis), float32, rounded once, correctly."""
    kind = KINDS[name]
    half = x.shape[-1] // 2
    result = output((*x.shape[:-1], half), out, inputs=(x,))
    x2, per, n_chunks = rows(x)
    y2 = result.reshape(x2.shape[0], half)
    counts = run_chunks(lambda cs, c0, c1: call(_gated_forward_rows, kind, x2, y2, cs, per, c0, c1), n_chunks,
                         x.size, ("gated_forward", kind, (x2, y2), (x2.shape[0], half, per)))
    if np.count_nonzero(counts):
        r = flagged(counts, per, x2.shape[0])
        a, b = x2[r, :half], x2[r, half:]
        hr, hj = np.nonzero(_gated_hard(name, a, b, None))
        y2[r[hr], hj] = reference_path.gated_forward(name, a[hr, hj], b[hr, hj])
    return finish(result, out)


def gated_backward(name: str, grad: np.ndarray, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """[grad * b * f'(a) | grad * f(a)] for float32, each rounded once, correctly."""
    kind = KINDS[name]
    half = x.shape[-1] // 2
    result = output(x.shape, out, inputs=(x, grad))
    x2, per, n_chunks = rows(x)
    g2 = full(grad, (*x.shape[:-1], half)).reshape(x2.shape[0], half)
    y2 = result.reshape(x2.shape)
    counts = run_chunks(lambda cs, c0, c1: call(_gated_backward_rows, kind, g2, x2, y2, cs, per, c0, c1),
                         n_chunks, x.size, ("gated_backward", kind, (g2, x2, y2), (x2.shape[0], half, per)))
    if np.count_nonzero(counts):
        r = flagged(counts, per, x2.shape[0])
        a, b, g = x2[r, :half], x2[r, half:], g2[r]
        hr, hj = np.nonzero(_gated_hard(name, a, b, g))
        ga, gb = reference_path.gated_backward(name, g[hr, hj], a[hr, hj], b[hr, hj])
        y2[r[hr], hj] = ga
        y2[r[hr], hj + half] = gb
    return finish(result, out)
