"""Local expansions at the roots of derivatives.

GELU' = Phi + x phi vanishes near x0 = -0.7518 (the minimum of GELU); SiLU', mish', the tanh
and sigmoid GELU forms and several second derivatives have such roots too. Near a root the
two terms cancel and float64 keeps only a few correct bits, whatever the formula. So around
each root x0 (located with the mpmath oracle, x0 = x0_hi + x0_lo) the derivative is
evaluated as d * Q(d) with d = (x - x0_hi) - x0_lo, where x - x0_hi is exact (Sterbenz) and
Q is a polynomial fitted at Chebyshev nodes to the oracle's f^(k)(x0 + d)/d. That keeps
every result to about 1 ulp down to the root itself.

The patches are computed once per process, on first use, from the oracle.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property
from typing import TYPE_CHECKING

import mpmath
import numpy as np

from .double_double import LONG_DOUBLE_IS_WIDER, two_prod

if TYPE_CHECKING:
    from .spec import ActivationSpec

_SCAN = (-8.0, 8.0, 321)  # where roots are looked for: a uniform grid, then refined
_WIDTH = 0.45  # half-width of a patch, relative to |x0| (keeps x - x0_hi exact)
_MAX_HALF_WIDTH = 0.6
_FIT_DPS = 40


@dataclass(frozen=True)
class RootPatch:
    root_hi: float
    root_lo: float
    half_width: float
    coefficients: tuple[float, ...]  # Q(d), highest degree first (high parts)
    coefficients_lo: tuple[float, ...]  # the rest of each coefficient

    @cached_property
    def _long_double_coefficients(self) -> np.ndarray:
        """The coefficients as long double sums of their two parts, converted once (not per call)."""
        return np.asarray(self.coefficients, np.longdouble) + np.asarray(self.coefficients_lo, np.longdouble)

    def contains(self, x: np.ndarray) -> np.ndarray:
        return np.abs(x - self.root_hi) <= self.half_width

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        d_hi = x - self.root_hi  # exact: x is within a factor 2 of the root
        if LONG_DOUBLE_IS_WIDER:
            # Horner in long double with double-double coefficients: about 2**-60 relative.
            d = d_hi.astype(np.longdouble) - np.longdouble(self.root_lo)
            return (d * np.polyval(self._long_double_coefficients, d)).astype(np.float64)
        q = np.polyval(np.asarray(self.coefficients), d_hi - self.root_lo)
        p, e = two_prod(d_hi, q)  # (d_hi - root_lo) * q without rounding d
        return p + (e - self.root_lo * q)


@cache
def find_roots(name: str, order: int) -> tuple[mpmath.mpf, ...]:
    """Sign changes of f^(order) on a grid, refined with the oracle; zero-crossings only."""
    from ..reference import evaluate

    lo, hi, n = _SCAN
    grid = np.linspace(lo, hi, n)
    values = [evaluate(name, float(g), order, dps=30) for g in grid]
    roots = []
    with mpmath.workdps(_FIT_DPS):
        for a, b, fa, fb in zip(grid[:-1], grid[1:], values[:-1], values[1:], strict=False):
            if fa == 0 or fb == 0 or (fa > 0) == (fb > 0):
                continue

            def f(t: mpmath.mpf) -> mpmath.mpf:
                return evaluate(name, t, order, dps=_FIT_DPS)

            r = mpmath.findroot(f, (mpmath.mpf(a), mpmath.mpf(b)), solver="anderson")
            scale = abs(evaluate(name, r + mpmath.mpf("1e-6"), order, dps=_FIT_DPS))
            if scale > 0 and r != 0:  # a jump (piecewise function) has no small neighbourhood
                roots.append(r)
    return tuple(roots)


def _fit(name: str, order: int, root: mpmath.mpf) -> RootPatch:
    from ..reference import evaluate

    half = min(_WIDTH * abs(root), _MAX_HALF_WIDTH)
    with mpmath.workdps(_FIT_DPS):
        def q(d: mpmath.mpf) -> mpmath.mpf:
            return evaluate(name, root + d, order, dps=_FIT_DPS) / d

        # Even node counts keep d = 0 off the Chebyshev nodes; the fit is checked at points
        # between the nodes against the oracle (relative error below 2**-60).
        checks = [half * mpmath.mpf(k) / 23 for k in range(-23, 24) if k]
        exact_q = [q(d) for d in checks]
        for degree in (12, 16, 20, 24, 28, 32, 40):
            poly = mpmath.chebyfit(q, [-half, half], degree)
            worst = max(abs(mpmath.polyval(poly, d) / v - 1) for d, v in zip(checks, exact_q, strict=False))
            if worst < mpmath.mpf(2) ** -60:
                break
        r_hi = float(root)
        r_lo = float(root - mpmath.mpf(r_hi))
        hi = tuple(float(c) for c in poly)
        lo = tuple(float(c - mpmath.mpf(h)) for c, h in zip(poly, hi, strict=True))
    return RootPatch(r_hi, r_lo, float(half), hi, lo)


@cache
def root_patches(name: str, order: int) -> tuple[RootPatch, ...]:
    return tuple(_fit(name, order, r) for r in find_roots(name, order))


def apply_root_patches(spec: ActivationSpec, order: int, x: np.ndarray, y: np.ndarray) -> None:
    for patch in root_patches(spec.name, order):
        inside = patch.contains(x)
        if np.any(inside):
            y[inside] = patch.evaluate(x[inside])


#: Up to this many inputs, a call whose inputs all lie in root patches skips the kernel (see below).
FEW = 64


def patched_only(spec: ActivationSpec, order: int, x: np.ndarray) -> np.ndarray | None:
    """The float64 values of a few inputs that all lie in this derivative's root patches, from the
    patches alone; None otherwise. The same numbers as the kernel followed by apply_root_patches,
    which overwrites every one of them: the kernel's own values are not needed. This is the case of
    the compiled kernels' exact fallbacks, whose undecided inputs cluster near the roots, where a
    fallback of one element otherwise pays the whole kernel's fixed cost on a tiny array."""
    if not spec.smooth or order == 0 or x.size > FEW:
        return None
    patches = root_patches(spec.name, order)
    covered = np.zeros(x.size, dtype=bool)
    for patch in patches:
        covered |= patch.contains(x)
    if not patches or not covered.all():
        return None
    y = np.empty(x.size)
    apply_root_patches(spec, order, x, y)
    return y
