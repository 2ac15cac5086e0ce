"""Grading one implementation's results against the correctly rounded reference.

For each input x with exact value v (float64 estimate), correctly rounded value r and computed
value c, the error is |c - v| / ulp(v) in the target format; c is *correctly rounded* when it
equals r as a number (NaN for NaN; -0.0 equals +0.0, as IEEE comparison has it; a wrong sign of
zero is counted apart, in ``signed_zero_mismatch``). The worst error and its input are taken over
finite inputs; the infinities and NaNs have their own region. Errors accumulate in ``GradeStats``, which
merge exactly across chunks, so a scan split over processes and resumed from a checkpoint gives
the same numbers as one pass.

Regions of x (``REGIONS``) split the statistics where GELU-like functions behave differently:
the far negative tail (underflow, flush to zero), the negative side, the small |x| near zero,
the positive side and the far positive side (overflow). ``profile`` keeps, for 4096 buckets of
the bit pattern (sign, exponent and the top mantissa bits), the largest error and counts: it is
what the ulp-versus-x plot draws.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .formats import DType, ulp

#: (label, lower edge, upper edge) of x, half-open [lo, hi); non-finite inputs form their own region.
REGIONS: tuple[tuple[str, float, float], ...] = (
    ("x < -16", -np.inf, -16.0),
    ("-16 <= x < -4", -16.0, -4.0),
    ("-4 <= x < -1/256", -4.0, -1 / 256),
    ("|x| < 1/256", -1 / 256, 1 / 256),
    ("1/256 <= x < 4", 1 / 256, 4.0),
    ("4 <= x < 16", 4.0, 16.0),
    ("x >= 16", 16.0, np.inf),
)
NONFINITE = "inf or nan"
REGION_LABELS = tuple(r[0] for r in REGIONS) + (NONFINITE,)
PROFILE_BITS = 12
#: upper edges of the error histogram (ulps); the last bucket takes everything above, inf included
HISTOGRAM_EDGES = (0.5, 1.0, 2.0, 16.0, 1024.0, 2.0**20)
HISTOGRAM_LABELS = ("<=0.5", "<=1", "<=2", "<=16", "<=1024", "<=2^20", ">2^20")
EXAMPLES_KEPT = 24


@dataclass
class RegionStats:
    count: int = 0
    correct: int = 0
    flushed: int = 0
    max_ulp: float = 0.0
    worst_x: str | None = None

    def merge(self, other: RegionStats) -> None:
        self.count += other.count
        self.correct += other.correct
        self.flushed += other.flushed
        if other.max_ulp > self.max_ulp or (self.worst_x is None and other.worst_x is not None
                                             and other.max_ulp >= self.max_ulp):
            self.max_ulp, self.worst_x = other.max_ulp, other.worst_x


@dataclass
class GradeStats:
    """Merge-able accuracy statistics of one implementation over a set of inputs."""

    count: int = 0
    correct: int = 0
    within_one_ulp: int = 0
    flushed_to_zero: int = 0
    overflowed: int = 0
    nan_mismatch: int = 0
    signed_zero_mismatch: int = 0
    max_ulp: float = 0.0
    worst_x: str | None = None
    worst_computed: str | None = None
    worst_expected: str | None = None
    histogram: list[int] = field(default_factory=lambda: [0] * len(HISTOGRAM_LABELS))
    regions: dict[str, RegionStats] = field(default_factory=lambda: {k: RegionStats() for k in REGION_LABELS})
    #: the worst not-correctly-rounded inputs: [x hex, computed hex, expected hex, ulp]
    examples: list[list[Any]] = field(default_factory=list)
    profile_max: list[float] = field(default_factory=lambda: [0.0] * (1 << PROFILE_BITS))
    profile_count: list[int] = field(default_factory=lambda: [0] * (1 << PROFILE_BITS))
    profile_wrong: list[int] = field(default_factory=lambda: [0] * (1 << PROFILE_BITS))

    @property
    def fraction_correct(self) -> float:
        return self.correct / self.count if self.count else float("nan")

    @property
    def finite_count(self) -> int:
        return self.count - self.regions[NONFINITE].count

    @property
    def finite_correct(self) -> int:
        return self.correct - self.regions[NONFINITE].correct

    @property
    def finite_wrong(self) -> int:
        return self.finite_count - self.finite_correct

    def merge(self, other: GradeStats) -> None:
        for name in ("count", "correct", "within_one_ulp", "flushed_to_zero", "overflowed", "nan_mismatch",
                     "signed_zero_mismatch"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if other.max_ulp > self.max_ulp or (self.worst_x is None and other.worst_x is not None):
            self.max_ulp, self.worst_x = other.max_ulp, other.worst_x
            self.worst_computed, self.worst_expected = other.worst_computed, other.worst_expected
        self.histogram = [a + b for a, b in zip(self.histogram, other.histogram, strict=True)]
        for k, r in other.regions.items():
            self.regions[k].merge(r)
        self.examples = sorted(self.examples + other.examples, key=lambda e: -_num(e[3]))[:EXAMPLES_KEPT]
        self.profile_max = [max(a, b) for a, b in zip(self.profile_max, other.profile_max, strict=True)]
        self.profile_count = [a + b for a, b in zip(self.profile_count, other.profile_count, strict=True)]
        self.profile_wrong = [a + b for a, b in zip(self.profile_wrong, other.profile_wrong, strict=True)]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["fraction_correct"] = self.fraction_correct
        d["finite_count"], d["finite_correct"] = self.finite_count, self.finite_correct
        d["max_ulp"] = _json_float(self.max_ulp)
        for r in d["regions"].values():
            r["max_ulp"] = _json_float(r["max_ulp"])
        d["profile_max"] = [_json_float(v) for v in self.profile_max]
        d["examples"] = [[a, b, c, _json_float(u)] for a, b, c, u in self.examples]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GradeStats:
        d = dict(d)
        for derived in ("fraction_correct", "finite_count", "finite_correct"):
            d.pop(derived, None)
        d["max_ulp"] = _num(d["max_ulp"])
        d["regions"] = {k: RegionStats(**{**r, "max_ulp": _num(r["max_ulp"])}) for k, r in d["regions"].items()}
        d["profile_max"] = [_num(v) for v in d["profile_max"]]
        d["examples"] = [[a, b, c, _num(u)] for a, b, c, u in d["examples"]]
        return cls(**d)


def _json_float(v: float) -> float | str:
    return "inf" if v == np.inf else float(v)


def _num(v: float | str) -> float:
    return float(v)


def ulp_errors(computed: np.ndarray, exact: np.ndarray, rounded: np.ndarray, dt: DType) -> np.ndarray:
    """|computed - exact| / ulp(exact) in dt; 0 where computed equals an infinite or NaN reference."""
    c = np.asarray(computed, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.abs(c - exact) / ulp(np.where(np.isfinite(exact), exact, 0.0), dt.fmt)
    special = ~np.isfinite(rounded) | ~np.isfinite(c) | ~np.isfinite(exact)
    if np.any(special):
        same = (c == rounded) | (np.isnan(c) & np.isnan(rounded))
        err = np.where(special, np.where(same, 0.0, np.inf), err)
    return err


def grade(x: np.ndarray, computed: np.ndarray, exact: np.ndarray, rounded: np.ndarray, dt: DType) -> GradeStats:
    """Statistics of one batch: x the inputs (dt), computed the implementation's results."""
    with np.errstate(invalid="ignore"):  # ml_dtypes warns when casting NaN payloads
        x64 = np.asarray(x).astype(np.float64)
        c = np.asarray(computed).astype(np.float64)
    err = ulp_errors(c, exact, rounded, dt)
    both_nan = np.isnan(c) & np.isnan(rounded)
    same_value = (c == rounded) | both_nan
    zero_sign_ok = (c != 0) | (np.signbit(c) == np.signbit(rounded))
    correct = same_value
    flushed = (c == 0) & (rounded != 0) & np.isfinite(rounded)
    s = GradeStats(count=int(x64.size), correct=int(correct.sum()))
    s.within_one_ulp = int((err <= 1.0).sum())
    s.flushed_to_zero = int(flushed.sum())
    s.overflowed = int((np.isinf(c) & np.isfinite(rounded)).sum())
    s.nan_mismatch = int((np.isnan(c) != np.isnan(rounded)).sum())
    s.signed_zero_mismatch = int((same_value & ~zero_sign_ok).sum())
    s.histogram = np.bincount(np.searchsorted(HISTOGRAM_EDGES, err, side="left"),
                              minlength=len(HISTOGRAM_LABELS)).tolist()
    fin = np.flatnonzero(np.isfinite(x64))
    if fin.size:
        i = int(fin[np.argmax(err[fin])])
        s.max_ulp = float(err[i])
        s.worst_x, s.worst_computed, s.worst_expected = float(x64[i]).hex(), float(c[i]).hex(), float(rounded[i]).hex()
    _regions(s, x64, err, correct, flushed)
    _profile(s, x, err, correct, dt)
    wrong = np.flatnonzero(~correct)
    if wrong.size:
        top = wrong[np.argsort(-err[wrong], kind="stable")[:EXAMPLES_KEPT]]
        s.examples = [[float(x64[i]).hex(), float(c[i]).hex(), float(rounded[i]).hex(), float(err[i])] for i in top]
    return s


def _regions(s: GradeStats, x64: np.ndarray, err: np.ndarray, correct: np.ndarray, flushed: np.ndarray) -> None:
    finite = np.isfinite(x64)
    for label, lo, hi in REGIONS:
        m = finite & (x64 >= lo) & (x64 < hi)
        _fill_region(s.regions[label], m, x64, err, correct, flushed)
    _fill_region(s.regions[NONFINITE], ~finite, x64, err, correct, flushed)


def _fill_region(r: RegionStats, m: np.ndarray, x64: np.ndarray, err: np.ndarray, correct: np.ndarray,
                 flushed: np.ndarray) -> None:
    idx = np.flatnonzero(m)
    r.count = int(idx.size)
    if not idx.size:
        return
    r.correct = int(correct[idx].sum())
    r.flushed = int(flushed[idx].sum())
    j = idx[int(np.argmax(err[idx]))]
    r.max_ulp, r.worst_x = float(err[j]), float(x64[j]).hex()


def _profile(s: GradeStats, x: np.ndarray, err: np.ndarray, correct: np.ndarray, dt: DType) -> None:
    bucket = (np.asarray(x).view(dt.uint) >> (dt.bits - PROFILE_BITS)).astype(np.int64)
    n = 1 << PROFILE_BITS
    s.profile_count = np.bincount(bucket, minlength=n).tolist()
    s.profile_wrong = np.bincount(bucket, weights=~correct, minlength=n).astype(np.int64).tolist()
    mx = np.zeros(n)
    np.maximum.at(mx, bucket, np.where(np.isnan(err), 0.0, err))
    s.profile_max = mx.tolist()


def profile_edges(dt: DType) -> np.ndarray:
    """The lower-magnitude x of each profile bucket (bit pattern with the low bits cleared), float64."""
    shift = dt.bits - PROFILE_BITS
    patterns = (np.arange(1 << PROFILE_BITS, dtype=np.int64) << shift).astype(dt.uint)
    with np.errstate(invalid="ignore"):  # ml_dtypes warns when casting NaN payloads
        return patterns.view(dt.numpy).astype(np.float64)
