r"""Activations built on the logistic sigmoid, in float64.

All of GELU-tanh, quick GELU and SiLU are x\,\sigma(z(x)):

* GELU-tanh: \tfrac12 x(1 + \tanh u) = x\,\sigma(2u), u = \sqrt{2/\pi}(x + 0.044715x^3), so
  z = A x + B x^3. Written as x σ(2u) because 1 + tanh(u) cancels to zero for x < -5 or so.
* quick GELU: z = 1.702 x.       * SiLU / swish: z = x.

z is carried in double-double: in the tail |z| reaches 700 and a relative rounding of z shows up
multiplied by |z| in exp(z). The sigmoid is evaluated on the side where the exponential is at
most 1, so σ(z) and σ(-z) are both accurate (never 1 - σ(z)).

Derivatives, with σ̄ = σ(-z):
  f'  = σ (1 + x z' σ̄)
  f'' = σ σ̄ (2 z' + x z'' + x z'^2 (σ̄ - σ)),  σ̄ - σ = -tanh(z/2) = expm1(-|z|)/(1 + e^{-|z|}) · sign z.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import double_double as dd
from .constants import QUICK_GELU_BETA, TANH_3B, TANH_A, TANH_B

# Beyond |x| = 1e4 every z here exceeds 745 in magnitude: σ is exactly 0 or 1.
_Z_CLAMP = 1.0e4

ZFunction = Callable[[np.ndarray], tuple[dd.DD, np.ndarray, np.ndarray]]


def sigmoid_pair(z: dd.DD, with_diff: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(σ(z), σ(-z), σ(-z) - σ(z)) from a double-double z, each to full relative accuracy; the
    difference (one more exponential) only ``with_diff``, else None."""
    z_hi, z_lo = z
    a = -np.abs(z_hi)
    a_lo = np.where(z_hi >= 0, -z_lo, z_lo)
    ea = np.exp(a)
    e = ea * (1.0 + a_lo)  # e^{-|z|} <= 1: dd.exp_dd((a, a_lo)), with exp(a) kept for the difference
    big = 1.0 / (1.0 + e)
    small = e / (1.0 + e)
    positive = z_hi >= 0
    s = np.where(positive, big, small)
    sbar = np.where(positive, small, big)
    if not with_diff:
        return s, sbar, None
    diff = (np.expm1(a) + ea * a_lo) / (1.0 + e)  # = σ(-|z|) - σ(|z|) <= 0
    return s, sbar, np.where(positive, diff, -diff)


def gated(zfun: ZFunction) -> tuple[Callable, Callable, Callable]:
    """Forward, first and second derivative of x σ(z(x))."""

    def forward(x: np.ndarray) -> np.ndarray:
        z, _, _ = zfun(np.clip(x, -_Z_CLAMP, _Z_CLAMP))
        s, _, _ = sigmoid_pair(z, with_diff=False)
        return x * s

    def first(x: np.ndarray) -> np.ndarray:
        xc = np.clip(x, -_Z_CLAMP, _Z_CLAMP)
        z, z1, _ = zfun(xc)
        s, sbar, _ = sigmoid_pair(z, with_diff=False)
        return s * (1.0 + xc * z1 * sbar)

    def second(x: np.ndarray) -> np.ndarray:
        xc = np.clip(x, -_Z_CLAMP, _Z_CLAMP)
        z, z1, z2 = zfun(xc)
        s, sbar, diff = sigmoid_pair(z)
        return (s * sbar) * (2.0 * z1 + xc * z2 + xc * (z1 * z1) * diff)

    return forward, first, second


def _z_silu(x: np.ndarray) -> tuple[dd.DD, np.ndarray, np.ndarray]:
    return (x, np.zeros_like(x)), np.ones_like(x), np.zeros_like(x)


def _z_quick(x: np.ndarray) -> tuple[dd.DD, np.ndarray, np.ndarray]:
    return dd.mul_d_dd(x, QUICK_GELU_BETA), np.full_like(x, QUICK_GELU_BETA[0]), np.zeros_like(x)


def _z_tanh(x: np.ndarray) -> tuple[dd.DD, np.ndarray, np.ndarray]:
    x2 = dd.square(x)
    x3 = dd.two_prod(x2[0], x)
    x3 = dd.two_sum_fast(x3[0], x3[1] + x2[1] * x)
    z = dd.add_dd(dd.mul_d_dd(x, TANH_A), dd.mul_dd(x3, (np.float64(TANH_B[0]), np.float64(TANH_B[1]))))
    z1 = TANH_A[0] + TANH_3B[0] * (x * x)
    z2 = 2.0 * TANH_3B[0] * x
    return z, z1, z2


silu = gated(_z_silu)
quick_gelu = gated(_z_quick)
gelu_tanh = gated(_z_tanh)


# softplus(x) = log(1 + e^x) = max(x, 0) + log1p(e^{-|x|}); its derivatives are σ and σσ̄.
def softplus(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def softplus_first(x: np.ndarray) -> np.ndarray:
    return sigmoid_pair((x, np.zeros_like(x)), with_diff=False)[0]


def softplus_second(x: np.ndarray) -> np.ndarray:
    s, sbar, _ = sigmoid_pair((x, np.zeros_like(x)), with_diff=False)
    return s * sbar


def _mish_parts(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """T = tanh(softplus(x)) and S = 1 - T**2 without cancellation.

    With e = e^x (x <= 0): T = e(e+2)/(e^2+2e+2), S = 4(1+e)^2/(e^2+2e+2)^2.
    With w = e^{-x} (x > 0): T = (1+2w)/(1+2w+2w^2), S = 4 w^2 (1+w)^2/(1+2w+2w^2)^2.
    """
    e = np.exp(np.minimum(x, 0.0))
    w = np.exp(-np.maximum(x, 0.0))
    den_n = e * e + 2.0 * e + 2.0
    den_p = 1.0 + 2.0 * w + 2.0 * (w * w)
    t_n = e * (e + 2.0) / den_n
    t_p = (1.0 + 2.0 * w) / den_p
    s_n = 4.0 * ((1.0 + e) / den_n) ** 2
    s_p = 4.0 * (w * (1.0 + w) / den_p) ** 2
    neg = x <= 0
    return np.where(neg, t_n, t_p), np.where(neg, s_n, s_p)


def mish(x: np.ndarray) -> np.ndarray:
    return x * _mish_parts(x)[0]


def mish_first(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, -_Z_CLAMP, _Z_CLAMP)
    t, s = _mish_parts(x)
    sig = softplus_first(x)
    return t + x * s * sig


def mish_second(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, -_Z_CLAMP, _Z_CLAMP)
    t, s = _mish_parts(x)
    sig, sbar, _ = sigmoid_pair((x, np.zeros_like(x)), with_diff=False)
    return (s * sig) * (2.0 - 2.0 * x * t * sig + x * sbar)
