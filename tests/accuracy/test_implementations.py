"""The implementations registry: torch's known failures are found, user callables and missing packages."""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest

from gelulab.accuracy import (
    IMPLEMENTATIONS,
    Implementation,
    ScanSpec,
    UnknownImplementationError,
    dtype_info,
    resolve_implementation,
    run_scan,
)


def test_torch_float32_gelu_flushes_the_negative_tail_that_is_a_normal_float32():
    spec = ScanSpec.from_values("gelu", 0, "float32", ["torch", "gelulab"], -8.0, -5.0, stride=1021)
    r = run_scan(spec, progress=False)
    torch_stats, own = r.results["torch"], r.results["gelulab"]
    assert torch_stats.flushed_to_zero > 0 and own.flushed_to_zero == 0
    assert torch_stats.max_ulp > 1e6  # zero instead of a normal float32: ~2**24 ulp
    assert own.correct == own.count


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_torch_gelu_overflows_for_finite_inputs_above_2_to_127(dtype):
    spec = ScanSpec.from_values("gelu", 0, dtype, ["torch", "gelulab"], 2.0**127, 3e38, stride=7919)
    r = run_scan(spec, progress=False)
    assert r.results["torch"].overflowed == r.results["torch"].count > 0
    assert r.results["gelulab"].overflowed == 0


def test_torch_bfloat16_gelu_is_not_correctly_rounded_everywhere():
    r = run_scan(ScanSpec.exhaustive("gelu", 0, "bfloat16", ["torch"]), progress=False)
    s = r.results["torch"]
    assert s.finite_count == 65280
    assert 0 < s.finite_wrong < 2000 and s.flushed_to_zero > 0


def test_torch_derivative_by_autograd_matches_the_reference_where_it_is_accurate():
    impl = IMPLEMENTATIONS["torch"]
    x = np.array([0.0, 1.0, -1.0, 3.0], dtype=np.float32)
    got = impl.evaluate("gelu", x, 1)
    assert got.dtype == np.float32 and abs(float(got[1]) - 1.0833155) < 1e-6 and got[0] == 0.5


def test_naive_erf_formula_flushes_where_the_erfc_form_does_not():
    dt = dtype_info("float32")
    x = np.array([-7.5], dtype=np.float32)
    assert IMPLEMENTATIONS["numpy"].evaluate("gelu", x, 0)[0] == 0
    assert IMPLEMENTATIONS["scipy"].evaluate("gelu", x, 0)[0] != 0
    assert IMPLEMENTATIONS["numpy"].supports("mish", 0, dt) is not None


def test_a_user_callable_module_function_is_graded(tmp_path, monkeypatch):
    (tmp_path / "my_gelu_mod.py").write_text(textwrap.dedent("""
        import numpy as np
        from scipy.special import ndtr
        def gelu(x):
            return (x.astype(np.float64) * ndtr(x.astype(np.float64))).astype(x.dtype)
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    r = run_scan(ScanSpec.exhaustive("gelu", 0, "float16", ["my_gelu_mod:gelu"]), progress=False)
    s = r.results["my_gelu_mod:gelu"]
    assert s.count == 65536 and s.finite_wrong < 100  # float64 ndtr then one rounding: nearly all right
    sys.modules.pop("my_gelu_mod", None)


def test_unknown_names_and_missing_packages_are_reported_with_a_reason():
    with pytest.raises(UnknownImplementationError, match="gelulab"):
        resolve_implementation("tensorflow")
    with pytest.raises(UnknownImplementationError, match="cannot import"):
        resolve_implementation("no_such_module_xyz:f")
    missing = Implementation("ghost", "needs a package that is not there", lambda f, x, o: x,
                             requires="no_such_module_xyz")
    reason = missing.supports("gelu", 0, dtype_info("float16"))
    assert reason and "no_such_module_xyz" in reason


def test_jax_is_graded_when_installed_or_skipped_with_its_reason():
    jax_impl = IMPLEMENTATIONS["jax"]
    reason = jax_impl.unavailable()
    if reason:
        r = run_scan(ScanSpec.exhaustive("gelu", 0, "float16", ["jax"]), progress=False)
        assert r.skipped["jax"] == reason and not r.results
        return
    r = run_scan(ScanSpec.exhaustive("gelu", 0, "float16", ["jax"]), progress=False)
    assert r.results["jax"].finite_count == 63488 and r.results["jax"].finite_wrong > 0
