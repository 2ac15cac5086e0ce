"""Accuracy harness: ulp errors of any activation implementation against the correctly rounded result.

    from gelulab.accuracy import ScanSpec, run_scan
    result = run_scan(ScanSpec.exhaustive("gelu", 0, "bfloat16", ["gelulab", "torch"]))
    result.results["torch"].max_ulp

The reference is gelulab's float64 kernel rounded once, escalated to the mpmath oracle where
float64 cannot decide the rounding (:mod:`gelulab.accuracy.oracle`); implementations are named in
:mod:`gelulab.accuracy.implementations`; scans (exhaustive, ranged, strided, multiprocess,
checkpointed) in :mod:`gelulab.accuracy.scan`.
"""

from .formats import DTYPES, DType, dtype_info
from .grading import REGION_LABELS, GradeStats, grade, ulp_errors
from .implementations import (
    IMPLEMENTATIONS,
    Implementation,
    UnknownImplementationError,
    implementation_names,
    resolve_implementation,
)
from .oracle import Reference, correctly_rounded
from .scan import ScanResult, ScanSpec, grade_chunk, run_scan

__all__ = [
    "DTYPES",
    "IMPLEMENTATIONS",
    "REGION_LABELS",
    "DType",
    "GradeStats",
    "Implementation",
    "Reference",
    "ScanResult",
    "ScanSpec",
    "UnknownImplementationError",
    "correctly_rounded",
    "dtype_info",
    "grade",
    "grade_chunk",
    "implementation_names",
    "resolve_implementation",
    "run_scan",
    "ulp_errors",
]
