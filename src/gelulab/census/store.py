"""Run the census once per library version and keep it: ``results/census/transformers-<v>[_timm-<v>].json``.

Building every model on the meta device takes about a minute of CPU; the result depends only on the
installed transformers (and timm), so it is stored under their versions and reused until they
change. The file is written to a temporary name and renamed into place: an interrupted run leaves
the previous file whole. A stored file that does not parse, or that another gelulab wrote in an
older layout, is recomputed, not trusted.

Work is spread over worker processes (spawned, not forked: torch's thread pools do not survive a
fork); a worker that dies takes only its own model types with it, which are then retried one by one.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path

from . import timm_models, transformers_models

#: Bumped when a record's layout or the way it is derived changes: older files are then recomputed.
SCHEMA = 1
DEFAULT_DIR = Path("results") / "census"

# In-process below this many model types: spawning workers costs more than it saves.
_IN_PROCESS_BELOW = 24


class CensusError(Exception):
    """The census cannot run here (transformers is not installed, an unknown model type was asked for)."""


def census_dir() -> Path:
    """Where stored censuses live: ``$GELULAB_CENSUS_DIR`` or results/census."""
    return Path(os.environ.get("GELULAB_CENSUS_DIR", DEFAULT_DIR))


@dataclass
class Census:
    """Every record, the versions it was taken with, and how it was taken."""

    records: list[dict]
    meta: dict = field(default_factory=dict)
    path: Path | None = None  # the stored file it was read from or written to
    reused: bool = False  # read from a stored file rather than computed now
    note: str | None = None  # why a stored file was not used

    def as_dict(self) -> dict:
        return {"meta": self.meta, "records": self.records}


def versions() -> dict[str, str | None]:
    """The library versions a census depends on, and why timm is missing when it is."""
    timm_version, timm_missing = timm_models.availability()
    return {"transformers": transformers_models.version(), "timm": timm_version, "timm_missing": timm_missing}


def stored_path(found: dict[str, str | None], folder: Path | None = None) -> Path:
    name = f"transformers-{found['transformers']}"
    if found.get("timm"):
        name += f"_timm-{found['timm']}"
    return (folder or census_dir()) / (re.sub(r"[^A-Za-z0-9._+-]", "_", name) + ".json")


def load(path: Path, expected: dict[str, str | None] | None = None) -> tuple[Census | None, str | None]:
    """(the stored census, None), or (None, why it cannot be used) for a missing, corrupt or stale file."""
    if not path.is_file():
        return None, None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        meta, records = data["meta"], data["records"]
        if not isinstance(records, list) or not all(isinstance(r, dict) and "model_type" in r for r in records):
            raise ValueError("records are not a list of model records")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return None, f"the stored census {path} cannot be read ({type(exc).__name__}: {exc}); recomputed"
    if meta.get("schema") != SCHEMA:
        return None, f"the stored census {path} has layout {meta.get('schema')!r}, not {SCHEMA}; recomputed"
    if expected is not None:
        for key in ("transformers", "timm"):
            if meta.get(key) != expected.get(key):
                return None, (f"the stored census {path} is of {key} {meta.get(key)}, installed is "
                              f"{expected.get(key)}; recomputed")
    return Census(records, meta, path, reused=True), None


def save(census: Census, path: Path) -> Path:
    """Write atomically: a temporary file beside ``path``, then a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(census.as_dict(), indent=1, allow_nan=False), encoding="utf-8")
    os.replace(tmp, path)
    census.path = path
    return path


def load_or_run(refresh: bool = False, folder: Path | None = None, workers: int | None = None,
                progress: bool = False) -> Census:
    """The full census of the installed libraries: the stored one when it matches them, else computed and stored."""
    found = versions()
    if found["transformers"] is None:
        raise CensusError("transformers is not installed: pip install 'transformers>=4.40'")
    path = stored_path(found, folder)
    note = None
    if not refresh:
        census, note = load(path, found)
        if census is not None:
            return census
    census = run(workers=workers, progress=progress)
    census.note = note
    save(census, path)
    return census


def for_report(quick: bool = False) -> Census:
    """The census the report and the claims use: the full one (stored, or computed and stored); with
    ``quick`` the stored one if any, else only the explainer's example models (and CLIP, for
    quick_gelu), which shows the pipeline, not the answer."""
    if not quick:
        return load_or_run(progress=False)
    from .checks import EXAMPLES

    found = versions()
    if found["transformers"] is None:
        raise CensusError("transformers is not installed: pip install 'transformers>=4.40'")
    stored, _ = load(stored_path(found), found)
    if stored is not None:
        return stored
    types = [e.model for e in EXAMPLES if e.source == "transformers"] + ["clip"]
    timm_names = [e.model for e in EXAMPLES if e.source == "timm"]
    return run(types, timm_names, workers=None, progress=False)


def run(model_types: Sequence[str] | None = None, timm_names: Sequence[str] | None = None,
        workers: int | None = None, progress: bool = False) -> Census:
    """Census the given transformers model types and timm models (default: every one of both).

    ``timm_names`` is ignored when timm does not import; ``[]`` leaves timm out.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    found = versions()
    if found["transformers"] is None:
        raise CensusError("transformers is not installed: pip install 'transformers>=4.40'")
    start = time.perf_counter()
    known = transformers_models.model_types()
    chosen = known if model_types is None else list(model_types)
    unknown = [t for t in chosen if t not in known]
    if unknown:
        import difflib

        close = difflib.get_close_matches(unknown[0], known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise CensusError(f"transformers defines no model type {unknown[0]!r}{hint}")
    jobs: list[tuple[str, str]] = [("transformers", t) for t in chosen]
    if found["timm"] is not None:
        timm_all = timm_models.model_names()
        timm_chosen = timm_all if timm_names is None else [n for n in timm_names if n in timm_all]
        jobs += [("timm", n) for n in timm_chosen]
    records = _run_jobs(jobs, workers, progress)
    t_records = [r for r in records if r["source"] == "transformers"]
    transformers_models.assign_modalities(t_records)
    order = {job: i for i, job in enumerate(jobs)}
    records.sort(key=lambda r: order[(r["source"], r["model_type"])])
    meta = {"schema": SCHEMA, **found, "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "seconds": round(time.perf_counter() - start, 1), "complete": model_types is None and timm_names is None,
            "workers": _workers(workers, len(jobs)), "python": sys.version.split()[0], "cpu_count": os.cpu_count()}
    try:
        import torch

        meta["torch"] = torch.__version__
    except ImportError:
        pass
    return Census(records, meta)


def _workers(workers: int | None, n_jobs: int) -> int:
    if n_jobs < _IN_PROCESS_BELOW and workers is None:
        return 0
    return max(1, workers if workers is not None else min(os.cpu_count() or 1, 4))


def census_job(job: tuple[str, str]) -> dict:
    """One model type's record (run in a worker process, or in this one)."""
    source, name = job
    if source == "timm":
        return timm_models.census_one(name)
    return transformers_models.census_one(name)


def census_chunk(jobs: list[tuple[str, str]]) -> list[dict]:
    return [census_job(j) for j in jobs]


def _init_worker() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    import torch

    torch.set_num_threads(1)
    try:
        from transformers.utils import logging

        logging.set_verbosity_error()
    except ImportError:
        pass


def _run_jobs(jobs: list[tuple[str, str]], workers: int | None, progress: bool) -> list[dict]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    n_workers = _workers(workers, len(jobs))
    columns = (TextColumn("census"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.description}"))
    with Progress(*columns, console=Console(stderr=True), disable=not progress, transient=True) as bar:
        task = bar.add_task("", total=len(jobs))

        def advance(done: list[dict]) -> None:
            bar.update(task, advance=len(done), description=done[-1]["model_type"] if done else "")

        if n_workers == 0:
            records = []
            with _library_notices_off():
                for job in jobs:
                    records.append(census_job(job))
                    advance(records[-1:])
            return records
        return _pooled(jobs, n_workers, advance)


@contextlib.contextmanager
def _library_notices_off():
    """transformers' warnings about default configs (token ids outside a default vocabulary...) go to
    stderr through its logger; silenced while the census runs in this process, then restored."""
    try:
        from transformers.utils import logging
    except ImportError:
        yield
        return
    before = logging.get_verbosity()
    logging.set_verbosity_error()
    try:
        yield
    finally:
        logging.set_verbosity(before)


def _pooled(jobs: list[tuple[str, str]], n_workers: int, advance: Callable[[list[dict]], None]) -> list[dict]:
    """Chunks of model types over spawned workers. A worker that dies breaks the pool and every job still
    in it; those are retried in a fresh pool one job at a time, up to three rounds in all."""
    size = max(1, min(16, len(jobs) // (n_workers * 8)))
    records: list[dict] = []
    pending = jobs
    for _ in range(3):
        chunks = [pending[i:i + size] for i in range(0, len(pending), size)]
        lost: list[tuple[str, str]] = []
        with ProcessPoolExecutor(n_workers, mp_context=get_context("spawn"), initializer=_init_worker) as pool:
            futures = {pool.submit(census_chunk, c): c for c in chunks}
            for future in as_completed(futures):
                try:
                    done = future.result()
                except BrokenProcessPool:
                    lost += futures[future]
                    continue
                records += done
                advance(done)
        if not lost:
            return records
        pending, size = lost, 1
    crashed = [_crashed(job) for job in pending]
    advance(crashed)
    return records + crashed


def _crashed(job: tuple[str, str]) -> dict:
    from .building import finish_record

    record = {"source": job[0], "model_type": job[1], "config_class": None, "model_class": None, "parameters": None,
              "error": "build: the worker process died while building it", "fields": [], "sub_configs": {},
              "field_modality": "vision" if job[0] == "timm" else None}
    if job[0] == "timm":
        record.update(modality="vision", modality_from="timm: image models", part_of=[], tasks=[])
    return finish_record(record, None, [], time.perf_counter())
