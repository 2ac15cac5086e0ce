"""The float32 numba kernels agree bit for bit with the correctly rounded NumPy reference."""

from __future__ import annotations

import os

import mpmath
import numpy as np
import pytest

from gelulab import reference
from gelulab.accuracy.sampler import sample_inputs
from gelulab.functions import get
from gelulab.kernels import cpu
from gelulab.kernels.cpu import elements, fast, reference_path, runtime, simd

FAST = list(fast.FAST_NAMES)
CLAMPS = {"gelu": elements._TAIL_CLAMP, "gelu_tanh": elements._TANH_CLAMP, "silu": elements._SIGMOID_CLAMP}


def _bits_equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.asarray(a), np.asarray(b)
    return (a.view(np.uint32) == b.view(np.uint32)) | (np.isnan(a) & np.isnan(b))


def _inputs(name: str, n_random: int = 1 << 13) -> np.ndarray:
    rng = np.random.default_rng(7)
    return np.concatenate([
        sample_inputs(np.float32, name, n_random=2000),
        (rng.standard_normal(n_random) * 4).astype(np.float32),
        rng.integers(0, 2**32, n_random, dtype=np.uint64).astype(np.uint32).view(np.float32),
    ])


@pytest.mark.parametrize("name", FAST)
def test_forward_equals_the_reference_bit_for_bit(name):
    x = _inputs(name)
    got = fast.forward(name, x)
    assert _bits_equal(got, get(name).evaluate(x, 0)).all()


@pytest.mark.parametrize("name", FAST)
def test_grad_times_derivative_equals_the_reference_bit_for_bit(name):
    x = _inputs(name)
    grad = np.random.default_rng(3).standard_normal(x.size).astype(np.float32)
    got = fast.derivative_times(name, grad, x)
    assert _bits_equal(got, reference_path.derivative_times(name, grad, x)).all()
    ones = fast.derivative_times(name, np.ones_like(x), x)
    assert _bits_equal(ones, get(name).evaluate(x, 1)).all()


@pytest.mark.parametrize("name", FAST)
@pytest.mark.parametrize("order", [0, 1])
def test_error_bound_holds_against_the_oracle(name, order):
    """The rounding test is sound only if |float64 value - exact| <= bound; check it with mpmath."""
    x = sample_inputs(np.float32, name, n_random=120, seed=11)
    x = x[np.isfinite(x)]
    y, bound = fast.float64_values(name, x, order)
    with mpmath.workdps(40):
        for xv, yv, bv in zip(x, y, bound, strict=True):
            exact = reference.evaluate(name, float(xv), order, dps=40)
            if bv == 0:  # exact (f(0) = 0), or right of a derivative's clamp: 1.0, as the reference takes it
                assert yv == exact or (xv > CLAMPS[name] and yv == 1.0 and order == 1), xv
            else:
                assert abs(mpmath.mpf(float(yv)) - exact) <= bv, (xv, float(yv), float(exact), bv)


def test_rounding_test_flags_midpoints_and_passes_clear_cases():
    mid = float(np.float32(1.5)) + 2.0**-24  # halfway between 1.5 and its float32 successor
    assert elements.is_hard(mid, 2.0**-40)
    assert elements.is_hard(mid + 2.0**-41, 2.0**-40)
    assert not elements.is_hard(mid + 2.0**-30, 2.0**-40)
    assert not elements.is_hard(1.5, 2.0**-40)
    sub_mid = 2.5 * 2.0**-149  # float32 subnormal midpoint
    assert elements.is_hard(sub_mid, 2.0**-170) and not elements.is_hard(2.0 * 2.0**-149, 2.0**-170)
    assert not elements.is_hard(float("nan"), 0.0) and not elements.is_hard(float("inf"), 1.0)


@pytest.mark.parametrize("name", FAST)
def test_hard_inputs_exist_and_take_the_exact_path(name):
    """Near a derivative's root the bound is wide, so some inputs are hard: they must still match."""
    root = min(sample_inputs.__globals__["derivative_roots"](name), key=abs)
    x = np.linspace(root - 1e-4, root + 1e-4, 4001).astype(np.float32)
    y, bound = fast.float64_values(name, x, 1)
    hard = np.array([elements.is_hard(a, b) for a, b in zip(y, bound, strict=True)])
    assert hard.any()
    got = fast.derivative_times(name, np.ones_like(x), x)
    assert _bits_equal(got, get(name).evaluate(x, 1)).all()


@pytest.mark.parametrize("shape", [(), (0,), (1,), (fast.CHUNK + 3,), (3, 5, 7)])
def test_any_shape_and_chunk_boundaries(shape):
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    for name in FAST:
        y = cpu.forward(name, x)
        assert y.shape == x.shape and y.dtype == np.float32
        assert _bits_equal(y, get(name).evaluate(x, 0)).all()


def test_out_array_is_written_in_place():
    x = np.linspace(-5, 5, 1000, dtype=np.float32)
    out = np.full_like(x, np.nan)
    assert cpu.forward("gelu", x, out) is out
    assert _bits_equal(out, get("gelu").evaluate(x, 0)).all()


@pytest.mark.parametrize("name", FAST)
def test_gated_kernels_equal_the_exact_path(name):
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((37, 2 * 129)) * 3).astype(np.float32)
    x[0, :4] = [0.0, -0.0, 1e-40, -1e-40]  # zero and subnormal gates
    g = rng.standard_normal((37, 129)).astype(np.float32)
    a, b = x[:, :129], x[:, 129:]
    assert _bits_equal(fast.gated_forward(name, x), reference_path.gated_forward(name, a, b)).all()
    ga, gb = reference_path.gated_backward(name, g, a, b)
    assert _bits_equal(fast.gated_backward(name, g, x), np.concatenate([ga, gb], axis=1)).all()


@pytest.mark.parametrize("name", FAST)
def test_blocks_with_few_or_many_inputs_outside_the_core(name):
    """Core blocks with 0..FEW + 2 inputs past |x| = 3.5 (computed one by one up to FEW, by the erfc
    form over the block beyond), at the block's ends and inside, each output bit for bit the exact
    path's: forward, grad * f'(x), and both gated forms (one block per row)."""
    rng = np.random.default_rng(11)
    rows = []
    for k in range(fast.FEW + 3):
        for where in ("start", "end", "spread"):
            row = rng.uniform(-3.0, 3.0, fast.BLOCK)
            at = {"start": np.arange(k), "end": fast.BLOCK - 1 - np.arange(k),
                  "spread": rng.choice(fast.BLOCK, k, replace=False)}[where]
            row[at] = rng.choice([-1, 1], k) * rng.uniform(3.6, 40.0, k)
            rows.append(row)
    a = np.array(rows, dtype=np.float32)
    b = rng.standard_normal(a.shape).astype(np.float32)
    g = rng.standard_normal(a.shape).astype(np.float32)
    x = a.reshape(-1)
    assert _bits_equal(fast.forward(name, x), reference_path.forward(name, x)).all()
    want = reference_path.derivative_times(name, g.reshape(-1), x, 1)
    assert _bits_equal(fast.derivative_times(name, g.reshape(-1), x), want).all()
    ab = np.concatenate([a, b], axis=1)
    assert _bits_equal(fast.gated_forward(name, ab), reference_path.gated_forward(name, a, b)).all()
    ga, gb = reference_path.gated_backward(name, g, a, b)
    assert _bits_equal(fast.gated_backward(name, g, ab), np.concatenate([ga, gb], axis=1)).all()


def test_other_dtypes_and_activations_take_the_reference_path():
    assert cpu.has_fast_kernel("gelu", np.float32) and cpu.has_fast_kernel("swish", np.float32)
    assert not cpu.has_fast_kernel("gelu", np.float64) and not cpu.has_fast_kernel("mish", np.float32)
    x = np.linspace(-3, 3, 50)
    assert _bits_equal(cpu.forward("mish", x).view(np.float64).astype(np.float32),
                       get("mish").evaluate(x, 0).astype(np.float32)).all()


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
@pytest.mark.parametrize("name", FAST)
def test_outputs_overlapping_an_input_get_the_result_of_fresh_ones(name, dtype):
    """out = x, out = grad, and the gated forms' out over the input: each as if out were new."""
    import ml_dtypes

    dt = np.dtype(ml_dtypes.bfloat16) if dtype == "bfloat16" else np.dtype(dtype)
    rng = np.random.default_rng(11)
    n = 2 * runtime.PARALLEL_MIN + 9
    x = (rng.standard_normal(n) * 4).astype(dt)
    g = rng.standard_normal(n).astype(dt)
    xg = (rng.standard_normal((50, 2 * 700)) * 4).astype(dt)
    gg = rng.standard_normal((50, 700)).astype(dt)
    cases = [
        (lambda out: cpu.forward(name, out, out), x, lambda: cpu.forward(name, x)),
        (lambda out: cpu.derivative_times(name, g, out, 1, out), x, lambda: cpu.derivative_times(name, g, x)),
        (lambda out: cpu.derivative_times(name, out, x, 1, out), g, lambda: cpu.derivative_times(name, g, x)),
        (lambda out: cpu.gated_backward(name, gg, out, out), xg, lambda: cpu.gated_backward(name, gg, xg)),
    ]
    for run, start, fresh in cases:
        out = start.copy()
        run(out)
        assert np.array_equal(out.view(np.uint8), fresh().view(np.uint8)), (name, dtype)
    out = xg.copy()
    cpu.gated_forward(name, out, out[:, :700])  # out is the first half of the input
    assert np.array_equal(out[:, :700].view(np.uint8), cpu.gated_forward(name, xg).view(np.uint8))


def test_both_threads_give_the_same_bits():
    x = np.random.default_rng(2).standard_normal(2 * runtime.PARALLEL_MIN + 5).astype(np.float32)
    runtime.set_threads(1)
    one = fast.forward("gelu", x)
    runtime.set_threads(2)
    two = fast.forward("gelu", x)
    assert _bits_equal(one, two).all()


def test_every_chunk_is_run_once_by_the_threads():
    """Blocks are handed out from a shared counter to the caller and the pool: none is missed or repeated."""
    import time

    n_chunks = 1000
    seen = np.zeros(n_chunks, dtype=np.int64)
    threads_used = set()

    def task(counts, c0, c1):
        import threading

        threads_used.add(threading.get_ident())
        time.sleep(2e-3)  # long enough for the pool's worker to take blocks too
        seen[c0:c1] += 1
        counts[c0:c1] = np.arange(c0, c1)

    runtime.set_threads(2)
    counts = runtime.run_chunks(task, n_chunks, runtime.PARALLEL_MIN)
    assert (seen == 1).all()
    assert (counts == np.arange(n_chunks)).all()
    assert len(threads_used) == 2


@pytest.mark.parametrize("shape", [((5 << 20) // 4 + 777,), (700, 2500)])
def test_hand_outs_of_large_outputs_follow_its_huge_pages(shape, monkeypatch):
    """Every chunk is handed out once, a huge page of output at a time; where chunks tile a page
    (elementwise outputs), each hand-out past the first (short) one starts at a page, so no two
    threads fault on one page. Chunks of rows only come close."""
    from gelulab.kernels.cpu import memory

    huge = 1 << 21
    monkeypatch.setattr(memory, "huge_page_bytes", lambda: huge)
    size = int(np.prod(shape))
    buf = np.empty(size + 4096, dtype=np.float32)
    per = fast.CHUNK if len(shape) == 1 else 3
    for offset in range(0, 4096, 61):
        out = buf[offset:offset + size].reshape(shape)
        n_chunks = runtime.chunks_for(shape[0], per)
        step, first = runtime.hand_outs(n_chunks, 2, out)
        chunk_bytes = per * out.strides[0]
        assert step == round(huge / chunk_bytes) and -step < first <= 0
        hand_outs = [(max(0, c), min(n_chunks, c + step)) for c in range(first, n_chunks, step)]
        covered = np.zeros(n_chunks, dtype=int)
        for a, b in hand_outs:
            covered[a:b] += 1
        assert (covered == 1).all()
        assert abs(step * chunk_bytes - huge) <= chunk_bytes / 2  # a page of output each
        if huge % chunk_bytes == 0:  # chunks that tile a page: every hand-out starts at one
            for a, _ in hand_outs[1:]:
                assert (out.ctypes.data + a * chunk_bytes) % huge < chunk_bytes
    # small outputs and no huge pages: the plain hand-outs, from chunk 0
    assert runtime.hand_outs(n_chunks, 2, buf[:1000])[1] == 0
    monkeypatch.setattr(memory, "huge_page_bytes", lambda: 0)
    assert runtime.hand_outs(n_chunks, 2, out)[1] == 0


def test_a_failing_block_stops_the_call_and_its_workers():
    import threading
    import time

    calls = []
    lock = threading.Lock()

    def task(counts, c0, c1):
        with lock:
            calls.append(c0)
            third = len(calls) == 3
        time.sleep(1e-4)
        if third:
            raise RuntimeError("block failed")

    runtime.set_threads(2)
    with pytest.raises(RuntimeError, match="block failed"):
        runtime.run_chunks(task, 1000, runtime.PARALLEL_MIN)
    done = len(calls)
    time.sleep(0.05)
    assert len(calls) == done  # nothing still writing after the call returned


@pytest.fixture
def team_or_pool(monkeypatch):
    """Run a body once on torch's OpenMP team and once on the kernels' own pool."""
    import torch  # noqa: F401  (loads the OpenMP runtime the team path uses)

    from gelulab.kernels.cpu import openmp

    def run(body):
        results = {}
        for mode in ("team", "pool"):
            monkeypatch.setenv("GELULAB_OPENMP", "1" if mode == "team" else "0")
            openmp.reset()
            results[mode] = body(), openmp.runtime()
        openmp.reset()
        return results

    runtime.set_threads(2)
    return run


def test_openmp_team_and_own_pool_give_the_same_bits(team_or_pool):
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((40, 2 * 3000)) * 3).astype(np.float32)
    g = rng.standard_normal((40, 3000)).astype(np.float32)
    flat, gflat = x.reshape(-1), rng.standard_normal(x.size).astype(np.float32)

    def body():
        return [fast.forward(n, flat) for n in FAST] + [fast.derivative_times(n, gflat, flat) for n in FAST] + \
            [fast.gated_forward(n, x) for n in FAST] + [fast.gated_backward(n, g, x) for n in FAST]

    results = team_or_pool(body)
    (team, runtime), (pool, none) = results["team"], results["pool"]
    assert none is None
    import sys

    if sys.platform.startswith("linux"):
        assert runtime is not None, "torch's OpenMP runtime was not found in /proc/self/maps"
    for a, b in zip(team, pool, strict=True):
        assert _bits_equal(a, b).all()
    assert _bits_equal(team[0], get("gelu").evaluate(flat, 0)).all()


def test_large_outputs_at_any_alignment_give_the_bits_of_one_thread(team_or_pool):
    """Outputs past memory.MIN_BYTES take page-aligned hand-outs (the first one short) on both paths."""
    rng = np.random.default_rng(9)
    n = (5 << 20) // 4 + 333
    x = (rng.standard_normal(n) * 3).astype(np.float32)
    g = rng.standard_normal(n).astype(np.float32)
    xg = (rng.standard_normal((300, 2 * 4400)) * 3).astype(np.float32)  # gated: 5 MiB out
    runtime.set_threads(1)
    expect = [fast.forward("gelu", x), fast.derivative_times("silu", g, x), fast.gated_forward("gelu_tanh", xg)]
    runtime.set_threads(2)

    def body():
        got = []
        for offset in (0, 5, 777):
            outs = [np.empty(n + offset, np.float32)[offset:], np.empty(n + offset, np.float32)[offset:],
                    np.empty(300 * 4400 + offset, np.float32)[offset:].reshape(300, 4400)]
            got.append([fast.forward("gelu", x, outs[0]), fast.derivative_times("silu", g, x, outs[1]),
                        fast.gated_forward("gelu_tanh", xg, outs[2])])
        return got

    for mode, (got, _) in team_or_pool(body).items():
        for row in got:
            for a, b in zip(row, expect, strict=True):
                assert _bits_equal(a, b).all(), mode


def _forward_in_child(x):
    return fast.forward("gelu", x)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX-only")
@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")  # forking a threaded process is the point here
@pytest.mark.parametrize("mode", ["team", "pool"])
def test_a_forked_child_computes_on_threads_of_its_own(mode, monkeypatch):
    """After the parent used its threads (torch's OpenMP team or the pool), a forked child must not
    wait on threads it does not have."""
    import multiprocessing

    import torch  # noqa: F401  (the team path needs torch's OpenMP runtime loaded)

    from gelulab.kernels.cpu import openmp

    monkeypatch.setenv("GELULAB_OPENMP", "1" if mode == "team" else "0")
    openmp.reset()
    runtime.set_threads(2)
    x = np.random.default_rng(4).standard_normal(2 * runtime.PARALLEL_MIN).astype(np.float32)
    want = fast.forward("gelu", x)  # the parent's threads are now started
    with multiprocessing.get_context("fork").Pool(1) as pool:
        got = pool.apply_async(_forward_in_child, (x,)).get(timeout=120)
    openmp.reset()
    assert _bits_equal(got, want).all()


def test_thread_count_follows_torch_unless_set():
    import torch

    before = torch.get_num_threads()
    try:
        runtime.set_threads(None)
        torch.set_num_threads(1)
        assert runtime.get_threads() == 1
        torch.set_num_threads(2)
        assert runtime.get_threads() == 2
        runtime.set_threads(3)
        assert runtime.get_threads() == 3  # an explicit count wins
        x = np.random.default_rng(6).standard_normal(3 * runtime.PARALLEL_MIN).astype(np.float32)
        assert _bits_equal(fast.forward("gelu", x), get("gelu").evaluate(x, 0)).all()
    finally:
        torch.set_num_threads(before)
        runtime.set_threads(2)


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="the runtime is found through /proc/self/maps")
def test_torchs_own_openmp_runtime_is_preferred(monkeypatch, tmp_path):
    import torch

    from gelulab.kernels.cpu import openmp

    torch_dir = os.path.dirname(torch.__file__)
    maps = tmp_path / "maps"
    maps.write_text("7f00-7f01 r-xp 0 08:01 1 /usr/lib/x86_64-linux-gnu/libgomp.so.1\n"
                    f"7f02-7f03 r-xp 0 08:01 2 {torch_dir}/lib/libgomp-a34b3233.so.1\n"
                    "7f04-7f05 r-xp 0 08:01 3 /usr/lib/libpython3.11.so\n")
    real = openmp.Path
    monkeypatch.setattr(openmp, "Path", lambda p: maps if p == "/proc/self/maps" else real(p))
    assert openmp._loaded_runtime_path() == f"{torch_dir}/lib/libgomp-a34b3233.so.1"
    maps.write_text("7f04-7f05 r-xp 0 08:01 3 /usr/lib/libpython3.11.so\n")
    assert openmp._loaded_runtime_path() is None


def test_element_loops_may_use_the_widest_vectors():
    """Every driver with an element loop asks LLVM for VECTOR_BITS-wide vectors (LLVM's tuning for
    Intel server cores would otherwise keep float64 loops at 256 bits, ~1.5x slower per element)."""
    from numba import njit

    from gelulab.kernels.cpu import half

    attribute = f'"prefer-vector-width"="{simd.VECTOR_BITS}"'
    # a fresh, uncached compilation of a real driver, so its LLVM IR can be read
    opts = {k: v for k, v in simd.OPTS.items() if k != "cache"}
    span = njit(**opts)(fast._forward_span.py_func)
    x = np.linspace(-4, 4, 300, dtype=np.float32)
    out = np.empty_like(x)
    assert span(0, x, out) >= 0
    assert _bits_equal(out, get("gelu").evaluate(x, 0)).all()
    ir = "\n".join(span.inspect_llvm().values())
    assert attribute in ir
    # and every other driver calls it: a driver that lost the call would run at half width
    import inspect

    drivers = [(module, name, fn) for module in (fast, half, elements) for name, fn in vars(module).items()
               if hasattr(fn, "py_func") and fn.targetoptions.get("inline") != "always"
               and {"kind", "fmt"} & set(inspect.signature(fn.py_func).parameters)]
    assert len(drivers) >= 15
    for module, name, fn in drivers:
        assert "wide_vectors()" in inspect.getsource(fn.py_func), f"{module.__name__}.{name} runs at half width"


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
@pytest.mark.parametrize("name", FAST)
def test_products_past_the_left_clamp_are_not_rounded_from_the_clamps_value(name, dtype):
    """f(a) * b and grad * f'(a) with a far left and a huge factor: the product of the true tiny value
    can be a normal number (GELU(-18.69) * 3e38 = -1.75e-38), not the clamp's value times b."""
    import ml_dtypes

    dt = np.dtype(ml_dtypes.bfloat16) if dtype == "bfloat16" else np.dtype(dtype)
    big = float(np.finfo(np.float16).max) if dtype == "float16" else 3e38
    a = np.array([-15.5, -18.6875, -30, -121, -200, -np.inf, -6e4], dtype=dt)
    b = np.array([big, -big, big, big, big / 2, big, 1.0], dtype=dt)
    x = np.concatenate([a, b])[None, :]
    ga, gb = reference_path.gated_backward(name, b, a, b)
    pairs = [(cpu.gated_forward(name, x)[0], reference_path.gated_forward(name, a, b)),
             (cpu.derivative_times(name, b, a), reference_path.derivative_times(name, b, a)),
             (cpu.forward(name, a), reference_path.forward(name, a)),
             (cpu.gated_backward(name, b[None, :], x)[0], np.concatenate([ga, gb]))]
    for got, want in pairs:
        got32, want32 = got.astype(np.float32), want.astype(np.float32)
        same = (got.view(f"u{dt.itemsize}") == want.view(f"u{dt.itemsize}")) | (np.isnan(got32) & np.isnan(want32))
        assert same.all(), (got, want)
    if name == "gelu" and dtype == "float32":  # the case that was wrong: a normal result, not 1.7e-11
        assert 1e-38 < cpu.gated_forward(name, x)[0][1] < 2e-38


@pytest.mark.parametrize("name", FAST)
def test_the_small_call_path_equals_the_oracle_and_hands_undecided_calls_on(name, monkeypatch):
    from gelulab.accuracy.hard_cases import load_hard_cases

    hard = [c.x for c in load_hard_cases() if c.function == name and c.order == 0 and c.dtype == "float32"]
    x = np.concatenate([np.float32(hard[:40]), np.random.default_rng(2).standard_normal(600)]).astype(np.float32)
    want = np.array([reference.round_to_format(reference.evaluate(name, float(v), 0), "float32") for v in x],
                    dtype=np.float32)
    calls = []
    real = fast.forward
    monkeypatch.setattr(fast, "forward", lambda *a: calls.append(a) or real(*a))
    got = fast.small_forward(name, x)
    assert np.array_equal(got, want)  # (no zero among these inputs: mpmath's unsigned zero is not in play)
    y, bound = fast.float64_values(name, x, 0)
    undecided = (fast._hard(y, bound) & (np.abs(x) >= elements.TINY)).any()  # what the tiny-x rule leaves
    assert undecided and len(calls) == 1  # a call with an undecided rounding is done again by forward
    calls.clear()
    easy = np.float32([0.5, 1.25, -2.0])
    assert np.array_equal(fast.small_forward(name, easy), real(name, easy)) and not calls
    readonly = easy.copy()
    readonly.flags.writeable = False  # another numba type: not the cached entry point's
    assert np.array_equal(fast.small_forward(name, readonly), real(name, easy)) and len(calls) == 1
    assert np.array_equal(fast.small_forward(name, np.float32([[1, 2], [3, 4]])[:, 0]), real(name, np.float32([1, 3])))
