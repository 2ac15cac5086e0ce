"""The command line: list, eval, report; --help everywhere; one-line errors with exit status 2."""

import json
import subprocess
import sys

import pytest

import gelulab as gl
from gelulab.cli import build_parser, main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_json_names_every_activation(capsys):
    code, out, _ = run(capsys, "list", "--json")
    assert code == 0
    assert [r["name"] for r in json.loads(out)] == gl.names()


def test_list_table_prints_names(capsys):
    code, out, _ = run(capsys, "list")
    assert code == 0 and "gelu_tanh" in out and "quick_gelu" in out


def test_eval_json_gives_correctly_rounded_values(capsys):
    code, out, _ = run(capsys, "eval", "gelu_new", "-0.75", "0x1p-1", "--dtype", "float32", "--json",
                       "--derivative", "1")
    data = json.loads(out)
    assert code == 0 and data["activation"] == "gelu_tanh" and data["dtype"] == "float32"
    import numpy as np

    expected = gl.get("gelu_tanh").derivative(np.array([-0.75, 0.5], dtype=np.float32))
    assert [v["y"] for v in data["values"]] == [float(v) for v in expected]


def test_unknown_activation_exits_2_naming_the_closest(capsys):
    code, out, err = run(capsys, "eval", "gleu", "1")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "'gelu'" in err


@pytest.mark.parametrize(("argv", "word"), [(["eval", "gelu", "abc"], "not a number"),
                                            (["eval", "gelu", "1", "--dtype", "int8"], "dtype")])
def test_bad_input_is_one_clear_line(capsys, argv, word):
    code, _, err = run(capsys, *argv)
    assert code == 2 and word in err and "Traceback" not in err and err.count("\n") == 1


def test_every_verb_has_help():
    parser = build_parser()
    verbs = parser._subparsers._group_actions[0].choices  # noqa: SLF001 - argparse keeps them here
    for verb in verbs:
        proc = subprocess.run([sys.executable, "-m", "gelulab.cli", verb, "--help"], capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 0 and "usage:" in proc.stdout, verb


def test_console_script_runs():
    proc = subprocess.run([sys.executable, "-m", "gelulab.cli", "eval", "relu", "-1", "2"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and "relu f(2.0) = 2.0" in proc.stdout
