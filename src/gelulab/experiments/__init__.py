"""Controlled training comparisons: tasks on embedded data, a crash-safe results store, sweeps
(local processes or Ray), statistics over seeds, learning curves and the evidence for the claims.

    from gelulab.experiments import RunStore, plan_sweep, run_sweep, summarise, training_evidence
"""

from .evidence import training_evidence
from .stats import mean_ci, paired_comparison, summarise
from .store import RunRecord, RunStore, StoreError
from .sweep import plan_sweep, run_sweep
from .tasks import TASKS, execute_run, make_config

__all__ = ["TASKS", "RunRecord", "RunStore", "StoreError", "execute_run", "make_config", "mean_ci",
           "paired_comparison", "plan_sweep", "run_sweep", "summarise", "training_evidence"]
