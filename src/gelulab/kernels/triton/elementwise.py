r"""Triton device functions: the float64 element math, the rounding test and the narrowing.

The evaluation is the one of the numba kernels (:mod:`gelulab.kernels.cpu.fast`), written
again in Triton's language, with the same polynomials from :mod:`gelulab.functions.fast_erfc`:

* GELU: :math:`x\Phi(x)` with :math:`\Phi(x) = 1 - Q(x)` for x >= 0 and :math:`Q(-x)` for x < 0,
  :math:`Q(x) = u\,E(u - s)\,e^{-x^2/2}`, :math:`u = 1/(1 + c x)`; never ``1 + erf``.
  GELU' = :math:`\Phi(x) + x\varphi(x)`.
* the sigmoid forms :math:`x\,\sigma(z)`: SiLU (z = x), quick GELU (z = 1.702 x) and GELU-tanh
  (z = A x + B x^3 = 2u), with :math:`\sigma` evaluated on the side where the exponential is
  at most 1; derivative :math:`\sigma(z) + x z' \sigma(z)\sigma(-z)`.
* ReLU: max(x, 0) with ReLU'(0) = 0 (PyTorch's convention, as the registry).

Every function returns the float64 value and an absolute error bound for it; ``is_hard`` asks
whether the value lies within that bound of a rounding boundary of the output format, in which
case the caller sends the element to the exact path. The bounds are those of the numba kernels
(``ERROR_BOUNDS`` there: 64 units of 2^-53 relative to the sum of the magnitudes of the terms,
plus 4 units times |z| for the sigmoid forms): the arithmetic is the same, operation for
operation, and fused multiply-adds only make individual steps more accurate.

Tiny inputs (|x| < 2^-60) take f(x) = x/2 moved one step towards +inf (the sign of the x^2
term of every smooth activation here), so odd subnormal inputs, where x/2 is a midpoint of the
format, round the way the exact value does.
"""

from __future__ import annotations

import triton
import triton.language as tl

from ...functions import fast_erfc as fe
from ...functions.constants import QUICK_GELU_BETA, TANH_3B, TANH_A, TANH_B

# Activation codes (constexpr arguments of the kernels).
GELU = tl.constexpr(0)
GELU_TANH = tl.constexpr(1)
QUICK_GELU = tl.constexpr(2)
SILU = tl.constexpr(3)
RELU = tl.constexpr(4)

# Output formats: FLOAT32 and FLOAT16 are stored as such; BFLOAT16 is stored as its int16 bits,
# rounded here (Triton's interpreter truncates float32 -> bfloat16 instead of rounding).
FLOAT32 = tl.constexpr(0)
FLOAT16 = tl.constexpr(1)
BFLOAT16 = tl.constexpr(2)

assert len(fe.TAIL_COEFFICIENTS) == 18 and len(fe.EXP_COEFFICIENTS) == 11, \
    "fast_erfc degrees changed: update _tail_poly/_exp_poly"
_T0, _T1, _T2, _T3, _T4, _T5, _T6, _T7, _T8, _T9, _T10, _T11, _T12, _T13, _T14, _T15, _T16, _T17 = (
    tl.constexpr(c) for c in fe.TAIL_COEFFICIENTS)
_E0, _E1, _E2, _E3, _E4, _E5, _E6, _E7, _E8, _E9, _E10 = (tl.constexpr(c) for c in fe.EXP_COEFFICIENTS)
_LOG2_E = tl.constexpr(fe.LOG2_E)
_LN2_HI = tl.constexpr(fe.LN2_HI)
_LN2_LO = tl.constexpr(fe.LN2_LO)
_TAIL_C = tl.constexpr(fe.TAIL_C)
_TAIL_SHIFT = tl.constexpr(fe.TAIL_SHIFT)
_TAIL_CLAMP = tl.constexpr(fe.X_MAX)
_INV_SQRT_2PI = tl.constexpr(fe.INV_SQRT_2PI)
_A = tl.constexpr(TANH_A[0])
_B = tl.constexpr(TANH_B[0])
_B3 = tl.constexpr(TANH_3B[0])
_BETA = tl.constexpr(QUICK_GELU_BETA[0])

#: relative error bounds, in units of 2^-53 (see the module docstring)
ERROR_BOUNDS = {"gaussian": 64.0, "sigmoid": 64.0, "sigmoid_per_z": 4.0}
_U53 = tl.constexpr(2.0**-53)
_G_BOUND = tl.constexpr(ERROR_BOUNDS["gaussian"] * 2.0**-53)
_S_BOUND = tl.constexpr(ERROR_BOUNDS["sigmoid"] * 2.0**-53)
_S_BOUND_Z = tl.constexpr(ERROR_BOUNDS["sigmoid_per_z"] * 2.0**-53)

_TINY = tl.constexpr(2.0**-60)
_NUDGE = tl.constexpr(2.0**-52)
# x * sigma(z) is below 2^-150 (-0.0 in every output format) for x < -120 (SiLU, quick GELU) and
# x < -15 (GELU-tanh, |z| = 265); clamping keeps the exponential's argument in range.
_SIGMOID_CLAMP = tl.constexpr(120.0)
_TANH_CLAMP = tl.constexpr(15.0)
_SHIFTER = tl.constexpr(6755399441055744.0)  # 1.5 * 2^52: (t + S) - S rounds t to an integer
_INF = tl.constexpr(float("inf"))
_F32_MIN_NORMAL = tl.constexpr(2.0**-126)
_F32_QUANTUM = tl.constexpr(2.0**-149)
_F16_MIN_NORMAL = tl.constexpr(2.0**-14)
_F16_QUANTUM = tl.constexpr(2.0**-24)
_BF16_QUANTUM = tl.constexpr(2.0**-133)
_F32_SCALE = tl.constexpr(2.0**149)
_F16_SCALE = tl.constexpr(2.0**24)
_BF16_SCALE = tl.constexpr(2.0**133)


@triton.jit
def _tail_poly(w):
    p = _T0 * w + _T1
    p = p * w + _T2
    p = p * w + _T3
    p = p * w + _T4
    p = p * w + _T5
    p = p * w + _T6
    p = p * w + _T7
    p = p * w + _T8
    p = p * w + _T9
    p = p * w + _T10
    p = p * w + _T11
    p = p * w + _T12
    p = p * w + _T13
    p = p * w + _T14
    p = p * w + _T15
    p = p * w + _T16
    return p * w + _T17


@triton.jit
def _exp_poly(r):
    p = _E0 * r + _E1
    p = p * r + _E2
    p = p * r + _E3
    p = p * r + _E4
    p = p * r + _E5
    p = p * r + _E6
    p = p * r + _E7
    p = p * r + _E8
    p = p * r + _E9
    return p * r + _E10


@triton.jit
def exp_neg(a):
    """e^a for float64 a in [-700, 0]: 2^k e^r with r = a - k ln2 (fast_erfc's exponential)."""
    kf = (a * _LOG2_E + _SHIFTER) - _SHIFTER
    r = (a - kf * _LN2_HI) - kf * _LN2_LO
    scale = ((kf.to(tl.int64) + 1023) << 52).to(tl.float64, bitcast=True)
    return _exp_poly(r) * scale


@triton.jit
def gaussian_tail(ax):
    """(Q(ax), e^{-ax^2/2}) for float64 0 <= ax <= X_MAX."""
    u = 1.0 / (1.0 + _TAIL_C * ax)
    g = exp_neg(-0.5 * (ax * ax))
    return u * _tail_poly(u - _TAIL_SHIFT) * g, g


@triton.jit
def _sigmoid(z):
    """(sigma(z), sigma(-z)), the exponential taken on the side where it is at most 1."""
    e = exp_neg(-tl.abs(z))
    big = 1.0 / (1.0 + e)
    small = e * big
    positive = z >= 0
    return tl.where(positive, big, small), tl.where(positive, small, big)


@triton.jit
def _tiny_or_gone(x, y, bound, gone, edge):
    """Apply the two special cases of every smooth forward: |x| < 2^-60 and the far left tail.

    Past the left clamp (``gone``) the true value lies in (-edge, 0), edge = |f(-clamp)| (far below the
    smallest float32 subnormal): -0.0 with bound edge, so it rounds to -0.0 alone, while a
    product with a large factor (f(a) * b, b near 3e38) is left to the exact path, as on the CPU.
    """
    tiny = (tl.abs(x) < _TINY) & (x != 0)  # signed zeros keep their sign through x * (...)
    # x/2 (1 +- 2^-52) towards +inf, written so every operand is float64 (tl.where of two
    # scalars would make a float32 tensor, and 1 + 2^-52 is 1 in float32)
    half = 0.5 * x
    nudged = half + tl.abs(half) * _NUDGE
    y = tl.where(gone, -0.0, tl.where(tiny, nudged, y))
    return y, tl.where(gone, edge, tl.where(tiny, 0.0, bound))


@triton.jit
def _z(x, ACT: tl.constexpr):
    """(z, dz/dx, clamped x) of the sigmoid forms x * sigma(z(x))."""
    if ACT == GELU_TANH:
        xc = tl.where(x < -_TANH_CLAMP, -_TANH_CLAMP, tl.where(x > _TANH_CLAMP, _TANH_CLAMP, x))
        x2 = xc * xc
        z = xc * (_A + _B * x2)
        dz = _A + _B3 * x2
    elif ACT == QUICK_GELU:
        xc = tl.where(x < -_SIGMOID_CLAMP, -_SIGMOID_CLAMP, tl.where(x > _SIGMOID_CLAMP, _SIGMOID_CLAMP, x))
        z = _BETA * xc
        dz = tl.zeros_like(xc) + _BETA
    else:
        xc = tl.where(x < -_SIGMOID_CLAMP, -_SIGMOID_CLAMP, tl.where(x > _SIGMOID_CLAMP, _SIGMOID_CLAMP, x))
        z = xc
        dz = tl.zeros_like(xc) + 1.0
    return z, dz, xc


@triton.jit
def activation(x, ACT: tl.constexpr):
    """(f(x), error bound) in float64 for a float64 x (NaN propagates)."""
    if ACT == RELU:
        y = tl.where(x > 0, x, tl.where(x != x, x, 0.0))
        bound = tl.zeros_like(x)
    elif ACT == GELU:
        ax = tl.abs(x)
        q, _ = gaussian_tail(tl.where(ax > _TAIL_CLAMP, _TAIL_CLAMP, ax))
        y = x * tl.where(x >= 0, 1.0 - q, q)
        edge = _TAIL_CLAMP * q * (1.0 + _G_BOUND)  # q is Q(clamp) wherever it is used
        y, bound = _tiny_or_gone(x, y, _G_BOUND * tl.abs(y), x < -_TAIL_CLAMP, edge)
    else:
        z, _, xc = _z(x, ACT)
        s, _ = _sigmoid(z)
        y = x * s
        relative = (_S_BOUND + _S_BOUND_Z * tl.abs(z))
        edge = tl.abs(xc * s) * (1.0 + relative)  # s is sigma(z(-clamp)) wherever it is used
        y, bound = _tiny_or_gone(x, y, relative * tl.abs(y), x < xc, edge)
    return tl.where(x != x, x, y), bound


@triton.jit
def derivative(x, ACT: tl.constexpr):
    """(f'(x), error bound) in float64 for a float64 x (NaN propagates)."""
    if ACT == RELU:
        d = tl.where(x > 0, 1.0, 0.0)
        bound = tl.zeros_like(x)
    elif ACT == GELU:
        ax = tl.abs(x)
        axc = tl.where(ax > _TAIL_CLAMP, _TAIL_CLAMP, ax)
        q, g = gaussian_tail(axc)
        xphi = axc * (g * _INV_SQRT_2PI)
        positive = x >= 0
        cdf = tl.where(positive, 1.0 - q, q)
        d = cdf + tl.where(positive, xphi, -xphi)
        bound = _G_BOUND * (cdf + xphi)
        gone = x < -_TAIL_CLAMP
    else:
        z, dz, xc = _z(x, ACT)
        s, sbar = _sigmoid(z)
        t = xc * dz * s * sbar
        d = s + t
        bound = (_S_BOUND + _S_BOUND_Z * tl.abs(z)) * (s + tl.abs(t))
        gone = x < xc
    if ACT != RELU:
        # past the left clamp the true f' lies between the clamp's and 0 (see _tiny_or_gone)
        bound = tl.where(gone, tl.abs(d) + bound, bound)
        # the limits exactly (the registry's -0.0 and 1), so inf * f'(-inf) is NaN as on the CPU
        d = tl.where(x == -_INF, -0.0, tl.where(x == _INF, 1.0, d))
    return tl.where(x != x, x, d), bound


# --- formats: loading, rounding once, and the rounding test -----------------------------------

@triton.jit
def load_float64(ptr, mask, FMT: tl.constexpr):
    """Load elements of the format (bfloat16 as int16 bits) and widen them exactly to float64."""
    if FMT == BFLOAT16:
        bits = tl.load(ptr, mask=mask, other=0).to(tl.int32)
        v = (bits << 16).to(tl.float32, bitcast=True).to(tl.float64)
    else:
        v = tl.load(ptr, mask=mask, other=0.0).to(tl.float64)
    return v


@triton.jit
def round_to_format(y, FMT: tl.constexpr):
    """Round float64 y once, to nearest-even, into the format (bfloat16: its int16 bits).

    float16 and bfloat16 go through float32 rounded to odd (a float32 that is inexact gets an
    odd last bit), which a second rounding to 11 or 8 bits cannot turn into a wrong tie.
    """
    f = y.to(tl.float32)
    if FMT == FLOAT32:
        out = f
    else:
        back = f.to(tl.float64)
        bits = f.to(tl.int32, bitcast=True)
        inexact = (back != y) & (tl.abs(back) < _INF)
        away = tl.abs(y) > tl.abs(back)
        bits = tl.where(inexact & ((bits & 1) == 0), tl.where(away, bits + 1, bits - 1), bits)
        if FMT == FLOAT16:
            out = bits.to(tl.float32, bitcast=True).to(tl.float16)
        else:
            rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
            nan = (bits & 0x7FFFFFFF) > 0x7F800000
            out = tl.where(nan, (bits >> 16) | 0x40, rounded).to(tl.int16)
    return out


@triton.jit
def widen(v, FMT: tl.constexpr):
    """A value returned by round_to_format, back to float64 (exact)."""
    if FMT == BFLOAT16:  # noqa: SIM108 (a static branch on a constexpr, for Triton's compiler)
        w = (v.to(tl.int32) << 16).to(tl.float32, bitcast=True).to(tl.float64)
    else:
        w = v.to(tl.float64)
    return w


@triton.jit
def is_hard(y, bound, FMT: tl.constexpr):
    """True where float64 y may lie on the wrong side of a rounding midpoint of the format.

    Normal range: the low bits that the narrowing drops say how far y is from the midpoint, in
    float64 ulps (each at least |y| 2^-53). Subnormal range: the distance to the nearest odd
    multiple of half the format's quantum. Infinities and NaN are never hard.
    """
    if FMT == FLOAT32:
        low: tl.constexpr = 29
        min_normal = _F32_MIN_NORMAL
        quantum = _F32_QUANTUM
        scale = _F32_SCALE
    elif FMT == FLOAT16:
        low: tl.constexpr = 42
        min_normal = _F16_MIN_NORMAL
        quantum = _F16_QUANTUM
        scale = _F16_SCALE
    else:
        low: tl.constexpr = 45
        min_normal = _F32_MIN_NORMAL
        quantum = _BF16_QUANTUM
        scale = _BF16_SCALE
    ay = tl.abs(y)
    bits = ay.to(tl.int64, bitcast=True)
    half = tl.full(bits.shape, 1, tl.int64) << (low - 1)
    d = tl.abs((bits & ((half << 1) - 1)) - half)
    normal_hard = (d.to(tl.float64) * ay * _U53 <= bound) & (ay < _INF)
    s = ay * scale
    sub_hard = tl.abs(s - tl.floor(s) - 0.5) * quantum <= bound
    # bound 0: the float64 value is exact, and rounding it to nearest is the correct rounding
    return tl.where(ay >= min_normal, normal_hard, sub_hard) & (bound > 0)
