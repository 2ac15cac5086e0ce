from __future__ import annotations

import numpy as np
import pytest

from gelulab.experiments import data


def test_pydoc_corpus_is_cpython_text_split_90_10_and_round_trips():
    from pydoc_data import topics

    corpus = data.pydoc_corpus()
    text = "\n\n".join(topics.topics[k] for k in sorted(topics.topics))
    assert len(corpus.train) + len(corpus.val) == len(text)
    assert len(corpus.val) == len(text) - int(0.9 * len(text))
    assert corpus.decode(corpus.train[:200]) == text[:200]
    assert corpus.decode(corpus.val[-50:]) == text[-50:]
    assert corpus.vocab_size == len(set(text))


def test_char_corpus_rejects_short_text_and_bad_fraction():
    with pytest.raises(ValueError, match="too short"):
        data.char_corpus("abc", "tiny")
    with pytest.raises(ValueError, match="val_fraction"):
        data.char_corpus("x" * 1000, "t", val_fraction=1.5)


def test_digits_split_is_fixed_and_scaled_to_unit_interval():
    d = data.digits()
    assert d.x_train.shape[1:] == (1, 8, 8) and d.x_train.dtype == np.float32
    assert len(d.y_train) + len(d.y_test) == 1797
    assert d.x_train.min() >= 0.0 and d.x_train.max() <= 1.0
    assert set(np.unique(d.y_test)) == set(range(10))


def test_mnist1d_is_generated_offline_without_touching_global_numpy_state(monkeypatch, tmp_path):
    import socket

    def no_network(*args, **kwargs):
        raise AssertionError("MNIST-1D must be generated locally, not downloaded")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setenv("GELULAB_CACHE", str(tmp_path))
    data.mnist1d.cache_clear()
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    d = data.mnist1d()
    assert np.array_equal(np.random.get_state()[1], before)
    assert d.x_train.shape == (4000, 40) and d.x_test.shape == (1000, 40)
    assert np.bincount(np.concatenate([d.y_train, d.y_test])).tolist() == [500] * 10
    (cached,) = tmp_path.glob("mnist1d-*.npz")
    data.mnist1d.cache_clear()
    again = data.mnist1d()  # read back from the cache file, identical
    assert np.array_equal(again.x_test, d.x_test) and np.array_equal(again.y_train, d.y_train)
    cached.write_bytes(b"damaged")
    data.mnist1d.cache_clear()
    assert np.array_equal(data.mnist1d().x_train, d.x_train)  # a damaged cache is regenerated
    data.mnist1d.cache_clear()
