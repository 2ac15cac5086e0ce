"""The float64 step of the rounding decision as one compiled pass (numba).

:func:`decide` computes, for float64 values with their error bounds, what the NumPy steps of
:mod:`gelulab.functions.rounding` (``_bound``, ``round_to_grid``, ``undecided``) compute, with
the same arithmetic, in one loop: the quantum of the target format at |v| from ``frexp``, the
scaled value |v| / quantum (exact: a power-of-two scaling), its rint (ties to even) for the
rounded value and the distance of its fraction from 1/2 for the nearest midpoint. It replaces
about a dozen full-array NumPy temporaries by one pass and is what every float path's decision
runs on; the long double and oracle steps after it are unchanged. The tests check it against
the NumPy steps, including subnormals, the overflow threshold, zeros, infinities and NaN.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .rounding import overflow_threshold

_INF = math.inf
#: 2**k for k in [-1074, 1023], at index k + 1074: powers of two without a libm call
_POW2 = np.ldexp(1.0, np.arange(-1074, 1024)).astype(np.float64)


@njit(cache=True, nogil=True)
def _decide(value, bound, has_bound, ulps, absolute, precision, emin, emax, largest, threshold, rounded, open_):
    qmin = emin - precision + 1
    qmax = emax - precision + 1
    bits = value.view(np.uint64)
    for i in range(value.size):
        v = value[i]
        a = abs(v)
        biased = np.int64((bits[i] >> np.uint64(52)) & np.uint64(0x7FF))
        if biased == 0x7FF:  # inf or NaN: kept (with its sign); never undecided
            rounded[i] = math.copysign(a, v)
            open_[i] = False
            continue
        # frexp's exponent e (|v| in [2**(e-1), 2**e)); subnormals (biased 0) take libm's frexp
        if biased != 0:
            e = biased - 1022
        elif a != 0:
            e = math.frexp(a)[1]
        else:
            e = -1021  # zero: spacing 2**-1074, as np.spacing(0.0); its quantum is set apart below
        # without a bound: ulps * spacing(|v|) (2**(e - 53), and 2**-1074 at the bottom), at least absolute
        b = bound[i] if has_bound else max(ulps * _POW2[max(e - 53, -1074) + 1074], absolute)
        q = qmin if a == 0 else min(max(e - 1, emin) - precision + 1, qmax)
        if -q > 1023 or q > 1023:  # only for formats as wide as float64
            s = math.ldexp(a, -q)
            r = math.ldexp(np.rint(s), q)
            dist = math.ldexp(abs((s - np.floor(s)) - 0.5), q)
        else:
            # scaling by a power of two is ldexp exactly (both round the exact product once)
            s = a * _POW2[-q + 1074]
            scale = _POW2[q + 1074]
            r = np.rint(s) * scale
            dist = abs((s - np.floor(s)) - 0.5) * scale
        if r > largest:
            r = _INF
        if a > largest:  # the only midpoint up here is the overflow threshold (as rounding.midpoint_distance)
            dist = abs(a - threshold) * (1 - 2.0**-52)
        rounded[i] = math.copysign(r, v)
        open_[i] = (dist <= b) if b < _INF else True
    return rounded, open_


def decide(value: np.ndarray, fmt, bound: np.ndarray | None = None, ulps: float = 64.0,
           absolute: float = 2.0**-1000) -> tuple[np.ndarray, np.ndarray]:
    """(rounded to ``fmt`` as float64, undecided) for 1-d float64 ``value``.

    ``bound``: the error bound of each value; when None it is max(ulps * spacing(|v|), absolute).
    A value is undecided when [v - bound, v + bound] holds a midpoint of fmt (or its bound is
    not finite); inf and NaN are kept and never undecided."""
    value = np.ascontiguousarray(value, dtype=np.float64).reshape(-1)
    has_bound = bound is not None
    b = (np.ascontiguousarray(np.broadcast_to(bound, value.shape), dtype=np.float64) if has_bound
         else np.empty(0, dtype=np.float64))
    rounded = np.empty(value.size, dtype=np.float64)
    open_ = np.empty(value.size, dtype=np.bool_)
    return _decide(value, b, has_bound, float(ulps), float(absolute), int(fmt.precision), int(fmt.emin),
                   int(fmt.emax), float(fmt.largest), overflow_threshold(fmt), rounded, open_)
