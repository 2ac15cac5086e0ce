"""The harness's correctly rounded reference: gelulab's one rounding decision, with its counts.

The reference of every graded input is :func:`gelulab.functions.rounding.correctly_rounded` of
gelulab's float64 kernels: rounded from float64 where the kernels' error interval holds no
midpoint of the target format, and otherwise decided in long double, by the tiny-x rule or by
the mpmath oracle (:func:`gelulab.reference.evaluate` at 50 digits) -- the same decision that
gelulab's own functions and kernels make, so there is one mechanism, not two. Inputs that
reach the oracle are counted as *escalated* (about 2**-22 of float32 inputs, more for functions
with structural near-ties), the tiny-x ties as *tie_resolved*.

Optionally ``verify`` inputs per call are drawn at random and checked against the oracle in full:
that measures the float64 error bound the decision rests on. ``cross_check`` checks that bound on
*every* input instead, against a second evaluation: the same kernels in long double (x86: 11 more
bits), for every function whose kernels run in it. An input whose float64 value lies more than
``FLOAT64_ERROR_ULPS - 1`` float64 ulps from the long double one (near float64's underflow: more
than the absolute bound) breaks the bound's premise (one
float64 ulp is 2048 long double ulps: room for the long double evaluation's own error); it is
counted and its reference taken from the oracle, so a scan cannot pass on a broken bound. The
worst distance seen is reported. Inputs near a derivative root (whose local expansion is the
same in both) and functions without long double kernels (the piecewise rational ones: relu,
relu6, leaky_relu, relu2, hardswish, where float64 makes at most three roundings, within 2 ulps
by the standard error analysis) are not cross-checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import reference
from ..functions import get, rounding
from .formats import DType


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
    long_double: int = 0
    cross_checked: int = 0
    bound_violations: int = 0
    #: worst |y64 - y_long_double| / ulp64 over the cross-checked inputs
    cross_worst_float64_ulps: float = 0.0
    verified: int = 0
    verify_failures: list[dict[str, str]] = field(default_factory=list)
    #: worst |y64 - exact| / ulp64(exact) seen among verified inputs
    verify_worst_float64_ulps: float = 0.0
    escalated_examples: list[str] = field(default_factory=list)
    #: the cross-check's long double values (``wide``) at the inputs ``wide_index``, kept for checks
    #: of other error bounds against them (the CPU kernels')
    wide_index: np.ndarray | None = None
    wide: np.ndarray | None = None


def float64_values(name: str, x: np.ndarray, order: int) -> np.ndarray:
    """gelulab's float64 kernel for f^(order) at x (any float dtype), as float64."""
    with np.errstate(invalid="ignore"):
        return get(name).evaluate_float64(np.asarray(x).astype(np.float64), order)


def correctly_rounded(
    name: str,
    x: np.ndarray,
    order: int,
    dt: DType,
    verify: int = 0,
    rng: np.random.Generator | None = None,
    cross_check: bool = False,
) -> Reference:
    """The correctly rounded f^(order)(x) in ``dt`` for every element of x (a dt array)."""
    with np.errstate(invalid="ignore"):  # ml_dtypes warns when casting NaN payloads
        x64 = np.asarray(x).astype(np.float64).reshape(-1)
    y64 = float64_values(name, x64, order)
    decided = rounding.correctly_rounded(get(name), x64, order, dt.fmt, y64=y64)
    ref = Reference(exact=decided.exact, rounded=decided.rounded, escalated=decided.oracle,
                    tie_resolved=decided.tie_resolved, long_double=decided.long_double,
                    escalated_examples=[v.hex() for v in decided.oracle_inputs])
    if cross_check:
        _cross_check(name, x64, y64, order, dt, ref)
    if verify and x64.size:
        rng = rng or np.random.default_rng(0)
        picks = rng.choice(x64.size, size=min(verify, x64.size), replace=False)
        _verify(name, x64, y64, ref.rounded, order, dt, picks, ref)
    return ref


def _cross_check(name: str, x64: np.ndarray, y64: np.ndarray, order: int, dt: DType, ref: Reference) -> None:
    spec = get(name)
    found = rounding.long_double_values(spec, x64, order, np.flatnonzero(np.isfinite(y64)))
    if found is None:
        return
    idx, wide = found
    ref.wide_index, ref.wide = idx, wide
    with np.errstate(all="ignore"):
        ulps = (np.abs(y64[idx].astype(np.longdouble) - wide) / np.spacing(np.abs(y64[idx]))).astype(np.float64)
        absolute = np.abs(y64[idx].astype(np.longdouble) - wide).astype(np.float64)
    relative = np.abs(y64[idx]) >= rounding.RELATIVE_FROM
    ulps = np.where(relative, ulps, 0.0)
    ref.cross_checked = int(idx.size)
    ref.cross_worst_float64_ulps = float(ulps.max()) if ulps.size else 0.0
    # one float64 ulp (2048 long double ulps), or 2**-10 of the absolute bound, is left for long double's own error
    outside = np.where(relative, ulps > rounding.FLOAT64_ERROR_ULPS - 1,
                       ~(absolute <= rounding.FLOAT64_ABSOLUTE_ERROR * (1 - 2.0**-10)))
    broken = idx[outside]
    ref.bound_violations = int(broken.size)
    for i in broken:
        ref.exact[i], ref.rounded[i] = rounding.oracle_rounded(spec, x64[i], order, dt.fmt, None, y64[i])
    ref.escalated_examples += [float(x64[i]).hex() for i in broken[:8]]


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
