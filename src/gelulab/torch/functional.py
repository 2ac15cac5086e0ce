"""Functional forms: ``gt.gelu(t)``, ``gt.activation(t, name)``, ``gt.geglu(t)``, ``gt.bias_gelu(t, b)``.

Every function accepts any registry name or alias where it takes an activation (and parameterised
names, ``"elu(alpha=0.5)"``); results are correctly rounded in the input's dtype (float32, float64,
float16, bfloat16), forward and backward.

The forms named as in ``torch.nn.functional`` take its signatures: the same positional order and
keywords, parameters included (``leaky_relu(input, negative_slope=0.01, inplace=False)``,
``softplus(input, beta=1.0, threshold=20.0)``), and ``inplace=True`` with torch's semantics: the
input is overwritten and returned, autograd flows through it as through torch's in-place ops, and a
leaf that requires grad is refused with torch's own error.
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


def activation(x: Tensor, name: str, *, out: Tensor | None = None, inplace: bool = False) -> Tensor:
    """f(x) for any registered activation (name, alias or parameterised name), as a differentiable custom op.

    With ``out=`` the result is written into a preallocated tensor of x's shape and dtype
    (no autograd, like torch's ``out=`` functions). ``inplace=True`` overwrites x with f(x) and returns x.
    """
    spec_name = resolve(name)
    if inplace:
        if out is not None:
            raise ValueError("gelulab: give either inplace=True or out=, not both")
        return _in_place(x, spec_name)
    if out is None:
        if ops.direct(x):  # nothing for the dispatcher to record: the kernel, without ~7 us of dispatch
            return ops._forward(spec_name, x)
        if torch.is_grad_enabled() and ops.direct(x, autograd=True):  # eager autograd alone
            return ops.DirectActivation.apply(x, spec_name)
        return ops.activation_op(spec_name)(x)
    if torch.is_grad_enabled() and (x.requires_grad or out.requires_grad):
        raise RuntimeError(f"gelulab: {spec_name}(out=...) does not support autograd; call it without out=")
    if ops.direct(x) and ops.direct(out):
        ops._forward_out(spec_name, x, out)
    else:
        ops.activation_out_op(spec_name)(x, out)
    return out


def _in_place(x: Tensor, name: str) -> Tensor:
    """x overwritten with f(x), as torch's in-place activations do. The op reads a copy when autograd
    records it (its backward needs the input, which the write replaces); ``copy_`` then carries the
    gradient, and refuses a leaf that requires grad as torch does."""
    op = ops.activation_op(name)
    source = x.clone() if x.requires_grad and torch.is_grad_enabled() else x
    return x.copy_(op(source))


def _gelu_name(approximate: str) -> str:
    try:
        return GELU_APPROXIMATE[approximate]
    except KeyError:
        raise ValueError(f"gelulab: approximate must be one of {sorted(GELU_APPROXIMATE)}, "
                         f"got {approximate!r}") from None


def gelu(input: Tensor, approximate: str = "none", *, out: Tensor | None = None) -> Tensor:
    r"""GELU, x\,\Phi(x); ``approximate="tanh"`` for the tanh form, ``"sigmoid"`` for x\,\sigma(1.702x)."""
    return activation(input, _gelu_name(approximate), out=out)


def relu(input: Tensor, inplace: bool = False, *, out: Tensor | None = None) -> Tensor:
    """max(0, x)."""
    return activation(input, "relu", out=out, inplace=inplace)


def silu(input: Tensor, inplace: bool = False, *, out: Tensor | None = None) -> Tensor:
    r"""x\,\sigma(x) (swish)."""
    return activation(input, "silu", out=out, inplace=inplace)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(0, x), 6)."""
    return activation(input, "relu6", inplace=inplace)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """Scaled ELU (Klambauer et al. 2017)."""
    return activation(input, "selu", inplace=inplace)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x tanh(softplus(x))."""
    return activation(input, "mish", inplace=inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x relu6(x + 3) / 6."""
    return activation(input, "hardswish", inplace=inplace)


def leaky_relu_name(negative_slope: float) -> str:
    return resolve(f"leaky_relu(negative_slope={float(negative_slope)!r})")


def elu_name(alpha: float) -> str:
    return resolve(f"elu(alpha={float(alpha)!r})")


def celu_name(alpha: float) -> str:
    return resolve(f"celu(alpha={float(alpha)!r})")


def softplus_name(beta: float, threshold: float) -> str:
    return resolve(f"softplus(beta={float(beta)!r}, threshold={float(threshold)!r})")


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """max(x, 0) + negative_slope * min(x, 0), the slope an exact decimal (0.2 is 1/5)."""
    return activation(input, leaky_relu_name(negative_slope), inplace=inplace)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha * (e^x - 1) otherwise."""
    return activation(input, elu_name(alpha), inplace=inplace)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha * (e^{x/alpha} - 1) otherwise."""
    return activation(input, celu_name(alpha), inplace=inplace)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^{beta x}) / beta, and x where beta * x > threshold (torch's definition)."""
    return activation(input, softplus_name(beta, threshold))


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
