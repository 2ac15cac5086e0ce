"""Plots of activations, their derivatives, GELU's minimum and the approximation errors.

matplotlib with the Agg backend; the file format follows the suffix of ``out`` (.png, .svg
or .pdf). Every marked point (a minimum, a largest error) comes from the analysis modules,
so the figures show what the property table and the claims state.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..functions import get

FORMATS = (".png", ".svg", ".pdf")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, out: Path) -> Path:
    if out.suffix.lower() not in FORMATS:
        raise ValueError(f"cannot write {out.name!r}: the file name must end in one of {', '.join(FORMATS)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    _pyplot().close(fig)
    return out


def plot_functions(
    names: Sequence[str],
    out: str | Path,
    *,
    derivatives: bool = True,
    x_range: tuple[float, float] = (-4.0, 4.0),
    points: int = 801,
    mark_minima: bool = False,
) -> Path:
    """The functions (and, beside them, their first derivatives) on one x range.

    ``mark_minima`` marks each global minimum found by ``analysis.monotonicity``.
    """
    plt = _pyplot()
    out = Path(out)
    lo, hi = x_range
    if not lo < hi:
        raise ValueError(f"the x range must have A < B, got {lo} {hi}")
    x = np.linspace(lo, hi, points)
    ncols = 2 if derivatives else 1
    fig, axes = plt.subplots(1, ncols, figsize=(6.2 * ncols, 4.4), squeeze=False)
    for order, ax in enumerate(axes[0]):
        for name in names:
            spec = get(name)
            (line,) = ax.plot(x, spec.evaluate(x, order), label=spec.name, lw=2)
            if mark_minima and order == 0:
                _mark_minimum(ax, spec.name, line.get_color(), (lo, hi))
        ax.axhline(0, color="0.6", lw=0.8)
        ax.axvline(0, color="0.6", lw=0.8)
        ax.set_xlabel("x")
        ax.set_ylabel("f(x)" if order == 0 else "f'(x)")
        ax.set_title(("" if order == 0 else "derivative: ") + " vs ".join(get(n).name for n in names))
        ax.grid(alpha=0.3)
        ax.legend()
    return _save(fig, out)


def _mark_minimum(ax, name: str, color: str, window: tuple[float, float]) -> None:
    from .monotonicity import monotonicity

    gm = monotonicity(name).global_minimum
    if gm is not None and window[0] <= gm.x <= window[1]:
        ax.plot([gm.x], [gm.value], "o", color=color, ms=6)
        ax.annotate(f"min {gm.value:.4f}\nat x = {gm.x:.4f}", (gm.x, gm.value), textcoords="offset points",
                    xytext=(-70, 45), fontsize=8, color=color, arrowprops={"arrowstyle": "->", "color": color})


def plot_minimum_zoom(names: Sequence[str], out: str | Path, *, half_width: float = 0.9) -> Path:
    """A zoom on the global minima (GELU's near x = -0.75): f near its lowest point, minimum marked.

    The window is centred on the first named activation's minimum; an activation without a
    global minimum (ReLU) is drawn for comparison.
    """
    from .monotonicity import monotonicity

    plt = _pyplot()
    centre_min = next((monotonicity(n).global_minimum for n in names if monotonicity(n).global_minimum), None)
    centre = centre_min.x if centre_min else 0.0
    x = np.linspace(centre - half_width, centre + half_width, 801)
    fig, ax = plt.subplots(figsize=(7.0, 4.6))
    for name in names:
        spec = get(name)
        (line,) = ax.plot(x, spec.evaluate(x, 0), lw=2, label=spec.name)
        gm = monotonicity(spec.name).global_minimum
        if gm is not None and x[0] <= gm.x <= x[-1]:
            ax.plot([gm.x], [gm.value], "o", color=line.get_color())
            ax.axvline(gm.x, color=line.get_color(), lw=0.8, ls=":")
            ax.text(0.02, 0.96 - 0.06 * names.index(name), f"{spec.name}: min {gm.value:.6f} at x = {gm.x:.6f}",
                    transform=ax.transAxes, fontsize=8, color=line.get_color(), va="top")
    ax.axhline(0, color="0.6", lw=0.8)
    ax.set_xlabel("x")
    ax.set_ylabel("f(x)")
    ax.set_title("Zoom on the minimum: f decreases left of it, so it is not monotonic")
    ax.grid(alpha=0.3)
    # Lower right stays empty: right of the minimum every curve has already risen to about 0.
    ax.legend(loc="lower right")
    return _save(fig, Path(out))


def plot_approximation_errors(
    out: str | Path,
    *,
    names: Sequence[str] = ("gelu_tanh", "quick_gelu"),
    target: str = "gelu",
    x_range: tuple[float, float] = (-6.0, 6.0),
) -> Path:
    """f - gelu for the approximations (left) and |f - gelu| on a log scale (right), largest marked."""
    from .approximation import gap_to

    plt = _pyplot()
    x = np.linspace(*x_range, 2401)
    ref = get(target)
    fig, (ax, axl) = plt.subplots(1, 2, figsize=(12.4, 4.4))
    for name in names:
        spec = get(name)
        d = spec.evaluate(x, 0) - ref.evaluate(x, 0)
        (line,) = ax.plot(x, d, lw=1.8, label=f"{spec.name} - {ref.name}")
        axl.semilogy(x, np.maximum(np.abs(d), 1e-18), lw=1.5, color=line.get_color(), label=spec.name)
        g = gap_to(spec.name, ref.name)
        if x_range[0] <= g.at <= x_range[1]:
            xs = [g.at, -g.at] if g.symmetric else [g.at]
            for xm in xs:
                ax.plot([xm], [float(spec.evaluate(xm, 0) - ref.evaluate(xm, 0))], "o", color=line.get_color())
            ax.text(0.02, 0.96 - 0.06 * list(names).index(name),
                    f"{spec.name}: max |diff| {g.max_abs:.3g} at x = {'±' if g.symmetric else ''}{abs(g.at):.3f}",
                    transform=ax.transAxes, fontsize=8, color=line.get_color(), va="top")
    axl.set_ylim(bottom=1e-10)  # the exact zero at x = 0 would pull the axis down to the clamp
    for a in (ax, axl):
        a.set_xlabel("x")
        a.grid(alpha=0.3)
        a.legend(fontsize=8)
    ax.axhline(0, color="0.6", lw=0.8)
    ax.set_ylabel(f"f(x) - {ref.name}(x)")
    ax.set_title(f"Approximations minus exact {ref.name}")
    axl.set_ylabel("|difference| (log scale)")
    axl.set_title("Absolute difference")
    return _save(fig, Path(out))


def plot_speed(ns_per_element: dict[str, float], out: str | Path, *, title: str = "CPU time per element") -> Path:
    """Horizontal bars of ns/element (log scale), one per timed operation."""
    plt = _pyplot()
    keys = list(ns_per_element)
    vals = [ns_per_element[k] for k in keys]
    fig, ax = plt.subplots(figsize=(7.0, 0.42 * len(keys) + 1.4))
    bars = ax.barh(keys, vals, color=["0.55" if ("copy" in k or "clone" in k) else "C0" for k in keys])
    ax.set_xscale("log")
    ax.set_xlim(min(vals) / 2, max(vals) * 4)
    ax.invert_yaxis()
    for b, v in zip(bars, vals, strict=False):
        ax.annotate(f"{v:.3g}", (v, b.get_y() + b.get_height() / 2), xytext=(4, 0), textcoords="offset points",
                    va="center", fontsize=8)
    ax.set_xlabel("ns per element (median, log scale)")
    ax.set_title(title)
    ax.grid(alpha=0.3, axis="x")
    return _save(fig, Path(out))
