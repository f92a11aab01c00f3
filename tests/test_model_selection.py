"""fastnn.model_selection: splits, K-fold, cross_validate and the searches (with fit_many
batching checked against training each trial alone)."""
import numpy as np
import pytest

import fastnn as fnn
from fastnn import many
from fastnn.model_selection import (GridSearch, KFold, RandomSearch, StratifiedKFold, SuccessiveHalving, choice,
                                    cross_validate, loguniform, randint, train_val_test_split, uniform)

L = fnn.layers


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((160, 5)).astype(np.float32)
    y = (x[:, 0] - x[:, 1] > 0).astype(np.int64)
    return x, y


def build(p=None):
    p = p or {}
    reg = fnn.regularizers.L2(p["l2"]) if p.get("l2") else None  # fit_many's l2: on every Dense kernel
    m = fnn.Sequential([L.Input(5), L.Dense(int(p.get("units", 8)), activation="relu", kernel_regularizer=reg),
                        L.Dropout(p.get("dropout", 0.0)), L.Dense(2, kernel_regularizer=reg)], seed=p.get("seed", 0))
    m.compile(optimizer=fnn.optimizers.Adam(p.get("learning_rate", 1e-2)),
              loss=fnn.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return m


def _alone_score(p, x, y, xv, yv, epochs=2, key="loss"):
    m = build(p)
    m.fit(x, y, epochs=epochs, batch_size=16, verbose=0)
    return m.evaluate(xv, yv, return_dict=True)[key]


# -- splits -----------------------------------------------------------------------------------
def test_train_val_test_split(data):
    x, y = data
    xt, xv, xs, yt, yv, ys = train_val_test_split(x, y, val_size=0.25, test_size=0.125, seed=0)
    assert (len(xt), len(xv), len(xs)) == (100, 40, 20)
    rows = np.concatenate([xt, xv, xs])
    assert sorted(map(tuple, rows)) == sorted(map(tuple, x))
    # rows stay paired with their labels
    lookup = {tuple(r): l for r, l in zip(x, y)}
    assert all(lookup[tuple(r)] == l for r, l in zip(xv, yv))
    again = train_val_test_split(x, y, 0.25, 0.125, seed=0)
    assert np.array_equal(again[1], xv)


def test_stratified_split(data):
    x, y = data
    yy = np.r_[np.zeros(120, int), np.ones(40, int)]
    xt, xv, xs, yt, yv, ys = train_val_test_split(x, yy, 0.25, 0.25, stratify=yy, seed=1)
    assert yv.sum() == 10 and ys.sum() == 10 and yt.sum() == 20
    with pytest.raises(ValueError, match="only 1 sample"):
        train_val_test_split(x[:5], np.array([0, 0, 0, 0, 1]), 0.2, 0.2, stratify=np.array([0, 0, 0, 0, 1]))
    with pytest.raises(ValueError, match="val_size"):
        train_val_test_split(x, y, 1.5, 0.1)
    with pytest.raises(ValueError, match="val_size \\+ test_size"):
        train_val_test_split(x, y, 0.5, 0.5)
    # the documented sizes (rounded down, at least one) hold when stratified too
    for labels, fv, ft in ((np.repeat(np.arange(10), 3), 0.1, 0.1), (np.repeat([0, 1], [70, 30]), 0.15, 0.15)):
        xx = np.arange(len(labels))[:, None]
        parts = train_val_test_split(xx, labels, fv, ft, stratify=labels, seed=0)
        n = len(labels)
        assert [len(p) for p in parts[:3]] == [n - int(fv * n) - int(ft * n), int(fv * n), int(ft * n)]
        assert set(parts[3]) == set(labels)  # every class keeps training rows
    with pytest.raises(ValueError, match="too few"):
        lab = np.repeat(np.arange(5), 2)
        train_val_test_split(np.zeros((10, 1)), lab, 0.3, 0.6, stratify=lab, seed=0)


def test_kfold_partitions(data):
    x, y = data
    for cv in (KFold(3), KFold(3, shuffle=True, seed=2), StratifiedKFold(4, shuffle=True, seed=0)):
        seen = []
        for tr, te in cv.split(x, y):
            assert len(np.intersect1d(tr, te)) == 0 and len(tr) + len(te) == len(x)
            seen.extend(te)
        assert sorted(seen) == list(range(len(x)))
    sizes = [len(te) for _, te in KFold(3).split(np.zeros((10, 1)))]
    assert sizes == [4, 3, 3]


def test_stratified_kfold_proportions():
    y = np.r_[np.zeros(12, int), np.ones(6, int)]
    for _, te in StratifiedKFold(3).split(np.zeros((18, 1)), y):
        assert y[te].sum() == 2 and len(te) == 6
    with pytest.raises(ValueError, match="fewer than n_splits"):
        list(StratifiedKFold(3).split(np.zeros((4, 1)), [0, 0, 0, 1]))


def test_cv_bad_input(data):
    x, y = data
    with pytest.raises(ValueError, match="greater than the number of samples"):
        cross_validate(build, x[:3], y[:3], cv=5)
    with pytest.raises(ValueError, match="greater than the number of samples"):
        list(KFold(5).split(np.zeros((3, 1))))
    with pytest.raises(ValueError, match="n_splits"):
        KFold(1)


def test_cross_validate_matches_manual_loop(data):
    x, y = data
    out = cross_validate(build, x, y, cv=3, scoring="val_accuracy", fit_kwargs={"epochs": 2, "batch_size": 16})
    expected = []
    for tr, te in KFold(3).split(x):
        expected.append(_alone_score({}, x[tr], y[tr], x[te], y[te], key="accuracy"))
    assert out["scores"].tolist() == expected
    assert out["fit_times"].shape == (3,) and np.isclose(out["mean_score"], np.mean(expected))
    # a callable scorer
    out2 = cross_validate(build, x, y, cv=StratifiedKFold(2), scoring=lambda m, xv, yv: float(len(yv)))
    assert out2["scores"].tolist() == [80.0, 80.0]


# -- distributions ----------------------------------------------------------------------------
def test_distributions():
    rng = np.random.default_rng(0)
    u = [uniform(2, 3).sample(rng) for _ in range(200)]
    assert min(u) >= 2 and max(u) < 3
    lu = np.array([loguniform(1e-4, 1e-1).sample(rng) for _ in range(400)])
    assert lu.min() >= 1e-4 and lu.max() < 1e-1
    assert 0.3 < np.mean(np.log10(lu) < -2.5) < 0.7  # half the mass below the geometric mid-point
    r = {randint(1, 4).sample(rng) for _ in range(100)}
    assert r == {1, 2, 3}
    assert {choice(["a", "b"]).sample(rng) for _ in range(50)} == {"a", "b"}


@pytest.mark.parametrize("make", [lambda: loguniform(0, 1), lambda: loguniform(-1, 1), lambda: uniform(1, 1),
                                  lambda: randint(3, 2), lambda: choice([]), lambda: uniform(0, float("inf")),
                                  lambda: randint(0.5, 2)])
def test_bad_distributions(make):
    with pytest.raises(ValueError):
        make()


def test_bad_space():
    with pytest.raises(ValueError, match="empty search space"):
        GridSearch(build, {})
    with pytest.raises(ValueError, match="empty search space"):
        RandomSearch(build, {})
    with pytest.raises(ValueError, match="empty list"):
        GridSearch(build, {"learning_rate": []}).fit(np.zeros((10, 5)), np.zeros(10, int))
    with pytest.raises(ValueError, match="GridSearch needs lists"):
        GridSearch(build, {"learning_rate": uniform(0, 1)}).fit(np.zeros((10, 5)), np.zeros(10, int))
    with pytest.raises(ValueError, match="backend"):
        GridSearch(build, {"l2": [0.0]}, backend="spark")
    with pytest.raises(ValueError, match="client"):
        GridSearch(build, {"l2": [0.0]}, backend="dask")


# -- searches ---------------------------------------------------------------------------------
def test_grid_search_uses_fit_many_and_equals_alone(data, monkeypatch):
    x, y = data
    calls = []
    real = many._fit_models  # fit_many and searches train through it
    monkeypatch.setattr(many, "_fit_models", lambda *a, **k: calls.append(len(a[0])) or real(*a, **k))
    space = {"learning_rate": [1e-2, 3e-2], "l2": [0.0, 1e-3], "dropout": [0.0, 0.2]}
    gs = GridSearch(build, space, scoring="val_loss", validation_split=0.25).fit(x, y, epochs=2, batch_size=16)
    assert calls == [8]
    assert len(gs.results_) == 8
    for r in gs.results_:
        assert r["mean_score"] == _alone_score(r["params"], x[:120], y[:120], x[120:], y[120:])
        assert r["std_score"] == 0.0 and r["fit_time"] > 0
    best = min(gs.results_, key=lambda r: r["mean_score"])
    assert gs.best_params_ == best["params"]
    assert gs.best_model_.evaluate(x[120:], y[120:], return_dict=True)["loss"] == best["mean_score"]


def test_architecture_search_trains_alone(data, monkeypatch):
    x, y = data
    calls = []
    real = many._fit_models  # fit_many and searches train through it
    monkeypatch.setattr(many, "_fit_models", lambda *a, **k: calls.append(1) or real(*a, **k))
    gs = GridSearch(build, {"units": [4, 8]}, validation_data=(x[:40], y[:40]), scoring="val_accuracy")
    gs.fit(x, y, epochs=2, batch_size=16)
    assert calls == []
    for r in gs.results_:
        assert r["mean_score"] == _alone_score(r["params"], x, y, x[:40], y[:40], key="accuracy")
    assert gs.best_params_ == max(gs.results_, key=lambda r: r["mean_score"])["params"]


def test_random_search_seeded(data):
    x, y = data
    space = {"learning_rate": loguniform(1e-3, 1e-1), "l2": choice([0.0, 1e-3]), "seed": randint(0, 100)}
    a = RandomSearch(build, space, n_trials=4, seed=7).fit(x, y, epochs=1)
    b = RandomSearch(build, space, n_trials=4, seed=7).fit(x, y, epochs=1)
    assert [r["params"] for r in a.results_] == [r["params"] for r in b.results_]
    assert [r["mean_score"] for r in a.results_] == [r["mean_score"] for r in b.results_]
    c = RandomSearch(build, space, n_trials=4, seed=8)._candidates()
    assert c != [r["params"] for r in a.results_]


def test_search_with_cv_and_refit(data):
    x, y = data
    gs = GridSearch(build, {"learning_rate": [1e-2, 5e-2]}, cv=2, refit=True).fit(x, y, epochs=1, batch_size=16)
    for r in gs.results_:
        folds = [_alone_score(r["params"], x[tr], y[tr], x[te], y[te], epochs=1) for tr, te in KFold(2).split(x)]
        assert r["scores"] == folds and np.isclose(r["std_score"], np.std(folds))
    ref = build(gs.best_params_)
    ref.fit(x, y, epochs=1, batch_size=16, verbose=0)
    for a, b in zip(ref.get_weights(), gs.best_model_.get_weights()):
        assert np.array_equal(a, b)


def test_successive_halving(data):
    x, y = data
    sh = SuccessiveHalving(build, {"learning_rate": [1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 2e-1]}, min_epochs=1,
                           factor=2, max_epochs=4).fit(x, y, batch_size=16)
    rungs = [r["epochs"] for r in sh.results_]
    assert rungs == [1] * 6 + [2] * 3 + [4] * 1
    r1 = sh.results_[:6]
    kept = sorted(r1, key=lambda r: r["mean_score"])[:3]
    assert [r["params"] for r in sh.results_[6:9]] == [r["params"] for r in kept]
    last = sh.results_[-1]
    assert sh.best_params_ == last["params"]
    assert last["mean_score"] == _alone_score(last["params"], x[:128], y[:128], x[128:], y[128:], epochs=4)


def test_results_frame(data):
    pytest.importorskip("pandas")
    x, y = data
    gs = GridSearch(build, {"learning_rate": [1e-2, 2e-2]}).fit(x, y, epochs=1)
    df = gs.results_frame()
    assert list(df["param_learning_rate"]) == [1e-2, 2e-2] and "mean_score" in df


def test_joblib_backend_matches_serial(data):
    pytest.importorskip("joblib")
    x, y = data
    space = {"learning_rate": loguniform(1e-3, 1e-1), "dropout": uniform(0, 0.3)}
    s = RandomSearch(build, space, n_trials=3, seed=1).fit(x, y, epochs=1)
    j = RandomSearch(build, space, n_trials=3, seed=1, backend="joblib", n_jobs=2).fit(x, y, epochs=1)
    assert [r["mean_score"] for r in s.results_] == [r["mean_score"] for r in j.results_]
    assert j.best_params_ == s.best_params_


def test_dask_backend_matches_serial(data):
    dd = pytest.importorskip("dask.distributed")
    x, y = data
    space = {"learning_rate": loguniform(1e-3, 1e-1), "l2": choice([0.0, 1e-3])}
    s = RandomSearch(build, space, n_trials=3, seed=4).fit(x, y, epochs=1)
    with dd.LocalCluster(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None) as cluster, \
            dd.Client(cluster) as client:
        d = RandomSearch(build, space, n_trials=3, seed=4, backend="dask", client=client).fit(x, y, epochs=1)
    assert [r["params"] for r in s.results_] == [r["params"] for r in d.results_]
    assert [r["mean_score"] for r in s.results_] == [r["mean_score"] for r in d.results_]
    assert d.best_model_.evaluate(x[128:], y[128:], return_dict=True)["loss"] == s.best_score_


def test_inexpressible_variants_fall_back_to_alone(data, monkeypatch):
    """L2 on the first Dense kernel only is not fit_many's l2 (every kernel): trained alone."""
    x, y = data
    calls = []
    real = many._fit_models  # fit_many and searches train through it
    monkeypatch.setattr(many, "_fit_models", lambda *a, **k: calls.append(1) or real(*a, **k))

    def build_first(p):
        m = fnn.Sequential([L.Input(5), L.Dense(8, activation="relu", kernel_regularizer=fnn.regularizers.L2(p["l2"])
                                                if p["l2"] else None), L.Dense(2)], seed=0)
        m.compile(optimizer="adam", loss=fnn.losses.SparseCategoricalCrossentropy(from_logits=True))
        return m

    gs = GridSearch(build_first, {"l2": [0.0, 1e-2]}).fit(x, y, epochs=1, batch_size=16)
    assert calls == []
    for r in gs.results_:
        m = build_first(r["params"])
        m.fit(x[:128], y[:128], epochs=1, batch_size=16, verbose=0)
        assert r["mean_score"] == m.evaluate(x[128:], y[128:])


def test_bench_many_quick_validates():
    """bench/run_many.py's code path: fit_many and the search equal their sequential runs."""
    from fastnn.bench.many import _report, run

    r = run(rows=300, n_models=3, repeats=1)
    assert r["fit_many"]["valid"] and r["random_search"]["valid"]
    assert "speedup" in _report(r)


def test_pandas_inputs_and_variant_key_errors(data):
    pd = pytest.importorskip("pandas")
    x, y = data
    gs = GridSearch(build, {"learning_rate": [1e-2, 2e-2]}).fit(pd.DataFrame(x), pd.Series(y), epochs=1)
    ref = GridSearch(build, {"learning_rate": [1e-2, 2e-2]}).fit(x, y, epochs=1)
    assert [r["mean_score"] for r in gs.results_] == [r["mean_score"] for r in ref.results_]
    out = cross_validate(build, pd.DataFrame(x), pd.Series(y), cv=2, fit_kwargs={"epochs": 1})
    assert out["scores"].shape == (2,)
    with pytest.raises(ValueError, match="differ from variants"):
        fnn.fit_many(build(), x, y, [{"seed": 1}, {"learning_rate": 1e-2}])


def test_build_fn_must_return_compiled_model(data):
    x, y = data
    with pytest.raises(TypeError, match="build_fn must return a compiled"):
        GridSearch(lambda p: object(), {"learning_rate": [1e-2]}).fit(x, y)
    with pytest.raises(ValueError, match="scoring"):
        GridSearch(build, {"learning_rate": [1e-2]}, scoring="").fit(x, y)
    with pytest.raises(ValueError, match="is not reported"):
        GridSearch(build, {"learning_rate": [1e-2]}, scoring="val_auc").fit(x, y, epochs=1)


def test_mixed_architectures_batched_per_architecture(data, monkeypatch):
    x, y = data
    calls = []
    real = many._fit_models  # fit_many and searches train through it
    monkeypatch.setattr(many, "_fit_models", lambda *a, **k: calls.append(len(a[0])) or real(*a, **k))
    gs = GridSearch(build, {"units": [4, 8, 12], "learning_rate": [1e-2, 2e-2]}).fit(x, y, epochs=1, batch_size=16)
    assert calls == [2, 2, 2]
    for r in gs.results_:
        assert r["mean_score"] == _alone_score(r["params"], x[:128], y[:128], x[128:], y[128:], epochs=1)


def test_scorer_directions_read_metric_names_with_prefixes():
    from fastnn._ms_trials import Scorer

    for name, greater in (("val_loss", False), ("val_price_mse", False), ("val_weighted_mse", False),
                          ("kind_mean_absolute_error", False), ("val_price_log_cosh", False), ("rmse", False),
                          ("val_accuracy", True), ("val_kind_accuracy", True), ("auc", True)):
        assert Scorer(name).greater_is_better is greater, name


def test_successive_halving_promotes_by_finite_scores(data, monkeypatch):
    # a NaN score among the rung's must not disturb the order of the others
    x, y = data
    scores = {1e-3: 1.0, 2e-3: float("nan"), 3e-3: 3.0, 4e-3: 2.0}
    monkeypatch.setattr(SuccessiveHalving, "_evaluate", lambda self, alive, splits: (
        [{"params": p, "mean_score": scores[p["learning_rate"]], "scores": [], "std_score": 0.0} for p in alive],
        [None] * len(alive)))
    sh = SuccessiveHalving(build, {"learning_rate": sorted(scores)}, scoring="val_accuracy", min_epochs=1, factor=2,
                           max_epochs=2, refit=False)
    sh.fit(x, y)
    assert [r["params"]["learning_rate"] for r in sh.results_[4:]] == [3e-3, 4e-3]


def test_refit_with_validation_data_of_several_inputs(data):
    x, y = data

    def build2(p):
        a, b = fnn.Input(2, name="a"), fnn.Input(3, name="b")
        m = fnn.Model([a, b], L.Dense(2)(L.Concatenate()([a, b])), seed=0)
        m.compile(fnn.optimizers.Adam(p["lr"]), fnn.losses.SparseCategoricalCrossentropy(from_logits=True))
        return m

    xs = {"a": x[:, :2], "b": x[:, 2:]}
    tr = {k: v[:120] for k, v in xs.items()}
    va = {k: v[120:] for k, v in xs.items()}
    w = np.linspace(0.5, 1.5, 120)
    gs = GridSearch(build2, {"lr": [0.1, 0.01]}, validation_data=(va, y[120:]), refit=True)
    gs.fit(tr, y[:120], epochs=1, batch_size=16, sample_weight=w)
    ref = build2(gs.best_params_)
    ref.fit(xs, y, epochs=1, batch_size=16, verbose=0, sample_weight=np.r_[w, np.ones(40)])
    for u, v in zip(ref.get_weights(), gs.best_model_.get_weights()):
        assert np.array_equal(u, v)
