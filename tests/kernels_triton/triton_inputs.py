"""Bit-for-bit comparison of tensors and arrays (every NaN equal to every NaN), and input sets."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import torch

NP_DTYPES = {torch.float32: np.float32, torch.float16: np.float16, torch.bfloat16: ml_dtypes.bfloat16}
INT_VIEWS = {torch.float32: torch.int32, torch.float16: torch.int16, torch.bfloat16: torch.int16}


def to_numpy(t: torch.Tensor) -> np.ndarray:
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return t.numpy()


def from_numpy(a: np.ndarray) -> torch.Tensor:
    a = np.ascontiguousarray(a)
    if a.dtype == ml_dtypes.bfloat16:
        return torch.from_numpy(a.view(np.int16).copy()).view(torch.bfloat16)
    return torch.from_numpy(a.copy())


def mismatches(got: torch.Tensor, want: torch.Tensor | np.ndarray) -> np.ndarray:
    """Flat indices where the bit patterns differ (NaN matches NaN whatever its payload)."""
    want_t = want if isinstance(want, torch.Tensor) else from_numpy(np.asarray(want))
    assert got.shape == want_t.shape, (got.shape, want_t.shape)
    assert got.dtype == want_t.dtype, (got.dtype, want_t.dtype)
    iv = INT_VIEWS[got.dtype]
    same = got.contiguous().view(iv) == want_t.contiguous().view(iv)
    both_nan = torch.isnan(got.float()) & torch.isnan(want_t.float())
    return torch.nonzero(~(same | both_nan).reshape(-1)).reshape(-1).numpy()


def assert_bitwise(got: torch.Tensor, want: torch.Tensor | np.ndarray, x: torch.Tensor | None = None) -> int:
    """Assert equality bit for bit; returns the number of elements compared."""
    bad = mismatches(got, want)
    if bad.size:
        w = want if isinstance(want, torch.Tensor) else from_numpy(np.asarray(want))
        where = bad[:5]
        xs = x.reshape(-1)[where].tolist() if x is not None else None
        raise AssertionError(f"{bad.size} of {got.numel()} differ; x={xs} got={got.reshape(-1)[where].tolist()} "
                             f"want={w.reshape(-1)[where].tolist()}")
    return got.numel()


def all_16bit(dtype: torch.dtype) -> torch.Tensor:
    """Every bit pattern of a 16-bit format, as a tensor of that format."""
    return torch.arange(-32768, 32768, dtype=torch.int32).to(torch.int16).view(dtype)


def float32_hard_regions(seed: int = 0) -> torch.Tensor:
    """float32 inputs where activations go wrong: specials, subnormals, tiny x, the far-left tail
    (x < -8.3, where 1 + erf cancels), GELU's minimum (-0.7518) and SiLU's (-1.2785), and
    the clamps of the kernels (15, 120)."""
    rng = np.random.default_rng(seed)
    f = np.float32
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, np.finfo(f).max, -np.finfo(f).max, np.finfo(f).tiny,
                         -np.finfo(f).tiny, 2.0**-149, -(2.0**-149), 3 * 2.0**-149, -3 * 2.0**-149, 1.0, -1.0], f)
    sub = (rng.integers(1, 2**23, 300) * 2.0**-149).astype(f) * rng.choice([-1, 1], 300).astype(f)
    tiny = (2.0 ** rng.uniform(-126, -55, 300)).astype(f) * rng.choice([-1, 1], 300).astype(f)
    tail = -rng.uniform(8.3, 16.0, 600).astype(f)
    far = -(2.0 ** rng.uniform(4, 127, 200)).astype(f)
    big = (2.0 ** rng.uniform(3, 127, 200)).astype(f)
    parts = [specials, sub, tiny, tail, far, big, rng.normal(0, 4, 1500).astype(f)]
    for c in (-0.7518, -1.2785, -15.0, 15.0, -120.0, 120.0, -8.3, 2.0**-60, -(2.0**-60)):
        ulps = np.arange(-300, 300, dtype=np.int32)
        parts.append((np.array([c], f).view(np.int32) + ulps).view(f))
    return torch.from_numpy(np.concatenate(parts).astype(f))
