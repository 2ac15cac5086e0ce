"""The one rounding decision: when a float64 value may be rounded into a narrower format, and what
decides the rest.

Rounding to nearest changes its result only at the *midpoints* between consecutive values of
the target format (and at the overflow threshold, the midpoint above the largest finite). A
computed value y with a proven error bound e (the exact value lies in [y - e, y + e]) may be
rounded directly when no midpoint lies in that interval: every point of it rounds alike. When
one does, y is *undecided* and goes, in this order, to

1. the tiny-x rule: for |x| < 2**-60 a function analytic on that side of 0 with f(0) = 0 is
   f(x) = c1 x + c2 x**2 + O(x**3), c1 and c2 the one-sided Taylor coefficients read from the
   oracle. When c1 is a power of two the float64 kernel gives c1 x exactly, and when that is a
   midpoint (a subnormal tie) the exact value lies on the side of sign(c2) (times the sign of
   the factor below): |c2| x**2 exceeds the rest of the series by a factor of 2**60 there. It is
   exact and costs a few vector operations, and long double could not decide these ties (x**2 lies
   far below its ulp), so it comes first: a network whose activations have shrunk to subnormals
   sends nearly every element here. For a product whose f^(order)(0) = c0 is itself a power of two
   (the backward grad * f'(x), f'(0) = 1/2) the same holds one term lower: the float64 value is
   grad * c0 exactly, and a midpoint there (an odd subnormal grad) lies on the side of
   sign(grad * c1 * x), c1 = f^(order+1)(0);
2. the same kernels in long double (x86: 64-bit significand, 11 more bits), with their own
   bound, away from the derivative roots (whose local expansions are float64);
3. the mpmath oracle (:func:`gelulab.reference.evaluate` at 50 digits), rounded by
   :func:`gelulab.reference.round_to_format`.

``correctly_rounded`` applies this to f^(order)(x) and to products ``factor * f^(order)(x)`` (the
backward ``grad * f'(x)``, the gated ``f(a) * b``), so a fused op rounds once, decided the same
way. Every float path of gelulab (the NumPy functions, the CPU kernels' exact fallbacks, the
16-bit tables, the accuracy harness's reference) rounds through it: there is one mechanism
that claims "correctly rounded", not several.

The float64 kernels' bound, ``FLOAT64_ERROR_ULPS`` ulps of float64 relative to the value (an
absolute ``FLOAT64_ABSOLUTE_ERROR`` near float64's underflow), is the premise the float64 step
rests on; the exhaustive campaign checks it on every input against a long double evaluation
(:mod:`gelulab.accuracy.oracle`, ``cross_check``), and ``--verify`` against the oracle on samples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

from . import double_double as dd

if TYPE_CHECKING:
    from .spec import ActivationSpec


@dataclass(frozen=True)
class FloatFormat:
    name: str
    precision: int  # significand bits, implicit bit included
    emin: int  # exponent of the smallest normal
    emax: int  # exponent of the largest finite

    @property
    def quantum_min(self) -> int:
        """Exponent of the smallest subnormal."""
        return self.emin - self.precision + 1

    @property
    def largest(self) -> float:
        return float(np.ldexp(float(2**self.precision - 1), self.emax - self.precision + 1))


FORMATS = {
    "float64": FloatFormat("float64", 53, -1022, 1023),
    "float32": FloatFormat("float32", 24, -126, 127),
    "float16": FloatFormat("float16", 11, -14, 15),
    "bfloat16": FloatFormat("bfloat16", 8, -126, 127),
}

#: Error bound of ``ActivationSpec.evaluate_float64`` in float64 ulps of the value, for |value| of at
#: least ``RELATIVE_FROM``; below it the kernels' intermediates (e^{-|x|}, say, before a factor x)
#: may be float64 subnormals and the bound is absolute, ``FLOAT64_ABSOLUTE_ERROR``. Every midpoint
#: of a narrower format is far above both (float32's smallest is 2**-150).
FLOAT64_ERROR_ULPS = 64.0
RELATIVE_FROM = 2.0**-960
FLOAT64_ABSOLUTE_ERROR = 2.0**-1000
#: Error bound of the same kernels evaluated in long double, in long double ulps of the value.
LONG_DOUBLE_ERROR_ULPS = 64.0
#: Below this |x| the tiny-x rule of the module docstring applies.
TINY = 2.0**-60


def float_format(dtype: object) -> FloatFormat:
    key = dtype if isinstance(dtype, str) else str(np.dtype(dtype))
    key = key.replace("torch.", "")
    try:
        return FORMATS[key]
    except KeyError:
        raise ValueError(f"no float format {key!r}; known: {', '.join(FORMATS)}") from None


def quantum_exponent(v: np.ndarray, fmt: FloatFormat) -> np.ndarray:
    """log2 of the spacing of ``fmt`` at |v| (the subnormal quantum at and near zero; the last
    binade's beyond the largest finite, so the overflow threshold counts as a midpoint)."""
    _, e = np.frexp(np.abs(v))
    q = np.maximum(e.astype(np.int64) - 1, fmt.emin) - fmt.precision + 1
    q = np.minimum(q, fmt.emax - fmt.precision + 1)
    return np.where(v == 0, fmt.quantum_min, q)


def midpoint_distance(v: np.ndarray, fmt: FloatFormat) -> np.ndarray:
    """|v - the nearest midpoint of fmt| for finite v (float64 or long double), exactly: scaling by
    powers of two and taking the fraction of a number below 2**p are exact.

    Above the largest finite value the only midpoint is the overflow threshold (everything past it
    rounds to inf); the distance to it is exact up to 2x the threshold and rounded down (so never
    larger than the true one) beyond."""
    q = quantum_exponent(v, fmt).astype(np.int32)
    a = np.abs(v)
    m = np.ldexp(a, -q)
    frac = m - np.floor(m)
    dist = np.ldexp(np.abs(frac - 0.5), q)
    threshold = overflow_threshold(fmt)
    with np.errstate(all="ignore"):
        above = np.abs(a - a.dtype.type(threshold)) * (1 - np.finfo(a.dtype).eps)
    return np.where(a > fmt.largest, above, dist)


def overflow_threshold(fmt: FloatFormat) -> float:
    """The midpoint above the largest finite value of fmt: from it on, values round to inf."""
    return fmt.largest + float(np.ldexp(1.0, fmt.emax - fmt.precision))


def round_to_grid(v: np.ndarray, fmt: FloatFormat) -> np.ndarray:
    """v (float64 or long double) rounded once to ``fmt`` (nearest, ties to even), as float64.

    The rounding happens on the format's own grid (rint of v / quantum, exact scalings), so it is
    a single rounding from whatever precision v has; overflow gives inf and signs are kept."""
    with np.errstate(all="ignore"):
        q = quantum_exponent(v, fmt).astype(np.int32)
        r = np.ldexp(np.rint(np.ldexp(np.abs(v), -q)), q).astype(np.float64)
        r = np.where(r > fmt.largest, np.inf, r)
        r = np.where(np.isfinite(v), r, np.abs(v).astype(np.float64))
        return np.copysign(r, v.astype(np.float64))


def undecided(v: np.ndarray, bound: np.ndarray, fmt: FloatFormat) -> np.ndarray:
    """Where [v - bound, v + bound] holds a midpoint of fmt (only finite v can be undecided)."""
    finite = np.isfinite(v) & np.isfinite(bound)
    with np.errstate(all="ignore"):
        dist = midpoint_distance(np.where(finite, v, 0), fmt)
        return np.where(finite, dist <= bound, ~np.isfinite(bound) & np.isfinite(v))


@dataclass
class Rounded:
    """The correctly rounded values of one batch and how each was decided.

    ``rounded`` holds the target-format values as float64; ``exact`` the best float64 estimate of
    the exact value (the float64 value, or the oracle's where it was asked).
    """

    rounded: np.ndarray
    exact: np.ndarray
    long_double: int = 0
    tie_resolved: int = 0
    oracle: int = 0
    oracle_inputs: list[float] = field(default_factory=list)


def error_bound(y: np.ndarray, ulps: float, factor: np.ndarray | None, y_unscaled: np.ndarray | None) -> np.ndarray:
    """The error bound of y (= factor * y_unscaled when a factor is given: the kernel's bound
    scaled by |factor| plus the product's own rounding, one ulp of y for margin)."""
    with np.errstate(all="ignore"):
        if factor is None:
            return np.maximum(ulps * np.spacing(np.abs(y)), FLOAT64_ABSOLUTE_ERROR)
        own = np.maximum(ulps * np.spacing(np.abs(y_unscaled)), FLOAT64_ABSOLUTE_ERROR)
        return np.abs(factor) * own * (1 + 2.0**-50) + np.spacing(np.abs(y))


def correctly_rounded(spec: ActivationSpec, x64: np.ndarray, order: int, fmt: FloatFormat,
                      factor: np.ndarray | None = None, y64: np.ndarray | None = None) -> Rounded:
    """f^(order)(x) (times ``factor``, exact float64 values, when given) correctly rounded to fmt.

    ``x64``: 1-d float64 inputs; ``y64``: the float64 kernel values when the caller has them."""
    x64 = np.asarray(x64, dtype=np.float64).reshape(-1)
    if y64 is None:
        y64 = spec.evaluate_float64(x64, order)
    y64 = np.asarray(y64, dtype=np.float64).reshape(-1)
    if factor is not None:
        factor = np.broadcast_to(np.asarray(factor, dtype=np.float64).reshape(-1), x64.shape)
        with np.errstate(all="ignore"):
            value = factor * y64
    else:
        value = y64
    from .rounding_kernel import decide  # the float64 step in one compiled pass (same arithmetic)

    bound = None if factor is None else error_bound(value, FLOAT64_ERROR_ULPS, factor, y64)
    rounded, open_ = decide(value, fmt, bound, FLOAT64_ERROR_ULPS, FLOAT64_ABSOLUTE_ERROR)
    result = Rounded(rounded=rounded, exact=value.copy())
    todo = np.flatnonzero(open_)
    if todo.size:  # first: exact, and cheap; long double never decides these ties (x**2 is below its ulp)
        todo = _by_tiny_rule(spec, x64, value, order, fmt, factor, todo, result)
    if todo.size and factor is not None:
        todo = _by_constant_term_rule(spec, x64, value, order, fmt, factor, todo, result)
    if todo.size:
        todo = _by_long_double(spec, x64, order, fmt, factor, todo, result)
    if todo.size:
        _by_oracle(spec, x64, order, fmt, factor, todo, result)
    return result


def long_double_values(spec: ActivationSpec, x64: np.ndarray, order: int,
                       candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(indices, values): the kernels evaluated in long double at the ``candidates`` (indices into x64)
    whose x is finite and outside the derivative roots' local expansions (float64 there in either
    precision); None where the kernels have no long double form or long double is no wider."""
    if not (spec.extended and dd.LONG_DOUBLE_IS_WIDER):
        return None
    from .root_patches import root_patches

    xs = x64[candidates]
    usable = np.isfinite(xs)
    if spec.smooth and order > 0:
        for patch in root_patches(spec.name, order):
            with np.errstate(invalid="ignore"):
                usable &= np.abs(xs - patch.root_hi) > patch.half_width
    idx = candidates[usable]
    from .spec import blockwise

    with np.errstate(all="ignore"):
        return idx, blockwise(spec.kernels[order], x64[idx], np.longdouble)


def oracle_rounded(spec: ActivationSpec, x: float, order: int, fmt: FloatFormat, factor: float | None,
                   float64_value: float) -> tuple[float, float]:
    """(exact as float64, correctly rounded) of factor * f^(order)(x) by the mpmath oracle."""
    import mpmath

    from .. import reference

    v = reference.evaluate(spec.name, float(x), order)
    if factor is not None:
        with mpmath.workprec(512):  # the exact product of the oracle's value and the factor
            v = v * mpmath.mpf(float(factor))
    # mpmath has no signed zero: an exact zero takes the float64 value's sign
    return float(v), float(np.copysign(reference.round_to_format(v, fmt), float(v) if v else float64_value))


def _by_long_double(spec: ActivationSpec, x64: np.ndarray, order: int, fmt: FloatFormat,
                    factor: np.ndarray | None, todo: np.ndarray, result: Rounded) -> np.ndarray:
    found = long_double_values(spec, x64, order, todo)
    if found is None or not found[0].size:
        return todo
    idx, y = found
    with np.errstate(all="ignore"):
        value = y * factor[idx].astype(np.longdouble) if factor is not None else y
        ulp = np.spacing(np.abs(y))
        bound = LONG_DOUBLE_ERROR_ULPS * ulp * (np.abs(factor[idx]) if factor is not None else 1)
        if factor is not None:
            bound = bound + np.spacing(np.abs(value))
    ok = ~undecided(value, bound, fmt) & np.isfinite(value)
    settled = idx[ok]
    with np.errstate(all="ignore"):
        result.rounded[settled] = round_to_grid(value[ok], fmt)
        result.exact[settled] = value[ok].astype(np.float64)
    result.long_double += int(settled.size)
    return todo[~np.isin(todo, settled)]


@cache
def tiny_taylor(name: str, order: int) -> tuple[tuple[float, float] | None, tuple[float, float] | None]:
    """(c1, c2) of f^(order) on the left and on the right of 0, from the oracle, where the tiny-x
    rule applies on that side (f^(order)(0) = 0, c1 a power of two, c2 nonzero); else None."""
    from .. import reference

    sides = []
    for x in (-(2.0**-1000), 2.0**-1000):
        c0 = float(reference.evaluate(name, x, order))
        c1 = float(reference.evaluate(name, x, order + 1))
        c2 = float(reference.evaluate(name, x, order + 2)) / 2
        mantissa, _ = np.frexp(c1)
        usable = abs(c0) < 2.0**-900 and c1 != 0 and abs(mantissa) == 0.5 and c2 != 0
        sides.append((c1, c2) if usable else None)
    return sides[0], sides[1]


def _settle_ties(result: Rounded, idx: np.ndarray, value: np.ndarray, direction: np.ndarray,
                 next_term: np.ndarray, fmt: FloatFormat) -> None:
    """Midpoints value[idx] whose exact value lies ``direction`` (+1 or -1) of them, by ``next_term``:
    rounded to the neighbour on that side; a result of zero keeps the sign of the exact value
    (y + q/2 alone would give +0.0)."""
    q = np.ldexp(1.0, quantum_exponent(value[idx], fmt).astype(np.int32))
    result.rounded[idx] = np.copysign(value[idx] + direction * q / 2, value[idx])
    result.exact[idx] = value[idx] + next_term
    result.tie_resolved += int(idx.size)


def _by_tiny_rule(spec: ActivationSpec, x64: np.ndarray, value: np.ndarray, order: int, fmt: FloatFormat,
                  factor: np.ndarray | None, todo: np.ndarray, result: Rounded) -> np.ndarray:
    xs = x64[todo]
    if not np.any((np.abs(xs) < TINY) & (xs != 0)):
        return todo
    left = np.ones(todo.size, dtype=bool)
    for side, coeffs in zip((xs < 0, xs > 0), tiny_taylor(spec.name, order), strict=True):
        if coeffs is None:
            continue
        c1, c2 = coeffs
        f = factor[todo] if factor is not None else np.ones(todo.size)
        with np.errstate(all="ignore"):
            linear = f * (c1 * xs)  # exact: c1 is a power of two, f a short significand
            tie = side & (np.abs(xs) < TINY) & (value[todo] == linear) & (midpoint_distance(value[todo], fmt) == 0)
        if not np.any(tie):
            continue
        _settle_ties(result, todo[tie], value, np.sign(c2) * np.sign(f[tie]), f[tie] * c2 * xs[tie] ** 2, fmt)
        left &= ~tie
    return todo[left]


@cache
def tiny_constant_taylor(name: str, order: int) -> tuple[tuple[float, float] | None, tuple[float, float] | None]:
    """(c0, c1) of f^(order) = c0 + c1 x + ... on the left and on the right of 0, from the oracle, where
    the constant-term rule applies on that side (c0 a power of two, c1 nonzero); else None."""
    from .. import reference

    if order + 1 > 2:  # the registry carries f, f' and f''
        return None, None
    sides = []
    for x in (-(2.0**-1000), 2.0**-1000):
        c0 = float(reference.evaluate(name, x, order))
        c1 = float(reference.evaluate(name, x, order + 1))
        mantissa, _ = np.frexp(c0)
        usable = c0 != 0 and abs(mantissa) == 0.5 and abs(c1) > 2.0**-900
        sides.append((c0, c1) if usable else None)
    return sides[0], sides[1]


def _by_constant_term_rule(spec: ActivationSpec, x64: np.ndarray, value: np.ndarray, order: int,
                           fmt: FloatFormat, factor: np.ndarray, todo: np.ndarray, result: Rounded) -> np.ndarray:
    """The tiny-x rule for a product whose f^(order)(0) = c0 is not 0 (the backward grad * f'(x) near
    0, f'(0) = 1/2): for 0 < |x| < TINY the float64 value is factor * c0, exact (c0 a power of two),
    and where that is a midpoint (an odd subnormal factor) the exact value lies on the side of
    sign(factor * c1 * x), |c1 x| exceeding the rest of the series by a factor of 2**55 and more.
    At x = 0 the product is the midpoint itself, rounded to even like any exact value."""
    xs = x64[todo]
    near = (np.abs(xs) < TINY) & (xs != 0)
    sides = tiny_constant_taylor(spec.name, order)
    left = np.ones(todo.size, dtype=bool)
    if None not in sides and sides[0][0] == sides[1][0]:  # f^(order) continuous at 0, where it is c0
        with np.errstate(all="ignore"):
            exact = (xs == 0) & (value[todo] == factor[todo] * sides[0][0])
        if np.any(exact):
            idx = todo[exact]
            result.rounded[idx] = round_to_grid(value[idx], fmt)
            result.tie_resolved += int(idx.size)
            left &= ~exact
    if not np.any(near):
        return todo[left]
    for side, coeffs in zip((xs < 0, xs > 0), sides, strict=True):
        if coeffs is None:
            continue
        c0, c1 = coeffs
        f = factor[todo]
        with np.errstate(all="ignore"):
            tie = side & near & (value[todo] == f * c0) & (midpoint_distance(value[todo], fmt) == 0)
        if not np.any(tie):
            continue
        _settle_ties(result, todo[tie], value, np.sign(f[tie]) * np.sign(c1) * np.sign(xs[tie]), f[tie] * c1 * xs[tie],
                     fmt)
        left &= ~tie
    return todo[left]


def _by_oracle(spec: ActivationSpec, x64: np.ndarray, order: int, fmt: FloatFormat,
               factor: np.ndarray | None, todo: np.ndarray, result: Rounded) -> None:
    for i in todo:
        result.exact[i], result.rounded[i] = oracle_rounded(
            spec, x64[i], order, fmt, None if factor is None else factor[i], result.exact[i])
    result.oracle += int(todo.size)
    result.oracle_inputs.extend(float(x64[i]) for i in todo[:8])
