r"""The float32 kernels' exact fallback for grad * f'(x) near a root of f', compiled.

Near a root of f' (GELU' at -0.7518, GELU-tanh' at -0.7525, SiLU' at -1.2785) the kernels' error
bound, relative to the sum of the two terms that cancel there, is widest, and most of the
values they leave undecided lie there: about 80 of the 400,000 float32 inputs within 0.012 of
a root, for a random grad. The general exact path (:mod:`.reference_path`) costs about 50 us for a
single such value, more than the kernel itself takes on 2^18 elements. This module decides them
in one compiled pass from the same local expansion the reference path uses
(:mod:`gelulab.functions.root_patches`: f'(x) = d Q(d), d = x - x0), evaluated in double-double
instead of long double, and the same rounding test: the product g * y with y the expansion's float64
value, undecided when the error interval holds a float32 midpoint. The interval's bound is the
reference path's (``FLOAT64_ERROR_ULPS`` float64 ulps of y, times |g|, plus the product's
rounding) widened by ``EXTRA_ULPS``, which covers the difference between the double-double and
the long double evaluation: ``python -m gelulab.kernels.cpu.near_root`` checks that difference
on every float32 input of every window. What stays undecided goes to the reference path.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time

import numpy as np
from numba import njit

from ...functions import get
from ...functions.root_patches import root_patches
from ...functions.rounding import FLOAT64_ERROR_ULPS, FORMATS, error_bound
from ...functions.rounding_kernel import decide
from . import reference_path
from .simd import OPTS

#: Room for the double-double evaluation against the long double one, in float64 ulps of y
#: (the check command measures at most 1).
EXTRA_ULPS = 2.0
#: Names whose first derivative has root patches and whose kernels take this path.
NAMES = ("gelu", "gelu_tanh", "silu")
_SPLITTER = 134217729.0  # 2**27 + 1

# The error-free transformations of gelulab.functions.double_double, for numba's scalars (those are
# NumPy array code calling each other, which numba cannot compile).


@njit(inline="always", **OPTS)
def _two_sum(a, b):
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


@njit(inline="always", **OPTS)
def _two_prod(a, b):
    p = a * b
    c = _SPLITTER * a
    ah = c - (c - a)
    al = a - ah
    c = _SPLITTER * b
    bh = c - (c - b)
    bl = b - bh
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


@njit(inline="always", **OPTS)
def _mul(ah, al, bh, bl):
    p, e = _two_prod(ah, bh)
    e = e + (ah * bl + al * bh)
    s = p + e
    return s, e - (s - p)


@njit(inline="always", **OPTS)
def _add(ah, al, bh, bl):
    s, e = _two_sum(ah, bh)
    e = e + (al + bl)
    t = s + e
    return t, e - (t - s)


@njit(**OPTS)
def _values(x, roots_hi, roots_lo, widths, coef_hi, coef_lo, degrees, y, inside):
    """y[i] = f'(x[i]) in float64 from the last patch that holds x[i] (as apply_root_patches),
    inside[i] whether one does."""
    for i in range(x.size):
        inside[i] = False
        for k in range(roots_hi.size):
            if abs(x[i] - roots_hi[k]) <= widths[k]:
                dh, dl = _two_sum(x[i] - roots_hi[k], -roots_lo[k])  # x - root_hi is exact
                qh, ql = coef_hi[k, 0], coef_lo[k, 0]
                for j in range(1, degrees[k] + 1):
                    qh, ql = _mul(qh, ql, dh, dl)
                    qh, ql = _add(qh, ql, coef_hi[k, j], coef_lo[k, j])
                vh, vl = _mul(dh, dl, qh, ql)
                y[i] = vh + vl
                inside[i] = True


@functools.cache
def _tables(name: str):
    patches = root_patches(name, 1)
    n = max(len(p.coefficients) for p in patches)
    hi = np.zeros((len(patches), n))
    lo = np.zeros((len(patches), n))
    for k, p in enumerate(patches):
        hi[k, : len(p.coefficients)] = p.coefficients
        lo[k, : len(p.coefficients)] = p.coefficients_lo
    return (np.array([p.root_hi for p in patches]), np.array([p.root_lo for p in patches]),
            np.array([p.half_width for p in patches]), hi, lo,
            np.array([len(p.coefficients) - 1 for p in patches], dtype=np.int64))


def float64_values(name: str, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(f'(x) from the root patches in double-double, whether x lies in a patch) for float64 x."""
    x = np.ascontiguousarray(x, dtype=np.float64).reshape(-1)
    y = np.empty(x.size)
    inside = np.empty(x.size, dtype=np.bool_)
    _values(x, *_tables(name), y, inside)
    return y, inside


def derivative_times(name: str, grad: np.ndarray, x: np.ndarray) -> np.ndarray:
    """grad * f'(x) for 1-d float32 arrays, correctly rounded once: near a root by the compiled
    expansion where its rounding is decided, the rest by the reference path."""
    out = np.empty(x.size, dtype=np.float32)
    y, inside = float64_values(name, x)
    g = grad.astype(np.float64)
    with np.errstate(all="ignore"):
        value = g * y
    rounded, undecided = decide(value, FORMATS["float32"], error_bound(value, FLOAT64_ERROR_ULPS + EXTRA_ULPS, g, y))
    done = inside & ~undecided & np.isfinite(value)
    out[done] = rounded[done]
    rest = ~done
    if rest.any():
        out[rest] = reference_path.derivative_times(name, grad[rest], x[rest], 1)
    return out


def check(name: str, chunk: int = 1 << 22, stride: int = 1) -> tuple[int, float]:
    """(inputs checked, the largest difference in float64 ulps) between the double-double and the
    long double evaluation of the patches, on every float32 input of every window of f' (every
    ``stride``-th one: the tests' quick look; the command checks them all)."""
    spec = get(name)
    checked, worst = 0, 0.0
    for p in root_patches(name, 1):
        lo = np.float32(p.root_hi - p.half_width).view(np.int32)
        hi = np.float32(p.root_hi + p.half_width).view(np.int32)
        start, stop = min(lo, hi), max(lo, hi) + 1  # negative floats: bit patterns run the other way
        for s in range(int(start), int(stop), chunk * stride):
            bits = np.arange(s, min(s + chunk * stride, int(stop)), stride, dtype=np.int64).astype(np.int32)
            x64 = bits.view(np.float32).astype(np.float64)
            x64 = x64[np.abs(x64 - p.root_hi) <= p.half_width]
            y, inside = float64_values(name, x64)
            want = spec.evaluate_float64(x64, 1)  # the kernel, then the patches over it (long double)
            assert inside.all()
            with np.errstate(all="ignore"):
                diff = np.abs(y - want) / np.spacing(np.abs(want))
            worst = max(worst, float(np.max(diff, initial=0.0)))
            checked += x64.size
    return checked, worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gelulab.kernels.cpu.near_root",
        description="Check the compiled root-patch fallback against the long double one on every float32 input "
        f"of every root window of f' ({', '.join(NAMES)}); it must stay within {EXTRA_ULPS:g} float64 ulps.")
    parser.add_argument("--function", action="append", choices=NAMES, help="only this one (repeatable)")
    args = parser.parse_args(argv)
    failed = False
    for name in args.function or NAMES:
        start = time.perf_counter()
        n, worst = check(name)
        ok = worst <= EXTRA_ULPS
        failed |= not ok
        print(f"{name}': {n:,} float32 inputs in its root windows, largest difference {worst:.2f} float64 ulps "
              f"({'within' if ok else 'OUTSIDE'} {EXTRA_ULPS:g}), {time.perf_counter() - start:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
