"""Scans: grade implementations on every input of a dtype (or a range / stride of them).

A scan is a ``ScanSpec`` (function, derivative order, dtype, implementations, a range of
ordinals with a stride) cut into chunks of ``chunk_size`` inputs. Each chunk is graded
independently (``grade_chunk``: the correctly rounded reference once, then every
implementation against it) and its ``GradeStats`` merge exactly, so chunks run in any order
over all cores (multiprocessing, spawn) and a scan interrupted at any point resumes from its
checkpoint: the result file, rewritten atomically (temporary file + rename) every few seconds
with the chunks done so far. A complete result file is reused, not recomputed.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..kernels.cpu.bounds import BoundCheck
from .formats import DType, dtype_info
from .grading import GradeStats, grade
from .implementations import resolve_implementation
from .oracle import correctly_rounded

SCAN_FORMAT = "gelulab-accuracy-scan/1"
DEFAULT_RESULTS_DIR = Path("results") / "accuracy"
CHECKPOINT_EVERY_S = 5.0


@dataclass(frozen=True)
class ScanSpec:
    """What to scan. Ordinals (see :mod:`gelulab.accuracy.formats`) run over [start, stop) by stride."""

    function: str
    order: int
    dtype: str
    impls: tuple[str, ...]
    start: int
    stop: int
    stride: int = 1
    chunk_size: int = 1 << 20
    verify_per_chunk: int = 0
    #: check the float64 bound on every input against long double (see :mod:`.oracle`)
    cross_check: bool = False

    def __post_init__(self) -> None:
        dt = dtype_info(self.dtype)
        if not 0 <= self.start < self.stop <= dt.count:
            raise ValueError(f"ordinal range [{self.start}, {self.stop}) is empty or outside [0, {dt.count})")
        if self.stride < 1 or self.chunk_size < 1:
            raise ValueError("stride and chunk size must be positive")

    @classmethod
    def exhaustive(cls, function: str, order: int, dtype: str, impls: Iterable[str], **kw: Any) -> ScanSpec:
        return cls(function, order, dtype, tuple(impls), 0, dtype_info(dtype).count, **kw)

    @classmethod
    def from_values(cls, function: str, order: int, dtype: str, impls: Iterable[str], lo: float, hi: float,
                    stride: int = 1, **kw: Any) -> ScanSpec:
        """Every stride-th dtype value in [lo, hi]."""
        dt = dtype_info(dtype)
        a, b = dt.ordinal(lo, "up"), dt.ordinal(hi, "down")
        if b < a:
            raise ValueError(f"no {dtype} value lies in [{lo!r}, {hi!r}]")
        return cls(function, order, dtype, tuple(impls), a, b + 1, stride, **kw)

    @property
    def dt(self) -> DType:
        return dtype_info(self.dtype)

    @property
    def n_inputs(self) -> int:
        return math.ceil((self.stop - self.start) / self.stride)

    @property
    def n_chunks(self) -> int:
        return math.ceil(self.n_inputs / self.chunk_size)

    @property
    def is_exhaustive(self) -> bool:
        return self.start == 0 and self.stop == self.dt.count and self.stride == 1

    def chunk_ordinals(self, i: int) -> np.ndarray:
        first = i * self.chunk_size
        last = min(first + self.chunk_size, self.n_inputs)
        return self.start + np.arange(first, last, dtype=np.int64) * self.stride

    def default_path(self, results_dir: Path = DEFAULT_RESULTS_DIR) -> Path:
        scope = "all" if self.is_exhaustive else f"o{self.start}-{self.stop}-s{self.stride}"
        impls = "+".join(i.replace(":", "_").replace("/", "_") for i in self.impls)
        checked = "-xc" if self.cross_check else ""
        function = re.sub(r"[^\w.=-]+", "_", self.function)  # parameterised names: "elu(alpha=0.5)" -> "elu_alpha=0.5_"
        return results_dir / f"{function}-d{self.order}-{self.dtype}-{scope}-{impls}{checked}.json"


@dataclass
class ReferenceStats:
    """How the reference was obtained over the inputs graded so far."""

    escalated: int = 0
    tie_resolved: int = 0
    verified: int = 0
    long_double: int = 0
    verify_worst_float64_ulps: float = 0.0
    cross_checked: int = 0
    bound_violations: int = 0
    cross_worst_float64_ulps: float = 0.0
    verify_failures: list[dict[str, str]] = field(default_factory=list)
    escalated_examples: list[str] = field(default_factory=list)

    def merge(self, o: ReferenceStats) -> None:
        self.escalated += o.escalated
        self.tie_resolved += o.tie_resolved
        self.long_double += o.long_double
        self.cross_checked += o.cross_checked
        self.bound_violations += o.bound_violations
        self.cross_worst_float64_ulps = max(self.cross_worst_float64_ulps, o.cross_worst_float64_ulps)
        self.verified += o.verified
        self.verify_worst_float64_ulps = max(self.verify_worst_float64_ulps, o.verify_worst_float64_ulps)
        self.verify_failures = (self.verify_failures + o.verify_failures)[:50]
        self.escalated_examples = (self.escalated_examples + o.escalated_examples)[:32]


@dataclass
class ChunkResult:
    index: int
    inputs: int
    seconds: float
    cpu_seconds: float
    reference: ReferenceStats
    stats: dict[str, GradeStats]
    #: the CPU kernels' error bounds checked against the cross-check's long double values
    kernel_bounds: BoundCheck | None = None


#: The compiled CPU kernels: a cross-checked float32 scan that grades them also checks their error
#: bounds (see _kernel_bounds); the campaign grades them beside gelulab's own functions.
KERNEL_IMPL = "gelulab-cpu"


def _kernel_bounds(spec: ScanSpec, x: np.ndarray, ref: Any) -> BoundCheck | None:
    """The CPU kernels' bounds at every cross-checked input, when the scan grades those kernels in
    float32 (:mod:`gelulab.kernels.cpu.bounds`): their roundings of any product then rest on it."""
    if not (spec.cross_check and KERNEL_IMPL in spec.impls and spec.dtype == "float32" and spec.order in (0, 1)
            and ref.wide_index is not None):
        return None
    from ..kernels.cpu import has_fast_kernel
    from ..kernels.cpu.bounds import MARGIN_ULPS, check

    if not has_fast_kernel(spec.function, np.float32):
        return None
    from ..functions.rounding import FLOAT64_ABSOLUTE_ERROR, FLOAT64_ERROR_ULPS

    xs = x.reshape(-1)
    keep = np.isfinite(ref.wide)
    wide_index = ref.wide_index[keep]
    # the rest (a derivative's root windows): the reference's float64 value, its bound added to the margin
    rest = np.ones(xs.size, bool)
    rest[ref.wide_index] = False
    rest &= np.isfinite(ref.exact) & np.isfinite(xs)
    rest_index = np.flatnonzero(rest)
    true = np.concatenate([ref.wide[keep], ref.exact[rest_index].astype(np.longdouble)])
    margin = np.concatenate([np.full(wide_index.size, MARGIN_ULPS),
                             np.full(rest_index.size, MARGIN_ULPS + FLOAT64_ERROR_ULPS)])
    return check(spec.function, np.concatenate([xs[wide_index], xs[rest_index]]), spec.order, true, margin,
                 FLOAT64_ABSOLUTE_ERROR if rest_index.size else 0.0)


def grade_chunk(spec: ScanSpec, index: int) -> ChunkResult:
    """Grade every implementation of ``spec`` on chunk ``index``."""
    start, cpu_start = time.perf_counter(), time.process_time()
    dt = spec.dt
    x = dt.from_ordinals(spec.chunk_ordinals(index))
    rng = np.random.default_rng([index, spec.start, spec.stride])
    ref = correctly_rounded(spec.function, x, spec.order, dt, verify=spec.verify_per_chunk, rng=rng,
                            cross_check=spec.cross_check)
    stats = {}
    for name in spec.impls:
        impl = resolve_implementation(name)
        with np.errstate(invalid="ignore"):  # ml_dtypes warns on NaN payload casts; NaNs are graded
            computed = impl.evaluate(spec.function, x, spec.order)
        stats[name] = grade(x, computed, ref.exact, ref.rounded, dt)
    rs = ReferenceStats(ref.escalated, ref.tie_resolved, ref.verified, ref.long_double,
                        ref.verify_worst_float64_ulps, ref.cross_checked, ref.bound_violations,
                        ref.cross_worst_float64_ulps, ref.verify_failures, ref.escalated_examples)
    bounds = _kernel_bounds(spec, x, ref)
    return ChunkResult(index, int(x.size), time.perf_counter() - start, time.process_time() - cpu_start, rs, stats,
                       bounds)


@dataclass
class ScanResult:
    """A scan's merged results so far; the JSON file is both the result and the checkpoint."""

    spec: ScanSpec
    done: set[int] = field(default_factory=set)
    inputs_done: int = 0
    compute_seconds: float = 0.0  # wall time summed over chunks (all workers)
    cpu_seconds: float = 0.0  # CPU time summed over chunks: what a scan costs on an idle machine
    wall_seconds: float = 0.0  # summed over sessions
    reference: ReferenceStats = field(default_factory=ReferenceStats)
    results: dict[str, GradeStats] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    started_at: str = field(default_factory=lambda: _now())
    updated_at: str = field(default_factory=lambda: _now())
    workers: int = 1
    #: wall seconds per machine (CPU model) that ran chunks: a scan resumed elsewhere says so
    machines: dict[str, float] = field(default_factory=dict)
    kernel_bounds: BoundCheck | None = None

    @property
    def complete(self) -> bool:
        return len(self.done) == self.spec.n_chunks

    def add(self, chunk: ChunkResult) -> None:
        self.done.add(chunk.index)
        self.inputs_done += chunk.inputs
        self.compute_seconds += chunk.seconds
        self.cpu_seconds += chunk.cpu_seconds
        self.reference.merge(chunk.reference)
        for name, s in chunk.stats.items():
            self.results.setdefault(name, GradeStats()).merge(s)
        if chunk.kernel_bounds is not None:
            if self.kernel_bounds is None:
                self.kernel_bounds = BoundCheck()
            self.kernel_bounds.merge(chunk.kernel_bounds)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": SCAN_FORMAT,
            "spec": asdict(self.spec),
            "complete": self.complete,
            "chunks_total": self.spec.n_chunks,
            "done_chunks": _ranges(sorted(self.done)),
            "inputs_total": self.spec.n_inputs,
            "inputs_done": self.inputs_done,
            "compute_seconds": self.compute_seconds,
            "cpu_seconds": self.cpu_seconds,
            "wall_seconds": self.wall_seconds,
            "workers": self.workers,
            "machines": self.machines,
            "started_at": self.started_at,
            "updated_at": self.updated_at,
            "reference": asdict(self.reference),
            "skipped": self.skipped,
            "results": {k: v.to_dict() for k, v in self.results.items()},
            "kernel_bounds": None if self.kernel_bounds is None else self.kernel_bounds.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ScanResult:
        if d.get("format") != SCAN_FORMAT:
            raise ValueError(f"not a gelulab accuracy scan file (format {d.get('format')!r})")
        spec = ScanSpec(**{**d["spec"], "impls": tuple(d["spec"]["impls"])})
        done = {i for a, b in d["done_chunks"] for i in range(a, b + 1)}
        return cls(spec=spec, done=done, inputs_done=d["inputs_done"], compute_seconds=d["compute_seconds"],
                   cpu_seconds=d.get("cpu_seconds", 0.0),
                   wall_seconds=d["wall_seconds"], reference=ReferenceStats(**d["reference"]),
                   results={k: GradeStats.from_dict(v) for k, v in d["results"].items()}, skipped=d["skipped"],
                   started_at=d["started_at"], updated_at=d["updated_at"], workers=d.get("workers", 1),
                   machines=dict(d.get("machines", {})),
                   kernel_bounds=BoundCheck.from_dict(d["kernel_bounds"]) if d.get("kernel_bounds") else None)

    def save(self, path: Path) -> None:
        """Write atomically: a crash mid-write leaves the previous checkpoint intact."""
        self.updated_at = _now()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(self.to_dict(), indent=1), encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> ScanResult:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else what the platform says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ranges(sorted_ints: list[int]) -> list[list[int]]:
    out: list[list[int]] = []
    for i in sorted_ints:
        if out and out[-1][1] == i - 1:
            out[-1][1] = i
        else:
            out.append([i, i])
    return out


def _check_supported(spec: ScanSpec) -> tuple[list[str], dict[str, str]]:
    usable, skipped = [], {}
    for name in spec.impls:
        reason = resolve_implementation(name).supports(spec.function, spec.order, spec.dt)
        if reason:
            skipped[name] = reason
        else:
            usable.append(name)
    return usable, skipped


def _worker_init() -> None:
    # one thread per process: the scan already uses every core through processes
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = "1"
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # torch is only needed when a torch implementation is graded
        pass


def _grade_task(args: tuple[ScanSpec, int]) -> ChunkResult:
    return grade_chunk(*args)


def _run_chunks_ray(spec: ScanSpec, todo: list[int], workers: int | None, address: str | None,
                    ) -> Iterator[ChunkResult]:
    """Chunks as Ray tasks on the cluster at ``address`` (a local one when None), at most ``workers``
    (default: the cluster's CPUs) in flight; results come back to this process, which keeps the
    checkpoint, so a scan started locally resumes on a cluster and the other way round."""
    from ..cluster import ray_session, require_ray

    try:
        require_ray()
    except ImportError as exc:
        raise ValueError(str(exc)) from None
    with ray_session(address) as ray:
        remote = ray.remote(num_cpus=1, max_retries=2)(grade_chunk)
        queue = list(todo)
        in_flight: set[Any] = set()
        limit = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        while queue or in_flight:
            while queue and len(in_flight) < limit:
                in_flight.add(remote.remote(spec, queue.pop(0)))
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            for ref in ready:
                in_flight.discard(ref)
                yield ray.get(ref)


def _run_chunks(spec: ScanSpec, todo: list[int], workers: int) -> Iterator[ChunkResult]:
    if workers <= 1 or len(todo) <= 1:
        for i in todo:
            yield grade_chunk(spec, i)
        return
    import multiprocessing as mp

    ctx = mp.get_context("spawn")  # fork after torch/OpenMP initialisation can deadlock
    with ctx.Pool(workers, initializer=_worker_init) as pool:
        yield from pool.imap_unordered(_grade_task, [(spec, i) for i in todo], chunksize=1)


def run_scan(
    spec: ScanSpec,
    path: Path | None = None,
    workers: int | None = None,
    progress: bool = True,
    fresh: bool = False,
    max_seconds: float | None = None,
    use_ray: bool = False,
    ray_address: str | None = None,
) -> ScanResult:
    """Run (or resume, or reuse) a scan; write its result file at ``path`` if given.

    With ``max_seconds`` the scan stops after the first chunk finishing past that time and
    saves a partial (resumable) result. With ``use_ray`` the chunks run as Ray tasks on the
    cluster at ``ray_address`` (a local one started for the scan when None).
    """
    usable, skipped = _check_supported(spec)
    run_spec = ScanSpec(**{**asdict(spec), "impls": tuple(usable)})
    result = None
    if path is not None and path.exists() and not fresh:
        result = ScanResult.load(path)
        if result.spec != run_spec:
            raise ValueError(f"{path} holds a scan of {result.spec}; pass --fresh or another --out to start over")
        if result.complete:
            return result
    if result is None:
        result = ScanResult(spec=run_spec, skipped=skipped)
    if not usable:
        return result
    if not use_ray:
        workers = workers or os.cpu_count() or 1
    result.workers = workers or 0  # 0: as many as the Ray cluster has CPUs
    todo = [i for i in range(run_spec.n_chunks) if i not in result.done]
    t0 = time.perf_counter()
    machine = cpu_model()
    machine_before = result.machines.get(machine, 0.0)
    wall_before = result.wall_seconds
    inputs_before = result.inputs_done
    last_save = t0
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TimeRemainingColumn()]
    label = f"{spec.function} d{spec.order} {spec.dtype}"
    with Progress(*columns, console=Console(stderr=True), disable=not progress, transient=False) as bar:
        task = bar.add_task(label, total=run_spec.n_inputs, completed=result.inputs_done, rate="")
        chunks = (_run_chunks_ray(run_spec, todo, workers, ray_address) if use_ray
                  else _run_chunks(run_spec, todo, workers))
        try:
            for chunk in chunks:
                result.add(chunk)
                now = time.perf_counter()
                result.wall_seconds = wall_before + (now - t0)
                result.machines[machine] = machine_before + (now - t0)
                done_now = result.inputs_done
                rate = (done_now - inputs_before) / max(now - t0, 1e-9)
                bar.update(task, completed=done_now, rate=f"{rate / 1e6:.2f} M/s")
                if path is not None and (now - last_save > CHECKPOINT_EVERY_S):
                    result.save(path)
                    last_save = now
                if max_seconds is not None and now - t0 > max_seconds:
                    break
        finally:
            chunks.close()  # stops the worker pool or the Ray tasks of a scan cut short
            result.wall_seconds = wall_before + (time.perf_counter() - t0)
            result.machines[machine] = machine_before + (time.perf_counter() - t0)
            if path is not None:
                result.save(path)
    return result

