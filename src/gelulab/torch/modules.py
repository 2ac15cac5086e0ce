"""``nn.Module`` forms mirroring ``torch.nn`` (same names, same arguments where they apply).

Each module is a thin wrapper over one custom op, so it traces under ``torch.compile`` and
swaps in for the torch module of the same name. Constructor arguments that would select a
function the registry does not define (a LeakyReLU slope other than 0.01, an ELU alpha other
than 1, a Softplus beta other than 1) raise a one-line ``ValueError``; ``inplace=True`` is
accepted for drop-in compatibility and computes out of place (the kernels never write to their
input, so autograd can always save it).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..functions import get, resolve
from ..functions.constants import ELU_ALPHA, LEAKY_RELU_SLOPE, exact
from . import functional as F


class Activation(nn.Module):
    """Any registered activation, by name or alias: ``Activation("gelu_new")``."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = resolve(name)

    def forward(self, x: Tensor) -> Tensor:
        if torch.jit.is_scripting():  # TorchScript: the by-name op (the same op underneath)
            return torch.ops.gelulab.activation(x, self.name)
        return F.activation(x, self.name)

    def extra_repr(self) -> str:
        return repr(self.name)


class _Named(Activation):
    """A torch-named module fixed to one registry entry (looked up through the registry)."""

    registry_alias: str = ""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(self.registry_alias)
        self.inplace = inplace

    def extra_repr(self) -> str:
        return ""


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


def _require(value: float, expected: str, what: str, module: str) -> None:
    if float(value) != float(exact(expected)):
        raise ValueError(f"gelulab.torch.{module}: only {what}={float(exact(expected))} is registered, got {value}")


class LeakyReLU(_Named):
    registry_alias = "LeakyReLU"

    def __init__(self, negative_slope: float = float(exact(LEAKY_RELU_SLOPE)), inplace: bool = False) -> None:
        _require(negative_slope, LEAKY_RELU_SLOPE, "negative_slope", "LeakyReLU")
        super().__init__(inplace)
        self.negative_slope = negative_slope


class ELU(_Named):
    registry_alias = "ELU"

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        _require(alpha, ELU_ALPHA, "alpha", "ELU")
        super().__init__(inplace)
        self.alpha = alpha


class Softplus(_Named):
    """log(1 + e^x), exact everywhere (torch's ``threshold`` shortcut is not needed and is ignored)."""

    registry_alias = "Softplus"

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        if beta != 1:
            raise ValueError(f"gelulab.torch.Softplus: only beta=1 is registered, got {beta}")
        super().__init__()
        self.beta = beta
        self.threshold = threshold


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
