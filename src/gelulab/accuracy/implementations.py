"""Every implementation the harness can grade, registered in one place (``IMPLEMENTATIONS``).

An implementation takes a NumPy array of the graded dtype (float32, float16 or an ml_dtypes
bfloat16 array) and returns f^(order) of it, in that dtype. The built-in ones:

* ``gelulab``: gelulab's own ``get(f).evaluate`` (every registered function, orders 0-2).
* ``gelulab-cpu``: gelulab's CPU kernels (``gelulab.kernels.cpu``): the compiled float32 and 16-bit
  kernels where they exist, with the backward's product grad * f'(x) at grad = 1.
* ``torch``: ``torch.nn.functional`` (gelu with approximate='none'/'tanh', silu, relu, ...);
  derivatives by autograd. Inputs shorter than 16 elements are padded, because PyTorch's CPU
  kernels take a scalar path for tiny tensors and graded results must not depend on the batch.
* ``numpy``: the textbook formulas in NumPy/SciPy arithmetic, as users write them
  (0.5*x*(1+erf(x/sqrt(2))), the tanh form, x/(1+exp(-x))).
* ``scipy``: x*scipy.special.ndtr(x) and x*expit(x).
* ``jax``: jax.nn (optional: reported as unavailable, with the reason, when jax is not installed).
* ``module:function``: any importable callable f(x) -> array, graded against the requested
  order (the callable computes whichever function/derivative the user says it does).

The NumPy and SciPy formulas evaluate 16-bit inputs in float32 (SciPy has no half-precision
erf) and cast the result back, exactly as a user's ``f(x.astype(np.float32)).astype(dtype)``.
"""

from __future__ import annotations

import importlib
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..functions import get
from ..functions.constants import (
    ELU_ALPHA,
    GELU_TANH_CUBIC,
    INV_SQRT_2PI,
    LEAKY_RELU_SLOPE,
    RELU6_CAP,
    SQRT_2_OVER_PI,
    exact,
)
from .formats import DType

ArrayFn = Callable[[np.ndarray], np.ndarray]


class UnknownImplementationError(ValueError):
    """An implementation name that is neither registered nor of the form module:function."""


@dataclass
class Implementation:
    """One gradable implementation.

    ``evaluate(function, x, order)`` returns results in x's dtype. ``unavailable()`` returns
    why the implementation cannot run here (a missing package), or None. ``supports``
    returns why it has no (function, order, dtype), or None when it has.
    """

    name: str
    description: str
    evaluate: Callable[[str, np.ndarray, int], np.ndarray]
    functions: Callable[[], set[str]] | None = None  # None: every registered function
    orders: tuple[int, ...] = (0, 1)
    requires: str | None = None  # an importable module this needs
    dtypes: tuple[str, ...] = ("float32", "float16", "bfloat16")
    notes: dict[str, str] = field(default_factory=dict)

    def unavailable(self) -> str | None:
        if self.requires is None:
            return None
        try:
            importlib.import_module(self.requires)
        except Exception as exc:  # any import failure means "not usable here"; say which
            return f"{self.requires} is not importable ({type(exc).__name__}: {exc})"
        return None

    def supports(self, function: str, order: int, dt: DType) -> str | None:
        missing = self.unavailable()
        if missing:
            return missing
        if self.functions is not None and function not in self.functions():
            return f"{self.name} has no {function} (it has: {', '.join(sorted(self.functions()))})"
        if order not in self.orders:
            return f"{self.name} has no derivative of order {order}"
        if dt.name not in self.dtypes:
            return f"{self.name} does not compute in {dt.name}"
        return None


# --- gelulab ---------------------------------------------------------------------------------

def _gelulab(function: str, x: np.ndarray, order: int) -> np.ndarray:
    return np.asarray(get(function).evaluate(x, order))


def _gelulab_cpu(function: str, x: np.ndarray, order: int) -> np.ndarray:
    """The CPU kernels: f(x), and grad * f^(order)(x) with grad = 1 (the backward's own product)."""
    from ..kernels import cpu

    if order == 0:
        return cpu.forward(function, x)
    return cpu.derivative_times(function, np.ones_like(x), x, order)


# --- torch -----------------------------------------------------------------------------------

_TORCH_PAD = 16


def _torch_ops() -> dict[str, Callable[[Any], Any]]:
    import torch.nn.functional as F

    return {
        "gelu": lambda t: F.gelu(t, approximate="none"),
        "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"),
        "silu": F.silu,
        "relu": F.relu,
        "relu6": lambda t: F.hardtanh(t, 0.0, float(exact(RELU6_CAP))),
        "leaky_relu": lambda t: F.leaky_relu(t, float(exact(LEAKY_RELU_SLOPE))),
        "elu": lambda t: F.elu(t, float(exact(ELU_ALPHA))),
        "selu": F.selu,
        "softplus": F.softplus,
        "mish": F.mish,
        "hardswish": F.hardswish,
    }


def _to_torch(x: np.ndarray) -> Any:
    import torch

    if x.dtype.name == "bfloat16":
        return torch.from_numpy(x.view(np.int16).copy()).view(torch.bfloat16)
    return torch.from_numpy(np.ascontiguousarray(x).copy())


def _from_torch(t: Any, dtype: np.dtype) -> np.ndarray:
    import torch

    t = t.detach()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().view(dtype)
    return t.numpy().astype(dtype, copy=False)


def _torch_parameterised(function: str) -> Callable[[Any], Any] | None:
    """torch's own op for a parameterised name (``elu(alpha=0.5)`` -> ``F.elu(t, 0.5)``)."""
    import torch.nn.functional as F

    from ..functions import parametric

    if not parametric.is_call(function):
        return None
    family, v = parametric.parse(function)
    return {
        "leaky_relu": lambda t: F.leaky_relu(t, v["negative_slope"]),
        "elu": lambda t: F.elu(t, v["alpha"]),
        "celu": lambda t: F.celu(t, v["alpha"]),
        "softplus": lambda t: F.softplus(t, v["beta"], v["threshold"]),
    }[family.name]


def _torch_functions() -> set[str]:
    """The names torch grades: its ops, and every parameterised name (a set that takes any parameters)."""
    from ..functions import parametric

    class _Every(set):
        def __contains__(self, name: object) -> bool:
            return super().__contains__(name) or (isinstance(name, str) and parametric.is_call(name))

    return _Every(_torch_ops())


def _torch(function: str, x: np.ndarray, order: int) -> np.ndarray:
    import torch

    op = _torch_ops().get(function) or _torch_parameterised(function)
    n = x.size
    flat = x.ravel()
    if n < _TORCH_PAD:
        flat = np.concatenate([flat, np.zeros(_TORCH_PAD - n, dtype=x.dtype)])
    t = _to_torch(flat)
    if order == 0:
        with torch.no_grad():
            y = op(t)
    else:
        t.requires_grad_(True)
        y = op(t)
        (y,) = torch.autograd.grad(y, t, torch.ones_like(y))
    return _from_torch(y, x.dtype)[:n].reshape(x.shape)


# --- naive NumPy / SciPy formulas -------------------------------------------------------------

def _compute_dtype(x: np.ndarray) -> np.ndarray:
    return x if x.dtype == np.float32 else x.astype(np.float32)


_SQRT2 = math.sqrt(2.0)  # Python floats: NumPy keeps float32 arithmetic in float32 with them
_SQRT_2_OVER_PI = SQRT_2_OVER_PI[0]
_INV_SQRT_2PI = INV_SQRT_2PI[0]
_CUBIC = float(exact(GELU_TANH_CUBIC))


def _numpy_formulas() -> dict[tuple[str, int], ArrayFn]:
    from scipy.special import erf

    def tanh_u(x: np.ndarray) -> np.ndarray:
        return _SQRT_2_OVER_PI * (x + _CUBIC * x * x * x)

    def sig(x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-x))

    def gelu_tanh_d(x: np.ndarray) -> np.ndarray:
        th = np.tanh(tanh_u(x))
        return 0.5 * (1.0 + th) + 0.5 * x * (1.0 - th * th) * _SQRT_2_OVER_PI * (1.0 + 3.0 * _CUBIC * x * x)

    return {
        ("gelu", 0): lambda x: 0.5 * x * (1.0 + erf(x / _SQRT2)),
        ("gelu", 1): lambda x: 0.5 * (1.0 + erf(x / _SQRT2)) + x * np.exp(-0.5 * x * x) * _INV_SQRT_2PI,
        ("gelu_tanh", 0): lambda x: 0.5 * x * (1.0 + np.tanh(tanh_u(x))),
        ("gelu_tanh", 1): gelu_tanh_d,
        ("silu", 0): lambda x: x * sig(x),
        ("silu", 1): lambda x: sig(x) * (1.0 + x * (1.0 - sig(x))),
        ("relu", 0): lambda x: np.maximum(x, 0.0),
        ("relu", 1): lambda x: (x > 0).astype(x.dtype),
    }


def _scipy_formulas() -> dict[tuple[str, int], ArrayFn]:
    from scipy.special import expit, ndtr

    return {
        ("gelu", 0): lambda x: x * ndtr(x),
        ("gelu", 1): lambda x: ndtr(x) + x * np.exp(-0.5 * x * x) * _INV_SQRT_2PI,
        ("silu", 0): lambda x: x * expit(x),
        ("silu", 1): lambda x: expit(x) * (1.0 + x * (1.0 - expit(x))),
    }


def _formula_impl(table: Callable[[], dict[tuple[str, int], ArrayFn]]) -> Callable[[str, np.ndarray, int], np.ndarray]:
    def evaluate(function: str, x: np.ndarray, order: int) -> np.ndarray:
        with np.errstate(all="ignore"):
            y = table()[(function, order)](_compute_dtype(x))
            return np.asarray(y).astype(x.dtype)

    return evaluate


# --- JAX -------------------------------------------------------------------------------------

def _jax_ops() -> dict[str, Callable[[Any], Any]]:
    import jax

    return {
        "gelu": lambda t: jax.nn.gelu(t, approximate=False),
        "gelu_tanh": lambda t: jax.nn.gelu(t, approximate=True),
        "silu": jax.nn.silu,
        "relu": jax.nn.relu,
        "relu6": jax.nn.relu6,
        "elu": jax.nn.elu,
        "selu": jax.nn.selu,
        "softplus": jax.nn.softplus,
        "mish": jax.nn.mish,
        "hardswish": jax.nn.hard_swish,
    }


_JAX_CACHE: dict[tuple[str, int], Callable[[Any], Any]] = {}


def _jax(function: str, x: np.ndarray, order: int) -> np.ndarray:
    import jax

    key = (function, order)
    if key not in _JAX_CACHE:
        op = _jax_ops()[function]
        _JAX_CACHE[key] = jax.jit(op if order == 0 else jax.vmap(jax.grad(op)))
    return np.asarray(_JAX_CACHE[key](x.ravel())).astype(x.dtype).reshape(x.shape)


# --- user callables --------------------------------------------------------------------------

def _user_callable(spec: str) -> Implementation:
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise UnknownImplementationError(f"{spec!r}: a user implementation is written module:function")
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))  # so a module in the current folder can be graded
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise UnknownImplementationError(f"cannot import {module_name!r} for {spec!r}: {exc}") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise UnknownImplementationError(f"{module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise UnknownImplementationError(f"{spec!r} is not callable")
    fn = obj

    def evaluate(function: str, x: np.ndarray, order: int) -> np.ndarray:
        y = fn(x)
        if hasattr(y, "detach"):  # a torch tensor
            y = y.detach().cpu().float().numpy()
        with np.errstate(all="ignore"):
            return np.asarray(y).astype(x.dtype).reshape(x.shape)

    return Implementation(
        name=spec, description=f"user callable {spec}(x), graded as the requested function/order",
        evaluate=evaluate, orders=(0, 1, 2),
    )


def _keys(table: Callable[[], dict[tuple[str, int], ArrayFn]]) -> Callable[[], set[str]]:
    return lambda: {f for f, _ in table()}


#: The registered implementations, by name. The one list; the CLI and report read it.
IMPLEMENTATIONS: dict[str, Implementation] = {
    impl.name: impl
    for impl in (
        Implementation("gelulab", "gelulab's own gl.get(f).evaluate (correctly rounded by design)", _gelulab,
                       orders=(0, 1, 2)),
        Implementation("gelulab-cpu", "gelulab's CPU kernels (numba: gelu, gelu_tanh, silu; the exact path for "
                       "the rest); derivatives as grad * f'(x) with grad = 1", _gelulab_cpu, orders=(0, 1, 2),
                       requires="numba"),
        Implementation("torch", "torch.nn.functional (CPU); derivatives by autograd", _torch,
                       functions=_torch_functions, requires="torch"),
        Implementation("numpy", "textbook formulas in NumPy/SciPy arithmetic (erf, tanh, exp)",
                       _formula_impl(_numpy_formulas), functions=_keys(_numpy_formulas)),
        Implementation("scipy", "x*scipy.special.ndtr(x), x*expit(x)", _formula_impl(_scipy_formulas),
                       functions=_keys(_scipy_formulas)),
        Implementation("jax", "jax.nn (CPU); derivatives by jax.grad", _jax,
                       functions=lambda: set(_jax_ops()), requires="jax"),
    )
}


def implementation_names() -> list[str]:
    return list(IMPLEMENTATIONS)


def resolve_implementation(name: str) -> Implementation:
    """A registered implementation, or a user callable for ``module:function``."""
    if name in IMPLEMENTATIONS:
        return IMPLEMENTATIONS[name]
    if ":" in name:
        return _user_callable(name)
    raise UnknownImplementationError(
        f"unknown implementation {name!r}; use one of {', '.join(IMPLEMENTATIONS)} or module:function"
    )
