"""The sweep's --ray path on a real Ray cluster (the ``ray_cluster`` fixture of tests/conftest.py)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'gelulab[ray]'")


def _sweep(argv: list[str], env: dict[str, str]) -> tuple[dict, int]:
    driver = subprocess.Popen([sys.executable, "-m", "gelulab.cli", *argv], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env)
    out, err = driver.communicate(timeout=300)
    assert driver.returncode == 0, err[-2000:]
    return json.loads(out), driver.pid


def test_sweep_runs_as_ray_tasks_and_the_driver_stores_every_result(ray_cluster, store_path):
    from gelulab.experiments.store import RunStore

    address, env = ray_cluster
    argv = ["sweep", "--task", "digits", "--activations", "relu,gelu", "--seeds", "2", "--steps", "10",
            "--ray", "--address", address, "--workers", "2", "--store", str(store_path), "--json"]
    summary, driver_pid = _sweep(argv, env)
    assert (summary["backend"], summary["finished"], summary["failed"]) == ("ray", 4, [])
    with RunStore(store_path, readonly=True) as store:
        runs = store.runs(with_curves=True)
    assert sorted((r.activation, r.seed) for r in runs) == [("gelu", 0), ("gelu", 1), ("relu", 0), ("relu", 1)]
    assert all(r.extra["pid"] != driver_pid for r in runs)  # trained in Ray workers, stored by the driver
    assert all(r.curves["test_acc"] for r in runs)
    again, _ = _sweep(argv, env)  # resuming on the cluster trains nothing
    assert (again["finished"], again["skipped"]) == (0, 4)
