"""Shared guard of the interp_*.py files: they run only in the child process that
test_triton_interpreted.py starts with TRITON_INTERPRET=1 (Triton reads it when it is imported)."""

from __future__ import annotations

import os

import pytest

REASON = "runs under Triton's interpreter; test_triton_interpreted.py starts it with TRITON_INTERPRET=1"


def require_interpreter() -> None:
    if os.environ.get("TRITON_INTERPRET") != "1":
        pytest.skip(REASON, allow_module_level=True)
    from gelulab.kernels.triton import launch

    assert launch.interpreting(), "TRITON_INTERPRET=1 but the kernels were built compiled"
