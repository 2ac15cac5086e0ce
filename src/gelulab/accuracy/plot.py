"""The ulp-error-versus-x plot of a scan: worst error per bucket of x, one line per implementation.

The bucket is the top 12 bits of the input's bit pattern (sign, exponent and the leading
mantissa bits; see :mod:`gelulab.accuracy.grading`), so the points are evenly spaced in log |x|.
Negative x is drawn on the left panel (|x| decreasing towards zero), positive x on the right;
the error axis is logarithmic, with the 0.5 ulp line (correct rounding) and 1 ulp line drawn.
Infinite errors (a finite exact value returned as inf, NaN or vice versa) sit on the top edge.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .grading import profile_edges
from .scan import ScanResult

_FLOOR = 1e-3  # errors below this (exact results) are drawn on the bottom edge


def plot_scan(result: ScanResult | list[ScanResult], path: str | Path, title: str | None = None) -> Path:
    """Draw every implementation of one or more scans (same function, order, dtype) into ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = result if isinstance(result, list) else [result]
    spec = results[0].spec
    edges = profile_edges(spec.dt)
    finite = np.isfinite(edges) & (edges != 0)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.6), sharey=True)
    top = 1.0
    series = []
    for r in results:
        for name, stats in r.results.items():
            err = np.array(stats.profile_max, dtype=np.float64)
            seen = np.array(stats.profile_count) > 0
            series.append((name, err, seen))
            fin_err = err[seen & finite & np.isfinite(err)]
            if fin_err.size:
                top = max(top, float(fin_err.max()))
    ceiling = 10 ** np.ceil(np.log10(top * 10))
    for rank, (name, err, seen) in enumerate(series):
        shown = np.clip(np.where(np.isfinite(err), err, ceiling), _FLOOR, ceiling)
        for ax, side in ((left, edges < 0), (right, edges > 0)):
            m = seen & finite & side
            order = np.argsort(np.abs(edges[m]))
            (line,) = ax.plot(np.abs(edges[m])[order], shown[m][order], lw=1.0, marker=".", ms=2.5,
                              label=name if ax is right else None, zorder=10 - rank * 0.1)
            inf = m & ~np.isfinite(err)
            if np.any(inf):
                ax.plot(np.abs(edges[inf]), np.full(int(inf.sum()), ceiling), "v", color=line.get_color(), ms=5)
    for ax, label in ((left, "x < 0 (|x|, log scale)"), (right, "x > 0 (log scale)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(_FLOOR * 0.8, ceiling * 1.5)
        ax.axhline(0.5, color="0.4", lw=0.8, ls="--")
        ax.axhline(1.0, color="0.6", lw=0.8, ls=":")
        ax.set_xlabel(label)
        ax.grid(True, which="major", alpha=0.3)
    left.invert_xaxis()
    left.set_ylabel(f"worst error in the bucket (ulp of {spec.dtype})")
    right.legend(loc="upper left", fontsize=8)
    word = {0: "", 1: "' (first derivative)", 2: "'' (second derivative)"}[spec.order]
    fig.suptitle(title or f"{spec.function}{word} in {spec.dtype}: ulp error against x "
                 f"(dashed: 0.5 ulp = correctly rounded; ▼: infinite error)", fontsize=10)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
