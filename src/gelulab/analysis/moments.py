"""Moments of an activation under a standard normal input, by quadrature.

For Z ~ N(0, 1) a layer's output scale is set by E f(Z) and E f(Z)^2 (the second moment is
what He/Kaiming-style initialisation keeps at 1), and the backward signal by E f'(Z) and
E f'(Z)^2: with f' near zero for half the inputs (ReLU) half of the gradient is cut. The
integrals are taken with ``scipy.integrate.quad`` of g(x) phi(x) over the reals, split at the
breakpoints of the formula (where a kernel has a kink quad would converge slowly), using the
float64 kernels; quad's error estimate is kept with each number.

P(f(Z) = 0) is the normal measure of the pieces on which the formula is identically zero
(found symbolically); isolated zeros have measure zero.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import cache

import numpy as np
import sympy as sp
from scipy import integrate, special

from ..functions import get
from .formula import branch_near, breakpoints, expression


@dataclass(frozen=True)
class Moment:
    value: float
    abs_error: float  # quad's estimate


@dataclass(frozen=True)
class NormalMoments:
    """E f(Z), E f(Z)^2, Var f(Z), E f'(Z), E f'(Z)^2 and P(f(Z) = 0) for Z ~ N(0, 1)."""

    name: str
    mean: Moment
    second: Moment
    variance: float
    mean_derivative: Moment
    second_derivative_moment: Moment  # E f'(Z)^2 (gradient scale), not E f''(Z)
    prob_zero: float
    zero_pieces: tuple[tuple[float, float], ...]

    def as_dict(self) -> dict:
        return asdict(self)


def _phi(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def gaussian_expectation(g, cuts: tuple[float, ...]) -> Moment:
    """E g(Z) = integral of g(x) phi(x) over the reals, split at ``cuts``."""
    edges = [-math.inf, *sorted(cuts), math.inf]
    total, err = 0.0, 0.0
    for a, b in zip(edges[:-1], edges[1:], strict=False):
        v, e = integrate.quad(lambda t: g(t) * _phi(t), a, b, epsabs=1e-14, epsrel=1e-12, limit=200)
        total += v
        err += e
    return Moment(total, err)


def _normal_mass(a: float, b: float) -> float:
    return float(special.ndtr(b) - special.ndtr(a))


def zero_pieces(name: str) -> tuple[tuple[float, float], ...]:
    """The intervals between breakpoints on which the formula is identically 0."""
    pts = [float(p) for p in breakpoints(name)]
    edges = [-math.inf, *pts, math.inf]
    out = []
    for a, b in zip(edges[:-1], edges[1:], strict=False):
        sample = (a + b) / 2 if math.isfinite(a) and math.isfinite(b) else (b - 1 if math.isfinite(b) else a + 1)
        if not math.isfinite(sample):
            sample = 0.0
        branch = branch_near(expression(name), sp.nsimplify(sample))
        if sp.simplify(branch) == 0:
            out.append((a, b))
    return tuple(out)


@cache
def normal_moments(name: str) -> NormalMoments:
    spec = get(name)
    cuts = tuple(float(p) for p in breakpoints(spec.name))

    def f(t: float) -> float:
        return float(spec.evaluate(np.float64(t), 0))

    def fp(t: float) -> float:
        return float(spec.evaluate(np.float64(t), 1))

    mean = gaussian_expectation(f, cuts)
    second = gaussian_expectation(lambda t: f(t) ** 2, cuts)
    mean_d = gaussian_expectation(fp, cuts)
    second_d = gaussian_expectation(lambda t: fp(t) ** 2, cuts)
    pieces = zero_pieces(spec.name)
    return NormalMoments(
        name=spec.name,
        mean=mean,
        second=second,
        variance=second.value - mean.value**2,
        mean_derivative=mean_d,
        second_derivative_moment=second_d,
        prob_zero=sum(_normal_mass(a, b) for a, b in pieces),
        zero_pieces=pieces,
    )
