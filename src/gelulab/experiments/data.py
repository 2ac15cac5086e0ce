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
from dataclasses import dataclass

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


@functools.cache
def mnist1d() -> ArrayDataset:
    """MNIST-1D with the paper's default arguments, generated locally (inputs (N, 40) float32)."""
    from mnist1d.data import get_dataset_args, make_dataset

    # make_dataset seeds NumPy's global generator; keep the caller's global state untouched.
    state = np.random.get_state()
    try:
        data = make_dataset(get_dataset_args())
    finally:
        np.random.set_state(state)
    return ArrayDataset(
        data["x"].astype(np.float32), data["y"].astype(np.int64),
        data["x_test"].astype(np.float32), data["y_test"].astype(np.int64),
        10, "mnist1d.data.make_dataset (procedural, seed 42)",
    )
