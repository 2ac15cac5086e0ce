"""gelulab accuracy on the command line, and the report's Accuracy section."""

from __future__ import annotations

import json
import re

from gelulab.cli import main
from gelulab.report.section import ReportContext
from gelulab.report.sections_accuracy import build


def test_accuracy_json_lists_every_implementation(capsys, tmp_path):
    out = tmp_path / "scan.json"
    plot = tmp_path / "ulp.png"
    code = main(["accuracy", "--dtype", "float16", "--impl", "gelulab", "numpy", "--out", str(out),
                 "--plot", str(plot), "--json"])
    assert code == 0
    d = json.loads(capsys.readouterr().out)
    rows = {r["impl"]: r for r in d["summary"]}
    assert rows["gelulab"]["finite_not_correctly_rounded"] == 0 and rows["numpy"]["flushed_to_zero"] > 0
    assert d["exhaustive"] and d["inputs_done"] == 65536 and out.exists()
    assert plot.stat().st_size > 10_000 and plot.read_bytes()[:4] == b"\x89PNG"


def test_accuracy_range_and_stride_scan_part_of_float32(capsys):
    code = main(["accuracy", "--dtype", "float32", "--impl", "gelulab", "--range", "-1", "0x1p0", "--stride",
                 "99991", "--derivative", "--no-save", "--json"])
    assert code == 0
    d = json.loads(capsys.readouterr().out)
    assert d["order"] == 1 and not d["exhaustive"] and d["inputs_done"] == d["inputs_total"] > 20_000


def test_accuracy_bad_input_is_one_line_and_exit_2(capsys):
    assert main(["accuracy", "--impl", "tensorflow", "--no-save"]) == 2
    err = capsys.readouterr().err
    assert "unknown implementation" in err and err.count("\n") == 1
    assert main(["accuracy", "--dtype", "float8", "--no-save"]) == 2
    assert main(["accuracy", "--exhaustive", "--stride", "3", "--no-save"]) == 2


def test_report_section_computes_then_reuses_stored_scans(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no results/accuracy of the caller's
    ctx = ReportContext(out_dir=tmp_path / "report", quick=True)
    first = build(ctx)
    assert "| bfloat16 | f | gelulab |" in first.markdown and "| computed |" in first.markdown
    assert all(f.exists() for f in first.figures) and len(first.figures) == 2
    second = build(ctx)
    assert "| computed |" not in second.markdown and "| [1] |" in second.markdown
    assert "[1] stored `accuracy/" in second.markdown
    assert re.search(r"\d+ (s|min) old", second.markdown)
