r"""Activations with parameters, as torch has them: LeakyReLU's slope, ELU's and CELU's alpha, Softplus's
beta and threshold.

A parameterised activation is named like a call: ``leaky_relu(negative_slope=0.2)``,
``elu(alpha=0.5)``, ``celu(alpha=2.0)``, ``softplus(beta=2.0, threshold=20.0)`` (positional values and
torch's spellings, ``LeakyReLU(0.2)``, ``Softplus(beta=2)``, are read too). :func:`parse` turns such a
name into its canonical form, and :func:`spec` builds the :class:`~gelulab.functions.spec.ActivationSpec`
behind it, cached: kernels, exact sympy form, limits. Everything that takes an activation name (the
NumPy functions, the mpmath oracle, the CPU kernels' exact path, the accuracy harness, the torch ops)
takes these names, and every value is rounded by the same decision as the registered functions: f, f'
and f'' correctly rounded in float32, float16 and bfloat16.

**What a parameter means.** A value is the decimal its float prints as: ``0.2`` is exactly 1/5, as
the registry's own constants are exact decimals (the default slope 0.01 is 1/100). Parameters equal to
a registered function's give that function (``leaky_relu(negative_slope=0.01)`` *is* ``leaky_relu``;
``celu(alpha=1.0)`` is ``elu``; ``softplus(beta=1.0, threshold=inf)`` is ``softplus``).

**Softplus's threshold** is part of the function, as in torch: f(x) = x where beta*x > threshold
(exactly, for the exact beta and x), else log(1 + e^{beta x})/beta; there f' = 1 and f'' = 0. torch's
default threshold 20 changes no float32 or 16-bit value of f or f' (e^{-20} is below half an ulp) but
does change f'' above 20, and float64 values.

**Accuracy.** The float64 kernels keep the products that sit inside an exponential exact (beta*x and
x/alpha as double-double, with a first-order correction), so the result carries a few roundings only;
the decision escalates every value whose error interval meets a midpoint (to long double, then to the
oracle). They are graded against the oracle in the tests; a chosen parameter can be scanned in full
with ``gelulab accuracy --function "elu(alpha=0.5)" --exhaustive``. Parameters cannot be scanned in
full as a family.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from typing import Any

import numpy as np

from . import double_double as dd
from .logistic import sigmoid_pair
from .piecewise import _nonpositive
from .spec import ActivationSpec

INF = float("inf")
_CALL = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*\((.*)\)\s*$", re.S)


@dataclass(frozen=True)
class Family:
    """One parameterised activation: its parameters (torch's names and defaults, in torch's order)."""

    name: str
    params: tuple[tuple[str, float], ...]
    torch_names: tuple[str, ...]
    summary: str

    @property
    def defaults(self) -> dict[str, float]:
        return dict(self.params)


FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("leaky_relu", (("negative_slope", 0.01),), ("leaky_relu", "leakyrelu", "lrelu"),
           "Leaky ReLU, max(x, 0) + negative_slope * min(x, 0)."),
    Family("elu", (("alpha", 1.0),), ("elu",), "ELU, x for x > 0, alpha * (e^x - 1) otherwise."),
    Family("celu", (("alpha", 1.0),), ("celu",), "CELU, x for x > 0, alpha * (e^{x/alpha} - 1) otherwise."),
    Family("softplus", (("beta", 1.0), ("threshold", 20.0)), ("softplus", "smooth_relu"),
           "Softplus, log(1 + e^{beta x}) / beta, and x where beta * x > threshold."),
)}
_BY_ALIAS = {alias: fam for fam in FAMILIES.values() for alias in fam.torch_names}


class ParameterError(ValueError):
    """A parameterised name that cannot be read, or a parameter value the function does not take."""


def family_of(base: str) -> Family | None:
    return _BY_ALIAS.get(base.strip().lower())


def is_call(name: str) -> bool:
    """Whether a name is written with parameters, ``base(...)``."""
    return bool(_CALL.match(str(name)))


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ParameterError(f"{what}: {text!r} is not a number") from None
    if math.isnan(value):
        raise ParameterError(f"{what}: NaN is not a parameter value")
    return value


def canonical(family: Family, values: dict[str, float]) -> str:
    return f"{family.name}(" + ", ".join(f"{k}={float(values[k])!r}" for k, _ in family.params) + ")"


def parse(name: str) -> tuple[Family, dict[str, float]]:
    """(family, parameter values with defaults filled in) of a name written like a call."""
    match = _CALL.match(str(name))
    if not match:
        raise ParameterError(f"{name!r} is not of the form name(value, key=value, ...)")
    base, body = match.groups()
    family = family_of(base)
    if family is None:
        known = ", ".join(FAMILIES)
        raise ParameterError(f"{base!r} takes no parameters here; parameterised activations: {known}")
    keys = [k for k, _ in family.params]
    values = family.defaults
    given: set[str] = set()
    parts = [p.strip() for p in body.split(",")] if body.strip() else []
    for i, part in enumerate(parts):
        key, sep, text = part.partition("=")
        if sep:
            key = key.strip()
            if key not in values:
                raise ParameterError(f"{family.name}: unknown parameter {key!r} (takes {', '.join(keys)})")
        else:
            if given & set(keys[i:]) or i >= len(keys):
                raise ParameterError(f"{family.name}: too many or misplaced positional values in {name!r}")
            key, text = keys[i], part
        if key in given:
            raise ParameterError(f"{family.name}: {key} given twice")
        given.add(key)
        values[key] = _number(text.strip(), f"{family.name} {key}")
    check(family, values)
    return family, values


def check(family: Family, values: dict[str, float]) -> None:
    """One-line errors for values the function does not take."""
    for key, value in values.items():
        if math.isnan(value) or (math.isinf(value) and key != "threshold"):
            raise ParameterError(f"{family.name}: {key} must be finite, got {value}")
    if family.name == "celu" and values["alpha"] == 0:
        raise ParameterError("celu: alpha must be nonzero (CELU divides by it)")
    if family.name == "softplus" and not values["beta"] > 0:
        raise ParameterError(f"softplus: beta must be positive, got {values['beta']}")


def registered_equivalent(family: Family, values: dict[str, float]) -> str | None:
    """The registered function these parameters give, if any."""
    if family.name == "leaky_relu" and values["negative_slope"] == 0.01:
        return "leaky_relu"
    if family.name in ("elu", "celu") and values["alpha"] == 1.0:
        return "elu"
    if family.name == "softplus" and values["beta"] == 1.0 and values["threshold"] == INF:
        return "softplus"
    return None


# --- the kernels -------------------------------------------------------------------------------

def _exact(value: float) -> Fraction:
    """The exact value of a parameter: the decimal its float prints as."""
    return Fraction(repr(float(value)))


@cache
def _pair(value: Fraction, dtype: np.dtype) -> tuple[Any, Any]:
    """(hi, lo) of an exact rational in float64 or long double: hi nearest, lo the nearest to the rest."""
    if dtype == np.longdouble:
        hi = np.longdouble(float(value))
        hi = hi + np.longdouble(float(value - Fraction(*hi.as_integer_ratio())))  # nearest, to an ulp
        return hi, np.longdouble(float(value - Fraction(*hi.as_integer_ratio())))
    hi = float(value)
    return np.float64(hi), np.float64(float(value - Fraction(hi)))


def _two_prod(a: np.ndarray, b: Any) -> dd.DD:
    """a * b exactly as hi + lo (Veltkamp's split for the array's own significand)."""
    splitter = 134217729.0 if a.dtype == np.float64 else 4294967297.0  # 2**27 + 1, 2**32 + 1
    b = np.asarray(b, dtype=a.dtype)
    p = a * b

    def split(v):
        c = splitter * v
        hi = c - (c - v)
        return hi, v - hi

    ah, al = split(a)
    bh, bl = split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _scaled(x: np.ndarray, c: Fraction) -> dd.DD:
    """x * c as a double-double (either precision), for an exponent: where |x c| > 2**14 every exponential
    of it is 0 or inf in both precisions, and the low part (large there in absolute terms) is dropped."""
    hi, lo = _pair(c, x.dtype)
    bound = 2.0**900 / max(1.0, abs(float(c)))
    xs = np.clip(x, -bound, bound)
    p, e = _two_prod(xs, hi)
    e = e + xs * lo
    p = np.where(np.abs(x) <= bound, p, x * hi)
    return p, np.where(np.isfinite(e) & (np.abs(p) <= 2.0**14), e, 0.0)


def _leaky(slope: Fraction) -> tuple[Callable, Callable, Callable]:
    def f(x):
        return np.where(x > 0, x, x * _pair(slope, x.dtype)[0])

    def d1(x):
        return np.where(x > 0, np.ones_like(x), _pair(slope, x.dtype)[0] * np.ones_like(x))

    return f, d1, np.zeros_like


def _elu(alpha: Fraction) -> tuple[Callable, Callable, Callable]:
    def f(x):
        return np.where(x > 0, x, _pair(alpha, x.dtype)[0] * np.expm1(_nonpositive(x)))

    def d1(x):
        return np.where(x > 0, np.ones_like(x), _pair(alpha, x.dtype)[0] * np.exp(np.minimum(x, 0.0)))

    def d2(x):
        return np.where(x > 0, np.zeros_like(x), _pair(alpha, x.dtype)[0] * np.exp(np.minimum(x, 0.0)))

    return f, d1, d2


def _celu(alpha: Fraction) -> tuple[Callable, Callable, Callable]:
    inverse = 1 / alpha

    def z(x):  # x/alpha for x <= 0, as hi + lo
        return _scaled(_nonpositive(x), inverse)

    def f(x):
        z_hi, z_lo = z(x)
        m = np.expm1(z_hi) + np.where(z_lo != 0, np.exp(z_hi) * z_lo, 0.0)  # inf * 0 would be NaN
        return np.where(x > 0, x, _pair(alpha, x.dtype)[0] * m)

    def d1(x):
        return np.where(x > 0, np.ones_like(x), dd.exp_dd(z(x)))

    def d2(x):
        return np.where(x > 0, np.zeros_like(x), dd.exp_dd(z(x)) * _pair(inverse, x.dtype)[0])

    return f, d1, d2


def softplus_cut(beta: Fraction, threshold: float) -> float:
    """The least float64 x with beta * x > threshold exactly (inf for an infinite threshold)."""
    if math.isinf(threshold):
        return threshold if threshold > 0 else -INF
    c = _exact(threshold) / beta
    f = float(c)
    return f if Fraction(f) > c else float(np.nextafter(f, INF))


def _softplus(beta: Fraction, threshold: float) -> tuple[Callable, Callable, Callable]:
    cut = softplus_cut(beta, threshold)
    inverse = 1 / beta

    def f(x):
        z_hi, z_lo = _scaled(x, beta)
        s = sigmoid_pair((z_hi, z_lo), with_diff=False)[0]
        # softplus(z)/beta = max(z, 0)/beta + log1p(e^{-|z|})/beta, and max(z, 0)/beta is max(x, 0) exactly
        tail = np.log1p(np.exp(-np.abs(z_hi))) + s * z_lo
        y = np.where(z_hi > 0, x, 0.0 * x) + tail * _pair(inverse, x.dtype)[0]
        return np.where(x >= cut, x, y)

    def d1(x):
        return np.where(x >= cut, np.ones_like(x), sigmoid_pair(_scaled(x, beta), with_diff=False)[0])

    def d2(x):
        s, sbar, _ = sigmoid_pair(_scaled(x, beta), with_diff=False)
        return np.where(x >= cut, np.zeros_like(x), _pair(beta, x.dtype)[0] * s * sbar)

    return f, d1, d2


# --- the exact forms -------------------------------------------------------------------------

def _sympy():
    import sympy

    return sympy


def _symbolic(family: str, values: dict[str, Fraction], cut: float | None) -> Callable[[Any], Any]:
    def build(x):  # sympy is imported when the exact form is first built (the oracle, the analysis), not before
        from sympy.codegen.cfunctions import expm1, log1p

        sp = _sympy()
        if family == "leaky_relu":
            return sp.Piecewise((x, x > 0), (sp.Rational(values["negative_slope"]) * x, True))
        if family == "elu":
            return sp.Piecewise((x, x > 0), (sp.Rational(values["alpha"]) * expm1(x), True))
        if family == "celu":
            a = sp.Rational(values["alpha"])
            return sp.Piecewise((x, x > 0), (a * expm1(x / a), True))
        b = sp.Rational(values["beta"])
        z = b * x
        smooth = sp.Piecewise((z + log1p(sp.exp(-z)), z > 0), (log1p(sp.exp(z)), True)) / b
        if cut is None or math.isinf(cut):
            return smooth
        return sp.Piecewise((x, x >= sp.Rational(Fraction(cut))), (smooth, True))

    return build


def _limits(family: str, v: dict[str, float]) -> dict[int, tuple[float, float]]:
    if family == "leaky_relu":
        s = v["negative_slope"]
        lo = -INF if s > 0 else (INF if s < 0 else 0.0)
        return {0: (lo, INF), 1: (s, 1.0), 2: (0.0, 0.0)}
    if family == "elu":
        a = v["alpha"]
        return {0: (-a, INF), 1: (0.0 * a, 1.0), 2: (0.0 * a, 0.0)}
    if family == "celu":
        a = v["alpha"]
        if a > 0:
            return {0: (-a, INF), 1: (0.0, 1.0), 2: (0.0, 0.0)}
        return {0: (-INF, INF), 1: (INF, 1.0), 2: (-INF, 0.0)}
    return {0: (0.0, INF), 1: (0.0, 1.0), 2: (0.0, 0.0)}


_LATEX = {
    "leaky_relu": r"\max(x, 0) + {negative_slope}\,\min(x, 0)",
    "elu": r"\begin{{cases}} x & x > 0 \\ {alpha}\,(e^{{x}} - 1) & x \le 0 \end{{cases}}",
    "celu": r"\begin{{cases}} x & x > 0 \\ {alpha}\,(e^{{x/{alpha}}} - 1) & x \le 0 \end{{cases}}",
    "softplus": r"\begin{{cases}} x & {beta}\,x > {threshold} \\ \log(1 + e^{{{beta} x}})/{beta} & "
                r"\text{{otherwise}} \end{{cases}}",
}


@cache
def spec(name: str) -> ActivationSpec:
    """The spec of a parameterised activation, by its canonical name (see :func:`parse`)."""
    family, values = parse(name)
    exact = {k: _exact(v) for k, v in values.items() if not math.isinf(v)}
    cut = None
    if family.name == "leaky_relu":
        kernels = _leaky(exact["negative_slope"])
    elif family.name == "elu":
        kernels = _elu(exact["alpha"])
    elif family.name == "celu":
        kernels = _celu(exact["alpha"])
    else:
        cut = softplus_cut(exact["beta"], values["threshold"])
        kernels = _softplus(exact["beta"], values["threshold"])
    smooth = family.name == "softplus" and math.isinf(values["threshold"])
    return ActivationSpec(
        name=canonical(family, values),
        aliases=(),
        latex=_LATEX[family.name].format(**{k: repr(v) for k, v in values.items()}),
        summary=family.summary,
        domain_notes="All reals; parameters are exact decimals (see gelulab.functions.parametric).",
        kernels=kernels,
        symbolic=_symbolic(family.name, exact, cut),
        limits=_limits(family.name, values),
        smooth=smooth,
        family={"leaky_relu": "piecewise", "softplus": "logistic"}.get(family.name, "exponential"),
        extended=True,
    )
