"""Learning-curve plots: per experiment, the mean curve over seeds of each activation with its range."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .store import RunRecord
from .tasks import TASKS, experiment_label

#: The curve drawn for each task (stored curve name, axis label).
CURVE: dict[str, tuple[str, str]] = {
    "lm": ("val_loss", "validation loss (nats/char)"),
    "digits": ("test_acc", "test accuracy"),
    "mnist1d": ("test_acc", "test accuracy"),
}


def _activation_colors() -> dict[str, str]:
    """One colour per activation, the same in every panel (registry order, then the gated units)."""
    from ..functions import names
    from .activations import GATED

    palette = [f"C{i}" for i in range(10)] + ["#8c564b", "#17becf", "#bcbd22", "#7f7f7f", "#e377c2", "#393b79"]
    order = ["relu", "gelu", "gelu_tanh", "silu", "geglu", "swiglu", "reglu"]
    order += [n for n in [*names(), *sorted(GATED)] if n not in order]
    return {name: palette[i % len(palette)] for i, name in enumerate(order)}


def plot_learning_curves(runs: Sequence[RunRecord], path: str | Path, title: str | None = None) -> Path:
    """One panel per experiment; a line per activation (mean over seeds) and a band (min..max over seeds).

    ``runs`` must carry their curves (``RunStore.runs(with_curves=True)``).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups: dict[tuple[str, str], list[RunRecord]] = {}
    for r in runs:
        groups.setdefault((r.task, r.experiment_hash), []).append(r)
    if not groups:
        raise ValueError("no runs to plot")
    task_order = list(TASKS)
    keys = sorted(groups, key=lambda k: (task_order.index(k[0]) if k[0] in task_order else 99,
                                         experiment_label(groups[k][0].config)))
    colors = _activation_colors()
    fig, axes = plt.subplots(1, len(keys), figsize=(4.6 * len(keys), 3.6), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        members = groups[key]
        curve, ylabel = CURVE[key[0]]
        by_act: dict[str, list[RunRecord]] = {}
        for r in members:
            by_act.setdefault(r.activation, []).append(r)
        second_points = []  # loss curves drop fast at first: zoom on what follows the first checkpoint
        for act in sorted(by_act, key=lambda a: (list(colors).index(a) if a in colors else 99, a)):
            series = [dict(r.curves.get(curve, [])) for r in by_act[act]]
            steps = sorted(set.intersection(*(set(s) for s in series))) if series else []
            if not steps:
                continue
            values = np.array([[s[k] for k in steps] for s in series])
            color = colors.get(act)
            ax.plot(steps, values.mean(0), label=f"{act} (n={len(series)})", lw=1.6, color=color)
            ax.fill_between(steps, values.min(0), values.max(0), color=color, alpha=0.15, lw=0)
            if len(steps) >= 3:
                second_points.append(float(values[:, 1].max()))
        if curve.endswith("loss") and second_points:
            ax.set_ylim(top=max(second_points))
        ax.set_title(experiment_label(members[0].config))
        ax.set_xlabel("training step")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
