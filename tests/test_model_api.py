"""The model API around training: train_on_batch / evaluate / predict against the NumPy
reference, diagnostics, frozen layers, reinitialization, weights and their layout,
summaries, building a Sequential and compile errors."""
import math
import warnings

import numpy as np
import pytest

import fastnn as fnn
import reference as ref

L = fnn.layers
O = fnn.optimizers
Ls = fnn.losses
LOGITS = Ls.SparseCategoricalCrossentropy(from_logits=True)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


def _data(n=60, d=6, k=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    y = (np.argmax(x[:, :k] + 0.5 * rng.normal(size=(n, k)), axis=1)).astype(np.int64)
    return x, y


def _mlp(seed=0, dtype="float64", d=6, k=3, extra=(), hidden=8):
    return fnn.Sequential([fnn.Input(d), L.Dense(hidden, activation="relu"), *extra, L.Dense(k)], seed=seed,
                          dtype=dtype)


def _same(a, b):
    return len(a) == len(b) and all(np.array_equal(u, v) for u, v in zip(a, b))

# ------------------------------------------------------------------ train_on_batch, evaluate, predict


def test_train_on_batch_metrics_are_pre_step():
    x, y = _data(30)
    m = _mlp(15)
    m.compile(O.SGD(0.5), LOGITS, metrics=["accuracy"])
    before = m.predict(x)
    out = m.train_on_batch(x, y, return_dict=True)
    assert out["accuracy"] == pytest.approx(np.mean(np.argmax(before, axis=1) == y))
    lp = ref.log_softmax(before)
    assert out["loss"] == pytest.approx(-np.mean(lp[np.arange(30), y]), rel=1e-12)
    assert not np.array_equal(before, m.predict(x))


def test_evaluate_matches_reference_and_forms():
    x, y = _data(30)
    reg = fnn.regularizers.L2(0.01)
    m = fnn.Sequential([fnn.Input(6), L.Dense(8, activation="relu", kernel_regularizer=reg), L.Dense(3)], seed=16,
                       dtype="float64")
    m.compile(O.Adam(), LOGITS, metrics=["accuracy"])
    w = m.get_weights()
    sw = np.linspace(0.1, 2, 30)
    logits = ref.mlp_predict(x, [(w[0], w[1]), (w[2], w[3])], ["relu", None])
    rows = -ref.log_softmax(logits)[np.arange(30), y]
    pen = 0.01 * np.sum(w[0] ** 2)
    loss, acc = m.evaluate(x, y)
    assert loss == pytest.approx(rows.mean() + pen, rel=1e-12)
    assert acc == pytest.approx(np.mean(np.argmax(logits, axis=1) == y))
    d = m.evaluate(x, y, sample_weight=sw, return_dict=True, batch_size=7)
    assert set(d) == {"loss", "accuracy"}
    assert d["loss"] == pytest.approx(np.sum(sw * rows) / 30 + pen, rel=1e-12)
    m.compile(O.Adam(), LOGITS)
    assert isinstance(m.evaluate(x, y), float)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_predict_is_batch_size_independent(dtype):
    x, _ = _data(257, d=6)
    m = _mlp(17, dtype=dtype, extra=(L.BatchNormalization(), L.Dropout(0.5)), hidden=33)
    m.compile(O.Adam(0.01), LOGITS)
    m.fit(x, np.zeros(257, np.int64), epochs=1, verbose=0)
    full = m.predict(x)
    assert full.dtype == np.dtype(dtype) and full.shape == (257, 3)
    for bs in (1, 2, 7, 64, 256, 1000):
        assert np.array_equal(m.predict(x, batch_size=bs), full)
    assert np.array_equal(m.predict(x[100:101]), full[100:101])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("x_dtype", ["float32", "float64"])
def test_small_network_predict_in_row_chunks_is_exact(dtype, x_dtype):
    # Small networks predict large batches in row chunks run in parallel (one thread per
    # chunk through every layer): the rows' results equal one-row batches bitwise at any
    # thread count, and a float64 reference.
    x, _ = _data(1500, d=7)
    x = x.astype(x_dtype)
    m = fnn.Sequential([fnn.Input(7), L.Dense(24, activation="tanh"), L.Dropout(0.3), L.LayerNormalization(),
                        L.Dense(16, activation="gelu"), L.Dense(5, activation="softmax")], seed=4, dtype=dtype)
    m.compile(O.Adam(0.01), Ls.SparseCategoricalCrossentropy())
    m.fit(x, np.arange(1500) % 5, epochs=1, verbose=0)
    n = fnn.get_num_threads()
    try:
        outs = []
        for t in (1, 2):
            fnn.set_num_threads(t)
            outs.append(m.predict(x, batch_size=4096))   # 1500 rows: 11 chunks
        fnn.set_num_threads(1)
        one = np.concatenate([m.predict(x[i:i + 1]) for i in range(0, 1500, 7)])
    finally:
        fnn.set_num_threads(n)
    assert np.array_equal(outs[0], outs[1])
    assert np.array_equal(outs[0][::7], one)
    w = m.get_weights()
    h = np.tanh(x.astype(dtype).astype(np.float64) @ w[0] + w[1])
    h = (h - h.mean(1, keepdims=True)) / np.sqrt(h.var(1, keepdims=True) + 1e-3) * w[2] + w[3]
    h = h @ w[4] + w[5]
    h = 0.5 * h * (1 + np.vectorize(math.erf)(h / np.sqrt(2)))
    want = ref.softmax(h @ w[6] + w[7])
    np.testing.assert_allclose(outs[0], want, rtol=0, atol=2e-5 if dtype == "float32" else 1e-12)


def test_float64_model_matches_reference():
    x, _ = _data(20)
    m = fnn.Sequential([fnn.Input(6), L.Dense(9, activation="tanh"), L.Dense(4, activation="softmax")], seed=3,
                       dtype="float64")
    w = m.get_weights()
    assert all(a.dtype == np.float64 for a in w)
    want = ref.mlp_predict(x, [(w[0], w[1]), (w[2], w[3])], ["tanh", "softmax"])
    got = m.predict(x)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)


# ------------------------------------------------------------------ diagnostics


def test_diagnostics():
    x, y = _data(24)
    d1, d2 = L.Dense(8, activation="relu"), L.Dense(5, activation="relu")
    m = fnn.Sequential([fnn.Input(6), d1, d2, L.Dense(3)], seed=18, dtype="float64")
    m.compile(O.SGD(0.1), LOGITS)
    d2.bias[...] = -100.0  # every unit of d2 is dead
    w0 = m.get_weights()
    params = [(w0[i], w0[i + 1]) for i in range(0, 6, 2)]
    _, grads = ref.mlp_loss_and_grads(x, y, params, ["relu", "relu", None], "sparse_ce_logits")
    h = m.fit(x, y, batch_size=24, epochs=1, verbose=0, diagnostics=True).history
    w1 = m.get_weights()
    flat = [g for pair in grads for g in pair]
    assert h["grad_norm"][0] == pytest.approx(ref.global_norm(*flat), rel=1e-10)
    names = [f"{l.name}.{n}" for l in m.layers for n in ("kernel", "bias")]
    for name, g, a, b in zip(names, flat, w0, w1):
        assert h[f"grad_norm/{name}"][0] == pytest.approx(np.linalg.norm(g), rel=1e-10, abs=1e-14)
        if np.linalg.norm(a) > 0:
            ratio = np.linalg.norm(b - a) / np.linalg.norm(a)
            assert h[f"update_ratio/{name}"][0] == pytest.approx(ratio, rel=1e-9, abs=1e-14)
        else:  # zero-initialized biases: infinite when they moved, else 0
            assert h[f"update_ratio/{name}"][0] == (math.inf if np.any(b != a) else 0.0)
    assert h[f"dead_relu/{d2.name}"] == [1.0]
    alive = np.maximum(x @ w0[0] + w0[1], 0).max(axis=0) > 0
    assert h[f"dead_relu/{d1.name}"][0] == pytest.approx(1 - alive.mean())
    assert not any(k.startswith("grad_norm") for k in m.fit(x, y, epochs=1, verbose=0).history)


# ------------------------------------------------------------------ frozen layers, weights


def test_frozen_layers_keep_their_weights():
    x, y = _data(40)
    d1, bn, d2 = L.Dense(8, activation="relu"), L.BatchNormalization(), L.Dense(3)
    m = fnn.Sequential([fnn.Input(6), d1, bn, d2], seed=19)
    m.compile(O.Adam(0.01), LOGITS)
    m.fit(x, y, epochs=1, verbose=0)
    d1.trainable = False
    bn.trainable = False
    before = {l.name: l.get_weights() for l in (d1, bn, d2)}
    it = m.optimizer.iterations
    m.fit(x, y, epochs=2, verbose=0)
    assert _same(d1.get_weights(), before[d1.name])
    assert _same(bn.get_weights(), before[bn.name])  # frozen BN: inference mode, statistics kept
    assert not np.array_equal(d2.kernel, before[d2.name][0])
    assert m.optimizer.iterations == it + 4  # the optimizer went on (state kept across the rebuild)
    d1.trainable = True
    m.fit(x, y, epochs=1, verbose=0)
    assert not np.array_equal(d1.kernel, before[d1.name][0])
    lines = []
    m.summary(print_fn=lines.append)
    d1.trainable = False
    lines2 = []
    m.summary(print_fn=lines2.append)
    # Dense 6-8: 56, BN(8): 16 + 16 moving statistics, Dense 8-3: 27 (BN is still frozen)
    assert "Trainable params: 83" in lines and "Non-trainable params: 32" in lines
    assert "Trainable params: 27" in lines2 and "Non-trainable params: 88" in lines2


def test_frozen_middle_layer_untouched_by_decoupled_decay():
    """A frozen layer between trainable ones: the update runs over runs of adjacent
    trainable tensors, and AdamW's decay (which moves every parameter it reaches, gradient
    or not) must not reach the frozen kernel and bias in the middle of the buffer."""
    x, y = _data(40)
    d1, mid, d3 = L.Dense(8, activation="relu"), L.Dense(7, activation="tanh", trainable=False), L.Dense(3)
    m = fnn.Sequential([fnn.Input(6), d1, mid, d3], seed=21)
    m.compile(O.AdamW(0.01, weight_decay=0.5), LOGITS)
    before = {l.name: l.get_weights() for l in (d1, mid, d3)}
    m.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert _same(mid.get_weights(), before[mid.name])
    assert not np.array_equal(d1.kernel, before[d1.name][0])
    assert not np.array_equal(d3.bias, before[d3.name][1])


def test_frozen_at_construction():
    x, y = _data(40)
    d1 = L.Dense(8, activation="relu", trainable=False)
    m = fnn.Sequential([fnn.Input(6), d1, L.Dense(3)], seed=20)
    m.compile(O.SGD(0.1), LOGITS)
    k = d1.get_weights()
    m.fit(x, y, epochs=1, verbose=0)
    assert _same(d1.get_weights(), k)


def test_reinitialize():
    x, y = _data(40)
    d1, bn = L.Dense(8, activation="relu"), L.BatchNormalization()
    m = fnn.Sequential([fnn.Input(6), d1, bn, L.Dense(3)], seed=21, dtype="float64")
    m.compile(O.Adam(0.01), LOGITS)
    m.fit(x, y, epochs=2, verbose=0)
    trained = d1.get_weights()
    d1.reinitialize(seed=1)
    first = d1.get_weights()
    assert not np.array_equal(first[0], trained[0]) and np.all(first[1] == 0)
    d1.reinitialize(seed=1)
    assert _same(d1.get_weights(), first)
    bn.reinitialize()
    assert np.all(bn.get_weights()[2] == 0) and np.all(bn.get_weights()[3] == 1)
    # the new values are what the engine uses
    w = m.get_weights()
    h = np.maximum(x @ w[0] + w[1], 0)
    h = w[2] * h / np.sqrt(1 + 1e-3) + w[3]
    np.testing.assert_allclose(m.predict(x), h @ w[6] + w[7], rtol=1e-12, atol=1e-13)
    m.fit(x, y, epochs=1, verbose=0)
    assert not np.array_equal(d1.kernel, first[0])


def test_get_set_weights_layout():
    x, _ = _data(10)
    m = fnn.Sequential([fnn.Input(6), L.Dense(4, activation="tanh"), L.BatchNormalization(), L.Dense(2)], seed=22,
                       dtype="float64")
    w = m.get_weights()
    assert [a.shape for a in w] == [(6, 4), (4,), (4,), (4,), (4,), (4,), (4, 2), (2,)]
    rng = np.random.default_rng(0)
    new = [rng.normal(size=a.shape) for a in w]
    new[5] = np.abs(new[5]) + 0.5  # moving variance
    m.set_weights(new)
    assert _same(m.get_weights(), new)
    h = np.tanh(x @ new[0] + new[1])
    h = new[2] * (h - new[4]) / np.sqrt(new[5] + 1e-3) + new[3]
    np.testing.assert_allclose(m.predict(x), h @ new[6] + new[7], rtol=1e-12)
    # copies, not views
    got = m.get_weights()
    got[0][...] = 0
    assert not np.all(m.get_weights()[0] == 0)
    with pytest.raises(ValueError, match="expects shape"):
        m.set_weights(new[:6] + [np.ones((2, 4)), new[7]])
    assert _same(m.get_weights(), new)
    # every weight, as Keras counts: BatchNormalization's moving mean and variance (4 + 4) too
    assert m.count_params() == 28 + 8 + 10 + 8 == sum(w.size for w in m.get_weights())
    lines = []
    m.summary(print_fn=lines.append)
    assert f"Total params: {m.count_params():,}" in lines
    assert [e[:2] for e in m.weight_layout] == [(m.layers[0].name, "kernel"), (m.layers[0].name, "bias"),
                                                 (m.layers[1].name, "gamma"), (m.layers[1].name, "beta"),
                                                 (m.layers[2].name, "kernel"), (m.layers[2].name, "bias")]


def test_summary_counts():
    m = fnn.Sequential([fnn.Input(10), L.Dense(5, activation="relu"), L.BatchNormalization(), L.Dropout(0.1),
                        L.Dense(3)], name="net")
    lines = []
    m.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert 'Model: "net"' in text
    assert "Total params: 93" in text          # 55 + 20 + 18
    assert "Trainable params: 83" in text
    assert "Non-trainable params: 10" in text  # BN moving statistics
    assert "(None, 5)" in text and "(None, 3)" in text


# ------------------------------------------------------------------ building and compiling


def test_sequential_without_input_is_built_at_fit():
    x, y = _data(30, d=7)
    m = fnn.Sequential([L.Dense(5, activation="relu"), L.Dense(3)], seed=23)
    assert not m.built
    m.compile(O.Adam(0.01), LOGITS, metrics=["accuracy"])
    with pytest.raises(ValueError, match="not built"):
        m.get_weights()
    h = m.fit(x, y, epochs=2, verbose=0)
    assert m.built and m.layers[0].kernel.shape == (7, 5)
    assert len(h.history["accuracy"]) == 2
    assert m.predict(x).shape == (30, 3)
    p = fnn.Sequential([L.Dense(2)], seed=0)
    assert p.predict(x).shape == (30, 2) and p.built


def test_sequential_with_input_builds_on_demand():
    m = fnn.Sequential([fnn.Input(4), L.Dense(3)], seed=0)
    assert len(m.get_weights()) == 2 and m.count_params() == 15


def test_compile_errors():
    m = _mlp(24)
    with pytest.raises(ValueError, match="loss"):
        m.compile("adam")
    with pytest.raises(ValueError, match="loss"):
        m.compile("adam", "no_such_loss")
    with pytest.raises(ValueError, match="optimizer"):
        m.compile("no_such_optimizer", "mse")
    with pytest.raises(TypeError, match="optimizer"):
        m.compile(3, "mse")
    with pytest.raises(ValueError, match="metrics"):
        m.compile("adam", "mse", metrics=["no_such_metric"])
    with pytest.raises(ValueError, match="loss_weights"):
        m.compile("adam", "mse", loss_weights=[-1.0])
    with pytest.raises(ValueError, match="loss"):
        m.compile("adam", ["mse", "mse"])
    with pytest.raises(ValueError, match="loss"):
        fnn.Sequential([fnn.Input(3), L.Dense(1)]).compile("adam", "sparse_categorical_crossentropy")
    with pytest.raises(RuntimeError, match="compile"):
        _mlp(24).fit(*_data(5), verbose=0)
    with pytest.raises(RuntimeError, match="compile"):
        _mlp(24).evaluate(*_data(5))
    # a failed compile leaves a compiled model as it was
    m.compile(O.SGD(0.1), LOGITS)
    with pytest.raises(ValueError):
        m.compile("adam", "no_such_loss")
    assert isinstance(m.optimizer, O.SGD)
    assert math.isfinite(m.evaluate(*_data(5)))


def test_frozen_layer_penalty_is_not_counted():
    """Training adds the penalties of trainable weights only; evaluate agrees (as Keras)."""
    x, y = _data(20)
    reg = fnn.regularizers.L2(1.0)
    m = fnn.Sequential([fnn.Input(6), L.Dense(4, kernel_regularizer=reg, trainable=False),
                        L.Dense(3, kernel_regularizer=reg)], seed=25, dtype="float64")
    m.compile(O.SGD(0.0), LOGITS)
    ev = m.evaluate(x, y)
    assert m.train_on_batch(x, y) == pytest.approx(ev, rel=1e-12)
    m.layers[0].trainable = True
    ev2 = m.evaluate(x, y)
    assert ev2 == pytest.approx(ev + float(reg(m.layers[0].kernel)), rel=1e-12)
    assert m.train_on_batch(x, y) == pytest.approx(ev2, rel=1e-12)


def test_layer_placed_in_a_second_model_leaves_the_first_models_weights_its_own():
    # A layer moves its weights into a later model's buffer; the first model keeps its own
    # copy, and its get_weights/set_weights/save act on that copy, never on the later model.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    y = rng.normal(size=(64, 1)).astype(np.float32)
    d = fnn.layers.Dense(1, name="shared_dense_reuse", kernel_regularizer=fnn.regularizers.L2(0.5))
    i1 = fnn.Input(4)
    m1 = fnn.Model(i1, d(i1), seed=0)
    m1.compile(fnn.optimizers.SGD(0.1), "mse")
    i2 = fnn.Input(4)
    m2 = fnn.Model(i2, d(i2), seed=1)
    m2.compile(fnn.optimizers.SGD(0.1), "mse")
    before = m1.predict(x)
    m2.fit(x, y, epochs=2, verbose=0)
    np.testing.assert_array_equal(m1.predict(x), before)
    k, b = m1.get_weights()
    np.testing.assert_allclose(x.astype(np.float64) @ k + b, before, rtol=1e-5, atol=1e-6)
    # evaluate's penalty is the first model's own kernel's
    want = np.mean((before.astype(np.float64) - y) ** 2) + 0.5 * np.sum(k.astype(np.float64) ** 2)
    np.testing.assert_allclose(m1.evaluate(x, y), want, rtol=1e-5)
    p2 = m2.predict(x)
    m1.set_weights([np.zeros((4, 1)), np.zeros(1)])
    assert np.all(m1.predict(x) == 0)
    np.testing.assert_array_equal(m2.predict(x), p2)


def test_single_input_and_output_given_as_one_element_lists():
    # [array] for a model's one input/output, as Keras takes it (and as predict returns it
    # for a model whose outputs are a list); a nested list of numbers stays data
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 3))
    y = rng.normal(size=(30, 1))
    inp = fnn.Input(3)
    m = fnn.Model([inp], [fnn.layers.Dense(1)(inp)], seed=0, dtype="float64")
    m.compile("sgd", "mse")
    want = m.evaluate(x, y)
    assert m.evaluate([x], [y]) == want
    p = m.predict([x])
    assert isinstance(p, list) and len(p) == 1
    assert m.evaluate([x], p) == 0.0
    np.testing.assert_array_equal(m.predict(x[:1].tolist())[0], p[0][:1])


def test_a_renamed_loss_keeps_its_kind_for_metrics():
    # the metrics' link (sigmoid vs softmax of logits) and "accuracy" follow the loss's
    # class, not its (user-chosen) name
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 3))
    y = (x[:, :1] > 0).astype(float)
    inp = fnn.Input(3)
    m = fnn.Model(inp, fnn.layers.Dense(1)(inp), seed=0, dtype="float64")
    m.compile("sgd", fnn.losses.BinaryCrossentropy(from_logits=True, name="my_bce"), metrics=["accuracy", "precision"])
    m.set_weights([np.array([[50.0], [0.0], [0.0]]), np.zeros(1)])
    assert type(m._metric_objs[0][0]).__name__ == "BinaryAccuracy"
    ev = m.evaluate(x, y, return_dict=True)
    assert ev["accuracy"] == 1.0 and ev["precision"] == 1.0


def test_train_on_batch_of_a_multi_output_model_reports_like_evaluate():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 5))
    ys = {"price": rng.normal(size=(40, 1)), "kind": rng.integers(0, 3, 40)}
    inp = fnn.Input(5)
    h = fnn.layers.Dense(8, activation="relu")(inp)
    m = fnn.Model(inp, {"price": fnn.layers.Dense(1)(h), "kind": fnn.layers.Dense(3)(h)}, seed=0, dtype="float64")
    m.compile(fnn.optimizers.SGD(0.0), {"price": "mse", "kind": fnn.losses.SparseCategoricalCrossentropy(True)},
              loss_weights={"price": 1.0, "kind": 0.5}, metrics={"kind": ["accuracy"]})
    ev = m.evaluate(x, ys, return_dict=True)
    tb = m.train_on_batch(x, ys, return_dict=True)  # learning rate 0: the same weights
    assert list(tb) == list(ev)
    for k in ev:
        assert tb[k] == pytest.approx(ev[k], rel=1e-10), k
    assert len(m.train_on_batch(x, ys)) == len(m.evaluate(x, ys)) == 4


def test_changing_a_normalization_constant_after_build_applies():
    rng = np.random.default_rng(0)
    x = rng.normal(loc=5.0, size=(64, 4))
    bn = fnn.layers.BatchNormalization(momentum=0.99)
    m = fnn.Sequential([fnn.Input(4), bn, fnn.layers.Dense(2)], seed=0, dtype="float64")
    m.compile(fnn.optimizers.SGD(0.0), "mse")
    bn.momentum = 0.0  # the running mean becomes the batch mean
    m.fit(x, np.zeros((64, 2)), batch_size=64, verbose=0)
    np.testing.assert_allclose(bn.get_weights()[2], x.mean(0), rtol=1e-12)
    bn.epsilon = 10.0
    out = m.predict(x)
    g, b, mean, var = bn.get_weights()
    k, c = m.layers[1].get_weights()
    np.testing.assert_allclose(out, (g * (x - mean) / np.sqrt(var + 10.0) + b) @ k + c, rtol=1e-10)


def test_settings_changed_after_compile_apply_at_the_next_call(tmp_path):
    # as Keras and torch: an optimizer hyperparameter or a loss parameter set after compile
    # applies to the next step; the saved model holds what was applied
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 4)), rng.normal(size=(32, 1))

    def make(momentum, delta):
        m = fnn.Sequential([fnn.Input(4), fnn.layers.Dense(1)], seed=0, dtype="float64")
        m.compile(fnn.optimizers.SGD(0.05, momentum=momentum), fnn.losses.Huber(delta=delta))
        return m

    late, ref = make(0.0, 1.0), make(0.9, 0.1)
    late.optimizer.momentum = 0.9
    late.loss.delta = 0.1
    h1 = late.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    h2 = ref.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    assert h1.history["loss"] == h2.history["loss"]
    assert all(np.array_equal(a, b) for a, b in zip(late.get_weights(), ref.get_weights()))
    assert late.evaluate(x, y) == ref.evaluate(x, y)
    late.save(tmp_path / "m.fnn")
    back = fnn.load_model(tmp_path / "m.fnn")
    back.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    ref.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(back.get_weights(), ref.get_weights()))


def test_an_optimizer_trains_one_model():
    opt = fnn.optimizers.Adam(0.01)
    a = fnn.Sequential([fnn.Input(3), fnn.layers.Dense(2)], seed=0)
    a.compile(opt, "mse")
    a.compile(opt, "mae")  # recompiling its own model is fine
    b = fnn.Sequential([fnn.Input(3), fnn.layers.Dense(2)], seed=0)
    with pytest.raises(ValueError, match="optimizer: this instance already trains another model"):
        b.compile(opt, "mse")


def test_shared_layers_keep_each_models_weights_through_rebuilds_and_python_layers():
    class Scale(fnn.layers.Layer):  # a Python layer with a weight: y = x * s
        def build(self, width):
            self.add_weight("s", (width,), initializer="ones")
            return width

        def forward(self, x, training=False):
            self._x = x
            return x * self.weights_dict["s"]

        def backward(self, dy):
            self.grads["s"] = (dy * self._x).sum(0)
            return dy * self.weights_dict["s"]

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 3)), rng.normal(size=(32, 1))
    d, s = fnn.layers.Dense(1, name="shared_dense_rebuild"), Scale(name="shared_scale")
    i1 = fnn.Input(3)
    out1 = fnn.layers.Dense(1, name="own_out")
    m1 = fnn.Model(i1, out1(d(s(i1))), seed=0, dtype="float64")
    m1.compile(fnn.optimizers.SGD(0.1), "mse")
    before = m1.predict(x)
    i2 = fnn.Input(3)
    m2 = fnn.Model(i2, d(s(i2)), seed=1, dtype="float64")
    m2.compile(fnn.optimizers.SGD(0.1), "mse")
    m2.set_weights([w * 0 for w in m2.get_weights()])
    m2.fit(x, y, epochs=1, verbose=0)
    np.testing.assert_array_equal(m1.predict(x), before)  # m1 keeps its copies, Python layer too
    out1.trainable = False  # rebuilds m1's engine: still its own weights
    np.testing.assert_array_equal(m1.predict(x), before)
    w2 = m2.get_weights()
    m1.fit(x, y, epochs=1, verbose=0)
    assert not np.array_equal(m1.get_weights()[0], np.ones(3))  # m1 trains its own Python weight
    assert all(np.array_equal(a, b) for a, b in zip(m2.get_weights(), w2))


def test_a_layer_used_twice_in_one_model_is_named():
    d = fnn.layers.Dense(3, name="twice_dense")
    i = fnn.Input(3)
    with pytest.raises(ValueError, match="layer 'twice_dense' is used twice in one model"):
        fnn.Model(i, d(d(i)))
