"""The parallel runtime of the CPU kernels (float32 in :mod:`.fast`, 16-bit in :mod:`.half`).

* dispatch: ``call`` runs a driver's compiled specialisation for literal arguments (the kernel's
  kind, the format) through its entry point, microseconds instead of numba's type resolution;
* threads: ``set_threads`` / ``get_threads``, the calling thread plus a pool of workers, or torch's
  OpenMP team (:mod:`.openmp`) running a registered C-callable worker (``register_worker``); work is
  handed out in blocks from a shared counter (``hand_outs``), aligned with huge pages on large
  outputs (:mod:`.memory`);
* arrays: the output a kernel may write directly (``output`` / ``finish``), flat and full views of the
  inputs, the rows of a gated input, and the chunks a kernel flagged (``flagged``);
* ``run_elementwise``: one elementwise driver over flat arrays, serially below ``PARALLEL_MIN``
  elements, else chunk by chunk on the threads.
"""

from __future__ import annotations

import gc
import itertools
import os
import sys
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from numba import cfunc, njit, types

from . import memory, openmp
from .simd import OPTS, fetch_add, pointer

#: Elements per parallel work item; a hard input makes only its chunk be searched again.
CHUNK = 1 << 10


#: (driver, literals, argument types) -> the compiled specialisation's entry point
_ENTRY_POINTS: dict[tuple, object] = {}


def cheap_type(a) -> tuple:
    """What numba's type of an argument depends on, without the cost of numba.typeof (~10 us)."""
    if isinstance(a, np.ndarray):
        return a.dtype.char, a.ndim, a.flags.c_contiguous, a.flags.f_contiguous, a.flags.writeable, a.flags.aligned
    return (type(a),)


def call(driver, kind: int, *args, fmt: int | None = None):
    """driver(kind, *args), or driver(kind, fmt, *args), through the compiled entry point of its
    literal specialisation.

    Calling a dispatcher with an argument it must treat as a literal costs ~10 ms per call in
    numba's type resolution; the entry point of the compiled specialisation costs microseconds.
    """
    literals = (kind,) if fmt is None else (kind, fmt)
    key = (driver, *literals, *(cheap_type(a) for a in args))
    entry = _ENTRY_POINTS.get(key)
    if entry is not None:
        return entry(*literals, *args)
    result = driver(*literals, *args)  # compiles, or loads from numba's cache
    # numba's compiler catches exceptions of its own; their tracebacks form cycles through the frames
    # of this call, which hold the caller's output: without a collection now, the first output of a
    # process would outlive its last reference until the next one. Once per compiled signature.
    gc.collect()
    wanted = tuple(types.literal(v) for v in literals) + tuple(numba.typeof(a) for a in args)
    for signature, compiled in driver.overloads.items():
        if tuple(signature) == wanted:
            _ENTRY_POINTS[key] = compiled.entry_point
    return result


def entry_point(driver, kind: int, *args):
    """The compiled entry point ``call`` would take for these arguments, compiling it first; None
    where it cannot be found. Calling it skips the key ``call`` builds (~1 us): only for arguments
    of exactly these types (numba's entry point trusts them)."""
    key = (driver, kind, *(cheap_type(a) for a in args))
    if key not in _ENTRY_POINTS:
        call(driver, kind, *args)
    return _ENTRY_POINTS.get(key)


# --- OpenMP workers ------------------------------------------------------------------------------
# One C-callable worker per driver, run by every thread of torch's OpenMP team (see .openmp). Its
# argument is an int64 array: [next block, chunks, chunks per block, kind, counts address,
# then the driver's array addresses and sizes]. Each thread takes blocks with an atomic add on
# the first slot until none is left (``next_block``); the kind is read at run time and each branch
# calls the driver with a constant, so each runs its compiled specialisation.

HEADER = 5  # next block (from hand_outs' first), chunks, chunks per block, kind, counts address


@njit(inline="always", **OPTS)
def next_block(data, a):
    """The next hand-out (the counter may start below 0: then the first one is short, see hand_outs)."""
    c0 = fetch_add(pointer(data, types.int64), a[2])
    return max(0, c0), min(a[1], c0 + a[2])


_WORKER_SOURCES: dict[str, object] = {}
_WORKERS: dict[str, int] = {}


def register_worker(driver: str, source) -> None:
    """Add an OpenMP worker (a function of one void* argument, compiled on first use)."""
    _WORKER_SOURCES[driver] = source


def worker_address(driver: str) -> int:
    """The C address of a driver's OpenMP worker, compiled (or loaded from numba's cache) on first use."""
    address = _WORKERS.get(driver)
    if address is None:
        compiled = cfunc(types.void(types.voidptr), cache=True, **{k: v for k, v in OPTS.items() if k != "cache"})(
            _WORKER_SOURCES[driver])
        address = _WORKERS[driver] = compiled.address
    return address


def run_team(driver: str, kind: int, counts: np.ndarray, threads: int, arrays: tuple, sizes: tuple) -> bool:
    """Run a driver on the OpenMP team; False (nothing run) where there is none."""
    if openmp.runtime() is None:
        return False
    n_chunks = counts.size
    step, first = hand_outs(n_chunks, threads, arrays[-1])
    data = np.array([first, n_chunks, step, kind, counts.ctypes.data, *(a.ctypes.data for a in arrays), *sizes],
                    dtype=np.int64)
    return openmp.parallel(worker_address(driver), data.ctypes.data, threads)


# --- threads -------------------------------------------------------------------------------------
# The calling thread works too, beside threads - 1 pool workers, and the work is handed out in
# blocks from a shared counter rather than split in equal halves up front: when a core is taken
# for a while (torch's OpenMP workers spin on a core for milliseconds after every parallel op of
# torch's), the other thread takes more blocks instead of waiting for the slow half.

#: Threads set by set_threads or $GELULAB_THREADS; None: follow torch's thread count (or the cores).
def _threads_from_environment() -> int | None:
    text = os.environ.get("GELULAB_THREADS")
    if text is None or not text.strip():
        return None
    try:
        n = int(text)
    except ValueError:
        raise ValueError(f"GELULAB_THREADS must be a whole number of threads (at least 1), got {text!r}") from None
    if n < 1:
        raise ValueError(f"GELULAB_THREADS must be at least 1, got {n}")
    return n


_threads: int | None = _threads_from_environment()
_pool: ThreadPoolExecutor | None = None
#: Below this many elements a call runs on the calling thread (a hand-off costs microseconds).
PARALLEL_MIN = 1 << 16
#: Chunks per hand-out: 2^17 elements, a fraction of a millisecond of work.
BLOCK_CHUNKS = 128


def set_threads(n: int | None) -> None:
    """Threads the kernels use: n, or None for the default (torch's ``get_num_threads()`` when torch
    is loaded, else every core; ``$GELULAB_THREADS`` overrides the default at start)."""
    global _threads
    _threads = None if n is None else max(1, int(n))


def get_threads() -> int:
    """The thread count the next call will use."""
    if _threads is not None:
        return _threads
    torch = sys.modules.get("torch")
    if torch is not None:
        return max(1, torch.get_num_threads())
    return max(1, os.cpu_count() or 1)


def _worker_pool(threads: int) -> ThreadPoolExecutor:
    """The pool of threads - 1 workers (made again when the count changes)."""
    global _pool
    if _pool is None or _pool._max_workers != threads - 1:
        if _pool is not None:
            _pool.shutdown(wait=True)
        _pool = ThreadPoolExecutor(max_workers=threads - 1, thread_name_prefix="gelulab")
    return _pool


def _forget_pool() -> None:
    """A forked child has none of the parent's threads: its pool object would wait forever."""
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def chunks_for(n: int, per: int) -> int:
    """Chunks of ``per`` items that cover n items (one, empty, for n = 0)."""
    return max(1, -(-n // per))


def hand_outs(n_chunks: int, threads: int, out: np.ndarray | None) -> tuple[int, int]:
    """(step, first): chunks per hand-out, and where the shared counter starts (hand-out k covers
    chunks max(0, first + k * step) up to first + (k + 1) * step).

    A large output is written on transparent huge pages (see :mod:`.memory`), and the first write
    to each one faults it in: a 2 MiB clear. Two threads writing the same huge page at once both
    fault on it and the loser's clear is wasted, so there each hand-out is one huge page of the
    output, aligned with the pages (the first one is short; chunks of gated rows, which need not
    tile a page, come only close). Measured here, forward GELU into a fresh 2^24-element output
    on 2 threads took 22.1 ms with hand-outs of 2^17 elements against 18.8 ms with 2^19.
    Elsewhere a hand-out is at most BLOCK_CHUNKS chunks, and small enough for 4 per thread.
    """
    huge = memory.huge_page_bytes()
    if out is None or not huge or out.nbytes < memory.MIN_BYTES:
        return max(1, min(BLOCK_CHUNKS, n_chunks // (4 * threads))), 0
    # a chunk is a run of elements (1-d output) or rows (2-d); only the last one may be short
    chunk_bytes = -(-out.shape[0] // n_chunks) * out.strides[0]
    step = max(1, round(huge / chunk_bytes))
    lead = min(step, -(-((-out.ctypes.data) % huge) // chunk_bytes))  # chunks before a page starts
    return step, lead - step if lead else 0


def run_chunks(task, n_chunks: int, items: int, team: tuple | None = None) -> np.ndarray:
    """task(counts, c0, c1) over all chunks: on the OpenMP team given ``team`` = (driver, kind,
    arrays, sizes) and a team to run it on, else in blocks taken by the calling thread and the pool's."""
    counts = np.zeros(n_chunks, dtype=np.int64)
    threads = min(get_threads(), n_chunks)
    if threads == 1 or items < PARALLEL_MIN:
        task(counts, 0, n_chunks)
        return counts
    if team is not None and run_team(team[0], team[1], counts, threads, team[2], team[3]):
        return counts
    pool = _worker_pool(get_threads())
    step, first = hand_outs(n_chunks, threads, None if team is None else team[2][-1])
    blocks = itertools.count()  # next() is atomic: the GIL is held while it runs

    def work() -> None:
        while (c0 := first + next(blocks) * step) < n_chunks:
            task(counts, max(0, c0), min(n_chunks, c0 + step))

    jobs = [pool.submit(work) for _ in range(threads - 1)]
    try:
        work()
    finally:  # the workers write into the caller's arrays: never return before they stop
        for job in jobs:
            job.exception()
    for job in jobs:
        job.result()
    return counts


def full(grad: np.ndarray, shape: tuple[int, ...], dtype=np.float32) -> np.ndarray:
    """grad as a writeable C-contiguous array of ``shape`` (a read-only broadcast view would make numba
    compile a second, read-only specialisation of every kernel)."""
    grad = np.asarray(grad)
    if grad.shape == tuple(shape) and grad.flags.c_contiguous and grad.flags.writeable:
        return grad
    return np.array(np.broadcast_to(grad, shape), dtype=dtype, order="C")


def flat(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    return (a if a.flags.writeable else a.copy()).reshape(-1)


def output(shape: tuple[int, ...], out: np.ndarray | None, dtype=np.float32, inputs: tuple = ()) -> np.ndarray:
    """``out`` itself where the kernel can write it directly: C-contiguous, of the shape and dtype,
    and sharing no memory with an input (a kernel reads its inputs again after writing output, in
    its fallbacks); else a new array, which finish copies into ``out``."""
    if out is not None and out.flags.c_contiguous and out.shape == shape and out.dtype == dtype \
            and not any(np.may_share_memory(out, a) for a in inputs):
        return out
    return np.empty(shape, dtype=dtype)


def finish(result: np.ndarray, out: np.ndarray | None) -> np.ndarray:
    if out is None or result is out:
        return result
    out[...] = result
    return out


def flagged(counts: np.ndarray, per: int, n: int) -> np.ndarray:
    """Indices (of n items, in chunks of ``per``) in the chunks whose hard count is not zero."""
    idx = (np.flatnonzero(counts)[:, None] * per + np.arange(per)).reshape(-1)
    return idx[idx < n]


def run_elementwise(span, block, worker: str, code: int, kind: int, arrays: tuple,
                    fmt: int | None = None) -> np.ndarray | None:
    """Run an elementwise driver over flat arrays (output last, as long as the inputs; a table the
    driver reads may come first); the indices of the chunks holding undecided inputs, or None when
    there are none.

    Below PARALLEL_MIN elements ``span`` runs once on this thread (and a hard input flags the
    whole call); otherwise ``block`` runs over chunks on the threads, the OpenMP ``worker`` reading
    ``code`` as its kind.
    """
    n = arrays[-1].size
    if n < PARALLEL_MIN:
        return np.arange(n) if call(span, kind, *arrays, fmt=fmt) else None
    counts = run_chunks(lambda cs, c0, c1: call(block, kind, *arrays, cs, c0, c1, fmt=fmt),
                         chunks_for(n, CHUNK), n, (worker, code, arrays, (n,)))
    return flagged(counts, CHUNK, n) if np.count_nonzero(counts) else None


def rows(x: np.ndarray) -> tuple[np.ndarray, int, int]:
    x2 = np.ascontiguousarray(x)
    x2 = (x2 if x2.flags.writeable else x2.copy()).reshape(-1, x.shape[-1])
    per = max(1, CHUNK // max(1, x2.shape[1] // 2))
    return x2, per, chunks_for(x2.shape[0], per)
