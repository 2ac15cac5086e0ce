"""Report section: how accurate is GELU in gelulab, PyTorch, NumPy/SciPy (and JAX), in ulps.

16-bit dtypes are scanned exhaustively (65,536 inputs, seconds); float32 by a strided sample of
the bit patterns, unless a stored exhaustive float32 scan exists. Stored scan files (written by
``gelulab accuracy``) are reused, per implementation, from ``<report>/accuracy`` and
``results/accuracy``; the section says which were reused and how old they are, computes what is
missing, and stores what it computed under ``<report>/accuracy`` for the next run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..accuracy import IMPLEMENTATIONS, ScanResult, ScanSpec, campaign, run_scan
from ..accuracy.grading import GradeStats
from ..accuracy.plot import plot_scan
from ..accuracy.scan import DEFAULT_RESULTS_DIR
from ..accuracy.summary import format_ulp
from .section import COMPUTED_NOW, ReportContext, Section, age_text

FUNCTION = "gelu"
DTYPES = ("float32", "bfloat16", "float16")
STRIDE = {True: 65_537, False: 4_097}  # float32 sample stride: quick / full
_LABEL = {0: "f", 1: "f′", 2: "f″"}


@dataclass
class Row:
    dtype: str
    order: int
    impl: str
    stats: GradeStats
    scope: str
    source: str  # "computed" or "stored <file>, <age>"


def _scope(result: ScanResult) -> str:
    s = result.spec
    if s.is_exhaustive:
        return "all inputs"
    return f"every {s.stride:,}th input ({s.n_inputs:,})" if s.start == 0 and s.stop == s.dt.count else "range"


def _age(updated_at: str) -> str:
    return age_text(datetime.strptime(updated_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC))


def _stored(dirs: list[Path], dtype: str, order: int) -> list[tuple[Path, ScanResult]]:
    """Complete stored scans of (gelu, order, dtype) over the whole dtype, best first (exhaustive, small stride)."""
    found = []
    for d in dirs:
        for path in sorted(d.glob(f"{FUNCTION}-d{order}-{dtype}-*.json")) if d.is_dir() else []:
            try:
                r = ScanResult.load(path)
            except (ValueError, KeyError, OSError):
                continue
            s = r.spec
            if r.complete and s.function == FUNCTION and s.order == order and s.start == 0 and s.stop == s.dt.count:
                found.append((path, r))
    return sorted(found, key=lambda pr: pr[1].spec.stride)


def _rows_for(ctx: ReportContext, dtype: str, order: int, impls: list[str],
              dirs: list[Path]) -> tuple[list[Row], ScanResult | None]:
    rows: list[Row] = []
    plotted: ScanResult | None = None
    stored = _stored(dirs, dtype, order)
    missing = list(impls)
    for path, r in stored:
        for name in [n for n in missing if n in r.results]:
            source = f"stored `{path.parent.name}/{path.name}`, {_age(r.updated_at)}"
            rows.append(Row(dtype, order, name, r.results[name], _scope(r), source))
            missing.remove(name)
            plotted = plotted or r
    if missing:
        if dtype == "float32":
            spec = ScanSpec(FUNCTION, order, dtype, tuple(missing), 0, 1 << 32, STRIDE[ctx.quick])
        else:
            spec = ScanSpec.exhaustive(FUNCTION, order, dtype, missing)
        path = ctx.out_dir / "accuracy" / spec.default_path(Path(".")).name
        r = run_scan(spec, path=path, workers=1, progress=False)
        for name, s in r.results.items():
            rows.append(Row(dtype, order, name, s, _scope(r), "computed"))
        plotted = plotted or r
    rank = {n: i for i, n in enumerate(impls)}
    rows.sort(key=lambda row: rank.get(row.impl, 99))
    return rows, plotted


def campaign_table() -> list[str]:
    """The exhaustive campaign's stored summaries: per dtype, every function and order, scanned or not."""
    from ..functions import names

    done = campaign.completed()
    lines = ["| dtype | function | " + " | ".join(_LABEL[o] for o in campaign.ORDERS) + " |",
             "|---|---|" + "---|" * len(campaign.ORDERS)]
    machines: set[str] = set()
    for dtype in ("float32", "float16", "bfloat16"):
        for name in names():
            rows = [done.get((name, order, dtype)) for order in campaign.ORDERS]
            machines |= {f"{r['cpu_model']}, {r['date']}" for r in rows if r is not None}
            cells = [_scan_cell(r) for r in rows]
            if any(c != "not scanned yet" for c in cells):
                lines.append(f"| {dtype} | {name} | " + " | ".join(cells) + " |")
    scanned = sum(1 for k in done)
    total = 3 * len(names()) * len(campaign.ORDERS)
    shape = f"{len(names())} functions × {len(campaign.ORDERS)} orders × 3 dtypes"
    lines += ["", f"{scanned} of {total} scans ({shape}) are complete; rows with no complete scan are left "
              "out. Machines: " + ("; ".join(sorted(machines)) or "none") + ".", "", *_kernel_table()]
    return lines


def _scan_cell(r: dict | None) -> str:
    """One campaign row as a table cell: inputs, wrong results, the kernels' bound check, wall time."""
    if r is None:
        return "not scanned yet"
    kb = r.get("kernel_bounds")
    bounds = f"; error bounds checked on {kb['checked']:,} inputs, {kb['violations']:,} outside" if kb else ""
    inputs = "2^32" if r["inputs"] == 1 << 32 else f"{r['inputs']:,}"
    return f"{inputs} inputs, {r['finite_wrong']:,} wrong{bounds} ({r['wall_seconds']:,.0f} s)"


def _kernel_table() -> list[str]:
    """The compiled CPU kernels' rows of the campaign: graded in the same scans, on the same reference."""
    kernels = campaign.completed(implementation=campaign.KERNEL_IMPL)
    lines = [f"The compiled CPU kernels (`--impl {campaign.KERNEL_IMPL}`: f(x) and grad·f′(x) with grad = 1, "
             "each rounded once) are graded in the same scans against the same reference; in float32 the "
             "error bounds their roundings rest on are checked too, on every input, against long double "
             "(which covers grad·f′ and f(a)·b for any other factor):", "",
             "| dtype | function | f | grad·f′ |", "|---|---|---|---|"]
    for dtype in ("float32", "float16", "bfloat16"):
        for name in ("gelu", "gelu_tanh", "silu"):
            cells = [_scan_cell(kernels.get((name, order, dtype))) for order in campaign.KERNEL_ORDERS]
            lines.append(f"| {dtype} | {name} | " + " | ".join(cells) + " |")
    return lines


def build(ctx: ReportContext) -> Section:
    from ..accuracy.implementations import resolve_implementation

    impls = [n for n in IMPLEMENTATIONS if not (ctx.quick and n == "jax")]
    skipped = {n: resolve_implementation(n).unavailable() for n in impls}
    impls = [n for n in impls if not skipped[n]]
    dirs = [ctx.out_dir / "accuracy", DEFAULT_RESULTS_DIR]
    orders = (0,) if ctx.quick else (0, 1)
    rows: list[Row] = []
    figures = []
    for order in orders:
        for dtype in DTYPES:
            got, scan = _rows_for(ctx, dtype, order, impls, dirs)
            rows += got
            if order == 0 and scan is not None and dtype in ("float32", "bfloat16"):
                figures.append(plot_scan(scan, ctx.figures_dir / f"accuracy_gelu_{dtype}.png"))
    table = ["| dtype | f | impl | inputs | correctly rounded | worst ulp | at x | flushed to 0 | overflow | data |",
             "|---|---|---|---|---:|---:|---|---:|---:|---|"]
    # Stored sources are long (file and age): the table cites them as [k], listed under it.
    notes: dict[str, int] = {}
    for r in rows:
        s = r.stats
        frac = s.finite_correct / s.finite_count if s.finite_count else float("nan")
        cite = r.source if r.source == "computed" else f"[{notes.setdefault(r.source, len(notes) + 1)}]"
        table.append(f"| {r.dtype} | {_LABEL[r.order]} | {r.impl} | {r.scope} | "
                     f"{frac:.6f} ({s.finite_wrong:,} wrong) | {format_ulp(s.max_ulp)} | `{s.worst_x}` | "
                     f"{s.flushed_to_zero:,} | {s.overflowed:,} | {cite} |")
    if notes:
        table += ["", "Data: " + "; ".join(f"[{k}] {src}" for src, k in notes.items()) + "."]
    missing = [f"- {n}: {why}" for n, why in skipped.items() if why]
    text = "\n".join([
        "Each implementation of GELU is graded against the correctly rounded result: gelulab's one rounding "
        "decision (the float64 kernel rounded once where its error bound allows it; otherwise decided in long "
        "double, by the tiny-x rule or by the mpmath oracle). "
        "*Correctly rounded* counts finite inputs whose result equals that value; *worst ulp* is the largest "
        "|computed − exact| in units in the last place of the dtype (inf: a finite exact value returned as "
        "inf or NaN); *flushed to 0* counts results returned as zero where the correctly rounded value is not. "
        "16-bit dtypes cover all 65,536 inputs; float32 a strided sample of the bit patterns unless a stored "
        "exhaustive scan exists (`gelulab accuracy --dtype float32 --exhaustive`).",
        "",
        *table,
        "",
        *(["Not graded here:", *missing, ""] if missing else []),
        "**Exhaustive campaign** (`python -m gelulab.accuracy.campaign run`): gelulab's own functions on "
        "*every* input of the dtype, each scan's float64 error bound cross-checked on every input against "
        "long double. Stored summaries, not recomputed by the report (wall time on the machine named):",
        "",
        *campaign_table(),
        "",
        "The plots show the worst error in each of 4,096 buckets of the bit pattern, against |x| on a log "
        "scale (negative x on the left); the dashed line is 0.5 ulp, the bound of correct rounding.",
    ])
    rerun = "gelulab accuracy --dtype bfloat16; gelulab accuracy --dtype float32 --exhaustive --impl gelulab torch"
    return Section(key="accuracy", title="Accuracy", markdown=text, rerun=rerun, figures=figures,
                   highlights=_highlights(rows), data_source=_data_source(rows))


def _highlights(rows: list[Row]) -> list[str]:
    """Per dtype, GELU itself (f): the fraction correctly rounded and the worst ulp of each implementation."""
    lines = []
    for dtype in DTYPES:
        got = [r for r in rows if r.dtype == dtype and r.order == 0]
        if not got:
            continue
        parts = []
        for r in got:
            s = r.stats
            frac = s.finite_correct / s.finite_count if s.finite_count else float("nan")
            parts.append(f"{r.impl} {100 * frac:.4f} % correctly rounded (worst {format_ulp(s.max_ulp)} ulp)")
        lines.append(f"GELU in {dtype} ({got[0].scope}): " + "; ".join(parts) + ".")
    return lines


def _data_source(rows: list[Row]) -> str:
    stored = sorted({r.source for r in rows if r.source != "computed"})
    if not stored:
        return COMPUTED_NOW
    computed = any(r.source == "computed" for r in rows)
    ages = sorted({src.rsplit(", ", 1)[-1] for src in stored})  # a source reads "stored `dir/file`, <age>"
    dirs = sorted({src.split("`")[1].split("/")[0] for src in stored if "`" in src})
    return (f"{len(stored)} stored scan file{'s' if len(stored) > 1 else ''} from {', '.join(dirs)}/ "
            f"({', '.join(ages)}; each row's file is cited under the table)" + ("; the rest computed in this build"
                                                                       if computed else ""))
