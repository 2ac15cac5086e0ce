"""The oracle: symbolic derivatives checked by numerical differentiation; rounding into formats."""

import mpmath
import numpy as np
import pytest

import gelulab as gl
from gelulab import reference


@pytest.mark.parametrize("name", [n for n in gl.names() if gl.get(n).smooth])
@pytest.mark.parametrize("x", [-3.25, -0.7, 0.3, 2.1])
def test_symbolic_derivatives_agree_with_numerical_differentiation(name, x):
    with mpmath.workdps(40):
        def f(t):
            return reference.evaluate(name, t, 0, dps=40)

        for order in (1, 2):
            numeric = mpmath.diff(f, mpmath.mpf(x), order)
            assert abs(reference.evaluate(name, x, order) - numeric) < mpmath.mpf(10) ** -25


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "relu6", "elu", "selu", "hardswish", "relu2"])
def test_piecewise_derivatives_agree_with_differences_away_from_kinks(name):
    for x in (-4.5, -1.2, 0.8, 7.5):
        with mpmath.workdps(40):
            numeric = mpmath.diff(lambda t, n=name: reference.evaluate(n, t, 0, dps=40), mpmath.mpf(x))
        assert abs(reference.evaluate(name, x, 1) - numeric) < mpmath.mpf(10) ** -25


def test_oracle_has_no_cancellation_in_the_gelu_tail():
    # 1 + erf(x/sqrt2) would give exactly 0 here at 50 digits; the true value is ~ -2.1e-47.
    v = reference.evaluate("gelu", -14.5, 0)
    with mpmath.workdps(120):
        x = mpmath.mpf(-14.5)
        direct = x * (1 + mpmath.erf(x / mpmath.sqrt(2))) / 2
    assert v < 0 and abs(v / direct - 1) < mpmath.mpf(10) ** -40


@pytest.mark.parametrize(
    ("value", "fmt", "expected"),
    [
        (mpmath.mpf(1) + mpmath.mpf(2) ** -24, "float32", 1.0),  # tie -> even
        (mpmath.mpf(1) + 3 * mpmath.mpf(2) ** -24, "float32", 1.0 + 2.0**-22),  # tie -> even (up)
        (mpmath.mpf(2) ** -150, "float32", 0.0),  # half the smallest subnormal: tie -> 0
        ("2**-150 * (1 + 2**-100)", "float32", 2.0**-149),  # just above the tie (built at 300 bits)
        (mpmath.mpf(65520), "float16", float("inf")),  # rounds past the largest float16
        (mpmath.mpf(65519), "float16", 65504.0),
        (mpmath.mpf(1) / 3, "float64", 1 / 3),
        (-mpmath.mpf(1) / 3, "bfloat16", -0.333984375),
    ],
)
def test_round_to_format(value, fmt, expected):
    with mpmath.workprec(300):
        if isinstance(value, str):
            value = mpmath.mpf(2) ** -150 * (1 + mpmath.mpf(2) ** -100)
        assert reference.round_to_format(value, fmt) == expected


def test_round_to_format_agrees_with_numpy_casts_of_exact_float64_values():
    rng = np.random.default_rng(3)
    xs = rng.standard_normal(300) * np.exp2(rng.integers(-140, 120, 300))
    for x in xs:
        assert reference.round_to_format(mpmath.mpf(float(x)), "float32") == float(np.float32(x))


def test_ulp_error_counts_in_the_target_format():
    assert reference.ulp_error(1.0 + 2.0**-23, mpmath.mpf(1), "float32") == pytest.approx(1.0)
    assert reference.ulp_error(2.0**-149, mpmath.mpf(0), "float32") == pytest.approx(1.0)
    assert reference.ulp_error(float("nan"), mpmath.nan) == 0.0
