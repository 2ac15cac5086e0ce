"""The CPU bench: ratios computed against the same run's copy, JSON round trip, table, plot, CLI, report."""

from __future__ import annotations

import json
import math
import re
import statistics

import pytest

from gelulab.bench import cpu
from gelulab.cli import main


@pytest.fixture(scope="module")
def tiny_result() -> cpu.BenchResult:
    config = cpu.BenchConfig(activations=("gelu", "silu"), sizes=(1 << 10, 1 << 12), threads=(1,), repeats=2,
                             compile=False, memory_size=1 << 16, memory_fresh_processes=False, settle_s=0.2)
    return cpu.run(config, progress=False)


def test_the_run_settles_before_its_first_sample(tiny_result):
    assert tiny_result.meta["settle_rounds"] >= 1
    assert tiny_result.meta["config"]["settle_s"] == 0.2


def test_settle_calls_every_function_round_robin_until_its_time_is_up():
    calls: list[str] = []
    rounds = cpu.settle([lambda: calls.append("a"), lambda: calls.append("b")], 0.05)
    assert rounds >= 1 and calls == ["a", "b"] * rounds
    assert cpu.settle([lambda: calls.append("c")], 0.0) == 0 and "c" not in calls


def test_every_case_is_timed_with_ratios_to_the_same_runs_copy_and_torch(tiny_result):
    rows = tiny_result.rows
    keys = {(r.activation, r.form, r.impl, r.size) for r in rows}
    for name in ("gelu", "silu"):
        for form in cpu.FORMS:
            for size in (1 << 10, 1 << 12):
                assert {(name, form, impl, size) for impl in ("copy", "gelulab", "torch")} <= keys
    by_key = {(r.activation, r.form, r.impl, r.size): r for r in rows}
    for r in rows:
        copy = by_key[(r.activation, r.form, "copy", r.size)]
        torch_row = by_key[(r.activation, r.form, "torch", r.size)]
        assert r.seconds > 0 and math.isfinite(r.ratio_copy) and math.isfinite(r.ratio_torch)
        assert copy.ratio_copy == 1.0 and torch_row.ratio_torch == 1.0  # each round against itself
        assert r.ratio_copy > 0 and r.ratio_torch > 0


def test_gated_memory_is_measured_for_both_implementations(tiny_result):
    ops = {(m["op"], m["impl"]) for m in tiny_result.memory}
    assert ops == {(op, impl) for op in cpu.GATED for impl in ("gelulab", "torch")}


def test_gelulab_geglu_peaks_lower_than_eager_torch():
    """Backward saves only the input: eager keeps gelu(a) too, so its peak is higher."""
    ours = cpu._gated_peak_here("geglu", "gelulab", 1 << 21)
    eager = cpu._gated_peak_here("geglu", "torch", 1 << 21)
    if ours["peak_bytes"] is None:
        pytest.skip("no /proc/self/clear_refs here: peak resident memory cannot be measured")
    assert ours["peak_bytes"] < eager["peak_bytes"]


def test_json_round_trip_table_and_plot(tiny_result, tmp_path):
    path = cpu.save(tiny_result, tmp_path / "cpu.json")
    again = cpu.load(path)
    assert again is not None and again.rows == tiny_result.rows and again.meta == json.loads(path.read_text())["meta"]
    table = cpu.markdown_table(again)
    assert table.count("\n") == 1 + 2 * len(cpu.FORMS) * 2  # header, rule, one line per (name, form, size)
    png = cpu.plot(again, tmp_path / "cpu.png")
    assert png.stat().st_size > 10_000
    assert cpu.load(tmp_path / "missing.json") is None


def test_sample_times_prefers_the_faster_function():
    import time

    samples = cpu.sample_times({"slow": lambda: time.sleep(2e-3), "fast": lambda: None}, repeats=3)
    assert all(len(v) == 3 for v in samples.values())
    assert statistics.median(samples["slow"]) > 1e-3 > statistics.median(samples["fast"])


def test_cli_bench_rejects_bad_input_with_one_line(capsys):
    assert main(["bench", "--activations", "mish"]) == 2
    assert "gelu, gelu_tanh, silu" in capsys.readouterr().err
    assert main(["bench", "--log2-sizes", "ten"]) == 2
    assert "--log2-sizes" in capsys.readouterr().err
    assert main(["bench", "--activations", "geluu"]) == 2


def test_cli_bench_json(tmp_path, capsys):
    out = tmp_path / "b.json"
    code = main(["bench", "--activations", "gelu", "--log2-sizes", "10", "--threads", "1", "--repeats", "2",
                 "--no-compile", "--memory-log2-size", "0", "--out", str(out), "--json"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert {r["form"] for r in data["summary"]} == set(cpu.FORMS)
    assert out.is_file() and out.with_suffix(".png").is_file()


def test_report_speed_section_reuses_a_stored_bench(tiny_result, tmp_path, monkeypatch):
    from gelulab.report.section import ReportContext
    from gelulab.report.sections_speed import build

    stored = cpu.save(tiny_result, tmp_path / "stored.json")
    monkeypatch.setenv("GELULAB_BENCH", str(stored))
    section = build(ReportContext(out_dir=tmp_path / "report", quick=True))
    assert "From the stored bench" in section.markdown and re.search(r"\(\d+ (s|min) old", section.markdown)
    for form in ("forward_out", "forward"):
        assert f"| gelu | {form} | 2^10 | 1 |" in section.markdown
    assert str(tiny_result.meta["cpu"]) in section.markdown  # the page names the CPU of the figures
    lead = next(h for h in section.highlights if h.startswith("CPU float32 gelu"))
    assert lead.index("kernel alone (out=)") < lead.index("allocating")
    assert section.figures[0].is_file()
    # the exactness table is measured, and the kernels match the reference
    for dtype in ("float32", "float16", "bfloat16"):
        assert f"| gelu | {dtype} | 0 | 0 |" in section.markdown


def test_paired_ratio_follows_the_rounds_not_the_medians():
    # a machine that slows down by 10x half-way: each round the op takes twice the copy
    copy = [1.0, 1.0, 1.0, 10.0, 10.0]
    op = [2.0, 2.0, 20.0, 20.0, 20.0]
    assert cpu.paired_ratio(op, [1.0, 1.0, 10.0, 10.0, 10.0]) == 2.0
    assert cpu.paired_ratio(op, copy) == 2.0  # rounds 1, 2, 4, 5 give 2; round 3 gives 20
    assert statistics.median(op) / statistics.median(copy) == 20.0  # the ratio of medians is fooled


def test_the_16_bit_bench_times_16_bit_tensors(tmp_path, monkeypatch, capsys):
    import torch

    from gelulab.torch import functional as gtf

    seen = []
    real = gtf.activation
    monkeypatch.setattr(gtf, "activation", lambda x, name, **kw: seen.append(x.dtype) or real(x, name, **kw))
    monkeypatch.chdir(tmp_path)
    assert main(["bench", "--dtype", "bfloat16", "--activations", "silu", "--log2-sizes", "10", "--threads", "1",
                 "--repeats", "1", "--no-compile", "--memory-log2-size", "0"]) == 0
    assert set(seen) == {torch.bfloat16}
    stored = json.loads((tmp_path / "results" / "bench" / "cpu_bfloat16.json").read_text())
    assert stored["meta"]["config"]["dtype"] == "bfloat16"
    assert "dtype bfloat16" in capsys.readouterr().out


def test_input_scale_sets_the_spread_of_the_timed_inputs(tmp_path, monkeypatch, capsys):
    from gelulab.torch import functional as gtf

    spreads = []
    real = gtf.activation

    def spy(x, name, **kw):
        spreads.append(float(x.detach().std()))
        return real(x, name, **kw)

    monkeypatch.setattr(gtf, "activation", spy)
    monkeypatch.chdir(tmp_path)
    assert main(["bench", "--input-scale", "4", "--activations", "gelu", "--log2-sizes", "14", "--threads", "1",
                 "--repeats", "1", "--no-compile", "--memory-log2-size", "0"]) == 0
    assert spreads and all(3.5 < s < 4.5 for s in spreads)
    stored = json.loads((tmp_path / "results" / "bench" / "cpu.json").read_text())
    assert stored["meta"]["config"]["input_scale"] == 4.0
    assert "standard deviation 4" in capsys.readouterr().out
    for bad in ("0", "-1", "nan", "inf"):
        assert main(["bench", "--input-scale", bad, "--quick"]) == 2
        assert "--input-scale must be a positive number" in capsys.readouterr().err


def test_standard_forms_run_pool_off_and_pool_adds_a_form_with_the_same_reuse(tmp_path, monkeypatch, capsys):
    from gelulab.torch import functional as gtf
    from gelulab.torch import pool

    limits = []  # the pool limit at each gelulab call, by form: out= calls pass out
    real = gtf.activation
    monkeypatch.setattr(gtf, "activation", lambda x, name, **kw: limits.append(
        ("out" in kw, pool.stats()["limit_bytes"])) or real(x, name, **kw))
    monkeypatch.chdir(tmp_path)
    before = pool.stats()["limit_bytes"]
    args = ["bench", "--activations", "gelu", "--log2-sizes", "20", "--threads", "1", "--repeats", "1",
            "--no-compile", "--memory-log2-size", "0"]
    assert main(args) == 0  # the default: every allocating op on fresh memory
    assert limits and {limit for _, limit in limits} == {0}
    assert pool.stats()["limit_bytes"] == before
    stored = json.loads((tmp_path / "results" / "bench" / "cpu.json").read_text())
    assert stored["meta"]["config"]["pool"] is False and stored["meta"]["standard_forms_pool_bytes"] == 0
    assert {r["form"] for r in stored["rows"]} == set(cpu.FORMS)
    assert "on fresh memory, as torch's (output pool off)" in capsys.readouterr().out
    limits.clear()
    hits = pool.stats()["hits"]
    assert main([*args, "--pool"]) == 0
    pooled_calls = [limit for has_out, limit in limits if limit != 0]
    assert pooled_calls and not any(has_out for has_out, limit in limits if limit != 0)  # only the allocating form
    assert pool.stats()["hits"] > hits and pool.stats()["limit_bytes"] == before  # 2^20 float32 outputs reused
    stored = json.loads((tmp_path / "results" / "bench" / "cpu.json").read_text())
    assert {r["form"] for r in stored["rows"]} == {*cpu.FORMS, cpu.POOLED_FORM}
    assert "forward_pooled: with the pool" in capsys.readouterr().out


def test_the_pooled_forms_peers_write_into_reused_memory_not_fresh_pages():
    cases = cpu._cases("gelu", 1 << 12, False, {}, pooled=True)
    (form, fns), = cases.items()
    assert form == cpu.POOLED_FORM
    first, second = fns["torch"](), fns["torch"]()
    assert first.data_ptr() == second.data_ptr()  # torch's out= into the one preallocated output
    assert fns["copy"]().data_ptr() == first.data_ptr()


def test_runs_give_each_cell_a_range(capsys, tmp_path):
    config = cpu.BenchConfig(activations=("silu",), sizes=(1 << 10,), threads=(1,), repeats=2, compile=False,
                             memory_size=0, settle_s=0.0, runs=3)
    result = cpu.run(config, progress=False)
    ours = [r for r in result.rows if r.impl == "gelulab"]
    assert ours and all(len(r.runs_torch) == 3 and len(r.runs_copy) == 3 for r in ours)
    assert all(r.ratio_torch == statistics.median(r.runs_torch) for r in ours)
    rows = cpu.summary_rows(result)
    assert all(r["gelulab_x_torch_min"] <= r["gelulab_x_torch"] <= r["gelulab_x_torch_max"] for r in rows)
    assert re.search(r"\| \d+\.\d\d \(\d+\.\d\d–\d+\.\d\d\) \|", cpu.markdown_table(result))
    with pytest.raises(ValueError, match="runs must be at least 1"):
        cpu.run(cpu.BenchConfig(runs=0), progress=False)
    assert main(["bench", "--runs", "0", "--quick"]) == 2
    assert "--runs must be at least 1" in capsys.readouterr().err
