"""Parameterised activations (leaky_relu slope, elu/celu alpha, softplus beta and threshold): names, and
every value graded against the mpmath oracle, f, f' and f'', in every format."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gelulab as gl
from gelulab import reference
from gelulab.functions import UnknownActivationError, parametric
from gelulab.functions.double_double import LONG_DOUBLE_IS_WIDER
from gelulab.functions.parametric import ParameterError

PARAMETERISED = [
    "leaky_relu(negative_slope=0.2)", "leaky_relu(negative_slope=-0.5)", "leaky_relu(negative_slope=3.0)",
    "elu(alpha=0.5)", "elu(alpha=2.5)", "elu(alpha=-1.0)",
    "celu(alpha=0.5)", "celu(alpha=3.0)", "celu(alpha=-1.5)",
    "softplus(beta=2.0, threshold=20.0)", "softplus(beta=0.3, threshold=inf)", "softplus(beta=3.0, threshold=0.2)",
    "softplus(beta=1.0, threshold=20.0)",
]


@pytest.mark.parametrize(("written", "canonical"), [
    ("LeakyReLU(0.2)", "leaky_relu(negative_slope=0.2)"),
    ("leaky_relu(negative_slope=.2)", "leaky_relu(negative_slope=0.2)"),
    ("ELU(alpha=2)", "elu(alpha=2.0)"),
    ("celu(-1.5)", "celu(alpha=-1.5)"),
    ("Softplus(beta=2)", "softplus(beta=2.0, threshold=20.0)"),
    ("softplus(2, 5)", "softplus(beta=2.0, threshold=5.0)"),
    ("softplus(threshold=5)", "softplus(beta=1.0, threshold=5.0)"),
    # parameters equal to a registered function's give that function
    ("leaky_relu(0.01)", "leaky_relu"), ("elu(1)", "elu"), ("CELU(alpha=1.0)", "elu"), ("celu", "elu"),
    ("softplus(beta=1, threshold=inf)", "softplus"),
])
def test_names_are_read_and_made_canonical(written, canonical):
    assert gl.functions.resolve(written) == canonical
    assert gl.get(written).name == canonical


@pytest.mark.parametrize(("written", "error", "match"), [
    ("elu(beta=1)", ParameterError, "unknown parameter 'beta'"),
    ("elu(1, alpha=2)", ParameterError, "alpha given twice"),
    ("leaky_relu(0.1, 0.2)", ParameterError, "too many"),
    ("elu(alpha=abc)", ParameterError, "not a number"),
    ("elu(alpha=nan)", ParameterError, "NaN"),
    ("leaky_relu(inf)", ParameterError, "must be finite"),
    ("celu(0)", ParameterError, "nonzero"),
    ("softplus(beta=-2)", ParameterError, "positive"),
    ("gelu(1)", ParameterError, "takes no parameters"),
    ("gleu(1)", UnknownActivationError, "gleu"),
])
def test_bad_names_fail_in_one_line(written, error, match):
    with pytest.raises(error, match=match):
        gl.get(written)


def _grid(name: str) -> np.ndarray:
    """Inputs where these functions are hard: tails (exp near under/overflow), tiny values, 0, the
    threshold's cut, and a spread in between."""
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    xs = [rng.standard_normal(60) * 4, -rng.exponential(150.0, 30), rng.exponential(8.0, 20),
          [0.0, -0.0, 2.0**-30, -(2.0**-30), 1e-38, -1e-38, -87.3, -103.9, -500.0, -745.0, 88.0, 1e30, -1e30]]
    fam, v = parametric.parse(name)
    if fam.name == "softplus" and math.isfinite(v["threshold"]):
        cut = parametric.softplus_cut(parametric._exact(v["beta"]), v["threshold"])
        xs.append([cut, np.nextafter(cut, -np.inf), np.nextafter(cut, np.inf)])
    return np.concatenate([np.asarray(a, dtype=np.float64) for a in xs])


@pytest.mark.parametrize("name", PARAMETERISED)
@pytest.mark.parametrize("order", [0, 1, 2])
def test_every_format_is_correctly_rounded_against_the_oracle(name, order):
    spec = gl.get(name)
    import ml_dtypes

    for dtype, fmt in ((np.float32, "float32"), (np.float16, "float16"), (ml_dtypes.bfloat16, "bfloat16")):
        with np.errstate(over="ignore"):
            xs = np.unique(_grid(name).astype(dtype))
        got = spec.evaluate(xs, order).astype(np.float64)
        for x, y in zip(xs.astype(np.float64), got, strict=True):
            want = reference.round_to_format(reference.evaluate(name, float(x), order), fmt)
            assert want == y or (want != want and y != y), (name, order, fmt, float(x).hex(), y, want)


@pytest.mark.parametrize("name", PARAMETERISED)
@pytest.mark.parametrize("order", [0, 1, 2])
def test_float64_is_within_the_bound(name, order):
    bound = 2.0 if LONG_DOUBLE_IS_WIDER else 4.0  # as for the registered functions (tests/functions)
    xs = _grid(name)
    got = gl.get(name).evaluate(xs, order)
    tiny = np.finfo(np.float64).smallest_normal
    for x, y in zip(xs, got, strict=True):
        exact = reference.evaluate(name, float(x), order)
        want = reference.round_to_format(exact, "float64")
        if want == y or abs(want) < tiny:
            continue
        assert float(reference.ulp_error(float(y), exact)) <= bound, (name, order, float(x).hex(), y)


def test_softplus_threshold_is_part_of_the_function():
    spec = gl.get("softplus(beta=2.0, threshold=5.0)")
    cut = parametric.softplus_cut(parametric._exact(2.0), 5.0)
    assert cut == np.nextafter(2.5, np.inf)  # beta * x > threshold, exactly: 2 * 2.5 = 5 is not above it
    x = np.array([2.5, cut, 10.0])
    assert spec.evaluate(x, 0)[1:].tolist() == [cut, 10.0]
    assert spec.evaluate(x, 0)[0] == pytest.approx(math.log1p(math.exp(5.0)) / 2, rel=1e-15)
    assert spec.evaluate(x, 1)[1:].tolist() == [1.0, 1.0] and spec.evaluate(x, 2)[1:].tolist() == [0.0, 0.0]
    # torch's default threshold changes no float32 value of f or f' (e^-20 is below half an ulp) but does change f''
    xs = np.linspace(19.0, 30.0, 500, dtype=np.float32)
    pure, torchs = gl.get("softplus"), gl.get("softplus(beta=1, threshold=20)")
    assert np.array_equal(pure.evaluate(xs, 0), torchs.evaluate(xs, 0))
    assert np.array_equal(pure.evaluate(xs, 1), torchs.evaluate(xs, 1))
    assert np.all(torchs.evaluate(xs[xs > 20], 2) == 0) and np.all(pure.evaluate(xs[xs > 20], 2) > 0)


@pytest.mark.parametrize("name", PARAMETERISED)
def test_limits_at_infinity_agree_with_the_oracle_far_out(name):
    spec = gl.get(name)
    for order in (0, 1, 2):
        for side, x in ((0, -1e300), (1, 1e300)):
            limit = spec.limits[order][side]
            far = float(reference.evaluate(name, x, order))  # the oracle at a finite x: no limit involved
            if math.isinf(limit):
                assert far * limit > 0 and abs(far) > 1e200, (name, order, side, far)
            else:
                assert far == pytest.approx(limit, abs=1e-200), (name, order, side, far)
        assert spec.evaluate(np.array([-np.inf, np.inf]), order).tolist() == list(spec.limits[order])


def test_the_exact_parameter_is_the_decimal_written():
    # 0.2 means 1/5, not the float nearest it (whose product with 1.0 is another float32 for some x)
    assert parametric._exact(0.2) == parametric.Fraction(1, 5)
    x = np.array([-1.0], dtype=np.float32)
    want = reference.round_to_format(reference.evaluate("leaky_relu(0.2)", -1.0, 0), "float32")
    assert gl.get("leaky_relu(0.2)").evaluate(x, 0)[0] == np.float32(want) == np.float32(-0.2)
