"""The results store: one SQLite file, one row per finished run plus its learning curves.

Crash safety: the database runs in WAL mode and every finished run is written in ONE transaction
(the run row and all its curve points), so a process killed at any moment leaves either the whole
run or nothing of it. ``UNIQUE(config_hash, seed)`` makes a rerun idempotent: a run that is already
stored is skipped, never duplicated.

Identification: the file carries ``PRAGMA application_id`` = 0x47454C55 ("GELU") and a
``gelulab_schema`` table holding the schema version. A file that is not SQLite, or an SQLite file
with tables of someone else's, raises ``StoreError`` and is left byte-for-byte untouched.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
APPLICATION_ID = 0x47454C55  # "GELU"
#: Default store path, relative to the working directory.
DEFAULT_STORE = Path("results") / "gelulab.sqlite"

_SCHEMA = """
CREATE TABLE gelulab_schema (
    version     INTEGER NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE TABLE runs (
    id              INTEGER PRIMARY KEY,
    config_hash     TEXT NOT NULL,     -- sha256 of the canonical config (activation included, seed not)
    experiment_hash TEXT NOT NULL,     -- the same without the activation: runs that can be paired
    seed            INTEGER NOT NULL,
    task            TEXT NOT NULL,
    activation      TEXT NOT NULL,
    config          TEXT NOT NULL,     -- JSON
    metrics         TEXT NOT NULL,     -- JSON: final metrics
    n_params        INTEGER NOT NULL,
    extra           TEXT NOT NULL,     -- JSON: parameter split, data source, ...
    versions        TEXT NOT NULL,     -- JSON: library versions of the process that trained it
    wall_seconds    REAL NOT NULL,
    host            TEXT NOT NULL,
    finished_at     TEXT NOT NULL,
    UNIQUE (config_hash, seed)
);
CREATE INDEX runs_by_experiment ON runs (task, experiment_hash, activation);
CREATE TABLE curves (
    run_id  INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name    TEXT NOT NULL,
    step    INTEGER NOT NULL,
    value   REAL NOT NULL,
    PRIMARY KEY (run_id, name, step)
) WITHOUT ROWID;
"""


def default_store_path() -> Path:
    """``$GELULAB_STORE`` if set, else ``results/gelulab.sqlite`` relative to the working directory."""
    return Path(os.environ.get("GELULAB_STORE", DEFAULT_STORE))


class StoreError(Exception):
    """The store file cannot be used (corrupt, foreign, or from a newer gelulab); it was not modified."""


@dataclass
class RunRecord:
    """One finished run, as produced by a worker and as read back from the store."""

    config_hash: str
    experiment_hash: str
    seed: int
    task: str
    activation: str
    config: dict[str, Any]
    metrics: dict[str, float]
    n_params: int
    curves: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    wall_seconds: float = 0.0
    host: str = field(default_factory=socket.gethostname)
    finished_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    id: int | None = None


def _read_only(path: Path, timeout: float = 5.0) -> sqlite3.Connection:
    """A read-only connection. A WAL database needs its -shm file, which SQLite cannot create in a
    folder it may not write: there the file is opened as immutable (no writer can exist there)."""
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=timeout)
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return con
    except sqlite3.OperationalError as exc:
        if "unable to open" not in str(exc):
            raise
        return sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, timeout=timeout)


def _inspect(path: Path) -> None:
    """Refuse (without writing a byte) a file that is not an empty or gelulab SQLite database."""
    if not path.exists() or path.stat().st_size == 0:
        return
    try:
        con = _read_only(path)
        try:
            app_id = con.execute("PRAGMA application_id").fetchone()[0]
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            version = None
            if "gelulab_schema" in tables:
                version = con.execute("SELECT max(version) FROM gelulab_schema").fetchone()[0]
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} is not a gelulab results store (not a readable SQLite database: {exc}); "
                         "it was left untouched: pass another --store path") from None
    if not tables and app_id == 0:
        return  # an empty SQLite database: ours to initialise
    if app_id != APPLICATION_ID or version is None:
        raise StoreError(f"{path} is an SQLite database of another application (tables: "
                         f"{', '.join(sorted(tables)) or 'none'}); it was left untouched: pass another --store path")
    if version > SCHEMA_VERSION:
        raise StoreError(f"{path} has results-store schema {version}, newer than this gelulab's "
                         f"{SCHEMA_VERSION}: upgrade gelulab or pass another --store path")


class RunStore:
    """SQLite results store (WAL; one transaction per finished run; unique on config hash + seed).

    Use as a context manager or call ``close()``. Only one process should write at a time (the sweep
    driver); readers may run concurrently thanks to WAL.
    """

    def __init__(self, path: str | os.PathLike[str] = DEFAULT_STORE, readonly: bool = False) -> None:
        self.path = Path(path)
        _inspect(self.path)
        if readonly:
            if not self.path.exists():
                raise StoreError(f"no results store at {self.path}: run 'gelulab sweep' or 'gelulab train' first")
            self._con = _read_only(self.path, timeout=30.0)
            if not self._con.execute(
                    "SELECT 1 FROM sqlite_master WHERE type='table' AND name='gelulab_schema'").fetchone():
                self._con.close()
                raise StoreError(f"{self.path} holds no runs yet (an empty database): run 'gelulab sweep' or "
                                 "'gelulab train' with this --store first")
        else:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._con = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
                self._con.execute("PRAGMA journal_mode=WAL")
            except (OSError, sqlite3.OperationalError) as exc:
                raise StoreError(f"cannot open or create the results store {self.path} ({exc}): pass another "
                                 "--store path") from None
            self._con.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable at checkpoints, never torn
            self._con.execute("PRAGMA foreign_keys=ON")
            self._initialise()
        self._con.row_factory = sqlite3.Row

    def _initialise(self) -> None:
        has_schema = self._con.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='gelulab_schema'").fetchone()
        if has_schema:
            return
        self._con.execute("BEGIN IMMEDIATE")
        try:
            # re-check inside the write lock: another process may have initialised it meanwhile
            if not self._con.execute(
                    "SELECT 1 FROM sqlite_master WHERE type='table' AND name='gelulab_schema'").fetchone():
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self._con.execute(statement)
                self._con.execute("INSERT INTO gelulab_schema VALUES (?, ?)",
                                  (SCHEMA_VERSION, datetime.now(UTC).isoformat(timespec="seconds")))
                self._con.execute(f"PRAGMA application_id={APPLICATION_ID}")
            self._con.execute("COMMIT")
        except BaseException:
            self._con.execute("ROLLBACK")
            raise

    # -- context manager ------------------------------------------------------------------------
    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing --------------------------------------------------------------------------------
    def add(self, record: RunRecord) -> bool:
        """Store one finished run and its curves in one transaction; False if it was already stored."""
        con = self._con
        con.execute("BEGIN IMMEDIATE")
        try:
            cur = con.execute(
                "INSERT INTO runs (config_hash, experiment_hash, seed, task, activation, config, metrics, "
                "n_params, extra, versions, wall_seconds, host, finished_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (config_hash, seed) DO NOTHING",
                (record.config_hash, record.experiment_hash, record.seed, record.task, record.activation,
                 json.dumps(record.config, sort_keys=True), json.dumps(record.metrics, sort_keys=True),
                 record.n_params, json.dumps(record.extra, sort_keys=True),
                 json.dumps(record.versions, sort_keys=True), record.wall_seconds, record.host,
                 record.finished_at))
            inserted = cur.rowcount == 1
            if inserted:
                run_id = cur.lastrowid
                con.executemany("INSERT INTO curves (run_id, name, step, value) VALUES (?, ?, ?, ?)",
                                [(run_id, name, int(step), float(value))
                                 for name, points in record.curves.items() for step, value in points])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return inserted

    # -- reading --------------------------------------------------------------------------------
    def finished_keys(self) -> set[tuple[str, int]]:
        """(config_hash, seed) of every stored run: what a resumed sweep skips."""
        return {(r[0], r[1]) for r in self._con.execute("SELECT config_hash, seed FROM runs")}

    def count(self) -> int:
        return self._con.execute("SELECT count(*) FROM runs").fetchone()[0]

    def runs(self, task: str | None = None, experiment_hash: str | None = None,
             with_curves: bool = False) -> list[RunRecord]:
        """Stored runs (optionally of one task / one experiment), ordered by task, activation, seed."""
        query, args = "SELECT * FROM runs WHERE 1=1", []
        if task is not None:
            query += " AND task = ?"
            args.append(task)
        if experiment_hash is not None:
            query += " AND experiment_hash = ?"
            args.append(experiment_hash)
        query += " ORDER BY task, experiment_hash, activation, seed"
        records = [self._record(row) for row in self._con.execute(query, args)]
        if with_curves:
            for rec in records:
                rec.curves = self.curves(rec.id)
        return records

    def curves(self, run_id: int | None) -> dict[str, list[tuple[int, float]]]:
        out: dict[str, list[tuple[int, float]]] = {}
        for name, step, value in self._con.execute(
                "SELECT name, step, value FROM curves WHERE run_id = ? ORDER BY name, step", (run_id,)):
            out.setdefault(name, []).append((step, value))
        return out

    def __iter__(self) -> Iterator[RunRecord]:
        return iter(self.runs())

    @staticmethod
    def _record(row: sqlite3.Row) -> RunRecord:
        return RunRecord(
            id=row["id"], config_hash=row["config_hash"], experiment_hash=row["experiment_hash"],
            seed=row["seed"], task=row["task"], activation=row["activation"], config=json.loads(row["config"]),
            metrics=json.loads(row["metrics"]), n_params=row["n_params"], extra=json.loads(row["extra"]),
            versions=json.loads(row["versions"]), wall_seconds=row["wall_seconds"], host=row["host"],
            finished_at=row["finished_at"])
