"""The float32 kernels' compiled fallback near the roots of f' (gelulab.kernels.cpu.near_root)."""

from __future__ import annotations

import numpy as np
import pytest

from gelulab import reference
from gelulab.functions.root_patches import root_patches
from gelulab.kernels.cpu import fast, near_root, reference_path

GRADS = np.float32([1.0, -0.5719251, 3.0e-3, -7.0, 1.5e-30, 2.0e30])


def _oracle(name: str, g: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.float32([reference.round_to_format(reference.evaluate(name, float(xi), 1) * float(gi), "float32")
                       for gi, xi in zip(g, x, strict=True)])


def _near(name: str, seed: int = 0) -> np.ndarray:
    """The float32 neighbours of each root and a spread over its window, as float32."""
    rng = np.random.default_rng(seed)
    out = []
    for p in root_patches(name, 1):
        r = np.float32(p.root_hi)
        out += [r + np.arange(-4, 5, dtype=np.float32) * np.spacing(r),
                (p.root_hi + rng.uniform(-0.99, 0.99, 12) * p.half_width).astype(np.float32)]
    return np.concatenate(out)


@pytest.mark.parametrize("name", near_root.NAMES)
def test_near_a_root_every_product_is_correctly_rounded_against_the_oracle(name):
    x = _near(name)
    g = GRADS[np.arange(x.size) % GRADS.size]
    assert np.array_equal(near_root.derivative_times(name, g, x), _oracle(name, g, x))


@pytest.mark.parametrize("name", near_root.NAMES)
def test_the_compiled_expansion_stays_within_its_margin_of_the_long_double_one(name):
    checked, worst = near_root.check(name, stride=997)
    assert checked > 10_000 and worst <= near_root.EXTRA_ULPS


def test_it_decides_near_the_root_and_leaves_the_rest_to_the_reference_path(monkeypatch):
    calls = []
    real = reference_path.derivative_times

    def counting(name, grad, x, order=1):
        calls.append(x.copy())
        return real(name, grad, x, order)

    monkeypatch.setattr(reference_path, "derivative_times", counting)
    root = np.float32(root_patches("gelu", 1)[0].root_hi)
    x = np.float32([root, root + np.spacing(root), 3.0, np.nan])  # two inside the window, two outside
    g = np.float32([1.0, 1.0, 1.0, 1.0])
    got = near_root.derivative_times("gelu", g, x)
    assert len(calls) == 1 and np.array_equal(calls[0][:1], x[2:3]) and np.isnan(calls[0][1])
    assert np.array_equal(got[:3], _oracle("gelu", g[:3], x[:3])) and np.isnan(got[3])


def test_the_kernel_sends_its_undecided_products_near_the_root_here(monkeypatch):
    seen = []
    real = near_root.derivative_times
    monkeypatch.setattr(near_root, "derivative_times", lambda n, g, x: seen.append(x.copy()) or real(n, g, x))
    x = np.linspace(-3, 3, 1 << 17).astype(np.float32)
    g = np.ones_like(x)
    x[1000], g[1000] = np.float32(-0.75244737), np.float32(-0.5719251)  # undecided by the kernel's bound
    got = fast.derivative_times("gelu_tanh", g, x)
    assert seen and np.float32(-0.75244737) in np.concatenate(seen)
    assert got[1000] == _oracle("gelu_tanh", g[1000:1001], x[1000:1001])[0]
