"""Run the Triton kernel tests (interp_*.py) in a child pytest under Triton's interpreter.

Triton fixes interpreted-or-compiled when it is imported (its own library functions, such as
tl.sum, are decorated then), so TRITON_INTERPRET=1 must be set before the first
``import triton``: a child process gets it, and nothing leaks into the other test folders.
The interpreter runs the same kernels on CPU tensors with NumPy semantics.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("triton", reason="Triton is not installed (the test extra installs it: pip install -e '.[test]')")

HERE = Path(__file__).parent
FILES = sorted(p.name for p in HERE.glob("interp_*.py") if p.name != "interp_guard.py")


def test_there_are_interpreted_test_files():
    assert len(FILES) >= 3, FILES


def test_kernels_under_triton_interpreter():
    """One child process for every interp_*.py file (its start-up, torch and numba loading, is paid once)."""
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore",
                           *(str(HERE / name) for name in FILES)], env=env, cwd=HERE.parent.parent,
                          capture_output=True, text=True, timeout=900)
    tail = (proc.stdout[-8000:] + proc.stderr[-3000:]).strip()
    assert proc.returncode == 0, tail
    last = proc.stdout.strip().splitlines()[-1]
    assert " passed" in last and "skipped" not in last and "failed" not in last, tail
