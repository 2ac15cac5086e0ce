"""Report section: the activations, their formulas, and the GELU-vs-ReLU plot."""

from __future__ import annotations

from ..analysis.plots import plot_functions
from ..functions import get, names
from .section import ReportContext, Section


def build(ctx: ReportContext) -> Section:
    rows = ["| name | aliases | formula |", "|---|---|---|"]
    for n in names():
        spec = get(n)
        aliases = ", ".join(f"`{a}`" for a in spec.aliases)
        rows.append(f"| **{spec.name}** | {aliases} | ${spec.latex}$ |")
    figure = plot_functions(["gelu", "relu"], ctx.figures_dir / "gelu_vs_relu.png", derivatives=True)
    text = "\n".join([
        "GELU(x) = x·Φ(x), with Φ the standard normal CDF; ReLU(x) = max(0, x). "
        f"gelulab implements {len(names())} activations, each with its first and second derivative "
        "and an mpmath oracle:",
        "",
        *rows,
        "",
        "Below: GELU and ReLU (left) and their derivatives (right). GELU dips below zero for negative x "
        "and its derivative is continuous; ReLU's derivative jumps from 0 to 1 at x = 0.",
    ])
    return Section(key="functions", title="Functions", markdown=text, rerun="gelulab list; gelulab plot gelu relu",
                   figures=[figure])
