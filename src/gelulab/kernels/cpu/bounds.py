"""The float32 kernels' error bounds, checked against long double on given inputs.

A kernel rounds from float64 only when its error interval holds no float32 midpoint, so it is
exact wherever that interval holds the true value. The exhaustive campaign grades the kernels'
outputs on every float32 input (f, and grad * f' with grad = 1); this check covers every other
factor too (grad * f'(x) for any grad, f(a) * b): for each input it asks whether the true value
(long double, within one float64 ulp) lies inside

* the core form's interval (:func:`.fast.core_ends`, |x| <= X_CORE), and
* the erfc form's value and bound (:func:`.elements.float64_values`, everywhere),

with a margin of :data:`MARGIN_ULPS` float64 ulps for the long double value's own error and for
the roundings that a factor other than 1 changes (the product and the interval's two ends, each
one float64 rounding). The campaign runs it on the long double values of its cross-check, so it
costs one pass of the kernels' float64 forms per chunk; at the inputs the cross-check leaves out
(the local expansions at a derivative's roots, the same in both precisions) it takes the
reference's float64 value, with that value's own bound added to the margin.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: float64 ulps of the true value left between it and each end of an interval: 1 for the long
#: double value's error (the cross-check's premise), 3 for a factor's roundings, 4 to spare.
MARGIN_ULPS = 8.0
#: relative error allowed on top of a bound (see check): far below any float32 rounding's reach
SLACK = 2.0**-90


@dataclass
class BoundCheck:
    """What :func:`check` found over the inputs given so far (merged over chunks)."""

    checked: int = 0
    core_checked: int = 0
    violations: int = 0
    #: the largest |computed - true| as a fraction of the bound the kernel uses (< 1 when it holds)
    worst_core_fraction: float = 0.0
    worst_general_fraction: float = 0.0
    examples: list[str] = field(default_factory=list)

    def merge(self, o: BoundCheck) -> None:
        self.checked += o.checked
        self.core_checked += o.core_checked
        self.violations += o.violations
        self.worst_core_fraction = max(self.worst_core_fraction, o.worst_core_fraction)
        self.worst_general_fraction = max(self.worst_general_fraction, o.worst_general_fraction)
        self.examples = (self.examples + o.examples)[:16]

    def to_dict(self) -> dict:
        return {"checked": self.checked, "core_checked": self.core_checked, "violations": self.violations,
                "worst_core_fraction": self.worst_core_fraction,
                "worst_general_fraction": self.worst_general_fraction, "examples": self.examples}

    @classmethod
    def from_dict(cls, d: dict) -> BoundCheck:
        return cls(**d)


def check(name: str, x: np.ndarray, order: int, true: np.ndarray,
          margin_ulps: float | np.ndarray = MARGIN_ULPS, margin_absolute: float = 0.0) -> BoundCheck:
    """Check both forms' bounds at float32 inputs x against ``true`` (long double values of
    f^(order)(x), finite): each end of an interval must lie ``margin_ulps`` float64 ulps (per input,
    or one for all) plus ``margin_absolute`` beyond the true value."""
    from .elements import X_CORE, float64_values
    from .fast import core_ends

    x = np.ascontiguousarray(x, dtype=np.float32).reshape(-1)
    true = np.asarray(true, dtype=np.longdouble).reshape(-1)
    if x.size != true.size:
        raise ValueError(f"{x.size} inputs and {true.size} values")
    result = BoundCheck(checked=int(x.size))
    if not x.size:
        return result
    with np.errstate(all="ignore"):
        ulp = np.spacing(np.abs(true.astype(np.float64))).astype(np.longdouble)
        margin = np.asarray(margin_ulps, dtype=np.longdouble) * ulp + np.longdouble(margin_absolute)
        slack = SLACK * np.abs(true)
        y, bound = float64_values(name, x, order)
        err = np.abs(y.astype(np.longdouble) - true)
        bad = ~_holds(err, bound.astype(np.longdouble), margin, slack)
        # the fraction of the bound used, where the bound is a relative one (not where it covers
        # everything between a clamp's value and 0, or states the value exact)
        proper = (bound > 0) & (bound < np.abs(y) / 2)
        result.worst_general_fraction = _worst(err, bound, proper)
        core = np.flatnonzero(np.abs(x) <= X_CORE)
        result.core_checked = int(core.size)
        if core.size:
            low, high = core_ends(name, x[core], order)
            lo, hi = low.astype(np.longdouble), high.astype(np.longdouble)
            mid, half = (lo + hi) / 2, (hi - lo) / 2
            e = np.abs(true[core] - mid)
            bad[core] |= ~((lo <= true[core]) & (true[core] <= hi) & _holds(e, half, margin[core], slack[core]))
            result.worst_core_fraction = _worst(e, half, half > 0)
    result.violations = int(bad.sum())
    result.examples = [float(v).hex() for v in x[bad][:8]]
    return result


def _holds(err: np.ndarray, bound: np.ndarray, margin: np.ndarray, slack: np.ndarray) -> np.ndarray:
    """Whether each error stays within its bound, the margin inside; a bound of 0 (a value stated
    exact) holds when the error is within the slack."""
    return np.where(bound > 0, err + margin <= bound + slack, err <= slack)


def _worst(err: np.ndarray, bound: np.ndarray, where: np.ndarray) -> float:
    if not where.any():
        return 0.0
    return float((err[where] / bound[where]).astype(np.float64).max())
