"""Scans: gelulab is correctly rounded on every 16-bit input; checkpoints resume to the same result."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gelulab.accuracy import ScanResult, ScanSpec, run_scan


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("function", ["gelu", "gelu_tanh"])
@pytest.mark.parametrize("order", [0, 1])
def test_gelulab_is_correctly_rounded_on_every_16bit_input(function, order, dtype):
    r = run_scan(ScanSpec.exhaustive(function, order, dtype, ["gelulab"], verify_per_chunk=16), progress=False)
    s = r.results["gelulab"]
    assert s.count == 65536 and r.complete
    assert s.correct == s.count, s.examples[:5]
    assert s.max_ulp <= 0.5 and s.flushed_to_zero == 0 and s.overflowed == 0
    assert r.reference.verified == 16 and not r.reference.verify_failures


def test_float32_range_scan_counts_the_values_in_the_range():
    spec = ScanSpec.from_values("gelu", 0, "float32", ["gelulab"], 1.0, 2.0, stride=997)
    r = run_scan(spec, progress=False)
    assert r.inputs_done == spec.n_inputs == -(-(2**23 + 1) // 997)
    assert r.results["gelulab"].correct == r.inputs_done


def test_an_interrupted_scan_resumes_from_its_checkpoint_to_the_same_result(tmp_path):
    spec = ScanSpec.from_values("gelu", 0, "float32", ["gelulab", "numpy"], -9.0, 3.0, stride=409_999,
                                chunk_size=512)
    path = tmp_path / "scan.json"
    partial = run_scan(spec, path=path, workers=1, progress=False, max_seconds=0.0)
    assert not partial.complete and path.exists()
    stored = json.loads(path.read_text())
    assert stored["complete"] is False and stored["inputs_done"] == partial.inputs_done > 0
    resumed = run_scan(spec, path=path, workers=1, progress=False)
    fresh = run_scan(spec, progress=False, workers=1)
    assert resumed.complete and resumed.inputs_done == spec.n_inputs
    for name in spec.impls:
        assert resumed.results[name].to_dict() == fresh.results[name].to_dict()
    again = run_scan(spec, path=path, workers=1, progress=False)  # complete: reused, not recomputed
    assert again.wall_seconds == ScanResult.load(path).wall_seconds


def test_a_scan_resumed_on_another_machine_names_both(tmp_path, monkeypatch):
    from gelulab.accuracy import campaign, scan

    spec = ScanSpec.from_values("silu", 0, "float32", ["gelulab"], -3.0, 3.0, stride=999_983, chunk_size=256)
    path = tmp_path / "scan.json"
    monkeypatch.setattr(scan, "cpu_model", lambda: "machine A")
    partial = run_scan(spec, path=path, workers=1, progress=False, max_seconds=0.0)
    assert not partial.complete and set(ScanResult.load(path).machines) == {"machine A"}
    monkeypatch.setattr(scan, "cpu_model", lambda: "machine B")
    resumed = run_scan(spec, path=path, workers=1, progress=False)
    assert resumed.complete and set(resumed.machines) == {"machine A", "machine B"}
    assert abs(sum(resumed.machines.values()) - resumed.wall_seconds) < 1e-6
    assert set(campaign._machines(resumed).split(" + ")) == {"machine A", "machine B"}


def test_a_checkpoint_of_another_scan_is_refused(tmp_path):
    path = tmp_path / "scan.json"
    run_scan(ScanSpec.exhaustive("gelu", 0, "float16", ["gelulab"]), path=path, progress=False)
    with pytest.raises(ValueError, match="--fresh"):
        run_scan(ScanSpec.exhaustive("gelu", 1, "float16", ["gelulab"]), path=path, progress=False)


def test_two_worker_processes_give_the_same_statistics_as_one():
    spec = ScanSpec.from_values("gelu", 0, "float32", ["gelulab", "scipy"], -20.0, 20.0, stride=65537,
                                chunk_size=4096)
    one = run_scan(spec, workers=1, progress=False)
    two = run_scan(spec, workers=2, progress=False)
    assert one.inputs_done == two.inputs_done == spec.n_inputs
    for name in spec.impls:
        assert one.results[name].to_dict() == two.results[name].to_dict()
    assert np.isfinite(one.results["scipy"].max_ulp)
