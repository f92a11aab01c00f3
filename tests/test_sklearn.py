"""fastnn.sklearn: scikit-learn's own estimator checks; float64 training trajectories against
scikit-learn itself (same initial weights, batches, objective and rules); NumPy float64
references of the forward pass and of the objective; scikit-learn tooling (Pipeline,
GridSearchCV, cross_val_score, clone, pickle); patch/unpatch; fastnn's extras; bad input."""
import copy
import io
import pickle
import warnings
from contextlib import redirect_stdout

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("scipy")

from scipy.special import erf  # noqa: E402
from sklearn import neural_network as sknn  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.class_weight import compute_class_weight  # noqa: E402

import fastnn  # noqa: E402
from fastnn import schedules  # noqa: E402
from fastnn.sklearn import MLPClassifier, MLPRegressor, patch, unpatch  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# ----------------------------------------------------------------------------- data

def _digits(n=400):
    X, y = load_digits(return_X_y=True)
    return X[:n] / 16.0, y[:n]


def _targets(task, y):
    return {"multiclass": y, "binary": (y > 4).astype(int),
            "multilabel": np.c_[y > 4, y % 2 == 0, y < 2].astype(int),
            "regression": y / 10.0, "multioutput": np.c_[y, y ** 2 / 10.0] / 10.0}[task]


def _pair(task, **kw):
    if task.startswith("regression") or task == "multioutput":
        return sknn.MLPRegressor(**kw), MLPRegressor(dtype="float64", **kw)
    return sknn.MLPClassifier(**kw), MLPClassifier(dtype="float64", **kw)


def _weights(est):
    return [np.asarray(a) for a in est.coefs_ + est.intercepts_]


def _assert_same_weights(a, b, atol):
    for wa, wb in zip(_weights(a), _weights(b)):
        np.testing.assert_allclose(wb, wa, rtol=0, atol=atol)


# ----------------------------------------------------------------------------- estimator checks

# scikit-learn's own suite runs the two sample-weight equivalence checks on its MLPs with
# these parameters instead of the instance's (sklearn/utils/_test_common/instance_generator.py,
# PER_ESTIMATOR_CHECK_PARAMS): each check compares a fit with integer sample weights to a fit
# on the rows repeated that many times, to rtol=1e-7, which a stochastic solver's float32
# arithmetic cannot promise (the two sums round differently; 100 Adam steps leave them ~3e-7
# apart -- see test_sample_weight_equivalence_float32_adam for the float32 tolerance they do
# meet). fastnn's float32 Adam instances are checked the way scikit-learn checks its own; the
# float64 and lbfgs instances, which pass as they are, keep their own parameters.
_SKLEARN_SW_PARAMS = {"MLPClassifier": dict(solver="lbfgs"),
                      "MLPRegressor": dict(solver="sgd", tol=1e-2, random_state=42)}
_SW_CHECKS = ("check_sample_weight_equivalence_on_dense_data", "check_sample_weight_equivalence_on_sparse_data")

_CHECKED = [MLPClassifier(max_iter=100, random_state=0),
            MLPRegressor(max_iter=100, random_state=0),
            MLPClassifier(max_iter=100, random_state=0, dtype="float64"),
            MLPRegressor(max_iter=100, random_state=0, dtype="float64"),
            MLPClassifier((16,), solver="lbfgs", max_iter=100, random_state=0),
            MLPRegressor(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=100, random_state=0)]


def _estimator_checks():
    from sklearn.utils.estimator_checks import estimator_checks_generator

    for est in _CHECKED:
        for e, check in estimator_checks_generator(est, legacy=True):
            name = getattr(check, "func", check).__name__
            if name in _SW_CHECKS and np.dtype(est.dtype) == np.float32 and est.solver != "lbfgs":
                e = clone(e).set_params(**_SKLEARN_SW_PARAMS[type(e).__name__])
            yield pytest.param(e, check, id=f"{e!r}-{name}".replace(" ", "").replace("\n", ""))


@pytest.mark.parametrize("estimator, check", list(_estimator_checks()))
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_estimator_checks_cover_every_instance_and_check():
    from sklearn.utils.estimator_checks import estimator_checks_generator

    params = list(_estimator_checks())
    names = {getattr(p.values[1], "func", p.values[1]).__name__ for p in params}
    assert set(_SW_CHECKS) <= names and len(params) == sum(
        len(list(estimator_checks_generator(e, legacy=True))) for e in _CHECKED)
    assert not any(p.marks for p in params)  # nothing expected to fail


def _sw_data(n=15):
    # the data of scikit-learn's check: 15 rows, 30 features, 3 classes, weights 0..4
    rng = np.random.RandomState(42)
    X = rng.rand(n, 2 * n)
    y = rng.randint(0, 3, size=n)
    sw = rng.randint(0, 5, size=n)
    return X, y, sw


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_sample_weight_equivalence_float32_adam(cls):
    # the default float32 Adam estimator: integer weights equal repeated rows up to float32
    # rounding (rtol 1e-5 after 100 steps), far closer than ignoring the weights would be
    X, y, sw = _sw_data()
    method = "predict_proba" if cls is MLPClassifier else "predict"
    kw = dict(max_iter=100, random_state=0)
    est = cls(**kw).fit(X, y, sample_weight=sw)
    weighted = getattr(est, method)(X)
    repeated = getattr(cls(**kw).fit(X.repeat(sw, axis=0), y.repeat(sw)), method)(X)
    unweighted = getattr(cls(**kw).fit(X, y), method)(X)
    assert est.coefs_[0].dtype == np.float32 and est.solver == "adam"
    np.testing.assert_allclose(weighted, repeated, rtol=1e-5, atol=1e-6)
    assert np.abs(unweighted - repeated).max() > 1e-3


# ----------------------------------------------------------------------------- against scikit-learn

TASKS = ["multiclass", "binary", "multilabel", "regression", "multioutput"]


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("extra", [{}, {"nesterovs_momentum": False},
                                   {"momentum": 0.0, "learning_rate": "invscaling", "learning_rate_init": 0.05}])
def test_sgd_trajectory_equals_sklearn(task, extra):
    # 400 rows in batches of 32: 12 full batches and one of 16 (its own penalty factor).
    X, y = _digits()
    a, b = _pair(task, hidden_layer_sizes=(20, 10), solver="sgd", random_state=0, max_iter=4, batch_size=32,
                 alpha=1e-2, **extra)
    Y = _targets(task, y)
    a.fit(X, Y)
    b.fit(X, Y)
    _assert_same_weights(a, b, 1e-12)
    np.testing.assert_allclose(b.loss_curve_, a.loss_curve_, rtol=1e-12)
    assert (b.n_iter_, b.t_, b.loss_) == (a.n_iter_, a.t_, pytest.approx(a.loss_, rel=1e-12))
    assert b.out_activation_ == a.out_activation_ and b.n_outputs_ == a.n_outputs_


@pytest.mark.parametrize("task", ["multiclass", "binary", "regression"])
def test_adam_trajectory_equals_sklearn(task):
    # scikit-learn adds epsilon to sqrt(v), fastnn (torch) to sqrt(v_hat): with a
    # negligible epsilon the updates are the same.
    X, y = _digits()
    a, b = _pair(task, hidden_layer_sizes=(20,), random_state=1, max_iter=3, batch_size=50, alpha=1e-3,
                 epsilon=1e-30, learning_rate_init=0.01)
    a.fit(X, _targets(task, y))
    b.fit(X, _targets(task, y))
    _assert_same_weights(a, b, 1e-11)
    np.testing.assert_allclose(b.loss_curve_, a.loss_curve_, rtol=1e-11)


def test_adam_default_epsilon_close_to_sklearn():
    # With epsilon=1e-8 the two placements differ for weights whose gradient is tiny
    # (the kernel rows of the always-zero digit pixels); losses and outputs stay close.
    X, y = _digits()
    a = sknn.MLPClassifier((20,), random_state=0, max_iter=5, batch_size=32).fit(X, y)
    b = MLPClassifier((20,), random_state=0, max_iter=5, batch_size=32).fit(X, y)  # float32
    np.testing.assert_allclose(b.loss_curve_, a.loss_curve_, rtol=1e-3)
    np.testing.assert_allclose(b.predict_proba(X), a.predict_proba(X), atol=2e-2)


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_lbfgs_equals_sklearn(task):
    X, y = _digits(300)
    a, b = _pair(task, hidden_layer_sizes=(15,), solver="lbfgs", random_state=0, max_iter=40, alpha=1e-2)
    a.fit(X, _targets(task, y))
    b.fit(X, _targets(task, y))
    _assert_same_weights(a, b, 1e-8)
    assert b.loss_ == pytest.approx(a.loss_, rel=1e-10) and b.n_iter_ == a.n_iter_ == 40
    assert not hasattr(b, "loss_curve_") and b.coefs_[0].dtype == np.float64


def test_lbfgs_sample_weight_equals_sklearn():
    X, y = _digits(300)
    sw = np.random.default_rng(0).integers(0, 4, size=300).astype(float)
    a, b = _pair("multiclass", hidden_layer_sizes=(10,), solver="lbfgs", random_state=0, max_iter=30, alpha=0.1)
    a.fit(X, y, sample_weight=sw)
    b.fit(X, y, sample_weight=sw)
    _assert_same_weights(a, b, 1e-8)


def test_early_stopping_equals_sklearn():
    X, y = _digits()
    a, b = _pair("multiclass", hidden_layer_sizes=(16,), solver="sgd", random_state=3, max_iter=60, batch_size=40,
                 learning_rate_init=0.05, early_stopping=True, n_iter_no_change=3, tol=1e-3)
    a.fit(X, y)
    b.fit(X, y)
    assert a.n_iter_ < 60 and b.n_iter_ == a.n_iter_
    np.testing.assert_allclose(b.validation_scores_, a.validation_scores_)
    assert b.best_validation_score_ == a.best_validation_score_ and b.best_loss_ is None
    _assert_same_weights(a, b, 1e-10)  # the best weights, restored


def test_stopping_on_training_loss_equals_sklearn():
    X, y = _digits()
    a, b = _pair("regression", hidden_layer_sizes=(8,), solver="sgd", random_state=0, max_iter=200, batch_size=64,
                 tol=1e-3, n_iter_no_change=2)
    a.fit(X, y / 10)
    b.fit(X, y / 10)
    assert a.n_iter_ < 200 and b.n_iter_ == a.n_iter_
    assert b.best_loss_ == pytest.approx(a.best_loss_, rel=1e-12) == min(b.loss_curve_)


def test_adaptive_learning_rate_equals_sklearn():
    # tol=10: no epoch improves enough, so the rate is divided by 5 every 2 epochs until
    # it drops below 1e-6, then training stops.
    X, y = _digits()
    a, b = _pair("multiclass", hidden_layer_sizes=(8,), solver="sgd", random_state=0, max_iter=100, batch_size=64,
                 momentum=0.0, learning_rate="adaptive", learning_rate_init=0.1, tol=10.0, n_iter_no_change=1)
    a.fit(X, y)
    b.fit(X, y)
    assert b.n_iter_ == a.n_iter_ < 100
    assert b._optimizer.learning_rate == pytest.approx(a._optimizer.learning_rate, rel=1e-12)
    _assert_same_weights(a, b, 1e-12)


@pytest.mark.parametrize("batch_size", ["auto", 32])
def test_partial_fit_equals_sklearn(batch_size):
    # Chunks of different sizes: with "auto" each call has its own batch size (and
    # penalty factor); with 32 each has a differently sized last batch.
    X, y = _digits()
    a, b = _pair("multiclass", hidden_layer_sizes=(12,), solver="sgd", random_state=0, batch_size=batch_size,
                 alpha=0.05)
    for lo, hi in [(0, 100), (100, 250), (250, 400), (0, 70)]:
        a.partial_fit(X[lo:hi], y[lo:hi], classes=np.arange(10))
        b.partial_fit(X[lo:hi], y[lo:hi], classes=np.arange(10))
    _assert_same_weights(a, b, 1e-12)
    np.testing.assert_allclose(b.loss_curve_, a.loss_curve_, rtol=1e-12)
    assert b.n_iter_ == a.n_iter_ == 1 and b.t_ == a.t_ == 470


def test_warm_start_equals_sklearn():
    X, y = _digits()
    a, b = _pair("binary", hidden_layer_sizes=(12,), solver="sgd", random_state=0, max_iter=2, warm_start=True)
    for est in (a, b):
        est.fit(X, y > 4)
        est.set_params(max_iter=3)
        est.fit(X, y > 4)
    _assert_same_weights(a, b, 1e-12)
    assert len(b.loss_curve_) == 5 and b.n_iter_ == 3 and b.t_ == a.t_


def test_warm_start_across_solvers_keeps_the_weights():
    X, y = _digits(200)
    est = MLPClassifier((8,), solver="lbfgs", max_iter=10, random_state=0, warm_start=True).fit(X, y)
    w = [np.array(a) for a in _weights(est)]
    est.set_params(solver="sgd", momentum=0.0, learning_rate_init=1e-30, max_iter=2, early_stopping=True)
    est.fit(X, y)
    assert est.coefs_[0].dtype == np.float32 and len(est.loss_curve_) == 2 and len(est.validation_scores_) == 2
    for a, b in zip(w, _weights(est)):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)  # float32 copies of the lbfgs weights


# ----------------------------------------------------------------------------- NumPy references

_SELU = (1.0507009873554805, 1.6732632423543772)
_ACTS = {
    "identity": lambda z: z, "logistic": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0), "gelu": lambda z: 0.5 * z * (1 + erf(z / np.sqrt(2))),
    "silu": lambda z: z / (1 + np.exp(-z)), "elu": lambda z: np.where(z > 0, z, np.expm1(z)),
    "selu": lambda z: _SELU[0] * np.where(z > 0, z, _SELU[1] * np.expm1(z)),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z), "mish": lambda z: z * np.tanh(np.logaddexp(0, z)),
    "softplus": lambda z: np.logaddexp(0, z)}


def _np_forward(est, X):
    a = np.asarray(X, dtype=np.float64)
    for i, (W, b) in enumerate(zip(est.coefs_, est.intercepts_)):
        a = a @ np.asarray(W, np.float64) + np.asarray(b, np.float64)
        if i < len(est.coefs_) - 1:
            a = _ACTS[est.activation](a)
    return a


def _np_softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("activation", sorted(_ACTS))
def test_predict_proba_equals_numpy_forward(activation):
    X, y = _digits(200)
    est = MLPClassifier((9, 7), activation=activation, random_state=0, max_iter=3, dtype="float64").fit(X, y)
    p = est.predict_proba(X)
    np.testing.assert_allclose(p, _np_softmax(_np_forward(est, X)), rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(est.predict(X), est.classes_[p.argmax(axis=1)])
    np.testing.assert_allclose(est.predict_log_proba(X), np.log(p))
    assert est.loss_curve_[-1] < est.loss_curve_[0]


def test_binary_multilabel_regression_outputs_equal_numpy_forward():
    X, y = _digits(200)
    b = MLPClassifier((6,), random_state=0, max_iter=3, dtype="float64").fit(X, np.where(y > 4, "big", "small"))
    p1 = 1 / (1 + np.exp(-_np_forward(b, X)[:, 0]))
    np.testing.assert_allclose(b.predict_proba(X), np.c_[1 - p1, p1], rtol=1e-10)
    np.testing.assert_array_equal(b.predict(X), np.where(p1 > 0.5, "small", "big"))
    Y = _targets("multilabel", y)
    m = MLPClassifier((6,), random_state=0, max_iter=3, dtype="float64").fit(X, Y)
    pm = 1 / (1 + np.exp(-_np_forward(m, X)))
    np.testing.assert_allclose(m.predict_proba(X), pm, rtol=1e-10)
    np.testing.assert_array_equal(m.predict(X), (pm > 0.5).astype(int))
    r = MLPRegressor(hidden_layer_sizes=(6,), random_state=0, max_iter=3, dtype="float64").fit(X, _targets(
        "multioutput", y))
    np.testing.assert_allclose(r.predict(X), _np_forward(r, X), rtol=1e-10, atol=1e-12)


def test_lbfgs_loss_equals_numpy_objective():
    # sklearn's objective: mean cross-entropy + 0.5 * alpha * sum ||W||^2 / n.
    X, y = _digits(300)
    alpha = 0.3
    est = MLPClassifier((10,), solver="lbfgs", alpha=alpha, random_state=0, max_iter=20).fit(X, y)
    logp = np.log(_np_softmax(_np_forward(est, X)))
    ref = -logp[np.arange(len(y)), y].mean() + 0.5 * alpha * sum((W ** 2).sum() for W in est.coefs_) / len(y)
    assert est.loss_ == pytest.approx(ref, rel=1e-10)


def test_epoch_loss_penalizes_each_batch_by_its_size():
    # With a vanishing learning rate the weights stay at their initial values, so the
    # first epoch's loss is the mean loss plus, per batch b, 0.5 * alpha * ||W||^2 / b
    # weighted by b / n: nb * 0.5 * alpha * ||W||^2 / n for nb batches.
    X, y = _digits(100)
    alpha = 2.0
    est = MLPRegressor(hidden_layer_sizes=(5,), solver="sgd", momentum=0.0, learning_rate_init=1e-300, alpha=alpha,
                       batch_size=30, max_iter=1, shuffle=False, random_state=0, dtype="float64").fit(X, y)
    sq = sum((np.asarray(W) ** 2).sum() for W in est.coefs_)
    ref = 0.5 * np.mean((_np_forward(est, X)[:, 0] - y) ** 2) + 4 * 0.5 * alpha * sq / 100
    assert est.loss_curve_[0] == pytest.approx(ref, rel=1e-12)


def test_coefs_are_live_weights():
    X, y = _digits(200)
    est = MLPClassifier((8,), random_state=0, max_iter=5).fit(X, y)
    before = est.predict_proba(X)
    est.coefs_[1][...] = 0.0
    est.intercepts_[1][...] = 0.0
    np.testing.assert_allclose(est.predict_proba(X), np.full_like(before, 0.1), rtol=1e-6)
    W = np.random.default_rng(0).standard_normal(est.coefs_[1].shape)
    est.coefs_[1] = W  # replacing an entry also reaches the network
    np.testing.assert_allclose(est.predict_proba(X), _np_softmax(_np_forward(est, X)), rtol=1e-4, atol=1e-6)


# ----------------------------------------------------------------------------- attributes, warnings

def test_fitted_attributes():
    X, y = _digits(300)
    est = MLPClassifier((11, 7), random_state=0, max_iter=7, batch_size=64).fit(X, y)
    assert est.n_layers_ == 4 and est.n_outputs_ == 10 and est.n_features_in_ == 64
    assert [W.shape for W in est.coefs_] == [(64, 11), (11, 7), (7, 10)]
    assert [b.shape for b in est.intercepts_] == [(11,), (7,), (10,)]
    assert est.coefs_[0].dtype == np.float32 and est.out_activation_ == "softmax"
    np.testing.assert_array_equal(est.classes_, np.arange(10))
    assert est.n_iter_ == len(est.loss_curve_) == 7 and est.t_ == 7 * 300
    assert est.best_loss_ == min(est.loss_curve_) and est.loss_ == est.loss_curve_[-1]
    assert est.validation_scores_ is None and est.best_validation_score_ is None
    assert MLPRegressor(max_iter=2).fit(X, y).out_activation_ == "identity"
    assert MLPClassifier(max_iter=2).fit(X, y > 4).out_activation_ == "logistic"


def test_feature_names_in():
    pd = pytest.importorskip("pandas")
    X, y = _digits(100)
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(64)])
    est = MLPClassifier((5,), max_iter=2).fit(df, y)
    np.testing.assert_array_equal(est.feature_names_in_, df.columns)


def test_convergence_warnings():
    X, y = _digits(100)
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        MLPClassifier((5,), max_iter=2).fit(X, y)
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        MLPClassifier((5,), solver="lbfgs", max_iter=2).fit(X, y)
    with pytest.warns(UserWarning, match="batch_size"):
        MLPClassifier((5,), max_iter=1, batch_size=500).fit(X, y)


def test_verbose_prints_losses():
    X, y = _digits(100)
    out = io.StringIO()
    with redirect_stdout(out):
        est = MLPClassifier((5,), max_iter=2, verbose=True, random_state=0).fit(X, y)
    assert f"Iteration 2, loss = {est.loss_curve_[1]:.8f}" in out.getvalue()


def test_shuffle_false_and_seeds():
    X, y = _digits(200)
    kw = dict(hidden_layer_sizes=(8,), random_state=5, max_iter=3, batch_size=32)
    a = MLPClassifier(shuffle=False, **kw).fit(X, y)
    b = MLPClassifier(shuffle=False, **kw).fit(X, y)
    c = MLPClassifier(**kw).fit(X, y)
    _assert_same_weights(a, b, 0)
    assert not np.allclose(a.coefs_[0], c.coefs_[0])


# ----------------------------------------------------------------------------- sklearn tooling

def test_pipeline_grid_search_cross_val_score_clone():
    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    pipe = make_pipeline(StandardScaler(), MLPClassifier((64,), max_iter=40, random_state=0))
    assert pipe.fit(Xtr, ytr).score(Xte, yte) > 0.95
    scores = cross_val_score(MLPClassifier((32,), max_iter=30, batch_size=32, random_state=0), X[:600] / 16,
                             y[:600], cv=3)
    assert scores.shape == (3,) and scores.min() > 0.8
    gs = GridSearchCV(MLPClassifier(max_iter=20, batch_size=32, random_state=0),
                      {"hidden_layer_sizes": [(8,), (32,)], "alpha": [1e-4, 1.0]}, cv=2).fit(X[:400] / 16, y[:400])
    assert gs.best_params_["hidden_layer_sizes"] == (32,) and len(gs.cv_results_["params"]) == 4
    c = clone(pipe[-1])
    assert c.get_params() == pipe[-1].get_params() and not hasattr(c, "coefs_")


@pytest.mark.parametrize("kw", [{}, {"solver": "lbfgs"}, {"batch_norm": True, "dropout": 0.2}])
def test_pickle_round_trip(kw):
    X, y = _digits(300)
    est = MLPClassifier((16,), random_state=0, max_iter=5, **kw).fit(X, y)
    back = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))
    for a, b in zip(_weights(est), _weights(back)):
        np.testing.assert_array_equal(a, b)
    dup = copy.deepcopy(est)
    np.testing.assert_array_equal(dup.predict_proba(X), est.predict_proba(X))
    if kw.get("solver") != "lbfgs":  # the optimizer state travels too
        est.partial_fit(X, y)
        back.partial_fit(X, y)
        np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))


def test_patch_unpatch():
    import sklearn.neural_network as nn
    import sklearn.neural_network._multilayer_perceptron as mlp

    orig = (nn.MLPClassifier, nn.MLPRegressor, mlp.MLPClassifier, mlp.MLPRegressor)
    try:
        patch()
        patch()
        from sklearn.neural_network import MLPClassifier as C, MLPRegressor as R
        assert C is MLPClassifier and R is MLPRegressor
        assert mlp.MLPClassifier is MLPClassifier and mlp.MLPRegressor is MLPRegressor
    finally:
        unpatch()
    assert (nn.MLPClassifier, nn.MLPRegressor, mlp.MLPClassifier, mlp.MLPRegressor) == orig
    unpatch()
    assert nn.MLPClassifier is orig[0]


def test_digits_accuracy_close_to_sklearn():
    # The measured target (5 seeds) is within 0.5 points; one seed, a looser bound here.
    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=0, stratify=y)
    kw = dict(hidden_layer_sizes=(128, 64), batch_size=32, max_iter=100, random_state=0)
    ours = make_pipeline(StandardScaler(), MLPClassifier(**kw)).fit(Xtr, ytr).score(Xte, yte)
    ref = make_pipeline(StandardScaler(), sknn.MLPClassifier(**kw)).fit(Xtr, ytr).score(Xte, yte)
    assert ours >= ref - 0.015


# ----------------------------------------------------------------------------- extras

@pytest.mark.parametrize("solver", ["sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta", "adamax", "nadam"])
def test_every_stochastic_solver_trains(solver):
    X, y = _digits(300)
    lr = {"adadelta": 10.0, "sgd": 0.05, "adagrad": 0.05, "adamax": 0.01}.get(solver, 0.003)
    est = MLPClassifier((16,), solver=solver, learning_rate_init=lr, max_iter=15, batch_size=32,
                        random_state=0).fit(X, y)
    assert est.loss_curve_[-1] < 0.5 * est.loss_curve_[0] and est.score(X, y) > 0.85


def test_dropout_and_batch_norm():
    X, y = _digits(400)
    kw = dict(hidden_layer_sizes=(32,), random_state=0, max_iter=20, batch_size=32)
    a = MLPClassifier(dropout=0.3, **kw).fit(X, y)
    b = MLPClassifier(dropout=0.3, **kw).fit(X, y)
    c = MLPClassifier(**kw).fit(X, y)
    _assert_same_weights(a, b, 0)
    assert not np.allclose(a.coefs_[0], c.coefs_[0])
    np.testing.assert_array_equal(a.predict_proba(X), a.predict_proba(X))  # no dropout at inference
    bn = MLPClassifier(batch_norm=True, **kw).fit(X, y)
    assert bn.score(X, y) > 0.9 and len(bn.coefs_) == 2


def test_class_weight_is_sample_weight():
    X, y = _digits(300)
    kw = dict(hidden_layer_sizes=(8,), solver="lbfgs", random_state=0, max_iter=15)
    cw = {c: 1.0 + c for c in range(10)}
    a = MLPClassifier(class_weight=cw, **kw).fit(X, y)
    b = MLPClassifier(**kw).fit(X, y, sample_weight=1.0 + y)
    _assert_same_weights(a, b, 1e-10)
    bal = compute_class_weight("balanced", classes=np.arange(10), y=y)
    c = MLPClassifier(class_weight="balanced", **kw).fit(X, y)
    d = MLPClassifier(**kw).fit(X, y, sample_weight=bal[y])
    _assert_same_weights(c, d, 1e-10)
    with pytest.raises(ValueError, match="class_weight"):
        MLPClassifier(class_weight={42: 1.0}, **kw).fit(X, y)
    with pytest.raises(ValueError, match="class_weight"):
        MLPClassifier(class_weight="balanced", **kw).fit(X, _targets("multilabel", y))


def _one_full_batch_sgd(X, y, **kw):
    kw = dict(dict(hidden_layer_sizes=(4,), solver="sgd", momentum=0.0, alpha=0.0, batch_size=len(y), max_iter=1,
                   shuffle=False, random_state=0, dtype="float64", learning_rate_init=0.1), **kw)
    return MLPRegressor(**kw).fit(X, y)


def test_global_clipnorm_and_clipnorm_bound_the_step():
    X, y = _digits(100)
    y = y * 10.0  # large gradients
    init = _one_full_batch_sgd(X, y, learning_rate_init=1e-300)
    w0 = np.concatenate([w.ravel() for w in _weights(init)])
    g = _one_full_batch_sgd(X, y, global_clipnorm=0.5)
    step = np.concatenate([w.ravel() for w in _weights(g)]) - w0
    assert np.linalg.norm(step) == pytest.approx(0.1 * 0.5, rel=1e-9)
    t = _one_full_batch_sgd(X, y, clipnorm=0.25)
    for a, b in zip(_weights(t), _weights(init)):
        assert np.linalg.norm(a - b) == pytest.approx(0.1 * 0.25, rel=1e-9)


def test_weight_decay_adds_to_the_gradient():
    # One plain SGD step: theta1 = theta0 - lr * (g + wd * theta0).
    X, y = _digits(100)
    init = _one_full_batch_sgd(X, y, learning_rate_init=1e-300)
    plain = _one_full_batch_sgd(X, y)
    wd = _one_full_batch_sgd(X, y, weight_decay=0.3)
    for w0, w1, w2 in zip(_weights(init), _weights(plain), _weights(wd)):
        np.testing.assert_allclose(w2, w1 - 0.1 * 0.3 * w0, rtol=0, atol=1e-12)


def test_lr_schedule():
    X, y = _digits(200)
    kw = dict(hidden_layer_sizes=(8,), random_state=0, max_iter=3, dtype="float64")
    a = MLPClassifier(learning_rate_init=0.01, **kw).fit(X, y)
    b = MLPClassifier(lr_schedule=schedules.Constant(0.01), **kw).fit(X, y)
    _assert_same_weights(a, b, 0)
    # A per-epoch schedule that is zero after the first epoch freezes the weights then.
    sch = schedules.PiecewiseConstantDecay([0], [0.01, 0.0], unit="epoch")
    c = MLPClassifier(lr_schedule=sch, solver="sgd", **dict(kw, max_iter=1)).fit(X, y)
    d = MLPClassifier(lr_schedule=sch, solver="sgd", **kw).fit(X, y)
    _assert_same_weights(c, d, 0)


def test_validation_data():
    X, y = _digits(400)
    Xv, yv = X[300:], y[300:]
    est = MLPClassifier((16,), random_state=0, max_iter=6, validation_data=(Xv, yv)).fit(X[:300], y[:300])
    assert len(est.validation_scores_) == 6 and est.validation_scores_[-1] == est.score(Xv, yv)
    es = MLPClassifier((16,), random_state=0, max_iter=40, early_stopping=True, n_iter_no_change=2,
                       validation_data=(Xv, yv)).fit(X[:300], y[:300])
    assert es.best_validation_score_ == max(es.validation_scores_) == es.score(Xv, yv)
    assert es.t_ == 300 * es.n_iter_  # no rows held out


def test_float64_dtype():
    X, y = _digits(100)
    assert MLPRegressor(hidden_layer_sizes=(4,), max_iter=2, dtype="float64").fit(X, y).coefs_[0].dtype == np.float64


# ----------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("param, value, exc", [
    ("hidden_layer_sizes", 0, ValueError), ("hidden_layer_sizes", (10, -1), ValueError),
    ("hidden_layer_sizes", "10", TypeError), ("activation", "softmax", ValueError), ("solver", "newton", ValueError),
    ("alpha", -1.0, ValueError), ("batch_size", 0, ValueError), ("batch_size", "big", ValueError),
    ("learning_rate", "cyclic", ValueError), ("learning_rate_init", 0.0, ValueError), ("max_iter", 0, ValueError),
    ("max_iter", 2.5, TypeError), ("shuffle", "yes", TypeError), ("momentum", 1.5, ValueError),
    ("beta_1", 1.0, ValueError), ("epsilon", 0.0, ValueError), ("n_iter_no_change", 0, ValueError),
    ("validation_fraction", 1.0, ValueError), ("tol", np.nan, ValueError), ("dropout", 1.0, ValueError),
    ("clipnorm", 0.0, ValueError), ("lr_schedule", 0.1, TypeError), ("validation_data", (1,), ValueError),
    ("dtype", "int32", ValueError), ("class_weight", "auto", ValueError), ("weight_decay", -1.0, ValueError)])
def test_bad_parameters_name_themselves(param, value, exc):
    X, y = _digits(50)
    with pytest.raises(exc, match=param):
        MLPClassifier(**dict({"max_iter": 1}, **{param: value})).fit(X, y)


@pytest.mark.parametrize("param, value", [("max_iter", 10.0), ("alpha", "1"), ("shuffle", 1), ("batch_size", 2.5),
                                          ("hidden_layer_sizes", "10"), ("verbose", 2.0), ("verbose", -1),
                                          ("activation", "foo")])
def test_bad_parameters_raise_sklearns_invalid_parameter_error(param, value):
    # a ValueError and a TypeError, as scikit-learn raises for its own MLPs
    from sklearn.utils._param_validation import InvalidParameterError

    X, y = _digits(50)
    for exc in (InvalidParameterError, ValueError, TypeError):
        with pytest.raises(exc, match=param):
            MLPClassifier(**dict({"max_iter": 1}, **{param: value})).fit(X, y)


def test_bad_use():
    X, y = _digits(60)
    with pytest.raises(ValueError, match="dropout"):
        MLPClassifier(solver="lbfgs", dropout=0.1).fit(X, y)
    with pytest.raises(ValueError, match="batch_norm"):
        MLPClassifier(solver="lbfgs", batch_norm=True).fit(X, y)
    with pytest.raises(ValueError, match="poisson"):
        MLPRegressor(loss="poisson").fit(X, y)
    with pytest.raises(ValueError, match="classes"):
        MLPClassifier().partial_fit(X, y)
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    with pytest.raises(ValueError, match="early_stopping"):
        MLPClassifier(early_stopping=True).partial_fit(X, y, classes=np.arange(10))
    with pytest.raises(NotFittedError):
        MLPClassifier().predict(X)
    est = MLPClassifier((4,), max_iter=1).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        est.predict(X[:, :10])
    with pytest.raises(ValueError, match="sample_weight"):
        MLPClassifier(max_iter=1).fit(X, y, sample_weight=-np.ones(60))
    with pytest.raises(ValueError, match="sample_weight"):
        MLPClassifier(max_iter=1).fit(X, y, sample_weight=np.ones(59))
    est = MLPClassifier((4,), max_iter=1, warm_start=True).fit(X, y)
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        est.set_params(hidden_layer_sizes=(4, 4)).fit(X, y)
    with pytest.raises(ValueError, match="classes"):
        MLPClassifier((4,), max_iter=1).partial_fit(X, y, classes=np.arange(10)).partial_fit(X, y, classes=[0, 1])


def test_module_is_optional_and_public():
    assert "sklearn" not in fastnn.__all__
    assert set(fastnn.sklearn.__all__) == {"MLPClassifier", "MLPRegressor", "patch", "unpatch"}
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        MLPClassifier().get_params()


def test_a_failed_first_fit_or_partial_fit_leaves_the_estimator_unfitted():
    from sklearn.exceptions import NotFittedError

    X, y = _digits(60)
    c = MLPClassifier(learning_rate_init=0)
    with pytest.raises(ValueError, match="learning_rate_init"):
        c.partial_fit(X, y, classes=np.arange(10))
    assert not hasattr(c, "classes_")
    with pytest.raises(NotFittedError):
        c.predict(X)
    c.set_params(learning_rate_init=1e-3).partial_fit(X[:20], y[:20] % 2, classes=[0, 1])  # new classes are fine
    assert list(c.classes_) == [0, 1]
    # early stopping with a validation part too small to hold a row: the fit fails after
    # the weights were drawn, and leaves nothing fitted behind
    c = MLPClassifier(early_stopping=True, validation_fraction=0.01, max_iter=2)
    with pytest.raises(ValueError):
        c.fit(X[:20], y[:20])
    assert not hasattr(c, "coefs_")
    with pytest.raises(NotFittedError):
        c.predict(X)


def test_partial_fit_after_set_params_uses_the_new_activation():
    # as scikit-learn: the next partial_fit runs the network with the new activation, from
    # the weights (and optimizer state) so far
    X, y = _digits(120)
    a = MLPClassifier(hidden_layer_sizes=(8,), random_state=0, dtype="float64")
    a.partial_fit(X, y, classes=np.arange(10))
    a.set_params(activation="tanh").partial_fit(X, y)
    assert a._net.layers[0].activation[0] == "tanh"
    h = np.tanh(X @ a.coefs_[0] + a.intercepts_[0])
    z = h @ a.coefs_[1] + a.intercepts_[1]
    np.testing.assert_allclose(a.predict_proba(X), np.exp(z - z.max(1, keepdims=True)) /
                               np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True), rtol=1e-10)
    assert a.t_ == 2 * len(X)
