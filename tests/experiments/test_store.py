from __future__ import annotations

import sqlite3

import pytest

from gelulab.experiments.store import APPLICATION_ID, SCHEMA_VERSION, RunRecord, RunStore, StoreError


def _record(seed: int = 0, activation: str = "gelu", config_hash: str = "c1", value: float = 1.5) -> RunRecord:
    return RunRecord(config_hash=f"{config_hash}-{activation}", experiment_hash=config_hash, seed=seed, task="lm",
                     activation=activation, config={"task": "lm", "activation": activation},
                     metrics={"val_loss": value}, n_params=123,
                     curves={"val_loss": [(10, 2.0), (20, value)], "train_loss": [(10, 2.5)]},
                     versions={"torch": "x"}, wall_seconds=0.5)


def test_round_trip_of_a_run_with_its_curves(store_path):
    with RunStore(store_path) as store:
        assert store.add(_record())
    with RunStore(store_path, readonly=True) as store:
        (run,) = store.runs(with_curves=True)
    assert run.metrics == {"val_loss": 1.5} and run.n_params == 123 and run.seed == 0
    assert run.curves == {"train_loss": [(10, 2.5)], "val_loss": [(10, 2.0), (20, 1.5)]}
    assert run.versions == {"torch": "x"}


def test_same_config_and_seed_is_stored_once(store_path):
    with RunStore(store_path) as store:
        assert store.add(_record(value=1.0))
        assert not store.add(_record(value=9.0))
        assert store.add(_record(seed=1))
        assert store.count() == 2
        assert store.runs()[0].metrics["val_loss"] == 1.0  # the first result is kept, not overwritten


def test_file_is_wal_with_schema_version_and_application_id(store_path):
    RunStore(store_path).close()
    con = sqlite3.connect(store_path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert con.execute("SELECT version FROM gelulab_schema").fetchall() == [(SCHEMA_VERSION,)]


def test_a_failed_write_leaves_nothing_of_the_run(store_path):
    bad = _record()
    bad.curves = {"val_loss": [(1, "not a number")]}  # fails inside the transaction, after the run row
    with RunStore(store_path) as store:
        with pytest.raises(ValueError):
            store.add(bad)
        assert store.count() == 0
        assert store.add(_record())  # and the store is still usable


def test_corrupt_file_is_refused_and_left_untouched(store_path):
    store_path.parent.mkdir(parents=True)
    junk = b"this is not sqlite at all\x00" * 200
    store_path.write_bytes(junk)
    with pytest.raises(StoreError, match="not a gelulab results store.*left untouched"):
        RunStore(store_path)
    assert store_path.read_bytes() == junk


def test_foreign_sqlite_database_is_refused_and_left_untouched(store_path):
    store_path.parent.mkdir(parents=True)
    con = sqlite3.connect(store_path)
    con.execute("CREATE TABLE invoices (id INTEGER, amount REAL)")
    con.execute("INSERT INTO invoices VALUES (1, 9.5)")
    con.commit()
    con.close()
    before = store_path.read_bytes()
    with pytest.raises(StoreError, match="another application.*invoices"):
        RunStore(store_path)
    assert store_path.read_bytes() == before


def test_store_from_a_newer_schema_is_refused(store_path):
    RunStore(store_path).close()
    con = sqlite3.connect(store_path)
    con.execute("UPDATE gelulab_schema SET version = ?", (SCHEMA_VERSION + 1,))
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="newer"):
        RunStore(store_path)


def test_readonly_open_of_a_missing_store_says_what_to_run(tmp_path):
    with pytest.raises(StoreError, match="gelulab sweep"):
        RunStore(tmp_path / "none.sqlite", readonly=True)
    assert not (tmp_path / "none.sqlite").exists()
