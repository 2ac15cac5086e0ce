"""Every constant of every activation, written once.

Decimal constants are kept as exact strings (the value the literature and the frameworks
define), so the mpmath oracle and sympy see the exact number; the NumPy kernels use a
double-double split ``(hi, lo)`` with ``hi + lo`` equal to the constant to about 2**-106,
because a single rounding of e.g. 0.044715 costs ~350 ulp in GELU-tanh's far tail, where the
cubic term is multiplied by |x|**3 inside an exponential.
"""

from __future__ import annotations

from fractions import Fraction

import mpmath

#: cubic coefficient of the tanh approximation of GELU (Hendrycks & Gimpel 2016)
GELU_TANH_CUBIC = "0.044715"
#: slope inside the sigmoid approximation x*sigmoid(1.702 x) ("quick GELU", CLIP)
QUICK_GELU_SLOPE = "1.702"
#: default negative slope of LeakyReLU (PyTorch's ``negative_slope``)
LEAKY_RELU_SLOPE = "0.01"
#: ELU's alpha (PyTorch default)
ELU_ALPHA = "1"
#: SELU's alpha and scale, as printed in Klambauer et al. 2017 and used by PyTorch and JAX
SELU_ALPHA = "1.6732632423543772848170429916717"
SELU_SCALE = "1.0507009873554804934193349852946"
#: ReLU6's ceiling
RELU6_CAP = "6"
#: HardSwish: x * relu6(x + 3) / 6
HARDSWISH_SHIFT = "3"


def exact(decimal: str) -> Fraction:
    """The exact rational value of a decimal constant."""
    return Fraction(decimal)


def split(value: Fraction | mpmath.mpf) -> tuple[float, float]:
    """Double-double ``(hi, lo)``: hi is the nearest double, lo the nearest double to the rest."""
    if isinstance(value, Fraction):
        hi = float(value)
        return hi, float(value - Fraction(hi))
    with mpmath.workprec(240):
        v = mpmath.mpf(value)
        hi = float(v)
        return hi, float(v - mpmath.mpf(hi))


# Irrational constants, as double-double.
with mpmath.workprec(240):
    INV_SQRT2 = split(1 / mpmath.sqrt(2))
    SQRT2 = split(mpmath.sqrt(2))
    SQRT_2_OVER_PI = split(mpmath.sqrt(2 / mpmath.pi))
    INV_SQRT_2PI = split(1 / mpmath.sqrt(2 * mpmath.pi))
    SQRT_PI_OVER_2 = split(mpmath.sqrt(mpmath.pi / 2))

# Derived products used by the tanh form: z = 2u = A*x + B*x**3 with
# A = 2*sqrt(2/pi) and B = 2*sqrt(2/pi)*0.044715, each rounded once from the exact value.
with mpmath.workprec(240):
    _c = mpmath.sqrt(2 / mpmath.pi)
    _k = mpmath.mpf(exact(GELU_TANH_CUBIC).numerator) / exact(GELU_TANH_CUBIC).denominator
    TANH_A = split(2 * _c)
    TANH_B = split(2 * _c * _k)
    TANH_3B = split(6 * _c * _k)

QUICK_GELU_BETA = split(exact(QUICK_GELU_SLOPE))
SELU_ALPHA_DD = split(exact(SELU_ALPHA))
SELU_SCALE_DD = split(exact(SELU_SCALE))
SELU_SCALE_ALPHA = split(exact(SELU_SCALE) * exact(SELU_ALPHA))
