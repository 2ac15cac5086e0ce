"""Functional forms: ``gt.gelu(t)``, ``gt.activation(t, name)``, ``gt.geglu(t)``, ``gt.bias_gelu(t, b)``.

Every function accepts any registry name or alias where it takes an activation; results are
correctly rounded in the input's dtype (float32, float64, float16, bfloat16), forward and backward.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..functions import get, resolve
from . import ops

#: torch's ``approximate=`` words for GELU, and the registry entry each one means.
GELU_APPROXIMATE = {"none": "gelu", "tanh": "gelu_tanh", "sigmoid": "quick_gelu"}

#: The gated forms with a name of their own: the activation applied to the first half.
GATED_NAMES = {"geglu": "gelu", "reglu": "relu", "swiglu": "silu"}


def activation(x: Tensor, name: str, *, out: Tensor | None = None) -> Tensor:
    """f(x) for any registered activation (name or alias), as a differentiable custom op.

    With ``out=`` the result is written into a preallocated tensor of x's shape and dtype
    (no autograd, like torch's ``out=`` functions).
    """
    spec_name = resolve(name)
    if out is None:
        return ops.activation_op(spec_name)(x)
    if torch.is_grad_enabled() and (x.requires_grad or out.requires_grad):
        raise RuntimeError(f"gelulab: {spec_name}(out=...) does not support autograd; call it without out=")
    ops.activation_out_op(spec_name)(x, out)
    return out


def _gelu_name(approximate: str) -> str:
    try:
        return GELU_APPROXIMATE[approximate]
    except KeyError:
        raise ValueError(f"gelulab: approximate must be one of {sorted(GELU_APPROXIMATE)}, "
                         f"got {approximate!r}") from None


def gelu(x: Tensor, approximate: str = "none", *, out: Tensor | None = None) -> Tensor:
    r"""GELU, x\,\Phi(x); ``approximate="tanh"`` for the tanh form, ``"sigmoid"`` for x\,\sigma(1.702x)."""
    return activation(x, _gelu_name(approximate), out=out)


def relu(x: Tensor, *, out: Tensor | None = None) -> Tensor:
    """max(0, x)."""
    return activation(x, "relu", out=out)


def silu(x: Tensor, *, out: Tensor | None = None) -> Tensor:
    r"""x\,\sigma(x) (swish)."""
    return activation(x, "silu", out=out)


def gated(x: Tensor, name: str) -> Tensor:
    """f(a) * b where x = [a | b] is split in two halves along the last dimension (GLU variants)."""
    return ops.gated(x, get(name).name)


def geglu(x: Tensor, approximate: str = "none") -> Tensor:
    """GELU(a) * b (Shazeer 2020), x = [a | b] along the last dimension."""
    return ops.gated(x, _gelu_name(approximate))


def reglu(x: Tensor) -> Tensor:
    """ReLU(a) * b, x = [a | b] along the last dimension."""
    return ops.gated(x, GATED_NAMES["reglu"])


def swiglu(x: Tensor) -> Tensor:
    """SiLU(a) * b (as in LLaMA's MLP), x = [a | b] along the last dimension."""
    return ops.gated(x, GATED_NAMES["swiglu"])


def bias_activation(x: Tensor, bias: Tensor, name: str) -> Tensor:
    """f(x + bias) with a 1-d bias along the last dimension; backward gives both gradients."""
    return ops.bias_act(x, bias, resolve(name))


def bias_gelu(x: Tensor, bias: Tensor, approximate: str = "none") -> Tensor:
    """GELU(x + bias), the fused bias + GELU of transformer MLPs."""
    return ops.bias_act(x, bias, _gelu_name(approximate))
