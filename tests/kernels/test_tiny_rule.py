"""The float32 kernels' tiny-x rule: subnormal ties of the forward decided in the kernel, not on the exact path."""

from __future__ import annotations

import numpy as np
import pytest

from gelulab import reference
from gelulab.functions import rounding
from gelulab.kernels.cpu import elements, fast


@pytest.mark.parametrize("name", elements.FAST_NAMES)
def test_the_rule_s_premise_holds_for_every_kernel(name):
    # f(x) = x/2 + c2 x^2 on both sides of 0 with c2 > 0: what the kernel's nudge towards +inf assumes
    for side in rounding.tiny_taylor(name, 0):
        assert side is not None and side[0] == 0.5 and side[1] > 0, side


def _tiny_inputs() -> np.ndarray:
    bits = np.arange(1, 4000, dtype=np.uint32)  # the smallest subnormals, odd and even
    near_normal = np.uint32(0x00800000) + np.arange(0, 64, dtype=np.uint32)  # x/2 subnormal again
    x = np.concatenate([bits, near_normal, np.uint32(0x007FFFFF) - np.arange(32, dtype=np.uint32)]).view(np.float32)
    more = np.float32([2.0**-61, 2.0**-100, 3 * 2.0**-120, 0.0, -0.0, 2.0**-60, 1.5 * 2.0**-60])
    return np.concatenate([x, -x, more, -more])


def _oracle(name: str, x: np.ndarray) -> np.ndarray:
    """mpmath's value rounded once; f(+-0) = +-0 (mpmath has no signed zero, x * Phi(x) keeps x's), and a
    result that rounds to zero keeps the sign of the exact value, which is x's here."""
    want = np.array([reference.round_to_format(reference.evaluate(name, float(v), 0), "float32") for v in x],
                    dtype=np.float32)
    return np.where(want == 0, np.copysign(np.float32(0), x), want).astype(np.float32)


@pytest.mark.parametrize("name", elements.FAST_NAMES)
def test_subnormal_ties_are_correctly_rounded_without_the_exact_path(name, monkeypatch):
    x = _tiny_inputs()
    # typical data around them, so blocks mix the core form, the erfc form and the rule
    rng = np.random.default_rng(3)
    mixed = np.concatenate([x, rng.standard_normal(x.size).astype(np.float32)])
    order = rng.permutation(mixed.size)
    mixed = mixed[order]

    def no_exact_path(*args, **kw):
        raise AssertionError("the exact path was taken")

    monkeypatch.setattr(fast.reference_path, "forward", no_exact_path)
    got = fast.forward(name, x)
    want = _oracle(name, x)
    assert np.array_equal(got.view(np.uint32), want.view(np.uint32)), x[got.view(np.uint32) != want.view(np.uint32)]
    monkeypatch.undo()
    got_mixed = fast.forward(name, mixed)
    tiny = np.abs(mixed) < 2.0**-60
    assert np.array_equal(got_mixed[tiny].view(np.uint32), _oracle(name, mixed[tiny]).view(np.uint32))


def test_a_midpoint_rounds_up_and_a_float32_stays():
    odd, even = np.float32(3 * 2.0**-149), np.float32(2 * 2.0**-149)  # x/2 = 1.5 and 1 times 2^-149
    y, bound = elements.float64_values("silu", np.array([odd, even, -odd]), 0)
    ends = [fast.tiny_rule(0, 1.0, float(v), float(a), float(b))
            for v, a, b in zip([odd, even, -odd], y, bound, strict=True)]
    assert [np.float32(e[0]) for e in ends] == [np.float32(2 * 2.0**-149), np.float32(2.0**-149),
                                                np.float32(-(2.0**-149))]
    assert all(e[1] == 0.0 for e in ends)


@pytest.mark.parametrize("name", elements.FAST_NAMES)
def test_the_product_rule_s_premise_holds_for_every_kernel(name):
    # f'(x) = 1/2 + c1 x on both sides of 0 with c1 > 0: the backward's nudge towards sign(grad * x)
    for side in rounding.tiny_constant_taylor(name, 1):
        assert side is not None and side[0] == 0.5 and side[1] > 0, side


def _oracle_product(name: str, grad: np.ndarray, x: np.ndarray, order: int) -> np.ndarray:
    import mpmath

    out = []
    for g, v in zip(grad, x, strict=True):
        with mpmath.workdps(60):  # the product at the oracle's precision, not at mpmath's default 15 digits
            exact = mpmath.mpf(float(g)) * reference.evaluate(name, float(v), order)
            r = np.float32(reference.round_to_format(exact, "float32"))
        out.append(np.copysign(np.float32(0), np.float32(g) * np.float32(v if order == 0 else 1)) if r == 0 else r)
    return np.array(out, dtype=np.float32)


def _tiny_products(rng: np.random.Generator, n: int = 3000) -> tuple[np.ndarray, np.ndarray]:
    """Odd subnormal factors (their halves are float32 midpoints) against tiny x of both signs, and 0."""
    grad = (rng.integers(0, 2000, n).astype(np.uint32) * 2 + 1).view(np.float32) * rng.choice([-1, 1], n)
    x = np.ldexp(rng.uniform(0.5, 1, n), rng.integers(-140, -61, n)).astype(np.float32) * rng.choice([-1, 1], n)
    x[:20] = 0.0
    return grad.astype(np.float32), x.astype(np.float32)


@pytest.mark.parametrize("name", elements.FAST_NAMES)
def test_backward_ties_at_tiny_x_are_correctly_rounded_without_the_exact_path(name, monkeypatch):
    grad, x = _tiny_products(np.random.default_rng(11))

    def no_exact_path(*args, **kw):
        raise AssertionError("the exact path was taken")

    monkeypatch.setattr(fast.reference_path, "derivative_times", no_exact_path)
    got = fast.derivative_times(name, grad, x)
    want = _oracle_product(name, grad, x, 1)
    bad = got.view(np.uint32) != want.view(np.uint32)
    assert not bad.any(), list(zip(grad[bad][:4], x[bad][:4], strict=True))


@pytest.mark.parametrize("name", [*elements.FAST_NAMES, "hardswish", "softplus"])
def test_the_rounding_decision_breaks_product_ties_at_tiny_x_without_the_oracle(name, monkeypatch):
    from gelulab.functions import get

    grad, x = _tiny_products(np.random.default_rng(5), 400)
    spec = get(name)
    monkeypatch.setattr(rounding, "_by_oracle", lambda *a, **k: (_ for _ in ()).throw(AssertionError("oracle")))
    got = rounding.correctly_rounded(spec, x.astype(np.float64), 1, rounding.FORMATS["float32"],
                                     factor=grad.astype(np.float64))
    want = _oracle_product(name, grad, x, 1)
    assert np.array_equal(np.float32(got.rounded).view(np.uint32), want.view(np.uint32))
    assert got.tie_resolved >= 300  # every nonzero x: the product s/2 is a midpoint
