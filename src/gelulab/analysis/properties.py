"""Every property of an activation that the explainer talks about, computed.

One function, ``properties(name)``, runs the same analyses for every registered activation:
nonlinearity, monotonicity (with decreasing intervals and the global minimum, placed with the
oracle), continuity class of f and f' (formula, then numbers), range and bounds, negative
outputs, f'(0) and the limits of f and f' at +-inf (exact, sympy), the moments under a
standard normal input (quadrature) and the largest difference to exact GELU. Nothing here is
read from ``spec.documented`` or any typed-in table; ``documented_disagreements`` compares
the computed answers with those literature flags afterwards.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

import sympy as sp

from ..functions import get, names
from ..reference import evaluate as oracle
from .approximation import Gap, gap_to
from .continuity import Continuity, continuity
from .formula import as_float, branch_near, breakpoints, expression, limit_at_infinity, one_sided_limits
from .moments import NormalMoments, normal_moments
from .monotonicity import Monotonicity, monotonicity

_MIDPOINT_GRID = (-3.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0)


@dataclass(frozen=True)
class Nonlinearity:
    """f is affine iff f((a + b)/2) = (f(a) + f(b))/2 for all a, b; the largest violation shows it is not."""

    nonlinear: bool
    max_midpoint_defect: float
    at: tuple[float, float]
    symbolic: bool  # some branch has f'' != 0, or f' jumps


@dataclass(frozen=True)
class DerivativeAtZero:
    left: float
    right: float

    @property
    def exists(self) -> bool:
        return self.left == self.right

    @property
    def value(self) -> float | None:
        return self.left if self.exists else None


@dataclass(frozen=True)
class Properties:
    name: str
    formula: str
    nonlinearity: Nonlinearity
    monotonicity: Monotonicity
    continuity: Continuity
    derivative_at_zero: DerivativeAtZero
    limits: dict[str, float]  # f(-inf), f(+inf), f'(-inf), f'(+inf)
    moments: NormalMoments
    gap_to_gelu: Gap

    @property
    def negative_outputs(self) -> bool:
        return self.monotonicity.infimum.value < 0

    @property
    def range_text(self) -> str:
        lo, hi = self.monotonicity.infimum, self.monotonicity.supremum
        left = ("[" if lo.attained else "(") + _num(lo.value)
        right = _num(hi.value) + ("]" if hi.attained else ")")
        return f"{left}, {right}"

    def as_dict(self) -> dict[str, Any]:
        gm = self.monotonicity.global_minimum
        return {
            "name": self.name,
            "formula": self.formula,
            "nonlinear": self.nonlinearity.nonlinear,
            "nonlinearity": asdict(self.nonlinearity),
            "monotonic": self.monotonicity.monotonic,
            "direction": self.monotonicity.direction,
            "decreasing_intervals": [[iv.lo, iv.hi] for iv in self.monotonicity.decreasing],
            "flat_intervals": [[iv.lo, iv.hi] for iv in self.monotonicity.flat],
            "global_minimum": None if gm is None else {
                "x": gm.x, "x_hex": gm.x_hex, "value": gm.value, "value_hex": gm.value_hex,
            },
            "extrema": [asdict(e) for e in self.monotonicity.extrema],
            "infimum": asdict(self.monotonicity.infimum),
            "supremum": asdict(self.monotonicity.supremum),
            "range": self.range_text,
            "negative_outputs": self.negative_outputs,
            "function_class": self.continuity.function_class,
            "derivative_class": self.continuity.derivative_class,
            "differentiable_everywhere": self.continuity.differentiable_everywhere,
            "continuity": self.continuity.as_dict(),
            "derivative_at_zero": {
                "left": self.derivative_at_zero.left,
                "right": self.derivative_at_zero.right,
                "value": self.derivative_at_zero.value,
            },
            "limits": self.limits,
            "normal_moments": {
                "E_f": self.moments.mean.value,
                "E_f2": self.moments.second.value,
                "Var_f": self.moments.variance,
                "E_fprime": self.moments.mean_derivative.value,
                "E_fprime2": self.moments.second_derivative_moment.value,
                "P_f_zero": self.moments.prob_zero,
                "quad_abs_error": max(self.moments.mean.abs_error, self.moments.second.abs_error,
                                      self.moments.mean_derivative.abs_error),
            },
            "gap_to_gelu": self.gap_to_gelu.as_dict(),
        }


def _num(v: float) -> str:
    if v == math.inf:
        return "+inf"
    if v == -math.inf:
        return "-inf"
    return f"{v:.6g}"


def nonlinearity(name: str) -> Nonlinearity:
    worst, where = 0.0, (0.0, 0.0)
    for a, b in itertools.combinations(_MIDPOINT_GRID, 2):
        defect = abs(oracle(name, (a + b) / 2) - (oracle(name, a) + oracle(name, b)) / 2)
        if defect > worst:
            worst, where = float(defect), (a, b)
    pts = [float(p) for p in breakpoints(name)]
    samples = [0.0] if not pts else [pts[0] - 1, *[(p + q) / 2 for p, q in zip(pts, pts[1:], strict=False)],
                                     pts[-1] + 1]
    curved = any(sp.simplify(branch_near(expression(name, 2), sp.nsimplify(s))) != 0 for s in samples)
    kinked = any(j.order <= 1 for j in continuity(name).jumps)
    # 1e-30: far above the oracle's 50-digit noise, far below any real curvature on [-3, 3]
    return Nonlinearity(worst > 1e-30, worst, where, curved or kinked)


@cache
def properties(name: str) -> Properties:
    """All computed properties of one activation (cached per process)."""
    spec = get(name)
    n = spec.name
    d0 = one_sided_limits(n, 1, sp.Integer(0))
    limits = {
        "f(-inf)": as_float(limit_at_infinity(n, 0, -1)),
        "f(+inf)": as_float(limit_at_infinity(n, 0, 1)),
        "f'(-inf)": as_float(limit_at_infinity(n, 1, -1)),
        "f'(+inf)": as_float(limit_at_infinity(n, 1, 1)),
    }
    return Properties(
        name=n,
        formula=spec.latex,
        nonlinearity=nonlinearity(n),
        monotonicity=monotonicity(n),
        continuity=continuity(n),
        derivative_at_zero=DerivativeAtZero(as_float(d0.left), as_float(d0.right)),
        limits=limits,
        moments=normal_moments(n),
        gap_to_gelu=gap_to(n),
    )


def all_properties(selected: list[str] | None = None, progress: bool = False) -> list[Properties]:
    """Properties of the selected (default: every registered) activation, with an optional progress bar."""
    chosen = selected or names()
    if not progress:
        return [properties(n) for n in chosen]
    from rich.progress import Progress

    out = []
    with Progress(transient=True) as bar:
        task = bar.add_task("properties", total=len(chosen))
        for n in chosen:
            bar.update(task, description=f"properties: {n}")
            out.append(properties(n))
            bar.advance(task)
    return out


def documented_disagreements(p: Properties) -> dict[str, tuple[Any, Any]]:
    """Literature flags of the spec that the computation contradicts: {flag: (documented, computed)}."""
    computed = {
        "monotonic": p.monotonicity.monotonic,
        "smooth": p.continuity.function_class == "C-infinity",
        "negative_outputs": p.negative_outputs,
    }
    doc = get(p.name).documented
    return {k: (doc[k], v) for k, v in computed.items() if k in doc and doc[k] != v}
