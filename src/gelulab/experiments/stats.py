"""Statistics over seeds: mean ± 95 % CI (Student t) and the paired difference to a baseline.

For n seeds with values v_i: mean m = Σv_i/n, s² = Σ(v_i − m)²/(n − 1), and the 95 % confidence
interval is m ± t_{0.975, n−1} · s/√n. Two activations are compared on the seeds both ran (same seed
= same initial-weight stream and same data order): d_i = a_i − b_i, reported as mean(d) ± CI with the
paired t-test's two-sided p-value (``scipy.stats.ttest_rel``), which is the one-sample t-test of d.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats as st

from .activations import GATED
from .store import RunRecord
from .tasks import LOWER_IS_BETTER, METRICS, TASKS, experiment_label

ALPHA = 0.05


@dataclass(frozen=True)
class Estimate:
    """Mean ± half-width of the 95 % CI over n values (half-width NaN when n < 2)."""

    mean: float
    half_width: float
    n: int

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width

    def to_dict(self) -> dict[str, float | int]:
        return {"mean": self.mean, "ci95": self.half_width, "n": self.n}


def mean_ci(values: Sequence[float], level: float = 0.95) -> Estimate:
    """Mean and the half-width of its Student-t confidence interval."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        raise ValueError("mean_ci needs at least one value")
    if v.size == 1:
        return Estimate(float(v[0]), math.nan, 1)
    sem = v.std(ddof=1) / math.sqrt(v.size)
    return Estimate(float(v.mean()), float(st.t.ppf(0.5 + level / 2, v.size - 1) * sem), int(v.size))


@dataclass(frozen=True)
class PairedComparison:
    """a − b over the seeds both ran: mean ± CI, the paired t statistic and its two-sided p-value."""

    difference: Estimate
    t: float
    p_value: float
    seeds: tuple[int, ...]

    def significant(self, alpha: float = ALPHA) -> bool:
        return bool(self.p_value < alpha)

    def to_dict(self) -> dict[str, Any]:
        return {"difference": self.difference.to_dict(), "t": self.t, "p_value": self.p_value,
                "seeds": list(self.seeds)}


def paired_comparison(a: Mapping[int, float], b: Mapping[int, float]) -> PairedComparison | None:
    """Paired t-test of a − b on the common seeds; None with fewer than two common seeds."""
    seeds = tuple(sorted(set(a) & set(b)))
    if len(seeds) < 2:
        return None
    x = np.array([a[s] for s in seeds], dtype=np.float64)
    y = np.array([b[s] for s in seeds], dtype=np.float64)
    d = x - y
    if np.all(d == d[0]):  # zero variance: t is ±inf (or undefined when every difference is 0)
        t, p = (0.0, 1.0) if d[0] == 0 else (math.copysign(math.inf, d[0]), 0.0)
    else:
        res = st.ttest_rel(x, y)
        t, p = float(res.statistic), float(res.pvalue)
    return PairedComparison(mean_ci(d), t, p, seeds)


@dataclass
class ActivationSummary:
    activation: str
    metrics: dict[str, Estimate]
    vs_baseline: dict[str, PairedComparison | None]
    n_params: int
    wall_seconds: Estimate
    seeds: tuple[int, ...]


@dataclass
class ExperimentSummary:
    """All activations of one experiment (same task and settings), each against the baseline."""

    task: str
    label: str
    experiment_hash: str
    settings: dict[str, Any]
    baseline: str | None
    metrics: tuple[str, ...]
    rows: list[ActivationSummary] = field(default_factory=list)

    def row(self, activation: str) -> ActivationSummary | None:
        return next((r for r in self.rows if r.activation == activation), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task, "label": self.label, "experiment_hash": self.experiment_hash,
            "settings": self.settings, "baseline": self.baseline, "metrics": list(self.metrics),
            "primary_metric": self.metrics[0], "higher_is_better": self.metrics[0] not in LOWER_IS_BETTER,
            "activations": [{
                "activation": r.activation, "seeds": list(r.seeds), "n_params": r.n_params,
                "wall_seconds": r.wall_seconds.to_dict(),
                "metrics": {k: v.to_dict() for k, v in r.metrics.items()},
                "vs_baseline": {k: (v.to_dict() if v else None) for k, v in r.vs_baseline.items()},
            } for r in self.rows],
        }


def _display_rank(activation: str) -> int:
    """Registry order for plain activations, then the gated units."""
    from ..functions import names

    order = [*names(), *sorted(GATED)]
    return order.index(activation) if activation in order else len(order)


def summarise(runs: Sequence[RunRecord], baseline: str = "relu") -> list[ExperimentSummary]:
    """Group runs by experiment; per activation mean ± CI of each metric and the paired test vs baseline."""
    groups: dict[tuple[str, str], list[RunRecord]] = {}
    for r in runs:
        groups.setdefault((r.task, r.experiment_hash), []).append(r)
    out = []
    task_order = list(TASKS)

    def order(item: tuple[tuple[str, str], list[RunRecord]]) -> tuple:
        (task, _), members = item
        return (task_order.index(task) if task in task_order else len(task_order), task,
                experiment_label(members[0].config), item[0][1])

    for (task, ehash), members in sorted(groups.items(), key=order):
        metrics = METRICS.get(task, (TASKS[task].metric,))
        by_act: dict[str, dict[int, RunRecord]] = {}
        for r in members:
            by_act.setdefault(r.activation, {})[r.seed] = r
        base = by_act.get(baseline)
        settings = {k: v for k, v in members[0].config.items() if k not in ("activation",)}
        summary = ExperimentSummary(task, experiment_label(members[0].config), ehash, settings,
                                    baseline if base else None, metrics)
        for act in sorted(by_act, key=lambda a: (a != baseline, _display_rank(a), a)):
            seeded = by_act[act]
            est = {m: mean_ci([r.metrics[m] for r in seeded.values()]) for m in metrics}
            vs = {}
            for m in metrics:
                if base is None or act == baseline:
                    vs[m] = None
                else:
                    vs[m] = paired_comparison({s: r.metrics[m] for s, r in seeded.items()},
                                              {s: r.metrics[m] for s, r in base.items()})
            summary.rows.append(ActivationSummary(
                act, est, vs, next(iter(seeded.values())).n_params,
                mean_ci([r.wall_seconds for r in seeded.values()]), tuple(sorted(seeded))))
        out.append(summary)
    return out


def better(comparison: PairedComparison | None, metric: str, alpha: float = ALPHA) -> int:
    """+1: a significantly better than b on ``metric``; −1: significantly worse; 0: not significant."""
    if comparison is None or not comparison.significant(alpha):
        return 0
    sign = 1 if comparison.difference.mean > 0 else -1
    return -sign if metric in LOWER_IS_BETTER else sign
