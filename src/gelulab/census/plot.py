"""The census as a figure: each activation's share of the models, by modality and by model size."""

from __future__ import annotations

from pathlib import Path

from .summary import NOT_FOUND, collapse, legend_order

FORMATS = (".png", ".svg", ".pdf")


def plot_shares(summary: dict, out: str | Path) -> Path:
    """Two panels of stacked bars (share of models, %): one bar per modality, one per size bucket.

    Activations used by under 1 % of the models are summed as "other"; the number of models of each
    bar is in its label.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise ValueError(f"cannot write {out.name!r}: the file name must end in one of {', '.join(FORMATS)}")
    keep = legend_order(summary)
    names = [*keep, "other", NOT_FOUND]
    cmap = plt.get_cmap("tab10")
    colors = {n: cmap(i % 10) for i, n in enumerate(keep)}
    colors.update({"other": "0.65", NOT_FOUND: "0.88"})
    panels = [("by modality", summary["by_modality"]), ("by parameters of the default config", summary["by_size"])]
    fig, axes = plt.subplots(1, 2, figsize=(12.5, 4.6), sharex=True)
    for ax, (title, groups) in zip(axes, panels, strict=True):
        labels = []
        for row, (group, counter) in enumerate(groups.items()):
            c = collapse(counter, keep)
            total = sum(c.values()) or 1
            left = 0.0
            for name in names:
                width = 100 * c.get(name, 0) / total
                if width:
                    ax.barh(row, width, left=left, color=colors[name], edgecolor="white", linewidth=0.5,
                            label=name if name not in ax.get_legend_handles_labels()[1] else None)
                    if width >= 8:
                        ax.text(left + width / 2, row, f"{width:.0f}", ha="center", va="center", fontsize=8)
                left += width
            labels.append(f"{group} (n={total})")
        ax.set_yticks(range(len(labels)), labels)
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.set_xlabel("share of models (%)")
        ax.set_title(title)
    handles = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(lab, h)
    ordered = [n for n in names if n in handles]
    fig.legend([handles[n] for n in ordered], ordered, loc="lower center", ncol=min(len(ordered), 7), frameon=False)
    versions = summary["versions"]
    source = f"transformers {versions.get('transformers')}" + (f", timm {versions['timm']}" if versions.get("timm")
                                                               else "; timm not censused")
    fig.suptitle(f"Which activation {summary['models']} model definitions use ({source})")
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
