"""gelulab: GELU, ReLU and their relatives, exact, fast and compared."""

from .functions import gelu, get, names, relu, silu

__version__ = "0.1.0"

__all__ = ["__version__", "gelu", "get", "names", "relu", "silu"]
