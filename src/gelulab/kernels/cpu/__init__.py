"""CPU kernels: one entry point per operation, choosing a compiled kernel when one exists.

* ``gelu``, ``gelu_tanh`` and ``silu`` (forward, ``grad * f'``, and the gated forms f(a) * b with
  their gradients) run compiled: float32 in :mod:`.fast`, float16 and bfloat16 in :mod:`.half`.
  Both evaluate in float64 with the fast erfc of :mod:`gelulab.functions.fast_erfc`, round once
  into the output's format, and send the rare inputs whose rounding a test cannot decide to the
  exact NumPy path, so results are bit-identical to the reference. They run on torch's OpenMP
  threads when torch is loaded (:mod:`.openmp`), else on a pool of their own.
* ``relu`` and ``relu6`` (f and f', products included), whose values are exact in every format, run
  in the input's own arithmetic (:mod:`.exact_values`): the same results, without a rounding decision.
* Everything else (other activations, float64, second derivatives) runs on
  :mod:`.reference_path`: the registry's NumPy float64 kernels, rounded once.

Arrays may have any shape; outputs are C-contiguous arrays of the input's dtype.
"""

from __future__ import annotations

import numpy as np

from ...functions import resolve
from . import exact_values, reference_path


def _compiled() -> tuple:
    """The compiled kernel modules (imports numba): float32 first, then the 16-bit ones."""
    from . import fast, half

    return fast, half


def has_fast_kernel(name: str, dtype: np.dtype | type) -> bool:
    """Whether (activation, dtype) runs on the compiled kernels rather than the NumPy path."""
    return _route(name, np.dtype(dtype))[1] is not None


#: (name or alias, dtype) -> (registry name, compiled module or None); decided once per pair
_ROUTES: dict[tuple[str, np.dtype], tuple[str, object]] = {}


def _route(name: str, dtype: np.dtype) -> tuple[str, object]:
    """The registry name and the compiled module (fast: float32, half: float16/bfloat16) for an op."""
    found = _ROUTES.get((name, dtype))
    if found is None:
        spec_name = resolve(name)
        module = None
        try:
            for candidate in _compiled():
                if candidate.supports(spec_name, dtype):
                    module = candidate
                    break
        except ImportError:  # numba missing: everything takes the exact NumPy path
            module = None
        found = _ROUTES[(name, dtype)] = (spec_name, module)
    return found


def _store(result: np.ndarray, out: np.ndarray | None) -> np.ndarray:
    if out is None:  # (np.ascontiguousarray would turn a 0-d result into shape (1,))
        result = np.asarray(result)
        return result if result.flags.c_contiguous else np.ascontiguousarray(result)
    out[...] = result
    return out


def forward(name: str, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """f(x), correctly rounded into x's dtype; written into ``out`` when given."""
    x = np.asarray(x)
    name, compiled = _route(name, x.dtype)
    if compiled is not None:
        return compiled.forward(name, x, out)
    if exact_values.supports(name, x.dtype):
        return exact_values.forward(name, x, out)
    return _store(reference_path.forward(name, x), out)


def small_forward(name: str, x: np.ndarray) -> np.ndarray:
    """forward(name, x) as a new array, by the shortest path for a small float32 x (see
    :func:`.fast.small_forward`); any other x takes :func:`forward`."""
    name, compiled = _route(name, x.dtype)
    if compiled is not None and x.dtype == np.float32:
        return compiled.small_forward(name, x)
    return forward(name, x)


def small_derivative_times(name: str, grad: np.ndarray, x: np.ndarray) -> np.ndarray:
    """derivative_times(name, grad, x) as a new array, by the shortest path for small float32 arrays of
    one shape (see :func:`.fast.small_derivative_times`); anything else takes :func:`derivative_times`."""
    name, compiled = _route(name, x.dtype)
    if compiled is not None and x.dtype == np.float32 and grad.dtype == np.float32:
        return compiled.small_derivative_times(name, grad, x)
    return derivative_times(name, grad, x)


def derivative_times(name: str, grad: np.ndarray, x: np.ndarray, order: int = 1,
                     out: np.ndarray | None = None) -> np.ndarray:
    """grad * f^(order)(x) in one rounding (the backward of f for order 1)."""
    x = np.asarray(x)
    grad = np.asarray(grad)
    name, compiled = _route(name, x.dtype)
    if order == 1 and compiled is not None and grad.dtype == x.dtype:
        return compiled.derivative_times(name, grad, x, out)
    if exact_values.supports(name, x.dtype, order) and grad.dtype == x.dtype:
        return exact_values.derivative_times(name, grad, x, out)
    return _store(reference_path.derivative_times(name, grad, x, order), out)


def gated_forward(name: str, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """f(a) * b for x = [a | b] split in halves along the last axis, rounded once."""
    x = np.asarray(x)
    half = x.shape[-1] // 2
    name, compiled = _route(name, x.dtype)
    if compiled is not None:
        return compiled.gated_forward(name, x, out)
    if exact_values.supports(name, x.dtype):
        return _store(exact_values.gated_forward(name, x[..., :half], x[..., half:]), out)
    return _store(reference_path.gated_forward(name, x[..., :half], x[..., half:]), out)


def gated_backward(name: str, grad: np.ndarray, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """[grad * b * f'(a) | grad * f(a)]: the gradient of gated_forward with respect to x."""
    x = np.asarray(x)
    grad = np.asarray(grad)
    half = x.shape[-1] // 2
    name, compiled = _route(name, x.dtype)
    if compiled is not None and grad.dtype == x.dtype:
        return compiled.gated_backward(name, grad, x, out)
    if exact_values.supports(name, x.dtype, 1) and grad.dtype == x.dtype:
        ga, gb = exact_values.gated_backward(name, grad, x[..., :half], x[..., half:])
        return _store(np.concatenate([ga, gb], axis=-1), out)
    ga, gb = reference_path.gated_backward(name, grad, x[..., :half], x[..., half:])
    return _store(np.concatenate([ga, gb], axis=-1), out)
