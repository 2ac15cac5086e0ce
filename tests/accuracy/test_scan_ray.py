"""Scans as Ray tasks on a real local cluster (the ``ray_cluster`` fixture), resumed from a local checkpoint."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'gelulab[ray]'")


def _accuracy(argv: list[str], env: dict[str, str]) -> dict:
    proc = subprocess.run([sys.executable, "-m", "gelulab.cli", "accuracy", *argv, "--json"], capture_output=True,
                          text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def test_a_scan_started_locally_finishes_on_a_ray_cluster_with_the_same_numbers(ray_cluster, tmp_path):
    address, env = ray_cluster
    common = ["--function", "silu", "--derivative", "--dtype", "bfloat16", "--impl", "gelulab", "torch",
              "--chunk-size", "4096", "--cross-check"]
    local = _accuracy([*common, "--out", str(tmp_path / "local.json"), "--workers", "1"], env)
    # a partial local scan (one chunk, then --max-seconds stops it), then the rest on the cluster
    split = tmp_path / "split.json"
    _accuracy([*common, "--out", str(split), "--workers", "1", "--max-seconds", "0"], env)
    partial = json.loads(split.read_text())
    assert not partial["complete"] and partial["inputs_done"] == 4096
    remote = _accuracy([*common, "--out", str(split), "--address", address], env)
    stored = json.loads(split.read_text())
    assert stored["complete"] and stored["chunks_total"] == 16
    # counts and worst errors merge exactly whatever order the chunks finish in (the x of a tied worst may not)
    def counts(summary: dict) -> list[tuple]:
        return [(s["impl"], s["finite_not_correctly_rounded"], s["worst_ulp"], s["flushed_to_zero"], s["nan_mismatch"])
                for s in summary["summary"]]

    assert counts(remote) == counts(local)
    assert counts(remote)[0][1] == 0  # gelulab itself
    assert remote["reference"]["cross_checked"] == local["reference"]["cross_checked"] > 60000
    for name, stats in stored["results"].items():
        there = json.loads((tmp_path / "local.json").read_text())["results"][name]
        assert (stats["count"], stats["correct"], stats["histogram"]) == (there["count"], there["correct"],
                                                                          there["histogram"])
