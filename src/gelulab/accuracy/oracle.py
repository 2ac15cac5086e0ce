"""The correctly rounded reference: float64 first, the mpmath oracle only where float64 cannot decide.

For a target format with p significand bits, the result of rounding to nearest changes only at
the midpoints between consecutive representable values. gelulab's float64 kernels
(``spec.evaluate_float64``) are accurate to a few float64 ulps, so with y64 their value and
e = ``FLOAT64_ERROR_ULPS`` float64 ulps of y64 as the error bound, the exact value lies in
[y64 - e, y64 + e]. When no midpoint of the target format lies in that interval, rounding y64
gives the correctly rounded result. Otherwise (a fraction of about 2 e / ulp_target ≈ 2**-22 of
float32 inputs, more for functions with structural near-ties) the input is *escalated*: the
mpmath oracle (:func:`gelulab.reference.evaluate` at 50 digits) and
:func:`gelulab.reference.round_to_format` decide.

One structural case is settled without mpmath, because it would otherwise escalate millions of
float32 inputs: for |x| < 2**-60 a smooth f has f(x) = c1 x + c2 x**2 + O(x**3). When c1 is a
power of two, y64 = c1 x exactly, and that lies exactly on a midpoint (c1 x a half-way subnormal),
the exact value lies on the side of the midpoint given by the sign of c2 (|c2| x**2 dominates the
rest there). c1 and c2 come from the oracle (f'(0) and f''(0)/2), not from a kernel.

Optionally ``verify`` inputs per call are drawn at random and checked against the oracle in full:
that measures the float64 error bound the whole method rests on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import numpy as np

from .. import reference
from ..functions import get
from .formats import DType, quantum_exponent, round_to

#: The assumed error bound of gelulab's float64 kernels, in float64 ulps of the result. The
#: kernels' documented accuracy is "a few ulps"; 64 leaves a wide margin and costs only
#: ~2**-22 of float32 inputs in escalations. ``verify`` measures the real error.
FLOAT64_ERROR_ULPS = 64.0
#: Below this |x| the Taylor argument of the module docstring settles exact midpoint ties.
TINY = 2.0**-60


@dataclass
class Reference:
    """The correctly rounded f^(order)(x) of one batch, with how it was obtained.

    ``exact`` is the best float64 estimate of the exact value (y64, or the oracle's value
    rounded to float64 where escalated): ulp errors are measured against it. ``rounded`` is the
    correctly rounded value in the target dtype, held as float64.
    """

    exact: np.ndarray
    rounded: np.ndarray
    escalated: int = 0
    tie_resolved: int = 0
    verified: int = 0
    verify_failures: list[dict[str, str]] = field(default_factory=list)
    #: worst |y64 - exact| / ulp64(exact) seen among verified inputs
    verify_worst_float64_ulps: float = 0.0
    escalated_examples: list[str] = field(default_factory=list)


@cache
def _taylor_at_zero(name: str) -> tuple[float, float] | None:
    """(c1, c2) = (f'(0), f''(0)/2) from the oracle, when f is smooth and c1 is a power of two."""
    spec = get(name)
    if not spec.smooth:
        return None
    c1 = float(reference.evaluate(name, 0.0, 1))
    c2 = float(reference.evaluate(name, 0.0, 2)) / 2
    mantissa, _ = np.frexp(c1)
    if c1 == 0 or abs(mantissa) != 0.5 or c2 == 0:
        return None
    return c1, c2


def float64_values(name: str, x: np.ndarray, order: int) -> np.ndarray:
    """gelulab's float64 kernel for f^(order) at x (any float dtype), as float64."""
    with np.errstate(invalid="ignore"):
        return get(name).evaluate_float64(np.asarray(x).astype(np.float64), order)


def midpoint_distance(y64: np.ndarray, dt: DType) -> np.ndarray:
    """|y64 - nearest midpoint of dt's grid|, for finite y64 (exact arithmetic on powers of two)."""
    q = quantum_exponent(y64, dt.fmt).astype(np.int32)
    m = np.ldexp(np.abs(y64), -q)  # exact: scaling by a power of two, far from float64's limits
    frac = m - np.floor(m)
    return np.ldexp(np.abs(frac - 0.5), q)


def _oracle(name: str, xv: float, order: int, dt: DType) -> tuple[float, float]:
    v = reference.evaluate(name, xv, order)
    return float(v), reference.round_to_format(v, dt.fmt)


def correctly_rounded(
    name: str,
    x: np.ndarray,
    order: int,
    dt: DType,
    verify: int = 0,
    rng: np.random.Generator | None = None,
) -> Reference:
    """The correctly rounded f^(order)(x) in ``dt`` for every element of x (a dt array)."""
    with np.errstate(invalid="ignore"):  # ml_dtypes warns when casting NaN payloads
        x64 = np.asarray(x).astype(np.float64)
    y64 = float64_values(name, x64, order)
    rounded = round_to(y64, dt)
    exact = y64.copy()
    finite = np.isfinite(y64)
    with np.errstate(invalid="ignore", over="ignore"):
        bound = FLOAT64_ERROR_ULPS * np.spacing(np.abs(np.where(finite, y64, 0.0)))
        dist = np.where(finite, midpoint_distance(np.where(finite, y64, 0.0), dt), np.inf)
    ambiguous = np.flatnonzero(finite & (dist <= bound))
    ref = Reference(exact=exact, rounded=rounded)

    if ambiguous.size and order == 0:
        taylor = _taylor_at_zero(name)
        if taylor is not None:
            c1, c2 = taylor
            xa, ya = x64[ambiguous], y64[ambiguous]
            tie = (np.abs(xa) < TINY) & (xa != 0) & (dist[ambiguous] == 0) & (ya == c1 * xa)
            if np.any(tie):
                idx = ambiguous[tie]
                q = np.ldexp(1.0, quantum_exponent(y64[idx], dt.fmt).astype(np.int32))
                # exact = y64 + c2 x**2: above the midpoint when c2 > 0, below otherwise
                # (a result of zero keeps the sign of the exact value: y64 + q/2 would give +0.0)
                rounded[idx] = np.copysign(y64[idx] + np.sign(c2) * q / 2, y64[idx])
                exact[idx] = y64[idx] + c2 * x64[idx] ** 2
                ref.tie_resolved = int(idx.size)
                ambiguous = ambiguous[~tie]

    for i in ambiguous:
        exact[i], rounded[i] = _oracle(name, float(x64[i]), order, dt)
    ref.escalated = int(ambiguous.size)
    ref.escalated_examples = [float(x64[i]).hex() for i in ambiguous[:8]]

    if verify and x64.size:
        rng = rng or np.random.default_rng(0)
        picks = rng.choice(x64.size, size=min(verify, x64.size), replace=False)
        _verify(name, x64, y64, rounded, order, dt, picks, ref)
    return ref


def _verify(name: str, x64: np.ndarray, y64: np.ndarray, rounded: np.ndarray, order: int, dt: DType,
            picks: np.ndarray, ref: Reference) -> None:
    """Check chosen inputs against the oracle: the rounding, and the float64 error bound."""
    for i in picks:
        xv = float(x64[i])
        if xv != xv:
            continue
        v = reference.evaluate(name, xv, order)
        want = reference.round_to_format(v, dt.fmt)
        ref.verified += 1
        if np.isfinite(y64[i]) and np.isfinite(float(v)):
            err = float(reference.ulp_error(float(y64[i]), v, "float64"))
            ref.verify_worst_float64_ulps = max(ref.verify_worst_float64_ulps, err)
        # mpmath has no signed zero (and underflows far tails to 0): zeros compare by value only
        signs_agree = want == 0 or np.signbit(want) == np.signbit(rounded[i])
        same = (want == rounded[i] and signs_agree) or (want != want and rounded[i] != rounded[i])
        if not same:
            ref.verify_failures.append({"x": xv.hex(), "oracle": float(want).hex(), "fast": float(rounded[i]).hex()})
