"""Text renderings of properties: rich tables for the terminal, Markdown for the report."""

from __future__ import annotations

import math
from collections.abc import Sequence

from .properties import Properties


def num(v: float | None, digits: int = 6) -> str:
    if v is None:
        return "-"
    if v == math.inf:
        return "+inf"
    if v == -math.inf:
        return "-inf"
    return f"{v:.{digits}g}"


def monotonic_cell(p: Properties) -> str:
    m = p.monotonicity
    if m.monotonic:
        return "yes" + ("" if m.strictly else " (flat on " + ", ".join(iv.text(4) for iv in m.flat) + ")")
    return "no: decreasing on " + ", ".join(iv.text(6) for iv in m.decreasing)


def minimum_cell(p: Properties) -> str:
    gm = p.monotonicity.global_minimum
    return "-" if gm is None else f"{gm.value!r} at x = {gm.x!r}"


def derivative_zero_cell(p: Properties) -> str:
    d = p.derivative_at_zero
    return num(d.value) if d.exists else f"none ({num(d.left)} left, {num(d.right)} right)"


def gap_cell(p: Properties) -> str:
    g = p.gap_to_gelu
    if g.max_abs == 0:
        return "0"
    where = f"x = {'±' if g.symmetric else ''}{abs(g.at):.4g}"
    return f"{g.max_abs:.3g} at {where}" + (" (edge of window, still growing)" if g.at_window_edge else "")


def property_rows(props: Sequence[Properties]) -> tuple[list[str], list[list[str]]]:
    """The columns and rows of the property table (shared by the terminal and the report)."""
    header = ["name", "nonlinear", "monotonic", "global minimum", "f class", "f' class", "range", "negative",
              "f'(0)", "f'(-inf), f'(+inf)", "E f(Z)", "E f(Z)^2", "E f'(Z)", "P(f(Z)=0)", "max |f - gelu|"]
    rows = []
    for p in props:
        m = p.moments
        rows.append([
            p.name,
            "yes" if p.nonlinearity.nonlinear else "no",
            monotonic_cell(p),
            minimum_cell(p),
            p.continuity.function_class,
            p.continuity.derivative_class,
            p.range_text,
            "yes" if p.negative_outputs else "no",
            derivative_zero_cell(p),
            num(p.limits["f'(-inf)"]) + ", " + num(p.limits["f'(+inf)"]),
            f"{m.mean.value:.6f}",
            f"{m.second.value:.6f}",
            f"{m.mean_derivative.value:.6f}",
            f"{m.prob_zero:.6g}",
            gap_cell(p),
        ])
    return header, rows


def print_properties(props: Sequence[Properties]) -> None:
    from rich.console import Console
    from rich.table import Table

    header, rows = property_rows(props)
    table = Table(title="computed properties (gelulab properties --json for every number)", show_lines=True)
    for col in header:
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(*r)
    Console(width=max(200, Console().width)).print(table)
