"""The shared input sampler: the inputs every accuracy test and sampled scan looks at.

Systematic, like PyTorch's OpInfo samples and CORE-MATH's worst cases, rather than one happy
path: special values and signed zeros, subnormals, the normal range edges, every power of two,
the tails out to where the output underflows, the neighbourhoods of the roots of the first and
second derivatives (GELU's minimum near -0.7518, its inflection points at +-sqrt(2)), and random
inputs (uniform on the central range and uniform over bit patterns).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..functions import get

_INT = {np.dtype(np.float64): np.int64, np.dtype(np.float32): np.int32, np.dtype(np.float16): np.int16}


def _finfo(dtype: np.dtype) -> np.finfo:
    return np.finfo(dtype)


def special_values(dtype: np.dtype) -> np.ndarray:
    fi = _finfo(dtype)
    vals = [np.nan, np.inf, -np.inf, 0.0, -0.0, float(fi.max), -float(fi.max), float(fi.smallest_normal),
            -float(fi.smallest_normal), float(fi.smallest_subnormal), -float(fi.smallest_subnormal)]
    return np.array(vals, dtype=np.float64).astype(dtype)


def subnormals(dtype: np.dtype, n: int, rng: np.random.Generator) -> np.ndarray:
    fi = _finfo(dtype)
    largest_sub = np.nextafter(dtype.type(fi.smallest_normal), dtype.type(0))
    ints = rng.integers(1, int(largest_sub.view(_INT[dtype])) + 1, size=n, dtype=np.int64)
    vals = ints.astype(_INT[dtype]).view(dtype)
    signs = np.where(rng.random(n) < 0.5, -1, 1).astype(dtype)
    return np.concatenate([vals * signs, [largest_sub, -largest_sub]]).astype(dtype)


def powers_of_two(dtype: np.dtype, step: int = 1) -> np.ndarray:
    fi = _finfo(dtype)
    exps = np.arange(int(np.log2(float(fi.smallest_subnormal))), int(fi.maxexp), step)
    vals = np.ldexp(1.0, exps)
    return np.concatenate([vals, -vals]).astype(dtype)


def neighbours(centre: float, dtype: np.dtype, count: int = 6) -> np.ndarray:
    """The ``count`` representable values either side of ``centre`` (rounded into dtype)."""
    c = dtype.type(centre)
    out = [c]
    up, down = c, c
    for _ in range(count):
        up = np.nextafter(up, dtype.type(np.inf))
        down = np.nextafter(down, dtype.type(-np.inf))
        out += [up, down]
    return np.array(out, dtype=dtype)


def around(centre: float, dtype: np.dtype, rng: np.random.Generator, n: int = 12) -> np.ndarray:
    """Neighbours of ``centre`` plus points at geometric distances from 2**-2 down to one ulp."""
    eps = float(_finfo(dtype).eps)
    dists = np.geomspace(0.25, max(abs(centre), 1e-300) * eps, n)
    pts = np.concatenate([centre + dists, centre - dists])
    with np.errstate(over="ignore"):
        return np.concatenate([neighbours(centre, dtype, 4), pts.astype(dtype)])


def tail_inputs(dtype: np.dtype, rng: np.random.Generator, n: int) -> np.ndarray:
    """|x| log-uniform in [2**-4, 2**6]: covers GELU's tails out past where outputs underflow."""
    mags = np.exp2(rng.uniform(-4, 6.3, n))
    return np.concatenate([-mags, mags]).astype(dtype)


def random_bits(dtype: np.dtype, rng: np.random.Generator, n: int) -> np.ndarray:
    """Uniform over finite bit patterns: every binade equally likely."""
    it = _INT[dtype]
    info = np.iinfo(it)
    raw = rng.integers(info.min, info.max, size=4 * n, dtype=np.int64).astype(it).view(dtype)
    raw = raw[np.isfinite(raw)]
    return raw[:n]


def derivative_roots(name: str) -> list[float]:
    """Where f' and f'' cross zero, located with the mpmath oracle (not read from the registry)."""
    from ..functions.root_patches import find_roots

    spec = get(name)
    if not spec.smooth:
        return []
    return [float(r) for order in (1, 2) for r in find_roots(spec.name, order)]


def sample_inputs(
    dtype: object,
    name: str | None = None,
    *,
    n_random: int = 400,
    seed: int = 0,
    extra_centres: Iterable[float] = (),
) -> np.ndarray:
    """The sampled inputs for one dtype (and, when ``name`` is given, its roots), deduplicated by bits."""
    dtype = np.dtype(dtype)
    rng = np.random.default_rng(seed)
    centres = [0.0, 1.0, -1.0, -3.0, 3.0, 6.0, *extra_centres]
    if name is not None:
        centres += derivative_roots(name)
    parts = [
        special_values(dtype),
        subnormals(dtype, max(8, n_random // 20), rng),
        powers_of_two(dtype, step={2: 1, 4: 3}.get(dtype.itemsize, 24)),
        tail_inputs(dtype, rng, n_random // 2),
        rng.uniform(-10, 10, n_random).astype(dtype),
        random_bits(dtype, rng, n_random // 2),
    ]
    parts += [around(c, dtype, rng) for c in centres]
    allx = np.concatenate([p.astype(dtype) for p in parts])
    _, idx = np.unique(allx.view(_INT[dtype]), return_index=True)
    return allx[np.sort(idx)]
