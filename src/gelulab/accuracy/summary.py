"""Tables of scan results: JSON-ready rows, Markdown (for the report) and rich (for the terminal)."""

from __future__ import annotations

from typing import Any

from .grading import NONFINITE, REGION_LABELS, GradeStats
from .scan import ScanResult


def format_ulp(v: float) -> str:
    if v == float("inf"):
        return "inf"
    if v == 0:
        return "0"
    if v < 10:
        return f"{v:.3g}"
    return f"{v:.3g}" if v < 1e6 else f"{v:.2e}"


def summary_row(name: str, s: GradeStats) -> dict[str, Any]:
    """The headline numbers of one implementation: over finite inputs, plus the non-finite ones."""
    nf = s.regions[NONFINITE]
    return {
        "impl": name,
        "inputs": s.count,
        "finite_inputs": s.finite_count,
        "finite_not_correctly_rounded": s.finite_wrong,
        "fraction_correctly_rounded": s.finite_correct / s.finite_count if s.finite_count else float("nan"),
        "worst_ulp": s.max_ulp,
        "worst_x": s.worst_x,
        "worst_computed": s.worst_computed,
        "worst_expected": s.worst_expected,
        "within_1_ulp": s.within_one_ulp,
        "flushed_to_zero": s.flushed_to_zero,
        "overflowed": s.overflowed,
        "nan_mismatch": s.nan_mismatch,
        "signed_zero_mismatch": s.signed_zero_mismatch,
        "nonfinite_inputs_wrong": nf.count - nf.correct,
    }


def scan_summary(result: ScanResult) -> dict[str, Any]:
    """Everything a reader needs from one scan, JSON-ready (the CLI's --json output)."""
    spec = result.spec
    ref = result.reference
    return {
        "function": spec.function,
        "order": spec.order,
        "dtype": spec.dtype,
        "exhaustive": spec.is_exhaustive,
        "ordinal_range": [spec.start, spec.stop],
        "stride": spec.stride,
        "complete": result.complete,
        "inputs_done": result.inputs_done,
        "inputs_total": spec.n_inputs,
        "wall_seconds": result.wall_seconds,
        "compute_seconds": result.compute_seconds,
        "cpu_seconds": result.cpu_seconds,
        "cpu_seconds_per_million": 1e6 * result.cpu_seconds / result.inputs_done if result.inputs_done else None,
        "workers": result.workers,
        "updated_at": result.updated_at,
        "reference": {
            "escalated_to_mpmath": ref.escalated,
            "escalated_fraction": ref.escalated / result.inputs_done if result.inputs_done else 0.0,
            "ties_resolved_by_taylor": ref.tie_resolved,
            "decided_in_long_double": ref.long_double,
            "cross_checked": ref.cross_checked,
            "bound_violations": ref.bound_violations,
            "cross_worst_float64_ulps": ref.cross_worst_float64_ulps,
            "verified_against_mpmath": ref.verified,
            "verify_failures": ref.verify_failures,
            "verify_worst_float64_ulps": ref.verify_worst_float64_ulps,
            "escalated_examples": ref.escalated_examples,
        },
        "skipped": result.skipped,
        "summary": [summary_row(n, s) for n, s in result.results.items()],
        "regions": {n: {k: _region(s, k) for k in REGION_LABELS} for n, s in result.results.items()},
        "worst_examples": {n: s.examples for n, s in result.results.items()},
        "histogram": {n: s.histogram for n, s in result.results.items()},
    }


def _region(s: GradeStats, label: str) -> dict[str, Any]:
    r = s.regions[label]
    return {"inputs": r.count, "not_correctly_rounded": r.count - r.correct, "flushed_to_zero": r.flushed,
            "worst_ulp": r.max_ulp, "worst_x": r.worst_x}


def markdown_table(rows: list[tuple[str, ScanResult]]) -> str:
    """One line per (scan, implementation): label is the scan's description (dtype, order, scope)."""
    lines = ["| scan | impl | finite inputs | correctly rounded | worst ulp | at x | flushed to 0 | overflow |",
             "|---|---|---:|---:|---:|---|---:|---:|"]
    for label, result in rows:
        for name, s in result.results.items():
            row = summary_row(name, s)
            frac = row["fraction_correctly_rounded"]
            lines.append(
                f"| {label} | {name} | {row['finite_inputs']:,} | {frac:.6f} ({row['finite_not_correctly_rounded']:,}"
                f" wrong) | {format_ulp(row['worst_ulp'])} | `{row['worst_x']}` | {row['flushed_to_zero']:,} | "
                f"{row['overflowed']:,} |"
            )
    return "\n".join(lines)


def print_summary(result: ScanResult) -> None:
    """The terminal view: headline table, then the per-region table of every implementation."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(120, Console().width))
    d = scan_summary(result)
    spec = result.spec
    scope = "all inputs" if spec.is_exhaustive else f"ordinals [{spec.start}, {spec.stop}) stride {spec.stride}"
    state = "" if result.complete else f" — PARTIAL: {result.inputs_done:,} of {spec.n_inputs:,} inputs"
    table = Table(title=f"{spec.function} (derivative order {spec.order}) in {spec.dtype}, {scope}{state}")
    for col in ("impl", "finite inputs", "correctly rounded", "worst ulp", "at x", "got", "want", "≤1 ulp",
                "flushed to 0", "overflow", "NaN mismatch", "-0/+0"):
        table.add_column(col, overflow="fold")
    for row in d["summary"]:
        table.add_row(row["impl"], f"{row['finite_inputs']:,}",
                      f"{row['fraction_correctly_rounded']:.6f} ({row['finite_not_correctly_rounded']:,} wrong)",
                      format_ulp(row["worst_ulp"]), str(row["worst_x"]), str(row["worst_computed"]),
                      str(row["worst_expected"]), f"{row['within_1_ulp']:,}", f"{row['flushed_to_zero']:,}",
                      f"{row['overflowed']:,}", f"{row['nan_mismatch']:,}", f"{row['signed_zero_mismatch']:,}")
    console.print(table)
    regions = Table(title="by region of x: wrong / inputs, worst ulp, flushed to 0")
    regions.add_column("impl")
    for label in REGION_LABELS:
        regions.add_column(label, overflow="fold")
    for name, per in d["regions"].items():
        regions.add_row(name, *[f"{r['not_correctly_rounded']:,}/{r['inputs']:,}\n{format_ulp(r['worst_ulp'])} ulp"
                                f"\n{r['flushed_to_zero']:,} flushed" for r in per.values()])
    console.print(regions)
    ref = d["reference"]
    console.print(
        f"reference: gelulab's rounding decision; {ref['decided_in_long_double']:,} inputs decided in long double, "
        f"{ref['escalated_to_mpmath']:,} escalated to mpmath ({ref['escalated_fraction']:.2e} of those graded), "
        f"{ref['ties_resolved_by_taylor']:,} exact ties near 0 settled by the sign of the x² term; "
        f"{ref['verified_against_mpmath']:,} checked against mpmath"
        + (f" (worst float64 error {ref['verify_worst_float64_ulps']:.3g} ulp, "
           f"{len(ref['verify_failures'])} disagreements)" if ref["verified_against_mpmath"] else "")
        + (f"; float64 bound cross-checked on {ref['cross_checked']:,} inputs against long double (worst "
           f"{ref['cross_worst_float64_ulps']:.3g} ulp, {ref['bound_violations']:,} outside the bound)"
           if ref["cross_checked"] else "")
    )
    for name, reason in d["skipped"].items():
        console.print(f"skipped {name}: {reason}")
    rate = result.inputs_done / result.wall_seconds if result.wall_seconds else 0.0
    console.print(f"time: {result.wall_seconds:.1f} s wall on {result.workers} worker(s), {rate / 1e6:.2f} M inputs/s; "
                  f"{result.cpu_seconds:.1f} s CPU in the chunks")
