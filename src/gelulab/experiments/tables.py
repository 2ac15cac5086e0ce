"""Result tables of experiment summaries: Markdown (report) and rich (terminal)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from .stats import Estimate, ExperimentSummary, PairedComparison

METRIC_LABELS = {
    "val_loss": "val loss (nats/char)",
    "train_loss": "train loss",
    "test_acc": "test acc (%)",
    "test_loss": "test loss (nats)",
    "grad_flow_log_ratio": "ln grad first/last",
}


def _scale(metric: str) -> float:
    return 100.0 if metric == "test_acc" else 1.0


def format_estimate(est: Estimate, metric: str) -> str:
    k = _scale(metric)
    digits = 2 if metric == "test_acc" else 4
    if math.isnan(est.half_width):
        return f"{k * est.mean:.{digits}f}"
    return f"{k * est.mean:.{digits}f} ± {k * est.half_width:.{digits}f}"


def format_comparison(comp: PairedComparison | None, metric: str) -> tuple[str, str]:
    """('diff ± CI', 'p') or ('—', '—') for the baseline itself / too few common seeds."""
    if comp is None:
        return "—", "—"
    k = _scale(metric)
    digits = 2 if metric == "test_acc" else 4
    d = comp.difference
    diff = f"{k * d.mean:+.{digits}f}" + ("" if math.isnan(d.half_width) else f" ± {k * d.half_width:.{digits}f}")
    return diff, f"{comp.p_value:.3g}"


def summary_rows(summary: ExperimentSummary) -> tuple[list[str], list[list[str]]]:
    """Header and rows: activation, seeds, params, each metric, then Δ and p of the primary metric."""
    primary = summary.metrics[0]
    base = summary.baseline or "baseline"
    header = ["activation", "seeds", "params", *(METRIC_LABELS.get(m, m) for m in summary.metrics),
              f"Δ {METRIC_LABELS.get(primary, primary)} vs {base}", "p (paired t)", "s/run"]
    rows = []
    for r in summary.rows:
        diff, p = format_comparison(r.vs_baseline.get(primary), primary)
        rows.append([r.activation, str(len(r.seeds)), f"{r.n_params:,}",
                     *(format_estimate(r.metrics[m], m) for m in summary.metrics), diff, p,
                     f"{r.wall_seconds.mean:.1f}"])
    return header, rows


def markdown_table(summary: ExperimentSummary) -> str:
    header, rows = summary_rows(summary)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def print_tables(summaries: Sequence[ExperimentSummary]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(140, Console().width))
    for s in summaries:
        settings = ", ".join(f"{k}={v}" for k, v in sorted(s.settings.items())
                             if k not in ("task", "task_version", "model"))
        table = Table(title=f"{s.label} (mean ± 95% CI over seeds)", caption=settings)
        header, rows = summary_rows(s)
        for col in header:
            table.add_column(col, justify="left" if col == "activation" else "right")
        for row in rows:
            table.add_row(*row)
        console.print(table)
