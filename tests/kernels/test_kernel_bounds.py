"""The kernels' error-bound check (gelulab.kernels.cpu.bounds) that the campaign runs on every float32 input."""

from __future__ import annotations

import numpy as np
import pytest

from gelulab.accuracy.scan import ScanResult, ScanSpec, grade_chunk
from gelulab.functions import get, rounding
from gelulab.kernels.cpu import bounds, elements

pytestmark = pytest.mark.skipif(not rounding.dd.LONG_DOUBLE_IS_WIDER,
                                reason="the check compares with long double, which is no wider than float64 here")


def _true(name: str, x: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    x64 = x.astype(np.float64)
    idx, wide = rounding.long_double_values(get(name), x64, order, np.arange(x64.size))
    return x[idx], wide


def _inputs() -> np.ndarray:
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.standard_normal(20000) * 3, rng.uniform(-20, 20, 5000),
                        np.ldexp(rng.uniform(-1, 1, 3000), rng.integers(-140, 7, 3000)), [0.0, -0.0, 40.0, -1e30]])
    return x.astype(np.float32)


@pytest.mark.parametrize("name", elements.FAST_NAMES)
@pytest.mark.parametrize("order", [0, 1])
def test_both_forms_hold_the_long_double_value_within_their_bounds(name, order):
    x, true = _true(name, _inputs(), order)
    found = bounds.check(name, x, order, true)
    assert found.violations == 0, found.examples
    assert found.checked == x.size and found.core_checked == int((np.abs(x) <= elements.X_CORE).sum())
    assert 0 < found.worst_core_fraction < 1 and 0 < found.worst_general_fraction < 1


def test_a_value_outside_its_bound_is_counted(monkeypatch):
    x, true = _true("gelu", _inputs(), 0)
    real = elements.float64_values

    def off(name, x, order=0):
        y, b = real(name, x, order)
        return y * (1 + 2.0**-44), b  # 512 float64 ulps: beyond the erfc form's bound of 64

    monkeypatch.setattr(elements, "float64_values", off)
    found = bounds.check("gelu", x, 0, true)
    assert found.violations > x.size // 2 and found.worst_general_fraction > 1 and found.examples


def test_a_cross_checked_kernel_scan_checks_the_bounds_and_keeps_them_in_its_checkpoint(tmp_path):
    spec = ScanSpec.from_values("silu", 1, "float32", ["gelulab", "gelulab-cpu"], -4.0, 4.0, stride=40009,
                                cross_check=True)
    chunk = grade_chunk(spec, 0)
    assert chunk.kernel_bounds is not None and chunk.kernel_bounds.violations == 0
    assert chunk.kernel_bounds.checked == chunk.inputs  # the root's window too, on the float64 reference
    result = ScanResult(spec=spec)
    result.add(chunk)
    result.save(tmp_path / "scan.json")
    again = ScanResult.load(tmp_path / "scan.json")
    assert again.kernel_bounds == result.kernel_bounds
    plain = ScanSpec.from_values("silu", 1, "float32", ["gelulab"], -4.0, 4.0, stride=40009, cross_check=True)
    assert grade_chunk(plain, 0).kernel_bounds is None  # no kernel graded: nothing to check
