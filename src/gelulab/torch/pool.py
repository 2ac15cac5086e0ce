"""Reuse of the memory of large CPU outputs: a caching allocator for gelulab's ops.

A fresh output of tens of MiB is page-faulted in as the kernel first writes it. The operating
system clears each page before handing it over, and in a virtual machine whose host takes back
free memory (free page reporting) the host must back each page again too. For an elementwise op
that is most of its time: measured here (2 threads, 2^24 float32 elements, ``gelulab bench``),
torch's allocating GELU took 20.8-21.9 ms and torch's GELU into a preallocated ``out=`` 4.0-5.8 ms.
So, like PyTorch's CUDA caching allocator, gelulab's CPU ops keep the memory of outputs that have
been freed and give it to the next output of the same size:

* only outputs of at least :data:`MIN_BYTES` (4 MiB) are pooled, in size classes of whole 2 MiB
  units, each block aligned to one; the huge pages the output fills in full are advised onto
  transparent huge pages (as any large output is, see :mod:`gelulab.kernels.cpu.memory`), so a
  block is resident only where an output has written it. Smaller outputs come from ``torch.empty``;
* a block goes back to the pool when the last tensor on its memory is gone (every view of the
  output, and anything autograd saved of it);
* at most a limit of bytes lies idle in the pool; past it, the least recently freed blocks are
  returned to the system. The default is 1 GiB or an eighth of the memory (the container's, where
  a cgroup limits it), whichever is smaller; ``GELULAB_POOL_MIB=N`` sets it in MiB, ``0`` turns the
  pool off, and :func:`set_limit` changes it at run time;
* :func:`empty_cache` returns every idle block to the system, and :func:`stats` counts what
  the pool did. A forked child starts with an empty pool.

What a program can see differ from ``torch.empty`` outputs: idle memory stays with the process (up
to the limit in each process, forked data-loader workers included); PyTorch's profiler does not
count a pooled output's bytes against the op; and, as for every output of the CPU kernels (they
write through a NumPy view, which fixes a storage's size), ``resize_`` to more elements raises.
"""

from __future__ import annotations

import math
import operator
import os
import sys
import threading
from collections import OrderedDict, deque
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..kernels.cpu.memory import MIN_BYTES, advise_huge_pages

#: Size classes are whole multiples of this (x86-64's transparent huge page).
UNIT = 2 << 20
#: NumPy type strings of the pooled dtypes (bfloat16 is pooled as int16 and viewed afterwards).
_TYPESTR = {torch.float32: "<f4", torch.float64: "<f8", torch.float16: "<f2", torch.bfloat16: "<i2"}
_ENV = "GELULAB_POOL_MIB"
#: Memory limits of the process's container (cgroup v2, then v1), where there are any.
_CGROUP_LIMITS = (Path("/sys/fs/cgroup/memory.max"), Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"))


def default_limit() -> int:
    """The idle-byte limit from ``GELULAB_POOL_MIB``, else min(1 GiB, memory / 8), the memory being the
    physical memory or the container's limit, whichever is smaller."""
    text = os.environ.get(_ENV)
    if text is not None and text.strip() != "":
        try:
            mib = int(text)
        except ValueError:
            raise ValueError(f"{_ENV} must be a whole number of MiB (0 turns the pool off), got {text!r}") from None
        if mib < 0:
            raise ValueError(f"{_ENV} must be 0 or more, got {mib}")
        return mib << 20
    try:
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        memory = 8 << 30
    for limit_file in _CGROUP_LIMITS:
        try:
            memory = min(memory, int(limit_file.read_text().split()[0]))
        except (OSError, ValueError, IndexError):  # absent, or "max": no limit there
            continue
    return min(1 << 30, memory // 8)


class _Lease:
    """Owns a block while tensors use it: the NumPy array behind the output tensor holds this
    object as its base, the tensor's storage holds the array, and the block goes back to the pool
    when the storage (the last view) is freed."""

    __slots__ = ("__array_interface__", "_block", "_pool")

    def __init__(self, pool: OutputPool, block: np.ndarray, shape: tuple[int, ...], typestr: str):
        self._pool, self._block = pool, block
        self.__array_interface__ = {"data": (block.ctypes.data, False), "shape": shape, "typestr": typestr,
                                    "version": 3}

    def __del__(self, _finalizing=sys.is_finalizing) -> None:
        if not _finalizing():
            self._pool._give(self._block)


class OutputPool:
    """Idle blocks of memory by size, handed out as output tensors (see the module text)."""

    def __init__(self, limit: int):
        self._lock = threading.Lock()
        # Blocks come back from tensors' finalizers, which may run on any thread and at any
        # allocation (a garbage collection), even inside this class's own methods: a finalizer only
        # appends to this queue (atomic) and drains it when the lock is free; whoever holds the lock
        # drains it after releasing.
        self._returned: deque[np.ndarray] = deque()
        self._idle: dict[int, dict[int, np.ndarray]] = {}  # size -> {id: block}, most recently freed last
        self._order: OrderedDict[int, np.ndarray] = OrderedDict()  # id -> block, least recently freed first
        self.limit = max(0, int(limit))
        self.idle_bytes = 0
        self.hits = self.misses = self.released = 0

    def output(self, shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor | None:
        """A contiguous CPU tensor of ``shape`` and ``dtype`` on pooled memory, or None where the pool
        does not serve it (off, too small, or a dtype it does not pool)."""
        typestr = _TYPESTR.get(dtype)
        if typestr is None or self.limit <= 0:
            return None
        nbytes = math.prod(shape) * int(typestr[-1])
        if nbytes < MIN_BYTES:
            return None
        size = -(-nbytes // UNIT) * UNIT
        if size > self.limit:  # it could never be kept
            return None
        block = self._take(size)
        if block is None:
            block = _new_block(size, nbytes)
        t = torch.from_numpy(np.asarray(_Lease(self, block, tuple(int(n) for n in shape), typestr)))
        return t.view(torch.bfloat16) if dtype is torch.bfloat16 else t

    def _take(self, size: int) -> np.ndarray | None:
        self._drain()
        with self._lock:
            blocks = self._idle.get(size)
            if blocks:
                key, block = blocks.popitem()
                if not blocks:
                    del self._idle[size]
                self._order.pop(key, None)
                self.idle_bytes -= size
                self.hits += 1
            else:
                block = None
                self.misses += 1
        self._drain()
        return block

    def _give(self, block: np.ndarray) -> None:
        self._returned.append(block)
        self._drain()

    def _drain(self) -> None:
        while self._returned and self._lock.acquire(blocking=False):
            try:
                while self._returned:
                    self._keep(self._returned.popleft())
            finally:
                self._lock.release()

    def _keep(self, block: np.ndarray) -> None:
        """(lock held) Make ``block`` idle, the least recently freed ones giving way to it."""
        size = block.nbytes
        if size > self.limit:
            self.released += 1
            return
        self._release(self.limit - size)
        self._idle.setdefault(size, {})[id(block)] = block
        self._order[id(block)] = block
        self.idle_bytes += size

    def _release(self, keep: int) -> int:
        """(lock held) Return the least recently freed blocks to the system until at most ``keep``
        bytes lie idle; the bytes returned."""
        freed = 0
        while self.idle_bytes > keep and self._order:
            key, block = self._order.popitem(last=False)
            blocks = self._idle.get(block.nbytes, {})
            blocks.pop(key, None)
            if not blocks:
                self._idle.pop(block.nbytes, None)
            self.idle_bytes -= block.nbytes
            freed += block.nbytes
            self.released += 1
        return freed

    def empty(self) -> int:
        """Return every idle block to the system; the bytes returned."""
        self._drain()
        with self._lock:
            freed = self._release(0)
        self._drain()
        return freed

    def set_limit(self, nbytes: int) -> None:
        try:
            limit = -1 if isinstance(nbytes, bool) else operator.index(nbytes)
        except TypeError:
            limit = -1
        if limit < 0:
            raise ValueError(f"the pool's limit must be a whole number of bytes, 0 or more; got {nbytes!r}")
        with self._lock:
            self.limit = limit
            self._release(limit)
        self._drain()

    def stats(self) -> dict[str, Any]:
        self._drain()
        with self._lock:
            counts = {"limit_bytes": self.limit, "idle_bytes": self.idle_bytes, "idle_blocks": len(self._order),
                      "hits": self.hits, "misses": self.misses, "released": self.released}
        self._drain()
        return counts

    def _after_fork(self) -> None:
        """In a forked child: an empty pool. Another thread of the parent may have been inside it at
        the fork, leaving its lock taken and its books half-written; the child needs none of the
        parent's idle blocks."""
        self._lock = threading.Lock()
        self._returned = deque()
        self._idle, self._order = {}, OrderedDict()
        self.idle_bytes = 0


def _new_block(size: int, nbytes: int) -> np.ndarray:
    """``size`` bytes aligned to a 2 MiB unit, over-allocated by one (the rims are never touched, so
    never resident), with the huge pages the first ``nbytes`` fill advised. torch's allocator, not
    NumPy's: NumPy advises every large allocation of its own whole, whatever GELULAB_HUGE_PAGES says."""
    raw = torch.empty(size + UNIT, dtype=torch.uint8).numpy()
    start = -raw.ctypes.data % UNIT
    block = raw[start:start + size]
    advise_huge_pages(block.ctypes.data, nbytes)
    return block


_POOL = OutputPool(default_limit())


def _after_fork_in_child() -> None:
    _POOL._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def output(shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor | None:
    """A pooled output tensor (see :meth:`OutputPool.output`)."""
    return _POOL.output(shape, dtype)


def empty_cache() -> int:
    """Return the memory of every idle pooled output to the system; the bytes returned."""
    return _POOL.empty()


def set_limit(nbytes: int) -> None:
    """At most ``nbytes`` lie idle in the pool (0 turns it off); idle blocks past it are returned."""
    _POOL.set_limit(nbytes)


def stats() -> dict[str, Any]:
    """limit_bytes, idle_bytes, idle_blocks, hits, misses, released (blocks returned to the system)."""
    return _POOL.stats()
