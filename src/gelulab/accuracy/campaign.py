"""The exhaustive campaign: every registry activation, orders 0, 1 and 2, on every input of a dtype.

Each (function, order, dtype) is one exhaustive scan (:mod:`.scan`) of gelulab's own functions,
with the float64 bound cross-checked on every input against long double (``cross_check``), run
to completion across as many sessions as it takes (``--max-seconds``: each scan's checkpoint is
its result file under ``results/accuracy/``). A completed scan's summary -- inputs, wrong
results, worst ulp, how the reference was decided, the cross-check's worst float64 error, CPU
and wall time, workers, CPU model, date and gelulab version -- is kept in the repository as data
(``campaign.json`` beside this module); the report's Accuracy section and the tests read it, not
rerun it. Inputs a scan finds wrong join the hard-case list.

Where a compiled CPU kernel exists (GELU, GELU-tanh and SiLU: f, and grad * f' with grad = 1), the
same scan grades it too (implementation ``gelulab-cpu``): the reference is computed once and each
implementation gets its own row. A scan recorded before the kernels were graded is rerun for the
kernel alone.

    python -m gelulab.accuracy.campaign run --dtype float16 bfloat16
    python -m gelulab.accuracy.campaign run --dtype float32 --max-seconds 3600
    python -m gelulab.accuracy.campaign run --dtype float32 --address HEAD:6379   # on a Ray cluster
    python -m gelulab.accuracy.campaign run --dtype float32 --results-dir campaign   # resumable in git
    python -m gelulab.accuracy.campaign show
"""

from __future__ import annotations

import argparse
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..functions import get, names
from .hard_cases import HardCase, merge_cases
from .scan import DEFAULT_RESULTS_DIR, KERNEL_IMPL, ScanResult, ScanSpec, cpu_model, run_scan

CAMPAIGN_PATH = Path(__file__).with_name("campaign.json")
CAMPAIGN_FORMAT = "gelulab-accuracy-campaign/1"
IMPL = "gelulab"
KERNEL_ORDERS = (0, 1)
ORDERS = (0, 1, 2)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gelulab")
    except PackageNotFoundError:
        return "unknown"


def load(path: Path = CAMPAIGN_PATH) -> dict[str, Any]:
    if not Path(path).exists():
        return {"format": CAMPAIGN_FORMAT, "scans": []}
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if data.get("format") != CAMPAIGN_FORMAT:
        raise ValueError(f"{path} is not a gelulab campaign file (format {data.get('format')!r})")
    return data


def implementations(function: str, order: int, dtype: str) -> tuple[str, ...]:
    """What a scan of (function, order, dtype) grades: gelulab's functions, and the compiled CPU kernel
    where one exists for that function, order and dtype."""
    if order not in KERNEL_ORDERS:
        return (IMPL,)
    from ..kernels.cpu import has_fast_kernel
    from .formats import dtype_info

    return (IMPL, KERNEL_IMPL) if has_fast_kernel(function, dtype_info(dtype).numpy) else (IMPL,)


def scan_spec(function: str, order: int, dtype: str, impls: tuple[str, ...] | None = None) -> ScanSpec:
    return ScanSpec.exhaustive(function, order, dtype, impls or implementations(function, order, dtype),
                               cross_check=True)


def summarize(result: ScanResult, impl: str = IMPL) -> dict[str, Any]:
    """The campaign row of one implementation in a completed scan."""
    s = result.results[impl]
    ref = result.reference
    return {
        "function": result.spec.function, "order": result.spec.order, "dtype": result.spec.dtype,
        "implementation": impl, "inputs": s.count, "finite_inputs": s.finite_count, "wrong": s.count - s.correct,
        "finite_wrong": s.finite_wrong, "worst_ulp": s.max_ulp, "worst_x": s.worst_x,
        "signed_zero_mismatch": s.signed_zero_mismatch,
        "reference": {"long_double": ref.long_double, "tie_resolved": ref.tie_resolved, "oracle": ref.escalated,
                      "cross_checked": ref.cross_checked, "bound_violations": ref.bound_violations,
                      "cross_worst_float64_ulps": ref.cross_worst_float64_ulps},
        "wrong_examples": [e[0] for e in s.examples],
        "cpu_seconds": round(result.cpu_seconds, 1), "wall_seconds": round(result.wall_seconds, 1),
        "workers": result.workers, "cpu_model": _machines(result), "cores": os.cpu_count(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d"), "gelulab_version": _version(),
        **({"kernel_bounds": result.kernel_bounds.to_dict()} if impl == KERNEL_IMPL and result.kernel_bounds else {}),
    }


def _machines(result: ScanResult) -> str:
    """The CPU model that ran the scan; a scan resumed across machines names each, most time first."""
    if not result.machines:
        return cpu_model()
    return " + ".join(m for m, _ in sorted(result.machines.items(), key=lambda kv: -kv[1]))


def record(row: dict[str, Any], path: Path = CAMPAIGN_PATH) -> None:
    """Put one scan's row into the campaign file (replacing an older row of the same scan), atomically."""
    data = load(path)
    key = (row["function"], row["order"], row["dtype"], row["implementation"])
    rows = [r for r in data["scans"] if (r["function"], r["order"], r["dtype"], r["implementation"]) != key]
    rows.append(row)
    rows.sort(key=lambda r: (r["dtype"], r["function"], r["order"]))
    data["scans"] = rows
    tmp = Path(path).with_name(Path(path).name + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def completed(path: Path = CAMPAIGN_PATH, implementation: str = IMPL) -> dict[tuple[str, int, str], dict[str, Any]]:
    """The recorded rows of one implementation, by (function, order, dtype)."""
    return {(r["function"], r["order"], r["dtype"]): r for r in load(path)["scans"]
            if r["implementation"] == implementation}


def run_campaign(dtypes: list[str], functions: list[str] | None = None, orders: tuple[int, ...] = ORDERS,
                 max_seconds: float | None = None, workers: int | None = None, path: Path = CAMPAIGN_PATH,
                 results_dir: Path = DEFAULT_RESULTS_DIR, progress: bool = True, use_ray: bool = False,
                 ray_address: str | None = None) -> list[dict[str, Any]]:
    """Run (or resume) every scan not yet in the campaign file; returns the rows recorded now."""
    import time

    start = time.perf_counter()
    recorded = []
    for dtype in dtypes:
        for function in functions or names():
            function = get(function).name
            for order in orders:
                todo = tuple(i for i in implementations(function, order, dtype)
                             if (function, order, dtype) not in completed(path, i))
                if not todo:
                    continue
                left = None if max_seconds is None else max_seconds - (time.perf_counter() - start)
                if left is not None and left <= 0:
                    return recorded
                spec = scan_spec(function, order, dtype, todo)
                result = run_scan(spec, path=spec.default_path(results_dir), workers=workers, progress=progress,
                                  max_seconds=left, use_ray=use_ray, ray_address=ray_address)
                if not result.complete:
                    return recorded
                for impl in todo:
                    row = summarize(result, impl)
                    record(row, path)
                    recorded.append(row)
                    note = f"found wrong in {impl} by the exhaustive campaign"
                    wrong = [HardCase(function, order, dtype, float.fromhex(x), note) for x in row["wrong_examples"]]
                    if wrong:
                        merge_cases(wrong)
    return recorded


def _format_row(r: dict[str, Any]) -> str:
    ref = r["reference"]
    return (f"{r['implementation']:12s} {r['function']:12s} d{r['order']} {r['dtype']:9s} "
            f"{r['finite_inputs']:>13,} finite  "
            f"{r['finite_wrong']:>5} wrong  worst {r['worst_ulp']:.3f} ulp  oracle {ref['oracle']:>7,}  "
            f"cross-check worst {ref['cross_worst_float64_ulps']:.2f} ulp64  {r['wall_seconds']:>8.0f} s  "
            f"{r['cpu_model']} ({r['workers']} workers) {r['date']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("run", help="run or resume the scans not yet recorded")
    p.add_argument("--dtype", nargs="+", default=["float16", "bfloat16", "float32"])
    p.add_argument("--function", nargs="+", help="functions (default: every registered one)")
    p.add_argument("--order", nargs="+", type=int, default=list(ORDERS), choices=ORDERS)
    p.add_argument("--max-seconds", type=float, help="stop after about this long (each scan resumes later)")
    p.add_argument("--workers", type=int, help="processes (default: every core)")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--ray", action="store_true", help="run each scan's chunks as Ray tasks")
    p.add_argument("--address", help="Ray cluster address (implies --ray)")
    p.add_argument("--results-dir", type=Path, default=DEFAULT_RESULTS_DIR,
                   help="where each scan keeps its checkpoint (default: results/accuracy); the repository's "
                        "campaign/ folder carries partial scans from one machine to the next")
    sub.add_parser("show", help="print the recorded scans")
    args = parser.parse_args(argv)
    if args.cmd == "run":
        rows = run_campaign(args.dtype, args.function, tuple(args.order), args.max_seconds, args.workers,
                            results_dir=args.results_dir, progress=not args.no_progress,
                            use_ray=args.ray or bool(args.address), ray_address=args.address)
        for r in rows:
            print(_format_row(r))
        return 0
    for r in load()["scans"]:
        print(_format_row(r))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
