"""Controlled training comparisons: tasks on embedded data, a crash-safe results store, sweeps
(local processes or Ray), statistics over seeds, learning curves and the evidence for the claims.

    from gelulab.experiments import RunStore, plan_sweep, run_sweep, summarise, training_evidence

Names are loaded on first use, so that importing the package (or ``training_evidence`` on a
machine without stored runs) does not pay for importing torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "training_evidence": "evidence", "mean_ci": "stats", "paired_comparison": "stats", "summarise": "stats",
    "RunRecord": "store", "RunStore": "store", "StoreError": "store", "plan_sweep": "sweep",
    "run_sweep": "sweep", "TASKS": "tasks", "execute_run": "tasks", "make_config": "tasks",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'gelulab.experiments' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
