"""A small CPU timing of GELU (exact and tanh) against ReLU, for the explainer's cost claims.

This is the measurement behind "the tanh approximation is faster" and "computation cost
slightly higher (due to erf/tanh)", made fresh in every run: ns per element of
``torch.nn.functional.gelu`` (approximate='none' and 'tanh') and ``relu``, and of gelulab's
NumPy ``gelu``, ``gelu_tanh`` and ``relu``, each beside a plain copy of the same array (the
memory-bound floor), as the median of repeated timings on one float32 array. It runs on one
thread so that a shared machine's load moves the numbers less; the full benchmarks with
rooflines live in ``gelulab bench``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import cache

import numpy as np

from ..functions import get

FULL_SIZE = 1 << 20
QUICK_SIZE = 1 << 15
FULL_REPEATS = 15
QUICK_REPEATS = 5


@dataclass(frozen=True)
class SpeedMeasurement:
    """Median ns/element per operation; ``ratios`` are the comparisons the claims use."""

    size: int
    repeats: int
    dtype: str
    threads: int
    ns_per_element: dict[str, float]
    spread: dict[str, tuple[float, float]]  # min and max ns/element over the repeats
    ratios: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def _time(fn: Callable[[], object], size: int, repeats: int) -> tuple[float, float, float]:
    fn()  # warm up (allocations, lazy initialisation, root patches)
    samples = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - start) / size)
    return statistics.median(samples), min(samples), max(samples)


def _operations(size: int) -> dict[str, Callable[[], object]]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(size).astype(np.float32) * 3
    ops: dict[str, Callable[[], object]] = {"numpy.copy": lambda: x.copy()}
    for key, name in (("gelulab.gelu", "gelu"), ("gelulab.gelu_tanh", "gelu_tanh"), ("gelulab.relu", "relu")):
        spec = get(name)
        ops[key] = lambda spec=spec: spec.evaluate(x, 0)
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:  # the NumPy timings still settle the gelulab side
        return ops
    t = torch.from_numpy(x)
    ops["torch.clone"] = lambda: t.clone()
    ops["torch.gelu.none"] = lambda: F.gelu(t, approximate="none")
    ops["torch.gelu.tanh"] = lambda: F.gelu(t, approximate="tanh")
    ops["torch.relu"] = lambda: F.relu(t)
    return ops


def _ratio(ns: dict[str, float], a: str, b: str) -> float | None:
    return ns[a] / ns[b] if a in ns and b in ns and ns[b] > 0 else None


@cache
def measure_speed(quick: bool = False) -> SpeedMeasurement:
    """Time every operation (see the module doc); cached per process and size."""
    size = QUICK_SIZE if quick else FULL_SIZE
    repeats = QUICK_REPEATS if quick else FULL_REPEATS
    threads = 1
    try:
        import torch

        previous = torch.get_num_threads()
        torch.set_num_threads(threads)
    except ImportError:
        torch, previous = None, None
    try:
        ns, spread = {}, {}
        for key, fn in _operations(size).items():
            med, lo, hi = _time(fn, size, repeats)
            ns[key], spread[key] = med, (lo, hi)
    finally:
        if torch is not None:
            torch.set_num_threads(previous)
    ratios = {
        "torch tanh / none": _ratio(ns, "torch.gelu.tanh", "torch.gelu.none"),
        "torch gelu(none) / relu": _ratio(ns, "torch.gelu.none", "torch.relu"),
        "torch gelu(tanh) / relu": _ratio(ns, "torch.gelu.tanh", "torch.relu"),
        "torch relu / clone": _ratio(ns, "torch.relu", "torch.clone"),
        "gelulab gelu_tanh / gelu": _ratio(ns, "gelulab.gelu_tanh", "gelulab.gelu"),
        "gelulab gelu / relu": _ratio(ns, "gelulab.gelu", "gelulab.relu"),
    }
    return SpeedMeasurement(size, repeats, "float32", threads, ns, spread,
                            {k: v for k, v in ratios.items() if v is not None})
