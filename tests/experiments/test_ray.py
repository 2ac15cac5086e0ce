"""The --ray path on a real Ray cluster: a head node started on loopback with ``ray start``."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'gelulab[ray]'")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def ray_cluster():
    """(address, env): a one-node cluster with token authentication; drivers get the token through env."""
    port = _free_port()
    # Ray puts unix sockets under its temp dir, whose path must stay short (pytest's tmp_path is too long)
    temp_dir = tempfile.mkdtemp(prefix="glray-", dir="/tmp")
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16),
           "RAY_USAGE_STATS_ENABLED": "0"}
    ray_cli = shutil.which("ray") or os.path.join(os.path.dirname(sys.executable), "ray")
    head = subprocess.Popen(
        [ray_cli, "start", "--head", f"--port={port}", "--node-ip-address=127.0.0.1", "--num-cpus=2",
         "--include-dashboard=false", "--disable-usage-stats", "--block", f"--temp-dir={temp_dir}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=env)
    address = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while subprocess.run([ray_cli, "status", f"--address={address}"], capture_output=True, env=env).returncode:
        assert head.poll() is None, "ray start exited"
        assert time.monotonic() < deadline, "the Ray head did not come up in 90 s"
        time.sleep(0.5)
    try:
        yield address, env
    finally:
        head.send_signal(signal.SIGTERM)  # ray start --block stops its own processes on SIGTERM
        try:
            head.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()
        shutil.rmtree(temp_dir, ignore_errors=True)


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
