"""Embedded data sets: they ship inside an installed package or are generated procedurally (offline).

- ``pydoc_corpus``: the text of CPython's own documentation topics (``pydoc_data.topics``), about
  465 000 characters, as a character-level corpus; the last 10 % is validation.
- ``digits``: scikit-learn's 8x8 handwritten digits (1 797 images shipped in the package).
- ``mnist1d``: MNIST-1D (Greydanus 2020) built by the ``mnist1d`` package's procedural generator
  (``make_dataset``), never its download path; 4 000 train / 1 000 test signals of length 40.

Splits are fixed (independent of the run seed) so that every run of a sweep sees the same data.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class CharCorpus:
    """A character-level corpus: the vocabulary and the encoded train / validation streams."""

    chars: str  # index -> character
    train: np.ndarray  # int64 token ids
    val: np.ndarray
    source: str

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def decode(self, ids: np.ndarray) -> str:
        return "".join(self.chars[i] for i in ids)


def char_corpus(text: str, source: str, val_fraction: float = 0.1) -> CharCorpus:
    """Encode ``text`` with its own sorted character set; the last ``val_fraction`` is validation."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    if len(text) < 100:
        raise ValueError(f"corpus {source!r} is too short ({len(text)} characters)")
    chars = "".join(sorted(set(text)))
    lookup = {c: i for i, c in enumerate(chars)}
    ids = np.fromiter((lookup[c] for c in text), dtype=np.int64, count=len(text))
    split = int(len(ids) * (1.0 - val_fraction))
    return CharCorpus(chars=chars, train=ids[:split], val=ids[split:], source=source)


@functools.cache
def pydoc_corpus() -> CharCorpus:
    """CPython's documentation topics, concatenated in sorted key order (deterministic)."""
    from pydoc_data import topics

    text = "\n\n".join(topics.topics[key] for key in sorted(topics.topics))
    return char_corpus(text, source="pydoc_data.topics (CPython documentation)")


@dataclass(frozen=True)
class ArrayDataset:
    """Inputs and integer labels with a fixed train / test split."""

    x_train: np.ndarray  # float32
    y_train: np.ndarray  # int64
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    source: str


@functools.cache
def digits() -> ArrayDataset:
    """scikit-learn's digits as (N, 1, 8, 8) float32 in [0, 1]; a fixed 80/20 split (permutation seed 0)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (bunch.images.astype(np.float32) / 16.0)[:, None, :, :]
    y = bunch.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(y))
    x, y = x[order], y[order]
    split = int(0.8 * len(y))
    return ArrayDataset(x[:split], y[:split], x[split:], y[split:], 10, "sklearn.datasets.load_digits")


def cache_dir() -> Path:
    """Where generated data sets are cached: ``$GELULAB_CACHE``, else ``$XDG_CACHE_HOME/gelulab``
    (``~/.cache/gelulab``)."""
    if os.environ.get("GELULAB_CACHE"):
        return Path(os.environ["GELULAB_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "gelulab"


def _generate_mnist1d() -> dict[str, np.ndarray]:
    from mnist1d.data import get_dataset_args, make_dataset

    # make_dataset seeds NumPy's global generator; keep the caller's global state untouched.
    state = np.random.get_state()
    try:
        data = make_dataset(get_dataset_args())
    finally:
        np.random.set_state(state)
    return {"x": data["x"].astype(np.float32), "y": data["y"].astype(np.int64),
            "x_test": data["x_test"].astype(np.float32), "y_test": data["y_test"].astype(np.int64)}


@functools.cache
def mnist1d() -> ArrayDataset:
    """MNIST-1D with the paper's default arguments, generated locally (inputs (N, 40) float32).

    Generation takes seconds (5 000 signals through SciPy interpolation), so the arrays are cached
    in ``cache_dir()`` under a name carrying the generator's version and arguments.
    """
    from importlib.metadata import version

    from mnist1d.data import get_dataset_args

    args = {k: v for k, v in get_dataset_args(as_dict=True).items() if k != "url"}
    key = hashlib.sha256(json.dumps([version("mnist1d"), args], sort_keys=True).encode()).hexdigest()[:12]
    path = cache_dir() / f"mnist1d-{key}.npz"
    arrays = None
    if path.exists():
        try:
            with np.load(path) as f:
                arrays = {k: f[k] for k in ("x", "y", "x_test", "y_test")}
        except (OSError, ValueError, KeyError):  # a damaged cache file is regenerated
            arrays = None
    if arrays is None:
        arrays = _generate_mnist1d()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
            np.savez(tmp, **arrays)
            os.replace(tmp, path)  # atomic: concurrent workers never read a half-written file
        except OSError:  # a read-only home is no reason to fail
            pass
    return ArrayDataset(arrays["x"], arrays["y"], arrays["x_test"], arrays["y_test"], 10,
                        f"mnist1d.data.make_dataset (procedural, seed {args['seed']})")
