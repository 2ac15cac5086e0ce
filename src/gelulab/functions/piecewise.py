"""ReLU and its piecewise relatives, in float64.

At a kink the derivative takes PyTorch's convention, so gradients match the framework bit
for bit: relu'(0) = 0, leaky_relu'(0) = slope, relu6'(0) = relu6'(6) = 0,
elu'(0) = selu'(0) from the negative branch, hardswish'(-3) = 0 and hardswish'(3) = 1.
Second derivatives are the derivative of those first derivatives away from the kinks (Dirac
masses at the kinks are not represented).
"""

from __future__ import annotations

import numpy as np

from .constants import (
    ELU_ALPHA,
    HARDSWISH_SHIFT,
    LEAKY_RELU_SLOPE,
    RELU6_CAP,
    SELU_SCALE_ALPHA,
    SELU_SCALE_DD,
    exact,
)

_LEAKY = float(exact(LEAKY_RELU_SLOPE))
_ALPHA = float(exact(ELU_ALPHA))
_CAP = float(exact(RELU6_CAP))
_SHIFT = float(exact(HARDSWISH_SHIFT))


def _nonpositive(x: np.ndarray) -> np.ndarray:
    """min(x, 0) that keeps -0.0 (np.minimum(-0.0, 0.0) may return +0.0)."""
    return np.where(x > 0, 0.0, x)


def _zeros(x: np.ndarray) -> np.ndarray:
    return np.zeros_like(x)


def relu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, 0.0)


def relu_first(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, 1.0, 0.0)


def relu6(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, np.minimum(x, _CAP), 0.0)


def relu6_first(x: np.ndarray) -> np.ndarray:
    return np.where((x > 0) & (x < _CAP), 1.0, 0.0)


def leaky_relu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, _LEAKY * x)


def leaky_relu_first(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, 1.0, _LEAKY)


def relu2(x: np.ndarray) -> np.ndarray:
    r = relu(x)
    return r * r


def relu2_first(x: np.ndarray) -> np.ndarray:
    return 2.0 * relu(x)


def relu2_second(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, 2.0, 0.0)


def elu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, _ALPHA * np.expm1(_nonpositive(x)))


def elu_first(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, 1.0, _ALPHA * np.exp(np.minimum(x, 0.0)))


def elu_second(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, 0.0, _ALPHA * np.exp(np.minimum(x, 0.0)))


# SELU = scale * (x if x > 0 else alpha * expm1(x)); the product scale*alpha is rounded once
# from the exact decimals, and the low parts are kept so both branches round only twice.
def selu(x: np.ndarray) -> np.ndarray:
    pos = x * SELU_SCALE_DD[0] + x * SELU_SCALE_DD[1]
    m = np.expm1(_nonpositive(x))
    neg = m * SELU_SCALE_ALPHA[0] + m * SELU_SCALE_ALPHA[1]
    return np.where(x > 0, pos, neg)


def selu_first(x: np.ndarray) -> np.ndarray:
    e = np.exp(np.minimum(x, 0.0))
    return np.where(x > 0, SELU_SCALE_DD[0], e * SELU_SCALE_ALPHA[0] + e * SELU_SCALE_ALPHA[1])


def selu_second(x: np.ndarray) -> np.ndarray:
    e = np.exp(np.minimum(x, 0.0))
    return np.where(x > 0, 0.0, e * SELU_SCALE_ALPHA[0] + e * SELU_SCALE_ALPHA[1])


# hardswish = x * relu6(x + 3) / 6. Inside (-3, 3) it is x(x+3)/6: x + 3 is exact for
# x in [-3, -1.5] (Sterbenz), so the root at -3 keeps full relative accuracy.
def hardswish(x: np.ndarray) -> np.ndarray:
    inner = x * (x + _SHIFT) / (2 * _SHIFT)
    return np.where(x < -_SHIFT, 0.0 * x, np.where(x <= _SHIFT, inner, x))


def hardswish_first(x: np.ndarray) -> np.ndarray:
    # (2x + 3)/6 rather than x/3 + 1/2: 2x + 3 is exact near the root at -3/2.
    inner = (2.0 * x + _SHIFT) / (2 * _SHIFT)
    return np.where(x <= -_SHIFT, 0.0, np.where(x < _SHIFT, inner, 1.0))


def hardswish_second(x: np.ndarray) -> np.ndarray:
    return np.where((x > -_SHIFT) & (x < _SHIFT), 1.0 / _SHIFT, 0.0)


zeros = _zeros
