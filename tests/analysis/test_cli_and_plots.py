"""The properties, claims and plot verbs: JSON that parses, exit status 2 on bad input, real image files."""

from __future__ import annotations

import json

import pytest

from gelulab.analysis.plots import plot_functions
from gelulab.cli import main


def _json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_properties_json(capsys):
    rows = _json(capsys, ["properties", "gelu", "relu", "--json"])
    assert [r["name"] for r in rows] == ["gelu", "relu"]
    assert rows[0]["monotonic"] is False and rows[1]["monotonic"] is True
    assert rows[0]["global_minimum"]["x_hex"] == float.hex(rows[0]["global_minimum"]["x"])
    assert rows[1]["derivative_class"] == "discontinuous"


def test_claims_json_for_selected_keys(capsys):
    rows = _json(capsys, ["claims", "property_monotonic", "tanh_close", "--quick", "--json"])
    assert {r["key"]: r["verdict"] for r in rows} == {"property_monotonic": "fails", "tanh_close": "holds"}
    assert all(r["quote"] and r["evidence_function"] for r in rows)


@pytest.mark.parametrize("argv", [["properties", "gleu"], ["plot", "nope"], ["claims", "nope"],
                                  ["plot", "--out", "x.jpg"], ["plot", "--range", "2", "1"]])
def test_bad_input_exits_2(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("gelulab: error:") and err.count("\n") == 1


def test_unknown_activation_names_the_closest(capsys):
    assert main(["properties", "gleu"]) == 2
    assert "gelu" in capsys.readouterr().err


@pytest.mark.parametrize("kind,suffix,magic", [("functions", ".png", b"\x89PNG"), ("minimum", ".svg", b"<?xml"),
                                               ("errors", ".png", b"\x89PNG")])
def test_plot_writes_the_format_of_the_suffix(tmp_path, capsys, kind, suffix, magic):
    out = tmp_path / f"p{suffix}"
    assert main(["plot", "--kind", kind, "--derivative", "--out", str(out)]) == 0
    assert out.read_bytes().startswith(magic)


def test_plot_functions_keeps_its_signature(tmp_path):
    out = plot_functions(["gelu", "relu"], tmp_path / "f.png", derivatives=False, x_range=(-2.0, 2.0), points=101)
    assert out.read_bytes().startswith(b"\x89PNG")
