"""Controlled training comparisons: tasks on embedded data, a crash-safe results store, sweeps
(local processes or Ray), statistics over seeds and learning curves. The verdicts drawn from the
stored runs are :mod:`gelulab.claims.training`'s.

    from gelulab.experiments import RunStore, plan_sweep, run_sweep, summarise

Names are loaded on first use, so that importing the package does not pay for importing torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "mean_ci": "stats", "paired_comparison": "stats", "summarise": "stats",
    "RunRecord": "store", "RunStore": "store", "StoreError": "store", "plan_sweep": "sweep",
    "run_sweep": "sweep", "TASKS": "tasks", "execute_run": "tasks", "make_config": "tasks",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'gelulab.experiments' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
