"""Plots of activations and their derivatives (matplotlib, PNG or SVG)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..functions import get


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_functions(
    names: Sequence[str],
    out: str | Path,
    *,
    derivatives: bool = True,
    x_range: tuple[float, float] = (-4.0, 4.0),
    points: int = 801,
) -> Path:
    """The functions (and, beside them, their first derivatives) on one x range."""
    plt = _pyplot()
    out = Path(out)
    x = np.linspace(*x_range, points)
    ncols = 2 if derivatives else 1
    fig, axes = plt.subplots(1, ncols, figsize=(6.2 * ncols, 4.4), squeeze=False)
    for order, ax in enumerate(axes[0]):
        for name in names:
            spec = get(name)
            ax.plot(x, spec.evaluate(x, order), label=spec.name, lw=2)
        ax.axhline(0, color="0.6", lw=0.8)
        ax.axvline(0, color="0.6", lw=0.8)
        ax.set_xlabel("x")
        ax.set_ylabel("f(x)" if order == 0 else "f'(x)")
        ax.set_title(("" if order == 0 else "derivative: ") + " vs ".join(get(n).name for n in names))
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
