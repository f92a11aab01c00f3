"""Small networks run each batch as row chunks on several threads (csrc/train/epoch.cpp):
the chunked gradient equals the whole-batch one, and results do not depend on threads."""
import numpy as np
import pytest

import fastnn as fnn

L = fnn.layers


def _model(seed=0, dtype="float64", dropout=0.0):
    # 32 rows x (64*128 + 128*64 + 64*10) MACs = 545k: inside the chunking window.
    layers = [L.Input(64), L.Dense(128, activation="tanh"), L.LayerNormalization(), L.Dense(64, activation="relu")]
    if dropout:
        layers.append(L.Dropout(dropout))
    m = fnn.Sequential(layers + [L.Dense(10)], seed=seed, dtype=dtype)
    m.compile(optimizer=fnn.optimizers.SGD(0.0), loss=fnn.losses.SparseCategoricalCrossentropy(from_logits=True))
    return m


def _data(n=32):
    rng = np.random.default_rng(3)
    return rng.standard_normal((n, 64)), rng.integers(0, 10, n)


def test_shapes_are_chunked():
    m = _model()
    eng = m._engine
    assert eng is not None
    # 2 chunks of 16 rows: compare the gradient of a chunked step with the unchunked one.
    x, y = _data()
    m.train_on_batch(x, y)                      # SGD(0): weights unchanged, grads kept
    chunked = m._engine.grads.copy()
    m._engine.compute_gradients([x], [np.empty(0)], [y.astype(np.int64)], None, 32, 0, [])
    whole = m._engine.grads.copy()
    assert np.allclose(chunked, whole, rtol=1e-12, atol=1e-14)
    # ... and it really was chunked: the two K halves round differently from one sweep.
    assert not np.array_equal(chunked, whole)
    assert not np.array_equal(chunked, np.zeros_like(chunked))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_chunked_training_is_thread_count_independent(dtype):
    x, y = _data(320)
    out = []
    before = fnn.get_num_threads()
    try:
        for t in (1, 2):
            fnn.set_num_threads(t)
            m = _model(seed=5, dtype=dtype, dropout=0.2)
            m.compile(optimizer=fnn.optimizers.Adam(1e-3), loss=fnn.losses.SparseCategoricalCrossentropy(from_logits=True))
            m.fit(x, y, batch_size=32, epochs=2, verbose=0)
            out.append(np.concatenate([w.ravel() for w in m.get_weights()]))
    finally:
        fnn.set_num_threads(before)
    assert np.array_equal(out[0], out[1])
