from fractions import Fraction

import mpmath
import pytest

from gelulab.functions import constants as c


@pytest.mark.parametrize(
    ("pair", "exact"),
    [
        (c.INV_SQRT2, lambda: 1 / mpmath.sqrt(2)),
        (c.SQRT_2_OVER_PI, lambda: mpmath.sqrt(2 / mpmath.pi)),
        (c.TANH_B, lambda: 2 * mpmath.sqrt(2 / mpmath.pi) * mpmath.mpf(44715) / 10**6),
        (c.QUICK_GELU_BETA, lambda: mpmath.mpf(1702) / 1000),
    ],
)
def test_double_double_constants_hold_106_bits(pair, exact):
    with mpmath.workprec(300):
        value = exact()
        err = abs(mpmath.mpf(pair[0]) + mpmath.mpf(pair[1]) - value) / value
    assert err < mpmath.mpf(2) ** -104
    assert abs(pair[1]) <= abs(pair[0]) * 2.0**-52


def test_decimal_constants_are_exact_rationals():
    assert c.exact(c.GELU_TANH_CUBIC) == Fraction(44715, 10**6)
    assert c.exact(c.QUICK_GELU_SLOPE) == Fraction(1702, 1000)
