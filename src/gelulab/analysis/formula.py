"""Reading an activation's exact formula: its pieces, its breakpoints and its limits.

Every registered activation gives its exact form as a sympy expression (``spec.symbolic``).
Piecewise activations (ReLU, ELU, hardswish, ...) are analytic between finitely many
breakpoints, so every question about them reduces to questions about the analytic branch
that is active on one side of a point. ``branch_near`` makes that replacement; sympy's
``limit`` cannot see through ``Piecewise`` itself.

``log1p`` and ``expm1`` (sympy.codegen) are rewritten as ``log(1 + t)`` and ``exp(t) - 1``
here: they are the same functions, and sympy's limit and simplification know only the latter.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sympy as sp

from ..functions import get

X = sp.Symbol("x", real=True)


def plain(expr: sp.Expr) -> sp.Expr:
    """``expr`` with log1p/expm1 written as log(1 + t)/exp(t) - 1 (same function, known to sympy)."""
    from sympy.codegen.cfunctions import expm1, log1p

    expr = expr.replace(lambda a: isinstance(a, log1p), lambda a: sp.log(1 + a.args[0]))
    return expr.replace(lambda a: isinstance(a, expm1), lambda a: sp.exp(a.args[0]) - 1)


@cache
def expression(name: str, order: int = 0) -> sp.Expr:
    """The exact f^(order) of a registered activation, as a sympy expression in ``X``."""
    return sp.diff(plain(get(name).symbolic(X)), X, order)


@cache
def breakpoints(name: str) -> tuple[sp.Expr, ...]:
    """The points where a Piecewise condition of the formula changes truth value, ascending."""
    points: set[sp.Expr] = set()
    for pw in expression(name).atoms(sp.Piecewise):
        for _, cond in pw.args:
            for rel in cond.atoms(sp.Rel):
                for root in sp.solve(sp.Eq(rel.lhs, rel.rhs), X):
                    if root.is_real:
                        points.add(sp.nsimplify(root))
    return tuple(sorted(points, key=lambda p: float(p)))


def _choose_branch(pw: sp.Piecewise, at: sp.Expr) -> sp.Expr:
    for branch, cond in pw.args:
        truth = cond.subs(X, at) if cond is not sp.true else sp.true
        if truth == sp.true:
            return branch
    raise ValueError(f"no branch of {pw} holds at x = {at}")


def branch_near(expr: sp.Expr, at: sp.Expr) -> sp.Expr:
    """``expr`` with every Piecewise replaced by the branch that holds at ``at`` (a sample point)."""
    while True:
        pws = expr.atoms(sp.Piecewise)
        if not pws:
            return expr
        inner = min(pws, key=lambda p: len(p.atoms(sp.Piecewise)))
        expr = expr.xreplace({inner: _choose_branch(inner, at)})


def _gap(name: str) -> sp.Rational:
    """Half the smallest distance between breakpoints (or 1): a side point never crosses another."""
    pts = breakpoints(name)
    gaps = [b - a for a, b in zip(pts[:-1], pts[1:], strict=False)]
    return sp.Rational(1, 2) * min(gaps) if gaps else sp.Integer(1)


def side_branch(name: str, order: int, point: sp.Expr, side: str) -> sp.Expr:
    """The analytic branch of f^(order) active just left (side='-') or right ('+') of ``point``.

    ``point`` may be +-oo: the branch beyond every breakpoint is taken.
    """
    pts = breakpoints(name)
    if point in (sp.oo, -sp.oo):
        if not pts:
            sample = sp.Integer(1 if point == sp.oo else -1)
        else:
            sample = max(pts, key=float) + 1 if point == sp.oo else min(pts, key=float) - 1
    else:
        sample = point + (_gap(name) if side == "+" else -_gap(name))
    return branch_near(expression(name, order), sp.nsimplify(sample))


@dataclass(frozen=True)
class OneSided:
    left: sp.Expr
    right: sp.Expr

    @property
    def equal(self) -> bool:
        return bool(sp.simplify(self.left - self.right) == 0)


def one_sided_limits(name: str, order: int, point: sp.Expr) -> OneSided:
    """lim f^(order) from the left and from the right of a finite point, exactly."""
    left = sp.limit(side_branch(name, order, point, "-"), X, point, "-")
    right = sp.limit(side_branch(name, order, point, "+"), X, point, "+")
    return OneSided(sp.nsimplify(left) if left.is_Rational else left, right)


@cache
def limit_at_infinity(name: str, order: int, direction: int) -> sp.Expr:
    """lim_{x -> direction*oo} f^(order)(x), exactly (direction is -1 or +1)."""
    point = sp.oo if direction > 0 else -sp.oo
    return sp.limit(side_branch(name, order, point, "-" if direction > 0 else "+"), X, point)


def as_float(v: sp.Expr) -> float:
    """A sympy limit or value as a float (oo -> inf)."""
    if v == sp.oo:
        return float("inf")
    if v == -sp.oo:
        return float("-inf")
    return float(sp.N(v, 30))


def branches_identical(name: str, point: sp.Expr) -> bool:
    """Whether the analytic branches on both sides of ``point`` are one and the same function.

    Then f is that single analytic function near the point (e.g. softplus written as
    x + log(1 + e^-x) for x > 0 and log(1 + e^x) otherwise), and every derivative matches.
    Decided symbolically when sympy can, else by the difference vanishing to 40 digits at
    several points on both sides.
    """
    left = side_branch(name, 0, point, "-")
    right = side_branch(name, 0, point, "+")
    diff = sp.simplify(sp.expand_log(left - right, force=True))
    if diff == 0:
        return True
    import mpmath

    f = sp.lambdify(X, left - right, modules="mpmath")
    with mpmath.workdps(60):
        samples = [mpmath.mpf(point) + mpmath.mpf(t) / 7 for t in (-5, -3, -1, 1, 2, 4)]
        return all(abs(f(s)) < mpmath.mpf(10) ** -40 for s in samples)
