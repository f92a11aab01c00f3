"""fit_many: K variants trained at once equal each variant trained alone, bitwise."""
import numpy as np
import pytest

import fastnn as fnn
from fastnn.many import _variant_model

L = fnn.layers


def _template(dtype="float32"):
    m = fnn.Sequential([L.Input(6), L.Dense(16, activation="relu"), L.Dropout(0.1), L.Dense(3)], seed=0, dtype=dtype)
    m.compile(optimizer=fnn.optimizers.Adam(1e-3), loss=fnn.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])
    return m


@pytest.fixture
def data():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((300, 6)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1)
    return x, y


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("threads", [1, 2])
def test_each_model_equals_training_it_alone(data, dtype, threads):
    x, y = data
    before = fnn.get_num_threads()
    fnn.set_num_threads(threads)
    try:
        t = _template(dtype)
        variants = [{"seed": s, "learning_rate": 1e-3 * (s + 1), "l2": 1e-3 * s, "dropout": 0.1 * s,
                     "weight_decay": 0.0} for s in range(4)]
        models = fnn.fit_many(t, x, y, variants, batch_size=32, epochs=2, validation_data=(x[:50], y[:50]))
        for v, m in zip(variants, models):
            alone = _variant_model(t, v)
            h = alone.fit(x, y, batch_size=32, epochs=2, verbose=0)
            for a, b in zip(m.get_weights(), alone.get_weights()):
                assert np.array_equal(a, b)
            assert m.history["loss"] == h.history["loss"]
            assert len(m.history["val_loss"]) == 2
        # different variants really differ
        assert not np.array_equal(models[0].get_weights()[0], models[1].get_weights()[0])
    finally:
        fnn.set_num_threads(before)


def test_template_unchanged(data):
    x, y = data
    t = _template()
    w0 = t.get_weights()
    fnn.fit_many(t, x, y, [{"seed": 1}, {"seed": 2}], epochs=1)
    assert all(np.array_equal(a, b) for a, b in zip(w0, t.get_weights()))


@pytest.mark.parametrize("variants,err", [
    ([], ValueError), ("x", ValueError), ([{"seed": 1}, {"lr": 2}], ValueError), ([{"seed": 1}, {}], ValueError),
    ([{"seed": -1}], ValueError), ([{"learning_rate": float("nan")}], ValueError), ([3], TypeError),
])
def test_bad_variants(data, variants, err):
    x, y = data
    with pytest.raises(err):
        fnn.fit_many(_template(), x, y, variants)


def test_validation_data_as_model_fit_takes_it(data):
    x, y = data
    t = _template()
    vw = np.linspace(0.1, 2.0, 50)
    models = fnn.fit_many(t, x, y, [{"seed": 1}], batch_size=32, epochs=1, validation_data=(x[:50], y[:50], vw))
    alone = _variant_model(t, {"seed": 1})
    h = alone.fit(x, y, batch_size=32, epochs=1, verbose=0, validation_data=(x[:50], y[:50], vw))
    assert models[0].history["val_loss"] == h.history["val_loss"]
    for bad in ((x[:50],), x[:50], (x[:50], y[:50], vw, vw)):
        with pytest.raises(ValueError, match=r"validation_data: expected \(x_val, y_val\)"):
            fnn.fit_many(t, x, y, [{"seed": 1}], epochs=1, validation_data=bad)
