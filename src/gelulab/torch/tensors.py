"""Zero-copy NumPy views of CPU tensors (bfloat16 through ml_dtypes), for the kernels."""

from __future__ import annotations

import math

import numpy as np
import torch

from ..kernels.cpu.memory import MIN_BYTES, advise_huge_pages
from . import pool

SUPPORTED_DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16)


def check_tensor(x: torch.Tensor, op: str) -> None:
    """One clear line for inputs the kernels cannot take."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"gelulab.torch.{op}: expected a torch.Tensor, got {type(x).__name__}")
    if x.dtype not in SUPPORTED_DTYPES:
        raise TypeError(f"gelulab.torch.{op}: unsupported dtype {x.dtype}; use float32, float64, float16 or bfloat16")
    if not x.is_cpu:  # (x.device.type costs 0.4 us a call)
        raise NotImplementedError(f"gelulab.torch.{op}: no kernel for device {x.device.type!r} yet; move the "
                                  "tensor to the CPU")


def as_numpy(t: torch.Tensor) -> np.ndarray:
    """A NumPy view of a contiguous CPU tensor (copies only if ``t`` is not contiguous)."""
    if t.requires_grad:
        t = t.detach()
    if not t.is_contiguous():
        t = t.contiguous()
    if t.dtype == torch.bfloat16:
        import ml_dtypes

        return t.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return t.numpy()


def empty_like_contiguous(t: torch.Tensor, shape: tuple[int, ...] | torch.Size | None = None) -> torch.Tensor:
    return torch.empty(t.shape if shape is None else shape, dtype=t.dtype, device=t.device)


def new_output(t: torch.Tensor, shape: tuple[int, ...] | torch.Size | None = None) -> torch.Tensor:
    """A fresh contiguous output for a kernel to fill: large ones from the pool of freed outputs
    (:mod:`.pool`), or else, when the pool is off, on transparent huge pages.

    Not for fake tensors (it touches the memory's address): their shapes come from
    :func:`empty_like_contiguous`.
    """
    same = shape is None or tuple(shape) == tuple(t.shape)
    nbytes = (t.numel() if same else math.prod(shape)) * t.element_size()
    if nbytes >= MIN_BYTES and t.is_cpu:
        out = pool.output(tuple(t.shape) if same else tuple(shape), t.dtype)
        if out is not None:
            return out
    # empty_like: the fastest constructor (a contiguous t needs no memory_format, 0.15 us more)
    if same:
        out = torch.empty_like(t) if t.is_contiguous() else torch.empty_like(t, memory_format=torch.contiguous_format)
    else:
        out = empty_like_contiguous(t, shape)
    if nbytes >= MIN_BYTES:
        advise_huge_pages(out.data_ptr(), nbytes)
    return out
