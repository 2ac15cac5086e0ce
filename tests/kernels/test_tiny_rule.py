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
    ends = [fast.tiny_rule(float(v), float(a), float(b)) for v, a, b in zip([odd, even, -odd], y, bound, strict=True)]
    assert [np.float32(e[0]) for e in ends] == [np.float32(2 * 2.0**-149), np.float32(2.0**-149),
                                                np.float32(-(2.0**-149))]
    assert all(e[1] == 0.0 for e in ends)
