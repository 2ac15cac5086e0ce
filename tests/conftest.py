"""Shared test settings and fixtures: headless Chromium, a local Ray cluster. The one input sampler lives in
gelulab.accuracy.sampler.

Chromium is the Debian package (``scripts/setup_browser.sh`` installs it). Without it a browser test
skips with the reason, except under CI (``CI`` set), where a missing browser is a failure: CI must
prove the pages render.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import pytest

import gelulab as gl
from gelulab.report.browser import BrowserUnavailable, launch_chromium

ALL_NAMES = gl.names()
SMOOTH_NAMES = [n for n in ALL_NAMES if gl.get(n).smooth]


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


def in_ci() -> bool:
    """CI sets CI=true; "", "0", "false" and "no" mean not in CI."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def browser_unavailable(exc: BrowserUnavailable) -> None:
    """Skip with the reason outside CI; fail under CI, where the browser test must run."""
    if in_ci():
        pytest.fail(f"{exc}; CI must run the browser test", pytrace=False)
    pytest.skip(f"{exc}; with CI set this fails instead")


@pytest.fixture(scope="session")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A headless Chromium (selenium WebDriver) with a fresh profile; skipped only outside CI when missing."""
    try:
        driver = launch_chromium(tmp_path_factory.mktemp("chromium-profile"))
    except BrowserUnavailable as exc:
        browser_unavailable(exc)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def on_browser_unavailable() -> Any:
    """The fixture's skip-or-fail rule, for the test of that rule."""
    return browser_unavailable
