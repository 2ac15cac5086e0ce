r"""The float32 kernels' element math: each function's float64 value and its error bound.

Evaluated in float64 with branch-free polynomials (no libm call, no table gathers) so the loops
of :mod:`.fast` that inline them vectorise:

* the general form, valid everywhere: :mod:`gelulab.functions.fast_erfc` (Gaussian tail,
  exponential) for GELU, the exponential and a division for the sigmoid forms (``value`` and
  ``slope``, each giving (y, bound));
* the core form for |x| <= ``X_CORE``: one polynomial in x^2 from :mod:`gelulab.functions.fast_core`
  (``core_interval``: the two ends of an interval that holds s * f(x) or s * f'(x));
* the rounding tests: ``is_hard`` (whether y's float32 rounding is undecided within its bound) and
  ``round_ends`` (the rounding of an interval's low end, and whether the high end rounds otherwise).

The error bounds are relative to the sum of the magnitudes of the terms that are added, so the
test stays honest where a derivative cancels near its root (GELU' at x = -0.7518, SiLU' at
x = -1.2785), and they grow with |z| for the sigmoid forms, whose exponent's rounding is
amplified by |z|. ``ERROR_BOUNDS`` gives each bound; tests/kernels measures the actual errors
against mpmath and checks they stay below.
"""

from __future__ import annotations

import numpy as np
from numba import literally, njit

from ...functions import fast_core as fcore
from ...functions import fast_erfc as fe
from ...functions.constants import TANH_3B, TANH_A, TANH_B
from .runtime import call
from .simd import OPTS, select, wide_vectors

#: Names with compiled float32 kernels.
FAST_NAMES = ("gelu", "gelu_tanh", "silu")
#: Names whose kernels take the core form (:mod:`gelulab.functions.fast_core`) for blocks near zero.
CORE_NAMES = ("gelu", "gelu_tanh", "silu")

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


@njit(inline="always", **OPTS)
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


@njit(inline="always", **OPTS)
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
    return njit(inline="always", **{k: v for k, v in OPTS.items() if k != "cache"})(namespace["polynomial"])


_GELU_CORE = _polynomial(fcore.CORE_COEFFICIENTS[("gelu", 0)])
_GELU_PRIME_CORE = _polynomial(fcore.CORE_COEFFICIENTS[("gelu", 1)])
_SILU_CORE = _polynomial(fcore.CORE_COEFFICIENTS[("silu", 0)])
_SILU_PRIME_CORE = _polynomial(fcore.CORE_COEFFICIENTS[("silu", 1)])
_GELU_TANH_CORE = _polynomial(fcore.CORE_COEFFICIENTS[("gelu_tanh", 0)])
_GELU_TANH_PRIME_CORE = _polynomial(fcore.CORE_COEFFICIENTS[("gelu_tanh", 1)])
X_CORE = fcore.X_CORE
_CORE_SCALE = fcore.CORE_SCALE
_CB = fcore.CORE_BOUNDS
_GELU_CORE_BOUND, _GELU_PRIME_CORE_BOUND = _CB[("gelu", 0)], _CB[("gelu", 1)]
_SILU_CORE_BOUND, _SILU_PRIME_CORE_BOUND = _CB[("silu", 0)], _CB[("silu", 1)]
_GELU_TANH_CORE_BOUND, _GELU_TANH_PRIME_CORE_BOUND = _CB[("gelu_tanh", 0)], _CB[("gelu_tanh", 1)]


@njit(inline="always", **OPTS)
def _exp(a):
    """e^a for a in [-700, 0]: 2^k e^r, see fast_erfc."""
    kf = (a * fe.LOG2_E + _SHIFTER) - _SHIFTER
    r = (a - kf * fe.LN2_HI) - kf * fe.LN2_LO
    scale = np.int64((np.int64(kf) + 1023) << 52)
    return _exp_poly(r) * scale.view(np.float64)


@njit(inline="always", **OPTS)
def _tail(ax):
    """(Q(ax), e^{-ax^2/2}) for 0 <= ax <= X_MAX."""
    u = 1.0 / (1.0 + fe.TAIL_C * ax)
    g = _exp(-0.5 * (ax * ax))
    return u * _tail_poly(u - fe.TAIL_SHIFT) * g, g


@njit(inline="always", **OPTS)
def _clamp(x, lo, hi):
    return select(x < lo, lo, select(x > hi, hi, x))


@njit(inline="always", **OPTS)
def _sigmoid(z):
    """(sigma(z), sigma(-z)) with the exponential on the side where it is at most 1."""
    e = _exp(-abs(z))
    big = 1.0 / (1.0 + e)
    small = e * big
    positive = z >= 0
    return select(positive, big, small), select(positive, small, big)


@njit(inline="always", **OPTS)
def is_hard(y, bound):
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

@njit(inline="always", **OPTS)
def _gelu(x):
    ax = abs(x)
    q, _ = _tail(select(ax > _TAIL_CLAMP, _TAIL_CLAMP, ax))
    xc = select(x < -_TAIL_CLAMP, -_TAIL_CLAMP, x)
    y = select(x >= 0, x * (1.0 - q), xc * q)
    return y, _past_left_clamp(x, xc, y, _G_BOUND * abs(y))


@njit(inline="always", **OPTS)
def _past_left_clamp(x, xc, y, bound):
    """The bound of a value y computed at the clamped xc: past the left clamp (x < xc) the true
    value lies between y and 0, so the bound grows by |y|."""
    return select(x < xc, abs(y) + bound, bound)


@njit(inline="always", **OPTS)
def _gelu_prime(x):
    ax = abs(x)
    axc = select(ax > _TAIL_CLAMP, _TAIL_CLAMP, ax)
    q, g = _tail(axc)
    xphi = axc * (g * _INV_SQRT_2PI)
    positive = x >= 0
    cdf = select(positive, 1.0 - q, q)
    return _beyond(x, _TAIL_CLAMP, cdf + select(positive, xphi, -xphi), _G_BOUND * (cdf + xphi))


@njit(inline="always", **OPTS)
def _beyond(x, clamp, d, bound):
    """Derivatives past the clamps. On the right f' is 1 + (< 2^-100): 1.0 with bound 0, as the
    float64 product of the reference path takes it. On the left d is the derivative at the clamp
    and the true one lies between it and 0 (see the note above _gelu)."""
    right = x > clamp
    return select(right, 1.0, d), select(right, 0.0, _past_left_clamp(x, -clamp, d, bound))


@njit(inline="always", **OPTS)
def _sigmoid_gated(x, xc, z):
    """x * sigma(z), with the clamped x on the left (x = -inf gives -0.0, not -inf * 0)."""
    s, _ = _sigmoid(z)
    y = select(x >= 0, x, xc) * s
    return y, _past_left_clamp(x, xc, y, (_S_BOUND + _S_BOUND_Z * abs(z)) * abs(y))


@njit(inline="always", **OPTS)
def _silu(x):
    xc = _clamp(x, -_SIGMOID_CLAMP, _SIGMOID_CLAMP)
    return _sigmoid_gated(x, xc, xc)


@njit(inline="always", **OPTS)
def _silu_prime(x):
    xc = _clamp(x, -_SIGMOID_CLAMP, _SIGMOID_CLAMP)
    s, sbar = _sigmoid(xc)
    t = xc * s * sbar
    return _beyond(x, _SIGMOID_CLAMP, s + t, (_S_BOUND + _S_BOUND_Z * abs(xc)) * (s + abs(t)))


@njit(inline="always", **OPTS)
def _gelu_tanh(x):
    xc = _clamp(x, -_TANH_CLAMP, _TANH_CLAMP)
    return _sigmoid_gated(x, xc, xc * (_A + _B * (xc * xc)))


@njit(inline="always", **OPTS)
def _gelu_tanh_prime(x):
    xc = _clamp(x, -_TANH_CLAMP, _TANH_CLAMP)
    x2 = xc * xc
    z = xc * (_A + _B * x2)
    s, sbar = _sigmoid(z)
    t = xc * (_A + _B3 * x2) * s * sbar
    return _beyond(x, _TANH_CLAMP, s + t, (_S_BOUND + _S_BOUND_Z * abs(z)) * (s + abs(t)))


# --- the core form (|x| <= X_CORE): f = x (1/2 + x P(x^2)), f' = 1/2 + x D(x^2), see fast_core --------
# GELU, GELU-tanh and SiLU (kinds 0, 1 and 2) each have one.

@njit(inline="always", **OPTS)
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


@njit(inline="always", **OPTS)
def core_interval(kind, order, s, x):
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


@njit(inline="always", **OPTS)
def round_ends(low, high):
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


@njit(inline="always", **OPTS)
def value(kind, x):
    if kind == 0:
        return _gelu(x)
    if kind == 1:
        return _gelu_tanh(x)
    return _silu(x)


@njit(inline="always", **OPTS)
def slope(kind, x):
    if kind == 0:
        return _gelu_prime(x)
    if kind == 1:
        return _gelu_tanh_prime(x)
    return _silu_prime(x)


# --- the tiny-x rule (gelulab.functions.rounding) for the forward ------------------------------------
# For |x| < 2^-60, f(x) = x/2 + c2 x^2 + ..., c2 > 0 on both sides for GELU, GELU-tanh and SiLU
# (1/sqrt(2 pi), sqrt(2/pi)/2 and 1/4), and f'(x) = 1/2 + c1 x, c1 = f''(0) > 0 (2/sqrt(2 pi),
# sqrt(2/pi) and 1/2; tests/kernels checks all of them against the oracle's): the exact
# value lies above x/2 by far less than any float32 spacing there. Where x/2 is a float32 midpoint
# (an odd subnormal x, or x just above the smallest normal) it rounds up, towards +inf; elsewhere
# x/2 is a float32. Only the blocks that take the erfc form pay for it (a block with a tie is left
# undecided by the core form): typical data never does, a network whose activations have shrunk
# to subnormals (randomly initialised, eval-mode batch norm) sends nearly every block there, and
# the exact path would otherwise take 4% of its elements one at a time.

TINY = 2.0**-60
_NUDGE = 2.0**-40  # far below half a float32 spacing of x/2, far above float64's rounding of it


@njit(inline="always", **OPTS)
def tiny_rule(order, s, x, y, bound):
    """(y, bound) of s * f(x) (order 0) or s * f'(x) (order 1) with the tiny-x rule in place for
    |x| < TINY, stated exact: order 0, f = x/2 + c2 x^2, the tie s x/2 broken towards sign(s) (s = 1,
    the forward: towards +inf); order 1, f' = 1/2 + c1 x with c1 = f''(0) > 0, the tie s/2 broken
    towards sign(s x), and at x = 0 the product is exact, a tie rounded to even. The value is s/2
    times x or 1, moved by 2^-40 of itself: a midpoint then rounds the right way, a float32 stays
    itself, -0.0 stays a signed zero."""
    tiny = abs(x) < TINY
    if order == 0:
        nudged = (s * 0.5) * (x * select(x < 0, 1.0 - _NUDGE, 1.0 + _NUDGE))
    else:
        nudged = (s * 0.5) * select(x > 0, 1.0 + _NUDGE, select(x < 0, 1.0 - _NUDGE, 1.0))
    return select(tiny, nudged, y), select(tiny, 0.0, bound)


# --- the values before rounding, for the exact fallbacks and the 16-bit product tables ---------------

@njit(**OPTS)
def _float64_values(kind, x, order, out, bounds):
    literally(kind)
    wide_vectors()
    for i in range(x.size):
        xi = np.float64(x[i])
        y, b = value(kind, xi) if order == 0 else slope(kind, xi)
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
    call(_float64_values, KINDS[name], xf, order, out, bounds)
    return out.reshape(np.shape(x)), bounds.reshape(np.shape(x))
