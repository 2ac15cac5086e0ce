"""Cost model of a 16-lane float32 double-word kernel shape, beside today's float64 core and torch.

Not a kernel: it times the instruction mix a correctly rounded float32 SiLU of this shape needs,
so that a design is measured before it is built. Written as LLVM IR (compiled by llvmlite for
the host CPU; it needs AVX-512), one pass over 16 elements at a time:

* a = min(|x|, 8), an interval index from a (``--intervals`` 16 or 32 of equal width on [0, 8));
* the coefficients of tau(a) = sigma(-a) on that interval fetched by permutes (``vpermps`` from
  one register for 16 intervals, ``vpermt2ps`` from two for 32), not by gathers;
* a degree ``--degree`` polynomial in r = a - c: float32 Horner from the top, the head c0 + c1 r
  in double-word (c0 and c1 with a low part, exact products by FMA);
* sigma(x) = 1 - tau for x >= 0 in double-word, y = x * (hi + lo) with an exact product;
* the rounding decision: the residual against half an ulp of y, within 2^-36 |y| flagged as
  undecided (the flags are accumulated as a real kernel's fallback test would).

The same shape serves GELU (Phi(-a) in place of sigma(-a)). The coefficients are a least-squares
fit, good enough for timing; the printed error shows what accuracy class the shape reaches.

    python benchmarks/float32_shape.py
    python benchmarks/float32_shape.py --intervals 16 --degree 12
"""

from __future__ import annotations

import argparse
import ctypes
import struct

import llvmlite.binding as llvm
import numpy as np
import torch
from kernel_ns import per_element_ns

from gelulab.kernels.cpu import fast, runtime

LANES = 16
TOP = 8.0  # the intervals cover a = |x| in [0, TOP)
N = 1 << 16  # in L2 on both sides; torch's per-call dispatch is a small share


def fit(intervals: int, degree: int) -> tuple[np.ndarray, np.ndarray]:
    """float32 coefficients of tau on each interval (rows: powers of r) and low parts of c0, c1."""
    width = TOP / intervals
    coef = np.zeros((degree + 1, intervals))
    low = np.zeros((2, intervals))
    for i in range(intervals):
        c = (i + 0.5) * width
        r = np.cos(np.linspace(0, np.pi, 4 * degree + 8)) * width / 2
        p = np.polynomial.polynomial.polyfit(r, 1 / (1 + np.exp(c + r)), degree)
        coef[:, i] = p.astype(np.float32)
        low[:, i] = (p[:2] - p[:2].astype(np.float32)).astype(np.float32)
    return coef, low


class Emitter:
    """Straight-line LLVM IR on <16 x float> values."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.n = 0

    def fresh(self) -> str:
        self.n += 1
        return f"%t{self.n}"

    def put(self, expr: str) -> str:
        name = self.fresh()
        self.lines.append(f"  {name} = {expr}")
        return name

    @staticmethod
    def vec(values) -> str:
        bits = (struct.unpack("<Q", struct.pack("<d", float(np.float32(v))))[0] for v in values)
        return "<" + ", ".join(f"float 0x{b:016X}" for b in bits) + ">"

    def splat(self, v: float) -> str:
        return self.vec([v] * LANES)

    def op(self, name: str, a: str, b: str) -> str:
        return self.put(f"{name} <16 x float> {a}, {b}")

    def call(self, fn: str, *args: str) -> str:
        return self.put(f"call <16 x float> @{fn}(" + ", ".join(args) + ")")

    def fma(self, a: str, b: str, c: str) -> str:
        return self.call("llvm.fma.v16f32", *(f"<16 x float> {v}" for v in (a, b, c)))

    def fabs(self, a: str) -> str:
        return self.call("llvm.fabs.v16f32", f"<16 x float> {a}")

    def lookup(self, table: np.ndarray) -> str:
        if table.size == LANES:
            return self.call("llvm.x86.avx512.permvar.sf.512", f"<16 x float> {self.vec(table)}", "<16 x i32> %idx")
        return self.call("llvm.x86.avx512.vpermi2var.ps.512", f"<16 x float> {self.vec(table[:LANES])}",
                         "<16 x i32> %idx", f"<16 x float> {self.vec(table[LANES:])}")


def kernel_ir(coef: np.ndarray, low: np.ndarray) -> str:
    intervals = coef.shape[1]
    degree = coef.shape[0] - 1
    width = TOP / intervals
    e = Emitter()
    e.lines += ["  %px = getelementptr float, ptr %x, i64 %i", "  %v = load <16 x float>, ptr %px, align 4"]
    ax = e.fabs("%v")
    ac = e.call("llvm.minnum.v16f32", f"<16 x float> {ax}", f"<16 x float> {e.splat(TOP - width / 64)}")
    scaled = e.op("fmul", ac, e.splat(1 / width))
    e.lines.append(f"  %idx = fptosi <16 x float> {scaled} to <16 x i32>")
    fi = e.put("sitofp <16 x i32> %idx to <16 x float>")
    r = e.op("fsub", ac, e.fma(fi, e.splat(width), e.splat(width / 2)))
    c = [e.lookup(coef[k]) for k in range(degree + 1)]
    c0_lo, c1_lo = e.lookup(low[0]), e.lookup(low[1])
    q = c[degree]
    for k in range(degree - 1, 1, -1):
        q = e.fma(q, r, c[k])
    tail = e.op("fmul", e.op("fmul", r, r), q)
    p1 = e.op("fmul", c[1], r)
    e1 = e.fma(c1_lo, r, e.fma(c[1], r, e.put(f"fneg <16 x float> {p1}")))
    h = e.op("fadd", c[0], p1)
    h_err = e.op("fsub", e.op("fsub", h, c[0]), p1)
    lo = e.op("fadd", e.op("fadd", c0_lo, e1), e.op("fsub", tail, h_err))
    t_hi = e.op("fadd", h, lo)
    t_lo = e.op("fsub", lo, e.op("fsub", t_hi, h))
    one = e.splat(1.0)
    s_hi = e.op("fsub", one, t_hi)
    s_lo = e.op("fsub", e.op("fsub", e.op("fsub", one, s_hi), t_hi), t_lo)
    pos = e.put(f"fcmp oge <16 x float> %v, {e.splat(0.0)}")
    v_hi = e.put(f"select <16 x i1> {pos}, <16 x float> {s_hi}, <16 x float> {t_hi}")
    v_lo = e.put(f"select <16 x i1> {pos}, <16 x float> {s_lo}, <16 x float> {t_lo}")
    p = e.op("fmul", "%v", v_hi)
    p_lo = e.fma("%v", v_lo, e.fma("%v", v_hi, e.put(f"fneg <16 x float> {p}")))
    y = e.op("fadd", p, p_lo)
    residual = e.op("fadd", e.op("fsub", p, y), p_lo)
    bits = e.put(f"bitcast <16 x float> {y} to <16 x i32>")
    mask = "<" + ", ".join(["i32 2139095040"] * LANES) + ">"
    scale = e.put(f"bitcast <16 x i32> {e.put(f'and <16 x i32> {bits}, {mask}')} to <16 x float>")
    half_ulp = e.op("fmul", scale, e.splat(2.0**-24))
    gap = e.fabs(e.op("fsub", e.fabs(residual), half_ulp))
    hard = e.put(f"fcmp olt <16 x float> {gap}, {e.op('fmul', scale, e.splat(2.0**-36))}")
    flags = e.put(f"zext i16 {e.put(f'bitcast <16 x i1> {hard} to i16')} to i64")
    e.lines += [f"  %acc2 = or i64 %acc, {flags}", "  %py = getelementptr float, ptr %y, i64 %i",
                f"  store <16 x float> {y}, ptr %py, align 4"]
    body = "\n".join(e.lines)
    return f"""
declare <16 x float> @llvm.x86.avx512.vpermi2var.ps.512(<16 x float>, <16 x i32>, <16 x float>)
declare <16 x float> @llvm.x86.avx512.permvar.sf.512(<16 x float>, <16 x i32>)
declare <16 x float> @llvm.fma.v16f32(<16 x float>, <16 x float>, <16 x float>)
declare <16 x float> @llvm.fabs.v16f32(<16 x float>)
declare <16 x float> @llvm.minnum.v16f32(<16 x float>, <16 x float>)
define i64 @kernel(ptr noalias %x, ptr noalias %y, i64 %n) {{
entry:
  br label %loop
loop:
  %i = phi i64 [0, %entry], [%inext, %loop]
  %acc = phi i64 [0, %entry], [%acc2, %loop]
{body}
  %inext = add i64 %i, 16
  %more = icmp slt i64 %inext, %n
  br i1 %more, label %loop, label %exit
exit:
  ret i64 %acc2
}}
"""


def compile_kernel(text: str):
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    module = llvm.parse_assembly(text)
    module.verify()
    machine = llvm.Target.from_default_triple().create_target_machine(
        cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten(), opt=3)
    engine = llvm.create_mcjit_compiler(module, machine)
    engine.finalize_object()
    vector_ops = [ln for ln in machine.emit_assembly(module).splitlines() if ln.startswith("\tv")]
    fn = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)(
        engine.get_function_address("kernel"))
    return fn, engine, len(vector_ops)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intervals", type=int, choices=(16, 32), default=32)
    parser.add_argument("--degree", type=int, default=9)
    parser.add_argument("--loops", type=int, default=1000, help="calls per timed loop")
    args = parser.parse_args()
    if not llvm.get_host_cpu_features().get("avx512f", False):
        raise SystemExit("float32_shape: this CPU has no AVX-512 (the permutes are AVX-512 instructions)")
    torch.set_num_threads(1)
    runtime.set_threads(1)
    coef, low = fit(args.intervals, args.degree)
    fn, _engine, n_ops = compile_kernel(kernel_ir(coef, low))
    xt = torch.randn(N, generator=torch.Generator().manual_seed(0))
    x = xt.numpy()
    y = np.empty_like(x)
    out = torch.empty_like(xt)
    fn(x.ctypes.data, y.ctypes.data, N)
    x64 = np.minimum(np.abs(x.astype(np.float64)), TOP) * np.sign(x)
    exact = x64 / (1 + np.exp(-x64))
    differ = int(np.count_nonzero(y != exact.astype(np.float32)))
    kind = fast.KINDS["silu"]
    timed = {
        "shape model": lambda: fn(x.ctypes.data, y.ctypes.data, N),
        "gelulab SiLU core (today)": lambda: runtime.call(fast._forward_span, kind, x, y),
        "torch SiLU out=": lambda: torch.ops.aten.silu.out(xt, out=out),
        "torch GELU out=": lambda: torch.ops.aten.gelu.out(xt, out=out),
    }
    cells = {label: per_element_ns(call, args.loops, N) for label, call in timed.items()}
    print(f"{args.intervals} intervals, degree {args.degree}: {n_ops} vector instructions per 16 elements, "
          f"y differs from float64's rounding on {differ} of {N:,} inputs")
    print("ns per element, float32, 2^16 standard normal elements, one thread")
    print("| " + " | ".join(cells) + " |\n|" + "---|" * len(cells))
    print("| " + " | ".join(f"{v:.3f}" for v in cells.values()) + " |")


if __name__ == "__main__":
    main()
