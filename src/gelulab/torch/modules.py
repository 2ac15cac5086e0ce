"""``nn.Module`` forms mirroring ``torch.nn`` (same names, same constructor signatures, same attributes).

Each module is a thin wrapper over one custom op, so it traces under ``torch.compile``, scripts
with ``torch.jit.script`` (through the by-name op ``gelulab::activation``) and swaps in for the torch
module of the same name. Parameters are torch's: ``LeakyReLU(negative_slope, inplace)``,
``ELU(alpha, inplace)``, ``CELU(alpha, inplace)``, ``Softplus(beta, threshold)``; each value is
exact as written (see :mod:`gelulab.functions.parametric`). ``inplace=True`` overwrites the input
and returns it, as torch does.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..functions import get, resolve
from . import functional as F


class Activation(nn.Module):
    """Any registered activation, by name, alias or parameterised name: ``Activation("gelu_new")``,
    ``Activation("elu(alpha=0.5)")``."""

    def __init__(self, name: str, inplace: bool = False) -> None:
        super().__init__()
        self.name = resolve(name)
        get(self.name)  # a bad parameter fails here, in one line
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        if torch.jit.is_scripting():  # TorchScript: the by-name op (the same op underneath)
            if self.inplace:
                source = input.clone() if input.requires_grad else input
                return input.copy_(torch.ops.gelulab.activation(source, self.name))
            return torch.ops.gelulab.activation(input, self.name)
        return F.activation(input, self.name, inplace=self.inplace)

    def _inplace_str(self) -> str:
        return ", inplace=True" if self.inplace else ""

    def extra_repr(self) -> str:
        return repr(self.name) + self._inplace_str()


class _Named(Activation):
    """A torch-named module fixed to one registry entry (looked up through the registry)."""

    registry_alias: str = ""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(self.registry_alias, inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class GELU(Activation):
    """GELU with torch's ``approximate`` ("none" or "tanh"), plus "sigmoid" for x*sigmoid(1.702x)."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__(F._gelu_name(approximate))
        self.approximate = approximate

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class ReLU(_Named):
    registry_alias = "ReLU"


class ReLU6(_Named):
    registry_alias = "ReLU6"


class SELU(_Named):
    registry_alias = "SELU"


class SiLU(_Named):
    registry_alias = "SiLU"


class Mish(_Named):
    registry_alias = "Mish"


class Hardswish(_Named):
    registry_alias = "Hardswish"


class QuickGELU(_Named):
    """x * sigmoid(1.702 x), CLIP's QuickGELU."""

    registry_alias = "quick_gelu"

    def __init__(self) -> None:
        super().__init__()


class ReLUSquared(_Named):
    """max(0, x)**2 (Primer)."""

    registry_alias = "relu_squared"

    def __init__(self) -> None:
        super().__init__()


class LeakyReLU(Activation):
    """max(x, 0) + negative_slope * min(x, 0)."""

    def __init__(self, negative_slope: float = 1e-2, inplace: bool = False) -> None:
        super().__init__(F.leaky_relu_name(negative_slope), inplace)
        self.negative_slope = negative_slope

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}{self._inplace_str()}"


class _WithAlpha(Activation):
    """A torch module taking ``(alpha=1.0, inplace=False)``; ``name_of`` maps alpha to the activation's name."""

    name_of = staticmethod(F.elu_name)

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__(self.name_of(alpha), inplace)
        self.alpha = alpha

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}{self._inplace_str()}"


class ELU(_WithAlpha):
    """x for x > 0, alpha * (e^x - 1) otherwise."""

    name_of = staticmethod(F.elu_name)


class CELU(_WithAlpha):
    """x for x > 0, alpha * (e^{x/alpha} - 1) otherwise (CELU with alpha = 1 is ELU)."""

    name_of = staticmethod(F.celu_name)


class Softplus(Activation):
    """log(1 + e^{beta x}) / beta, and x where beta * x > threshold, as torch defines it."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__(F.softplus_name(beta, threshold))
        self.beta = beta
        self.threshold = threshold

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


# --- gated forms -----------------------------------------------------------------------------

class Gated(nn.Module):
    """f(a) * b with x = [a | b] split along the last dimension; any registered f."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = resolve(name)

    def forward(self, x: Tensor) -> Tensor:
        if torch.jit.is_scripting():
            return torch.ops.gelulab.gated(x, self.name)
        return F.gated(x, self.name)

    def extra_repr(self) -> str:
        return repr(self.name)


class GEGLU(Gated):
    """GELU(a) * b (Shazeer 2020); ``approximate`` as for :class:`GELU`."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__(F._gelu_name(approximate))
        self.approximate = approximate


class ReGLU(Gated):
    def __init__(self) -> None:
        super().__init__(F.GATED_NAMES["reglu"])


class SwiGLU(Gated):
    def __init__(self) -> None:
        super().__init__(F.GATED_NAMES["swiglu"])


def activation_module(name: str) -> nn.Module:
    """A fresh module for any registry name or alias, or for "geglu", "swiglu", "reglu".

    Gated names give :class:`Gated` modules (last dimension halves); every other name gives
    :class:`Activation` for the registry entry it resolves to (unknown names raise
    ``UnknownActivationError`` listing the known ones).
    """
    key = str(name).strip().lower()
    if key in F.GATED_NAMES:
        return {"geglu": GEGLU, "reglu": ReGLU, "swiglu": SwiGLU}[key]()
    return Activation(get(name).name)
