"""``swap_activations``: replace the activation modules inside any ``nn.Module``.

Recognised (each mapped to the registry entry it computes, with its parameters checked):
``torch.nn`` activation modules, HF transformers' ``transformers.activations`` classes, timm's
``timm.layers.activations*`` classes, and module attributes that hold a torch functional such as
``F.gelu`` (the way some models store ``self.act_fn``). Parameterised modules keep their parameters
(``LeakyReLU(0.2)`` becomes ``leaky_relu(negative_slope=0.2)``, ``Softplus(beta=2)`` becomes
``softplus(beta=2.0, threshold=20.0)``). What cannot be swapped is reported, not silently left:
activation modules whose parameters gelulab does not take (``Softplus(beta=-1)``, HF's clipped GELU) or
that are not registry activations at all (``Tanh``, ``Sigmoid``), and functional calls written inside
a ``forward`` (``F.gelu(x)``), which no module swap can reach. A swapped module computes out of place
(``ReLU(inplace=True)`` included): the result is the same and autograd needs no copy of the input.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

import torch
from torch import nn
from torch.nn import functional as TF

from ..functions import get, resolve
from ..functions.parametric import ParameterError
from . import functional as F
from .modules import Activation

# How a recognised module maps to a registry entry: returns (alias, None) or (None, reason).
Recogniser = Callable[[nn.Module], tuple[str | None, str | None]]


def _fixed(alias: str) -> Recogniser:
    resolve(alias)  # fail at import if the registry lost the entry
    return lambda module: (alias, None)


def _torch_gelu(module: nn.Module) -> tuple[str | None, str | None]:
    approximate = getattr(module, "approximate", "none")
    if approximate in F.GELU_APPROXIMATE:
        return F.GELU_APPROXIMATE[approximate], None
    return None, f"GELU(approximate={approximate!r}) is not registered"


def _parameterised(name_of: Callable[..., str], *attrs: str) -> Recogniser:
    """A module whose parameters (torch's attribute names) select a parameterised activation."""

    def recognise(module: nn.Module) -> tuple[str | None, str | None]:
        try:
            return name_of(*(getattr(module, a) for a in attrs)), None
        except (ParameterError, TypeError, ValueError) as exc:
            return None, str(exc)

    return recognise


#: torch.nn classes by class object.
_TORCH: dict[type, Recogniser] = {
    nn.GELU: _torch_gelu,
    nn.ReLU: _fixed("relu"),
    nn.ReLU6: _fixed("relu6"),
    nn.LeakyReLU: _parameterised(F.leaky_relu_name, "negative_slope"),
    nn.ELU: _parameterised(F.elu_name, "alpha"),
    nn.CELU: _parameterised(F.celu_name, "alpha"),
    nn.SELU: _fixed("selu"),
    nn.Softplus: _parameterised(F.softplus_name, "beta", "threshold"),
    nn.SiLU: _fixed("silu"),
    nn.Mish: _fixed("mish"),
    nn.Hardswish: _fixed("hardswish"),
}

#: Other libraries' classes by (module prefix, class name), so neither library has to be imported.
_FOREIGN: dict[tuple[str, str], Recogniser] = {
    ("transformers.activations", "GELUActivation"): _fixed("gelu"),
    ("transformers.activations", "NewGELUActivation"): _fixed("gelu_new"),
    ("transformers.activations", "FastGELUActivation"): _fixed("gelu_fast"),
    ("transformers.activations", "GELUTanh"): _fixed("gelu_pytorch_tanh"),
    ("transformers.activations", "PytorchGELUTanh"): _fixed("gelu_pytorch_tanh"),
    ("transformers.activations", "AccurateGELUActivation"): _fixed("gelu_tanh"),
    ("transformers.activations", "QuickGELUActivation"): _fixed("quick_gelu"),
    ("transformers.activations", "SiLUActivation"): _fixed("silu"),
    ("transformers.activations", "MishActivation"): _fixed("mish"),
    ("transformers.activations", "ReLUSquaredActivation"): _fixed("relu2"),
    ("timm.layers.activations", "Swish"): _fixed("swish"),
    ("timm.layers.activations", "Mish"): _fixed("mish"),
    ("timm.layers.activations", "GELU"): _fixed("gelu"),
    ("timm.layers.activations", "GELUTanh"): _fixed("gelu_tanh"),
    ("timm.layers.activations", "QuickGELU"): _fixed("quick_gelu"),
    ("timm.layers.activations", "HardSwish"): _fixed("hardswish"),
    ("timm.layers.activations_me", "SwishMe"): _fixed("swish"),
    ("timm.layers.activations_me", "MishMe"): _fixed("mish"),
    ("timm.layers.activations_me", "HardSwishMe"): _fixed("hardswish"),
}

#: torch functionals that some models keep as module attributes (``self.act_fn = F.gelu``).
_FUNCTIONALS: dict[Callable, str] = {
    fn: resolve(fn.__name__)
    for fn in (TF.gelu, TF.relu, torch.relu, TF.relu6, TF.leaky_relu, TF.elu, TF.celu, TF.selu, TF.softplus,
               TF.silu, TF.mish, TF.hardswish)
}
#: gelulab's functional with torch's signature, for a functional attribute that keeps its function (the
#: call may pass parameters: ``self.act(x, 0.2)``)
_SAME_SIGNATURE: dict[Callable, Callable] = {
    TF.gelu: F.gelu, TF.relu: F.relu, torch.relu: F.relu, TF.relu6: F.relu6, TF.leaky_relu: F.leaky_relu,
    TF.elu: F.elu, TF.celu: F.celu, TF.selu: F.selu, TF.softplus: F.softplus, TF.silu: F.silu, TF.mish: F.mish,
    TF.hardswish: F.hardswish,
}

# Classes from these modules hold activations that are not registry entries (Tanh, Sigmoid, ...).
_ACTIVATION_HOMES = ("torch.nn.modules.activation", "transformers.activations", "timm.layers.activations")
_NOT_ACTIVATIONS = {"MultiheadAttention", "Softmax", "Softmin", "LogSoftmax", "Softmax2d", "LinearActivation"}

_CALL = re.compile(
    r"(?:\b(?:F|functional|nn\.functional|torch)\.|\.)(" + "|".join(
        sorted({fn.__name__ for fn in _FUNCTIONALS} | {"gelu_tanh", "quick_gelu"})
    ) + r")_?\s*\("
)


@dataclass(frozen=True)
class Swapped:
    path: str
    before: str  # class (or function) that was there
    activation: str  # registry entry it computed
    after: str  # registry entry now computed


@dataclass(frozen=True)
class NotSwapped:
    path: str
    what: str
    reason: str


@dataclass
class SwapReport:
    """What ``swap_activations`` did: swapped modules, what it left and why, functional calls found."""

    swapped: list[Swapped] = field(default_factory=list)
    not_swapped: list[NotSwapped] = field(default_factory=list)
    functional_calls: list[NotSwapped] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """True when every activation found was swapped."""
        return not self.not_swapped and not self.functional_calls

    def summary(self) -> str:
        lines = [f"swapped {len(self.swapped)} activation(s)"]
        lines += [f"  {s.path}: {s.before} ({s.activation}) -> {s.after}" for s in self.swapped]
        if self.not_swapped:
            lines.append(f"not swapped {len(self.not_swapped)}:")
            lines += [f"  {n.path}: {n.what}: {n.reason}" for n in self.not_swapped]
        if self.functional_calls:
            lines.append(f"functional calls in forward (cannot be swapped) {len(self.functional_calls)}:")
            lines += [f"  {n.path}: {n.what}: {n.reason}" for n in self.functional_calls]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def recognise(module: nn.Module) -> tuple[str | None, str | None]:
    """(registry name, None) for a module computing a registry activation, else (None, reason or None).

    The reason is None for modules that are not activations at all (Linear, LayerNorm, ...).
    """
    if isinstance(module, Activation):
        return module.name, None
    for cls in type(module).__mro__:
        if cls in _TORCH:
            alias, why = _TORCH[cls](module)
            return (resolve(alias) if alias else None), why
        key = (cls.__module__, cls.__name__)
        for (prefix, name), rec in _FOREIGN.items():
            if key[1] == name and key[0].startswith(prefix):
                alias, why = rec(module)
                return (resolve(alias) if alias else None), why
    home = type(module).__module__
    if home.startswith(_ACTIVATION_HOMES) and type(module).__name__ not in _NOT_ACTIVATIONS:
        return None, f"{type(module).__name__} is not a registered activation"
    return None, None


@cache
def _functional_calls(cls: type) -> tuple[str, ...]:
    """Calls like ``F.gelu(`` or ``x.relu()`` in a class's own ``forward`` source."""
    forward = cls.__dict__.get("forward")
    if forward is None:
        return ()
    try:
        source = inspect.getsource(forward)
    except (OSError, TypeError):  # built without source (C extension, exec)
        return ()
    calls = []
    for line in source.splitlines():
        code = line.split("#", 1)[0]
        if _CALL.search(code):
            calls.append(code.strip())
    return tuple(calls)


def _target(to: str | None) -> str | None:
    if to is None:
        return None
    if str(to).strip().lower() in F.GATED_NAMES:
        raise ValueError(f"gelulab: swap_activations(to={to!r}): a gated form halves the last dimension and cannot "
                         "replace an elementwise activation; pick an elementwise one (see gelulab list)")
    return get(to).name


def swap_activations(model: nn.Module, to: str | None = None) -> SwapReport:
    """Replace every recognised activation inside ``model`` (in place) and report what happened.

    ``to``: a registry name or alias to put everywhere (``"relu"``, ``"gelu_new"``); ``None`` keeps
    each activation's function and replaces only its implementation with gelulab's correctly
    rounded op, so the model computes the same function.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"gelulab: swap_activations expects an nn.Module, got {type(model).__name__}")
    target = _target(to)
    report = SwapReport()
    # remove_duplicate=False: a module shared at two paths is replaced at both
    entries = list(model.named_modules(remove_duplicate=False))
    seen_classes: set[type] = set()
    for path, module in entries:
        name, why = recognise(module)
        label = type(module).__name__
        if name is not None:
            if not path:
                report.not_swapped.append(NotSwapped("<root>", label, "the model itself is the activation; "
                                                     "use gt.activation_module instead"))
                continue
            new_name = target or name
            parent_path, _, attr = path.rpartition(".")
            parent = model.get_submodule(parent_path) if parent_path else model
            setattr(parent, attr, Activation(new_name))
            report.swapped.append(Swapped(path, label, name, new_name))
            continue
        if why is not None:
            report.not_swapped.append(NotSwapped(path or "<root>", label, why))
            continue
        for attr, value in list(vars(module).items()):
            if callable(value) and not isinstance(value, nn.Module) and value in _FUNCTIONALS:
                fn_name = _FUNCTIONALS[value]
                new_name = target or fn_name
                setattr(module, attr, _functional_for(new_name) if target else _SAME_SIGNATURE[value])
                report.swapped.append(Swapped(f"{path}.{attr}" if path else attr, f"{value.__module__}."
                                              f"{value.__name__}", fn_name, new_name))
        cls = type(module)
        if cls in seen_classes or cls.__module__.startswith("torch."):
            continue
        seen_classes.add(cls)
        for call in _functional_calls(cls):
            report.functional_calls.append(NotSwapped(path or "<root>", cls.__name__, call))
    return report


def _functional_for(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    def act(x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        return F.activation(x, name)

    act.__name__ = f"gelulab_{name}"
    return act
