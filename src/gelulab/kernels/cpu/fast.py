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

Odd subnormal float32 inputs, where f(x) ~ x/2 is a float32 midpoint, are hard cases like any
other: the exact path rounds them towards the sign of the x^2 term.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import os
import sys
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from numba import carray, cfunc, literally, njit, types
from numba.extending import intrinsic

from ...functions import fast_core as fcore
from ...functions import fast_erfc as fe
from ...functions.constants import TANH_3B, TANH_A, TANH_B
from . import memory, openmp, reference_path

#: Names with compiled float32 kernels.
FAST_NAMES = ("gelu", "gelu_tanh", "silu")
#: Names whose kernels take the core form (:mod:`gelulab.functions.fast_core`) for blocks near zero.
CORE_NAMES = ("gelu", "gelu_tanh", "silu")
#: Elements per parallel work item; a hard input makes only its chunk be searched again.
CHUNK = 1 << 10

_OPTS = {"cache": True, "fastmath": {"contract"}, "error_model": "numpy", "nogil": True}

# Relative error bounds of the float64 evaluation, in units of 2^-53 times the sum of the
# magnitudes of the terms (and, for the sigmoid forms, plus |z| times 2^-53).
ERROR_BOUNDS = {"gaussian": 64.0, "sigmoid": 64.0, "sigmoid_per_z": 8.0}
_U53 = 2.0**-53
_G_BOUND = ERROR_BOUNDS["gaussian"] * _U53
_S_BOUND = ERROR_BOUNDS["sigmoid"] * _U53
_S_BOUND_Z = ERROR_BOUNDS["sigmoid_per_z"] * _U53

_SIGMOID_CLAMP = 120.0  # x*sigmoid(x) for x < -120 is below 2^-150: -0.0 in float32
_TANH_CLAMP = 15.0  # |z| = 265 there: sigmoid is exactly 0 or 1 to float32 precision beyond
_TAIL_CLAMP = fe.X_MAX
_SHIFTER = 6755399441055744.0  # 1.5 * 2^52: (t + S) - S rounds t to an integer

_A = TANH_A[0]
_B = TANH_B[0]
_B3 = TANH_3B[0]
_INV_SQRT_2PI = fe.INV_SQRT_2PI


_T = fe.TAIL_COEFFICIENTS
_E = fe.EXP_COEFFICIENTS
# Horner written out: a loop over the tuple is not always unrolled, and a loop left inside the
# element function stops LLVM from vectorising the loop over elements.
assert len(_T) == 18 and len(_E) == 11, "fast_erfc degrees changed: update _tail_poly/_exp_poly"


@njit(inline="always", **_OPTS)
def _tail_poly(w):
    p = _T[0] * w + _T[1]
    p = p * w + _T[2]
    p = p * w + _T[3]
    p = p * w + _T[4]
    p = p * w + _T[5]
    p = p * w + _T[6]
    p = p * w + _T[7]
    p = p * w + _T[8]
    p = p * w + _T[9]
    p = p * w + _T[10]
    p = p * w + _T[11]
    p = p * w + _T[12]
    p = p * w + _T[13]
    p = p * w + _T[14]
    p = p * w + _T[15]
    p = p * w + _T[16]
    return p * w + _T[17]


@njit(inline="always", **_OPTS)
def _exp_poly(r):
    p = _E[0] * r + _E[1]
    p = p * r + _E[2]
    p = p * r + _E[3]
    p = p * r + _E[4]
    p = p * r + _E[5]
    p = p * r + _E[6]
    p = p * r + _E[7]
    p = p * r + _E[8]
    p = p * r + _E[9]
    return p * r + _E[10]


def _polynomial(coefficients: tuple[float, ...]):
    """p(w) = E(w^2) + w O(w^2), E and O by Horner's rule (fcore.even_odd), with the coefficients
    written into the code as constants, inlined into the kernels (see the note above _tail_poly).
    Two chains of half the length: GELU forward 3-5% faster per element than one chain."""
    even, odd = fcore.even_odd(coefficients)
    lines = ["def polynomial(w):", "    u = w * w", f"    e = {even[0]!r}", f"    o = {odd[0]!r}"]
    lines += [f"    e = e * u + {c!r}" for c in even[1:]]
    lines += [f"    o = o * u + {c!r}" for c in odd[1:]]
    lines += ["    p = o * w + e"]
    namespace: dict = {}
    exec("\n".join([*lines, "    return p"]), namespace)
    return njit(inline="always", **{k: v for k, v in _OPTS.items() if k != "cache"})(namespace["polynomial"])


_GELU_CORE = _polynomial(fcore.CORE_COEFFICIENTS[("gelu", 0)])
_GELU_PRIME_CORE = _polynomial(fcore.CORE_COEFFICIENTS[("gelu", 1)])
_SILU_CORE = _polynomial(fcore.CORE_COEFFICIENTS[("silu", 0)])
_SILU_PRIME_CORE = _polynomial(fcore.CORE_COEFFICIENTS[("silu", 1)])
_GELU_TANH_CORE = _polynomial(fcore.CORE_COEFFICIENTS[("gelu_tanh", 0)])
_GELU_TANH_PRIME_CORE = _polynomial(fcore.CORE_COEFFICIENTS[("gelu_tanh", 1)])
_X_CORE = fcore.X_CORE
_CORE_SCALE = fcore.CORE_SCALE
_CB = fcore.CORE_BOUNDS
_GELU_CORE_BOUND, _GELU_PRIME_CORE_BOUND = _CB[("gelu", 0)], _CB[("gelu", 1)]
_SILU_CORE_BOUND, _SILU_PRIME_CORE_BOUND = _CB[("silu", 0)], _CB[("silu", 1)]
_GELU_TANH_CORE_BOUND, _GELU_TANH_PRIME_CORE_BOUND = _CB[("gelu_tanh", 0)], _CB[("gelu_tanh", 1)]


@njit(inline="always", **_OPTS)
def _exp(a):
    """e^a for a in [-700, 0]: 2^k e^r, see fast_erfc."""
    kf = (a * fe.LOG2_E + _SHIFTER) - _SHIFTER
    r = (a - kf * fe.LN2_HI) - kf * fe.LN2_LO
    scale = np.int64((np.int64(kf) + 1023) << 52)
    return _exp_poly(r) * scale.view(np.float64)


@njit(inline="always", **_OPTS)
def _tail(ax):
    """(Q(ax), e^{-ax^2/2}) for 0 <= ax <= X_MAX."""
    u = 1.0 / (1.0 + fe.TAIL_C * ax)
    g = _exp(-0.5 * (ax * ax))
    return u * _tail_poly(u - fe.TAIL_SHIFT) * g, g


@intrinsic
def _select(typingctx, cond, a, b):
    """cond ? a : b as one LLVM ``select``. A Python conditional becomes a branch, and enough
    branches in an element function stop LLVM from vectorising the loop that inlines it."""
    if not isinstance(cond, types.Boolean) or a != b:
        return None

    def codegen(context, builder, signature, args):
        return builder.select(args[0], args[1], args[2])

    return a(cond, a, b), codegen


#: The widest vectors the loops may use, in bits. LLVM's tuning for Intel server cores (Skylake-X
#: to Emerald Rapids) prefers 256-bit vectors to spare the clock; these loops are long chains of
#: float64 multiply-adds, which run ~1.5x faster per element in 512-bit vectors (measured on an
#: Emerald Rapids: GELU forward 1.78 -> 1.21 ns, GELU-tanh 2.87 -> 1.70 ns, one thread). Without
#: AVX-512 the attribute changes nothing.
VECTOR_BITS = 512


@intrinsic
def _wide_vectors(typingctx):
    """Let the loops of the calling function use VECTOR_BITS-wide vectors (an LLVM function
    attribute; call it at the top of every function that holds an element loop)."""

    def codegen(context, builder, signature, args):
        # llvmlite's attribute set admits only keyword attributes; this one is a string attribute.
        # Should a later llvmlite store attributes otherwise, the loops keep LLVM's default width.
        with contextlib.suppress(TypeError, AttributeError):
            set.add(builder.function.attributes, f'"prefer-vector-width"="{VECTOR_BITS}"')
        return context.get_dummy_value()

    return types.none(), codegen


@njit(inline="always", **_OPTS)
def _clamp(x, lo, hi):
    return _select(x < lo, lo, _select(x > hi, hi, x))


@njit(inline="always", **_OPTS)
def _sigmoid(z):
    """(sigma(z), sigma(-z)) with the exponential on the side where it is at most 1."""
    e = _exp(-abs(z))
    big = 1.0 / (1.0 + e)
    small = e * big
    positive = z >= 0
    return _select(positive, big, small), _select(positive, small, big)


@njit(inline="always", **_OPTS)
def _is_hard(y, bound):
    """True when the float32 rounding of y (float64, within ``bound`` of the true value) is undecided.

    Both ends of the interval [y - bound, y + bound] are rounded to float32: if they agree, so
    does the true value's rounding. Exact in the subnormal range and at the overflow threshold
    too. An end that is NaN (an infinite bound, as for inf * 0 in a gated product) is undecided;
    y NaN (only produced for a NaN input) is never hard.
    """
    return (np.float32(y - bound) != np.float32(y + bound)) & (y == y)


# --- element functions: (float64 value, error bound) ---------------------------------------------
# No special paths for NaN (it propagates through every formula) or for tiny x (x/2 for an odd
# subnormal float32 is a float32 midpoint: the rounding test flags it and the exact path breaks
# the tie); each would cost a few vector instructions per element on every input. Past the left
# clamp the value is the one at the clamp, far below the smallest float32 subnormal, and its
# bound covers every value between it and 0 (|f| and |f'| only shrink further out): alone it
# rounds to -0.0 like the true value, while a product with a large factor (f(a) * b with b near
# 3e38, grad * f'(x)) is left undecided and goes to the exact path, not rounded from the clamp.

@njit(inline="always", **_OPTS)
def _gelu(x):
    ax = abs(x)
    q, _ = _tail(_select(ax > _TAIL_CLAMP, _TAIL_CLAMP, ax))
    xc = _select(x < -_TAIL_CLAMP, -_TAIL_CLAMP, x)
    y = _select(x >= 0, x * (1.0 - q), xc * q)
    return y, _past_left_clamp(x, xc, y, _G_BOUND * abs(y))


@njit(inline="always", **_OPTS)
def _past_left_clamp(x, xc, y, bound):
    """The bound of a value y computed at the clamped xc: past the left clamp (x < xc) the true
    value lies between y and 0, so the bound grows by |y|."""
    return _select(x < xc, abs(y) + bound, bound)


@njit(inline="always", **_OPTS)
def _gelu_prime(x):
    ax = abs(x)
    axc = _select(ax > _TAIL_CLAMP, _TAIL_CLAMP, ax)
    q, g = _tail(axc)
    xphi = axc * (g * _INV_SQRT_2PI)
    positive = x >= 0
    cdf = _select(positive, 1.0 - q, q)
    return _beyond(x, _TAIL_CLAMP, cdf + _select(positive, xphi, -xphi), _G_BOUND * (cdf + xphi))


@njit(inline="always", **_OPTS)
def _beyond(x, clamp, d, bound):
    """Derivatives past the clamps. On the right f' is 1 + (< 2^-100): 1.0 with bound 0, as the
    float64 product of the reference path takes it. On the left d is the derivative at the clamp
    and the true one lies between it and 0 (see the note above _gelu)."""
    right = x > clamp
    return _select(right, 1.0, d), _select(right, 0.0, _past_left_clamp(x, -clamp, d, bound))


@njit(inline="always", **_OPTS)
def _sigmoid_gated(x, xc, z):
    """x * sigma(z), with the clamped x on the left (x = -inf gives -0.0, not -inf * 0)."""
    s, _ = _sigmoid(z)
    y = _select(x >= 0, x, xc) * s
    return y, _past_left_clamp(x, xc, y, (_S_BOUND + _S_BOUND_Z * abs(z)) * abs(y))


@njit(inline="always", **_OPTS)
def _silu(x):
    xc = _clamp(x, -_SIGMOID_CLAMP, _SIGMOID_CLAMP)
    return _sigmoid_gated(x, xc, xc)


@njit(inline="always", **_OPTS)
def _silu_prime(x):
    xc = _clamp(x, -_SIGMOID_CLAMP, _SIGMOID_CLAMP)
    s, sbar = _sigmoid(xc)
    t = xc * s * sbar
    return _beyond(x, _SIGMOID_CLAMP, s + t, (_S_BOUND + _S_BOUND_Z * abs(xc)) * (s + abs(t)))


@njit(inline="always", **_OPTS)
def _gelu_tanh(x):
    xc = _clamp(x, -_TANH_CLAMP, _TANH_CLAMP)
    return _sigmoid_gated(x, xc, xc * (_A + _B * (xc * xc)))


@njit(inline="always", **_OPTS)
def _gelu_tanh_prime(x):
    xc = _clamp(x, -_TANH_CLAMP, _TANH_CLAMP)
    x2 = xc * xc
    z = xc * (_A + _B * x2)
    s, sbar = _sigmoid(z)
    t = xc * (_A + _B3 * x2) * s * sbar
    return _beyond(x, _TANH_CLAMP, s + t, (_S_BOUND + _S_BOUND_Z * abs(z)) * (s + abs(t)))


# --- the core form (|x| <= X_CORE): f = x (1/2 + x P(x^2)), f' = 1/2 + x D(x^2), see fast_core --------
# GELU, GELU-tanh and SiLU (kinds 0, 1 and 2) each have one.

@njit(inline="always", **_OPTS)
def _core_poly(kind, order, x):
    """P(x^2) (order 0) or D(x^2) (order 1), and the constant of its bound."""
    w = (x * x) * _CORE_SCALE - 1.0
    if kind == 0:
        if order == 0:
            return _GELU_CORE(w), _GELU_CORE_BOUND
        return _GELU_PRIME_CORE(w), _GELU_PRIME_CORE_BOUND
    if kind == 1:
        if order == 0:
            return _GELU_TANH_CORE(w), _GELU_TANH_CORE_BOUND
        return _GELU_TANH_PRIME_CORE(w), _GELU_TANH_PRIME_CORE_BOUND
    if order == 0:
        return _SILU_CORE(w), _SILU_CORE_BOUND
    return _SILU_PRIME_CORE(w), _SILU_PRIME_CORE_BOUND


@njit(inline="always", **_OPTS)
def _core_ends(kind, order, s, x):
    """(low, high): two float64 numbers between which s * f(x) (order 0) or s * f'(x) (order 1)
    lies, for float32 s and x with |x| <= X_CORE.

    With v = 1/2 + x P (f = x v) or v = 1/2 + x D (f' = v), c the core bound of v and m = s x or
    s (exact: two float32 significands fit in a float64's), the ends are m v -/+ |m| c. The bound
    covers the evaluation's error with room for the roundings of the ends (tests/kernels checks
    that they bracket the mpmath value). Written as two sums, not as y and a bound: LLVM then
    keeps 16-wide float32 compares and two flag registers in the block loop (with fused ends,
    or with an fma intrinsic, it took 8-wide ones and spilled mask registers, 5-10% slower).
    Where m is infinite or NaN, or m = inf * 0, an end is NaN and the rounding undecided.
    """
    p, c = _core_poly(kind, order, x)
    m = s * x if order == 0 else s
    y = m * (x * p + 0.5)
    am = abs(m)
    return y + am * -c, y + am * c


@njit(inline="always", **_OPTS)
def _rounded(low, high):
    """(float32 of low, whether high rounds otherwise) for the ends of an interval that holds the
    true value: when both ends round alike, so does every value between them, so the result
    costs no conversion of its own. A NaN end counts as undecided (a core block holding a NaN
    is left to the erfc form). The ends of a core interval never straddle zero, where -0.0 and
    +0.0 would compare equal: they are one signed zero when m is, and otherwise v's interval
    lies away from 0 (v >= 2.3e-4 for a value, |f'| >= 1e-8 at the float32 inputs next to a
    derivative's root, against bounds of 2^-40 and less; tests/kernels checks both).
    """
    r = np.float32(low)
    return r, r != np.float32(high)


#: Kernel numbers: the drivers take one as a compile-time literal, so each driver is compiled once
#: per function with the element function inlined (a function passed as an argument is called,
#: not inlined, and the call stops vectorisation).
KINDS = {"gelu": 0, "gelu_tanh": 1, "silu": 2}


@njit(inline="always", **_OPTS)
def _value(kind, x):
    if kind == 0:
        return _gelu(x)
    if kind == 1:
        return _gelu_tanh(x)
    return _silu(x)


@njit(inline="always", **_OPTS)
def _slope(kind, x):
    if kind == 0:
        return _gelu_prime(x)
    if kind == 1:
        return _gelu_tanh_prime(x)
    return _silu_prime(x)


# --- loop drivers -----------------------------------------------------------------------------
# Serial, GIL-free block functions; the Python wrappers below run them on a thread pool, one
# contiguous range per task. (numba's prange would do the same, but compiling parallel loops for
# every function costs several seconds each, which every fresh test run and CI job would pay.)

#: Elements per block that takes the core form or the erfc form as a whole (a vector loop needs the
#: same code for all its elements).
BLOCK = 64


@njit(inline="always", **_OPTS)
def _part(a, start, n):
    """a[start:start + n] of a contiguous 1-d array, as a view without a reference count (a slice
    would update the parent's count twice per block: atomic operations on a line both threads share)."""
    return carray(_pointer(a.ctypes.data + start * a.itemsize, a.dtype), n)


@njit(inline="always", **_OPTS)
def _outside_core(x):
    """|x| > X_CORE: the core form's value there means nothing, and its block takes the erfc form.
    Tested in the core loop itself rather than in a pass of its own before it: 5-8% faster per
    element on typical data, where nearly every block lies in the core."""
    return abs(x) > _X_CORE


@njit(inline="always", **_OPTS)
def _forward_core(kind, x, out):
    """f over x by the core form: values into out; (whether any rounding is undecided or any value
    NaN, whether any input lies outside the core). Flags are or-ed, not counted: one mask
    operation per vector instead of two."""
    undecided = outside = False
    for i in range(x.size):
        xi = np.float64(x[i])
        low, high = _core_ends(kind, 0, 1.0, xi)
        out[i], hard = _rounded(low, high)
        undecided |= hard
        outside |= _outside_core(xi)
    return undecided, outside


@njit(inline="always", **_OPTS)
def _forward_general(kind, x, out):
    """f over x by the erfc form: values into out; the count of undecided roundings."""
    hard = 0
    for i in range(x.size):
        y, bound = _value(kind, np.float64(x[i]))
        hard += _is_hard(y, bound)
        out[i] = np.float32(y)
    return hard


@njit(**_OPTS)
def _value_at(kind, x):
    """The erfc form of f at one input. Not inlined: the call keeps the loop around it scalar, so
    it computes only the inputs it picks."""
    literally(kind)
    _wide_vectors()
    return _value(kind, x)


@njit(**_OPTS)
def _slope_at(kind, x):
    """The erfc form of f' at one input (see _value_at)."""
    literally(kind)
    _wide_vectors()
    return _slope(kind, x)


#: A core block with at most this many inputs outside the core computes them one by one; with more, it
#: takes the erfc form as a whole (one scalar evaluation costs about as much as 1/8 of a vector pass).
FEW = 4


@njit(inline="always", **_OPTS)
def _few_outside(x):
    """Whether at most FEW inputs of x lie outside the core."""
    n = 0
    for i in range(x.size):
        n += _outside_core(np.float64(x[i]))
    return n <= FEW


@njit(inline="always", **_OPTS)
def _forward_outliers(kind, x, out):
    """f by the erfc form at the inputs of x outside the core only; the count of undecided roundings.
    A block of typical data with one input past 3.5 (3% of standard normal blocks of 64) costs one
    scalar evaluation, not a second pass over the block."""
    hard = 0
    for i in range(x.size):
        xi = np.float64(x[i])
        if _outside_core(xi):
            y, bound = _value_at(kind, xi)
            hard += _is_hard(y, bound)
            out[i] = np.float32(y)
    return hard


@njit(**_OPTS)
def _forward_span(kind, x, out):
    """x in blocks: the core form, then the erfc form at the block's inputs outside the core, or over
    the whole block where the core form left a rounding undecided; the count of roundings the erfc
    form leaves undecided."""
    literally(kind)
    _wide_vectors()
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


@njit(**_OPTS)
def _forward_block(kind, x, out, counts, c0, c1):
    """Chunks c0..c1 of x (CHUNK elements each): values into out, hard counts into counts."""
    literally(kind)
    _wide_vectors()
    for c in range(c0, c1):
        a = c * CHUNK
        b = min(x.size, a + CHUNK)
        counts[c] = _forward_span(kind, x[a:b], out[a:b])


@njit(inline="always", **_OPTS)
def _scaled_core(kind, order, s, x, out):
    """s * f(x) (order 0) or s * f'(x) (order 1) over x by the core form, rounded once: grad * f'(x)
    for a backward, f(a) * b for a gated forward. Flags as _forward_core."""
    undecided = outside = False
    for i in range(x.size):
        si, xi = np.float64(s[i]), np.float64(x[i])
        low, high = _core_ends(kind, order, si, xi)
        out[i], hard = _rounded(low, high)
        undecided |= hard
        outside |= _outside_core(xi)
    return undecided, outside


@njit(inline="always", **_OPTS)
def _scaled_general(kind, order, s, x, out):
    """The same by the erfc form; the count of undecided roundings."""
    hard = 0
    for i in range(x.size):
        si, xi = np.float64(s[i]), np.float64(x[i])
        v, bound = _value(kind, xi) if order == 0 else _slope(kind, xi)
        y = si * v
        hard += _is_hard(y, abs(si) * bound)
        out[i] = np.float32(y)
    return hard


@njit(inline="always", **_OPTS)
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
            hard += _is_hard(y, abs(si) * bound)
            out[i] = np.float32(y)
    return hard


@njit(inline="always", **_OPTS)
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


@njit(**_OPTS)
def _backward_span(kind, g, x, out):
    """grad * f'(x) in blocks, like _forward_span."""
    literally(kind)
    _wide_vectors()
    return _scaled_blocks(kind, 1, g, x, out)


@njit(**_OPTS)
def _backward_block(kind, g, x, out, counts, c0, c1):
    literally(kind)
    _wide_vectors()
    for c in range(c0, c1):
        a = c * CHUNK
        b = min(x.size, a + CHUNK)
        counts[c] = _backward_span(kind, g[a:b], x[a:b], out[a:b])


@njit(**_OPTS)
def _gated_forward_row(kind, a, b, out):
    """f(a) * b in blocks, like _forward_span (a, b and out: contiguous rows)."""
    literally(kind)
    _wide_vectors()
    return _scaled_blocks(kind, 0, _part(b, 0, b.size), _part(a, 0, a.size), _part(out, 0, out.size))


@njit(**_OPTS)
def _gated_forward_rows(kind, x, out, counts, rows_per_chunk, c0, c1):
    """Row chunks c0..c1: f(a) * b into out, hard counts into counts."""
    literally(kind)
    _wide_vectors()
    n = x.shape[1] // 2
    for c in range(c0, c1):
        hard = 0
        for r in range(c * rows_per_chunk, min(x.shape[0], (c + 1) * rows_per_chunk)):
            hard += _gated_forward_row(kind, x[r, :n], x[r, n:], out[r])
        counts[c] = hard


@njit(inline="always", **_OPTS)
def _gated_backward_core(kind, g, a, b, out_a, out_b):
    """[grad * b * f'(a) | grad * f(a)] over one stretch of a row by the core form; flags as
    _forward_core."""
    undecided = outside = False
    for j in range(a.size):
        gi, aj, bj = np.float64(g[j]), np.float64(a[j]), np.float64(b[j])
        gb = gi * bj  # exact: two float32 significands fit in float64's
        low_a, high_a = _core_ends(kind, 1, gb, aj)
        low_b, high_b = _core_ends(kind, 0, gi, aj)
        out_a[j], hard_a = _rounded(low_a, high_a)
        out_b[j], hard_b = _rounded(low_b, high_b)
        undecided |= hard_a | hard_b
        outside |= _outside_core(aj)
    return undecided, outside


@njit(inline="always", **_OPTS)
def _gated_backward_one(kind, general, j, g, a, b, out_a, out_b):
    """Element j of [grad * b * f'(a) | grad * f(a)] by the erfc form (inlined, or through the calls
    of _value_at and _slope_at); whether a rounding is undecided."""
    gi, aj, bj = np.float64(g[j]), np.float64(a[j]), np.float64(b[j])
    gb = gi * bj
    if general:
        fa, fbound = _value(kind, aj)
        d, dbound = _slope(kind, aj)
    else:
        fa, fbound = _value_at(kind, aj)
        d, dbound = _slope_at(kind, aj)
    ya, yb = gb * d, gi * fa
    out_a[j] = np.float32(ya)
    out_b[j] = np.float32(yb)
    return _is_hard(ya, abs(gb) * dbound) | _is_hard(yb, abs(gi) * fbound)


@njit(**_OPTS)
def _gated_backward_row(kind, g, a, b, out_a, out_b):
    literally(kind)
    _wide_vectors()
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


@njit(**_OPTS)
def _gated_backward_rows(kind, g, x, out, counts, rows_per_chunk, c0, c1):
    literally(kind)
    _wide_vectors()
    n = x.shape[1] // 2
    for c in range(c0, c1):
        hard = 0
        for r in range(c * rows_per_chunk, min(x.shape[0], (c + 1) * rows_per_chunk)):
            hard += _gated_backward_row(kind, g[r], x[r, :n], x[r, n:], out[r, :n], out[r, n:])
        counts[c] = hard


@njit(**_OPTS)
def _float64_values(kind, x, order, out, bounds):
    literally(kind)
    _wide_vectors()
    for i in range(x.size):
        xi = np.float64(x[i])
        y, b = _value(kind, xi) if order == 0 else _slope(kind, xi)
        out[i] = y
        bounds[i] = b


def float64_values(name: str, x: np.ndarray, order: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The erfc form's float64 value of f (order 0) or f' (order 1) before rounding, and its error
    bound.

    Used to find the hard inputs of a flagged chunk again (the erfc form decides every count the
    kernels return), and by the tests (each bound must hold against the mpmath oracle for the
    rounding test to be sound).
    """
    xf = np.ascontiguousarray(x, dtype=np.float32).reshape(-1)
    out = np.empty(xf.size)
    bounds = np.empty(xf.size)
    _run(_float64_values, KINDS[name], xf, order, out, bounds)
    return out.reshape(np.shape(x)), bounds.reshape(np.shape(x))


@njit(**_OPTS)
def _core_ends_of(kind, order, s, x, low, high):
    literally(kind)
    _wide_vectors()
    for i in range(x.size):
        low[i], high[i] = _core_ends(kind, order, np.float64(s[i]), np.float64(x[i]))


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
    _run(_core_ends_of, KINDS[name], order, sf, xf, low, high)
    return low.reshape(np.shape(x)), high.reshape(np.shape(x))


_ENTRY_POINTS: dict[tuple, object] = {}


def _cheap_type(a) -> tuple:
    """What numba's type of an argument depends on, without the cost of numba.typeof (~10 us)."""
    if isinstance(a, np.ndarray):
        return a.dtype.char, a.ndim, a.flags.c_contiguous, a.flags.f_contiguous, a.flags.writeable, a.flags.aligned
    return (type(a),)


def _run(driver, kind: int, *args, fmt: int | None = None):
    """driver(kind, *args), or driver(kind, fmt, *args), through the compiled entry point of its
    literal specialisation.

    Calling a dispatcher with an argument it must treat as a literal costs ~10 ms per call in
    numba's type resolution; the entry point of the compiled specialisation costs microseconds.
    """
    literals = (kind,) if fmt is None else (kind, fmt)
    key = (driver, *literals, *(_cheap_type(a) for a in args))
    entry = _ENTRY_POINTS.get(key)
    if entry is not None:
        return entry(*literals, *args)
    result = driver(*literals, *args)  # compiles, or loads from numba's cache
    # numba's compiler catches exceptions of its own; their tracebacks form cycles through the frames
    # of this call, which hold the caller's output: without a collection now, the first output of a
    # process would outlive its last reference until the next one. Once per compiled signature.
    gc.collect()
    wanted = tuple(types.literal(v) for v in literals) + tuple(numba.typeof(a) for a in args)
    for signature, compiled in driver.overloads.items():
        if tuple(signature) == wanted:
            _ENTRY_POINTS[key] = compiled.entry_point
    return result


def supports(name: str, dtype: np.dtype) -> bool:
    """Whether the compiled kernels take (activation, dtype): float32 here, float16 and bfloat16 in
    :mod:`.half`, each for the elementwise and the gated forms."""
    if name not in FAST_NAMES:
        return False
    dtype = np.dtype(dtype)
    if dtype == np.float32:
        return True
    from .half import format_code

    return format_code(dtype) is not None


# --- OpenMP workers ------------------------------------------------------------------------------
# One C-callable worker per driver, run by every thread of torch's OpenMP team (see .openmp). Its
# argument is an int64 array: [next block, chunks, chunks per block, kind, counts address,
# then the driver's array addresses and sizes]. Each thread takes blocks with an atomic add on
# the first slot until none is left; the kind is read at run time and each branch calls the
# driver with a constant, so each runs its compiled specialisation.

@intrinsic
def _pointer(typingctx, address, target):
    """An int64 address (or a void*) as a typed pointer; target is the element type's class or an
    array's dtype."""
    if isinstance(target, types.NumberClass):
        dtype = target.instance_type
    elif isinstance(target, types.DType):
        dtype = target.dtype
    else:
        return None

    def codegen(context, builder, signature, args):
        ty = context.get_value_type(signature.return_type)
        if isinstance(signature.args[0], types.Integer):
            return builder.inttoptr(args[0], ty)
        return builder.bitcast(args[0], ty)

    return types.CPointer(dtype)(address, target), codegen


@intrinsic
def _fetch_add(typingctx, pointer, value):
    """Atomically *pointer += value, returning the old value."""
    if not isinstance(pointer, types.CPointer) or pointer.dtype != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.atomic_rmw("add", args[0], args[1], "monotonic")

    return types.int64(pointer, types.int64), codegen


_HEADER = 5  # next block (from _hand_outs' first), chunks, chunks per block, kind, counts address


@njit(inline="always", **_OPTS)
def _next_block(data, a):
    """The next hand-out (the counter may start below 0: then the first one is short, see _hand_outs)."""
    c0 = _fetch_add(_pointer(data, types.int64), a[2])
    return max(0, c0), min(a[1], c0 + a[2])


def _forward_worker(data):
    a = carray(_pointer(data, types.int64), _HEADER + 3)
    counts = carray(_pointer(a[4], types.int64), a[1])
    x = carray(_pointer(a[5], types.float32), a[7])
    out = carray(_pointer(a[6], types.float32), a[7])
    kind = a[3]
    c0, c1 = _next_block(data, a)
    while c0 < a[1]:
        if kind == 0:
            _forward_block(0, x, out, counts, c0, c1)
        elif kind == 1:
            _forward_block(1, x, out, counts, c0, c1)
        else:
            _forward_block(2, x, out, counts, c0, c1)
        c0, c1 = _next_block(data, a)


def _backward_worker(data):
    a = carray(_pointer(data, types.int64), _HEADER + 4)
    counts = carray(_pointer(a[4], types.int64), a[1])
    g = carray(_pointer(a[5], types.float32), a[8])
    x = carray(_pointer(a[6], types.float32), a[8])
    out = carray(_pointer(a[7], types.float32), a[8])
    kind = a[3]
    c0, c1 = _next_block(data, a)
    while c0 < a[1]:
        if kind == 0:
            _backward_block(0, g, x, out, counts, c0, c1)
        elif kind == 1:
            _backward_block(1, g, x, out, counts, c0, c1)
        else:
            _backward_block(2, g, x, out, counts, c0, c1)
        c0, c1 = _next_block(data, a)


def _gated_forward_worker(data):
    a = carray(_pointer(data, types.int64), _HEADER + 5)
    counts = carray(_pointer(a[4], types.int64), a[1])
    rows, half, per = a[7], a[8], a[9]
    x = carray(_pointer(a[5], types.float32), (rows, 2 * half))
    out = carray(_pointer(a[6], types.float32), (rows, half))
    kind = a[3]
    c0, c1 = _next_block(data, a)
    while c0 < a[1]:
        if kind == 0:
            _gated_forward_rows(0, x, out, counts, per, c0, c1)
        elif kind == 1:
            _gated_forward_rows(1, x, out, counts, per, c0, c1)
        else:
            _gated_forward_rows(2, x, out, counts, per, c0, c1)
        c0, c1 = _next_block(data, a)


def _gated_backward_worker(data):
    a = carray(_pointer(data, types.int64), _HEADER + 6)
    counts = carray(_pointer(a[4], types.int64), a[1])
    rows, half, per = a[8], a[9], a[10]
    g = carray(_pointer(a[5], types.float32), (rows, half))
    x = carray(_pointer(a[6], types.float32), (rows, 2 * half))
    out = carray(_pointer(a[7], types.float32), (rows, 2 * half))
    kind = a[3]
    c0, c1 = _next_block(data, a)
    while c0 < a[1]:
        if kind == 0:
            _gated_backward_rows(0, g, x, out, counts, per, c0, c1)
        elif kind == 1:
            _gated_backward_rows(1, g, x, out, counts, per, c0, c1)
        else:
            _gated_backward_rows(2, g, x, out, counts, per, c0, c1)
        c0, c1 = _next_block(data, a)


_WORKER_SOURCES = {"forward": _forward_worker, "backward": _backward_worker,
                   "gated_forward": _gated_forward_worker, "gated_backward": _gated_backward_worker}
_WORKERS: dict[str, int] = {}


def register_worker(driver: str, source) -> None:
    """Add an OpenMP worker (a function of one void* argument, compiled on first use)."""
    _WORKER_SOURCES[driver] = source


def _worker_address(driver: str) -> int:
    """The C address of a driver's OpenMP worker, compiled (or loaded from numba's cache) on first use."""
    address = _WORKERS.get(driver)
    if address is None:
        compiled = cfunc(types.void(types.voidptr), cache=True, **{k: v for k, v in _OPTS.items() if k != "cache"})(
            _WORKER_SOURCES[driver])
        address = _WORKERS[driver] = compiled.address
    return address


def _run_team(driver: str, kind: int, counts: np.ndarray, threads: int, arrays: tuple, sizes: tuple) -> bool:
    """Run a driver on the OpenMP team; False (nothing run) where there is none."""
    if openmp.runtime() is None:
        return False
    n_chunks = counts.size
    step, first = _hand_outs(n_chunks, threads, arrays[-1])
    data = np.array([first, n_chunks, step, kind, counts.ctypes.data, *(a.ctypes.data for a in arrays), *sizes],
                    dtype=np.int64)
    return openmp.parallel(_worker_address(driver), data.ctypes.data, threads)


# --- threads -------------------------------------------------------------------------------------
# The calling thread works too, beside threads - 1 pool workers, and the work is handed out in
# blocks from a shared counter rather than split in equal halves up front: when a core is taken
# for a while (torch's OpenMP workers spin on a core for milliseconds after every parallel op of
# torch's), the other thread takes more blocks instead of waiting for the slow half.

#: Threads set by set_threads or $GELULAB_THREADS; None: follow torch's thread count (or the cores).
def _threads_from_environment() -> int | None:
    text = os.environ.get("GELULAB_THREADS")
    if text is None or not text.strip():
        return None
    try:
        n = int(text)
    except ValueError:
        raise ValueError(f"GELULAB_THREADS must be a whole number of threads (at least 1), got {text!r}") from None
    if n < 1:
        raise ValueError(f"GELULAB_THREADS must be at least 1, got {n}")
    return n


_threads: int | None = _threads_from_environment()
_pool: ThreadPoolExecutor | None = None
#: Below this many elements a call runs on the calling thread (a hand-off costs microseconds).
_PARALLEL_MIN = 1 << 16
#: Chunks per hand-out: 2^17 elements, a fraction of a millisecond of work.
BLOCK_CHUNKS = 128


def set_threads(n: int | None) -> None:
    """Threads the kernels use: n, or None for the default (torch's ``get_num_threads()`` when torch
    is loaded, else every core; ``$GELULAB_THREADS`` overrides the default at start)."""
    global _threads
    _threads = None if n is None else max(1, int(n))


def get_threads() -> int:
    """The thread count the next call will use."""
    if _threads is not None:
        return _threads
    torch = sys.modules.get("torch")
    if torch is not None:
        return max(1, torch.get_num_threads())
    return max(1, os.cpu_count() or 1)


def _worker_pool(threads: int) -> ThreadPoolExecutor:
    """The pool of threads - 1 workers (made again when the count changes)."""
    global _pool
    if _pool is None or _pool._max_workers != threads - 1:
        if _pool is not None:
            _pool.shutdown(wait=True)
        _pool = ThreadPoolExecutor(max_workers=threads - 1, thread_name_prefix="gelulab")
    return _pool


def _forget_pool() -> None:
    """A forked child has none of the parent's threads: its pool object would wait forever."""
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def _n_chunks(n: int, per: int) -> int:
    """Chunks of ``per`` items that cover n items (one, empty, for n = 0)."""
    return max(1, -(-n // per))


def _hand_outs(n_chunks: int, threads: int, out: np.ndarray | None) -> tuple[int, int]:
    """(step, first): chunks per hand-out, and where the shared counter starts (hand-out k covers
    chunks max(0, first + k * step) up to first + (k + 1) * step).

    A large output is written on transparent huge pages (see :mod:`.memory`), and the first write
    to each one faults it in: a 2 MiB clear. Two threads writing the same huge page at once both
    fault on it and the loser's clear is wasted, so there each hand-out is one huge page of the
    output, aligned with the pages (the first one is short; chunks of gated rows, which need not
    tile a page, come only close). Measured here, forward GELU into a fresh 2^24-element output
    on 2 threads took 22.1 ms with hand-outs of 2^17 elements against 18.8 ms with 2^19.
    Elsewhere a hand-out is at most BLOCK_CHUNKS chunks, and small enough for 4 per thread.
    """
    huge = memory.huge_page_bytes()
    if out is None or not huge or out.nbytes < memory.MIN_BYTES:
        return max(1, min(BLOCK_CHUNKS, n_chunks // (4 * threads))), 0
    # a chunk is a run of elements (1-d output) or rows (2-d); only the last one may be short
    chunk_bytes = -(-out.shape[0] // n_chunks) * out.strides[0]
    step = max(1, round(huge / chunk_bytes))
    lead = min(step, -(-((-out.ctypes.data) % huge) // chunk_bytes))  # chunks before a page starts
    return step, lead - step if lead else 0


def _run_chunks(task, n_chunks: int, items: int, team: tuple | None = None) -> np.ndarray:
    """task(counts, c0, c1) over all chunks: on the OpenMP team given ``team`` = (driver, kind,
    arrays, sizes) and a team to run it on, else in blocks taken by the calling thread and the pool's."""
    counts = np.zeros(n_chunks, dtype=np.int64)
    threads = min(get_threads(), n_chunks)
    if threads == 1 or items < _PARALLEL_MIN:
        task(counts, 0, n_chunks)
        return counts
    if team is not None and _run_team(team[0], team[1], counts, threads, team[2], team[3]):
        return counts
    pool = _worker_pool(get_threads())
    step, first = _hand_outs(n_chunks, threads, None if team is None else team[2][-1])
    blocks = itertools.count()  # next() is atomic: the GIL is held while it runs

    def work() -> None:
        while (c0 := first + next(blocks) * step) < n_chunks:
            task(counts, max(0, c0), min(n_chunks, c0 + step))

    jobs = [pool.submit(work) for _ in range(threads - 1)]
    try:
        work()
    finally:  # the workers write into the caller's arrays: never return before they stop
        for job in jobs:
            job.exception()
    for job in jobs:
        job.result()
    return counts


def _full(grad: np.ndarray, shape: tuple[int, ...], dtype=np.float32) -> np.ndarray:
    """grad as a writeable C-contiguous array of ``shape`` (a read-only broadcast view would make numba
    compile a second, read-only specialisation of every kernel)."""
    grad = np.asarray(grad)
    if grad.shape == tuple(shape) and grad.flags.c_contiguous and grad.flags.writeable:
        return grad
    return np.array(np.broadcast_to(grad, shape), dtype=dtype, order="C")


def _flat(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    return (a if a.flags.writeable else a.copy()).reshape(-1)


def _output(shape: tuple[int, ...], out: np.ndarray | None, dtype=np.float32, inputs: tuple = ()) -> np.ndarray:
    """``out`` itself where the kernel can write it directly: C-contiguous, of the shape and dtype,
    and sharing no memory with an input (a kernel reads its inputs again after writing output, in
    its fallbacks); else a new array, which _finish copies into ``out``."""
    if out is not None and out.flags.c_contiguous and out.shape == shape and out.dtype == dtype \
            and not any(np.may_share_memory(out, a) for a in inputs):
        return out
    return np.empty(shape, dtype=dtype)


def _finish(result: np.ndarray, out: np.ndarray | None) -> np.ndarray:
    if out is None or result is out:
        return result
    out[...] = result
    return out


def _hard(y: np.ndarray, bound: np.ndarray) -> np.ndarray:
    """NumPy twin of the kernels' rounding test (used only on flagged ranges)."""
    with np.errstate(all="ignore"):
        return (np.float32(y - bound) != np.float32(y + bound)) & (y == y)


def _flagged(counts: np.ndarray, per: int, n: int) -> np.ndarray:
    """Indices (of n items, in chunks of ``per``) in the chunks whose hard count is not zero."""
    idx = (np.flatnonzero(counts)[:, None] * per + np.arange(per)).reshape(-1)
    return idx[idx < n]


def run_elementwise(span, block, worker: str, code: int, kind: int, arrays: tuple,
                    fmt: int | None = None) -> np.ndarray | None:
    """Run an elementwise driver over flat arrays (output last, as long as the inputs; a table the
    driver reads may come first); the indices of the chunks holding undecided inputs, or None when
    there are none.

    Below _PARALLEL_MIN elements ``span`` runs once on this thread (and a hard input flags the
    whole call); otherwise ``block`` runs over chunks on the threads, the OpenMP ``worker`` reading
    ``code`` as its kind.
    """
    n = arrays[-1].size
    if n < _PARALLEL_MIN:
        return np.arange(n) if _run(span, kind, *arrays, fmt=fmt) else None
    counts = _run_chunks(lambda cs, c0, c1: _run(block, kind, *arrays, cs, c0, c1, fmt=fmt),
                         _n_chunks(n, CHUNK), n, (worker, code, arrays, (n,)))
    return _flagged(counts, CHUNK, n) if np.count_nonzero(counts) else None


def forward(name: str, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """f(x) for float32 x, correctly rounded (hard inputs recomputed on the exact path)."""
    kind = KINDS[name]
    result = _output(x.shape, out, inputs=(x,))
    xf, yf = _flat(x), result.reshape(-1)
    idx = run_elementwise(_forward_span, _forward_block, "forward", kind, kind, (xf, yf))
    if idx is not None:
        y, bound = float64_values(name, xf[idx], 0)
        idx = idx[_hard(y, bound)]
        yf[idx] = reference_path.forward(name, xf[idx])
    return _finish(result, out)


def derivative_times(name: str, grad: np.ndarray, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """grad * f'(x) for float32 inputs, rounded once, correctly."""
    kind = KINDS[name]
    result = _output(x.shape, out, inputs=(x, grad))
    xf, gf, yf = _flat(x), _flat(_full(grad, x.shape)), result.reshape(-1)
    idx = run_elementwise(_backward_span, _backward_block, "backward", kind, kind, (gf, xf, yf))
    if idx is not None:
        d, bound = float64_values(name, xf[idx], 1)
        g = gf[idx].astype(np.float64)
        idx = idx[_hard(g * d, np.abs(g) * bound)]
        yf[idx] = reference_path.derivative_times(name, gf[idx], xf[idx], 1)
    return _finish(result, out)


def _rows(x: np.ndarray) -> tuple[np.ndarray, int, int]:
    x2 = np.ascontiguousarray(x)
    x2 = (x2 if x2.flags.writeable else x2.copy()).reshape(-1, x.shape[-1])
    per = max(1, CHUNK // max(1, x2.shape[1] // 2))
    return x2, per, _n_chunks(x2.shape[0], per)


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
    result = _output((*x.shape[:-1], half), out, inputs=(x,))
    x2, per, n_chunks = _rows(x)
    y2 = result.reshape(x2.shape[0], half)
    counts = _run_chunks(lambda cs, c0, c1: _run(_gated_forward_rows, kind, x2, y2, cs, per, c0, c1), n_chunks,
                         x.size, ("gated_forward", kind, (x2, y2), (x2.shape[0], half, per)))
    if np.count_nonzero(counts):
        r = _flagged(counts, per, x2.shape[0])
        a, b = x2[r, :half], x2[r, half:]
        hr, hj = np.nonzero(_gated_hard(name, a, b, None))
        y2[r[hr], hj] = reference_path.gated_forward(name, a[hr, hj], b[hr, hj])
    return _finish(result, out)


def gated_backward(name: str, grad: np.ndarray, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """[grad * b * f'(a) | grad * f(a)] for float32, each rounded once, correctly."""
    kind = KINDS[name]
    half = x.shape[-1] // 2
    result = _output(x.shape, out, inputs=(x, grad))
    x2, per, n_chunks = _rows(x)
    g2 = _full(grad, (*x.shape[:-1], half)).reshape(x2.shape[0], half)
    y2 = result.reshape(x2.shape)
    counts = _run_chunks(lambda cs, c0, c1: _run(_gated_backward_rows, kind, g2, x2, y2, cs, per, c0, c1),
                         n_chunks, x.size, ("gated_backward", kind, (g2, x2, y2), (x2.shape[0], half, per)))
    if np.count_nonzero(counts):
        r = _flagged(counts, per, x2.shape[0])
        a, b, g = x2[r, :half], x2[r, half:], g2[r]
        hr, hj = np.nonzero(_gated_hard(name, a, b, g))
        ga, gb = reference_path.gated_backward(name, g[hr, hj], a[hr, hj], b[hr, hj])
        y2[r[hr], hj] = ga
        y2[r[hr], hj + half] = gb
    return _finish(result, out)
