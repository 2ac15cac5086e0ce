"""What one activation is: its names, formula, float64 kernels and exact symbolic form.

``ActivationSpec.evaluate`` is the one place where inputs are checked and outputs are given the
caller's dtype: float64 kernels run on a float64 copy, special values are set from the limits,
derivative roots are replaced by local expansions, and the result is rounded once into float32 /
float16 / bfloat16 by gelulab's one rounding decision (:mod:`.rounding`): from float64 where the
kernels' error bound allows it, otherwise in long double, by the tiny-x rule or by the oracle.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import double_double as dd

Kernel = Callable[[np.ndarray], np.ndarray]

ORDERS = (0, 1, 2)
#: Elements per block when a kernel runs over a long array: its temporaries (a dozen or more per
#: kernel, 8 or 16 bytes an element) stay in cache and reuse memory instead of faulting in fresh
#: pages for every intermediate. Elementwise kernels give the same values either way.
KERNEL_BLOCK = 1 << 14
_ORDER_WORDS = {0: "forward", 1: "first derivative", 2: "second derivative"}


def _bfloat16_dtype() -> np.dtype | None:
    try:
        import ml_dtypes
    except ImportError:  # optional: only needed to hand back bfloat16 arrays
        return None
    return np.dtype(ml_dtypes.bfloat16)


def supported_dtypes() -> tuple[np.dtype, ...]:
    base = (np.dtype(np.float64), np.dtype(np.float32), np.dtype(np.float16))
    bf16 = _bfloat16_dtype()
    return base + ((bf16,) if bf16 is not None else ())


def round_float64_to(y: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Round float64 values once into ``dtype`` (nearest, ties to even).

    NumPy casts float64 to float16 and float32 directly; ml_dtypes casts to bfloat16 through
    float32, so that path first rounds to odd in float32 (exact for a later 8-bit rounding).
    """
    if dtype == np.float64:
        return y
    y = np.asarray(y, dtype=np.float64)
    shape = y.shape
    y = y.reshape(-1)  # 0-d arrays would turn into scalars below
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        if dtype in (np.float32, np.float16):
            return y.astype(dtype).reshape(shape)
        f32 = y.astype(np.float32)
        back = f32.astype(np.float64)
    inexact = (back != y) & np.isfinite(y) & np.isfinite(back)
    even = (f32.view(np.int32) & 1) == 0
    fix = inexact & even
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        if np.any(fix):
            f32[fix] = np.nextafter(f32[fix], np.where(y[fix] > back[fix], np.inf, -np.inf).astype(np.float32))
        return f32.astype(dtype).reshape(shape)


@dataclass(frozen=True)
class ActivationSpec:
    """One registered activation.

    ``kernels`` are the float64 forward, first and second derivative. ``symbolic`` builds the
    exact sympy expression from a real symbol; the mpmath oracle and the analysis use it.
    ``limits[order]`` are the values at -inf and +inf. ``documented`` holds what the
    literature says of the function (monotonic, smooth, ...): the analysis may check these but
    must compute its own answers.
    """

    name: str
    aliases: tuple[str, ...]
    latex: str
    summary: str
    domain_notes: str
    kernels: tuple[Kernel, Kernel, Kernel]
    symbolic: Callable[[Any], Any]
    limits: Mapping[int, tuple[float, float]]
    smooth: bool
    family: str
    documented: Mapping[str, Any] = field(default_factory=dict)
    #: the kernels also run on np.longdouble arrays (exp/log1p/expm1 only, no scipy calls): float64
    #: results are then computed with a 64-bit significand on x86 and rounded once.
    extended: bool = False

    def __call__(self, x: Any) -> Any:
        return self.evaluate(x, 0)

    def forward(self, x: Any) -> Any:
        return self.evaluate(x, 0)

    def derivative(self, x: Any) -> Any:
        return self.evaluate(x, 1)

    def second_derivative(self, x: Any) -> Any:
        return self.evaluate(x, 2)

    def evaluate(self, x: Any, order: int = 0) -> Any:
        """f, f' or f'' of x, in x's dtype (integers and Python numbers give float64)."""
        if order not in ORDERS:
            raise ValueError(f"{self.name}: derivative order must be 0, 1 or 2, got {order!r}")
        arr, dtype, scalar = _as_float_array(x, self.name)
        with np.errstate(invalid="ignore"):  # ml_dtypes warns when it widens a bfloat16 NaN
            x64 = arr.astype(np.float64)
        if dtype == np.float64:
            out = self.evaluate_float64(x64, order, extended=True)
        else:
            from .rounding import correctly_rounded, float_format

            flat = correctly_rounded(self, x64.reshape(-1), order, float_format(dtype)).rounded
            out = flat.astype(dtype).reshape(x64.shape)  # exact: the values are dtype's
        return out[()] if scalar else out

    def evaluate_float64(self, x64: np.ndarray, order: int, extended: bool = False) -> np.ndarray:
        """The float64 result (before narrowing) for a float64 array.

        ``extended``: where the kernels support it and the platform's long double is wider than
        double (x86: 64-bit significand), evaluate in long double and round once; about 2x slower,
        for float64 outputs. Narrower outputs do not need it: their rounding has 29+ bits of slack.
        """
        from .root_patches import apply_root_patches, patched_only

        shape = np.shape(x64)
        x64 = np.ascontiguousarray(x64, dtype=np.float64).reshape(-1)  # kernels see 1-d arrays only
        with np.errstate(all="ignore"):
            patched = patched_only(self, order, x64)
            if patched is not None:
                return patched.reshape(shape)
            if extended and self.extended and dd.LONG_DOUBLE_IS_WIDER:
                y = blockwise(self.kernels[order], x64, np.longdouble).astype(np.float64)
            else:
                y = blockwise(self.kernels[order], x64, np.float64)
            if self.smooth and order > 0:
                apply_root_patches(self, order, x64, y)
            lo, hi = self.limits[order]
            y[x64 == -np.inf] = lo
            y[x64 == np.inf] = hi
            y[np.isnan(x64)] = np.nan
        return y.reshape(shape)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "aliases": list(self.aliases),
            "family": self.family,
            "formula": self.latex,
            "summary": self.summary,
            "domain": self.domain_notes,
            "smooth": self.smooth,
        }


def blockwise(kernel: Callable[[np.ndarray], Any], x: np.ndarray, dtype: Any) -> np.ndarray:
    """kernel over a 1-d array x, evaluated in ``dtype`` block by block (``KERNEL_BLOCK``) into one
    fresh output; a kernel may return a scalar (a constant derivative), broadcast over its block."""
    out = np.empty(x.shape, dtype=dtype)
    for i in range(0, x.size, KERNEL_BLOCK):
        block = x[i:i + KERNEL_BLOCK]
        out[i:i + KERNEL_BLOCK] = kernel(block if block.dtype == dtype else block.astype(dtype))
    return out


def _as_float_array(x: Any, name: str) -> tuple[np.ndarray, np.dtype, bool]:
    scalar = np.ndim(x) == 0 and not isinstance(x, np.ndarray)
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name}: cannot read the input as a numeric array ({exc})") from None
    if arr.dtype.kind in "biu":
        arr = arr.astype(np.float64)
    if arr.dtype not in supported_dtypes():
        names = ", ".join(str(d) for d in supported_dtypes())
        raise TypeError(f"{name}: unsupported dtype {arr.dtype}; use one of {names} (or integers)")
    return arr, arr.dtype, scalar


def order_word(order: int) -> str:
    return _ORDER_WORDS[order]
