"""Count where the fast float32 CPU kernels differ from gelulab's NumPy reference.

The reference (``get(name).evaluate(x, order)``) is correctly rounded; the kernels must match
it bit for bit. Inputs: N random float32 in five contiguous runs (standard normal and uniform
over [-3.5, 3.5], whose blocks take the kernels' core form; normal * 4 and uniform over
[-20, 20], mostly the erfc form; uniformly random bit patterns, which cover every exponent), plus
special values (signed zeros, subnormals, infinities, NaN, the float32 extremes) and dense grids
around each derivative root.

    python benchmarks/check_cpu_rounding.py --log2-n 24 --json rounding.json
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from gelulab.functions import get
from gelulab.kernels.cpu import fast


def samples(log2_n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = 1 << log2_n
    fifth = n // 5
    parts = [
        rng.standard_normal(fifth).astype(np.float32),
        rng.uniform(-3.5, 3.5, fifth).astype(np.float32),
        (rng.standard_normal(fifth) * 4).astype(np.float32),
        rng.uniform(-20, 20, fifth).astype(np.float32),
        rng.integers(0, 2**32, n - 4 * fifth, dtype=np.uint64).astype(np.uint32).view(np.float32),
    ]
    f32 = np.finfo(np.float32)
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, f32.max, -f32.max, f32.tiny, -f32.tiny,
                        f32.smallest_subnormal, -f32.smallest_subnormal, 3 * f32.smallest_subnormal,
                        -3 * f32.smallest_subnormal, 1.0, -1.0], dtype=np.float32)
    grids = [np.linspace(r - 0.01, r + 0.01, 20001, dtype=np.float32) for r in (-0.7518, -1.2785, -0.7516, -2.3994)]
    return np.concatenate([*parts, special, *grids])


def same_bits(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a.view(np.uint32) == b.view(np.uint32)) | (np.isnan(a) & np.isnan(b))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log2-n", type=int, default=22, help="random samples: 2**N (default 22)")
    parser.add_argument("--json", help="also write the counts to this file")
    args = parser.parse_args()
    x = samples(args.log2_n)
    rows = []
    for name in fast.FAST_NAMES:
        for order in (0, 1):
            start = time.perf_counter()
            got = fast.forward(name, x) if order == 0 else fast.derivative_times(name, np.ones_like(x), x)
            ref = np.asarray(get(name).evaluate(x, order))
            bad = ~same_bits(got, ref)
            rows.append({"activation": name, "order": order, "inputs": int(x.size), "mismatches": int(bad.sum()),
                         "examples": [float(v) for v in x[bad][:5]], "seconds": round(time.perf_counter() - start, 1)})
            print(f"{name:10s} {'f' if order == 0 else 'df':3s} inputs {x.size}  mismatches {int(bad.sum())}"
                  + (f"  e.g. x = {rows[-1]['examples']}" if bad.any() else ""))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=2)


if __name__ == "__main__":
    main()
