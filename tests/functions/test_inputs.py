"""Input handling: dtypes, shapes, views, scalars, special values, no floating-point warnings."""

import warnings

import ml_dtypes
import mpmath
import numpy as np
import pytest

import gelulab as gl
from gelulab import reference
from gelulab.accuracy.sampler import sample_inputs

NAMES = gl.names()


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
def test_output_keeps_dtype_and_shape(dtype):
    x = np.linspace(-4, 4, 24, dtype=dtype).reshape(2, 3, 4)
    for name in NAMES:
        for order in (0, 1, 2):
            y = gl.get(name).evaluate(x, order)
            assert y.dtype == dtype and y.shape == x.shape


def test_scalars_give_scalars_of_the_same_type():
    assert isinstance(gl.gelu(np.float32(1.5)), np.float32)
    assert isinstance(gl.gelu(np.float16(1.5)), np.float16)
    assert isinstance(gl.gelu(1.5), float)
    assert np.ndim(gl.gelu(np.array(1.5))) == 0


def test_integers_are_evaluated_in_float64():
    y = gl.gelu(np.array([-2, 0, 3]))
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, gl.gelu(np.array([-2.0, 0.0, 3.0])))


@pytest.mark.parametrize("bad", [np.array([1 + 2j]), np.array(["a"]), "text"])
def test_unsupported_input_raises_a_clear_type_error(bad):
    with pytest.raises(TypeError, match="gelu"):
        gl.gelu(bad)


def test_empty_arrays_pass_through():
    y = gl.get("gelu").derivative(np.zeros((0, 3), dtype=np.float32))
    assert y.shape == (0, 3) and y.dtype == np.float32


@pytest.mark.parametrize("name", NAMES)
def test_non_contiguous_views_match_contiguous_copies(name):
    base = np.linspace(-6, 6, 120, dtype=np.float32).reshape(10, 12)
    view = base[::2, ::-3].T
    assert not view.flags.c_contiguous
    for order in (0, 1, 2):
        np.testing.assert_array_equal(gl.get(name).evaluate(view, order),
                                      gl.get(name).evaluate(np.ascontiguousarray(view), order))


@pytest.mark.parametrize("name", NAMES)
def test_no_floating_point_warnings_on_any_sampled_input(name):
    for dtype in ("float64", "float32", "float16"):
        xs = sample_inputs(dtype, n_random=100)
        with np.errstate(all="raise"), warnings.catch_warnings():
            warnings.simplefilter("error")
            for order in (0, 1, 2):
                gl.get(name).evaluate(xs, order)


@pytest.mark.parametrize("name", NAMES)
def test_nan_gives_nan(name):
    for order in (0, 1, 2):
        assert np.isnan(gl.get(name).evaluate(np.float32(np.nan), order))


@pytest.mark.parametrize("name", NAMES)
def test_values_at_infinity_match_the_oracle_far_out(name):
    # The limit at +-inf must equal the correctly rounded oracle value at the largest float64.
    spec = gl.get(name)
    for order in (0, 1, 2):
        for sign in (-1, 1):
            got = float(spec.evaluate(sign * np.inf, order))
            far = reference.round_to_format(reference.evaluate(spec.name, sign * 1e300, order), "float64")
            if np.isinf(got):
                assert np.sign(far) == np.sign(got) and abs(far) >= 1e290
            else:
                assert got == pytest.approx(far, abs=0.0), (order, sign)


def test_gelu_special_values():
    assert gl.gelu(-np.inf) == 0 and np.signbit(gl.gelu(-np.inf))
    assert gl.gelu(np.inf) == np.inf
    assert np.signbit(gl.gelu(-0.0)) and not np.signbit(gl.gelu(0.0))


@pytest.mark.parametrize("name", NAMES)
def test_signed_zero_is_kept_where_the_slope_at_zero_is_positive(name):
    if reference.evaluate(name, 0.0, 0) != 0:
        return  # softplus(0) = log 2: no zero to sign
    slope = reference.evaluate(name, mpmath.mpf("1e-30"), 1)
    for dtype in (np.float64, np.float32, np.float16):
        y = gl.get(name)(dtype(-0.0))
        assert y == 0
        if gl.get(name)(dtype(-1e-3)) < 0 and slope > 0:
            assert np.signbit(y), name


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
def test_large_finite_inputs_do_not_overflow(dtype):
    big = float(np.finfo(dtype).max)
    fmt = np.dtype(dtype).name
    for name in gl.names():
        for x in (big, -big):
            want = reference.round_to_format(reference.evaluate(name, x), fmt)
            assert gl.get(name)(dtype(x)) == want, (name, x)


def test_gelu_is_x_in_float32_from_where_phi_rounds_to_one():
    x = np.array([10.0, 100.0, 3e38], dtype=np.float32)
    np.testing.assert_array_equal(gl.gelu(x), x)


def test_bfloat16_results_are_correctly_rounded():
    bf16 = ml_dtypes.bfloat16
    xs = np.concatenate([np.linspace(-9, 9, 301), [-0.7518, 1e-40, -1e-40, 3e38]]).astype(bf16)
    for name in ("gelu", "gelu_tanh", "silu"):
        got = gl.get(name)(xs)
        assert got.dtype == bf16
        want = [reference.round_to_format(reference.evaluate(name, float(x)), "bfloat16") for x in xs]
        np.testing.assert_array_equal(got.astype(np.float64), np.array(want))
