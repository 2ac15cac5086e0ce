"""The exhaustive campaign: its stored summaries (read, not rerun), resuming, and the cross-check."""

from __future__ import annotations

import numpy as np

from gelulab import reference
from gelulab.accuracy import campaign, correctly_rounded, dtype_info
from gelulab.accuracy import oracle as oracle_module
from gelulab.functions import names

REQUIRED = {"function", "order", "dtype", "inputs", "finite_inputs", "finite_wrong", "worst_ulp", "reference",
            "cpu_seconds", "wall_seconds", "workers", "cpu_model", "date", "gelulab_version"}


def test_every_stored_scan_covers_every_input_with_nothing_wrong():
    rows = campaign.load()["scans"]
    assert rows, "the campaign file holds no scan"
    for r in rows:
        assert set(r) >= REQUIRED, sorted(REQUIRED - set(r))
        assert r["inputs"] == dtype_info(r["dtype"]).count, r
        assert r["finite_wrong"] == 0 and r["signed_zero_mismatch"] == 0, r
        assert r["worst_ulp"] <= 0.5, r
        assert r["reference"]["bound_violations"] == 0, r
        assert r["reference"]["cross_worst_float64_ulps"] < 63, r


def test_the_campaign_is_complete_in_every_dtype():
    """Every registry activation, f, f' and f'', on every input of float16, bfloat16 and float32."""
    done = campaign.completed()
    missing = [(f, o, d) for d in ("float16", "bfloat16", "float32") for f in names() for o in campaign.ORDERS
               if (f, o, d) not in done]
    assert not missing, missing


def test_every_compiled_kernel_is_scanned_in_every_dtype():
    kernels = campaign.completed(implementation=campaign.KERNEL_IMPL)
    missing = [(f, o, d) for d in ("float16", "bfloat16", "float32") for f in names() for o in campaign.KERNEL_ORDERS
               if campaign.KERNEL_IMPL in campaign.implementations(f, o, d) and (f, o, d) not in kernels]
    assert not missing, missing
    assert len(kernels) == 3 * 3 * len(campaign.KERNEL_ORDERS)  # GELU, GELU-tanh, SiLU; 3 dtypes
    for r in kernels.values():
        if r["dtype"] == "float32":
            assert r["kernel_bounds"]["checked"] == r["finite_inputs"] and r["kernel_bounds"]["violations"] == 0, r


def test_a_campaign_records_a_scan_once_and_skips_it_on_the_next_run(tmp_path):
    path = tmp_path / "campaign.json"
    rows = campaign.run_campaign(["float16"], ["relu", "silu"], orders=(1,), path=path,
                                 results_dir=tmp_path / "scans", workers=1, progress=False)
    # silu has a compiled kernel: the same scan grades it, in a row of its own; relu has none
    assert [(r["function"], r["order"], r["implementation"]) for r in rows] == [
        ("relu", 1, "gelulab"), ("silu", 1, "gelulab"), ("silu", 1, "gelulab-cpu")]
    assert all(r["finite_wrong"] == 0 and r["inputs"] == 65536 for r in rows)
    assert rows[1]["reference"]["cross_checked"] > 60000  # silu runs in long double; relu has no such kernel
    again = campaign.run_campaign(["float16"], ["relu", "silu"], orders=(1,), path=path,
                                  results_dir=tmp_path / "scans", workers=1, progress=False)
    assert again == [] and len(campaign.load(path)["scans"]) == 3


def test_a_scan_recorded_without_its_kernel_is_rerun_for_the_kernel_alone(tmp_path):
    path = tmp_path / "campaign.json"
    campaign.run_campaign(["bfloat16"], ["gelu"], orders=(0,), path=path, results_dir=tmp_path / "scans",
                          workers=1, progress=False)
    data = campaign.load(path)
    first = {r["implementation"]: r for r in data["scans"]}
    assert set(first) == {"gelulab", "gelulab-cpu"}
    data["scans"] = [first["gelulab"]]
    path.write_text(__import__("json").dumps(data))
    rows = campaign.run_campaign(["bfloat16"], ["gelu"], orders=(0,), path=path, results_dir=tmp_path / "scans",
                                 workers=1, progress=False)
    assert [r["implementation"] for r in rows] == ["gelulab-cpu"] and rows[0]["finite_wrong"] == 0
    assert campaign.completed(path)[("gelu", 0, "bfloat16")] == first["gelulab"]  # kept, not rescanned


def test_the_cross_check_catches_a_float64_value_outside_its_bound(monkeypatch):
    real = oracle_module.float64_values

    def off_by_2_to_the_minus_40(name, x, order):
        return real(name, x, order) * (1 + 2.0**-40)  # 2**13 float64 ulps: far outside the bound

    monkeypatch.setattr(oracle_module, "float64_values", off_by_2_to_the_minus_40)
    x = np.linspace(-3, 3, 301).astype(np.float32)
    ref = correctly_rounded("silu", x, 0, dtype_info("float32"), cross_check=True)
    assert ref.bound_violations > 250 and ref.cross_worst_float64_ulps > 1000
    want = [reference.round_to_format(reference.evaluate("silu", float(v), 0), "float32") for v in x]
    assert np.array_equal(ref.rounded, want)


def test_the_report_lists_every_stored_kernel_scan():
    from gelulab.report.sections_accuracy import _kernel_table

    stored = campaign.completed(implementation=campaign.KERNEL_IMPL)
    table = "\n".join(_kernel_table())
    assert table.count("not scanned yet") == 3 * 3 * len(campaign.KERNEL_ORDERS) - len(stored)
    for r in stored.values():
        assert r["finite_wrong"] == 0 and r["worst_ulp"] <= 0.5, r
