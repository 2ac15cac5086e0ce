"""Loaders for public data sets a user already has on disk (gelulab never downloads them).

- Tiny Shakespeare: the single ``input.txt`` (char-level; the last 10 % is validation, as in nanoGPT).
- WikiText-2/-103: a folder with ``wiki.train.tokens`` and ``wiki.valid.tokens`` (or the ``.raw`` files).
- MNIST: the four IDX files (``train-images-idx3-ubyte`` etc., optionally ``.gz``).
- CIFAR-10: the ``cifar-10-batches-py`` folder (``data_batch_1..5``, ``test_batch``: Python pickles;
  unpickling runs code from the file, so load only copies you trust).

A missing path raises ``DatasetNotFoundError`` naming the file expected and where it comes from.
"""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np

from .data import ArrayDataset, CharCorpus, char_corpus, pydoc_corpus


class DatasetNotFoundError(FileNotFoundError):
    """A data set file the user pointed at is not there."""


def _need(path: Path, what: str) -> Path:
    if not path.exists():
        raise DatasetNotFoundError(f"{what} not found at {path} (gelulab does not download data sets; "
                                   "point at a copy you already have)")
    return path


def load_tiny_shakespeare(path: str | Path) -> CharCorpus:
    """Tiny Shakespeare's ``input.txt`` (or the folder holding it) as a character corpus."""
    p = Path(path)
    if p.is_dir():
        p = p / "input.txt"
    text = _need(p, "Tiny Shakespeare input.txt").read_text(encoding="utf-8")
    return char_corpus(text, source=f"Tiny Shakespeare ({p})")


def load_wikitext(folder: str | Path) -> CharCorpus:
    """WikiText train and validation files as one character corpus (vocabulary of both)."""
    d = _need(Path(folder), "WikiText folder")
    texts = {}
    for split in ("train", "valid"):
        candidates = [d / f"wiki.{split}.tokens", d / f"wiki.{split}.raw"]
        found = next((c for c in candidates if c.exists()), None)
        if found is None:
            raise DatasetNotFoundError(f"WikiText {split} split not found in {d} (expected "
                                       f"{candidates[0].name} or {candidates[1].name})")
        texts[split] = found.read_text(encoding="utf-8")
    chars = "".join(sorted(set(texts["train"]) | set(texts["valid"])))
    lookup = {c: i for i, c in enumerate(chars)}

    def encode(t: str) -> np.ndarray:
        return np.fromiter((lookup[c] for c in t), dtype=np.int64, count=len(t))

    return CharCorpus(chars=chars, train=encode(texts["train"]), val=encode(texts["valid"]),
                      source=f"WikiText ({d})")


def load_text_corpus(spec: str) -> CharCorpus:
    """``pydoc`` | ``shakespeare:PATH`` | ``wikitext:FOLDER`` -> a character corpus."""
    kind, _, path = spec.partition(":")
    if kind == "pydoc" and not path:
        return pydoc_corpus()
    if kind == "shakespeare" and path:
        return load_tiny_shakespeare(path)
    if kind == "wikitext" and path:
        return load_wikitext(path)
    raise ValueError(f"unknown corpus {spec!r}; use pydoc, shakespeare:PATH or wikitext:FOLDER")


# --- MNIST (IDX) ---------------------------------------------------------------------------------

_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """An IDX array: magic 0x0000TTNN (TT: element type, NN: number of dimensions), big-endian sizes."""
    p = Path(path)
    if not p.exists() and Path(f"{p}.gz").exists():
        p = Path(f"{p}.gz")
    raw = (gzip.decompress if p.suffix == ".gz" else bytes)(_need(p, "IDX file").read_bytes())
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"{p} is not an IDX file (bad magic number)")
    ndim = raw[3]
    dims = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    count = int(np.prod(dims)) if dims else 1
    body = raw[4 + 4 * ndim :]
    if len(body) != count * dtype.itemsize:
        raise ValueError(f"{p}: header says {dims} ({count * dtype.itemsize} bytes), file has {len(body)}")
    return np.frombuffer(body, dtype=dtype).reshape(dims)


def load_mnist(folder: str | Path) -> ArrayDataset:
    """MNIST's four IDX files -> (N, 1, 28, 28) float32 in [0, 1] and int64 labels."""
    d = _need(Path(folder), "MNIST folder")
    parts = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images = read_idx(d / f"{prefix}-images-idx3-ubyte")
        labels = read_idx(d / f"{prefix}-labels-idx1-ubyte")
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f"MNIST {split} files in {d} disagree: images {images.shape}, labels {labels.shape}")
        parts[split] = ((images.astype(np.float32) / 255.0)[:, None], labels.astype(np.int64))
    return ArrayDataset(*parts["train"], *parts["test"], n_classes=10, source=f"MNIST ({d})")


# --- CIFAR-10 (python pickles) ---------------------------------------------------------------------

def _cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with _need(path, "CIFAR-10 batch").open("rb") as fh:
        batch = pickle.load(fh, encoding="bytes")
    data = np.asarray(batch[b"data"], dtype=np.uint8)
    labels = np.asarray(batch[b"labels"], dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(data) != len(labels):
        raise ValueError(f"{path} is not a CIFAR-10 batch (data {data.shape}, labels {labels.shape})")
    return (data.reshape(-1, 3, 32, 32).astype(np.float32) / 255.0), labels


def load_cifar10(folder: str | Path) -> ArrayDataset:
    """``cifar-10-batches-py`` -> (N, 3, 32, 32) float32 in [0, 1] (channels R, G, B) and labels."""
    d = _need(Path(folder), "CIFAR-10 folder (cifar-10-batches-py)")
    train = [_cifar_batch(d / f"data_batch_{i}") for i in range(1, 6)]
    x_test, y_test = _cifar_batch(d / "test_batch")
    return ArrayDataset(np.concatenate([x for x, _ in train]), np.concatenate([y for _, y in train]),
                        x_test, y_test, n_classes=10, source=f"CIFAR-10 ({d})")
