"""Activation modules for the training tasks, by registry name (or a gated name).

Names come from the registry (``gelulab.functions.resolve``), plus the three gated units
``geglu``, ``swiglu`` and ``reglu`` (Shazeer 2020): they split their input's last dimension into
halves a | b and return act(a) * b, so a gated FFN's first projection is twice as wide.

Two implementations (the run setting ``impl``):

- ``"gelulab"``: ``gelulab.torch.activation_module``, the correctly rounded custom ops.
- ``"torch"`` (default for training): PyTorch's own ``torch.nn.functional.<name>`` where PyTorch has
  a function of the registry name (``gelu_tanh``: ``F.gelu(approximate="tanh")``), else the gelulab
  op. On CPU today the custom ops cost 10-20x PyTorch's (float64 arithmetic and a rounding test per
  element), which would put the default sweep far over its time budget, while a training comparison
  does not depend on the last bit of a float32 activation. Each PyTorch function is checked against
  the registry's float64 values before use, so a PyTorch default that differs from the registry's
  definition (a slope, an alpha) sends that name to the gelulab op instead of silently training
  something else.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..functions import get, resolve

#: Gated unit -> the registry activation applied to its first half.
GATED: dict[str, str] = {"geglu": "gelu", "swiglu": "silu", "reglu": "relu"}
IMPLS = ("torch", "gelulab")


def canonical_activation(name: str) -> str:
    """The registry name of ``name`` (aliases resolve), or the gated name itself.

    Raises ``gelulab.functions.UnknownActivationError`` for anything else.
    """
    key = name.strip().lower()
    if key in GATED:
        return key
    return resolve(name)


def is_gated(name: str) -> bool:
    return canonical_activation(name) in GATED


@functools.cache
def torch_function(name: str) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """PyTorch's built-in function for registry entry ``name`` if it agrees with the registry, else None.

    Agreement: float64 values on 241 points of [-6, 6] within 1e-7 relative plus 1e-12 absolute: far
    finer than any difference of definition (gelu vs gelu_tanh differ by up to 5e-4), and loose enough for
    PyTorch's float64 GELU, which forms 1 + erf(x/sqrt 2) and so loses digits in the negative tail.
    """
    name = resolve(name)
    fn = functools.partial(F.gelu, approximate="tanh") if name == "gelu_tanh" else getattr(F, name, None)
    if fn is None:
        return None
    x = np.linspace(-6.0, 6.0, 241)
    expected = np.asarray(get(name).evaluate(x, 0), dtype=np.float64)
    got = fn(torch.from_numpy(x)).numpy()
    if not np.allclose(got, expected, rtol=1e-7, atol=1e-12):
        return None
    return fn


def activation_module(name: str, impl: str = "gelulab") -> nn.Module:
    """A fresh ``nn.Module`` computing activation ``name`` (gated: last dim 2h -> h)."""
    canonical = canonical_activation(name)
    if impl not in IMPLS:
        raise ValueError(f"unknown activation implementation {impl!r}; use one of {', '.join(IMPLS)}")
    base = GATED.get(canonical, canonical)
    fn = torch_function(base) if impl == "torch" else None
    if fn is not None:
        return TorchActivation(base, fn, gated=canonical in GATED)
    from .. import torch as gt  # imported only when used: its kernels take seconds to load

    return gt.activation_module(canonical)


class TorchActivation(nn.Module):
    """A PyTorch built-in activation; gated: x = [a | b] on the last dim -> f(a) * b."""

    def __init__(self, name: str, fn: Callable[[torch.Tensor], torch.Tensor], gated: bool) -> None:
        super().__init__()
        self.name, self.fn, self.gated = name, fn, gated

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.gated:
            a, b = x.chunk(2, dim=-1)
            return self.fn(a) * b
        return self.fn(x)

    def extra_repr(self) -> str:
        return f"{self.name}, torch{', gated' if self.gated else ''}"
