"""The registry: every activation gelulab knows, under the names the ecosystem uses.

This is the only list of activation names in gelulab; the CLI, the PyTorch front, the
analysis and the report all read it.
"""

from __future__ import annotations

import difflib
from typing import Any

from . import gaussian, logistic, parametric, piecewise
from .constants import (
    ELU_ALPHA,
    GELU_TANH_CUBIC,
    HARDSWISH_SHIFT,
    LEAKY_RELU_SLOPE,
    QUICK_GELU_SLOPE,
    RELU6_CAP,
    SELU_ALPHA,
    SELU_SCALE,
    exact,
)
from .spec import ActivationSpec

INF = float("inf")


def _sympy():
    import sympy

    return sympy


def _rational(decimal: str):
    return _sympy().Rational(decimal)


def _log1p(v):
    from sympy.codegen.cfunctions import log1p

    return log1p(v)


def _expm1(v):
    from sympy.codegen.cfunctions import expm1

    return expm1(v)


def _sigmoid_gate(x, z):
    return x / (1 + _sympy().exp(-z))


def _softplus(x):
    sp = _sympy()
    return sp.Piecewise((x + _log1p(sp.exp(-x)), x > 0), (_log1p(sp.exp(x)), True))


_SPECS: list[ActivationSpec] = [
    ActivationSpec(
        name="gelu",
        aliases=("gelu_erf", "gelu_exact", "gelu_python"),
        latex=r"x\,\Phi(x) = \tfrac{1}{2}\,x\left(1 + \operatorname{erf}\left(x/\sqrt{2}\right)\right)",
        summary="Gaussian Error Linear Unit, exact (erf) form (Hendrycks & Gimpel 2016).",
        domain_notes="All reals. Evaluated as x*erfc(-x/sqrt2)/2 for x < 0; gelu(x) = x above ~8.3 (float64).",
        kernels=gaussian.gelu_kernels,
        # evaluate=False: sympy would rewrite erfc(-z) as 2 - erfc(z), which cancels for x < 0.
        symbolic=lambda x: x * _sympy().erfc(-x / _sympy().sqrt(2), evaluate=False) / 2,
        limits={0: (-0.0, INF), 1: (-0.0, 1.0), 2: (-0.0, -0.0)},
        smooth=True,
        family="gaussian",
        extended=True,
        documented={"monotonic": False, "smooth": True, "negative_outputs": True},
    ),
    ActivationSpec(
        name="gelu_tanh",
        aliases=("gelu_new", "gelu_pytorch_tanh", "gelu_fast", "gelu_approx", "approx_gelu", "gelu_accurate"),
        latex=r"\tfrac{1}{2}\,x\left(1 + \tanh\left(\sqrt{2/\pi}\,(x + 0.044715\,x^3)\right)\right)",
        summary="The tanh approximation of GELU (BERT, GPT-2; PyTorch approximate='tanh').",
        domain_notes="All reals. Evaluated as x*sigmoid(2u) with u carried in double-double.",
        kernels=logistic.gelu_tanh,
        symbolic=lambda x: _sigmoid_gate(
            x, 2 * _sympy().sqrt(2 / _sympy().pi) * (x + _rational(GELU_TANH_CUBIC) * x**3)
        ),
        limits={0: (-0.0, INF), 1: (-0.0, 1.0), 2: (0.0, 0.0)},
        smooth=True,
        family="logistic",
        extended=True,
        documented={"monotonic": False, "smooth": True, "negative_outputs": True},
    ),
    ActivationSpec(
        name="quick_gelu",
        aliases=("gelu_sigmoid", "sigmoid_gelu", "quickgelu"),
        latex=r"x\,\sigma(1.702\,x)",
        summary="Sigmoid approximation of GELU (Hendrycks & Gimpel 2016; CLIP's QuickGELU).",
        domain_notes="All reals.",
        kernels=logistic.quick_gelu,
        symbolic=lambda x: _sigmoid_gate(x, _rational(QUICK_GELU_SLOPE) * x),
        limits={0: (-0.0, INF), 1: (-0.0, 1.0), 2: (0.0, 0.0)},
        smooth=True,
        family="logistic",
        extended=True,
        documented={"monotonic": False, "smooth": True, "negative_outputs": True},
    ),
    ActivationSpec(
        name="relu",
        aliases=(),
        latex=r"\max(0, x)",
        summary="Rectified Linear Unit (Nair & Hinton 2010).",
        domain_notes="All reals; derivative jumps at 0 (relu'(0) = 0 by PyTorch's convention).",
        kernels=(piecewise.relu, piecewise.relu_first, piecewise.zeros),
        symbolic=lambda x: _sympy().Piecewise((x, x > 0), (0, True)),
        limits={0: (0.0, INF), 1: (0.0, 1.0), 2: (0.0, 0.0)},
        smooth=False,
        family="piecewise",
        documented={"monotonic": True, "smooth": False, "negative_outputs": False},
    ),
    ActivationSpec(
        name="relu6",
        aliases=(),
        latex=r"\min(\max(0, x), 6)",
        summary="ReLU capped at 6 (MobileNet).",
        domain_notes="All reals; derivative jumps at 0 and 6.",
        kernels=(piecewise.relu6, piecewise.relu6_first, piecewise.zeros),
        symbolic=lambda x: _sympy().Piecewise((0, x <= 0), (x, x < _rational(RELU6_CAP)), (_rational(RELU6_CAP), True)),
        limits={0: (0.0, 6.0), 1: (0.0, 0.0), 2: (0.0, 0.0)},
        smooth=False,
        family="piecewise",
        documented={"monotonic": True, "smooth": False, "negative_outputs": False},
    ),
    ActivationSpec(
        name="leaky_relu",
        aliases=("leakyrelu", "lrelu"),
        latex=r"\max(x, 0.01\,x)",
        summary="Leaky ReLU with PyTorch's default slope 0.01 (Maas et al. 2013).",
        domain_notes="All reals; derivative jumps at 0.",
        kernels=(piecewise.leaky_relu, piecewise.leaky_relu_first, piecewise.zeros),
        symbolic=lambda x: _sympy().Piecewise((x, x > 0), (_rational(LEAKY_RELU_SLOPE) * x, True)),
        limits={0: (-INF, INF), 1: (float(exact(LEAKY_RELU_SLOPE)), 1.0), 2: (0.0, 0.0)},
        smooth=False,
        family="piecewise",
        documented={"monotonic": True, "smooth": False, "negative_outputs": True},
    ),
    ActivationSpec(
        name="relu2",
        aliases=("relu_squared", "squared_relu", "relu_square"),
        latex=r"\max(0, x)^2",
        summary="Squared ReLU (So et al. 2021, Primer).",
        domain_notes="All reals; C1 (second derivative jumps at 0).",
        kernels=(piecewise.relu2, piecewise.relu2_first, piecewise.relu2_second),
        symbolic=lambda x: _sympy().Piecewise((x**2, x > 0), (0, True)),
        limits={0: (0.0, INF), 1: (0.0, INF), 2: (0.0, 2.0)},
        smooth=False,
        family="piecewise",
        documented={"monotonic": True, "smooth": False, "negative_outputs": False},
    ),
    ActivationSpec(
        name="elu",
        aliases=("celu",),  # CELU with its default alpha = 1 is ELU
        latex=r"\begin{cases} x & x > 0 \\ \alpha\,(e^{x} - 1) & x \le 0 \end{cases},\ \alpha = 1",
        summary="Exponential Linear Unit with alpha = 1 (Clevert et al. 2015).",
        domain_notes="All reals; evaluated with expm1. C1 for alpha = 1.",
        kernels=(piecewise.elu, piecewise.elu_first, piecewise.elu_second),
        symbolic=lambda x: _sympy().Piecewise((x, x > 0), (_rational(ELU_ALPHA) * _expm1(x), True)),
        limits={0: (-1.0, INF), 1: (0.0, 1.0), 2: (0.0, 0.0)},
        smooth=False,
        family="exponential",
        extended=True,
        documented={"monotonic": True, "smooth": False, "negative_outputs": True},
    ),
    ActivationSpec(
        name="selu",
        aliases=(),
        latex=r"\lambda \begin{cases} x & x > 0 \\ \alpha\,(e^{x} - 1) & x \le 0 \end{cases},"
        r"\ \lambda \approx 1.0507,\ \alpha \approx 1.6733",
        summary="Scaled ELU (Klambauer et al. 2017), self-normalising.",
        domain_notes="All reals; evaluated with expm1; derivative jumps at 0.",
        kernels=(piecewise.selu, piecewise.selu_first, piecewise.selu_second),
        symbolic=lambda x: _rational(SELU_SCALE)
        * _sympy().Piecewise((x, x > 0), (_rational(SELU_ALPHA) * _expm1(x), True)),
        limits={
            0: (-float(exact(SELU_SCALE) * exact(SELU_ALPHA)), INF),
            1: (0.0, float(exact(SELU_SCALE))),
            2: (0.0, 0.0),
        },
        smooth=False,
        family="exponential",
        extended=True,
        documented={"monotonic": True, "smooth": False, "negative_outputs": True},
    ),
    ActivationSpec(
        name="softplus",
        aliases=("smooth_relu",),
        latex=r"\log\left(1 + e^{x}\right)",
        summary="Softplus, the smooth ReLU (Dugas et al. 2001), beta = 1.",
        domain_notes="All reals; evaluated as max(x, 0) + log1p(exp(-|x|)).",
        kernels=(logistic.softplus, logistic.softplus_first, logistic.softplus_second),
        symbolic=_softplus,
        limits={0: (0.0, INF), 1: (0.0, 1.0), 2: (0.0, 0.0)},
        smooth=True,
        family="logistic",
        extended=True,
        documented={"monotonic": True, "smooth": True, "negative_outputs": False},
    ),
    ActivationSpec(
        name="silu",
        aliases=("swish", "swish1"),
        latex=r"x\,\sigma(x) = \frac{x}{1 + e^{-x}}",
        summary="Sigmoid Linear Unit / Swish (Elfwing et al. 2017; Ramachandran et al. 2017).",
        domain_notes="All reals.",
        kernels=logistic.silu,
        symbolic=lambda x: _sigmoid_gate(x, x),
        limits={0: (-0.0, INF), 1: (-0.0, 1.0), 2: (0.0, 0.0)},
        smooth=True,
        family="logistic",
        extended=True,
        documented={"monotonic": False, "smooth": True, "negative_outputs": True},
    ),
    ActivationSpec(
        name="mish",
        aliases=(),
        latex=r"x \tanh\left(\log\left(1 + e^{x}\right)\right)",
        summary="Mish (Misra 2019).",
        domain_notes="All reals; tanh(softplus) evaluated as a ratio of polynomials in e^{-|x|}.",
        kernels=(logistic.mish, logistic.mish_first, logistic.mish_second),
        symbolic=lambda x: x * _sympy().tanh(_softplus(x)),
        limits={0: (-0.0, INF), 1: (-0.0, 1.0), 2: (0.0, 0.0)},
        smooth=True,
        family="logistic",
        extended=True,
        documented={"monotonic": False, "smooth": True, "negative_outputs": True},
    ),
    ActivationSpec(
        name="hardswish",
        aliases=("hard_swish", "hswish"),
        latex=r"x\,\frac{\min(\max(0, x + 3), 6)}{6}",
        summary="Hard swish (Howard et al. 2019, MobileNetV3).",
        domain_notes="All reals; derivative jumps at -3 and 3 (PyTorch's conventions there).",
        kernels=(piecewise.hardswish, piecewise.hardswish_first, piecewise.hardswish_second),
        symbolic=lambda x: _sympy().Piecewise(
            (0, x <= -_rational(HARDSWISH_SHIFT)),
            (x * (x + _rational(HARDSWISH_SHIFT)) / (2 * _rational(HARDSWISH_SHIFT)), x < _rational(HARDSWISH_SHIFT)),
            (x, True),
        ),
        limits={0: (-0.0, INF), 1: (0.0, 1.0), 2: (0.0, 0.0)},
        smooth=False,
        family="piecewise",
        documented={"monotonic": False, "smooth": False, "negative_outputs": True},
    ),
]

REGISTRY: dict[str, ActivationSpec] = {s.name: s for s in _SPECS}
_ALIASES: dict[str, str] = {}
for _spec in _SPECS:
    for _key in (_spec.name, *_spec.aliases):
        _ALIASES[_key.lower()] = _spec.name


class UnknownActivationError(KeyError):
    """An activation name that is neither registered nor an alias."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.suggestion = closest_name(name)
        super().__init__(name)

    def __str__(self) -> str:
        hint = f" Did you mean {self.suggestion!r}?" if self.suggestion else ""
        return f"unknown activation {self.name!r}.{hint} Known: {', '.join(names())}"


def names() -> list[str]:
    """Every registered activation name (aliases excluded), in registry order."""
    return list(REGISTRY)


def resolve(name: str) -> str:
    """The registered name for a name or alias (case-insensitive), or the canonical name of a
    parameterised one (``"LeakyReLU(0.2)"`` -> ``"leaky_relu(negative_slope=0.2)"``; parameters equal to a
    registered function's give its name). See :mod:`gelulab.functions.parametric`."""
    key = str(name).strip()
    try:
        return _ALIASES[key.lower()]
    except KeyError:
        pass
    found = _CALLS.get(key)
    if found is not None:
        return found
    if parametric.is_call(key):
        base = key.split("(", 1)[0].strip()
        if base.lower() not in _ALIASES and parametric.family_of(base) is None:
            raise UnknownActivationError(base)
        family, values = parametric.parse(key)
        found = _CALLS[key] = parametric.registered_equivalent(family, values) or parametric.canonical(family, values)
        return found
    raise UnknownActivationError(key)


#: parameterised names read so far -> canonical names (a plain dict: read on every call of a module)
_CALLS: dict[str, str] = {}


def get(name: str) -> ActivationSpec:
    """The spec of an activation, by name, alias or parameterised name (``"elu(alpha=0.5)"``)."""
    key = resolve(name)
    found = REGISTRY.get(key)
    return found if found is not None else parametric.spec(key)


def closest_name(name: str) -> str | None:
    match = difflib.get_close_matches(str(name).lower(), list(_ALIASES), n=1, cutoff=0.4)
    return _ALIASES[match[0]] if match else None


_APPROXIMATE = {"none": "gelu", "tanh": "gelu_tanh", "sigmoid": "quick_gelu"}


def gelu(x: Any, approximate: str = "none") -> Any:
    """GELU of a NumPy array or scalar, correctly rounded in float32/float16.

    ``approximate``: "none" (x*Phi(x), exact), "tanh" (the tanh approximation) or "sigmoid"
    (x*sigmoid(1.702x)), as in ``torch.nn.functional.gelu``.
    """
    try:
        name = _APPROXIMATE[approximate]
    except KeyError:
        raise ValueError(f"approximate must be one of {sorted(_APPROXIMATE)}, got {approximate!r}") from None
    return REGISTRY[name](x)


def relu(x: Any) -> Any:
    """max(0, x) of a NumPy array or scalar."""
    return REGISTRY["relu"](x)


def silu(x: Any) -> Any:
    """x * sigmoid(x) of a NumPy array or scalar."""
    return REGISTRY["silu"](x)


def evaluate(name: str, x: Any, order: int = 0) -> Any:
    return get(name).evaluate(x, order)


__all__ = ["REGISTRY", "UnknownActivationError", "closest_name", "evaluate", "gelu", "get", "names",
           "relu", "resolve", "silu"]
