"""The Triton kernels: elementwise f(x) / grad * f'(x) (optionally of x + bias), and gated f(a) * b.

Each program evaluates its elements in float64 (:mod:`.elementwise`), rounds each result once
into the output format, and appends the flat output index of every element whose rounding the
float64 value cannot decide (``is_hard``) to ``index_ptr`` (the slot comes from an atomic
counter in ``count_ptr``; indices past ``capacity`` are counted but not stored). The launcher
then recomputes those few elements on the exact path. Blocks without a hard element (nearly
all of them) touch the counter not at all.

Inputs may be strided: the launcher collapses every tensor to a common 2-D (rows, cols) view
and passes each tensor's two strides; outputs are always contiguous, as the CPU ops' are.
"""

from __future__ import annotations

import triton
import triton.language as tl

from .elementwise import (
    RELU,
    activation,
    derivative,
    is_hard,
    load_float64,
    round_to_format,
    widen,
)

_TINY = tl.constexpr(2.0**-60)


@triton.jit
def _record_hard(hard, flat, count_ptr, index_ptr, capacity):
    """Append the flat indices where ``hard`` is set (one atomic per hard element, none otherwise)."""
    n_hard = tl.sum(hard.to(tl.int32))
    if n_hard > 0:
        slot = tl.atomic_add(count_ptr + tl.zeros_like(flat), 1, mask=hard)
        tl.store(index_ptr + slot, flat, mask=hard & (slot < capacity))


@triton.jit
def unary_kernel(x_ptr, g_ptr, bias_ptr, out_ptr, count_ptr, index_ptr, capacity,
                 n, n_cols, bias_cols, sx0, sx1, sg0, sg1,
                 ACT: tl.constexpr, BACKWARD: tl.constexpr, HAS_BIAS: tl.constexpr,
                 STRIDED: tl.constexpr, FMT: tl.constexpr, BLOCK: tl.constexpr):
    """out = f(s) (forward) or g * f'(s) (backward), s = x or x + bias rounded to the format.

    The output is contiguous with ``n`` elements; with STRIDED, element ``i`` of it is
    x[(i // n_cols) * sx0 + (i % n_cols) * sx1] (and likewise for g); the bias index is
    i % bias_cols.
    """
    pid = tl.program_id(0).to(tl.int64)
    offs = pid * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    if STRIDED:
        row = offs // n_cols
        col = offs - row * n_cols
        x_off = row * sx0 + col * sx1
        g_off = row * sg0 + col * sg1
    else:
        x_off = offs
        g_off = offs
    x = load_float64(x_ptr + x_off, mask, FMT)
    if HAS_BIAS:
        bias = load_float64(bias_ptr + offs % bias_cols, mask, FMT)
        # x + bias as the framework rounds it (the exact sum, rounded once into the format)
        x = widen(round_to_format(x + bias, FMT), FMT)
    if BACKWARD:
        g = load_float64(g_ptr + g_off, mask, FMT)
        d, bound = derivative(x, ACT)
        y = g * d
        bound = tl.abs(g) * bound
    else:
        y, bound = activation(x, ACT)
    tl.store(out_ptr + offs, round_to_format(y, FMT), mask=mask)
    _record_hard(is_hard(y, bound, FMT) & mask, offs, count_ptr, index_ptr, capacity)


@triton.jit
def gated_kernel(x_ptr, g_ptr, out_ptr, count_ptr, index_ptr, capacity,
                 n_rows, half, sx0, sx1, sg0, sg1,
                 ACT: tl.constexpr, BACKWARD: tl.constexpr, FMT: tl.constexpr,
                 BLOCK_R: tl.constexpr, BLOCK_C: tl.constexpr):
    """x = [a | b] of shape (n_rows, 2 half): forward f(a) * b, backward [g b f'(a) | g f(a)].

    Products are formed in float64 (g * b is exact for inputs of at most 26 significand bits)
    and rounded once. Hard elements are recorded by their index into the (n_rows, half) grid.
    """
    pid = tl.program_id(0)
    n_col_blocks = tl.cdiv(half, BLOCK_C)
    pid_r = (pid // n_col_blocks).to(tl.int64)
    pid_c = (pid % n_col_blocks).to(tl.int64)
    rows = pid_r * BLOCK_R + tl.arange(0, BLOCK_R)[:, None]
    cols = pid_c * BLOCK_C + tl.arange(0, BLOCK_C)[None, :]
    mask = (rows < n_rows) & (cols < half)
    a = load_float64(x_ptr + rows * sx0 + cols * sx1, mask, FMT)
    b = load_float64(x_ptr + rows * sx0 + (cols + half) * sx1, mask, FMT)
    fa, fbound = activation(a, ACT)
    flat = rows * half + cols
    if ACT == RELU:  # noqa: SIM108 (a static branch on a constexpr, for Triton's compiler)
        tiny = tl.zeros(a.shape, tl.int1)  # ReLU has no tiny-input expansion
    else:
        # f(a) is a nudged a/2 there; the exact path rounds f(a) * b
        tiny = (tl.abs(a) < _TINY) & (a != 0)
    if BACKWARD:
        g = load_float64(g_ptr + rows * sg0 + cols * sg1, mask, FMT)
        d, dbound = derivative(a, ACT)
        gb = g * b
        ya = gb * d
        yb = g * fa
        tl.store(out_ptr + rows * (2 * half) + cols, round_to_format(ya, FMT), mask=mask)
        tl.store(out_ptr + rows * (2 * half) + half + cols, round_to_format(yb, FMT), mask=mask)
        hard = is_hard(ya, tl.abs(gb) * dbound, FMT) | is_hard(yb, tl.abs(g) * fbound, FMT) | tiny
    else:
        y = fa * b
        tl.store(out_ptr + flat, round_to_format(y, FMT), mask=mask)
        hard = is_hard(y, fbound * tl.abs(b), FMT) | tiny
    _record_hard(hard & mask, flat, count_ptr, index_ptr, capacity)


@triton.jit
def copy_kernel(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    """A plain copy, the roofline the benchmarks divide by (besides torch's own copy)."""
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(out_ptr + offs, tl.load(x_ptr + offs, mask=mask), mask=mask)
