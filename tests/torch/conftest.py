"""Eager PyTorch forms of every registry activation: the peer the custom ops are compared with."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import gelulab as gl

#: Keyed by registry name; test_eager_table_covers_the_registry fails when the registry grows.
EAGER = {
    "gelu": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "quick_gelu": lambda x: x * torch.sigmoid(1.702 * x),
    "relu": F.relu,
    "relu6": F.relu6,
    "leaky_relu": F.leaky_relu,
    "relu2": lambda x: F.relu(x) ** 2,
    "elu": F.elu,
    "selu": F.selu,
    "softplus": F.softplus,
    "silu": F.silu,
    "mish": F.mish,
    "hardswish": F.hardswish,
}

#: Points where a non-smooth activation's derivative jumps (conventions may differ there).
KINKS = {"relu": (0.0,), "relu6": (0.0, 6.0), "leaky_relu": (0.0,), "relu2": (0.0,), "elu": (0.0,), "selu": (0.0,),
         "hardswish": (-3.0, 3.0)}

DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16]
NAMES = gl.names()


def away_from_kinks(x: torch.Tensor, name: str, gap: float = 0.05) -> torch.Tensor:
    """Move inputs off the kinks so finite differences (gradcheck) see one smooth piece."""
    for k in KINKS.get(name, ()):
        near = (x - k).abs() < gap
        x = torch.where(near, x + 2 * gap, x)
    return x



@pytest.fixture(autouse=True)
def _seeded():
    """Deterministic inputs for every test (the tolerances are checked against these draws)."""
    torch.manual_seed(0)
