"""The local expansions at derivatives' roots, and the few-input path that evaluates only them."""

from __future__ import annotations

import numpy as np
import pytest

from gelulab import reference
from gelulab.functions import get, names
from gelulab.functions import root_patches as rp
from gelulab.kernels.cpu import reference_path

PATCHED = [(n, o) for n in names() if get(n).smooth for o in (1, 2) if rp.root_patches(n, o)]


def _inside(name: str, order: int, count: int, seed: int = 0) -> np.ndarray:
    """float32-valued inputs spread over every patch of f^(order), the roots' own neighbours included."""
    rng = np.random.default_rng(seed)
    xs = []
    for patch in rp.root_patches(name, order):
        near = np.float32(patch.root_hi) + np.arange(-3, 4) * np.spacing(np.float32(patch.root_hi))
        far = patch.root_hi + rng.uniform(-0.99, 0.99, count) * patch.half_width
        xs += [near.astype(np.float64), far.astype(np.float32).astype(np.float64)]
    return np.concatenate(xs)


def test_the_derivatives_with_roots_have_patches():
    assert {("gelu", 1), ("silu", 1), ("gelu_tanh", 1)} <= set(PATCHED)


@pytest.mark.parametrize(("name", "order"), PATCHED)
def test_few_inputs_in_patches_get_the_values_of_the_full_path(name, order):
    x = _inside(name, order, 8)
    assert x.size <= rp.FEW
    spec = get(name)
    few = rp.patched_only(spec, order, x)
    assert few is not None
    # the full path (the kernel, then the patches over it) for the same inputs in a longer call
    padding = np.linspace(-6, 6, rp.FEW + 1)
    full = spec.evaluate_float64(np.concatenate([x, padding]), order)[: x.size]
    assert np.array_equal(few, full)
    assert np.array_equal(spec.evaluate_float64(x, order), full)


@pytest.mark.parametrize(("name", "order"), [("gelu", 1), ("silu", 1), ("gelu_tanh", 1), ("mish", 1)])
def test_few_inputs_in_patches_are_correctly_rounded_against_the_oracle(name, order):
    x = _inside(name, order, 4, seed=1).astype(np.float32)
    g = np.float32([1.0, -0.5719251, 3.0e-3, 7.0])[np.arange(x.size) % 4]
    got = reference_path.derivative_times(name, g, x, order)
    for xi, gi, yi in zip(x, g, got, strict=True):
        exact = reference.evaluate(name, float(xi), order) * float(gi)
        assert yi == np.float32(reference.round_to_format(exact, "float32")), (xi, gi)


def test_an_input_outside_every_patch_takes_the_full_path():
    spec = get("gelu")
    patch = rp.root_patches("gelu", 1)[0]
    x = np.array([patch.root_hi, patch.root_hi + 2 * patch.half_width])
    assert rp.patched_only(spec, 1, x) is None
    assert rp.patched_only(spec, 1, np.array([patch.root_hi, np.nan])) is None
    assert rp.patched_only(spec, 0, x[:1]) is None  # values have no patches
    many = np.full(rp.FEW + 1, patch.root_hi)
    assert rp.patched_only(spec, 1, many) is None
