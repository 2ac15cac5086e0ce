"""Sweeps: every (config, seed) of a plan, run locally (processes) or as Ray tasks, into one store.

Only the driver writes to the store, one transaction per finished run, as results arrive; a run is
skipped when its (config_hash, seed) is already stored. So a sweep killed at any moment (SIGKILL
included) loses at most the runs in flight, and rerunning the same command resumes it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any

from .store import RunRecord, RunStore
from .tasks import config_hash, execute_run, make_config


class SweepError(RuntimeError):
    """The sweep cannot go on (Ray missing, a worker process died); what is stored stays stored."""


@dataclass(frozen=True)
class PlannedRun:
    config: dict[str, Any]
    seed: int

    @property
    def key(self) -> tuple[str, int]:
        return config_hash(self.config), self.seed

    @property
    def label(self) -> str:
        c = self.config
        model = f"/{c['model']}" if "model" in c and c["task"] == "mnist1d" else ""
        return f"{c['task']}{model} {c['activation']} seed {self.seed}"


@dataclass
class SweepSummary:
    planned: int
    skipped: int
    finished: int
    failed: list[tuple[str, str]] = field(default_factory=list)  # (run label, error)
    seconds: float = 0.0
    backend: str = "local"


def plan_sweep(tasks: Sequence[str], activations: Sequence[str], seeds: Iterable[int],
               overrides: dict[str, Any] | None = None) -> list[PlannedRun]:
    """Every (task, activation, seed), ordered seed-major so partial sweeps stay balanced."""
    seeds = list(seeds)
    configs = [make_config(t, a, **(overrides or {})) for t in tasks for a in activations]
    return [PlannedRun(c, s) for s in seeds for c in configs]


def _local_worker_init(threads: int, parent_pid: int) -> None:
    import threading

    import torch

    torch.set_num_threads(threads)

    # A worker must not outlive its driver (a SIGKILLed sweep would leave orphans training runs whose
    # results nobody stores): exit as soon as the parent is gone.
    def watch_parent() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch_parent, name="gelulab-parent-watch", daemon=True).start()


def _run_planned(config: dict[str, Any], seed: int, threads: int) -> RunRecord:
    return execute_run(config, seed, threads)


def run_sweep(plan: Sequence[PlannedRun], store_path: str | os.PathLike[str], *, workers: int | None = None,
              threads: int = 1, use_ray: bool = False, ray_address: str | None = None,
              show_progress: bool = True, on_record: Callable[[RunRecord], None] | None = None) -> SweepSummary:
    """Run what of ``plan`` is not yet in the store; store each run as it finishes.

    ``workers`` runs go in parallel: processes (default 1), or Ray tasks in flight (default: the
    cluster's CPUs divided by ``threads``); each run uses ``threads`` torch threads. With ``use_ray`` the
    runs are Ray tasks on the cluster at ``ray_address`` (or on a local cluster started for this sweep
    when None); their results come back to this process, which alone writes the store.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    start = time.perf_counter()
    with RunStore(store_path) as store:
        done = store.finished_keys()
        seen: set[tuple[str, int]] = set()
        pending = []
        for run in plan:
            if run.key not in done and run.key not in seen:
                pending.append(run)
                seen.add(run.key)
        summary = SweepSummary(planned=len(plan), skipped=len(plan) - len(pending), finished=0,
                               backend="ray" if use_ray else "local")
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, disable=not show_progress, transient=False) as progress:
            bar = progress.add_task("sweep", total=len(plan), completed=summary.skipped)

            def finish(run: PlannedRun, record: RunRecord | None, error: BaseException | None) -> None:
                if record is not None:
                    store.add(record)
                    summary.finished += 1
                    if on_record is not None:
                        on_record(record)
                else:
                    summary.failed.append((run.label, f"{type(error).__name__}: {error}"))
                progress.update(bar, advance=1, description=f"sweep: {run.label} done")

            if not pending:
                pass  # everything is stored: no worker, no cluster connection
            elif use_ray:
                _sweep_ray(pending, finish, workers, threads, ray_address)
            elif (workers or 1) <= 1:
                for run in pending:
                    progress.update(bar, description=f"sweep: {run.label}")
                    try:
                        record = execute_run(run.config, run.seed, threads)
                    except Exception as exc:  # one diverged run must not lose the others
                        finish(run, None, exc)
                    else:
                        finish(run, record, None)
            else:
                _sweep_processes(pending, finish, workers or 1, threads)
    summary.seconds = time.perf_counter() - start
    return summary


def _sweep_processes(pending: Sequence[PlannedRun], finish: Callable, workers: int, threads: int) -> None:
    # spawn, not fork: the driver may hold torch / OpenMP state that does not survive a fork
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                             initializer=_local_worker_init, initargs=(threads, os.getpid())) as pool:
        futures = {pool.submit(_run_planned, run.config, run.seed, threads): run for run in pending}
        remaining = set(futures)
        while remaining:
            finished, remaining = wait(remaining, return_when=FIRST_COMPLETED)
            for fut in finished:
                error = fut.exception()
                if isinstance(error, BrokenProcessPool):  # the pool itself died: stop, keep what is stored
                    raise SweepError(f"a sweep worker process died ({error}); rerun the command to resume")
                finish(futures[fut], None if error else fut.result(), error)


def _sweep_ray(pending: Sequence[PlannedRun], finish: Callable, workers: int | None, threads: int,
               address: str | None) -> None:
    from ..cluster import ray_session, require_ray

    try:
        require_ray()
    except ImportError as exc:
        raise SweepError(str(exc)) from None
    with ray_session(address, threads) as ray:
        remote = ray.remote(num_cpus=threads, max_retries=0)(_run_planned)
        queue = list(pending)
        in_flight: dict[Any, PlannedRun] = {}
        limit = workers or max(1, int(ray.cluster_resources().get("CPU", 1)) // threads)
        while queue or in_flight:
            while queue and len(in_flight) < limit:
                run = queue.pop(0)
                in_flight[remote.remote(run.config, run.seed, threads)] = run
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            for ref in ready:
                run = in_flight.pop(ref)
                try:
                    record = ray.get(ref)
                except Exception as exc:  # a task's error (RayTaskError wraps the worker's exception)
                    finish(run, None, exc)
                else:
                    finish(run, record, None)
