"""The dtypes the harness grades, their bit patterns, and ulps measured in them.

Every input of a dtype is named by an *ordinal*: an integer in [0, 2**bits) that increases with
the value, so a contiguous range of ordinals is an interval of x and a stride is a uniform
subsample of the bit patterns. Ordinal 2**(bits-1) is +0.0; below it come -0.0, the negative
numbers, -inf and the negative NaNs; above it the positives, +inf and the positive NaNs.

``ulp`` is the spacing of the target format at a value (the quantum of the binade holding it,
the subnormal quantum near zero), computed from a float64 estimate of the exact value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..functions import round_float64_to
from ..functions.rounding import FORMATS, FloatFormat, quantum_exponent


@dataclass(frozen=True)
class DType:
    """A dtype the harness can enumerate: its NumPy dtype, its bit width and its float format."""

    name: str
    bits: int
    fmt: FloatFormat

    @property
    def numpy(self) -> np.dtype:
        if self.name == "bfloat16":
            import ml_dtypes

            return np.dtype(ml_dtypes.bfloat16)
        return np.dtype(self.name)

    @property
    def uint(self) -> np.dtype:
        return np.dtype({16: np.uint16, 32: np.uint32}[self.bits])

    @property
    def count(self) -> int:
        return 1 << self.bits

    def from_ordinals(self, ordinals: np.ndarray) -> np.ndarray:
        """The dtype values with the given ordinals (see the module docstring)."""
        o = np.asarray(ordinals, dtype=np.int64)
        half = 1 << (self.bits - 1)
        bits = np.where(o >= half, o - half, (self.count - 1) - o)
        return bits.astype(self.uint).view(self.numpy)

    def ordinal(self, value: float, side: str) -> int:
        """Ordinal of the dtype value nearest ``value`` from above (side='up') or below ('down')."""
        with np.errstate(over="ignore"):
            v = np.array([value], dtype=np.float64).astype(self.numpy)
        back = float(v.astype(np.float64)[0])
        if back != back:
            raise ValueError(f"{value!r} is NaN; ranges take numbers")
        if side == "up" and back < value:
            v = _step(self, v, +1)
        elif side == "down" and back > value:
            v = _step(self, v, -1)
        b = int(v.view(self.uint)[0])
        half = 1 << (self.bits - 1)
        return b + half if b < half else (self.count - 1) - b

    def finite_ordinals(self) -> tuple[int, int]:
        """Ordinals of the smallest and largest finite value (inclusive)."""
        big = float(np.finfo(np.float32).max) if self.name == "bfloat16" else float(np.finfo(self.numpy).max)
        return self.ordinal(-big * 2, "up"), self.ordinal(big * 2, "down")


def _step(dt: DType, v: np.ndarray, direction: int) -> np.ndarray:
    """The next dtype value after v towards +inf (direction=+1) or -inf (-1)."""
    b = int(v.view(dt.uint)[0])
    half = 1 << (dt.bits - 1)
    o = b + half if b < half else (dt.count - 1) - b
    return dt.from_ordinals(np.array([o + direction]))


DTYPES: dict[str, DType] = {
    "float32": DType("float32", 32, FORMATS["float32"]),
    "float16": DType("float16", 16, FORMATS["float16"]),
    "bfloat16": DType("bfloat16", 16, FORMATS["bfloat16"]),
}


def dtype_info(name: str) -> DType:
    """The harness's description of a dtype name; ValueError with the known names otherwise."""
    try:
        return DTYPES[str(name).replace("torch.", "")]
    except KeyError:
        raise ValueError(f"unknown dtype {name!r}; the harness grades {', '.join(DTYPES)}") from None


def ulp(v64: np.ndarray, fmt: FloatFormat) -> np.ndarray:
    """Spacing of ``fmt`` at each |v| (exact powers of two, as float64)."""
    return np.ldexp(1.0, quantum_exponent(v64, fmt).astype(np.int32))


def round_to(y64: np.ndarray, dt: DType) -> np.ndarray:
    """Round float64 values once into the dtype (nearest, ties to even) and back to float64."""
    with np.errstate(over="ignore"):
        return round_float64_to(y64, dt.numpy).astype(np.float64)


def largest_finite(fmt: FloatFormat) -> float:
    return fmt.largest
