"""The mpmath oracle: every registered activation and its derivatives at any precision.

The exact formula of each activation is its sympy expression (``spec.symbolic``); derivatives
are taken symbolically, and the expressions are evaluated with mpmath at ``prec`` bits. The
forms are chosen so the oracle has no cancellation worse than the function itself (erfc, not
1 + erf; x/(1 + e^{-2u}), not 1 + tanh; log1p and expm1), so 50 decimal digits leave at least
30 correct digits for every float64 input.

``round_to_format`` rounds an mpmath value once into float64, float32, float16 or bfloat16
(nearest, ties to even, with subnormals and overflow), and ``ulp_error`` measures a result
in units in the last place of the correctly rounded value's format.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache

import mpmath
import numpy as np

from .functions import get
from .functions.rounding import FORMATS, FloatFormat, float_format

DEFAULT_DPS = 50


@cache
def symbolic_derivative(name: str, order: int):
    import sympy

    x = sympy.Symbol("x", real=True)
    expr = get(name).symbolic(x)
    return x, sympy.diff(expr, x, order) if order else expr


def _erfc(z: mpmath.mpf) -> mpmath.mpf:
    """mpmath's erfc, saturated beyond |z| = 1e6 (where mpmath's series check overflows).

    There erfc(z) < exp(-1e12): every result it feeds rounds to 0 (or is exact) in every format.
    """
    z = mpmath.mpf(z)
    if z > _ERFC_SATURATION:
        return mpmath.mpf(0)
    if z < -_ERFC_SATURATION:
        return mpmath.mpf(2)
    return mpmath.erfc(z)


_ERFC_SATURATION = mpmath.mpf(10) ** 6


@cache
def _compiled(name: str, order: int) -> Callable[[mpmath.mpf], mpmath.mpf]:
    import sympy

    x, expr = symbolic_derivative(name, order)
    return sympy.lambdify(x, expr, modules=[{"erfc": _erfc}, "mpmath"])


def evaluate(name: str, x: float | mpmath.mpf, order: int = 0, dps: int = DEFAULT_DPS) -> mpmath.mpf:
    """f^(order)(x) with mpmath at ``dps`` decimal digits. Infinite x gives the spec's limit."""
    spec = get(name)
    xf = float(x) if not isinstance(x, mpmath.mpf) else x
    if isinstance(xf, float) and (xf != xf):
        return mpmath.nan
    if isinstance(xf, float) and np.isinf(xf):
        return mpmath.mpf(spec.limits[order][xf > 0])
    f = _compiled(spec.name, order)
    # Derivatives of tanh(softplus) and friends subtract quantities of size 1 to leave e^{-2|x|}:
    # about 0.87|x| digits cancel, so the working precision grows with |x| (capped: beyond
    # |x| = 1500 such results underflow in every format).
    extra = int(min(abs(float(x)), 1500.0)) if order else 0
    with mpmath.workdps(max(dps, mpmath.mp.dps) + extra):
        return +mpmath.mpf(f(mpmath.mpf(x)))


def evaluate_many(name: str, xs: Iterable[float], order: int = 0, dps: int = DEFAULT_DPS) -> list[mpmath.mpf]:
    return [evaluate(name, float(x), order, dps) for x in np.asarray(list(xs), dtype=np.float64).ravel()]


def round_to_format(v: mpmath.mpf, fmt: FloatFormat | str = "float64") -> float:
    """The value of ``fmt`` nearest to v (ties to even), as a Python float (exact)."""
    fmt = FORMATS[fmt] if isinstance(fmt, str) else fmt
    if mpmath.isnan(v):
        return float("nan")
    if mpmath.isinf(v):
        return float(v)
    if v == 0:
        return 0.0
    # Work at the value's own precision: a result just off a midpoint must not be rounded onto it.
    bits = v._mpf_[3] if isinstance(v, mpmath.mpf) else 64
    with mpmath.workprec(max(mpmath.mp.prec, bits, 64) + 64):
        mant, exp = mpmath.frexp(abs(v))  # |v| = mant * 2**exp, mant in [0.5, 1)
        e = max(int(exp) - 1, fmt.emin)
        q = e - fmt.precision + 1
        n = mpmath.nint(mpmath.ldexp(abs(v), -q))  # nearest integer, ties to even
        r = mpmath.ldexp(n, q)
        largest = mpmath.ldexp(2 ** fmt.precision - 1, fmt.emax - fmt.precision + 1)
        if r > largest:
            r = mpmath.inf
        out = float(r)
    return -out if v < 0 else out


def ulp_of(v: mpmath.mpf | float, fmt: FloatFormat | str = "float64") -> mpmath.mpf:
    """The spacing of ``fmt`` at |v| (the quantum of the binade holding v; subnormal quantum near 0)."""
    fmt = FORMATS[fmt] if isinstance(fmt, str) else fmt
    v = mpmath.mpf(v)
    if v == 0 or mpmath.isinf(v):
        return mpmath.ldexp(1, fmt.quantum_min if v == 0 else fmt.emax - fmt.precision + 1)
    _, exp = mpmath.frexp(abs(v))
    return mpmath.ldexp(1, max(int(exp) - 1, fmt.emin) - fmt.precision + 1)


def ulp_error(computed: float, exact: mpmath.mpf, fmt: FloatFormat | str = "float64") -> float:
    """|computed - exact| in ulps of ``fmt`` at the exact value; 0 for matching NaN/inf."""
    c = float(computed)
    if mpmath.isnan(exact) or c != c:
        return 0.0 if (mpmath.isnan(exact) and c != c) else float("inf")
    if mpmath.isinf(exact) or np.isinf(c):
        return 0.0 if (mpmath.isinf(exact) and np.isinf(c) and (exact > 0) == (c > 0)) else float("inf")
    with mpmath.workprec(mpmath.mp.prec + 64):
        return float(abs(mpmath.mpf(c) - exact) / ulp_of(exact, fmt))


def correctly_rounded(name: str, xs: Iterable[float], order: int = 0, dtype: object = "float64",
                      dps: int = DEFAULT_DPS) -> np.ndarray:
    """Correctly rounded f^(order)(x) in ``dtype`` for float inputs, as a float64 array."""
    fmt = float_format(dtype)
    return np.array([round_to_format(v, fmt) for v in evaluate_many(name, xs, order, dps)], dtype=np.float64)
