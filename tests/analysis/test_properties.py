"""Computed properties against values derived independently in the test (mpmath, scipy, calculus)."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from scipy import integrate, optimize, special

import gelulab as gl
from gelulab.analysis.continuity import continuity
from gelulab.analysis.properties import properties
from gelulab.reference import evaluate as oracle

ALL = gl.names()


def _nearest_double(v: mpmath.mpf) -> float:
    with mpmath.workdps(60):
        return float(v)  # mpmath rounds to nearest when converting


def test_gelu_minimum_matches_root_of_phi_plus_x_pdf():
    # GELU'(x) = Phi(x) + x phi(x), written here with mpmath's own ncdf/npdf
    with mpmath.workdps(50):
        root = mpmath.findroot(lambda t: mpmath.ncdf(t) + t * mpmath.npdf(t), -0.75)
        value = root * mpmath.ncdf(root)
    gm = properties("gelu").monotonicity.global_minimum
    assert gm is not None
    assert gm.x == _nearest_double(root)
    assert gm.value == _nearest_double(value)
    assert abs(gm.x + 0.7518) < 1e-4 and abs(gm.value + 0.1700) < 1e-4


def test_silu_minimum_is_minus_one_minus_lambert_w():
    # SiLU'(x) = s(1 + x(1 - s)) = 0  <=>  1 + x - x s = 0  <=>  x0 = -(1 + W(1/e)), SiLU(x0) = x0 + 1
    with mpmath.workdps(50):
        x0 = -(1 + mpmath.lambertw(mpmath.exp(-1)).real)
        v0 = x0 + 1
    gm = properties("silu").monotonicity.global_minimum
    assert gm.x == _nearest_double(x0)
    assert abs(gm.value - float(v0)) <= 2 * math.ulp(float(v0))


def test_hardswish_minimum_is_the_vertex_of_its_parabola():
    # on [-3, 3] hardswish = x(x + 3)/6, vertex at -3/2 with value -3/8
    gm = properties("hardswish").monotonicity.global_minimum
    assert (gm.x, gm.value) == (-1.5, -0.375)
    assert [(iv.lo, iv.hi) for iv in properties("hardswish").monotonicity.decreasing] == [(-3.0, -1.5)]


@pytest.mark.parametrize("name", ALL)
def test_monotonic_flag_agrees_with_forward_differences(name):
    # independent of the derivative kernels: do forward values ever go down on a dense grid?
    x = np.linspace(-12, 12, 96001)
    y = gl.get(name).evaluate(x, 0)
    goes_down = bool(np.any(np.diff(y) < -1e-15 * np.maximum(1.0, np.abs(y[1:]))))
    assert properties(name).monotonicity.monotonic == (not goes_down)


@pytest.mark.parametrize("name", ALL)
def test_infimum_is_below_every_sampled_value_and_reached(name):
    p = properties(name).monotonicity
    x = np.linspace(-30, 30, 60001)
    y = gl.get(name).evaluate(x, 0)
    assert y.min() >= p.infimum.value - 1e-12
    if p.infimum.attained:
        assert y.min() <= p.infimum.value + 1e-6
    assert properties(name).negative_outputs == bool(y.min() < 0 or p.infimum.value < 0)


def test_gelu_decreases_exactly_left_of_its_minimum():
    mono = properties("gelu").monotonicity
    (dec,) = mono.decreasing
    assert dec.lo == -math.inf and dec.hi == mono.global_minimum.x
    assert not mono.monotonic


@pytest.mark.parametrize("name,expected", [
    ("relu", (0, [(0.0, 1, 0.0, 1.0)])),
    ("leaky_relu", (0, [(0.0, 1, 0.01, 1.0)])),
    ("relu2", (1, [(0.0, 2, 0.0, 2.0)])),  # (x^2)'' = 2 right, 0 left
    ("elu", (1, [(0.0, 2, 1.0, 0.0)])),  # e^x' = 1 = x' at 0, e^x'' = 1 vs 0
])
def test_piecewise_continuity_class_matches_hand_derivation(name, expected):
    k, jumps = expected
    c = continuity(name)
    assert c.smoothness == k
    assert [(j.at, j.order, j.left, j.right) for j in c.jumps] == jumps


@pytest.mark.parametrize("name", ALL)
def test_derivative_jumps_seen_by_one_sided_difference_quotients(name):
    # one-sided difference quotients of the forward values at each breakpoint, at two step sizes
    spec, c = gl.get(name), continuity(name)
    for b in c.breakpoints:
        h = 1e-6
        left = (spec.evaluate(b, 0) - spec.evaluate(b - h, 0)) / h
        right = (spec.evaluate(b + h, 0) - spec.evaluate(b, 0)) / h
        jumps_here = abs(right - left) > 1e-3
        assert jumps_here == any(j.order == 1 and j.at == b for j in c.jumps)
    assert c.differentiable_everywhere == all(j.order >= 2 for j in c.jumps)
    assert c.agrees


@pytest.mark.parametrize("name", ["gelu", "gelu_tanh", "silu", "softplus", "mish", "quick_gelu"])
def test_smooth_activations_are_c_infinity(name):
    assert continuity(name).function_class == "C-infinity"


def test_normal_moments_match_closed_forms():
    g, r, r2 = properties("gelu").moments, properties("relu").moments, properties("relu2").moments
    assert g.mean.value == pytest.approx(1 / (2 * math.sqrt(math.pi)), abs=1e-12)  # E[Z Phi(Z)] = E[phi(Z)]
    assert g.mean_derivative.value == pytest.approx(0.5, abs=1e-12)  # E[Phi + Z phi] = 1/2 + 0
    assert r.mean.value == pytest.approx(1 / math.sqrt(2 * math.pi), abs=1e-12)
    assert r.second.value == pytest.approx(0.5, abs=1e-12)
    assert r2.second.value == pytest.approx(1.5, abs=1e-12)  # E[Z^4; Z > 0] = 3/2
    assert r.prob_zero == 0.5 and g.prob_zero == 0.0
    assert properties("hardswish").moments.prob_zero == pytest.approx(special.ndtr(-3.0), rel=1e-14)


@pytest.mark.parametrize("name", ["selu", "mish", "elu"])
def test_normal_moments_match_mpmath_quadrature_of_the_oracle(name):
    def f(t):
        return oracle(name, t, 0, dps=20)

    with mpmath.workdps(20):
        mean = mpmath.quad(lambda t: f(t) * mpmath.npdf(t), [-mpmath.inf, 0, mpmath.inf])
        second = mpmath.quad(lambda t: f(t) ** 2 * mpmath.npdf(t), [-mpmath.inf, 0, mpmath.inf])
    m = properties(name).moments
    assert m.mean.value == pytest.approx(float(mean), abs=1e-10)
    assert m.second.value == pytest.approx(float(second), abs=1e-10)


def test_selu_is_self_normalising():
    m = properties("selu").moments
    assert abs(m.mean.value) < 1e-9 and m.second.value == pytest.approx(1.0, abs=1e-9)


def test_limits_and_derivative_at_zero():
    assert properties("gelu").derivative_at_zero.value == 0.5
    assert properties("mish").derivative_at_zero.value == pytest.approx(math.tanh(math.log(2)), rel=1e-15)
    relu0 = properties("relu").derivative_at_zero
    assert (relu0.left, relu0.right, relu0.value) == (0.0, 1.0, None)
    assert properties("leaky_relu").limits["f'(-inf)"] == 0.01
    assert properties("elu").limits["f(-inf)"] == -1.0 and not properties("elu").monotonicity.infimum.attained
    assert properties("relu6").range_text == "[0, 6]"


def test_tanh_approximation_gap_matches_scipy_maximisation():
    c = math.sqrt(2 / math.pi)

    def diff(t):  # both forms written here, not taken from gelulab
        return 0.5 * t * (1 + math.tanh(c * (t + 0.044715 * t**3))) - t * special.ndtr(t)

    res = optimize.minimize_scalar(lambda t: -abs(diff(t)), bounds=(2.0, 3.5), method="bounded",
                                   options={"xatol": 1e-10})
    gap = properties("gelu_tanh").gap_to_gelu
    assert gap.max_abs == pytest.approx(abs(diff(res.x)), rel=1e-7)
    assert abs(gap.at) == pytest.approx(res.x, abs=1e-5)
    assert gap.symmetric and not gap.at_window_edge


def test_quick_gelu_gap_matches_scipy_quadrature_free_scan():
    x = np.linspace(-10, 10, 200001)
    d = np.abs(x / (1 + np.exp(-1.702 * x)) - x * special.ndtr(x))
    assert properties("quick_gelu").gap_to_gelu.max_abs == pytest.approx(d.max(), rel=1e-6)


def test_moments_quadrature_agrees_with_scipy_quad_on_expression():
    # E GELU(Z)^2 by scipy quad over the formula written here
    val, _ = integrate.quad(lambda t: (t * special.ndtr(t)) ** 2 * math.exp(-t * t / 2) / math.sqrt(2 * math.pi),
                            -np.inf, np.inf, epsabs=1e-13)
    assert properties("gelu").moments.second.value == pytest.approx(val, abs=1e-11)
