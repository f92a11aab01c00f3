"""Training the engine: optimizer steps of a small MLP against the NumPy float64 reference
(tests/reference.py, model section), determinism across thread counts, and accuracy on
scikit-learn's digits.  Callbacks, schedules and the rest of the fit API are in
test_model_fit.py and test_model_api.py."""
import warnings

import numpy as np
import pytest

import fastnn as fnn
import reference as ref

L = fnn.layers
O = fnn.optimizers
Ls = fnn.losses


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


# ------------------------------------------------------------------ one step vs the reference

N_IN, N_ROWS = 6, 11
ACTS = ["relu", "tanh", None]

OPTIMIZERS = [
    ("sgd", dict(learning_rate=0.1)),
    ("sgd", dict(learning_rate=0.05, momentum=0.9)),
    ("sgd", dict(learning_rate=0.05, momentum=0.9, nesterov=True)),
    ("sgd", dict(learning_rate=0.05, momentum=0.8, dampening=0.3, weight_decay=0.01)),
    ("rmsprop", dict(learning_rate=0.01)),
    ("rmsprop", dict(learning_rate=0.01, rho=0.8, centered=True)),
    ("rmsprop", dict(learning_rate=0.01, momentum=0.5, centered=True, weight_decay=0.02)),
    ("adagrad", dict(learning_rate=0.1)),
    ("adagrad", dict(learning_rate=0.1, lr_decay=0.05, initial_accumulator_value=0.3, weight_decay=0.01)),
    ("adadelta", dict(learning_rate=1.0)),
    ("adadelta", dict(learning_rate=0.5, rho=0.9, epsilon=1e-6, weight_decay=0.01)),
    ("adam", dict(learning_rate=0.01)),
    ("adam", dict(learning_rate=0.01, beta_1=0.8, beta_2=0.99, amsgrad=True, weight_decay=0.01)),
    ("adamw", dict(learning_rate=0.01, weight_decay=0.1)),
    ("adamw", dict(learning_rate=0.01)),
    ("adamax", dict(learning_rate=0.01)),
    ("adamax", dict(learning_rate=0.02, beta_1=0.7, weight_decay=0.01)),
    ("nadam", dict(learning_rate=0.01)),
    ("nadam", dict(learning_rate=0.01, momentum_decay=0.01, weight_decay=0.01)),
    # clipping (thresholds well below the gradient norms of this problem)
    ("sgd", dict(learning_rate=0.1, clipnorm=0.05)),
    ("sgd", dict(learning_rate=0.1, global_clipnorm=0.05)),
    ("sgd", dict(learning_rate=0.1, clipvalue=0.01)),
    ("adam", dict(learning_rate=0.01, clipnorm=0.2, global_clipnorm=0.1, clipvalue=0.02)),
]
CLASSES = {"sgd": O.SGD, "rmsprop": O.RMSprop, "adagrad": O.Adagrad, "adadelta": O.Adadelta, "adam": O.Adam,
           "adamw": O.AdamW, "adamax": O.Adamax, "nadam": O.Nadam}


def _opt_id(case):
    kind, hp = case
    return kind + "".join(f"-{k}{v}" for k, v in hp.items() if k != "learning_rate")


def _mlp(dtype, seed, out_units=3, out_act=None, reg=None, hidden=(7, 5)):
    layers = [fnn.Input(N_IN)]
    for units, act in zip(hidden, ACTS[:2]):
        layers.append(L.Dense(units, activation=act, kernel_regularizer=reg, bias_regularizer=reg,
                              bias_initializer="glorot_uniform"))
    layers.append(L.Dense(out_units, activation=out_act, kernel_regularizer=reg, bias_regularizer=reg,
                          bias_initializer="glorot_uniform"))
    return fnn.Sequential(layers, dtype=dtype, seed=seed)


def _pairs(weights):
    return [(weights[2 * i], weights[2 * i + 1]) for i in range(len(weights) // 2)]


def _batches(seed, loss, n_steps=3):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_steps):
        x = rng.normal(size=(N_ROWS, N_IN))
        y = rng.integers(0, 3, N_ROWS) if loss.startswith("sparse") else rng.normal(size=(N_ROWS, 3))
        out.append((x, y))
    return out


def _assert_trajectory(model, kind, hp, loss, acts, dtype, l1=0.0, l2=0.0, sample_weight=None, seed=0):
    rtol, atol = (1e-10, 1e-12) if dtype == "float64" else (2e-5, 2e-6)
    params = [(np.asarray(w, np.float64), np.asarray(b, np.float64)) for w, b in _pairs(model.get_weights())]
    state = ref.optimizer_init(kind, [a for p in params for a in p], hp.get("initial_accumulator_value", 0.1))
    for t, (x, y) in enumerate(_batches(seed, loss), start=1):
        xm = x.astype(dtype)  # the reference sees exactly the model's inputs
        got_loss = model.train_on_batch(xm, y, sample_weight=sample_weight)
        want_loss, params = ref.mlp_train_step(xm, y, params, acts, loss, kind, hp, state, t, sample_weight, l1, l2)
        assert got_loss == pytest.approx(want_loss, rel=rtol * 10, abs=atol)
        for (w, b), (gw, gb) in zip(params, _pairs(model.get_weights())):
            np.testing.assert_allclose(gw, w, rtol=rtol, atol=atol)
            np.testing.assert_allclose(gb, b, rtol=rtol, atol=atol)
    assert model.optimizer.iterations == 3


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", OPTIMIZERS, ids=[_opt_id(c) for c in OPTIMIZERS])
def test_optimizer_steps_match_reference(case, dtype):
    kind, hp = case
    m = _mlp(dtype, seed=3)
    m.compile(CLASSES[kind](**hp), Ls.SparseCategoricalCrossentropy(from_logits=True))
    _assert_trajectory(m, kind, hp, "sparse_ce_logits", ACTS, dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_steps_match_reference_on_every_kernel_path(isa, dtype):
    """The engine under each ISA path of this CPU (generic, AVX2, AVX-512); 70 units: bias
    gradients over whole column blocks and a rest (64 float / 32 double columns a pass)."""
    hp = dict(learning_rate=0.01, amsgrad=True, clipnorm=0.2)
    m = _mlp(dtype, seed=8, hidden=(70, 5))
    m.compile(O.Adam(**hp), Ls.SparseCategoricalCrossentropy(from_logits=True))
    _assert_trajectory(m, "adam", hp, "sparse_ce_logits", ACTS, dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_mse_regularized_weighted_steps_match_reference(dtype):
    hp = dict(learning_rate=0.01, momentum=0.9, nesterov=True)
    m = _mlp(dtype, seed=4, reg=fnn.regularizers.L1L2(0.01, 0.05))
    m.compile(O.SGD(**hp), "mse")
    sw = np.random.default_rng(1).uniform(0, 2, N_ROWS)
    _assert_trajectory(m, "sgd", hp, "mse", ACTS, dtype, l1=0.01, l2=0.05, sample_weight=sw)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_fused_softmax_output_steps_match_reference(dtype):
    hp = dict(learning_rate=0.01)
    m = _mlp(dtype, seed=5, out_act="softmax")
    m.compile(O.Adam(**hp), "sparse_categorical_crossentropy")
    _assert_trajectory(m, "adam", hp, "sparse_ce", ACTS[:2] + ["softmax"], dtype)


def test_clipping_changes_the_step():
    """The clip thresholds above are active: without them the trajectory differs."""
    base = _mlp("float64", seed=3)
    base.compile(O.SGD(0.1), Ls.SparseCategoricalCrossentropy(from_logits=True))
    for opt in (O.SGD(0.1, clipnorm=0.05), O.SGD(0.1, global_clipnorm=0.05), O.SGD(0.1, clipvalue=0.01)):
        m = _mlp("float64", seed=3)
        m.compile(opt, Ls.SparseCategoricalCrossentropy(from_logits=True))
        x, y = _batches(0, "sparse")[0]
        m.train_on_batch(x, y)
        b = _mlp("float64", seed=3)
        b.compile(O.SGD(0.1), Ls.SparseCategoricalCrossentropy(from_logits=True))
        b.train_on_batch(x, y)
        assert not np.allclose(m.get_weights()[0], b.get_weights()[0], rtol=1e-3, atol=0)


def test_weight_decay_torch_vs_decoupled():
    """Adam's weight_decay is an L2 term in the gradient; AdamW's decays the weights."""
    x, y = _batches(0, "sparse")[0]
    res = {}
    for name, opt in (("adam", O.Adam(0.01, weight_decay=0.5)), ("adamw", O.AdamW(0.01, weight_decay=0.5)),
                      ("none", O.Adam(0.01))):
        m = _mlp("float64", seed=6)
        m.compile(opt, Ls.SparseCategoricalCrossentropy(from_logits=True))
        w0 = m.get_weights()[0]
        m.train_on_batch(x, y)
        res[name] = (w0, m.get_weights()[0])
    w0, w_none = res["none"]
    # AdamW: exactly the plain step applied to (1 - lr * wd) * w
    np.testing.assert_allclose(res["adamw"][1], w_none - 0.01 * 0.5 * w0, rtol=1e-12, atol=1e-14)
    assert not np.allclose(res["adam"][1], res["adamw"][1])


def test_optimizer_state_is_exposed_and_reset_by_compile():
    m = _mlp("float64", seed=7)
    m.compile(O.Adam(0.01), Ls.SparseCategoricalCrossentropy(from_logits=True))
    x, y = _batches(0, "sparse")[0]
    m.train_on_batch(x, y)
    st = m.optimizer.state
    assert set(st) == {"exp_avg", "exp_avg_sq"}
    assert st["exp_avg"].shape == m._engine.params.shape and np.abs(st["exp_avg"]).sum() > 0
    m.compile(O.Adam(0.01), Ls.SparseCategoricalCrossentropy(from_logits=True))
    assert m.optimizer.iterations == 0 and np.abs(m.optimizer.state["exp_avg"]).sum() == 0


# ------------------------------------------------------------------ determinism


def _det_model(seed=5):
    m = fnn.Sequential([fnn.Input(40), L.Dense(256, activation="relu"), L.Dropout(0.3),
                        L.Dense(128, activation="relu"), L.GaussianNoise(0.1), L.BatchNormalization(),
                        L.Dense(10)], seed=seed)
    m.compile(O.Adam(1e-3, global_clipnorm=5.0), Ls.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])
    return m


@pytest.fixture
def restore_threads():
    before = fnn.get_num_threads()
    yield
    fnn.set_num_threads(before)


def test_same_seed_same_weights_at_any_thread_count(restore_threads):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 40))
    y = rng.integers(0, 10, 600)
    runs = []
    for threads in (1, 2, 1):
        fnn.set_num_threads(threads)
        m = _det_model()
        h = m.fit(x, y, batch_size=64, epochs=3, verbose=0, shuffle=True)
        runs.append((m.get_weights(), h.history["loss"], m.predict(x)))
    for w, loss, pred in runs[1:]:
        assert all(np.array_equal(a, b) for a, b in zip(runs[0][0], w))
        assert loss == runs[0][1]
        assert np.array_equal(pred, runs[0][2])
    # and the seed matters
    other = _det_model(seed=6)
    other.fit(x, y, batch_size=64, epochs=1, verbose=0)
    assert not np.array_equal(other.get_weights()[0], runs[0][0][0])


def test_fit_seed_controls_the_shuffle():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(100, 40))
    y = rng.integers(0, 10, 100)
    w = []
    for s in (1, 1, 2):
        m = _det_model()
        m.fit(x, y, batch_size=16, epochs=1, verbose=0, seed=s)
        w.append(m.get_weights()[0])
    assert np.array_equal(w[0], w[1]) and not np.array_equal(w[0], w[2])


def test_fit_equals_train_on_batch_sequence():
    """fit without shuffling is the sequence of train_on_batch steps on consecutive slices."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(95, 8))
    y = rng.integers(0, 4, 95)
    ms = []
    for _ in range(2):
        m = fnn.Sequential([fnn.Input(8), L.Dense(16, activation="relu"), L.Dense(4)], seed=1, dtype="float64")
        m.compile(O.SGD(0.1, momentum=0.9), Ls.SparseCategoricalCrossentropy(from_logits=True))
        ms.append(m)
    ms[0].fit(x, y, batch_size=20, epochs=1, shuffle=False, verbose=0)
    for i in range(0, 95, 20):
        ms[1].train_on_batch(x[i:i + 20], y[i:i + 20])
    assert all(np.array_equal(a, b) for a, b in zip(ms[0].get_weights(), ms[1].get_weights()))


def test_dense_relu_trains_like_linear_dense_then_relu_activation():
    """A relu Dense keeps no pre-activation: its backward pass takes relu' from the output
    (y > 0 exactly where z > 0).  It must train bitwise like a linear Dense followed by an
    Activation("relu"), whose backward pass reads z.  The middle layer starts with a zero
    kernel: at first its z is its bias for every row (about half the units dead), and
    units sit at or near 0."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(150, 12))
    y = rng.integers(0, 3, 150)
    for dtype in ("float32", "float64"):
        weights = []
        for fused in (True, False):
            if fused:
                hidden = [L.Dense(24, activation="relu"),
                          L.Dense(16, activation="relu", kernel_initializer="zeros", bias_initializer="random_uniform")]
            else:
                hidden = [L.Dense(24), L.Activation("relu"),
                          L.Dense(16, kernel_initializer="zeros", bias_initializer="random_uniform"),
                          L.Activation("relu")]
            m = fnn.Sequential([fnn.Input(12), *hidden, L.Dense(3)], seed=4, dtype=dtype)
            m.compile(O.Adam(0.05), Ls.SparseCategoricalCrossentropy(from_logits=True))
            h = m.fit(x, y, batch_size=16, epochs=3, verbose=0)
            weights.append((m.get_weights(), h.history["loss"]))
        (wa, la), (wb, lb) = weights
        assert la == lb
        assert all(np.array_equal(a, b) for a, b in zip(wa, wb))
        assert np.count_nonzero(wa[2]) > 0 and la[-1] < la[0]  # the zero kernel learned; the loss fell


# ------------------------------------------------------------------ accuracy: digits


def test_digits_accuracy():
    """Dense 128-64 relu, Adam 1e-3, batch 32, 100 epochs on a stratified 75/25 split of
    scikit-learn's digits, standardized on the train part: mean test accuracy over 5
    seeds >= 0.97."""
    datasets = pytest.importorskip("sklearn.datasets")
    model_selection = pytest.importorskip("sklearn.model_selection")
    X, y = datasets.load_digits(return_X_y=True)
    accs = []
    for seed in range(5):
        xtr, xte, ytr, yte = model_selection.train_test_split(X, y, test_size=0.25, stratify=y, random_state=seed)
        mu, sd = xtr.mean(axis=0), xtr.std(axis=0)
        sd[sd == 0] = 1.0
        xtr, xte = (xtr - mu) / sd, (xte - mu) / sd
        m = fnn.Sequential([fnn.Input(64), L.Dense(128, activation="relu"), L.Dense(64, activation="relu"),
                            L.Dense(10)], seed=seed)
        m.compile(O.Adam(1e-3), Ls.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
        h = m.fit(xtr, ytr, batch_size=32, epochs=100, verbose=0)
        assert h.history["accuracy"][-1] > 0.99
        acc = float(np.mean(np.argmax(m.predict(xte), axis=1) == yte))
        assert m.evaluate(xte, yte, return_dict=True)["accuracy"] == pytest.approx(acc)
        accs.append(acc)
    assert np.mean(accs) >= 0.97, accs


# ------------------------------------------------------------------ layer passes in training and inference


class Probe(L.Layer):
    """Identity custom layer that keeps what it saw (the neighbouring layers' outputs)."""

    def forward(self, x, training=False):
        self.seen = (np.array(x), training)
        return x

    def backward(self, dy):
        return dy


def _probed(layer, width=6, seed=0):
    p0, p1 = Probe(), Probe()
    m = fnn.Sequential([fnn.Input(5), L.Dense(width), p0, layer, p1, L.Dense(3)], dtype="float64", seed=seed)
    m.compile(O.SGD(0.0), "mse")
    return m, p0, p1


def _xy(n=64):
    rng = np.random.default_rng(0)
    return rng, rng.normal(size=(n, 5)), rng.normal(size=(n, 3))


def test_dropout_pass():
    rng, x, y = _xy()
    m, p0, p1 = _probed(L.Dropout(0.4), width=50)
    m.train_on_batch(x, y)
    a, (b, training) = p0.seen[0], p1.seen
    keep = b != 0
    assert training and abs(1 - keep.mean() - 0.4) < 0.03
    np.testing.assert_array_equal(b[keep], a[keep] / 0.6)
    first = keep.copy()
    m.train_on_batch(x, y)
    assert not np.array_equal(p1.seen[0] != 0, first)  # a new mask each step
    m.predict(x)
    assert np.array_equal(p0.seen[0], p1.seen[0]) and not p1.seen[1]


def test_gaussian_noise_pass():
    rng, x, y = _xy()
    m, p0, p1 = _probed(L.GaussianNoise(0.3), width=200)
    m.train_on_batch(x, y)
    noise = p1.seen[0] - p0.seen[0]
    assert abs(noise.mean()) < 0.01 and abs(noise.std() - 0.3) < 0.01
    m.predict(x)
    assert np.array_equal(p0.seen[0], p1.seen[0])


def test_batch_normalization_pass():
    rng, x, y = _xy()
    bn = L.BatchNormalization(momentum=0.9, epsilon=1e-3)
    m, p0, p1 = _probed(bn)
    gamma, beta = rng.uniform(0.5, 2, 6), rng.normal(size=6)
    bn.set_weights([gamma, beta, np.zeros(6), np.ones(6)])
    m.train_on_batch(x, y)
    a, b = p0.seen[0], p1.seen[0]
    mu, var = a.mean(axis=0), a.var(axis=0)  # batch statistics, biased variance
    np.testing.assert_allclose(b, gamma * (a - mu) / np.sqrt(var + 1e-3) + beta, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(bn.get_weights()[2], 0.1 * mu, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(bn.get_weights()[3], 0.9 + 0.1 * var, rtol=1e-12)
    rm, rv = bn.get_weights()[2:]
    m.predict(x)  # inference: the running statistics, which stay put
    a, b = p0.seen[0], p1.seen[0]
    np.testing.assert_allclose(b, gamma * (a - rm) / np.sqrt(rv + 1e-3) + beta, rtol=1e-12, atol=1e-12)
    assert np.array_equal(bn.get_weights()[2], rm)


def test_layer_normalization_and_prelu_passes():
    rng, x, y = _xy()
    ln = L.LayerNormalization(epsilon=1e-3)
    m, p0, p1 = _probed(ln)
    gamma, beta = rng.uniform(0.5, 2, 6), rng.normal(size=6)
    ln.set_weights([gamma, beta])
    m.predict(x)
    a, b = p0.seen[0], p1.seen[0]
    want = gamma * (a - a.mean(axis=1, keepdims=True)) / np.sqrt(a.var(axis=1, keepdims=True) + 1e-3) + beta
    np.testing.assert_allclose(b, want, rtol=1e-12, atol=1e-12)
    pr = L.PReLU()
    m, p0, p1 = _probed(pr)
    assert np.all(pr.get_weights()[0] == 0.25)
    alpha = rng.uniform(0, 1, 6)
    pr.set_weights([alpha])
    m.predict(x)
    a, b = p0.seen[0], p1.seen[0]
    np.testing.assert_array_equal(b, np.where(a > 0, a, alpha * a))
