"""Report section: speed of gelulab's CPU ops against a copy and against torch, and their exactness.

Uses the stored ``gelulab bench`` JSON (``$GELULAB_BENCH`` or results/bench/cpu.json) when there is
one, saying how old it is; otherwise measures a small bench now (``--quick``: gelu only, two sizes).
Exactness is measured here every time: the fast kernels' outputs are compared bit for bit with
the correctly rounded NumPy reference on random inputs.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import numpy as np

from .section import ReportContext, Section, age_text

#: sizes shown in the report's table (all sizes are in the JSON and the plot)
_TABLE_SIZES = (1 << 10, 1 << 16, 1 << 20, 1 << 24, 1 << 26)


def _stored_path() -> Path:
    from ..bench.cpu import DEFAULT_OUT

    return Path(os.environ.get("GELULAB_BENCH", DEFAULT_OUT))


def _age(created: str) -> str:
    try:
        return age_text(datetime.fromisoformat(created))
    except (TypeError, ValueError):
        return "of unknown age"


def _load(value) -> str:
    return f"{value:.2f}" if isinstance(value, int | float) else "unknown"


def _exactness(n: int) -> list[str]:
    from ..functions import get, supported_dtypes
    from ..kernels import cpu
    from ..kernels.cpu import fast

    rng = np.random.default_rng(12345)
    x = np.concatenate([rng.standard_normal(n).astype(np.float32), (rng.standard_normal(n) * 4).astype(np.float32),
                        rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32).view(np.float32)])
    inputs = {"float32": x}
    for dtype in supported_dtypes():
        if dtype.itemsize == 2:
            inputs[dtype.name] = np.arange(1 << 16, dtype=np.uint16).view(dtype)  # every 16-bit input
    rows = ["| activation | dtype | f: mismatches | f': mismatches | inputs |", "|---|---|---|---|---|"]
    with np.errstate(all="ignore"):
        for name in fast.FAST_NAMES:
            for dtype_name, xs in inputs.items():
                counts = []
                for order in (0, 1):
                    got = cpu.forward(name, xs) if order == 0 else cpu.derivative_times(name, np.ones_like(xs), xs)
                    ref = np.asarray(get(name).evaluate(xs, order))
                    nan = np.isnan(got.astype(np.float32)) & np.isnan(ref.astype(np.float32))
                    same = (got.view(f"u{got.itemsize}") == ref.view(f"u{ref.itemsize}")) | nan
                    counts.append(int((~same).sum()))
                rows.append(f"| {name} | {dtype_name} | {counts[0]} | {counts[1]} | {xs.size} |")
    return rows


def _stored_16_bit(stored: Path) -> list[str]:
    """The 2^24 rows of stored 16-bit benches beside the float32 one (``gelulab bench --dtype``)."""
    from ..bench import cpu

    lines = []
    for dtype in ("float16", "bfloat16"):
        path = stored.with_name(f"{stored.stem}_{dtype}.json")
        result = cpu.load(path)
        if result is None:
            continue
        sizes = {r.size for r in result.rows}
        table = cpu.markdown_table(result, [max(sizes)])
        lines += ["", f"{dtype} (stored `{path}`, {_age(result.meta.get('created', ''))}):", "", table]
    return lines


def build(ctx: ReportContext) -> Section:
    from ..bench import cpu

    stored = _stored_path()
    result = cpu.load(stored)
    stored_used = result is not None
    if result is not None:
        source = (f"From the stored bench `{stored}` ({_age(result.meta.get('created', ''))}, measured "
                  f"{result.meta.get('created', '?')}, load average {_load(result.meta.get('load_average_before'))} "
                  f"before and {_load(result.meta.get('load_average_after'))} after, {result.meta.get('seconds')} s).")
    else:
        config = cpu.BenchConfig.quick() if ctx.quick else cpu.BenchConfig(
            sizes=(1 << 12, 1 << 18, 1 << 24), repeats=5, compile=False)
        result = cpu.run(config, progress=False)
        source = (f"Measured now ({'quick: ' if ctx.quick else ''}{len(config.sizes)} sizes, threads "
                  f"{list(config.threads)}, no torch.compile; load average {result.meta.get('load_average_before')}"
                  f"). No stored full bench was found at `{stored}`: `gelulab bench` writes one.")
    if not result.pool_off:
        source += (" This bench is from before the allocating forms were timed with the output pool off: in them "
                   "gelulab's outputs reused memory while torch's were fresh, so only `forward_out` compares like with "
                   "like; `gelulab bench` measures them again.")
    figure = cpu.plot(result, ctx.figures_dir / "speed_cpu.png")
    exact = _exactness(1 << (12 if ctx.quick else 18))
    text = "\n".join([
        "gelulab's CPU kernels for GELU, GELU-tanh and SiLU (float32, float16, bfloat16; elementwise and gated) "
        "evaluate in float64 and round once, with a rounding test that sends undecidable inputs to the exact "
        "path. In float32, blocks of 64 inputs that all lie within |x| <= 3.5 take one polynomial in x^2; "
        "other blocks take a fast erfc and exponential (GELU) or exponential and division. In float16 and "
        "bfloat16 the forward reads the "
        "correctly rounded value of the input's pattern from a table of all 65,536, and products (backward, "
        "gated forms) read the float64 value and error bound of f or f' from another. They run on torch's own "
        "OpenMP threads and write large outputs on transparent huge pages. "
        "`forward_out` times the kernels alone (gelulab's and torch's `aten` op both writing into a preallocated "
        "output); the allocating forms give every op fresh memory, gelulab's output pool off. A pooled figure, "
        "where measured (`gelulab bench --pool`), stands only beside torch given the same reuse (`forward_pooled`). "
        "Times are multiples of a copy of the same tensor in the same run (the memory roofline) and of torch's "
        "own op: the median over rounds of the ratio within a round (and its range over runs, where there were "
        "several); inputs are normal with standard deviation "
        f"{result.meta.get('config', {}).get('input_scale', 1.0):g}; gelulab's outputs {cpu.pool_text(result)}. "
        f"CPU: {result.meta.get('cpu') or 'unknown'} ({result.meta.get('machine') or 'unknown machine'}), "
        f"torch {result.meta.get('torch', '?')}. " + source,
        "",
        cpu.markdown_table(result, _TABLE_SIZES),
        *_stored_16_bit(stored),
        "",
        "Peak memory of forward + backward of the gated forms (resident-set high-water mark above the start; "
        "gelulab's backward saves only the input):",
        "",
        cpu.memory_table(result) or "_not measured_",
        "",
        "Exactness, measured now: outputs that differ in any bit from the correctly rounded reference "
        "(`get(name).evaluate`); float32 on random normal inputs (standard deviations 1 and 4) and uniformly random "
        "bit patterns, the 16-bit "
        "types on every one of their 65,536 inputs:",
        "",
        *exact,
    ])
    return Section(key="speed", title="Speed", markdown=text, rerun="gelulab bench", figures=[figure],
                   highlights=_highlights(cpu.summary_rows(result), exact, result.meta.get("cpu"), result.pool_off),
                   data_source=f"stored bench {stored}" if stored_used else "measured in this build")


_HIGHLIGHT_FORMS = {"forward_out": "kernel alone (out=)", "forward": "allocating", "forward_backward": "fwd + bwd",
                    "forward_pooled": "pooled, beside torch's out= on reused memory"}


def _highlights(rows: list[dict], exact: list[str], cpu_model: str | None = None,
                pool_off: bool = True) -> list[str]:
    """gelulab's time as a multiple of torch's, the kernel alone first, at the largest thread count:
    the smallest and the largest size measured."""
    from ..bench.cpu import ratio_text

    if not rows:
        return []
    threads = max(r["threads"] for r in rows)
    sizes = sorted({r["log2_size"] for r in rows})
    shown = sorted({sizes[0], sizes[-1]})
    where = f" on {cpu_model}" if cpu_model else ""
    out = []
    for name in dict.fromkeys(r["activation"] for r in rows):
        parts = []
        for form, label in _HIGHLIGHT_FORMS.items():
            cells = {r["log2_size"]: r for r in rows if r["activation"] == name and r["form"] == form
                     and r["threads"] == threads}
            if not cells:
                continue
            if form in ("forward", "forward_backward") and not pool_off:
                continue  # an older bench: gelulab on reused memory against torch on fresh pages
            parts.append(f"{label} " + ", ".join(f"2^{s}: {ratio_text(cells[s])}x" for s in shown if s in cells))
        if parts:
            out.append(f"CPU float32 {name}, gelulab's time / torch's, {threads} thread(s){where}: "
                       + "; ".join(parts) + ".")
    mismatches = sum(int(c) for line in exact[2:] for c in line.strip("|").split("|")[2:4])
    out.append(f"Fast kernels vs the correctly rounded reference, measured now: {mismatches} mismatching outputs.")
    return out
