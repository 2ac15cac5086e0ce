"""Activation modules for the training tasks, by registry name (or a gated name).

Names come from the registry (``gelulab.functions.resolve``), plus the three gated units
``geglu``, ``swiglu`` and ``reglu`` (Shazeer 2020): they split their input's last dimension into
halves a | b and return act(a) * b, so a gated FFN's first projection is twice as wide.
"""

from __future__ import annotations

from ..functions import resolve

#: Gated unit -> the registry activation applied to its first half.
GATED: dict[str, str] = {"geglu": "gelu", "swiglu": "silu", "reglu": "relu"}


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


def activation_module(name: str):  # -> torch.nn.Module
    """A fresh ``nn.Module`` computing activation ``name`` (gated: last dim 2h -> h), from gelulab.torch."""
    from .. import torch as gt

    return gt.activation_module(canonical_activation(name))
