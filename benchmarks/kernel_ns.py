"""Nanoseconds per element of the CPU kernels themselves, one thread, data in cache.

The span drivers of :mod:`gelulab.kernels.cpu` are called directly (no torch dispatch, no output
allocation, no threads) on standard normal inputs of 2^14 elements, beside torch's own forward
op on the same tensor (which includes its dispatch, a few microseconds per call). The best of
five timed loops is shown. For kernel work: the op-level speed is ``gelulab bench``.

    python benchmarks/kernel_ns.py
    python benchmarks/kernel_ns.py --dtype bfloat16 --activations gelu,silu
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import torch

from gelulab.kernels.cpu import fast, half, runtime
from gelulab.torch.tensors import as_numpy

N = 1 << 14


def per_element_ns(fn: Callable[[], object], loops: int, n: int = N) -> float:
    fn()
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        best = min(best, (time.perf_counter() - start) / loops / n * 1e9)
    return best


def kernels(name: str, x: np.ndarray, g: np.ndarray) -> dict[str, Callable[[], object]]:
    out = np.empty_like(x)
    if x.dtype == np.float32:
        kind = fast.KINDS[name]
        return {"forward": lambda: runtime.call(fast._forward_span, kind, x, out),
                "grad * f'": lambda: runtime.call(fast._backward_span, kind, g, x, out)}
    fmt = half.format_code(x.dtype)
    exact, products = half.tables(name, x.dtype)
    xb, gb, ob = x.view(np.uint16), g.view(np.uint16), out.view(np.uint16)
    return {"forward": lambda: runtime.call(half._forward_span, fmt, exact, xb, ob),
            "grad * f'": lambda: runtime.call(half._backward_span, fmt, products, gb, xb, ob)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", choices=("float32", "float16", "bfloat16"), default="float32")
    parser.add_argument("--activations", default=",".join(fast.FAST_NAMES))
    parser.add_argument("--loops", type=int, default=1000, help="calls per timed loop")
    args = parser.parse_args()
    torch.set_num_threads(1)
    runtime.set_threads(1)
    dtype = getattr(torch, args.dtype)
    xt = torch.randn(N, generator=torch.Generator().manual_seed(0)).to(dtype)
    gt = torch.randn(N, generator=torch.Generator().manual_seed(1)).to(dtype)
    x, g = as_numpy(xt), as_numpy(gt)
    torch_ops = {"gelu": lambda: torch.nn.functional.gelu(xt),
                 "gelu_tanh": lambda: torch.nn.functional.gelu(xt, approximate="tanh"),
                 "silu": lambda: torch.nn.functional.silu(xt)}
    print(f"ns per element, {args.dtype}, 2^14 standard normal elements, one thread")
    print("| activation | forward | grad * f' | torch forward |\n|---|---|---|---|")
    for name in args.activations.split(","):
        fns = kernels(name, x, g)
        cells = [per_element_ns(fns[k], args.loops) for k in ("forward", "grad * f'")]
        cells.append(per_element_ns(torch_ops[name], args.loops))
        print(f"| {name} | " + " | ".join(f"{c:.2f}" for c in cells) + " |")


if __name__ == "__main__":
    main()
