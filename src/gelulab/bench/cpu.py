"""CPU throughput of gelulab's ops against a plain copy and against torch's own ops, same run.

Every time is a median over repeats, and is reported as a ratio to a copy of the same tensor
measured in the same run at the same size and thread count (the memory roofline: an
elementwise op reads and writes what a copy does), and as a ratio to torch's op (eager, and
``torch.compile`` of the same eager code). Each ratio is the median over rounds of the ratio
within a round (every round times each implementation once, back to back), which drift of the
machine's speed between rounds does not bias. Three forms, the kernel alone first:

* ``forward_out``: the preallocated form, ``f(x, out=y)``, against ``y.copy_(x)``; torch's peer is
  its ``aten.<op>.out``: the kernels alone, compared as kernels;
* ``forward``: the allocating op, ``y = f(x)``, against ``x.clone()``. A fresh output is page-faulted
  in on first touch, which on Linux costs as much as the copy itself at large sizes;
* ``forward_backward``: ``f(x).backward(g)`` against ``x.clone()``.

gelulab's output pool (``gelulab.torch.pool``) is off in all three, so every allocating op of
gelulab, torch and the copy gets fresh memory alike. ``pool=True`` (``gelulab bench --pool``) adds
``forward_pooled``: gelulab's allocating op with the pool on, beside the same reuse for its peers
(torch's ``aten.<op>.out`` and ``copy_`` into one preallocated output), never beside fresh pages.
``runs`` > 1 repeats the whole measurement and keeps every run's ratios, so each cell has a range.

Peak memory of forward + backward is measured for the gated forms (GEGLU, SwiGLU) against eager
torch (``act(a) * b``): the resident-set high-water mark (``/proc/self/status`` VmHWM, reset
through ``/proc/self/clear_refs``) above the resident set before the step.

    gelulab bench                         # gelu, gelu_tanh, silu; 2^10..2^26; 1 and 2 threads
    gelulab bench --quick --json          # a small run
"""

from __future__ import annotations

import contextlib
import math
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DEFAULT_OUT = Path("results") / "bench" / "cpu.json"
DEFAULT_ACTIVATIONS = ("gelu", "gelu_tanh", "silu")
DEFAULT_SIZES = tuple(1 << e for e in range(10, 27, 2))
QUICK_SIZES = (1 << 10, 1 << 14)
FORMS = ("forward_out", "forward", "forward_backward")
#: with ``pool``: gelulab's allocating op on reused memory, its peers writing into reused memory too
POOLED_FORM = "forward_pooled"
ALL_FORMS = (*FORMS, POOLED_FORM)
GATED = ("geglu", "swiglu")
#: A sample lasts at least this long (small sizes repeat the call inside one sample).
MIN_SAMPLE_S = 2e-3
#: Seconds of untimed calls at the largest size before the first sample. A process's first large
#: outputs page-fault in more slowly than later ones (free huge pages and the memory behind them
#: are not yet at hand): measured here, gelulab's allocating GELU at 2^24 took 28 ms for its first
#: six calls and 20 ms after, so whichever activation the bench timed first looked 1.3x slower.
SETTLE_S = 2.0


@dataclass
class BenchConfig:
    activations: Sequence[str] = DEFAULT_ACTIVATIONS
    sizes: Sequence[int] = DEFAULT_SIZES
    threads: Sequence[int] = (1, 2)
    repeats: int = 9
    compile: bool = True
    memory_size: int = 1 << 24
    memory_fresh_processes: bool = True
    dtype: str = "float32"
    #: standard deviation of the normal inputs: the CPU kernels' speed depends on it (blocks of
    #: inputs within |x| <= 3.5 take a cheaper form), torch's does not
    input_scale: float = 1.0
    #: untimed calls before the first sample, in seconds (see SETTLE_S)
    settle_s: float = SETTLE_S
    #: also time gelulab's allocating forward with its output pool on (``forward_pooled``), beside
    #: torch and a copy writing into reused memory; the three forms above always run with it off
    pool: bool = False
    #: whole measurements, one after the other; every cell keeps each run's ratios (its range)
    runs: int = 1

    @classmethod
    def quick(cls) -> BenchConfig:
        return cls(activations=("gelu",), sizes=QUICK_SIZES, threads=(min(2, os.cpu_count() or 1),), repeats=3,
                   compile=False, memory_size=1 << 18, memory_fresh_processes=False, settle_s=0.0)


@dataclass
class Row:
    activation: str
    form: str
    impl: str  # copy | gelulab | torch | torch_compile
    size: int
    threads: int
    seconds: float
    ratio_copy: float = math.nan
    ratio_torch: float = math.nan
    #: per run (``BenchConfig.runs``): the ratios above are their medians
    runs_copy: list[float] = field(default_factory=list)
    runs_torch: list[float] = field(default_factory=list)


@dataclass
class BenchResult:
    rows: list[Row] = field(default_factory=list)
    memory: list[dict[str, Any]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"meta": self.meta, "rows": [asdict(r) for r in self.rows], "memory": self.memory}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BenchResult:
        return cls([Row(**r) for r in data["rows"]], list(data.get("memory", [])), dict(data.get("meta", {})))

    @property
    def pool_off(self) -> bool:
        """Whether the standard forms ran without the output pool (runs from before the split did not)."""
        return self.meta.get("standard_forms_pool_bytes", self.meta.get("pool_limit_bytes", 1)) == 0


# --- timing ----------------------------------------------------------------------------------------

def _number(fn: Callable[[], Any]) -> int:
    """Calls per sample so that one sample lasts about MIN_SAMPLE_S."""
    fn()
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-7)
    return max(1, min(10_000, math.ceil(MIN_SAMPLE_S / once)))


def sample_times(fns: dict[str, Callable[[], Any]], repeats: int) -> dict[str, list[float]]:
    """Seconds per call of each function, one sample per round, rounds run round-robin."""
    numbers = {k: _number(f) for k, f in fns.items()}
    samples: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for key, fn in fns.items():
            n = numbers[key]
            start = time.perf_counter()
            for _ in range(n):
                fn()
            samples[key].append((time.perf_counter() - start) / n)
    return samples


def settle(fns: Sequence[Callable[[], Any]], seconds: float) -> int:
    """Call the functions round-robin, untimed, for about ``seconds``; the rounds run (at least one
    when seconds > 0)."""
    rounds = 0
    end = time.perf_counter() + seconds
    while seconds > 0 and (rounds == 0 or time.perf_counter() < end):
        for fn in fns:
            fn()
        rounds += 1
    return rounds


def paired_ratio(samples: list[float], baseline: list[float]) -> float:
    """Median over rounds of the time / the baseline's time in the same round.

    On a machine whose speed drifts (other load, a virtual machine's memory), the ratio within a
    round is steadier than the ratio of two medians taken over different moments.
    """
    return statistics.median(a / b for a, b in zip(samples, baseline, strict=True))


def load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


# --- the peers -------------------------------------------------------------------------------------

#: torch's own op for each activation the bench compares (registry names).
COMPARABLE = ("gelu", "gelu_tanh", "silu")


def _torch_eager(name: str) -> Callable:
    import torch.nn.functional as F

    if name == "gelu":
        return F.gelu
    if name == "gelu_tanh":
        return lambda x: F.gelu(x, approximate="tanh")
    if name == "silu":
        return F.silu
    raise ValueError(f"gelulab bench: torch has no op of its own for {name!r} to compare with; "
                     f"use one of {', '.join(COMPARABLE)}")


def _torch_out(name: str) -> Callable:
    import torch

    if name in ("gelu", "gelu_tanh"):
        approximate = "tanh" if name == "gelu_tanh" else "none"
        return lambda x, out: torch.ops.aten.gelu.out(x, approximate=approximate, out=out)
    return lambda x, out: torch.ops.aten.silu.out(x, out=out)


#: dtypes the bench times (torch names)
DTYPES = ("float32", "float16", "bfloat16")


def _cases(name: str, size: int, use_compile: bool, compiled: dict,
           dtype: str = "float32", input_scale: float = 1.0, pooled: bool = False) -> dict[str, dict[str, Callable]]:
    import torch

    from ..torch import functional as gtf

    x = (torch.randn(size) * input_scale).to(getattr(torch, dtype))
    out = torch.empty_like(x)
    xg = x.clone().requires_grad_()
    grad = torch.randn(size).to(x.dtype)
    eager = _torch_eager(name)
    eager_out = _torch_out(name)

    def fwd_bwd(fn: Callable) -> Callable:
        def step() -> None:
            xg.grad = None
            fn(xg).backward(grad)

        return step

    if pooled:  # gelulab allocating on reused memory; its peers write into one reused output
        return {POOLED_FORM: {"copy": lambda: out.copy_(x), "gelulab": lambda: gtf.activation(x, name),
                              "torch": lambda: eager_out(x, out)}}
    forms: dict[str, dict[str, Callable]] = {
        "forward_out": {"copy": lambda: out.copy_(x), "gelulab": lambda: gtf.activation(x, name, out=out),
                        "torch": lambda: eager_out(x, out)},
        "forward": {"copy": x.clone, "gelulab": lambda: gtf.activation(x, name), "torch": lambda: eager(x)},
        "forward_backward": {"copy": x.clone, "gelulab": fwd_bwd(lambda t: gtf.activation(t, name)),
                             "torch": fwd_bwd(eager)},
    }
    if use_compile:
        if name not in compiled:
            compiled[name] = torch.compile(eager, dynamic=True)
        fn = compiled[name]
        forms["forward"]["torch_compile"] = lambda: fn(x)
        forms["forward_backward"]["torch_compile"] = fwd_bwd(fn)
    return forms


def _set_threads(n: int) -> None:
    import torch

    from ..kernels.cpu import runtime

    torch.set_num_threads(n)
    runtime.set_threads(n)


# --- memory ----------------------------------------------------------------------------------------

def _status_kib(field_name: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _trim_heap() -> None:
    """Give free heap memory back to the OS (glibc), so a step's allocations fault in fresh pages."""
    import ctypes
    import ctypes.util

    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)


def peak_bytes(step: Callable[[], Any]) -> int | None:
    """Resident-set high-water mark above the resident set before ``step`` (Linux), in bytes."""
    _trim_heap()
    if not _reset_peak():
        return None
    before = _status_kib("VmRSS")
    step()
    peak = _status_kib("VmHWM")
    if before is None or peak is None:
        return None
    return max(0, peak - before) * 1024


def _fixed_mmap_threshold() -> None:
    """Make glibc serve (and return) every large block with mmap.

    By default glibc raises its mmap threshold after large frees and keeps freed blocks in the
    heap, so a second forward+backward reuses resident memory and its peak reads as zero.
    """
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-3, 1 << 17)  # M_MMAP_THRESHOLD = 128 KiB, fixed
    except (OSError, AttributeError):  # not glibc: peaks may read low after the first run
        pass


def _gated_peak_here(op: str, impl: str, size: int) -> dict[str, Any]:
    """One peak-memory measurement in this process (run by gated_memory in a fresh one)."""
    import torch
    import torch.nn.functional as F

    from ..torch import functional as gtf
    from ..torch.pool import empty_cache

    _fixed_mmap_threshold()
    width = 8192
    x0 = torch.randn(max(1, size // width), width)
    grad = torch.randn(x0.shape[0], width // 2)
    half = width // 2
    fns = {("geglu", "gelulab"): gtf.geglu, ("swiglu", "gelulab"): gtf.swiglu,
           ("geglu", "torch"): lambda t: F.gelu(t[..., :half]) * t[..., half:],
           ("swiglu", "torch"): lambda t: F.silu(t[..., :half]) * t[..., half:]}
    fn = fns[(op, impl)]
    # a full-size warm-up: loads every kernel (numba's compiled code costs tens of MiB once) and
    # starts the thread pool outside the measurement
    warm = x0.clone().requires_grad_()
    fn(warm).backward(grad)
    del warm
    empty_cache()  # the step's outputs then take fresh memory, as torch's do
    x = x0.clone().requires_grad_()
    peak = peak_bytes(lambda: fn(x).backward(grad))
    return {"op": op, "impl": impl, "elements": int(x0.numel()), "input_bytes": int(x0.numel() * 4),
            "peak_bytes": peak}


def gated_memory(size: int, fresh_processes: bool = True, pool: bool = True) -> list[dict[str, Any]]:
    """Peak memory of forward+backward of GEGLU and SwiGLU (x of ``size`` elements), gelulab vs eager.

    With ``fresh_processes`` each case runs in a new Python process (~5 s each), so no allocator
    state carries over between cases; without, all run here (for quick runs and tests).
    """
    import json
    import subprocess
    import sys

    rows = []
    for op in GATED:
        for impl in ("gelulab", "torch"):
            if not fresh_processes:
                rows.append(_gated_peak_here(op, impl, size))
                continue
            code = ("import json; from gelulab.bench.cpu import _gated_peak_here; "
                    f"print(json.dumps(_gated_peak_here({op!r}, {impl!r}, {int(size)})))")
            env = dict(os.environ) | ({} if pool else {"GELULAB_POOL_MIB": "0"})
            done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, env=env)
            if done.returncode != 0:
                rows.append({"op": op, "impl": impl, "elements": size, "input_bytes": size * 4, "peak_bytes": None,
                             "error": done.stderr.strip().splitlines()[-1:]})
                continue
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return rows


# --- the run ---------------------------------------------------------------------------------------

def run(config: BenchConfig, progress: bool = True) -> BenchResult:
    """Time every (activation, form, impl, size, threads), ``config.runs`` times, and measure gated
    peak memory. The output pool is off for the standard forms (see the module docstring)."""
    import torch
    from rich.progress import Progress

    from ..functions import resolve
    from ..kernels.cpu import runtime
    from ..torch import pool

    activations = [resolve(a) for a in config.activations]
    for a in activations:
        _torch_eager(a)  # fail early, with the list of comparable ops
    if config.runs < 1:
        raise ValueError(f"runs must be at least 1, got {config.runs}")
    result = BenchResult()
    result.meta = _meta(config)
    compiled: dict[str, Callable] = {}
    start_threads, start_kernel_threads = torch.get_num_threads(), runtime._threads
    start_pool = pool.stats()["limit_bytes"]
    pooled_limit = start_pool or pool.default_limit() or 1 << 30
    total = config.runs * len(activations) * len(config.sizes) * len(config.threads)
    samples_of: dict[tuple, list[dict[str, list[float]]]] = {}
    try:
        pool.set_limit(0)
        result.meta["standard_forms_pool_bytes"] = result.meta["pool_limit_bytes"] = 0
        if config.pool:
            result.meta["pooled_form_pool_bytes"] = pooled_limit
        if config.memory_size:  # first: the timings' large frees would leave resident heap behind
            result.memory = gated_memory(config.memory_size, config.memory_fresh_processes, pool=False)
        with Progress(disable=not progress, transient=True) as bar:
            task = bar.add_task("bench", total=total)
            if config.settle_s > 0:
                bar.update(task, description=f"bench: settling for {config.settle_s:g} s")
                _set_threads(max(config.threads))
                warm = _cases(activations[0], max(config.sizes), False, {}, config.dtype, config.input_scale)
                result.meta["settle_rounds"] = settle(
                    [fn for form in ("forward", "forward_backward") for fn in warm[form].values()], config.settle_s)
                del warm
            for run_index in range(config.runs):
                for threads in config.threads:
                    _set_threads(threads)
                    for name in activations:
                        for size in config.sizes:
                            bar.update(task, description=f"bench run {run_index + 1}/{config.runs}: {name} "
                                                         f"2^{int(math.log2(size))} {threads} thr")
                            cases = _cases(name, size, config.compile, compiled, config.dtype, config.input_scale)
                            for form, fns in cases.items():
                                samples_of.setdefault((name, form, size, threads), []).append(
                                    sample_times(fns, config.repeats))
                            del cases
                            if config.pool:
                                pool.set_limit(pooled_limit)
                                try:
                                    pooled = _cases(name, size, False, compiled, config.dtype, config.input_scale,
                                                    pooled=True)
                                    samples_of.setdefault((name, POOLED_FORM, size, threads), []).append(
                                        sample_times(pooled[POOLED_FORM], config.repeats))
                                    del pooled
                                finally:
                                    pool.set_limit(0)
                            bar.advance(task)
    finally:
        _set_threads(start_threads)
        runtime.set_threads(start_kernel_threads)
        pool.set_limit(start_pool)
    for (name, form, size, threads), runs in samples_of.items():
        for impl in runs[0]:
            per_copy = [paired_ratio(r[impl], r["copy"]) for r in runs]
            per_torch = [paired_ratio(r[impl], r["torch"]) for r in runs]
            result.rows.append(Row(name, form, impl, size, threads,
                                   statistics.median(t for r in runs for t in r[impl]),
                                   statistics.median(per_copy), statistics.median(per_torch), per_copy, per_torch))
    result.meta["load_average_after"] = load_average()
    result.meta["seconds"] = round(time.perf_counter() - result.meta.pop("_start"), 1)
    return result


def _meta(config: BenchConfig) -> dict[str, Any]:
    import numba
    import torch

    from ..report.section import environment

    env = environment()
    return {
        "_start": time.perf_counter(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": asdict(config) | {"activations": list(config.activations), "sizes": list(config.sizes),
                                    "threads": list(config.threads)},
        "load_average_before": load_average(),
        "torch": torch.__version__,
        "numba": numba.__version__,
        "cpu": env.get("cpu", platform.processor()),
        "machine": env.get("machine"),
    }


# --- storage and presentation ------------------------------------------------------------------------

def pool_text(result: BenchResult) -> str:
    """How gelulab's large outputs got their memory in this run, in words."""
    limit = result.meta.get("standard_forms_pool_bytes", result.meta.get("pool_limit_bytes"))
    if limit is None:
        return "on fresh memory (a run from before the output pool)"
    if limit != 0:  # a run from before the pool was kept out of the standard forms
        return f"on reused memory (output pool, up to {limit / 2**20:.0f} MiB idle), against torch on fresh memory"
    text = "on fresh memory, as torch's (output pool off)"
    pooled = result.meta.get("pooled_form_pool_bytes")
    if pooled:
        text += (f"; {POOLED_FORM}: with the pool (up to {pooled / 2**20:.0f} MiB idle) beside torch and the copy "
                 "writing into one reused output")
    return text


def save(result: BenchResult, path: Path | str = DEFAULT_OUT) -> Path:
    import json

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.to_json(), indent=1))
    return path


def load(path: Path | str = DEFAULT_OUT) -> BenchResult | None:
    import json

    path = Path(path)
    if not path.is_file():
        return None
    return BenchResult.from_json(json.loads(path.read_text()))


def summary_rows(result: BenchResult) -> list[dict[str, Any]]:
    """One row per (activation, form, size, threads): gelulab's time and its ratios, and the peers'."""
    keyed: dict[tuple, dict[str, Row]] = {}
    for r in result.rows:
        keyed.setdefault((r.activation, r.form, r.size, r.threads), {})[r.impl] = r
    out = []
    order = {f: i for i, f in enumerate(ALL_FORMS)}
    for (name, form, size, threads), impls in sorted(keyed.items(), key=lambda kv: (kv[0][0], order.get(kv[0][1], 9),
                                                                                    kv[0][3], kv[0][2])):
        ours = impls.get("gelulab")
        runs = ours.runs_torch if ours and ours.runs_torch else ([ours.ratio_torch] if ours else [])
        row = {"activation": name, "form": form, "log2_size": int(math.log2(size)), "threads": threads,
               "copy_ms": impls["copy"].seconds * 1e3,
               "gelulab_x_copy": ours.ratio_copy if ours else math.nan,
               "torch_x_copy": impls["torch"].ratio_copy,
               "compile_x_copy": impls["torch_compile"].ratio_copy if "torch_compile" in impls else math.nan,
               "gelulab_x_torch": ours.ratio_torch if ours else math.nan,
               "gelulab_x_torch_min": min(runs) if runs else math.nan,
               "gelulab_x_torch_max": max(runs) if runs else math.nan, "runs": len(runs)}
        out.append(row)
    return out


def ratio_text(row: dict[str, Any]) -> str:
    """gelulab / torch of a summary row: the median, with its range over runs when there were several."""
    if row.get("runs", 1) > 1:
        return f"{row['gelulab_x_torch']:.2f} ({row['gelulab_x_torch_min']:.2f}–{row['gelulab_x_torch_max']:.2f})"
    return f"{row['gelulab_x_torch']:.2f}"


def markdown_table(result: BenchResult, sizes: Sequence[int] | None = None) -> str:
    """The summary as a Markdown table (times as multiples of the same run's copy)."""
    lines = ["| activation | form | size | threads | copy (ms) | gelulab ×copy | torch ×copy | compile ×copy "
             "| gelulab / torch (range over runs) |", "|---|---|---|---|---|---|---|---|---|"]
    for r in summary_rows(result):
        if sizes is not None and (1 << r["log2_size"]) not in sizes:
            continue
        lines.append(f"| {r['activation']} | {r['form']} | 2^{r['log2_size']} | {r['threads']} | {r['copy_ms']:.3f} "
                     f"| {r['gelulab_x_copy']:.2f} | {r['torch_x_copy']:.2f} | {_fmt(r['compile_x_copy'])} "
                     f"| {ratio_text(r)} |")
    return "\n".join(lines)


def memory_table(result: BenchResult) -> str:
    if not result.memory:
        return ""
    lines = ["| op | impl | elements | peak above start (MiB) | × input |", "|---|---|---|---|---|"]
    for m in result.memory:
        peak = m["peak_bytes"]
        text = "n/a" if peak is None else f"{peak / 2**20:.0f} | {peak / m['input_bytes']:.2f}"
        lines.append(f"| {m['op']} | {m['impl']} | {m['elements']} | {text} |")
    return "\n".join(lines)


_FORM_TITLES = {"forward": "forward (allocating)", "forward_out": "forward (out=, the kernel alone)",
                "forward_backward": "forward + backward", POOLED_FORM: "forward, pooled vs torch out= (reused)"}


def _fmt(v: float) -> str:
    return "–" if v != v else f"{v:.2f}"


def plot(result: BenchResult, path: Path | str) -> Path:
    """Time as a multiple of the copy, against size: one panel per form, lines per implementation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    names = sorted({r.activation for r in result.rows})
    threads = sorted({r.threads for r in result.rows})
    forms = [f for f in ALL_FORMS if any(r.form == f for r in result.rows)]
    fig, axes = plt.subplots(len(names), len(forms), figsize=(4.2 * len(forms), 3.2 * len(names)), squeeze=False)
    styles = {"gelulab": "-", "torch": "--", "torch_compile": ":"}
    colours = {t: c for t, c in zip(threads, ("tab:blue", "tab:orange", "tab:green", "tab:red"), strict=False)}
    for i, name in enumerate(names):
        for j, form in enumerate(forms):
            ax = axes[i][j]
            for impl, style in styles.items():
                for t in threads:
                    pts = sorted((r.size, r.ratio_copy) for r in result.rows
                                 if r.activation == name and r.form == form and r.impl == impl and r.threads == t)
                    if pts:
                        ax.plot([p[0] for p in pts], [p[1] for p in pts], style, marker="o", ms=3,
                                color=colours.get(t), label=f"{impl}, {t} thr")
            ax.axhline(1.0, color="grey", lw=0.8)
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_title(f"{name}: {_FORM_TITLES[form]}", fontsize=9)
            ax.set_xlabel("elements")
            if j == 0:
                ax.set_ylabel("time / copy time")
            ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=7)
    dtype = result.meta.get("config", {}).get("dtype", "float32")
    fig.suptitle(f"CPU {dtype}: time as a multiple of a copy of the same tensor (lower is better)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
