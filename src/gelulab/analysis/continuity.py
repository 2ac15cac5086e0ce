"""Continuity class of an activation and of its derivative, from its formula, checked numerically.

Symbolic part: each branch of the formula is an elementary analytic function (exp, erfc,
log, tanh, polynomials; no real singularity), so f can lose smoothness only at the
breakpoints of its Piecewise conditions. At each breakpoint c the one-sided limits of
f, f', f'', ... are taken exactly (sympy); the first order k whose limits differ makes f of
class C^(k-1) there (k = 0: f itself jumps). When the two branches are one and the same
analytic function (softplus's two forms) no order ever differs. No breakpoint means C-infinity.

Numeric part: on a grid of step h (no grid point on a breakpoint) the largest change of
f^(k) between neighbours is compared with the same on a grid of step h/8. A continuous
f^(k) changes by O(h), so the change shrinks about 8-fold; a jump of size J stays near J.
The float64 kernels go to the second derivative, so the numbers confirm up to C2.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import cache

import numpy as np
import sympy as sp

from ..functions import get
from .formula import as_float, branches_identical, breakpoints, one_sided_limits

MAX_ORDER = 4  # orders of one-sided limits compared at a breakpoint
INFINITY = 10**9  # class number standing for C-infinity
_NUMERIC_WINDOW = (-8.0, 8.0)
_NUMERIC_STEP = 1.0 / 256
_REFINE = 8


def class_name(k: int) -> str:
    """C-class as text: -1 -> 'discontinuous', k -> 'Ck', INFINITY -> 'C-infinity'."""
    if k >= INFINITY:
        return "C-infinity"
    if k < 0:
        return "discontinuous"
    return f"C{k}"


@dataclass(frozen=True)
class Jump:
    """f^(order) has different one-sided limits at ``at``."""

    at: float
    order: int
    left: float
    right: float


@dataclass(frozen=True)
class NumericCheck:
    """Largest neighbour change of f^(k) at grid step h and h/8, per order k = 0, 1, 2."""

    step: float
    coarse: tuple[float, ...]
    fine: tuple[float, ...]
    jump_orders: tuple[int, ...]  # orders whose change did not shrink: a jump
    jump_locations: tuple[float, ...]

    @property
    def smoothness(self) -> int:
        """C-class seen numerically; 2 means 'at least C2' (no kernel beyond f'')."""
        return min(self.jump_orders) - 1 if self.jump_orders else 2


@dataclass(frozen=True)
class Continuity:
    name: str
    smoothness: int  # C-class of f: -1 discontinuous, k for Ck, INFINITY for C-infinity
    breakpoints: tuple[float, ...]
    jumps: tuple[Jump, ...]
    numeric: NumericCheck
    differentiable_everywhere: bool
    agrees: bool = field(default=True)

    @property
    def function_class(self) -> str:
        return class_name(self.smoothness)

    @property
    def derivative_class(self) -> str:
        return class_name(self.smoothness - 1 if self.smoothness < INFINITY else INFINITY)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["function_class"] = self.function_class
        d["derivative_class"] = self.derivative_class
        return d


def _first_jump(name: str, point: sp.Expr) -> Jump | None:
    if branches_identical(name, point):
        return None
    for order in range(MAX_ORDER + 1):
        lim = one_sided_limits(name, order, point)
        if not lim.equal:
            return Jump(float(point), order, as_float(lim.left), as_float(lim.right))
    return None


def numeric_check(name: str) -> NumericCheck:
    """Neighbour changes of f, f', f'' (float64 kernels) at two grid steps; see the module doc."""
    spec = get(name)
    lo, hi = _NUMERIC_WINDOW
    coarse, fine, jumps, where = [], [], [], []
    # an irrational offset keeps grid points off breakpoints (which are rational here)
    offset = _NUMERIC_STEP * (np.sqrt(2) - 1) / 3
    for order in range(3):
        changes = []
        for h in (_NUMERIC_STEP, _NUMERIC_STEP / _REFINE):
            x = np.arange(lo + offset, hi, h)
            y = spec.evaluate(x, order)
            d = np.abs(np.diff(y))
            changes.append((float(d.max()), float(x[int(np.argmax(d))] + h / 2)))
        (c, _), (f, at) = changes
        coarse.append(c)
        fine.append(f)
        if f > 0.5 * c and f > 1e-12:
            jumps.append(order)
            where.append(at)
    return NumericCheck(_NUMERIC_STEP, tuple(coarse), tuple(fine), tuple(jumps), tuple(where))


@cache
def continuity(name: str) -> Continuity:
    """Continuity class of f (and so of f') from the formula, with the numeric cross-check."""
    name = get(name).name
    pts = breakpoints(name)
    jumps = tuple(j for j in (_first_jump(name, p) for p in pts) if j is not None)
    smooth = min((j.order - 1 for j in jumps), default=INFINITY)
    if smooth == INFINITY and jumps == () and pts:
        # every breakpoint joins identical branches: one analytic function
        smooth = INFINITY
    num = numeric_check(name)
    agrees = num.smoothness == smooth or (smooth >= 2 and num.smoothness >= 2)
    return Continuity(
        name=name,
        smoothness=smooth,
        breakpoints=tuple(float(p) for p in pts),
        jumps=jumps,
        numeric=num,
        differentiable_everywhere=smooth >= 1,
        agrees=agrees,
    )
