"""fastnn.metrics: hand-worked examples, NumPy float64 / scikit-learn oracles, streaming
(batches == one shot), sample weights, reset, look-up and serialization, bad input."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastnn import metrics as M
from fastnn._metrics_base import _WeightedMean

# --------------------------------------------------------------------------- helpers


def _pairwise_auc(scores, labels, w):
    """Brute-force ROC AUC oracle: weighted P(score_pos > score_neg) + 1/2 P(tie)."""
    s, y, w = (np.asarray(a, np.float64) for a in (scores, labels, w))
    pos, neg = y == 1, y == 0
    sp, sn = s[pos][:, None], s[neg][None, :]
    ww = w[pos][:, None] * w[neg][None, :]
    return float(((sp > sn) * ww + 0.5 * (sp == sn) * ww).sum() / ww.sum())


def _batches(n, rng, parts=4):
    cuts = np.sort(rng.choice(np.arange(1, n), size=parts - 1, replace=False))
    return np.split(np.arange(n), cuts)


def _random_case(kind, rng, n=60, k=4):
    """(y_true, y_pred) suited to each metric kind."""
    if kind == "binary":
        return rng.integers(0, 2, (n, k)).astype(np.float32), rng.random((n, k)).astype(np.float32)
    if kind == "onehot":
        return np.eye(k)[rng.integers(0, k, n)], rng.normal(size=(n, k))
    if kind == "sparse":
        return rng.integers(0, k, n), rng.normal(size=(n, k))
    if kind == "equal":
        return rng.integers(0, 3, (n, k)), rng.integers(0, 3, (n, k))
    return rng.normal(size=(n, k)), rng.normal(size=(n, k))  # regression


ALL = [
    (M.Accuracy, {}, "equal"), (M.BinaryAccuracy, {"threshold": 0.3}, "binary"),
    (M.CategoricalAccuracy, {}, "onehot"), (M.SparseCategoricalAccuracy, {}, "sparse"),
    (M.TopKCategoricalAccuracy, {"k": 2}, "onehot"),
    (M.SparseTopKCategoricalAccuracy, {"k": 2}, "sparse"),
    (M.Precision, {}, "binary"), (M.Recall, {"threshold": 0.7}, "binary"),
    (M.F1Score, {"average": "macro"}, "binary"), (M.F1Score, {"average": "micro"}, "onehot"),
    (M.F1Score, {"average": "weighted", "threshold": 0.4}, "binary"),
    (M.AUC, {}, "binary"), (M.AUC, {"multi_label": False}, "binary"),
    (M.MeanSquaredError, {}, "reg"), (M.MeanAbsoluteError, {}, "reg"),
    (M.RootMeanSquaredError, {}, "reg"), (M.R2Score, {}, "reg"),
    (M.R2Score, {"class_aggregation": "variance_weighted_average"}, "reg"),
]
IDS = [f"{c.__name__}-{'-'.join(map(str, kw.values()))}" for c, kw, _ in ALL]


# --------------------------------------------------------------------------- hand-worked

HAND = [
    (M.Accuracy(), [[1, 2], [3, 4]], [[1, 0], [3, 4]], None, 0.75),
    (M.Accuracy(), [1, 2, 3, 4], [1, 2, 0, 0], [1, 1, 2, 0], 0.5),  # (1+1+0)/4
    (M.BinaryAccuracy(), [1, 1, 0, 0], [0.98, 0.5, 0.6, 0.0], None, 0.5),  # 0.5 is not > 0.5
    (M.BinaryAccuracy(threshold=0.55), [1, 1, 0, 0], [0.98, 0.5, 0.6, 0.0], [1, 1, 0, 2], 0.75),
    (M.CategoricalAccuracy(), [[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]],
     None, 0.5),
    (M.CategoricalAccuracy(), [[0, 1], [0, 1]], [[3.0, 3.0], [-1.0, 2.0]], None, 0.5),  # tie->0
    (M.SparseCategoricalAccuracy(), [[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]],
     [3, 1], 0.25),
    (M.TopKCategoricalAccuracy(k=2), [[0, 0, 1], [0, 0, 1]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]],
     None, 0.5),
    (M.SparseTopKCategoricalAccuracy(k=1), [0, 1], [[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]],
     None, 0.5),  # ties at the k-th score count as in the top k
    (M.SparseTopKCategoricalAccuracy(k=1), [1, 2], [[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]],
     None, 1.0),
    (M.Precision(), [0, 1, 1, 1], [1, 0, 1, 1], None, 2 / 3),
    (M.Precision(), [0, 1, 1, 1], [1, 0, 1, 1], [3, 1, 1, 1], 2 / 5),
    (M.Recall(), [0, 1, 1, 1], [1, 0, 1, 1], [3, 2, 1, 1], 2 / 4),
    (M.Recall(threshold=0.0), [[0, 1], [1, 0]], [[0.0, 0.1], [0.0, 0.2]], None, 0.5),
    (M.F1Score(average="macro"), [[1, 0], [0, 1], [0, 1]], [[0.9, 0.1], [0.6, 0.4], [0.2, 0.8]],
     None, 2 / 3),
    # one column, threshold None -> 0.5: tp=1 fp=1 fn=1
    (M.F1Score(average="micro"), [1, 1, 0], [0.7, 0.2, 0.9], None, 0.5),
    # weighted: class0 f1=2/3 support 1, class1 f1=1 support 2, class2 f1=0 support 0
    (M.F1Score(average="weighted", threshold=0.5), [[1, 0, 0], [0, 1, 0], [0, 1, 0]],
     [[0.9, 0.1, 0.7], [0.6, 0.8, 0], [0.2, 0.8, 0]], None, (2 / 3 + 2) / 3),
    (M.AUC(), [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], None, 0.75),
    (M.AUC(), [0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9], None, 0.875),  # tie counts 1/2
    (M.AUC(), [[0, 1], [1, 0], [1, 1]], [[0.1, 0.1], [0.2, 0.25], [0.3, 0.3]], None, 0.75),
    (M.MeanSquaredError(), [[0, 1], [0, 0]], [[1, 1], [0, 0]], [1, 3], 0.125),
    (M.MeanAbsoluteError(), [1, 2, 3], [2, 2, 1], [1, 0, 1], 1.5),
    (M.RootMeanSquaredError(), [1, 2, 3], [2, 2, 1], None, np.sqrt(5 / 3)),
    (M.R2Score(), [1.0, 2.0, 3.0], [1.0, 2.0, 2.0], None, 0.5),
    # weighted mean 2.5: ss_tot = 1*2.25 + 0 + 3*0.25 = 3, ss_res = 3*1 = 3
    (M.R2Score(), [1.0, 2.0, 3.0], [1.0, 2.0, 2.0], [1, 0, 3], 0.0),
    # constant column predicted exactly -> 1, constant column missed -> 0
    (M.R2Score(), [[1, 5], [1, 5]], [[1, 5], [1, 4]], None, 0.5),
]


@pytest.mark.parametrize("metric,y_true,y_pred,w,expected", HAND)
def test_hand_worked(metric, y_true, y_pred, w, expected):
    assert metric(y_true, y_pred, sample_weight=w) == pytest.approx(expected, rel=1e-12)
    assert isinstance(metric.result(), float)


def test_auc_macro_and_micro_by_hand():
    t = [[0, 1], [1, 0], [1, 1]]
    p = [[0.1, 0.1], [0.2, 0.25], [0.3, 0.3]]
    assert M.AUC()(t, p) == pytest.approx(0.75)  # column AUCs 1.0 and 0.5
    # pooled: positives 0.1 0.2 0.3 0.3, negatives 0.1 0.25 -> (0.5 + 1 + 2 + 2) / 8
    assert M.AUC(multi_label=False)(t, p) == pytest.approx(5.5 / 8)


def test_f1_per_class_array_and_argmax_ties():
    m = M.F1Score()
    m.update_state([[1, 0, 0], [0, 1, 0]], [[0.4, 0.4, 0.2], [0.1, 0.2, 0.7]])
    # row 0 predicts classes 0 and 1 (tie); row 1 predicts class 2
    np.testing.assert_allclose(m.result(), [1.0, 0.0, 0.0])
    assert m.result().dtype == np.float64


def test_mean():
    m = M.Mean()
    m.update_state([1.0, 3.0])
    m.update_state(5.0, sample_weight=2.0)
    assert m.result() == 3.5
    m.update_state([[1.0, 3.0], [0.0, 0.0]], sample_weight=[[2.0], [0.0]])  # per-row means
    assert m.result() == pytest.approx((14 + 4) / 6)
    assert m([]) == pytest.approx(3.0)
    assert M.Mean(name="loss").name == "loss"
    with pytest.raises(ValueError, match=r"sample_weight: expected a scalar or shape \(2,\)"):
        m.update_state([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="values: expected a real numeric array"):
        m.update_state(["a"])
    with pytest.raises(ValueError, match=r"values: trailing axes must not be empty.*\(2, 0\)"):
        m.update_state(np.zeros((2, 0)))
    assert m.result() == pytest.approx(3.0)


# --------------------------------------------------------------------------- oracles


def _reference(metric, t, p, w):
    """NumPy float64 reference for the mean-style metrics."""
    t, p = np.asarray(t, np.float64), np.asarray(p, np.float64)
    w = np.ones(len(t)) if w is None else np.asarray(w, np.float64)
    if isinstance(metric, M.SparseTopKCategoricalAccuracy):
        own = p[np.arange(len(t)), t.astype(int)]
        v = (np.sort(p, axis=1)[:, -metric.k] <= own).astype(float)
    elif isinstance(metric, M.TopKCategoricalAccuracy):
        own = p[np.arange(len(t)), t.argmax(1)]
        v = (np.sort(p, axis=1)[:, -metric.k] <= own).astype(float)
    elif isinstance(metric, M.SparseCategoricalAccuracy):
        v = (p.argmax(1) == t).astype(float)
    elif isinstance(metric, M.CategoricalAccuracy):
        v = (p.argmax(1) == t.argmax(1)).astype(float)
    elif isinstance(metric, M.BinaryAccuracy):
        v = (t == (p > metric.threshold)).mean(1)
    elif isinstance(metric, M.Accuracy):
        v = (t == p).mean(1)
    elif isinstance(metric, M.MeanAbsoluteError):
        v = np.abs(t - p).mean(1)
    else:
        v = ((t - p) ** 2).mean(1)
    r = float((w * v).sum() / w.sum())
    return np.sqrt(r) if isinstance(metric, M.RootMeanSquaredError) else r


@pytest.mark.parametrize("cls,kw,kind", [a for a in ALL if issubclass(a[0], _WeightedMean)],
                         ids=[i for a, i in zip(ALL, IDS) if issubclass(a[0], _WeightedMean)])
@pytest.mark.parametrize("weighted", [False, True])
def test_mean_metrics_match_numpy(cls, kw, kind, weighted, rng):
    t, p = _random_case(kind, rng)
    w = rng.random(len(t)) * 3 if weighted else None
    assert cls(**kw)(t, p, sample_weight=w) == pytest.approx(_reference(cls(**kw), t, p, w), rel=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
def test_classification_matches_sklearn(weighted, rng):
    skm = pytest.importorskip("sklearn.metrics")
    n, k = 200, 5
    w = rng.random(n) * 2 if weighted else None
    yt, yp = rng.integers(0, 2, (n, k)), rng.random((n, k))
    yb = (yp > 0.5).astype(int)
    assert M.Precision()(yt, yp, w) == pytest.approx(
        skm.precision_score(yt.ravel(), yb.ravel(), sample_weight=None if w is None else np.repeat(w, k)))
    assert M.Recall()(yt, yp, w) == pytest.approx(
        skm.recall_score(yt.ravel(), yb.ravel(), sample_weight=None if w is None else np.repeat(w, k)))
    for avg in ("micro", "macro", "weighted"):
        assert M.F1Score(average=avg, threshold=0.5)(yt, yp, w) == pytest.approx(
            skm.f1_score(yt, yb, average=avg, sample_weight=w), rel=1e-12)
    np.testing.assert_allclose(M.F1Score(threshold=0.5)(yt, yp, w),
                               skm.f1_score(yt, yb, average=None, sample_weight=w), rtol=1e-12)
    # argmax F1 (threshold None) on multiclass = sklearn on labels
    lt, scores = rng.integers(0, k, n), rng.normal(size=(n, k))
    for avg in ("micro", "macro", "weighted"):
        assert M.F1Score(average=avg)(np.eye(k)[lt], scores, w) == pytest.approx(
            skm.f1_score(lt, scores.argmax(1), labels=range(k), average=avg, sample_weight=w))
    assert M.SparseTopKCategoricalAccuracy(k=3)(lt, scores, w) == pytest.approx(
        skm.top_k_accuracy_score(lt, scores, k=3, sample_weight=w))
    assert M.SparseCategoricalAccuracy()(lt, scores, w) == pytest.approx(
        skm.accuracy_score(lt, scores.argmax(1), sample_weight=w))


@pytest.mark.parametrize("weighted", [False, True])
def test_auc_matches_sklearn(weighted, rng):
    skm = pytest.importorskip("sklearn.metrics")
    n, k = 300, 3
    w = rng.random(n) * 2 if weighted else None
    yt = rng.integers(0, 2, (n, k))
    yp = np.round(rng.random((n, k)), 1)  # many ties
    assert M.AUC()(yt, yp, w) == pytest.approx(skm.roc_auc_score(yt, yp, sample_weight=w), rel=1e-12)
    assert M.AUC(multi_label=False)(yt, yp, w) == pytest.approx(
        skm.roc_auc_score(yt, yp, average="micro", sample_weight=w), rel=1e-12)
    assert M.AUC()(yt[:, 0], yp[:, 0], w) == pytest.approx(
        skm.roc_auc_score(yt[:, 0], yp[:, 0], sample_weight=w), rel=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
def test_regression_matches_sklearn(weighted, rng):
    skm = pytest.importorskip("sklearn.metrics")
    n, k = 150, 3
    w = rng.random(n) * 2 if weighted else None
    yt = rng.normal(size=(n, k)) * [1, 10, 0.1] + [0, 1e4, -3]
    yp = yt + rng.normal(size=(n, k))
    assert M.MeanSquaredError()(yt, yp, w) == pytest.approx(skm.mean_squared_error(yt, yp, sample_weight=w))
    assert M.MeanAbsoluteError()(yt, yp, w) == pytest.approx(skm.mean_absolute_error(yt, yp, sample_weight=w))
    assert M.RootMeanSquaredError()(yt, yp, w) == pytest.approx(
        np.sqrt(skm.mean_squared_error(yt, yp, sample_weight=w)))
    assert M.R2Score()(yt, yp, w) == pytest.approx(skm.r2_score(yt, yp, sample_weight=w), rel=1e-10)
    assert M.R2Score("variance_weighted_average")(yt, yp, w) == pytest.approx(
        skm.r2_score(yt, yp, sample_weight=w, multioutput="variance_weighted"), rel=1e-10)


@settings(deadline=None, max_examples=60)
@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 6), st.integers(0, 3)),
                min_size=2, max_size=40))
def test_auc_equals_pairwise_oracle(rows):
    y, s, w = (np.array(c, np.float64) for c in zip(*rows))
    if not ((y == 1) & (w > 0)).any() or not ((y == 0) & (w > 0)).any():
        assert M.AUC()(y, s, w) == 0.0  # undefined -> 0.0 as in Keras
        return
    assert M.AUC()(y, s / 6, w) == pytest.approx(_pairwise_auc(s, y, w), rel=1e-12)


def test_r2_stable_with_large_offset(rng):
    y = 1e8 + rng.normal(size=1000)
    p = y + 0.1 * rng.normal(size=1000)
    m = M.R2Score()
    for idx in np.array_split(np.arange(1000), 7):
        m.update_state(y[idx], p[idx])
    yc, pc = y - 1e8, p - 1e8  # exact shift in float64 terms of the oracle
    expected = 1 - ((yc - pc) ** 2).sum() / ((yc - yc.mean()) ** 2).sum()
    assert m.result() == pytest.approx(expected, rel=1e-6)


# --------------------------------------------------------------------------- streaming / weights


def _result(m):
    r = m.result()
    return np.asarray(r, np.float64)


@pytest.mark.parametrize("cls,kw,kind", ALL, ids=IDS)
def test_batches_equal_one_shot(cls, kw, kind, rng):
    t, p = _random_case(kind, rng)
    w = rng.random(len(t))
    one, streamed = cls(**kw), cls(**kw)
    one.update_state(t, p, sample_weight=w)
    for idx in _batches(len(t), rng):
        streamed.update_state(t[idx], p[idx], sample_weight=w[idx])
    np.testing.assert_allclose(_result(streamed), _result(one), rtol=1e-12, atol=1e-15)
    streamed.update_state(t[:0], p[:0])  # an empty batch changes nothing
    np.testing.assert_allclose(_result(streamed), _result(one), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("cls,kw,kind", ALL, ids=IDS)
def test_integer_weights_equal_repetition(cls, kw, kind, rng):
    t, p = _random_case(kind, rng, n=30)
    w = rng.integers(0, 4, len(t))
    w[0] = 1
    rep = np.repeat(np.arange(len(t)), w)
    weighted = cls(**kw)(t, p, sample_weight=w)
    repeated = cls(**kw)(t[rep], p[rep])
    np.testing.assert_allclose(np.asarray(weighted), np.asarray(repeated), rtol=1e-12, atol=1e-15)
    # a (n, 1) weight column and a scalar weight behave like (n,) and like no weight
    np.testing.assert_allclose(np.asarray(cls(**kw)(t, p, w[:, None])), np.asarray(weighted), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(cls(**kw)(t, p, 2.5)), np.asarray(cls(**kw)(t, p)),
                               rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("cls,kw,kind", ALL, ids=IDS)
def test_reset_and_empty_result(cls, kw, kind, rng):
    m = cls(**kw)
    assert m.result() == 0.0 and isinstance(m.result(), float)
    t, p = _random_case(kind, rng)
    fresh = np.asarray(cls(**kw)(t[:20], p[:20]))
    m.update_state(t[20:], p[20:])
    m.reset_state()
    assert m.result() == 0.0
    np.testing.assert_allclose(np.asarray(m(t[:20], p[:20])), fresh, rtol=1e-12)


def test_all_zero_weights_give_zero(rng):
    t, p = _random_case("reg", rng)
    for m in (M.MeanSquaredError(), M.R2Score(), M.Precision()):
        m.update_state(np.abs(t) > 0.5, np.abs(p) > 0.5, np.zeros(len(t)))
        assert m.result() == 0.0


def test_input_dtypes_and_shapes(rng):
    t = rng.integers(0, 2, 40)
    p = rng.random(40)
    ref = M.BinaryAccuracy()(t, p)
    for tt, pp in ((t.astype(bool), p.astype(np.float32)), (t[:, None], p), (t, p[:, None]),
                   (list(t), list(p)), (t.astype(">i4"), p.astype(">f8"))):
        assert M.BinaryAccuracy()(tt, pp) == pytest.approx(ref, rel=1e-6)
    labels, scores = rng.integers(0, 3, 40), rng.normal(size=(40, 3))
    ref = M.SparseCategoricalAccuracy()(labels, scores)
    for lab in (labels[:, None], labels.astype(np.float32), labels.astype(np.uint8)):
        assert M.SparseCategoricalAccuracy()(lab, scores) == ref


# --------------------------------------------------------------------------- look-up


@pytest.mark.parametrize("name,cls", [
    ("accuracy", M.Accuracy), ("acc", M.Accuracy), ("binary_accuracy", M.BinaryAccuracy),
    ("categorical_accuracy", M.CategoricalAccuracy),
    ("sparse_categorical_accuracy", M.SparseCategoricalAccuracy),
    ("top_k_categorical_accuracy", M.TopKCategoricalAccuracy),
    ("sparse_top_k_categorical_accuracy", M.SparseTopKCategoricalAccuracy),
    ("precision", M.Precision), ("recall", M.Recall), ("f1", M.F1Score), ("f1_score", M.F1Score),
    ("auc", M.AUC), ("mse", M.MeanSquaredError), ("mean_squared_error", M.MeanSquaredError),
    ("mae", M.MeanAbsoluteError), ("mean_absolute_error", M.MeanAbsoluteError),
    ("rmse", M.RootMeanSquaredError), ("root_mean_squared_error", M.RootMeanSquaredError),
    ("r2", M.R2Score), ("r2_score", M.R2Score),
])
def test_get_by_name(name, cls):
    m = M.get(name)
    assert type(m) is cls and m.name == name
    assert type(M.get(name.upper())) is cls


def test_default_names():
    expected = {
        M.Mean: "mean", M.Accuracy: "accuracy", M.BinaryAccuracy: "binary_accuracy",
        M.CategoricalAccuracy: "categorical_accuracy",
        M.SparseCategoricalAccuracy: "sparse_categorical_accuracy",
        M.TopKCategoricalAccuracy: "top_k_categorical_accuracy",
        M.SparseTopKCategoricalAccuracy: "sparse_top_k_categorical_accuracy",
        M.Precision: "precision", M.Recall: "recall", M.F1Score: "f1_score", M.AUC: "auc",
        M.MeanSquaredError: "mean_squared_error", M.MeanAbsoluteError: "mean_absolute_error",
        M.RootMeanSquaredError: "root_mean_squared_error", M.R2Score: "r2_score",
    }
    for cls, name in expected.items():
        assert cls().name == name
        assert M.get(cls.__name__).name == name and type(M.get(cls)) is cls


def test_get_instance_dict_and_errors():
    m = M.Precision(threshold=0.3)
    assert M.get(m) is m and M.get(None) is None
    r = M.get({"class_name": "Recall", "config": {"threshold": 0.2, "name": "rec"}})
    assert type(r) is M.Recall and r.threshold == 0.2 and r.name == "rec"
    assert type(M.get({"class_name": "AUC"})) is M.AUC
    with pytest.raises(ValueError, match=r"unknown metric 'accuracyy'.*binary_accuracy.*r2_score"):
        M.get("accuracyy")
    with pytest.raises(ValueError, match="unknown metric class_name 'Nope'"):
        M.get({"class_name": "Nope", "config": {}})
    with pytest.raises(TypeError, match="identifier: expected .* got int"):
        M.get(3)
    with pytest.raises(TypeError, match="config: expected a dict"):
        M.Accuracy.from_config([1])


@pytest.mark.parametrize("loss,cls", [
    ("sparse_categorical_crossentropy", M.SparseCategoricalAccuracy),
    ("SparseCategoricalCrossentropy", M.SparseCategoricalAccuracy),
    ("categorical_crossentropy", M.CategoricalAccuracy),
    ("binary_crossentropy", M.BinaryAccuracy), ("BinaryCrossentropy", M.BinaryAccuracy),
    ("hinge", M.BinaryAccuracy), ("squared_hinge", M.BinaryAccuracy),
    ("mse", M.Accuracy), (None, M.Accuracy),
])
def test_resolve_accuracy_by_loss(loss, cls):
    for ident in ("accuracy", "acc"):
        m = M.resolve(ident, loss)
        assert type(m) is cls and m.name == ident


def test_resolve_other_identifiers():
    class BinaryCrossentropy:  # a loss object without a name attribute
        pass

    class Named:
        name = "categorical_crossentropy"

    assert type(M.resolve("accuracy", BinaryCrossentropy())) is M.BinaryAccuracy
    assert type(M.resolve("accuracy", Named())) is M.CategoricalAccuracy
    assert type(M.resolve("mse", "binary_crossentropy")) is M.MeanSquaredError
    m = M.resolve("Accuracy", "binary_crossentropy")  # case-insensitive, as in Keras
    assert type(m) is M.BinaryAccuracy and m.name == "Accuracy"
    a = M.Accuracy()
    assert M.resolve(a, "binary_crossentropy") is a
    with pytest.raises(ValueError, match="unknown metric"):
        M.resolve("nope", "mse")


@pytest.mark.parametrize("cls,kw,kind", ALL, ids=IDS)
def test_serialize_round_trip(cls, kw, kind, rng):
    m = cls(**kw, name="custom")
    t, p = _random_case(kind, rng)
    m.update_state(t, p)
    cfg = json.loads(json.dumps(M.serialize(m)))
    assert cfg["class_name"] == cls.__name__ and "class_name" not in cfg["config"]
    m2 = M.get(cfg)
    assert type(m2) is cls and m2.get_config() == m.get_config() and m2.name == "custom"
    assert m2.result() == 0.0  # a fresh metric
    np.testing.assert_allclose(np.asarray(m2(t, p)), np.asarray(m.result()), rtol=1e-12)
    assert cls.__name__ in repr(m)


def test_resolved_accuracy_round_trips():
    m = M.resolve("accuracy", "sparse_categorical_crossentropy")
    m2 = M.get(M.serialize(m))
    assert type(m2) is M.SparseCategoricalAccuracy and m2.name == "accuracy"


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("cls,kw,kind", ALL, ids=IDS)
def test_bad_inputs_raise_and_leave_state(cls, kw, kind, rng):
    t, p = _random_case(kind, rng, n=10)
    m = cls(**kw)
    m.update_state(t, p)
    before = np.asarray(m.result()).copy()
    bad = [
        ((t, p, np.full(10, np.nan)), ValueError, r"sample_weight: contains NaN.*shape \(10,\)"),
        ((t, p, -np.ones(10)), ValueError, r"sample_weight: weights must be >= 0"),
        ((t, p, np.ones(9)), ValueError, r"sample_weight: expected .*got shape \(9,\) and dtype float64"),
        ((t, p, np.ones((10, 2))), ValueError, r"sample_weight: expected"),
        ((t, p, np.ones(10, complex)), TypeError, r"sample_weight: expected a real numeric array.*complex"),
        ((t, p[:9]), ValueError, r"y_true and y_pred|y_true: expected"),
        ((t, np.array(["a"] * 10)), TypeError, r"y_pred: expected a real numeric array.*<U1"),
        ((np.array([None] * 10), p), TypeError, r"y_true: expected a real numeric array.*object"),
        ((t, p[None]), ValueError, r"y_pred: expected .*shape \(1, 10"),
    ]
    for args, exc, msg in bad:
        with pytest.raises(exc, match=msg):
            m.update_state(*args)
    np.testing.assert_array_equal(np.asarray(m.result()), before)


def test_label_checks():
    scores = np.array([[0.2, 0.8], [0.6, 0.4]])
    for cls in (M.SparseCategoricalAccuracy, M.SparseTopKCategoricalAccuracy):
        with pytest.raises(ValueError, match=r"y_true: label 2 out of range \[0, 2\)"):
            cls()([0, 2], scores)
        with pytest.raises(ValueError, match=r"y_true: label -1 out of range"):
            cls()([-1, 0], scores)
        with pytest.raises(ValueError, match=r"y_true: labels must be whole numbers, found 0.5"):
            cls()([0.5, 1.0], scores)
        with pytest.raises(ValueError, match=r"y_true: labels must be whole numbers, found nan"):
            cls()([np.nan, 1.0], scores)
        with pytest.raises(ValueError, match=r"y_pred: expected 2-D scores"):
            cls()([0, 1], [0.2, 0.3])
        with pytest.raises(ValueError, match=r"y_true: expected integer labels.*\(2, 2\)"):
            cls()(scores, scores)
    for m in (M.Precision(), M.Recall(), M.F1Score(), M.AUC()):
        with pytest.raises(ValueError, match=r"y_true: expected binary labels \(0 or 1\), found 2.0"):
            m([0, 2], [0.1, 0.7])
    with pytest.raises(ValueError, match="y_pred: contains NaN"):
        M.AUC()([0, 1], [np.nan, 0.5])
    with pytest.raises(ValueError, match=r"y_true and y_pred: shapes do not match.*one-hot"):
        M.CategoricalAccuracy()([0, 1], scores)


def test_column_count_fixed_by_first_batch(rng):
    for m in (M.F1Score(), M.AUC(), M.R2Score()):
        m.update_state(np.eye(3)[[0, 1, 2, 0]], rng.random((4, 3)))
        with pytest.raises(ValueError, match=r"y_pred: expected 3 columns .* got 2"):
            m.update_state(np.eye(2)[[0, 1]], rng.random((2, 2)))


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="threshold: must be <= 1"):
        M.BinaryAccuracy(threshold=1.5)
    with pytest.raises(TypeError, match="threshold: expected a real number, got str"):
        M.Precision(threshold="0.5")
    with pytest.raises(ValueError, match="threshold: must be > 0.0"):
        M.F1Score(threshold=0.0)
    with pytest.raises(ValueError, match="average: expected one of"):
        M.F1Score(average="samples")
    with pytest.raises(ValueError, match="k: must be >= 1, got 0"):
        M.TopKCategoricalAccuracy(k=0)
    with pytest.raises(TypeError, match="k: expected an int, got float"):
        M.SparseTopKCategoricalAccuracy(k=2.0)
    with pytest.raises(TypeError, match="multi_label: expected a bool"):
        M.AUC(multi_label="yes")
    with pytest.raises(ValueError, match="class_aggregation: expected"):
        M.R2Score(class_aggregation=None)
    with pytest.raises(TypeError, match="name: expected a str or None, got int"):
        M.Accuracy(name=3)
    with pytest.raises(TypeError, match="metric: expected a Metric instance"):
        M.serialize("accuracy")


@pytest.mark.parametrize("value, n", [(0.1, 10), (0.1, 3), (0.3, 7)])
def test_r2_of_constant_targets_is_exactly_the_documented_score(value, n):
    # the batch mean of n copies of 0.1 is not 0.1 in floating point: SS_tot must still be 0
    yt = np.full(n, value)
    m = M.R2Score()
    m.update_state(yt, yt + 0.01)
    assert m.result() == 0.0
    m.update_state(yt, yt + 0.01, sample_weight=np.linspace(0, 1, n))  # a second batch, weighted
    assert m.result() == 0.0
    m.reset_state()
    m.update_state(yt, yt)
    assert m.result() == 1.0
    # a constant column beside a varying one keeps its own score
    m = M.R2Score()
    m.update_state(np.c_[yt, np.arange(n)], np.c_[yt + 0.01, np.arange(n)])
    assert m.result() == 0.5
