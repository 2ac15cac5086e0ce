"""The training tasks, their run configurations, and ``execute_run`` (what a worker calls).

A run is (config, seed). ``config`` is a flat JSON-able dict: the task, the activation and every
hyperparameter with the task's defaults filled in, plus the task's code version. Its SHA-256 (seed
excluded) is the run's ``config_hash``; the same hash with the activation removed is the
``experiment_hash``, which groups the runs that may be compared in pairs (same seeds, same data order).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .activations import IMPLS, canonical_activation, is_gated
from .lm_task import LM_DEFAULTS, prepare_lm, run_lm
from .outcome import RunOutcome
from .store import RunRecord
from .vision_task import DIGITS_DEFAULTS, MNIST1D_DEFAULTS, MODELS, prepare_vision, run_vision


@dataclass(frozen=True)
class TaskSpec:
    name: str
    description: str
    defaults: dict[str, Any]
    runner: Callable[..., RunOutcome]
    prepare: Callable[[dict[str, Any]], object]  # loads (and caches) the data, outside the timed run
    metric: str  # the primary metric compared across activations
    higher_is_better: bool
    version: int  # bump when the training code changes results: old runs then no longer match


TASKS: dict[str, TaskSpec] = {
    "lm": TaskSpec("lm", "character-level transformer LM on CPython's documentation text", LM_DEFAULTS,
                   run_lm, prepare_lm, "val_loss", False, 1),
    "digits": TaskSpec("digits", "small CNN on scikit-learn's 8x8 digits", DIGITS_DEFAULTS,
                       run_vision, prepare_vision, "test_acc", True, 1),
    "mnist1d": TaskSpec("mnist1d", "MLP or CNN on MNIST-1D (generated locally)", MNIST1D_DEFAULTS,
                        run_vision, prepare_vision, "test_acc", True, 1),
}
#: Task groups accepted wherever a task name is.
TASK_GROUPS: dict[str, tuple[str, ...]] = {"vision": ("digits", "mnist1d")}

#: Metrics reported per task (primary first); the second is a loss in nats;
#: grad_flow_log_ratio is the mean over steps of ln(|grad first layer| / |grad last layer|).
METRICS: dict[str, tuple[str, ...]] = {"lm": ("val_loss", "train_loss", "grad_flow_log_ratio"),
                                      "digits": ("test_acc", "test_loss", "grad_flow_log_ratio"),
                                      "mnist1d": ("test_acc", "test_loss", "grad_flow_log_ratio")}
LOWER_IS_BETTER = {"val_loss", "train_loss", "test_loss", "val_bits_per_char"}


def expand_tasks(text: str) -> list[str]:
    """'lm,vision' -> ['lm', 'digits', 'mnist1d']; unknown names raise ValueError."""
    out: list[str] = []
    for name in text.replace(",", " ").split():
        key = name.strip().lower()
        members = TASK_GROUPS.get(key, (key,))
        for m in members:
            if m not in TASKS:
                known = ", ".join([*TASKS, *TASK_GROUPS])
                raise ValueError(f"unknown task {name!r}; known tasks: {known}")
            if m not in out:
                out.append(m)
    if not out:
        raise ValueError("no task given")
    return out


def make_config(task: str, activation: str, **overrides: Any) -> dict[str, Any]:
    """The full run config: task defaults, then ``overrides`` (None values ignored); validated."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; known tasks: {', '.join(TASKS)}")
    spec = TASKS[task]
    activation = canonical_activation(activation)
    if task != "lm" and is_gated(activation):
        raise ValueError(f"gated unit {activation!r} needs a transformer FFN: use it with --task lm")
    unknown = sorted(k for k, v in overrides.items() if v is not None and k not in spec.defaults)
    if unknown:
        raise ValueError(f"task {task!r} has no setting {', '.join(unknown)}; "
                         f"its settings: {', '.join(sorted(spec.defaults))}")
    config = {**spec.defaults, **{k: v for k, v in overrides.items() if v is not None}}
    for key, default in spec.defaults.items():  # keep types (CLI strings, ints given for floats)
        if isinstance(default, bool) or not isinstance(default, int | float):
            continue
        config[key] = type(default)(config[key])
        if config[key] <= 0:
            raise ValueError(f"{key} must be positive, got {config[key]}")
    if config.get("impl") not in IMPLS:
        raise ValueError(f"impl must be one of {', '.join(IMPLS)} (got {config.get('impl')!r})")
    if "model" in config and config["model"] not in MODELS.get(task, (config["model"],)):
        raise ValueError(f"{task} models are {', '.join(MODELS[task])} (got {config['model']!r})")
    config.update(task=task, activation=activation, task_version=spec.version)
    return config


def _digest(obj: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def config_hash(config: dict[str, Any]) -> str:
    return _digest(config)


def experiment_hash(config: dict[str, Any]) -> str:
    return _digest({k: v for k, v in config.items() if k != "activation"})


def experiment_label(config: dict[str, Any]) -> str:
    """Short human name of an experiment: the task, and its model where the task has several."""
    return f"{config['task']}/{config['model']}" if config["task"] == "mnist1d" else config["task"]


def library_versions() -> dict[str, str]:
    import numpy
    import torch

    from .. import __version__

    return {"gelulab": __version__, "python": platform.python_version(), "torch": torch.__version__,
            "numpy": numpy.__version__, "platform": platform.platform()}


def version_note(runs: list) -> str:
    """'' when every run was written by this gelulab; else a clause flagging those written by another version."""
    from .. import __version__

    other: dict[str, int] = {}
    for r in runs:
        v = (r.versions or {}).get("gelulab", "unknown")
        if v != __version__:
            other[v] = other.get(v, 0) + 1
    if not other:
        return ""
    return ("; flagged: " + ", ".join(f"{n} written by gelulab {v}" for v, n in sorted(other.items()))
            + f" (this is {__version__}; train into a new --store to recompute them)")


def execute_run(config: dict[str, Any], seed: int, threads: int = 1,
                on_step: Callable[[int, int], None] | None = None) -> RunRecord:
    """Train one (config, seed) and return its record (not yet stored). Runs in any process."""
    import torch

    torch.set_num_threads(max(1, threads))
    spec = TASKS[config["task"]]
    spec.prepare(config)
    # The first optimizer built in a process imports torch._dynamo (seconds): keep that out of the timing.
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    start = time.perf_counter()  # wall time of the training itself, data generation excluded
    outcome = spec.runner(config, seed, on_step=on_step)
    wall = time.perf_counter() - start
    return RunRecord(config_hash=config_hash(config), experiment_hash=experiment_hash(config), seed=seed,
                     task=config["task"], activation=config["activation"], config=config,
                     metrics=outcome.metrics, n_params=outcome.n_params, curves=outcome.curves,
                     extra={**outcome.extra, "threads": threads, "pid": os.getpid()}, versions=library_versions(),
                     wall_seconds=wall)
