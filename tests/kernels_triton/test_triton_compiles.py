"""The kernels compile for a real GPU target (sm_90, Hopper) with Triton's bundled ptxas, no GPU needed.

The interpreter tests check the arithmetic; this checks that the same source lowers to PTX and
a cubin (constexpr branches, float64 math, bitcasts, the masked atomics), and that the float64
polynomials stay float64 (no float32 instruction sneaks into the evaluation).
"""

from __future__ import annotations

import os
import re

import pytest

triton = pytest.importorskip("triton", reason="Triton is not installed (the test extra installs it)")

from triton.backends.compiler import GPUTarget  # noqa: E402
from triton.compiler import ASTSource  # noqa: E402

TARGET = GPUTarget("cuda", 90, 32)
_UNARY_SIG = {"x_ptr": "*{t}", "g_ptr": "*{t}", "bias_ptr": "*{t}", "out_ptr": "*{t}", "count_ptr": "*i32",
              "index_ptr": "*i64", "capacity": "i32", "n": "i64", "n_cols": "i64", "bias_cols": "i64",
              "sx0": "i64", "sx1": "i64", "sg0": "i64", "sg1": "i64"}
_GATED_SIG = {"x_ptr": "*{t}", "g_ptr": "*{t}", "out_ptr": "*{t}", "count_ptr": "*i32", "index_ptr": "*i64",
              "capacity": "i32", "n_rows": "i64", "half": "i64", "sx0": "i64", "sx1": "i64", "sg0": "i64", "sg1": "i64"}
_STORAGE = {0: "fp32", 1: "fp16", 2: "i16"}  # bfloat16 travels as int16 bits

CASES = [  # (kernel, activation, format, backward, extra constexprs): one of each kind, every activation once
    ("unary", 0, 0, False, {"HAS_BIAS": False, "STRIDED": False}),
    ("unary", 1, 2, True, {"HAS_BIAS": True, "STRIDED": True}),
    ("unary", 2, 1, True, {"HAS_BIAS": False, "STRIDED": False}),
    ("unary", 4, 0, True, {"HAS_BIAS": False, "STRIDED": True}),
    ("gated", 3, 2, True, {}),
    ("gated", 0, 1, False, {}),
]


@pytest.fixture(scope="module")
def kernels():
    if os.environ.get("TRITON_INTERPRET", "0") not in ("", "0"):
        pytest.skip("TRITON_INTERPRET is set: the kernels are interpreted, not compiled")
    from gelulab.kernels.triton import kernels

    return kernels


@pytest.mark.parametrize(("kind", "act", "fmt", "backward", "extra"), CASES)
def test_kernel_compiles_for_sm90(kernels, kind, act, fmt, backward, extra):
    sig = {k: v.format(t=_STORAGE[fmt]) for k, v in (_UNARY_SIG if kind == "unary" else _GATED_SIG).items()}
    fn = kernels.unary_kernel if kind == "unary" else kernels.gated_kernel
    blocks = {"BLOCK": 1024} if kind == "unary" else {"BLOCK_R": 4, "BLOCK_C": 256}
    constexprs = {"ACT": act, "BACKWARD": backward, "FMT": fmt, **extra, **blocks}
    sig.update(dict.fromkeys(constexprs, "constexpr"))
    compiled = triton.compile(ASTSource(fn=fn, signature=sig, constexprs=constexprs), target=TARGET,
                              options={"num_warps": 4, "enable_fp_fusion": True})
    ptx = compiled.asm["ptx"]
    assert compiled.asm["cubin"], "no cubin"
    if act != 4:  # the smooth activations evaluate in float64: fused multiply-adds in double
        assert len(re.findall(r"fma\.rn\.f64", ptx)) >= 20
        assert not re.search(r"fma\.rn\.f32|ex2\.approx", ptx), "float32 arithmetic in the float64 evaluation"
    assert "atom.global" in ptx or "atom.relaxed" in ptx or "atom." in ptx  # the hard-element list
