"""The math: one registry of activations, their careful float64 kernels and exact forms."""

from .registry import (
    REGISTRY,
    UnknownActivationError,
    closest_name,
    evaluate,
    gelu,
    get,
    names,
    relu,
    resolve,
    silu,
)
from .spec import ActivationSpec, round_float64_to, supported_dtypes

__all__ = [
    "REGISTRY",
    "ActivationSpec",
    "UnknownActivationError",
    "closest_name",
    "evaluate",
    "gelu",
    "get",
    "names",
    "relu",
    "resolve",
    "round_float64_to",
    "silu",
    "supported_dtypes",
]
