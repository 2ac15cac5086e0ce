"""The checked-in hard cases: the harness reference and gelulab's own results equal the mpmath oracle."""

from __future__ import annotations

import json

import pytest

from gelulab.accuracy.hard_cases import HARD_CASES_PATH, HardCase, check_case, load_hard_cases, merge_cases

CASES = load_hard_cases()


def test_hard_cases_file_has_the_documented_format():
    data = json.loads(HARD_CASES_PATH.read_text())
    assert len(data["cases"]) >= 30
    for c in data["cases"]:
        assert set(c) == {"function", "order", "dtype", "x", "note"}
        float.fromhex(c["x"])
        assert c["note"]


@pytest.mark.parametrize("case", CASES, ids=[f"{c.function}-d{c.order}-{c.dtype}-{c.x.hex()}" for c in CASES])
def test_hard_case_is_correctly_rounded_by_the_harness_and_by_gelulab(case):
    r = check_case(case)
    assert r["harness_ok"], r
    assert r["gelulab_ok"], r


def test_merging_cases_adds_new_ones_and_never_drops_any(tmp_path):
    path = tmp_path / "cases.json"
    path.write_text(HARD_CASES_PATH.read_text())
    before = json.loads(path.read_text())["cases"]
    added = merge_cases([CASES[0], HardCase("gelu", 0, "float16", 1.5, "new")], path)
    after = json.loads(path.read_text())["cases"]
    assert added == 1 and after[: len(before)] == before and after[-1]["note"] == "new"
