r"""Polynomials for the core range |x| <= 3.5, where the compiled float32 kernels skip erfc and exp.

Most activations a network produces lie in a few units of zero (all but 1 in 2,000 of a standard
normal's draws lie in [-3.5, 3.5]). There each of GELU, GELU-tanh, SiLU and their derivatives is

.. math::  f(x) = x\,\bigl(\tfrac12 + x\,P(x^2)\bigr) \quad\text{or}\quad f'(x) = \tfrac12 + x\,D(x^2)

with P and D entire (analytic in a strip for SiLU and GELU-tanh), because
:math:`\Phi(x) - \tfrac12`, :math:`\sigma(x) - \tfrac12`, :math:`\sigma(z(x)) - \tfrac12` (z odd)
and the odd parts of the derivatives are odd functions. One polynomial in :math:`t = x^2` then
gives the value: no division, no exponential, no selects, about 20 fused multiply-adds per
element (up to 23 for GELU-tanh's derivative) instead of the ~35 operations of the erfc form. It is
written in the Chebyshev variable :math:`w = t\,s - 1` (``s`` = :data:`CORE_SCALE`, w in [-1, 1]) so
the coefficients decrease and Horner's rule stays well conditioned.

The kernels use it for a block of elements when every element of the block lies in the core, and
keep the erfc form (:mod:`.fast_erfc`) for the other blocks. Each bound c is one on
:math:`v = \tfrac12 + x P` (f = x v) or :math:`v = \tfrac12 + x D` (f' = v); it covers the
sum of the magnitudes of what is added (``|x P|`` < 1/2 and ``|x D|`` < 0.7 on the core), so it
stays honest where the two terms cancel (far left of zero, and at the derivatives' roots). The
kernels compute :math:`m v \mp |m| c` for m = x (a value), a gradient, or both: the two ends of
an interval that holds the true value, each rounded to float32; when the two roundings agree,
that is the result.
:data:`CORE_BOUNDS` gives the bounds; tests/kernels checks that the kernels' intervals hold the
mpmath values.

The coefficients are Chebyshev interpolants computed with mpmath at 40 digits
(:func:`fit_core_polynomial`); ``python -m gelulab.functions.fast_core`` prints them and a test
checks the stored ones are what the fit returns.
"""

from __future__ import annotations

import mpmath
import numpy as np

from .constants import GELU_TANH_CUBIC

#: The kernels take the core polynomials for blocks whose inputs all lie in [-X_CORE, X_CORE].
X_CORE = 3.5
#: w = x^2 * CORE_SCALE - 1 maps [0, X_CORE^2] onto [-1, 1]; the fit uses this float's exact value.
CORE_SCALE = 2.0 / (X_CORE * X_CORE)
FIT_DPS = 40
#: Degree of each polynomial. Each is a trade: one degree less costs one fused multiply-add per
#: element less but loosens the bound by 4-10x, and a wider bound sends more blocks to the erfc
#: form (an input whose rounding the bound leaves undecided takes its whole block there). These
#: degrees keep that below 1% of the blocks of standard normal data.
CORE_DEGREES = {("gelu", 0): 16, ("gelu", 1): 17, ("silu", 0): 17, ("silu", 1): 20,
                ("gelu_tanh", 0): 20, ("gelu_tanh", 1): 22}
#: Error bounds of the float64 evaluation of v = 1/2 + x P (f = x v) or v = 1/2 + x D (f' = v), see
#: the module text; 4x or more the largest error measured against mpmath (tests/kernels).
CORE_BOUNDS = {("gelu", 0): 2.0**-43, ("gelu", 1): 2.0**-41, ("silu", 0): 2.0**-40, ("silu", 1): 2.0**-41,
               ("gelu_tanh", 0): 2.0**-44, ("gelu_tanh", 1): 2.0**-41}


def _odd_part(name: str, order: int):
    """f/x - 1/2 (order 0) or f' - 1/2 (order 1), in mpmath: an odd function of x."""
    half = mpmath.mpf(1) / 2

    def sigmoid(x):
        return 1 / (1 + mpmath.exp(-x))

    if (name, order) == ("gelu", 0):
        return lambda x: mpmath.ncdf(x) - half
    if (name, order) == ("gelu", 1):
        return lambda x: mpmath.ncdf(x) - half + x * mpmath.npdf(x)
    if (name, order) == ("silu", 0):
        return lambda x: sigmoid(x) - half
    if (name, order) == ("silu", 1):
        return lambda x: sigmoid(x) - half + x * sigmoid(x) * sigmoid(-x)
    # GELU-tanh is x * sigma(z) with z = x (A + B x^2), A = 2 sqrt(2/pi), B = A * 0.044715
    a = 2 * mpmath.sqrt(2 / mpmath.pi)
    b = a * mpmath.mpf(GELU_TANH_CUBIC)
    if (name, order) == ("gelu_tanh", 0):
        return lambda x: sigmoid(x * (a + b * x * x)) - half
    if (name, order) == ("gelu_tanh", 1):
        def slope(x):
            z = x * (a + b * x * x)
            return sigmoid(z) - half + x * (a + 3 * b * x * x) * sigmoid(z) * sigmoid(-z)

        return slope
    raise KeyError(f"no core polynomial for {name!r} order {order}")


def core_target(name: str, order: int, w: mpmath.mpf) -> mpmath.mpf:
    """P(t) or D(t) at t = (w + 1) / CORE_SCALE: the odd part divided by x = sqrt(t)."""
    odd = _odd_part(name, order)
    t = (mpmath.mpf(w) + 1) / mpmath.mpf(CORE_SCALE)
    if t == 0:
        return mpmath.diff(odd, 0)
    x = mpmath.sqrt(t)
    return odd(x) / x


def fit_core_polynomial(name: str, order: int, degree: int | None = None,
                        dps: int = FIT_DPS) -> tuple[float, ...]:
    """Chebyshev interpolant of P or D on w in [-1, 1], coefficients highest degree first."""
    degree = CORE_DEGREES[(name, order)] if degree is None else degree
    with mpmath.workdps(dps):
        poly = mpmath.chebyfit(lambda w: core_target(name, order, w), [-1, 1], degree + 1)
    return tuple(float(p) for p in poly)


CORE_COEFFICIENTS: dict[tuple[str, int], tuple[float, ...]] = {
    ('gelu', 0): (
        2.1918775971673036e-09, -1.2502744870642794e-08, 5.809208549752107e-08,
        -2.8935684564190775e-07, 1.364600497597731e-06, -5.942866158617486e-06,
        2.3992003070092588e-05, -8.938219449873699e-05, 0.00030527255764970613,
        -0.0009492071538158432, 0.0026668365277643345, -0.006717213300071064,
        0.01506217512920016, -0.02997425356653692, 0.0534689979376375, -0.09033950055704403,
        0.19933777986392787,
    ),
    ('gelu', 1): (
        -1.1244113967025414e-08, 6.346033982914748e-08, -2.874889652979141e-07,
        1.4092626892320678e-06, -6.540394289524741e-06, 2.789310477463911e-05,
        -0.00010982668856232952, 0.0003971308409502339, -0.0013078265900430554,
        0.0038860049014732972, -0.01030294808120315, 0.024046816304068075,
        -0.048604521917999514, 0.08344961771249168, -0.11929662746778907, 0.1409684662515556,
        -0.14748201047794662, 0.21799655861359316,
    ),
    ('silu', 0): (
        -2.0610259910086262e-08, 5.382089042701569e-08, -4.7799765244553955e-08,
        1.2482258539655474e-07, -4.998562718729863e-07, 1.3053066655622348e-06,
        -3.2327995358818798e-06, 8.442016296864264e-06, -2.214879250881638e-05,
        5.78385642953315e-05, -0.00015100175843666213, 0.0003943218169467676,
        -0.0010297443911302892, 0.0026893433460171918, -0.007027669509363222,
        0.018429864264369013, -0.0495245245900377, 0.17065981593452625,
    ),
    ('silu', 1): (
        3.648552066568565e-08, -9.108581971011045e-08, 3.536461460959565e-08,
        -8.577302904099094e-08, 6.377952576301237e-07, -1.5711585358261986e-06,
        3.313744146276851e-06, -8.072294029818788e-06, 1.9981252688230705e-05,
        -4.8167554092952e-05, 0.00011510516817914179, -0.0002732546340385733,
        0.0006422694266643792, -0.001490845327656802, 0.0034065033794824845,
        -0.007625037649338051, 0.01659598796106693, -0.03470661142760528, 0.0684131685660014,
        -0.12437864126330625, 0.2422705826889028,
    ),
    ('gelu_tanh', 0): (
        -2.0932425558563792e-08, 9.698414626818723e-08, -2.059720269028575e-07, 3.7411083679746434e-07,
        -8.333894197306005e-07, 1.804487115718428e-06, -3.325279016882884e-06, 5.255468015645252e-06,
        -6.287580784453196e-06, 8.277983643564763e-07, 2.825868505127097e-05, -0.00012658443628085046,
        0.00040647952759653776, -0.0011306798448347624, 0.00288169953727462, -0.006829663655821789,
        0.014935041694198873, -0.029656951142252936, 0.053225641314369465, -0.09033219946613563,
        0.19940811309975318,
    ),
    ('gelu_tanh', 1): (
        1.1905528052539144e-07, 6.370506528422341e-08, -1.503135694576564e-06, 2.7447229937800687e-06,
        -2.7265532800890806e-06, 6.6369518138153765e-06, -1.743423524046981e-05, 3.0449219157520815e-05,
        -4.416594413865507e-05, 5.444194746932175e-05, -2.7589918055491765e-05, -0.00013118474318821492,
        0.0006401556495892008, -0.0019664828980981695, 0.005038058273672869, -0.011587208365515269,
        0.02451428233910169, -0.04737556936572174, 0.08105377995355065, -0.11777527557365743,
        0.14141214104373476, -0.14842623260740562, 0.21815182726718746,
    ),
}


def even_odd(coefficients: tuple[float, ...]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The coefficients (highest first) of E and O with p(w) = E(w^2) + w O(w^2): the kernels
    evaluate the two by Horner's rule side by side, two chains of half the length."""
    by_power = coefficients[::-1]  # by_power[j] multiplies w**j
    return by_power[0::2][::-1], by_power[1::2][::-1]


def core_ends(name: str, order: int, x: np.ndarray, s: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The core form's interval (low, high) for s * f(x) (order 0) or s * f'(x) (order 1), s = 1
    when not given, as the kernels evaluate it except that NumPy rounds each product and sum
    apart where the kernels fuse them (NumPy mirror, for tests); meaningful for |x| <= X_CORE."""
    x = np.asarray(x, dtype=np.float64)
    s = np.ones_like(x) if s is None else np.asarray(s, dtype=np.float64)
    w = (x * x) * CORE_SCALE - 1.0
    even, odd = even_odd(CORE_COEFFICIENTS[(name, order)])
    u = w * w
    e, o = np.full_like(x, even[0]), np.full_like(x, odd[0])
    for c in even[1:]:
        e = e * u + c
    for c in odd[1:]:
        o = o * u + c
    p = o * w + e
    c = CORE_BOUNDS[(name, order)]
    m = s * x if order == 0 else s
    y = m * (x * p + 0.5)
    return y - np.abs(m) * c, y + np.abs(m) * c


if __name__ == "__main__":
    for key in CORE_DEGREES:
        print(key, "=", fit_core_polynomial(*key))
