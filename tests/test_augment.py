"""fastnn.data.Augment: Gaussian input noise and mixup of training batches, checked against
a NumPy float64 reference of SGD on linear models built from the exact native draws
(``_core._augment_normals`` / ``_core._augment_draws``); reproducibility (threads, epochs
cut into native calls, resuming, fit_many) and bad input."""
import math

import numpy as np
import pytest

import fastnn as fnn
from fastnn import _core
from fastnn.data import Augment
from fastnn.many import _variant_model

L = fnn.layers


# ------------------------------------------------------------------ NumPy reference
def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _ref_fit(xs, y, W, b, *, loss, lr, batch, epochs, seed, noise=0.0, alpha=0.0, sw=None, shuffle=True):
    """SGD on ``concat(xs) @ W + b`` in float64, augmenting every batch as the engine does."""
    W, b = W.astype(np.float64).copy(), b.astype(np.float64).copy()
    n, k = len(y), W.shape[1]
    for epoch in range(epochs):
        order = _core.shuffle_order(n, seed, epoch) if shuffle else np.arange(n)
        for bi in range(-(-n // batch)):
            rows = order[bi * batch:(bi + 1) * batch]
            m = len(rows)
            xa = [x[rows].astype(np.float64) for x in xs]
            if loss == "sparse":
                T = np.eye(k)[y[rows]]
            else:
                T = y[rows].astype(np.float64)
            w = np.ones(m) if sw is None else sw[rows].astype(np.float64)
            if alpha > 0:
                lam, part = _core._augment_draws(seed, epoch, bi, m, alpha)
                lc = lam[:, None]
                xa = [lc * v + (1 - lc) * v[part] for v in xa]
                T = lc * T + (1 - lc) * T[part]
                w = lam * w + (1 - lam) * w[part]
            if noise > 0:
                xa = [v + noise * _core._augment_normals(seed, epoch, bi, t, v.size).reshape(v.shape)
                      for t, v in enumerate(xa)]
            X = np.hstack(xa)
            Z = X @ W + b
            if loss == "mse":
                G = 2.0 * (Z - T) / k
            elif loss == "bce":  # from logits, mean over the outputs
                G = (1.0 / (1.0 + np.exp(-Z)) - T) / k
            else:
                G = _softmax(Z) - T
            G *= w[:, None] / m
            W -= lr * (X.T @ G)
            b -= lr * G.sum(axis=0)
    return W, b


def _linear(d, k, loss, dtype="float64", lr=0.1, seed=3):
    m = fnn.Sequential([L.Input(d), L.Dense(k, kernel_initializer="glorot_uniform", bias_initializer="zeros")],
                       seed=seed, dtype=dtype)
    lo = "mse" if loss == "mse" else fnn.losses.SparseCategoricalCrossentropy(from_logits=True)
    m.compile(optimizer=fnn.optimizers.SGD(lr), loss=lo)
    m.layers[0].set_weights([np.random.default_rng(seed).normal(0, 0.3, (d, k)), np.full(k, 0.05)])
    return m


@pytest.fixture
def reg():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((37, 5))
    y = x @ rng.standard_normal((5, 3)) + 0.1 * rng.standard_normal((37, 3))
    return x, y


@pytest.fixture
def cls():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((41, 6))
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5)
    return x, y


def _close(model, W, b, rtol=1e-10):
    Wm, bm = model.get_weights()
    np.testing.assert_allclose(Wm, W, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(bm, b, rtol=rtol, atol=rtol)


# ------------------------------------------------------------------ noise
def test_noise_one_full_batch_step_equals_numpy(reg):
    x, y = reg
    m = _linear(5, 3, "mse")
    W0, b0 = m.get_weights()
    m.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, seed=11, verbose=0, augment=Augment(noise=0.5))
    W, b = _ref_fit([x], y, W0, b0, loss="mse", lr=0.1, batch=len(x), epochs=1, seed=11, noise=0.5, shuffle=False)
    _close(m, W, b)
    # the noise matters: without it the step is different
    Wp, _ = _ref_fit([x], y, W0, b0, loss="mse", lr=0.1, batch=len(x), epochs=1, seed=11, shuffle=False)
    assert np.abs(Wp - W).max() > 1e-3


def test_noise_shuffled_batches_and_epochs_equal_numpy(reg):
    x, y = reg
    m = _linear(5, 3, "mse")
    W0, b0 = m.get_weights()
    m.fit(x, y, batch_size=8, epochs=3, seed=5, verbose=0, augment=Augment(noise=0.3))
    W, b = _ref_fit([x], y, W0, b0, loss="mse", lr=0.1, batch=8, epochs=3, seed=5, noise=0.3)
    _close(m, W, b)


def test_noise_float32_model_within_rounding(reg):
    x, y = reg
    x32 = x.astype(np.float32)
    m = _linear(5, 3, "mse", dtype="float32")
    W0, b0 = m.get_weights()
    m.fit(x32, y.astype(np.float32), batch_size=10, epochs=2, seed=2, verbose=0, augment=Augment(noise=0.2))
    W, b = _ref_fit([x32], y.astype(np.float32), W0, b0, loss="mse", lr=0.1, batch=10, epochs=2, seed=2, noise=0.2)
    _close(m, W, b, rtol=2e-5)


def test_noise_per_input_streams_of_a_two_input_model(reg):
    x, y = reg
    a, c = fnn.Input(2, name="a"), fnn.Input(3, name="c")
    out = L.Dense(3, name="d")(L.Concatenate()([a, c]))
    m = fnn.Model([a, c], out, dtype="float64", seed=1)
    m.compile(optimizer=fnn.optimizers.SGD(0.1), loss="mse")
    W0, b0 = m.get_weights()
    m.fit([x[:, :2], x[:, 2:]], y, batch_size=16, epochs=2, seed=9, verbose=0, augment=Augment(noise=0.4))
    W, b = _ref_fit([x[:, :2], x[:, 2:]], y, W0, b0, loss="mse", lr=0.1, batch=16, epochs=2, seed=9, noise=0.4)
    _close(m, W, b)


def test_noise_draws_are_standard_normal():
    z = np.concatenate([_core._augment_normals(4, e, bi, 0, 5000) for e in range(4) for bi in range(5)])
    assert abs(z.mean()) < 0.02 and abs(z.std() - 1) < 0.02
    assert abs(np.mean(np.abs(z) < 1) - 0.6827) < 0.01
    # different inputs, batches and epochs draw different numbers
    a = _core._augment_normals(4, 0, 0, 0, 50)
    for other in (_core._augment_normals(4, 0, 0, 1, 50), _core._augment_normals(4, 0, 1, 0, 50),
                  _core._augment_normals(4, 1, 0, 0, 50), _core._augment_normals(5, 0, 0, 0, 50)):
        assert not np.array_equal(a, other)


def test_off_is_bitwise_no_augment(cls):
    x, y = cls
    ws = []
    for aug in (None, Augment(), Augment(noise=0.0, mixup=0.0)):
        m = _linear(6, 3, "sparse", dtype="float32")
        m.fit(x, y, batch_size=8, epochs=2, seed=1, verbose=0, augment=aug)
        ws.append(m.get_weights())
    for w in ws[1:]:
        assert all(np.array_equal(p, q) for p, q in zip(ws[0], w))


def test_never_applied_in_evaluate_predict_or_validation(reg):
    x, y = reg
    m = _linear(5, 3, "mse")
    h = m.fit(x[:30], y[:30], batch_size=8, epochs=2, seed=3, verbose=0, validation_data=(x[30:], y[30:]),
              augment=Augment(noise=1.0, mixup=0.5))
    W, b = m.get_weights()
    p = x @ W + b
    np.testing.assert_allclose(m.predict(x), p, rtol=1e-12, atol=1e-12)
    mse = float(np.mean((p[30:] - y[30:]) ** 2))
    assert m.evaluate(x[30:], y[30:]) == pytest.approx(mse, rel=1e-10)
    assert h.history["val_loss"][-1] == pytest.approx(mse, rel=1e-10)
    # and the model is unchanged by them: predicting twice gives the same bits
    assert np.array_equal(m.predict(x), m.predict(x))


# ------------------------------------------------------------------ mixup
def test_mixup_mse_equals_numpy(reg):
    x, y = reg
    m = _linear(5, 3, "mse")
    W0, b0 = m.get_weights()
    m.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, seed=21, verbose=0, augment=Augment(mixup=0.4))
    W, b = _ref_fit([x], y, W0, b0, loss="mse", lr=0.1, batch=len(x), epochs=1, seed=21, alpha=0.4,
                    shuffle=False)
    _close(m, W, b)
    Wp, _ = _ref_fit([x], y, W0, b0, loss="mse", lr=0.1, batch=len(x), epochs=1, seed=21, shuffle=False)
    assert np.abs(Wp - W).max() > 1e-3


@pytest.mark.parametrize("noise", [0.0, 0.25])
def test_mixup_sparse_cce_soft_targets_equal_numpy(cls, noise):
    x, y = cls
    sw = np.random.default_rng(2).uniform(0.2, 2.0, len(y))
    m = _linear(6, 3, "sparse")
    W0, b0 = m.get_weights()
    m.fit(x, y, batch_size=9, epochs=3, seed=13, verbose=0, sample_weight=sw,
          augment=Augment(noise=noise, mixup=1.0))
    W, b = _ref_fit([x], y, W0, b0, loss="sparse", lr=0.1, batch=9, epochs=3, seed=13, noise=noise, alpha=1.0,
                    sw=sw)
    _close(m, W, b)


def test_mixup_binary_crossentropy_soft_targets_equal_numpy(cls):
    x, y = cls
    yb = np.stack([y == 0, y == 2], axis=1).astype(np.float64)  # two binary targets
    m = _linear(6, 2, "mse")
    m.compile(optimizer=fnn.optimizers.SGD(0.1), loss=fnn.losses.BinaryCrossentropy(from_logits=True))
    W0, b0 = m.get_weights()
    m.fit(x, yb, batch_size=10, epochs=2, seed=6, verbose=0, augment=Augment(mixup=0.5))
    W, b = _ref_fit([x], yb, W0, b0, loss="bce", lr=0.1, batch=10, epochs=2, seed=6, alpha=0.5)
    _close(m, W, b)


def test_mixup_one_hot_cce_equals_sparse(cls):
    x, y = cls
    ms = []
    for lo, yy in ((fnn.losses.SparseCategoricalCrossentropy(from_logits=True), y),
                   (fnn.losses.CategoricalCrossentropy(from_logits=True), np.eye(3)[y])):
        m = _linear(6, 3, "sparse")
        m.compile(optimizer=fnn.optimizers.SGD(0.1), loss=lo)
        m.fit(x, yy, batch_size=8, epochs=2, seed=4, verbose=0, augment=Augment(mixup=0.3))
        ms.append(m.get_weights())
    for p, q in zip(*ms):
        np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("alpha", [0.2, 1.0, 4.0])
def test_mixup_lambdas_are_beta(alpha):
    lam = np.concatenate([_core._augment_draws(31, e, bi, 4000, alpha)[0] for e in range(5) for bi in range(5)])
    assert lam.min() >= 0 and lam.max() <= 1
    var = 1.0 / (4.0 * (2.0 * alpha + 1.0))
    assert abs(lam.mean() - 0.5) < 5 * math.sqrt(var / lam.size)
    assert lam.var() == pytest.approx(var, rel=0.03)
    assert abs(np.mean(lam < 0.5) - 0.5) < 0.01  # symmetric
    if alpha == 1.0:  # uniform: Kolmogorov-Smirnov distance to the identity CDF
        s = np.sort(lam)
        ks = np.max(np.abs(np.arange(1, s.size + 1) / s.size - s))
        assert ks < 1.6 / math.sqrt(s.size)


def test_mixup_partners_are_permutations():
    seen = set()
    for bi in range(20):
        lam, part = _core._augment_draws(2, 0, bi, 17, 0.5)
        assert part.dtype == np.int64 and np.array_equal(np.sort(part), np.arange(17))
        seen.add(tuple(part))
    assert len(seen) == 20
    # each position's partner is uniform over the batch
    counts = np.zeros(8)
    for bi in range(4000):
        counts[_core._augment_draws(3, 1, bi, 8, 0.5)[1][0]] += 1
    assert np.all(np.abs(counts / 4000 - 1 / 8) < 0.025)
    assert _core._augment_draws(2, 0, 0, 1, 0.5)[1].tolist() == [0]


def test_mixup_refused_for_hinge_losses():
    x = np.random.default_rng(0).standard_normal((10, 3))
    y = np.sign(x[:, :1])
    for lo in ("hinge", "squared_hinge"):
        m = fnn.Sequential([L.Input(3), L.Dense(1)], seed=0)
        m.compile("sgd", lo)
        w0 = m.get_weights()
        with pytest.raises(ValueError, match="mixup"):
            m.fit(x, y, epochs=1, verbose=0, augment=Augment(mixup=0.2))
        assert all(np.array_equal(a, b) for a, b in zip(w0, m.get_weights()))
        m.fit(x, y, epochs=1, verbose=0, augment=Augment(noise=0.1))  # noise alone is fine


# ------------------------------------------------------------------ reproducibility
def _mlp(seed=0, dtype="float32"):
    m = fnn.Sequential([L.Input(64), L.Dense(96, activation="relu"), L.Dropout(0.1), L.Dense(10)],
                       seed=seed, dtype=dtype)
    m.compile(optimizer=fnn.optimizers.Adam(1e-3),
              loss=fnn.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return m


@pytest.fixture
def big():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3000, 64)).astype(np.float32)
    y = (np.abs(x[:, :10]).argmax(axis=1)).astype(np.int64)
    return x, y


def _same(a, b):
    return all(np.array_equal(p, q) for p, q in zip(a.get_weights(), b.get_weights()))


AUG = Augment(noise=0.2, mixup=0.3)


def test_thread_count_independent(big):
    x, y = big
    before = fnn.get_num_threads()
    ms = []
    try:
        for t in (1, 2):
            fnn.set_num_threads(t)
            m = _mlp()
            m.fit(x, y, batch_size=500, epochs=2, verbose=0, augment=AUG)
            ms.append(m)
    finally:
        fnn.set_num_threads(before)
    assert _same(*ms)


class _EveryBatch(fnn.callbacks.Callback):
    batch_frequency = 1

    def __init__(self):
        super().__init__()
        self.calls = 0

    def on_train_batch_end(self, batch, logs=None):
        self.calls += 1


def test_epochs_cut_into_calls_and_resumed_equal_one_call(big):
    x, y = big
    one = _mlp()
    one.fit(x, y, batch_size=256, epochs=3, seed=8, verbose=0, augment=AUG)
    cut = _mlp()
    cb = _EveryBatch()
    cut.fit(x, y, batch_size=256, epochs=3, seed=8, verbose=0, augment=AUG, callbacks=[cb])
    assert cb.calls == 3 * 12
    assert _same(one, cut)
    resumed = _mlp()
    resumed.fit(x, y, batch_size=256, epochs=1, seed=8, verbose=0, augment=AUG)
    resumed.fit(x, y, batch_size=256, epochs=3, initial_epoch=1, seed=8, verbose=0, augment=AUG)
    assert _same(one, resumed)
    other = _mlp()  # a different seed draws differently
    other.fit(x, y, batch_size=256, epochs=3, seed=9, verbose=0, augment=AUG)
    assert not _same(one, other)


def test_float64_file_feeding_float32_model_equals_converted(big):
    x, y = big
    a, b = _mlp(), _mlp()
    a.fit(x.astype(np.float64), y, batch_size=256, epochs=2, verbose=0, augment=AUG)
    b.fit(x, y, batch_size=256, epochs=2, verbose=0, augment=AUG)
    assert _same(a, b)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fit_many_equals_fit_alone(big, dtype):
    x, y = big
    x, y = x[:800], y[:800]
    t = _mlp(dtype=dtype)
    variants = [{"seed": 1}, {"seed": 2}]
    models = fnn.fit_many(t, x, y, variants, batch_size=64, epochs=2, augment=AUG)
    for v, m in zip(variants, models):
        alone = _variant_model(t, v)
        h = alone.fit(x, y, batch_size=64, epochs=2, verbose=0, augment=AUG)
        assert _same(m, alone)
        assert m.history["loss"] == h.history["loss"]
    plain = fnn.fit_many(t, x, y, variants[:1], batch_size=64, epochs=2)
    assert not _same(plain[0], models[0])


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("kw", [{"noise": -0.1}, {"noise": float("nan")}, {"noise": float("inf")},
                                {"mixup": -1}, {"mixup": float("nan")}, {"mixup": float("inf")}])
def test_bad_values(kw):
    (name, value), = kw.items()
    with pytest.raises(ValueError, match=name) as e:
        Augment(**kw)
    assert repr(value) in str(e.value)


@pytest.mark.parametrize("kw", [{"noise": "0.1"}, {"noise": None}, {"mixup": True}, {"mixup": [0.2]},
                                {"noise": 1j}])
def test_bad_types(kw):
    (name, _), = kw.items()
    with pytest.raises(TypeError, match=name):
        Augment(**kw)


def test_fit_rejects_wrong_augment_type_and_changed_attributes(reg):
    x, y = reg
    m = _linear(5, 3, "mse")
    w0 = m.get_weights()
    for bad in (0.1, {"noise": 0.1}, (0.1, 0.2), "mixup"):
        with pytest.raises(TypeError, match="augment"):
            m.fit(x, y, verbose=0, augment=bad)
    aug = Augment(noise=0.1)
    aug.noise = -2.0
    with pytest.raises(ValueError, match="noise"):
        m.fit(x, y, verbose=0, augment=aug)
    with pytest.raises(TypeError, match="augment"):
        fnn.fit_many(m, x, y, [{"seed": 1}], augment=0.3)
    assert all(np.array_equal(a, b) for a, b in zip(w0, m.get_weights()))


def test_public_name_repr_and_config():
    assert fnn.data.Augment is Augment and "Augment" in fnn.data.__all__
    a = Augment(noise=1, mixup=0.2)
    assert a.noise == 1.0 and isinstance(a.noise, float) and a.active
    assert a == Augment(1.0, 0.2) and a != Augment(1.0, 0.3) and not Augment().active
    assert a.get_config() == {"noise": 1.0, "mixup": 0.2}
    assert repr(a) == "Augment(noise=1.0, mixup=0.2)"


def test_sequential_built_at_its_first_fit():
    x, y = np.random.default_rng(0).standard_normal((20, 3)), np.arange(20) % 2
    m = fnn.Sequential([L.Dense(2)], seed=0)  # no Input: built from the data inside fit
    m.compile("sgd", fnn.losses.SparseCategoricalCrossentropy(from_logits=True))
    with pytest.raises(ValueError, match="noise"):
        m.fit(x, y, verbose=0, augment=_bad_aug())
    assert not m.built  # refused before building
    m.fit(x, y, verbose=0, augment=Augment(noise=0.1, mixup=0.2))
    h = fnn.Sequential([L.Dense(1)], seed=0)
    h.compile("sgd", "hinge")
    with pytest.raises(ValueError, match="mixup"):
        h.fit(x, y.reshape(-1, 1), verbose=0, augment=Augment(mixup=0.2))


def _bad_aug():
    a = Augment()
    a.noise = float("nan")
    return a
