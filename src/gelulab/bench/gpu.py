"""GPU measurements of the Triton kernels: bandwidth against a device copy, and the exhaustive float32 scan.

Bandwidth: an elementwise activation on a GPU is pure memory traffic, so each op is timed beside
a device-to-device copy of the same number of bytes (read + written) in the same run, and
reported as GB/s and as the fraction of that copy's time (1.0 = copy speed). Peers: torch eager,
``torch.compile`` of the same eager code, and Liger-Kernel's GEGLU (tanh form) and SwiGLU when
``liger_kernel`` is importable. gelulab is timed twice: the full op (``gelulab``: the kernel plus
the hard-element check, which reads a counter and so synchronises once per call) and the kernel
alone (``gelulab-kernel``, ``repair=False``). Times are medians of ``triton.testing.do_bench``,
which clears the L2 cache before every call.

    python -m gelulab.bench.gpu bandwidth --json          # 2^20..2^28 elements, float32 and bfloat16
    python -m gelulab.bench.gpu scan --function gelu      # all 2^32 float32 inputs, f (add --derivative 1)

The scan grades the GPU kernel with the accuracy harness (:mod:`gelulab.accuracy`) as the
implementation ``gelulab.bench.gpu:TRITON.<name>_d<order>``, against the correctly rounded
reference, chunked, resumable and on every core. Without a CUDA device both commands stop with
one line that starts "no CUDA device:".
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..kernels import triton as gk

DEFAULT_SIZES = tuple(1 << e for e in range(20, 29, 2))
DEFAULT_OPS = ("gelu", "gelu_backward", "gelu_tanh", "silu", "relu", "bias_gelu", "geglu", "geglu_backward",
               "geglu_tanh", "swiglu", "swiglu_backward")
DTYPE_NAMES = ("float32", "bfloat16", "float16")
GATED_COLUMNS = 8192  # x = [a | b] rows of 2 x 4096: an LLM MLP's width
DEFAULT_OUT = Path("results") / "bench" / "gpu.json"


class GpuUnavailableError(RuntimeError):
    """No CUDA device (or no Triton) here: the message is one line, for the command line."""


def require_cuda() -> None:
    """Raise GpuUnavailableError with one line when the Triton kernels cannot run on a GPU here."""
    import torch

    if not torch.cuda.is_available():
        raise GpuUnavailableError(
            f"no CUDA device: torch {torch.__version__} sees no GPU (torch.cuda.is_available() is False); run this "
            "on a machine with an NVIDIA GPU and a CUDA build of torch")
    if not gk.triton_installed():
        raise GpuUnavailableError("no Triton: the GPU kernels need it (pip install triton)")


# --- the accuracy scan's implementation ------------------------------------------------------

class _TritonImplementations:
    """``TRITON.gelu_d0``, ``TRITON.silu_d1``, ...: NumPy in, the GPU kernel's result out (for the harness)."""

    def __getattr__(self, attr: str) -> Callable[[np.ndarray], np.ndarray]:
        name, _, order = attr.rpartition("_d")
        if name not in gk.NAMES or order not in ("0", "1"):
            raise AttributeError(f"no Triton implementation {attr!r}: use <name>_d0 or <name>_d1, name in {gk.NAMES}")

        def evaluate(x: np.ndarray) -> np.ndarray:
            import torch

            require_cuda()
            t = _to_device(x)
            y = gk.forward(name, t) if order == "0" else gk.derivative_times(name, torch.ones_like(t), t)
            return _to_host(y, x.dtype)

        return evaluate


TRITON = _TritonImplementations()


def _to_device(x: np.ndarray) -> Any:
    import torch

    if x.dtype.name == "bfloat16":
        return torch.from_numpy(x.view(np.int16).copy()).view(torch.bfloat16).cuda()
    return torch.from_numpy(np.ascontiguousarray(x)).cuda()


def _to_host(y: Any, dtype: np.dtype) -> np.ndarray:
    import torch

    if y.dtype == torch.bfloat16:
        return y.cpu().view(torch.int16).numpy().view(dtype)
    return y.cpu().numpy()


def scan(function: str, order: int, workers: int | None = None, out: Path | None = None,
         max_seconds: float | None = None, progress: bool = True) -> dict[str, Any]:
    """Grade the GPU kernel on all 2^32 float32 inputs against the correctly rounded reference."""
    from ..accuracy import ScanSpec, run_scan
    from ..accuracy.summary import scan_summary
    from ..functions import resolve

    require_cuda()
    name = resolve(function)
    if name not in gk.NAMES or order not in (0, 1):
        raise GpuUnavailableError(f"no Triton kernel for {name} order {order}: kernels exist for {gk.NAMES}, "
                                  "orders 0 and 1")
    spec = ScanSpec.exhaustive(name, order, "float32", [f"gelulab.bench.gpu:TRITON.{name}_d{order}"],
                               chunk_size=1 << 22)
    path = out or spec.default_path()
    result = run_scan(spec, path=path, workers=workers, progress=progress, max_seconds=max_seconds)
    return {**scan_summary(result), "result_file": str(path)}


# --- bandwidth -------------------------------------------------------------------------------

@dataclass
class Row:
    op: str
    dtype: str
    elements: int
    impl: str
    ms: float
    gbps: float
    fraction_of_copy: float
    copy_gbps: float
    vs_eager: float | None


def _cases(op: str, x: Any, torch: Any) -> tuple[int, dict[str, Callable[[], Any]]]:
    """(bytes read + written, {impl: callable}) for one op on input x."""
    import torch.nn.functional as F

    import gelulab.torch as gt

    es = x.element_size()
    n = x.numel()
    if op in ("gelu", "gelu_tanh", "silu", "relu"):
        approx = {"gelu": "none", "gelu_tanh": "tanh"}.get(op)
        name = "gelu" if op == "gelu" else op
        eager = (lambda: F.gelu(x, approximate=approx)) if approx else {"silu": lambda: F.silu(x),
                                                                        "relu": lambda: F.relu(x)}[op]
        return 2 * n * es, {"gelulab": lambda: gt.activation(x, name),
                            "gelulab-kernel": lambda: gk.forward(name, x, repair=False), "torch": eager}
    if op == "gelu_backward":
        g = torch.randn_like(x)
        return 3 * n * es, {"gelulab": lambda: gt.ops.activation_backward_op("gelu")(g, x, 1),
                            "gelulab-kernel": lambda: gk.derivative_times("gelu", g, x, repair=False),
                            "torch": lambda: torch.ops.aten.gelu_backward(g, x)}
    if op == "bias_gelu":
        bias = torch.randn(x.shape[-1], device=x.device, dtype=x.dtype)
        return 2 * n * es, {"gelulab": lambda: gt.bias_gelu(x, bias),
                            "gelulab-kernel": lambda: gk.bias_forward("gelu", x, bias, repair=False),
                            "torch": lambda: F.gelu(x + bias)}
    act = {"geglu": "gelu", "geglu_backward": "gelu", "geglu_tanh": "gelu_tanh", "swiglu": "silu",
           "swiglu_backward": "silu"}[op]
    a, b = (t.contiguous() for t in x.chunk(2, dim=-1))
    f = {"gelu": F.gelu, "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"), "silu": F.silu}[act]
    liger = _liger(op)
    if not op.endswith("_backward"):
        impls = {"gelulab": lambda: gt.gated(x, act), "gelulab-kernel": lambda: gk.gated_forward(act, x, repair=False),
                 "torch": lambda: f(x[..., : x.shape[-1] // 2]) * x[..., x.shape[-1] // 2:]}
        if liger is not None:
            impls["liger"] = lambda: liger(a, b)
        return n * es + n // 2 * es, impls
    g = torch.randn_like(a)
    bwd = torch.ops.aten.gelu_backward if act == "gelu" else torch.ops.aten.silu_backward

    def eager_backward() -> Any:
        ha, hb = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
        return torch.cat([bwd(g * hb, ha), g * f(ha)], dim=-1)

    impls = {"gelulab": lambda: gt.ops.gated_backward(g, x, act),
             "gelulab-kernel": lambda: gk.gated_backward(act, g, x, repair=False), "torch": eager_backward}
    if liger is not None:
        impls["liger"] = lambda: liger(g, a, b)
    return n * es + n // 2 * es + n * es, impls


def _liger(op: str) -> Callable[..., Any] | None:
    """Liger-Kernel's fused GEGLU (tanh form) / SwiGLU, forward or in-place backward, if installed."""
    try:
        if op.startswith("geglu"):
            from liger_kernel.ops.geglu import geglu_backward as bwd
            from liger_kernel.ops.geglu import geglu_forward as fwd
        else:
            from liger_kernel.ops.swiglu import swiglu_backward as bwd
            from liger_kernel.ops.swiglu import swiglu_forward as fwd
    except ImportError:
        return None
    if op in ("geglu", "geglu_backward"):  # Liger's GEGLU is the tanh form: it is timed beside geglu_tanh
        return None
    if op.endswith("_backward"):
        return lambda g, a, b: bwd(a, b, g)
    return lambda a, b: fwd(a, b)[2]


def _compiled(fn: Callable[[], Any], torch: Any) -> Callable[[], Any]:
    """torch.compile of the eager code (the tensors it closes over become graph inputs)."""
    return torch.compile(fn, dynamic=False)


def bandwidth(ops: tuple[str, ...] = DEFAULT_OPS, dtypes: tuple[str, ...] = ("float32", "bfloat16"),
              sizes: tuple[int, ...] = DEFAULT_SIZES, compile_peers: bool = True,
              progress: bool = True) -> dict[str, Any]:
    """Time every (op, dtype, size, implementation); GB/s and fraction of a same-bytes device copy."""
    import torch
    from rich.progress import Progress
    from triton.testing import do_bench

    require_cuda()
    rows: list[Row] = []
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("GPU bandwidth", total=len(ops) * len(dtypes) * len(sizes))
        for dtype_name in dtypes:
            dtype = getattr(torch, dtype_name)
            for n in sizes:
                cols = GATED_COLUMNS if n >= GATED_COLUMNS else n
                x = torch.randn(n // cols, cols, device="cuda", dtype=torch.float32).mul_(3).to(dtype)
                for op in ops:
                    total, impls = _cases(op, x, torch)
                    src = torch.empty(total // 2, dtype=torch.uint8, device="cuda")
                    dst = torch.empty_like(src)
                    copy_ms = do_bench(lambda src=src, dst=dst: dst.copy_(src), return_mode="median")
                    if compile_peers:
                        impls["torch.compile"] = _compiled(impls["torch"], torch)
                    times = {k: do_bench(fn, return_mode="median") for k, fn in impls.items()}
                    for impl, ms in times.items():
                        rows.append(Row(op, dtype_name, n, impl, ms, total / ms / 1e6, copy_ms / ms,
                                        total / copy_ms / 1e6, times["torch"] / ms))
                    del src, dst
                    bar.advance(task)
    return {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "triton": _triton_version(),
            "rows": [asdict(r) for r in rows]}


def _triton_version() -> str:
    import triton

    return triton.__version__


def _print_table(data: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"GPU bandwidth on {data['device']} (fraction = copy time / op time, same bytes)")
    for col in ("op", "dtype", "elements", "impl", "ms", "GB/s", "fraction of copy", "vs eager"):
        table.add_column(col, justify="right" if col not in ("op", "dtype", "impl") else "left")
    for r in data["rows"]:
        table.add_row(r["op"], r["dtype"], f"2^{int(r['elements']).bit_length() - 1}", r["impl"], f"{r['ms']:.4f}",
                      f"{r['gbps']:.0f}", f"{r['fraction_of_copy']:.2f}", f"{r['vs_eager']:.2f}x")
    Console().print(table)


# --- command line ----------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m gelulab.bench.gpu", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("bandwidth", help="GB/s and fraction of a device copy, vs torch eager/compile/Liger")
    b.add_argument("--ops", nargs="+", default=list(DEFAULT_OPS), choices=DEFAULT_OPS)
    b.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"], choices=DTYPE_NAMES)
    b.add_argument("--min-exp", type=int, default=20, help="smallest size 2^N elements (default 20)")
    b.add_argument("--max-exp", type=int, default=28, help="largest size 2^N elements (default 28)")
    b.add_argument("--step", type=int, default=2, help="exponent step (default 2)")
    b.add_argument("--no-compile", action="store_true", help="skip the torch.compile peer")
    b.add_argument("--out", default=str(DEFAULT_OUT), help=f"result file (default {DEFAULT_OUT})")
    b.add_argument("--json", action="store_true", help="print JSON")
    s = sub.add_parser("scan", help="exhaustive float32 accuracy scan of the GPU kernel (2^32 inputs)")
    s.add_argument("--function", default="gelu", help=f"one of {', '.join(gk.NAMES)} (or an alias)")
    s.add_argument("--derivative", type=int, default=0, choices=(0, 1))
    s.add_argument("--workers", type=int, help="processes for the reference (default: every core)")
    s.add_argument("--out", help="result/checkpoint file (default: results/accuracy/<scan>.json)")
    s.add_argument("--max-seconds", type=float, help="stop after about this long (resumable)")
    s.add_argument("--json", action="store_true", help="print JSON")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "bandwidth":
            if not 10 <= args.min_exp <= args.max_exp <= 31 or args.step < 1:
                raise GpuUnavailableError("sizes: need 10 <= --min-exp <= --max-exp <= 31 and --step >= 1")
            sizes = tuple(1 << e for e in range(args.min_exp, args.max_exp + 1, args.step))
            data = bandwidth(tuple(args.ops), tuple(args.dtypes), sizes, not args.no_compile, not args.json)
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
            print(json.dumps(data, indent=1)) if args.json else _print_table(data)
        else:
            summary = scan(args.function, args.derivative, args.workers, Path(args.out) if args.out else None,
                           args.max_seconds, progress=not args.json)
            print(json.dumps(summary, indent=1, default=str)) if args.json else print(summary)
    except GpuUnavailableError as exc:
        print(f"gelulab: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
