from __future__ import annotations

import gzip
import pickle
import struct

import numpy as np
import pytest

from gelulab.experiments import loaders


def _write_idx(path, array: np.ndarray, compress: bool = False) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    if compress:
        path = path.with_name(path.name + ".gz")
        raw = gzip.compress(raw)
    path.write_bytes(raw)


def test_tiny_shakespeare_file_or_folder(tmp_path):
    text = "First Citizen:\nBefore we proceed any further, hear me speak.\n" * 10
    (tmp_path / "input.txt").write_text(text, encoding="utf-8")
    for where in (tmp_path, tmp_path / "input.txt"):
        corpus = loaders.load_tiny_shakespeare(where)
        assert corpus.decode(np.concatenate([corpus.train, corpus.val])) == text
        assert corpus.vocab_size == len(set(text))


def test_wikitext_uses_train_and_valid_files(tmp_path):
    (tmp_path / "wiki.train.tokens").write_text(" = Valkyria = \n the game was released . \n" * 5)
    (tmp_path / "wiki.valid.tokens").write_text(" = Homarus = \n lobster ! \n")
    corpus = loaders.load_wikitext(tmp_path)
    assert corpus.decode(corpus.val) == " = Homarus = \n lobster ! \n"
    assert "!" in corpus.chars and "V" in corpus.chars


def test_mnist_idx_plain_and_gzipped(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 28, 28))
    labels = np.array([3, 1, 4, 1, 5])
    _write_idx(tmp_path / "train-images-idx3-ubyte", images)
    _write_idx(tmp_path / "train-labels-idx1-ubyte", labels)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", images[:2], compress=True)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels[:2], compress=True)
    ds = loaders.load_mnist(tmp_path)
    assert ds.x_train.shape == (5, 1, 28, 28) and ds.x_test.shape == (2, 1, 28, 28)
    assert ds.y_train.tolist() == [3, 1, 4, 1, 5]
    assert ds.x_train[2, 0, 7, 9] == pytest.approx(images[2, 7, 9] / 255.0)


def test_mnist_bad_magic_and_truncated_file_are_refused(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x12\x34\x08\x01" + struct.pack(">I", 3) + b"abc")
    with pytest.raises(ValueError, match="magic"):
        loaders.read_idx(tmp_path / "bad")
    (tmp_path / "short").write_bytes(bytes([0, 0, 8, 1]) + struct.pack(">I", 10) + b"abc")
    with pytest.raises(ValueError, match="header says"):
        loaders.read_idx(tmp_path / "short")


def test_cifar10_python_batches(tmp_path):
    rng = np.random.default_rng(1)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, size=(2, 3072), dtype=np.uint8), b"labels": [7, 2]}
        with (tmp_path / name).open("wb") as fh:
            pickle.dump(batch, fh)
    ds = loaders.load_cifar10(tmp_path)
    assert ds.x_train.shape == (10, 3, 32, 32) and ds.x_test.shape == (2, 3, 32, 32)
    with (tmp_path / "test_batch").open("rb") as fh:
        raw = pickle.load(fh)[b"data"]
    # row-major 3072 = 3 channel planes of 32 x 32: red plane first
    assert ds.x_test[1, 0, 0, 5] == pytest.approx(raw[1, 5] / 255.0)
    assert ds.x_test[1, 2, 31, 31] == pytest.approx(raw[1, 3071] / 255.0)


@pytest.mark.parametrize("loader", [loaders.load_tiny_shakespeare, loaders.load_wikitext, loaders.load_mnist,
                                    loaders.load_cifar10])
def test_missing_path_gives_a_clear_error(tmp_path, loader):
    with pytest.raises(loaders.DatasetNotFoundError, match="not found at .*does not download"):
        loader(tmp_path / "nowhere")


def test_text_corpus_spec(tmp_path):
    (tmp_path / "input.txt").write_text("to be or not to be " * 20)
    assert loaders.load_text_corpus(f"shakespeare:{tmp_path}").vocab_size == len(set("to be or not"))
    with pytest.raises(ValueError, match="unknown corpus"):
        loaders.load_text_corpus("gutenberg:/x")
