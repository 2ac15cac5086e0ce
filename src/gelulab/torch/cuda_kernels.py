"""CUDA implementations of the ``gelulab::`` custom ops: the Triton kernels, or the CPU ops as a fallback.

Registered with ``torch.library`` for the CUDA dispatch key when :mod:`gelulab.torch` is
imported, so ``gt.gelu(x)`` on a CUDA tensor runs :mod:`gelulab.kernels.triton` and autograd,
``torch.compile`` and the fake implementations are those of the ops themselves. Registration
needs neither Triton nor a GPU (a CPU-only torch accepts it; the kernels are never called).

Where no Triton kernel exists (float64, the activations other than GELU/GELU-tanh/quick GELU/
SiLU/ReLU, second derivatives) or Triton is not installed, the op runs on the CPU on a copy
and the result is moved back: slower, never an error, and bit-identical either way.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import torch
from torch import Tensor

from ..functions import get
from ..kernels import triton as gk
from . import ops

DEVICE = "cuda"


@cache
def _triton_installed() -> bool:
    return gk.triton_installed()


def uses_triton(name: str, dtype: torch.dtype) -> bool:
    """Whether a CUDA tensor of this activation and dtype runs a Triton kernel (else the CPU fallback)."""
    return _triton_installed() and gk.supports(name, dtype)


def _back(result: Tensor, like: Tensor) -> Tensor:
    return result.to(like.device)


def activation_forward(name: str) -> Callable[[Tensor], Tensor]:
    fwd = ops.ACTIVATION_OPS[name][0]

    def kernel(x: Tensor) -> Tensor:
        if uses_triton(name, x.dtype):
            return gk.forward(name, x)
        return _back(fwd(x.cpu()), x)

    return kernel


def activation_backward(name: str) -> Callable[[Tensor, Tensor, int], Tensor]:
    bwd = ops.ACTIVATION_OPS[name][1]

    def kernel(grad: Tensor, x: Tensor, order: int) -> Tensor:
        if order == 1 and uses_triton(name, x.dtype):
            g = grad.to(x.dtype) if grad.dtype != x.dtype else grad
            return gk.derivative_times(name, g.expand(x.shape), x)
        return _back(bwd(grad.cpu(), x.cpu(), order), x)

    return kernel


def activation_out(name: str) -> Callable[[Tensor, Tensor], None]:
    forward = activation_forward(name)

    def kernel(x: Tensor, out: Tensor) -> None:
        if out.shape != x.shape or out.dtype != x.dtype:
            raise ValueError(f"gelulab: {name}: out must have the input's shape {tuple(x.shape)} and dtype {x.dtype}, "
                             f"got {tuple(out.shape)} {out.dtype}")
        out.copy_(forward(x))

    return kernel


def gated(x: Tensor, activation: str) -> Tensor:
    name = get(activation).name
    if uses_triton(name, x.dtype):
        return gk.gated_forward(name, x)
    return _back(ops.gated(x.cpu(), activation), x)


def gated_backward(grad: Tensor, x: Tensor, activation: str) -> Tensor:
    name = get(activation).name
    if uses_triton(name, x.dtype) and x.dim() > 0:
        g = grad.to(x.dtype) if grad.dtype != x.dtype else grad
        return gk.gated_backward(name, g.expand((*x.shape[:-1], x.shape[-1] // 2)), x)
    return _back(ops.gated_backward(grad.cpu(), x.cpu(), activation), x)


def bias_act(x: Tensor, bias: Tensor, activation: str) -> Tensor:
    name = get(activation).name
    if uses_triton(name, x.dtype):
        return gk.bias_forward(name, x, bias)
    return _back(ops.bias_act(x.cpu(), bias.cpu(), activation), x)


def register() -> None:
    """Register the CUDA implementation of every gelulab op (idempotent: a later call replaces it)."""
    for name, (fwd, bwd, out) in ops.ACTIVATION_OPS.items():
        torch.library.register_kernel(fwd, DEVICE, activation_forward(name))
        torch.library.register_kernel(bwd, DEVICE, activation_backward(name))
        torch.library.register_kernel(out, DEVICE, activation_out(name))
    torch.library.register_kernel(ops.gated, DEVICE, gated)
    torch.library.register_kernel(ops.gated_backward, DEVICE, gated_backward)
    torch.library.register_kernel(ops.bias_act, DEVICE, bias_act)


register()
