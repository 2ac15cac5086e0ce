"""Where an activation increases, decreases or is flat; its extrema and its range.

The sign of f' is read on a fine grid from the float64 derivative kernels (accurate to about
an ulp even at their roots), and in the tails from the mpmath oracle at |x| up to 2**6 times
the grid's edge. Each change of sign is then placed exactly: at a breakpoint of the formula
when one lies between the two grid points, else at the root of f' found with
``mpmath.findroot`` on the oracle (40 digits) and rounded once to float64. So a minimum such
as GELU's is located to the nearest double, and its value is the oracle's, correctly rounded.

The infimum and supremum are the least and greatest of: the values at the local extrema,
the values on flat pieces, and the limits at +-inf (sympy); a bound reached only as a limit
is reported as not attained.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import cache

import mpmath
import numpy as np

from ..functions import get
from ..reference import evaluate as oracle
from ..reference import round_to_format
from .formula import as_float, breakpoints, limit_at_infinity

GRID_EDGE = 20.0
GRID_STEP = 1.0 / 128
_TAIL_FACTORS = (2, 4, 8, 16, 32, 64)
_ROOT_DPS = 40


@dataclass(frozen=True)
class Interval:
    lo: float  # -inf allowed
    hi: float  # +inf allowed

    def text(self, digits: int = 6) -> str:
        def fmt(v: float) -> str:
            return "-inf" if v == -math.inf else "+inf" if v == math.inf else f"{v:.{digits}g}"

        return f"({fmt(self.lo)}, {fmt(self.hi)})"


@dataclass(frozen=True)
class Extremum:
    """A local extremum at x (float64 nearest to the exact point) with its value, both rounded once."""

    kind: str  # "minimum" or "maximum"
    x: float
    value: float
    derivative_root: bool  # True: f'(x) = 0 there; False: at a kink (breakpoint)

    @property
    def x_hex(self) -> str:
        return self.x.hex()

    @property
    def value_hex(self) -> str:
        return self.value.hex()


@dataclass(frozen=True)
class Bound:
    """The infimum or supremum of f over the reals."""

    value: float
    attained: bool
    at: str  # where: "x = ...", "on (a, b)" or "as x -> -inf"


@dataclass(frozen=True)
class Monotonicity:
    name: str
    monotonic: bool
    direction: str  # "non-decreasing", "non-increasing" or "neither"
    strictly: bool  # no flat piece
    increasing: tuple[Interval, ...]
    decreasing: tuple[Interval, ...]
    flat: tuple[Interval, ...]
    extrema: tuple[Extremum, ...]
    infimum: Bound
    supremum: Bound

    @property
    def global_minimum(self) -> Extremum | None:
        """The lowest local minimum if it is the infimum (attained at an isolated point)."""
        mins = [e for e in self.extrema if e.kind == "minimum"]
        if not mins or not self.infimum.attained:
            return None
        best = min(mins, key=lambda e: e.value)
        return best if best.value == self.infimum.value else None

    def as_dict(self) -> dict:
        d = asdict(self)
        gm = self.global_minimum
        d["global_minimum"] = None if gm is None else {**asdict(gm), "x_hex": gm.x_hex, "value_hex": gm.value_hex}
        return d


def _sign(v: float | mpmath.mpf) -> int:
    return 0 if v == 0 else (1 if v > 0 else -1)


def _derivative_root(name: str, a: float, b: float) -> mpmath.mpf:
    def fprime(t: mpmath.mpf) -> mpmath.mpf:
        return oracle(name, t, 1, dps=_ROOT_DPS)

    with mpmath.workdps(_ROOT_DPS):
        root = mpmath.findroot(fprime, (mpmath.mpf(a), mpmath.mpf(b)), solver="anderson")
    if not a <= root <= b:  # anderson keeps the bracket; bisect if it ever does not
        lo, hi = mpmath.mpf(a), mpmath.mpf(b)
        slo = _sign(fprime(lo))
        with mpmath.workdps(_ROOT_DPS):
            for _ in range(140):
                mid = (lo + hi) / 2
                if _sign(fprime(mid)) == slo:
                    lo = mid
                else:
                    hi = mid
        root = (lo + hi) / 2
    return root


def _tail_sign(name: str, edge_sign: int, x_edge: float) -> int:
    """The sign of f' beyond the grid, checked with the oracle far out; 2 if it changes."""
    signs = {_sign(oracle(name, x_edge * k, 1)) for k in _TAIL_FACTORS}
    return edge_sign if signs == {edge_sign} else 2


def _transition_point(name: str, a: float, b: float, s_a: int, s_b: int) -> tuple[mpmath.mpf, bool]:
    """Where f' changes sign between grid points a < b: a breakpoint, or a root of f'."""
    for p in breakpoints(name):
        if a < float(p) < b:
            return mpmath.mpf(float(p)), False
    if s_a != 0 and s_b != 0:
        return _derivative_root(name, a, b), True
    # f' turns zero without a breakpoint in between: find where it stops being zero by bisection
    lo, hi = mpmath.mpf(a), mpmath.mpf(b)
    s_lo = s_a
    for _ in range(120):
        mid = (lo + hi) / 2
        if _sign(oracle(name, mid, 1)) == s_lo:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2, False


def _value(name: str, x: mpmath.mpf) -> float:
    return round_to_format(oracle(name, x, 0, dps=_ROOT_DPS), "float64")


@cache
def monotonicity(name: str) -> Monotonicity:
    """Increasing/decreasing/flat intervals, local extrema, infimum and supremum of f."""
    spec = get(name)
    name = spec.name
    offset = GRID_STEP * (math.sqrt(2) - 1) / 3  # no grid point on a (rational) breakpoint
    x = np.arange(-GRID_EDGE + offset, GRID_EDGE, GRID_STEP)
    d = spec.evaluate(x, 1)
    signs = np.sign(d).astype(int)

    left_tail = _tail_sign(name, int(signs[0]), float(x[0]))
    right_tail = _tail_sign(name, int(signs[-1]), float(x[-1]))
    if 2 in (left_tail, right_tail):
        raise ArithmeticError(f"{name}: f' changes sign beyond |x| = {GRID_EDGE}; widen the grid")

    # runs of one sign, with exact ends
    ends: list[tuple[mpmath.mpf, bool]] = []
    run_signs = [int(signs[0])]
    for i in np.flatnonzero(signs[1:] != signs[:-1]):
        ends.append(_transition_point(name, float(x[i]), float(x[i + 1]), int(signs[i]), int(signs[i + 1])))
        run_signs.append(int(signs[i + 1]))
    bounds = [-math.inf] + [round_to_format(e, "float64") for e, _ in ends] + [math.inf]
    runs = [(Interval(bounds[k], bounds[k + 1]), s) for k, s in enumerate(run_signs)]

    extrema = []
    for k, (point, is_root) in enumerate(ends):
        before, after = run_signs[k], run_signs[k + 1]
        if before < 0 <= after:
            kind = "minimum"
        elif before > 0 >= after:
            kind = "maximum"
        elif before == 0 and after < 0:
            kind = "maximum"  # a flat piece ends and f starts to fall: the flat piece is a local max
        else:
            continue
        extrema.append(Extremum(kind, round_to_format(point, "float64"), _value(name, point), is_root))

    flat = tuple(iv for iv, s in runs if s == 0)
    flat_values = []
    for iv in flat:
        inside = iv.lo + 1 if iv.hi == math.inf else iv.hi - 1 if iv.lo == -math.inf else (iv.lo + iv.hi) / 2
        flat_values.append((iv, _value(name, mpmath.mpf(inside))))

    lims = {side: as_float(limit_at_infinity(name, 0, side)) for side in (-1, 1)}
    infimum = _bound(min, extrema, flat_values, lims, "minimum")
    supremum = _bound(max, extrema, flat_values, lims, "maximum")

    has_up = any(s > 0 for _, s in runs)
    has_down = any(s < 0 for _, s in runs)
    direction = "neither" if has_up and has_down else "non-increasing" if has_down else "non-decreasing"
    return Monotonicity(
        name=name,
        monotonic=not (has_up and has_down),
        direction=direction,
        strictly=not flat,
        increasing=tuple(iv for iv, s in runs if s > 0),
        decreasing=tuple(iv for iv, s in runs if s < 0),
        flat=flat,
        extrema=tuple(extrema),
        infimum=infimum,
        supremum=supremum,
    )


def _bound(pick, extrema, flat_values, lims, kind: str) -> Bound:
    candidates: list[tuple[float, bool, str]] = []
    for e in extrema:
        if e.kind == kind:
            candidates.append((e.value, True, f"x = {e.x!r}"))
    for iv, v in flat_values:
        candidates.append((v, True, f"on {iv.text()}"))
    for side, v in lims.items():
        candidates.append((v, False, f"as x -> {'-' if side < 0 else '+'}inf"))
    best = pick(c[0] for c in candidates)
    # attained beats a limit of the same value (ReLU: 0 on (-inf, 0] and as x -> -inf)
    chosen = sorted((c for c in candidates if c[0] == best), key=lambda c: not c[1])[0]
    return Bound(best, chosen[1], chosen[2])
