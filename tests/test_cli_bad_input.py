"""Bad values, paths and environment variables: one line naming the option or variable, exit status 2,
before any long work; negative numbers read as numbers; --json is strict JSON."""

from __future__ import annotations

import json
import math
import os
import sqlite3
import subprocess
import sys
import time

import pytest

from gelulab.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def unwritable(tmp_path):
    """A path no one can write, root included: it lies beneath a regular file."""
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    return blocker / "inside"


def test_negative_numbers_are_values_not_options(capsys):
    code, out, err = run(capsys, "eval", "gelu", "-1e-3", "-inf", "-0x1p-3", "--json")
    assert code == 0, err
    xs = [v["x"] for v in json.loads(out)["values"]]
    assert xs == [-1e-3, "-inf", -0.125]


def test_json_output_is_strict_json(capsys):
    code, out, _ = run(capsys, "eval", "gelu", "nan", "inf", "-inf", "--json")
    assert code == 0
    values = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))["values"]
    assert [v["y"] for v in values[:2]] == ["nan", "inf"]
    assert values[2]["y"] == 0 and math.copysign(1, values[2]["y"]) < 0  # gelu(-inf) = -0.0


@pytest.mark.parametrize("argv, words", [
    (["bench", "--threads", "0"], "--threads"),
    (["sweep", "--task", "digits", "--lr", "nan"], "--lr"),
    (["train", "--task", "digits", "--activation", "gelu", "--steps", "0"], "--steps"),
    (["accuracy", "--workers", "0"], "--workers"),
    (["accuracy", "--chunk-size", "0"], "--chunk-size"),
    (["accuracy", "--dtype", "float32", "--stride", "0"], "--stride"),
])
def test_bad_values_name_the_option(capsys, argv, words):
    code, _, err = run(capsys, *argv)
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("argv, option", [
    (["report", "--quick", "--out", "{bad}"], "--out"),
    (["plot", "gelu", "--out", "{bad}.png"], "--out"),
    (["accuracy", "--function", "relu", "--dtype", "bfloat16", "--impl", "gelulab", "--plot", "{bad}.png",
      "--no-save"], "--plot"),
    (["accuracy", "--function", "relu", "--dtype", "bfloat16", "--impl", "gelulab", "--out", "{bad}.json"], "--out"),
    (["bench", "--quick", "--out", "{bad}.json"], "--out"),
])
def test_unwritable_outputs_fail_at_once_naming_the_option(capsys, unwritable, argv, option):
    start = time.perf_counter()
    code, _, err = run(capsys, *[a.replace("{bad}", str(unwritable)) for a in argv])
    assert code == 2 and err.startswith(f"gelulab: error: {option} ") and "cannot write" in err, err
    assert time.perf_counter() - start < 5, "the check must come before the long work"


def test_an_unwritable_store_is_one_line(capsys, unwritable):
    code, _, err = run(capsys, "sweep", "--task", "digits", "--seeds", "1", "--steps", "1", "--store",
                       str(unwritable / "s.sqlite"))
    assert code == 2 and "cannot open or create the results store" in err and "Traceback" not in err


def test_an_empty_file_as_store_says_it_holds_no_runs(capsys, tmp_path):
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    code, _, err = run(capsys, "results", "--store", str(empty))
    assert code == 2 and "holds no runs yet" in err
    assert empty.read_bytes() == b""  # left untouched


def test_a_store_sqlite_cannot_open_for_reading_in_place_is_read_as_immutable(monkeypatch, tmp_path):
    # a WAL store in a folder SQLite may not write (no -shm file can be made): reading still works
    from gelulab.experiments import store as store_module

    path = tmp_path / "runs.sqlite"
    store_module.RunStore(path).close()
    real = sqlite3.connect

    def no_shm(database, *args, **kwargs):
        if "mode=ro" in str(database) and "immutable=1" not in str(database):
            raise sqlite3.OperationalError("unable to open database file")
        return real(database, *args, **kwargs)

    monkeypatch.setattr(store_module.sqlite3, "connect", no_shm)
    with store_module.RunStore(path, readonly=True) as s:
        assert s.count() == 0


@pytest.mark.parametrize("variable", ["GELULAB_THREADS", "GELULAB_POOL_MIB"])
def test_a_bad_environment_variable_is_named(variable):
    code = ("import numpy as np, torch, gelulab.torch as gt; gt.gelu(torch.ones(1 << 22))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, variable: "abc"})
    assert proc.returncode != 0
    assert variable in proc.stderr.strip().splitlines()[-1], proc.stderr[-500:]
