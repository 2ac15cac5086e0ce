"""Report section: the computed properties, beside the explainer's own property table."""

from __future__ import annotations

from ..analysis.explainer import properties_table
from ..analysis.plots import plot_approximation_errors, plot_minimum_zoom
from ..analysis.properties import all_properties
from ..analysis.render import property_rows
from ..claims.verdicts import computed_property
from ..functions import get, names
from .section import ReportContext, Section

#: --quick: the activations the explainer talks about, and the closest relatives
QUICK_NAMES = ("gelu", "gelu_tanh", "quick_gelu", "relu", "silu")


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def explainer_vs_computed() -> list[str]:
    """The explainer's "Quick Mathematical Properties" table with the computed answers beside it."""
    table = properties_table()
    cols = table.header[1:]
    head = ["Property"] + [f"{c}: explainer | {c}: computed" for c in cols] + ["agrees?"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * (1 + 2 * len(cols) + 1)]
    for row in table.rows:
        cells, agree = [row[0]], True
        for col, claimed in zip(cols, row[1:], strict=True):
            computed, why = computed_property(row[0], get(col.lower()).name)
            same = claimed.strip().lower().startswith("yes") == computed
            agree &= same
            mark = "" if same else " **✗**"
            cells += [_cell(claimed), _cell(f"{'Yes' if computed else 'No'} ({why}){mark}")]
        cells.append("yes" if agree else "**NO: the explainer is wrong here**")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def build(ctx: ReportContext) -> Section:
    chosen = list(QUICK_NAMES) if ctx.quick else names()
    props = all_properties(chosen)
    header, rows = property_rows(props)
    shape_cols = header[:10]
    stat_cols = [header[0], *header[10:]]
    shape = ["| " + " | ".join(_cell(c) for c in shape_cols) + " |", "|" + "---|" * len(shape_cols)]
    shape += ["| " + " | ".join(_cell(c) for c in r[:10]) + " |" for r in rows]
    stats = ["| " + " | ".join(_cell(c) for c in stat_cols) + " |", "|" + "---|" * len(stat_cols)]
    stats += ["| " + " | ".join(_cell(c) for c in [r[0], *r[10:]]) + " |" for r in rows]
    gelu = next(p for p in props if p.name == "gelu")
    gm = gelu.monotonicity.global_minimum
    figs = [
        plot_minimum_zoom(["gelu", "gelu_tanh", "quick_gelu", "relu"], ctx.figures_dir / "gelu_minimum.png"),
        plot_approximation_errors(ctx.figures_dir / "approximation_errors.png"),
    ]
    versus = explainer_vs_computed()
    text = [
        "Every entry is computed in this run from the formula (sympy: breakpoints, one-sided limits, limits at "
        "±∞), the float64 kernels (sign of f' on a grid, continuity on two grid steps) and the mpmath oracle "
        "(roots of f' to 40 digits, rounded once to float64); none is read from a table.",
        "",
        "**The explainer's table, and what the computation says** (✗ marks a disagreement):",
        "",
        *versus,
        "",
        f"GELU decreases on {', '.join(iv.text(8) for iv in gelu.monotonicity.decreasing)} and has its global "
        f"minimum at x = {gm.x!r} (`{gm.x_hex}`), GELU = {gm.value!r} (`{gm.value_hex}`)." if gm else
        "GELU has no global minimum (unexpected).",
        "",
        "**Shape** (f class: continuity class of f; range brackets: [ attained, ( a limit):",
        "",
        *shape,
        "",
        "**Under a standard normal input Z** (quadrature) and the largest difference to exact GELU on [-10, 10]:",
        "",
        *stats,
        "",
        "Below: a zoom on the minimum (left of it the function decreases, so it is not monotonic), and the "
        "tanh and sigmoid approximations minus exact GELU.",
    ]
    if ctx.quick:
        text += ["", f"(--quick: {len(chosen)} of {len(names())} activations.)"]
    wrong = [line.split("|")[1].strip() for line in versus[2:] if "**NO" in line]
    highlights = [
        f"The explainer's property table disagrees with the computation on {len(wrong)} of {len(versus) - 2} rows"
        + (": " + ", ".join(f"**{w}**" for w in wrong) if wrong else "") + ".",
    ]
    if gm:
        highlights.append(f"GELU is not monotonic: it decreases on {gelu.monotonicity.decreasing[0].text(8)} to its "
                          f"global minimum GELU({gm.x!r}) = {gm.value!r}; ReLU never goes below 0.")
    return Section(key="properties", title="Properties", markdown="\n".join(text),
                   rerun="gelulab properties; gelulab plot --kind minimum; gelulab plot --kind errors",
                   figures=figs, highlights=highlights)
