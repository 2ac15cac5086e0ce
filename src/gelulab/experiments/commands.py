"""What the ``train``, ``sweep`` and ``results`` verbs do, as plain functions (cli.py only parses and prints)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .store import RunRecord, RunStore
from .sweep import SweepSummary, plan_sweep, run_sweep
from .tasks import TASKS, config_hash, execute_run, expand_tasks, make_config


def parse_settings(pairs: Sequence[str] | None) -> dict[str, Any]:
    """``["n_layer=4", "lr=1e-3"]`` -> {"n_layer": "4", "lr": "1e-3"} (typed later by make_config)."""
    out: dict[str, Any] = {}
    for item in pairs or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set expects KEY=VALUE, got {item!r}")
        out[key.strip().replace("-", "_")] = value.strip()
    return out


def train_one(task: str, activation: str, seed: int, overrides: dict[str, Any], store_path: str | os.PathLike,
              threads: int = 1, show_progress: bool = True) -> tuple[RunRecord, bool]:
    """Train one run unless it is stored already; returns (record, newly_trained)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    if task not in TASKS:
        raise ValueError(f"train takes one task: {', '.join(TASKS)} (got {task!r})")
    config = make_config(task, activation, **overrides)
    key = (config_hash(config), seed)
    with RunStore(store_path) as store:
        if key in store.finished_keys():
            stored = next(r for r in store.runs(task=task) if (r.config_hash, r.seed) == key)
            return stored, False
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, disable=not show_progress) as progress:
            bar = progress.add_task(f"train {task} {config['activation']} seed {seed}", total=None)

            def on_step(step: int, total: int) -> None:
                progress.update(bar, completed=step, total=total)

            record = execute_run(config, seed, threads, on_step=on_step)
        store.add(record)
    return record, True


def sweep(tasks: str, activations: Sequence[str], seeds: int, overrides: dict[str, Any],
          store_path: str | os.PathLike, workers: int | None = None, threads: int = 1, use_ray: bool = False,
          address: str | None = None, show_progress: bool = True) -> SweepSummary:
    if seeds < 1:
        raise ValueError(f"--seeds must be at least 1, got {seeds}")
    if (workers is not None and workers < 1) or threads < 1:
        raise ValueError("--workers and --threads must be at least 1")
    if address and not use_ray:
        raise ValueError("--address needs --ray")
    plan = plan_sweep(expand_tasks(tasks), activations, range(seeds), overrides)
    return run_sweep(plan, store_path, workers=workers, threads=threads, use_ray=use_ray, ray_address=address,
                     show_progress=show_progress)


def results(store_path: str | os.PathLike, tasks: str | None = None, baseline: str = "relu",
            plot: str | os.PathLike | None = None) -> tuple[list, Path | None]:
    """Summaries of the stored runs (of ``tasks``) and, if asked, the learning-curve figure."""
    from .stats import summarise

    wanted = expand_tasks(tasks) if tasks else list(TASKS)
    with RunStore(store_path, readonly=True) as store:
        runs = [r for t in wanted for r in store.runs(task=t, with_curves=plot is not None)]
    if not runs:
        raise ValueError(f"no stored runs of {', '.join(wanted)} in {store_path}: run 'gelulab sweep' first")
    figure = None
    if plot is not None:
        from .plots import plot_learning_curves

        figure = plot_learning_curves(runs, plot)
    return summarise(runs, baseline=baseline), figure
