"""fastnn.ensemble: averaging against NumPy references, bagging resamples, seed ensembles."""
import numpy as np
import pytest

import fastnn as fnn
from fastnn.ensemble import Bagging, Ensemble, seed_ensemble
from fastnn.many import _variant_model

L = fnn.layers


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((120, 4)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1)
    return x, y


def clf(seed=0):
    m = fnn.Sequential([L.Input(4), L.Dense(8, activation="relu"), L.Dense(3)], seed=seed)
    m.compile(optimizer=fnn.optimizers.Adam(1e-2), loss=fnn.losses.SparseCategoricalCrossentropy(from_logits=True))
    return m


def reg(seed=0):
    m = fnn.Sequential([L.Input(4), L.Dense(6, activation="tanh"), L.Dense(2)], seed=seed)
    m.compile(optimizer="adam", loss="mse")
    return m


def _softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def test_ensemble_averages(data):
    x, y = data
    models = [clf(s) for s in range(3)]
    for m in models:
        m.fit(x, y, epochs=1, verbose=0)
    w = [1.0, 2.0, 1.0]
    e = Ensemble(models, weights=w)
    outs = [m.predict(x).astype(np.float64) for m in models]
    probs = [_softmax(o) for o in outs]
    exp_p = (probs[0] + 2 * probs[1] + probs[2]) / 4
    np.testing.assert_allclose(e.predict_proba(x), exp_p, rtol=1e-12)
    np.testing.assert_allclose(e.predict(x), (outs[0] + 2 * outs[1] + outs[2]) / 4, rtol=1e-12)
    np.testing.assert_array_equal(e.predict_classes(x), exp_p.argmax(1))
    ev = e.evaluate(x, y)
    assert ev["accuracy"] == pytest.approx(np.mean(exp_p.argmax(1) == y))
    assert ev["log_loss"] == pytest.approx(-np.mean(np.log(exp_p[np.arange(len(y)), y])))


def test_regression_evaluate(data):
    x, _ = data
    t = np.stack([x[:, 0], x[:, 1] * 2], 1)
    models = [reg(s) for s in range(2)]
    e = Ensemble(models)
    p = (models[0].predict(x).astype(np.float64) + models[1].predict(x)) / 2
    ev = e.evaluate(x, t)
    assert ev["mse"] == pytest.approx(np.mean((p - t) ** 2)) and ev["mae"] == pytest.approx(np.mean(np.abs(p - t)))


def test_bad_ensemble():
    with pytest.raises(ValueError, match="models"):
        Ensemble([])
    with pytest.raises(ValueError, match="weights"):
        Ensemble([clf(), clf()], weights=[1, -1])
    with pytest.raises(ValueError, match="weights"):
        Ensemble([clf()], weights=[1, 1])
    with pytest.raises(ValueError, match="n_estimators"):
        Bagging(clf, n_estimators=0)
    with pytest.raises(ValueError, match="max_samples"):
        Bagging(clf, max_samples=1.5)


def test_bagging_trains_each_on_its_resample(data):
    x, y = data
    b = Bagging(clf, n_estimators=3, seed=1, max_samples=0.5).fit(x, y, epochs=2, batch_size=16)
    assert len(b.models) == 3 and all(len(i) == 60 for i in b.indices_)
    assert not np.array_equal(b.indices_[0], b.indices_[1])
    seeds = [m.seed for m in b.models]
    assert len(set(seeds)) == 3
    for m, idx, s in zip(b.models, b.indices_, seeds):
        ref = clf(s)
        ref.fit(x[idx], y[idx], epochs=2, batch_size=16, verbose=0)
        assert all(np.array_equal(a, c) for a, c in zip(ref.get_weights(), m.get_weights()))
    again = Bagging(clf, n_estimators=3, seed=1, max_samples=0.5).fit(x, y, epochs=2, batch_size=16)
    np.testing.assert_array_equal(again.predict_proba(x), b.predict_proba(x))


def _count_many_calls(monkeypatch):
    from fastnn import many

    calls = []
    real = many._fit_models  # fit_many's native training of built models
    monkeypatch.setattr(many, "_fit_models", lambda *a, **k: calls.append(len(a[0])) or real(*a, **k))
    return calls


def test_bagging_without_bootstrap_uses_fit_many(data, monkeypatch):
    x, y = data
    calls = _count_many_calls(monkeypatch)
    b = Bagging(lambda seed: clf(seed), n_estimators=4, seed=2, bootstrap=False).fit(x, y, epochs=1)
    assert calls == [4] and len({m.seed for m in b.models}) == 4
    # a build_fn without a seed argument builds the same model each time, on either path
    fast = Bagging(lambda: clf(0), n_estimators=2, seed=1).fit(x, y, epochs=1)
    slow = Bagging(lambda: clf(0), n_estimators=2, seed=1).fit(x, y, epochs=1, validation_split=0.0)
    assert calls == [4, 2] and [m.seed for m in fast.models] == [m.seed for m in slow.models] == [0, 0]
    np.testing.assert_array_equal(fast.predict(x), slow.predict(x))


@pytest.mark.parametrize("bootstrap", [True, False])
def test_bagging_resamples_train_in_one_fit_many_call(data, monkeypatch, bootstrap):
    # Each estimator trains on its own rows (and resampled sample weights) in one native call
    # per epoch, and equals the model fitted alone on its resample: weights, loss and metrics.
    x, y = data
    sw = np.linspace(0.5, 2.0, len(y)).astype(np.float32)

    def build(seed=0):
        m = clf(seed)
        m.compile(optimizer=fnn.optimizers.Adam(1e-2), metrics=["accuracy"],
                  loss=fnn.losses.SparseCategoricalCrossentropy(from_logits=True))
        return m

    calls = _count_many_calls(monkeypatch)
    b = Bagging(build, n_estimators=3, seed=4, max_samples=0.7, bootstrap=bootstrap).fit(
        x, y, epochs=2, batch_size=16, sample_weight=sw)
    assert calls == [3]
    for m, idx in zip(b.models, b.indices_):
        assert len(idx) == 84 and (bootstrap or len(set(idx.tolist())) == 84)
        ref = build(m.seed)
        h = ref.fit(x[idx], y[idx], sample_weight=sw[idx], epochs=2, batch_size=16, verbose=0)
        assert all(np.array_equal(a, c) for a, c in zip(ref.get_weights(), m.get_weights()))
        assert m.history["loss"] == h.history["loss"] and m.history["accuracy"] == h.history["accuracy"]


def test_bagging_with_fit_arguments_fit_many_lacks_trains_one_by_one(data, monkeypatch):
    x, y = data
    calls = _count_many_calls(monkeypatch)
    b = Bagging(clf, n_estimators=2, seed=3, max_samples=0.5).fit(x, y, epochs=1, batch_size=16,
                                                                   class_weight={0: 1.0, 1: 2.0, 2: 1.0})
    assert calls == []
    for m, idx in zip(b.models, b.indices_):
        ref = clf(m.seed)
        ref.fit(x[idx], y[idx], epochs=1, batch_size=16, class_weight={0: 1.0, 1: 2.0, 2: 1.0}, verbose=0)
        assert all(np.array_equal(a, c) for a, c in zip(ref.get_weights(), m.get_weights()))


def test_bagging_sample_weight_shape_checked(data):
    x, y = data
    with pytest.raises(ValueError, match="sample_weight"):
        Bagging(clf, n_estimators=2).fit(x, y, sample_weight=np.ones(5))


def test_seed_ensemble_equals_models_alone(data):
    x, y = data
    t = clf(0)
    e = seed_ensemble(t, x, y, n_models=3, seed=10, epochs=2, batch_size=16)
    assert [m.seed for m in e.models] == [10, 11, 12]
    for m in e.models:
        alone = _variant_model(t, {"seed": m.seed})
        alone.fit(x, y, epochs=2, batch_size=16, verbose=0)
        assert all(np.array_equal(a, c) for a, c in zip(alone.get_weights(), m.get_weights()))
    # averaging usually helps; at least it is no worse than the worst member
    accs = [np.mean(m.predict(x).argmax(1) == y) for m in e.models]
    assert e.evaluate(x, y)["accuracy"] >= min(accs)


def test_evaluate_takes_one_hot_targets_of_a_cross_entropy_model(data):
    x, y = data
    models = []
    for s in (0, 1):
        m = fnn.Sequential([L.Input(4), L.Dense(3)], seed=s)
        m.compile("adam", fnn.losses.CategoricalCrossentropy(from_logits=True))
        m.fit(x, np.eye(3)[y], epochs=1, verbose=0)
        models.append(m)
    e = Ensemble(models)
    assert e.evaluate(x, np.eye(3)[y]) == e.evaluate(x, y)
    assert set(e.evaluate(x, y)) == {"accuracy", "log_loss"}


def test_a_failed_bagging_fit_changes_nothing(data):
    x, y = data
    b = Bagging(clf, n_estimators=2, seed=0).fit(x, y, epochs=1)
    models, idx = list(b.models), [i.copy() for i in b.indices_]
    with pytest.raises(ValueError, match="epochs"):
        b.fit(x, y, epochs=-1)
    assert b.models == models and all(np.array_equal(u, v) for u, v in zip(b.indices_, idx))
