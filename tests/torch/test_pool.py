"""The pool of freed outputs: reuse, lifetimes (views), limits, eviction, threads, and the ops on it."""

from __future__ import annotations

import os
import signal
import threading

import pytest
import torch

import gelulab.torch as gt
from gelulab.kernels.cpu.memory import MIN_BYTES
from gelulab.torch import pool
from gelulab.torch.pool import UNIT, OutputPool

#: float32 elements of an output just at the pool's threshold (4 MiB, two size units)
N = MIN_BYTES // 4


@pytest.fixture
def fresh_pool(monkeypatch) -> OutputPool:
    """The module's pool replaced by an empty one with 1 GiB of room, for the ops to use."""
    p = OutputPool(1 << 30)
    monkeypatch.setattr(pool, "_POOL", p)
    return p


def _ref(x: torch.Tensor, name: str = "gelu") -> torch.Tensor:
    out = torch.empty_like(x)  # the kernel alone, into memory of torch's own
    gt.activation(x, name, out=out)
    return out


def test_a_freed_output_s_memory_serves_the_next_output_of_its_size(fresh_pool):
    x = torch.randn(N)
    y = gt.gelu(x)
    address = y.data_ptr()
    assert address % UNIT == 0  # huge-page aligned
    del y
    assert fresh_pool.stats()["idle_bytes"] == MIN_BYTES
    z = gt.gelu(-x)
    assert z.data_ptr() == address
    assert torch.equal(z, _ref(-x))
    s = fresh_pool.stats()
    assert (s["hits"], s["misses"], s["idle_bytes"]) == (1, 1, 0)


def test_small_outputs_are_not_pooled(fresh_pool):
    y = gt.gelu(torch.randn(N - 1))
    del y
    s = fresh_pool.stats()
    assert s["hits"] == s["misses"] == s["idle_bytes"] == 0


def test_a_live_view_keeps_the_memory_from_the_next_output(fresh_pool):
    x = torch.randn(N)
    y = gt.gelu(x)
    view = y[100:200]
    kept = view.clone()
    address = y.data_ptr()
    del y
    assert fresh_pool.stats()["idle_bytes"] == 0  # the view still uses it
    z = gt.gelu(x * 3)
    assert z.data_ptr() != address
    assert torch.equal(view, kept)
    del view
    assert fresh_pool.stats()["idle_bytes"] == MIN_BYTES


def test_backward_and_gated_outputs_come_from_the_pool_and_are_exact(fresh_pool):
    g = torch.randn(4, N // 4)
    for step in range(3):
        # Step 0 may compile kernels, and a first compile keeps its call's arguments alive a while
        # (in a saved traceback); step 2's output and gradient then take step 1's memory.
        x = torch.randn(4, N // 2, requires_grad=True)
        y = gt.geglu(x)
        y.backward(g)
        if step < 2:
            del x, y
    assert fresh_pool.stats()["hits"] >= 2
    a, b = x.detach().double().chunk(2, dim=-1)
    a.requires_grad_()
    b.requires_grad_()
    ref = torch.nn.functional.gelu(a) * b
    ref.backward(g.double())
    torch.testing.assert_close(y.detach().double(), ref.detach(), rtol=1e-6, atol=0)
    torch.testing.assert_close(x.grad.double(), torch.cat([a.grad, b.grad], dim=-1), rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_every_kernel_dtype_is_pooled_with_its_own_dtype(fresh_pool, dtype):
    x = torch.randn(2, MIN_BYTES // 2 // x_size(dtype)).to(dtype)
    y = gt.silu(x)
    assert y.dtype == dtype and y.shape == x.shape and y.is_contiguous()
    assert fresh_pool.stats()["misses"] == 1
    assert torch.equal(y, _ref(x, "silu"))


def x_size(dtype: torch.dtype) -> int:
    return torch.empty((), dtype=dtype).element_size()


def test_a_pooled_output_is_an_ordinary_tensor_that_cannot_grow(fresh_pool):
    """Like every output of the CPU kernels (written through a NumPy view, which fixes the
    storage's size), pooled or not."""
    x = torch.randn(N)
    with pytest.raises(RuntimeError, match="not resizable"):
        gt.gelu(x).resize_(2 * N)  # (torch leaves such a tensor unusable, as it does one from_numpy)
    assert fresh_pool.stats()["misses"] == 1  # it was a pooled output
    y = gt.gelu(x)
    torch.add(y, 1, out=y)
    torch.testing.assert_close(y, _ref(x) + 1)
    assert y.view(2, -1).shape == (2, N // 2)
    y.resize_(10)  # shrinking keeps the storage
    assert y.shape == (10,)


def test_idle_memory_stays_within_the_limit_least_recently_freed_first():
    p = OutputPool(14 << 20)
    a = p.output((N,), torch.float32)  # 4 MiB
    b = p.output((N + 1,), torch.float32)  # 4 MiB + 4 B: a 6 MiB block
    c = p.output((2 * N,), torch.float32)  # 8 MiB
    del a, b
    assert p.stats()["idle_bytes"] == 10 << 20 and p.stats()["idle_blocks"] == 2
    del c  # room for 8 MiB: a, the least recently freed, gives way (b would leave 12 MiB)
    s = p.stats()
    assert s["idle_bytes"] == 14 << 20 and s["idle_blocks"] == 2 and s["released"] == 1
    assert sorted(p._idle) == [6 << 20, 8 << 20]
    d = p.output((N,), torch.float32)  # a was returned to the system: a miss
    assert d.shape == (N,) and p.stats()["misses"] == 4 and p.stats()["hits"] == 0
    assert p.output((4 * N,), torch.float32) is None  # 16 MiB could never be kept: not pooled
    assert p.stats()["misses"] == 4


def test_empty_cache_and_limits(fresh_pool):
    x = torch.randn(N)
    ys = [gt.gelu(x) for _ in range(3)]
    del ys
    assert fresh_pool.stats()["idle_bytes"] == 3 * MIN_BYTES
    assert gt.empty_cache() == 3 * MIN_BYTES
    assert fresh_pool.stats()["idle_bytes"] == 0
    ys = [gt.gelu(x) for _ in range(3)]
    del ys
    pool.set_limit(MIN_BYTES)
    assert fresh_pool.stats()["idle_bytes"] == MIN_BYTES
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="whole number of bytes"):
            pool.set_limit(bad)


def test_with_the_pool_off_outputs_take_fresh_memory(fresh_pool):
    pool.set_limit(0)
    x = torch.randn(N)
    y = gt.gelu(x)
    assert fresh_pool.output((N,), torch.float32) is None
    assert torch.equal(y, _ref(x))
    del y
    s = fresh_pool.stats()
    assert s["idle_bytes"] == s["hits"] == s["misses"] == 0


def test_the_limit_from_the_environment(monkeypatch):
    monkeypatch.setenv("GELULAB_POOL_MIB", "16")
    assert pool.default_limit() == 16 << 20
    monkeypatch.setenv("GELULAB_POOL_MIB", "0")
    assert pool.default_limit() == 0
    monkeypatch.setenv("GELULAB_POOL_MIB", "")
    assert 0 < pool.default_limit() <= 1 << 30
    for bad, message in (("lots", "whole number of MiB"), ("-3", "0 or more")):
        monkeypatch.setenv("GELULAB_POOL_MIB", bad)
        with pytest.raises(ValueError, match=message):
            pool.default_limit()


def test_a_block_freed_while_the_pool_is_busy_is_kept_once_it_is_free():
    """A tensor's finalizer may run while the pool's lock is held (a garbage collection inside
    the pool's own code, or another thread): the block waits and is counted afterwards."""
    p = OutputPool(1 << 30)
    y = p.output((N,), torch.float32)
    with p._lock:
        del y
        assert p.idle_bytes == 0 and len(p._returned) == 1
    assert p.stats()["idle_bytes"] == MIN_BYTES and not p._returned


def test_a_block_freed_on_another_thread_while_the_pool_is_busy_is_kept():
    p = OutputPool(1 << 30)
    y = [p.output((N,), torch.float32)]
    with p._lock:
        worker = threading.Thread(target=y.clear)  # the output's last reference dies there
        worker.start()
        worker.join()
        assert p.idle_bytes == 0 and len(p._returned) == 1
    assert p.stats()["idle_bytes"] == MIN_BYTES and not p._returned


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX's")
def test_a_forked_child_starts_with_an_empty_pool(fresh_pool):
    x = torch.randn(N)
    y = gt.gelu(x)
    del y
    assert fresh_pool.stats()["idle_bytes"] == MIN_BYTES
    with fresh_pool._lock:  # as if another thread were inside the pool at the fork
        pid = os.fork()
        if pid == 0:  # the child: exit status 0 only if its pool is empty and works
            signal.alarm(30)  # a pool still locked would hang it: killed instead, a non-zero status
            try:
                s = pool.stats()
                p = pool._POOL
                t = p.output((N,), torch.float32)
                ok = s["idle_bytes"] == 0 and s["idle_blocks"] == 0 and t.shape == (N,)
            except BaseException:  # noqa: BLE001 - any failure is a non-zero status
                ok = False
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert fresh_pool.stats()["idle_bytes"] == MIN_BYTES  # the parent's pool is untouched


def test_threads_taking_and_freeing_outputs_leave_the_counts_consistent():
    p = OutputPool(64 << 20)
    calls = 200
    errors = []

    def work(seed: int) -> None:
        try:
            for i in range(calls):
                t = p.output(((i + seed) % 3 + 1, N), torch.float32)
                t[0, 0] = seed
                assert t[0, 0] == seed
                del t
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    s = p.stats()
    assert s["hits"] + s["misses"] == 4 * calls
    assert s["hits"] > s["misses"]
    assert s["idle_bytes"] == sum(b.nbytes for b in p._order.values()) <= 64 << 20
    assert s["idle_blocks"] == sum(len(v) for v in p._idle.values())
