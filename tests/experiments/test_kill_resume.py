"""A sweep killed with SIGKILL loses at most its runs in flight; the same command then resumes it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path


def _stored(path: Path) -> list[tuple]:
    if not path.exists():
        return []
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute("SELECT id, config_hash, seed, metrics, finished_at FROM runs ORDER BY id").fetchall()
        finally:
            con.close()
    except sqlite3.OperationalError:  # created but not initialised yet
        return []


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_sigkill_mid_sweep_loses_only_runs_in_flight_and_rerun_resumes(tmp_path):
    store = tmp_path / "runs.sqlite"
    cmd = [sys.executable, "-m", "gelulab.cli", "sweep", "--task", "digits", "--activations", "relu,gelu",
           "--seeds", "2", "--steps", "150", "--workers", "2", "--store", str(store), "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 120
    while not _stored(store):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no run was stored within 120 s"
        time.sleep(0.02)
    workers = _children(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    before = _stored(store)
    assert 1 <= len(before) < 4, "the kill should land mid-sweep"
    con = sqlite3.connect(store)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    # the worker processes notice that their driver is gone and exit
    deadline = time.monotonic() + 15
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(w) for w in workers), "sweep workers outlived the killed driver"

    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"{4 - len(before)} runs trained, {len(before)} already stored" in done.stdout
    after = _stored(store)
    assert len(after) == 4
    assert len({(h, s) for _, h, s, _, _ in after}) == 4
    assert after[: len(before)] == before  # finished runs untouched, never retrained or duplicated
