"""GPU kernels in Triton: GELU (erf, tanh, sigmoid forms), ReLU, SiLU, bias + activation, gated units.

Forward and backward, float32 / float16 / bfloat16, contiguous or strided inputs, any size:

* :func:`forward` f(x), :func:`derivative_times` grad * f'(x);
* :func:`bias_forward` f(x + bias), :func:`bias_derivative_times` grad * f'(x + bias);
* :func:`gated_forward` f(a) * b for x = [a | b] (GEGLU, ReGLU, SwiGLU), :func:`gated_backward`.

Results are correctly rounded in the sense of the CPU ops, and equal to them bit for bit: every
element is evaluated in float64 with the same erfc and exponential polynomials as the numba
kernels (:mod:`gelulab.functions.fast_erfc`), rounded once, and the rare elements whose
rounding float64 cannot decide go to the exact CPU path (see :mod:`.launch`).

Unlike the CPU kernels these take torch tensors (Triton launches on them). Importing this
package does not import Triton; the functions do, on first use. :func:`available` says whether
they can run: Triton is installed and either a CUDA device is present or ``TRITON_INTERPRET=1``
(the interpreter runs the same kernels on CPU tensors, which is how CI tests them).
"""

from __future__ import annotations

import importlib.util
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

#: the activations with Triton kernels (registry names)
NAMES = ("gelu", "gelu_tanh", "quick_gelu", "silu", "relu")

__all__ = [
    "NAMES", "available", "bias_derivative_times", "bias_forward", "derivative_times", "forward", "gated_backward",
    "gated_forward", "supports",
]


def triton_installed() -> bool:
    return importlib.util.find_spec("triton") is not None


def available() -> bool:
    """Triton is installed, and there is a CUDA device or the interpreter is on."""
    if not triton_installed():
        return False
    if os.environ.get("TRITON_INTERPRET", "0") not in ("", "0"):
        return True
    import torch

    return torch.cuda.is_available()


def supports(name: str, dtype: torch.dtype) -> bool:
    """Whether (activation, dtype) has a Triton kernel; others take the CPU path."""
    import torch

    from ...functions import resolve

    return resolve(name) in NAMES and dtype in (torch.float32, torch.float16, torch.bfloat16)


def _launch() -> Any:
    from . import launch

    return launch


def forward(name: str, x: torch.Tensor, *, repair: bool = True) -> torch.Tensor:
    """f(x), correctly rounded in x's dtype."""
    return _launch().forward(name, x, repair=repair)


def derivative_times(name: str, grad: torch.Tensor, x: torch.Tensor, *, repair: bool = True) -> torch.Tensor:
    """grad * f'(x) in one rounding (the backward of :func:`forward`)."""
    return _launch().derivative_times(name, grad, x, repair=repair)


def bias_forward(name: str, x: torch.Tensor, bias: torch.Tensor, *, repair: bool = True) -> torch.Tensor:
    """f(x + bias) in one pass, the sum rounded in x's dtype as ``x + bias`` is."""
    return _launch().bias_forward(name, x, bias, repair=repair)


def bias_derivative_times(name: str, grad: torch.Tensor, x: torch.Tensor, bias: torch.Tensor, *,
                          repair: bool = True) -> torch.Tensor:
    """grad * f'(x + bias) in one pass (the input gradient of :func:`bias_forward`)."""
    return _launch().bias_derivative_times(name, grad, x, bias, repair=repair)


def gated_forward(name: str, x: torch.Tensor, *, repair: bool = True) -> torch.Tensor:
    """f(a) * b for x = [a | b] split along the last dimension."""
    return _launch().gated_forward(name, x, repair=repair)


def gated_backward(name: str, grad: torch.Tensor, x: torch.Tensor, *, repair: bool = True) -> torch.Tensor:
    """[grad * b * f'(a) | grad * f(a)]."""
    return _launch().gated_backward(name, grad, x, repair=repair)
