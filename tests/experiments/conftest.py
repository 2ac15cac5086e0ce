"""Tiny run settings so that every experiments test trains in well under a second per run."""

from __future__ import annotations

import pytest

#: A one-layer transformer on 16-character windows, a few steps.
TINY_LM = {"steps": 6, "n_layer": 1, "n_head": 2, "n_embd": 16, "d_ff": 48, "block_size": 16,
           "batch_size": 4, "eval_every": 3, "warmup": 2}
TINY_VISION = {"steps": 8, "eval_every": 4}


@pytest.fixture
def store_path(tmp_path):
    return tmp_path / "results" / "runs.sqlite"


@pytest.fixture
def tiny_lm() -> dict:
    return dict(TINY_LM)


@pytest.fixture
def tiny_vision() -> dict:
    return dict(TINY_VISION)
