"""gelulab's PyTorch front: custom ops, modules and ``swap_activations``.

    import gelulab.torch as gt
    y = gt.gelu(x)                    # correctly rounded in x's dtype, differentiable
    y = gt.swiglu(x)                  # x = [a | b] along the last dim -> silu(a) * b
    m = gt.activation_module("gelu_new")
    report = gt.swap_activations(model, to="relu")

Every op is a ``torch.library`` custom op (``gelulab::<name>``) with a backward and a fake
implementation, so autograd, ``torch.compile`` and ``opcheck`` all work on it.
"""

from __future__ import annotations

from . import cuda_kernels as _cuda_kernels  # noqa: F401  (registers the CUDA (Triton) kernels of every op)
from . import ops, pool
from .functional import (
    GATED_NAMES,
    GELU_APPROXIMATE,
    activation,
    bias_activation,
    bias_gelu,
    celu,
    elu,
    gated,
    geglu,
    gelu,
    hardswish,
    leaky_relu,
    mish,
    reglu,
    relu,
    relu6,
    selu,
    silu,
    softplus,
    swiglu,
)
from .modules import (
    CELU,
    ELU,
    GEGLU,
    GELU,
    SELU,
    Activation,
    Gated,
    Hardswish,
    LeakyReLU,
    Mish,
    QuickGELU,
    ReGLU,
    ReLU,
    ReLU6,
    ReLUSquared,
    SiLU,
    Softplus,
    SwiGLU,
    activation_module,
)
from .pool import empty_cache
from .swap import SwapReport, swap_activations

__all__ = [
    "CELU", "ELU", "GATED_NAMES", "GEGLU", "GELU", "GELU_APPROXIMATE", "SELU", "Activation", "Gated", "Hardswish",
    "LeakyReLU", "Mish", "QuickGELU", "ReGLU", "ReLU", "ReLU6", "ReLUSquared", "SiLU", "Softplus", "SwapReport",
    "SwiGLU", "activation", "activation_module", "bias_activation", "bias_gelu", "celu", "elu", "empty_cache",
    "gated", "geglu", "gelu", "hardswish", "leaky_relu", "mish", "ops", "pool", "reglu", "relu", "relu6", "selu",
    "silu", "softplus", "swap_activations", "swiglu",
]
