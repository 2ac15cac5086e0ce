r"""Structural near-ties found by analysis: where the leading Taylor terms at 0 put the exact value on
a rounding midpoint.

Near 0 a smooth f^(k)(x) = c0 + c1 x + c2 x^2 + ... . When the leading coefficients are dyadic
(SiLU' = 1/2 + x/2 - x^3/12 + ..., σ = 1/2 + x/4 - x^3/48 + ..., GELU = x/2 + x^2/\sqrt{2π} ...),
their partial sum P(x) at an input x with few significant bits is a short dyadic number, and it can
be *exactly* a midpoint of the target format; the exact value is then off the midpoint only by the
first non-dyadic term R(x) = c_J x^J, which for small |x| lies below float64's resolution. Those
inputs are hard by construction: a float64 evaluation sees a tie and rounds it to even, right or
wrong by chance (x = 0x1.3p-20 for SiLU' in float32 was one).

:func:`near_ties` reads the one-sided Taylor coefficients from the oracle (at ±2**-1000, so a
piecewise function's piece at 0 counts), keeps the leading dyadic ones, and enumerates the inputs
with at most ``bits`` significant bits in every binade where R(x) is within the float64 kernels'
error bound of the midpoint, returning those where P(x) is exactly a midpoint. The subnormal ties of
f(x) = x/2 (c0 = 0) are the tiny-x rule's and are listed apart by :func:`tiny_ties`. The command

    python -m gelulab.accuracy.near_ties --merge

adds a spread of them (``--per-case`` per function, order and dtype) to the hard-case list, which
the tests run through every path against the oracle.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from functools import cache

import mpmath

from .. import reference
from ..functions import names
from ..functions.rounding import FLOAT64_ERROR_ULPS, FORMATS, FloatFormat
from .hard_cases import HardCase, merge_cases

#: Taylor terms read per function and order; a dyadic run longer than this is cut there.
TERMS = 6
#: A coefficient is dyadic when it is a fraction with a power-of-two denominator up to 2**DYADIC_BITS
#: within the oracle's precision.
DYADIC_BITS = 40
_PROBE = mpmath.mpf(2) ** -1000


@dataclass(frozen=True)
class Expansion:
    """The leading dyadic Taylor coefficients of f^(order) on one side of 0, and the first other one."""

    function: str
    order: int
    side: int  # -1 or +1
    dyadic: tuple[Fraction, ...]  # c0, c1, ... while dyadic
    next_power: int  # J: the power of the first non-dyadic coefficient
    next_coefficient: float  # c_J

    def describe(self) -> str:
        terms = " + ".join(f"{c}·x^{j}" for j, c in enumerate(self.dyadic) if c)
        return f"{terms} + ({self.next_coefficient:.4g})·x^{self.next_power}"


def _dyadic(c: mpmath.mpf) -> Fraction | None:
    scaled = c * 2**DYADIC_BITS
    n = int(mpmath.nint(scaled))
    if abs(scaled - n) > mpmath.mpf(2) ** -60 * max(1, abs(scaled)):
        return None
    return Fraction(n, 2**DYADIC_BITS)


@cache
def expansion(function: str, order: int, side: int) -> Expansion | None:
    """The expansion at 0 on one side, or None when f^(order) has no usable Taylor series there."""
    x = side * _PROBE
    coefficients = []
    for j in range(TERMS + 1):
        v = reference.evaluate(function, x, order + j, dps=60)
        if not mpmath.isfinite(v):
            return None
        coefficients.append(v / math.factorial(j))
    dyadic: list[Fraction] = []
    for j, c in enumerate(coefficients):
        d = _dyadic(c)
        if d is None:
            if len(dyadic) < 2 or not any(dyadic[1:]):
                return None  # no x-dependent dyadic part: no structural tie
            return Expansion(function, order, side, tuple(dyadic), j, float(c))
        dyadic.append(d)
    return None  # a polynomial (or dyadic through TERMS terms): exact in float64, no hidden term


def _is_midpoint(v: Fraction, fmt: FloatFormat) -> bool:
    if v == 0:
        return False
    a = abs(v)
    e = a.numerator.bit_length() - a.denominator.bit_length()  # 2**e <= a < 2**(e+2)
    if Fraction(2) ** e > a:
        e -= 1
    q = max(e, fmt.emin) - fmt.precision + 1
    scaled = a / Fraction(2) ** q if q >= 0 else a * 2 ** (-q)
    if scaled > 2**fmt.precision:  # beyond the largest finite value's binade
        return False
    return scaled.denominator == 2 and scaled.numerator % 2 == 1


def _candidates(side: int, exponent: int, bits: int) -> Iterator[Fraction]:
    """Every x = side * m * 2**(exponent - bits + 1) with m of exactly ``bits`` bits (x in the binade 2**exponent)."""
    scale = Fraction(2) ** (exponent - bits + 1)
    for m in range(1 << (bits - 1), 1 << bits):
        if m % 2:  # even m repeat a shorter x
            yield side * m * scale


def near_ties(function: str, order: int, dtype: str, bits: int = 12,
              exponents: range | None = None) -> list[tuple[float, Expansion]]:
    """Inputs x (floats of ``dtype``) where the dyadic part of f^(order)'s expansion is exactly a midpoint
    of ``dtype`` and the rest is within the float64 bound of it."""
    fmt = FORMATS[dtype]
    found = []
    for side in (-1, 1):
        exp = expansion(function, order, side)
        if exp is None:
            continue
        lo = fmt.emin - fmt.precision + 1
        for e in exponents if exponents is not None else range(lo, 0):
            x_size = 2.0**e
            value_size = max(abs(float(c)) * x_size**j for j, c in enumerate(exp.dyadic))
            # the hidden term must be below the float64 bound, or float64 sees it and there is no tie
            if abs(exp.next_coefficient) * x_size**exp.next_power > FLOAT64_ERROR_ULPS * 2.0**-52 * value_size:
                continue
            c0 = abs(float(exp.dyadic[0]))
            moves = sum(abs(float(c)) * (2 * x_size) ** j for j, c in enumerate(exp.dyadic) if j)
            if c0 and moves < c0 * 2.0 ** -(fmt.precision + 2):  # P(x) stays nearer c0 than any midpoint
                continue
            for b in range(2, bits + 1):
                for x in _candidates(side, e, b):
                    if exp.dyadic[0] == 0 and b > fmt.precision:
                        continue
                    p = sum(c * x**j for j, c in enumerate(exp.dyadic))
                    if _on_grid(x, fmt) and _is_midpoint(p, fmt):
                        found.append((float(x), exp))
    return found


def _on_grid(x: Fraction, fmt: FloatFormat) -> bool:
    a = abs(x)
    e = a.numerator.bit_length() - a.denominator.bit_length()
    if Fraction(2) ** e > a:
        e -= 1
    q = max(e, fmt.emin) - fmt.precision + 1
    scaled = a / Fraction(2) ** q if q >= 0 else a * 2 ** (-q)
    return scaled.denominator == 1


def spread(values: list[float], n: int) -> list[float]:
    """n values spread over the sorted list (both ends kept)."""
    values = sorted(set(values), key=lambda v: (abs(v), v))
    if len(values) <= n:
        return values
    step = (len(values) - 1) / (n - 1)
    return [values[round(i * step)] for i in range(n)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--function", nargs="*", default=None, help="functions (default: every registered one)")
    parser.add_argument("--dtype", nargs="*", default=["float32", "float16", "bfloat16"])
    parser.add_argument("--bits", type=int, default=12, help="significant bits of the inputs tried (default 12)")
    parser.add_argument("--per-case", type=int, default=8, help="inputs kept per function, order and dtype")
    parser.add_argument("--merge", action="store_true", help="add them to the checked-in hard-case list")
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    args = parser.parse_args(argv)
    rows, cases = [], []
    for function in args.function or names():
        for order in (0, 1, 2):
            for dtype in args.dtype:
                found = near_ties(function, order, dtype, args.bits)
                if not found:
                    continue
                kept = spread([x for x, _ in found], args.per_case)
                expansions = {e.describe() for _, e in found}
                rows.append({"function": function, "order": order, "dtype": dtype, "found": len(found),
                             "kept": [x.hex() for x in kept], "expansions": sorted(expansions)})
                cases += [HardCase(function, order, dtype, x,
                                   "structural near-tie: the dyadic Taylor terms at 0 are exactly a midpoint "
                                   "(found by gelulab.accuracy.near_ties)") for x in kept]
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        for r in rows:
            label = f"{r['function']:12s} d{r['order']} {r['dtype']:9s}"
            print(f"{label} {r['found']:6d} ties  {'; '.join(r['expansions'])}")
    if args.merge:
        print(f"added {merge_cases(cases)} cases to the hard-case list")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
