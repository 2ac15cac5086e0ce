"""The checked-in list of hard inputs (``hard_cases.json``) and the check that runs it.

Each case names a function, derivative order, dtype and input (as ``float.hex()``), and says why
it is hard: where implementations go wrong (flush to zero, overflow, the derivative's root)
or where rounding is hardest (the exact value within a hair of a midpoint, exact ties near zero).
The check evaluates each case with the mpmath oracle alone and compares it with the harness's
reference (float64 + escalation) and with gelulab's own result; the tests always run it.

File format: ``{"cases": [{"function", "order", "dtype", "x", "note"}, ...]}``. Entries are only
ever added (``merge_cases`` keeps every existing entry).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import reference
from ..functions import get
from .formats import dtype_info
from .oracle import correctly_rounded

HARD_CASES_PATH = Path(__file__).with_name("hard_cases.json")


@dataclass(frozen=True)
class HardCase:
    function: str
    order: int
    dtype: str
    x: float
    note: str

    @property
    def key(self) -> tuple[str, int, str, str]:
        return (self.function, self.order, self.dtype, float(self.x).hex())


def load_hard_cases(path: Path = HARD_CASES_PATH) -> list[HardCase]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return [HardCase(c["function"], int(c["order"]), c["dtype"], float.fromhex(c["x"]), c.get("note", ""))
            for c in data["cases"]]


def merge_cases(new: list[HardCase], path: Path = HARD_CASES_PATH) -> int:
    """Add cases not already listed (by function, order, dtype, x); never drops one. Returns how many were added."""
    data = json.loads(Path(path).read_text(encoding="utf-8")) if Path(path).exists() else {"cases": []}
    have = {(c["function"], int(c["order"]), c["dtype"], float.fromhex(c["x"]).hex()) for c in data["cases"]}
    added = 0
    for c in new:
        if c.key not in have:
            data["cases"].append({"function": c.function, "order": c.order, "dtype": c.dtype,
                                  "x": float(c.x).hex(), "note": c.note})
            have.add(c.key)
            added += 1
    Path(path).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return added


def _same(a: float, b: float) -> bool:
    """Equal values (NaN equals NaN); zeros compare by value, since mpmath has no signed zero."""
    return (a == b) or (a != a and b != b)


def check_case(case: HardCase) -> dict[str, Any]:
    """Oracle, harness reference and gelulab's own value of one case, and whether they agree."""
    dt = dtype_info(case.dtype)
    x = np.array([case.x], dtype=np.float64).astype(dt.numpy)
    xv = float(x.astype(np.float64)[0])
    if xv != case.x:
        raise ValueError(f"hard case {case.x.hex()} is not a {case.dtype} value")
    want = reference.round_to_format(reference.evaluate(case.function, xv, case.order), dt.fmt)
    harness = float(correctly_rounded(case.function, x, case.order, dt).rounded[0])
    own = float(np.asarray(get(case.function).evaluate(x, case.order)).astype(np.float64)[0])
    return {
        "function": case.function, "order": case.order, "dtype": case.dtype, "x": xv.hex(),
        "oracle": want.hex(), "harness": harness.hex(), "gelulab": own.hex(),
        "harness_ok": _same(harness, want), "gelulab_ok": _same(own, want), "note": case.note,
    }


def check_hard_cases(path: Path = HARD_CASES_PATH) -> list[dict[str, Any]]:
    return [check_case(c) for c in load_hard_cases(path)]
