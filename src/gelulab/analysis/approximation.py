"""How far an activation is from exact GELU: max |f(x) - gelu(x)| and where it occurs.

Meant for the tanh and sigmoid approximations (gelu_tanh, quick_gelu), and computed by the
same code for every activation. The difference is scanned on a grid with the float64 kernels
(each to about an ulp, far below the differences measured), the grid maximum is then placed
exactly at the root of (f - gelu)' with ``mpmath.findroot`` on the oracle, and the value at
that point is the oracle's. A maximum sitting at the window's edge means the difference still
grows there (e.g. ReLU6 vs GELU), and is flagged.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cache

import mpmath
import numpy as np

from ..functions import get
from ..reference import evaluate as oracle
from ..reference import round_to_format

WINDOW = (-10.0, 10.0)
STEP = 1.0 / 256
TARGET = "gelu"


@dataclass(frozen=True)
class Gap:
    """max over the window of |f - target| (and of |f' - target'|), with where it occurs."""

    name: str
    target: str
    window: tuple[float, float]
    max_abs: float
    at: float
    signed: float  # f - target at the maximum
    at_window_edge: bool
    symmetric: bool  # the same |difference| at -at (an even difference: both forms share f(x) - f(-x) = x)
    max_abs_derivative: float
    derivative_at: float

    def as_dict(self) -> dict:
        return asdict(self)


def _refine(name: str, target: str, x_grid: float, step: float, order: int) -> tuple[float, float]:
    """Place a grid maximum of |f^(order) - target^(order)| at the root of its derivative."""

    def d(t: mpmath.mpf) -> mpmath.mpf:
        return oracle(name, t, order + 1, dps=40) - oracle(target, t, order + 1, dps=40)

    a, b = mpmath.mpf(x_grid - step), mpmath.mpf(x_grid + step)
    try:
        if d(a) * d(b) < 0:
            with mpmath.workdps(40):
                root = mpmath.findroot(d, (a, b), solver="anderson")
            if a <= root <= b:
                x = round_to_format(root, "float64")
                return x, round_to_format(oracle(name, root, order, 40) - oracle(target, root, order, 40), "float64")
    except (ZeroDivisionError, ValueError):  # a kink: the grid point stands
        pass
    v = oracle(name, x_grid, order, 40) - oracle(target, x_grid, order, 40)
    return x_grid, round_to_format(v, "float64")


def _difference(name: str, target: str, x: float) -> float:
    return float(oracle(name, x, 0, 30) - oracle(target, x, 0, 30))


@cache
def gap_to(name: str, target: str = TARGET) -> Gap:
    spec, ref = get(name), get(target)
    x = np.arange(WINDOW[0], WINDOW[1] + STEP / 2, STEP)
    diffs = []
    for order in (0, 1):
        d = np.abs(spec.evaluate(x, order) - ref.evaluate(x, order))
        i = int(np.argmax(d))
        diffs.append((i, float(d[i])))
    (i0, m0), (i1, m1) = diffs
    edge = m0 > 0 and i0 in (0, len(x) - 1)
    if m0 == 0:
        at, signed = 0.0, 0.0
    elif edge:
        at, signed = float(x[i0]), float(spec.evaluate(x[i0], 0) - ref.evaluate(x[i0], 0))
    else:
        at, signed = _refine(spec.name, ref.name, float(x[i0]), STEP, 0)
    symmetric = bool(m0 > 0 and not edge and abs(abs(_difference(spec.name, ref.name, -at)) - abs(signed))
                                                <= 1e-12 * abs(signed))
    d_at = float(x[i1])
    if m1 > 0 and i1 not in (0, len(x) - 1):
        d_at, d_signed = _refine(spec.name, ref.name, d_at, STEP, 1)
        m1 = max(m1, abs(d_signed))
    return Gap(
        name=spec.name,
        target=ref.name,
        window=WINDOW,
        max_abs=abs(signed) if m0 else 0.0,
        at=at,
        signed=signed,
        at_window_edge=edge,
        symmetric=symmetric,
        max_abs_derivative=m1,
        derivative_at=d_at,
    )
