"""Host side of the Triton kernels: views, launches, and the exact path for the hard elements.

Each entry point takes torch tensors (CUDA, or CPU under ``TRITON_INTERPRET=1``), returns a
new contiguous tensor of the input's dtype, and matches the CPU ops of :mod:`gelulab.torch`
bit for bit: the kernel rounds its float64 value once, and the elements whose rounding that
value cannot decide (about one in 10^6 to 10^7 for float32, far fewer for float16/bfloat16)
are recomputed by :mod:`gelulab.kernels.cpu` and written back.

That repair reads the hard-element counter, which synchronises with the device once per call
(``repair=False`` skips it, for timing the kernel alone; the output may then differ from the
correctly rounded one in those few elements).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence

import numpy as np
import torch
import triton

from ...functions import resolve
from .. import cpu
from . import kernels

#: activation name -> kernel code (elementwise.GELU ...)
ACTIVATION_CODES = {"gelu": 0, "gelu_tanh": 1, "quick_gelu": 2, "silu": 3, "relu": 4}
#: dtype -> format code (elementwise.FLOAT32 ...)
FORMAT_CODES = {torch.float32: 0, torch.float16: 1, torch.bfloat16: 2}
#: elements per program on a GPU (8 per thread at 4 warps: enough loads in flight for a copy's speed)
BLOCK = 1024
#: elements per program under the interpreter, where each program is a Python call
INTERPRETER_BLOCK = 1 << 14
NUM_WARPS = 4
#: fused multiply-adds in the float64 evaluation (as the numba kernels' ``contract``): set, not left
#: to Triton's default, which changes in Triton 3.10; the error bounds hold with or without them
FP_FUSION = True


def supports(name: str, dtype: torch.dtype) -> bool:
    """Whether (activation, dtype) has a Triton kernel (others take the CPU path)."""
    return resolve(name) in ACTIVATION_CODES and dtype in FORMAT_CODES


def interpreting() -> bool:
    """True when the kernels were built for Triton's interpreter (TRITON_INTERPRET=1 at import)."""
    return not isinstance(kernels.unary_kernel, triton.runtime.JITFunction)


def _block() -> int:
    return INTERPRETER_BLOCK if interpreting() else BLOCK


def _arg(t: torch.Tensor) -> torch.Tensor:
    # bfloat16 travels as its int16 bits (the kernels load and round bfloat16 themselves)
    return t.view(torch.int16) if t.dtype == torch.bfloat16 else t


def _codes(name: str, dtype: torch.dtype) -> tuple[str, int, int]:
    spec_name = resolve(name)
    if not supports(spec_name, dtype):
        raise ValueError(f"gelulab.kernels.triton: no kernel for {spec_name!r} in {dtype}; kernels exist for "
                         f"{sorted(ACTIVATION_CODES)} in float32, float16 and bfloat16")
    return spec_name, ACTIVATION_CODES[spec_name], FORMAT_CODES[dtype]


def collapse(shape: Sequence[int], *strides: Sequence[int]) -> tuple[int, int, list[tuple[int, int]]] | None:
    """A common (rows, cols) view of tensors of one shape with the given strides, or None.

    Adjacent dimensions merge where every tensor steps through them as through one (stride of
    the outer = stride of the inner times its size); size-1 dimensions drop out. Returns rows,
    cols and each tensor's (row stride, col stride) when at most two dimensions remain.
    """
    dims = [(size, [s[d] for s in strides]) for d, size in enumerate(shape) if size != 1]
    if not dims:
        return 1, 1, [(0, 0) for _ in strides]
    merged = [dims[0]]
    for size, st in dims[1:]:
        outer_size, outer = merged[-1]
        if all(o == s * size for o, s in zip(outer, st, strict=True)):
            merged[-1] = (outer_size * size, st)
        else:
            merged.append((size, st))
    if len(merged) == 1:
        return 1, merged[0][0], [(0, s) for s in merged[0][1]]
    if len(merged) == 2:
        (rows, rs), (cols, cs) = merged
        return rows, cols, list(zip(rs, cs, strict=True))
    return None


def _to_numpy(t: torch.Tensor) -> np.ndarray:
    t = t.detach().cpu().contiguous()
    if t.dtype == torch.bfloat16:
        import ml_dtypes

        return t.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return t.numpy()


def _from_numpy(a: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    a = np.ascontiguousarray(a)
    bf16 = like.dtype == torch.bfloat16
    t = torch.from_numpy(a.view(np.int16)).view(torch.bfloat16) if bf16 else torch.from_numpy(a)
    return t.to(like.device)


class _HardList:
    """Device counter and index buffer the kernels append hard elements to."""

    def __init__(self, device: torch.device, n: int, capacity: int | None = None):
        self.capacity = capacity if capacity is not None else max(64, min(n, 1024 + (n >> 14)))
        self.count = torch.zeros(1, dtype=torch.int32, device=device)
        self.index = torch.empty(self.capacity, dtype=torch.int64, device=device)

    def collect(self) -> tuple[int, torch.Tensor]:
        """(number of hard elements, their indices if all were stored)."""
        k = int(self.count.item())  # the one synchronisation of a call
        return k, self.index[:k]


def _launch_with_repair(launch: Callable[[_HardList], None], n: int, device: torch.device, repair: bool,
                        fix: Callable[[torch.Tensor], None]) -> None:
    hard = _HardList(device, n)
    launch(hard)
    if not repair:
        return
    k, index = hard.collect()
    if k > hard.capacity:  # more hard elements than slots: run again with room for all of them
        hard = _HardList(device, n, capacity=k)
        launch(hard)
        k, index = hard.collect()
    if k:
        fix(index)


def _elementwise(name: str, x: torch.Tensor, grad: torch.Tensor | None, bias: torch.Tensor | None,
                 repair: bool) -> torch.Tensor:
    spec_name, act, fmt = _codes(name, x.dtype)
    out = torch.empty(x.shape, dtype=x.dtype, device=x.device)
    n = x.numel()
    if n == 0:
        return out
    inputs = [x] if grad is None else [x, grad]
    strided = not all(t.is_contiguous() for t in inputs)
    view = collapse(x.shape, *(t.stride() for t in inputs)) if strided else (1, n, [(0, 1)] * len(inputs))
    if view is None:  # more than two dimensions that do not merge: copy to contiguous
        x = x.contiguous()
        grad = grad.contiguous() if grad is not None else None
        strided, view = False, (1, n, [(0, 1)] * len(inputs))
    _, cols, strides = view
    sx = strides[0]
    sg = strides[1] if grad is not None else (0, 0)
    block = _block()
    bias_cols = x.shape[-1] if bias is not None else 1
    bias = bias.contiguous() if bias is not None else None

    def launch(hard: _HardList) -> None:
        kernels.unary_kernel[(triton.cdiv(n, block),)](
            _arg(x), _arg(grad if grad is not None else x), _arg(bias if bias is not None else x), _arg(out),
            hard.count, hard.index, hard.capacity, n, cols, bias_cols, sx[0], sx[1], sg[0], sg[1],
            ACT=act, BACKWARD=grad is not None, HAS_BIAS=bias is not None, STRIDED=strided, FMT=fmt,
            BLOCK=block, num_warps=NUM_WARPS, enable_fp_fusion=FP_FUSION)

    def fix(index: torch.Tensor) -> None:
        pos = torch.unravel_index(index, x.shape) if x.dim() else ()
        s = x[pos] if x.dim() else x.reshape(1)
        if bias is not None:
            s = s + bias[pos[-1]]
        if grad is None:
            values = cpu.forward(spec_name, _to_numpy(s))
        else:
            g = grad[pos] if x.dim() else grad.reshape(1)
            values = cpu.derivative_times(spec_name, _to_numpy(g), _to_numpy(s), 1)
        out.view(-1)[index] = _from_numpy(values, out)

    with _device_guard(x):
        _launch_with_repair(launch, n, x.device, repair, fix)
    return out


def forward(name: str, x: torch.Tensor, *, repair: bool = True) -> torch.Tensor:
    """f(x), correctly rounded in x's dtype (float32, float16 or bfloat16)."""
    return _elementwise(name, x, None, None, repair)


def derivative_times(name: str, grad: torch.Tensor, x: torch.Tensor, *, repair: bool = True) -> torch.Tensor:
    """grad * f'(x) in one rounding; ``grad`` has x's dtype and shape (an expanded view is fine)."""
    _check_same(grad, x, "grad")
    return _elementwise(name, x, grad, None, repair)


def bias_forward(name: str, x: torch.Tensor, bias: torch.Tensor, *, repair: bool = True) -> torch.Tensor:
    """f(x + bias), the sum rounded in x's dtype (as ``x + bias``), f rounded once: one pass."""
    _check_bias(x, bias)
    return _elementwise(name, x, None, bias, repair)


def bias_derivative_times(name: str, grad: torch.Tensor, x: torch.Tensor, bias: torch.Tensor, *,
                          repair: bool = True) -> torch.Tensor:
    """grad * f'(x + bias): the input gradient of :func:`bias_forward` without materialising x + bias."""
    _check_bias(x, bias)
    _check_same(grad, x, "grad")
    return _elementwise(name, x, grad, bias, repair)


def _check_same(t: torch.Tensor, x: torch.Tensor, what: str) -> None:
    if t.shape != x.shape or t.dtype != x.dtype or t.device != x.device:
        raise ValueError(f"gelulab.kernels.triton: {what} must have x's shape {tuple(x.shape)}, dtype {x.dtype} "
                         f"and device {x.device}; got {tuple(t.shape)} {t.dtype} {t.device}")


def _check_bias(x: torch.Tensor, bias: torch.Tensor) -> None:
    if bias.dim() != 1 or x.dim() == 0 or bias.shape[0] != x.shape[-1] or bias.dtype != x.dtype:
        raise ValueError(f"gelulab.kernels.triton: bias must be 1-d of length x.shape[-1] with x's dtype; got x "
                         f"{tuple(x.shape)} {x.dtype}, bias {tuple(bias.shape)} {bias.dtype}")


def _device_guard(x: torch.Tensor) -> contextlib.AbstractContextManager:
    return torch.cuda.device(x.device) if x.is_cuda else contextlib.nullcontext()


def _rows_view(x: torch.Tensor) -> torch.Tensor:
    """x as (rows, last dim) without a copy when the leading dimensions merge, else a contiguous copy."""
    lead = collapse(x.shape[:-1], x.stride()[:-1])
    if lead is not None and lead[0] == 1:
        return x.as_strided((lead[1], x.shape[-1]), (lead[2][0][1], x.stride(-1)))
    return x.contiguous().view(-1, x.shape[-1])


def _gated(name: str, x: torch.Tensor, grad: torch.Tensor | None, repair: bool) -> torch.Tensor:
    spec_name, act, fmt = _codes(name, x.dtype)
    if x.dim() == 0 or x.shape[-1] % 2:
        raise ValueError(f"gelulab.kernels.triton: gated {spec_name}: the last dimension must be even (split into "
                         f"a|b), got shape {tuple(x.shape)}")
    half = x.shape[-1] // 2
    half_shape = (*x.shape[:-1], half)
    out = torch.empty(x.shape if grad is not None else half_shape, dtype=x.dtype, device=x.device)
    if grad is not None and (grad.shape != half_shape or grad.dtype != x.dtype):
        raise ValueError(f"gelulab.kernels.triton: gated backward: grad must have shape {half_shape} and dtype "
                         f"{x.dtype}, got {tuple(grad.shape)} {grad.dtype}")
    if out.numel() == 0:
        return out
    x2 = _rows_view(x)
    g2 = _rows_view(grad) if grad is not None else x2
    rows = x2.shape[0]
    block_c = min(triton.next_power_of_2(half), _block())
    block_r = max(1, _block() // block_c)
    grid = (triton.cdiv(rows, block_r) * triton.cdiv(half, block_c),)

    def launch(hard: _HardList) -> None:
        kernels.gated_kernel[grid](
            _arg(x2), _arg(g2), _arg(out), hard.count, hard.index, hard.capacity,
            rows, half, x2.stride(0), x2.stride(1), g2.stride(0), g2.stride(1),
            ACT=act, BACKWARD=grad is not None, FMT=fmt, BLOCK_R=block_r, BLOCK_C=block_c, num_warps=NUM_WARPS,
            enable_fp_fusion=FP_FUSION)

    def fix(index: torch.Tensor) -> None:
        r, j = index // half, index % half
        ab = _to_numpy(torch.stack([x2[r, j], x2[r, j + half]], dim=-1))
        out2 = out.view(rows, -1)
        if grad is None:
            out2[r, j] = _from_numpy(cpu.gated_forward(spec_name, ab), out)[:, 0]
        else:
            both = _from_numpy(cpu.gated_backward(spec_name, _to_numpy(g2[r, j])[:, None], ab), out)
            out2[r, j] = both[:, 0]
            out2[r, j + half] = both[:, 1]

    with _device_guard(x):
        _launch_with_repair(launch, out.numel(), x.device, repair, fix)
    return out


def gated_forward(name: str, x: torch.Tensor, *, repair: bool = True) -> torch.Tensor:
    """f(a) * b for x = [a | b] (halves of the last dimension), rounded once."""
    return _gated(name, x, None, repair)


def gated_backward(name: str, grad: torch.Tensor, x: torch.Tensor, *, repair: bool = True) -> torch.Tensor:
    """[grad * b * f'(a) | grad * f(a)], each rounded once: the gradient of gated_forward."""
    return _gated(name, x, grad, repair)
