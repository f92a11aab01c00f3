"""Mid-sized networks (batch x Dense MACs around 1e5-1e6, where GEMMs may or may not thread
themselves) train to the same bits at any thread count, with dropout and layer norm."""
import numpy as np
import pytest

import fastnn as fnn

L = fnn.layers


def _model(seed=0, dtype="float64", dropout=0.0):
    # 32 rows x (64*128 + 128*64 + 64*10) MACs = 545k.
    layers = [L.Input(64), L.Dense(128, activation="tanh"), L.LayerNormalization(), L.Dense(64, activation="relu")]
    if dropout:
        layers.append(L.Dropout(dropout))
    m = fnn.Sequential(layers + [L.Dense(10)], seed=seed, dtype=dtype)
    m.compile(optimizer=fnn.optimizers.SGD(0.0), loss=fnn.losses.SparseCategoricalCrossentropy(from_logits=True))
    return m


def _data(n=32):
    rng = np.random.default_rng(3)
    return rng.standard_normal((n, 64)), rng.integers(0, 10, n)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_training_is_thread_count_independent(dtype):
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
