"""Accuracy of gelulab's own functions on the shared sampler, against the mpmath oracle.

``python -m gelulab.accuracy.sampled`` prints, for every activation, dtype and derivative order,
the worst error in ulps, where it occurs and the fraction of correctly rounded results. float64
errors count only where the correctly rounded result is a normal number (subnormal results
carry fewer significant bits by definition).
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict, dataclass, field

import numpy as np

from .. import reference
from ..functions import get, names
from .sampler import sample_inputs

DTYPES = ("float64", "float32", "float16")


@dataclass
class SampledAccuracy:
    function: str
    order: int
    dtype: str
    inputs: int
    correctly_rounded: int
    worst_ulp: float
    worst_x: str
    mismatches: list[dict] = field(default_factory=list)

    @property
    def fraction_correct(self) -> float:
        return self.correctly_rounded / self.inputs if self.inputs else 1.0


def _same(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b


def measure(name: str, dtype: str, order: int, xs: np.ndarray | None = None, dps: int = reference.DEFAULT_DPS,
            keep: int = 20) -> SampledAccuracy:
    spec = get(name)
    np_dtype = np.dtype(dtype)
    if xs is None:
        xs = sample_inputs(np_dtype, spec.name)
    xs = np.asarray(xs, dtype=np_dtype)
    got = np.asarray(spec.evaluate(xs, order)).astype(np.float64)
    fmt = reference.float_format(dtype)
    tiny = float(np.finfo(np_dtype).smallest_normal)
    correct, worst, worst_x, bad = 0, 0.0, "", []
    for x, y in zip(xs.astype(np.float64), got, strict=True):
        exact = reference.evaluate(spec.name, float(x), order, dps)
        want = reference.round_to_format(exact, fmt)
        if _same(float(y), want):
            correct += 1
            continue
        err = reference.ulp_error(float(y), exact, fmt)
        if dtype == "float64" and abs(want) < tiny:
            continue  # subnormal results: not held to the ulp bound
        bad.append({"x": float(x).hex(), "got": float(y).hex(), "want": want.hex(), "ulp": err})
        if err > worst:
            worst, worst_x = err, float(x).hex()
    bad.sort(key=lambda r: -r["ulp"])
    return SampledAccuracy(spec.name, order, dtype, len(xs), correct, worst, worst_x, bad[:keep])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=None, help="activations (default: all)")
    parser.add_argument("--dtype", action="append", choices=DTYPES, help="repeatable (default: all)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = []
    for name in args.names or names():
        for dtype in args.dtype or DTYPES:
            for order in (0, 1, 2):
                r = measure(name, dtype, order)
                rows.append(r)
                if not args.json:
                    print(f"{r.function:11s} {dtype:8s} f{chr(39) * order:3s} worst {r.worst_ulp:8.3f} ulp "
                          f"at {r.worst_x or '-':24s} correctly rounded {r.correctly_rounded}/{r.inputs}",
                          flush=True)
    if args.json:
        print(json.dumps([asdict(r) | {"fraction_correct": r.fraction_correct} for r in rows], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
