"""fastnn.losses against the NumPy float64 twins in tests/reference.py: per-sample values,
reductions and sample weights, gradients by float64 central differences, saturated and
extreme inputs, thread-count invariance, configuration round trips and bad input."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastnn
from fastnn import _core
from fastnn import losses as L

import reference as ref
from conftest import tol

DTYPES = [np.float32, np.float64]

# (reference name, class, constructor kwargs)
CASES = [
    ("mean_squared_error", L.MeanSquaredError, {}),
    ("mean_absolute_error", L.MeanAbsoluteError, {}),
    ("huber", L.Huber, {}),
    ("huber", L.Huber, {"delta": 0.4}),
    ("log_cosh", L.LogCosh, {}),
    ("binary_crossentropy", L.BinaryCrossentropy, {}),
    ("binary_crossentropy", L.BinaryCrossentropy, {"label_smoothing": 0.2}),
    ("binary_crossentropy", L.BinaryCrossentropy, {"from_logits": True}),
    ("binary_crossentropy", L.BinaryCrossentropy, {"from_logits": True, "label_smoothing": 0.2}),
    ("categorical_crossentropy", L.CategoricalCrossentropy, {}),
    ("categorical_crossentropy", L.CategoricalCrossentropy, {"label_smoothing": 0.1}),
    ("categorical_crossentropy", L.CategoricalCrossentropy, {"from_logits": True}),
    ("categorical_crossentropy", L.CategoricalCrossentropy, {"from_logits": True, "label_smoothing": 0.1}),
    ("sparse_categorical_crossentropy", L.SparseCategoricalCrossentropy, {}),
    ("sparse_categorical_crossentropy", L.SparseCategoricalCrossentropy, {"from_logits": True}),
    ("hinge", L.Hinge, {}),
    ("squared_hinge", L.SquaredHinge, {}),
    ("kl_divergence", L.KLDivergence, {}),
    ("poisson", L.Poisson, {}),
]
CASE_IDS = [f"{c[0]}-{'-'.join(f'{k}={v}' for k, v in c[2].items())}" for c in CASES]


def _f32(a):
    """Round to float32 values so both dtypes see the same inputs."""
    return np.asarray(a, np.float32).astype(np.float64)


def make_data(name, kw, n, cols, rng):
    """(y_true, y_pred) float64 (float32-representable), away from kinks and clip bounds."""
    logits = kw.get("from_logits", False)
    delta = kw.get("delta", 1.0)
    if name in ("mean_squared_error", "mean_absolute_error", "huber", "log_cosh"):
        y = rng.normal(size=(n, cols))
        e = rng.uniform(0.05, 3.0, size=(n, cols)) * rng.choice([-1.0, 1.0], size=(n, cols))
        if name == "huber":
            near = np.abs(np.abs(e) - delta) < 0.05
            e = np.where(near, e * 1.2, e)
        return _f32(y), _f32(y + e)
    if name == "binary_crossentropy":
        y = np.where(rng.random((n, cols)) < 0.5, rng.integers(0, 2, (n, cols)), rng.random((n, cols)))
        p = rng.normal(scale=3.0, size=(n, cols)) if logits else rng.uniform(0.03, 0.97, (n, cols))
        return _f32(y), _f32(p)
    if name in ("categorical_crossentropy", "sparse_categorical_crossentropy"):
        labels = rng.integers(0, cols, n)
        if name == "sparse_categorical_crossentropy":
            y = labels
        else:
            soft = rng.dirichlet(np.ones(cols), n)
            loose = rng.uniform(0.0, 0.7, (n, cols))  # rows need not sum to 1 (Keras allows it)
            kind = (np.arange(n) % 3).reshape(-1, 1)  # one-hot, soft, loose rows in turn
            y = np.where(kind == 0, np.eye(cols)[labels], np.where(kind == 1, soft, loose))
        p = rng.normal(scale=3.0, size=(n, cols)) if logits else rng.uniform(0.05, 1.0, (n, cols))
        return (y if name.startswith("sparse") else _f32(y)), _f32(p)
    if name in ("hinge", "squared_hinge"):
        odd = (np.arange(n) % 2 == 1).reshape(-1, 1)  # rows of {-1, 1} and {0, 1} targets in turn
        y = np.where(odd, rng.choice([0.0, 1.0], (n, cols)), rng.choice([-1.0, 1.0], (n, cols)))
        p = rng.normal(scale=1.5, size=(n, cols))
        yy = np.where(y == 0, -1.0, y)
        p = np.where(np.abs(yy * p - 1.0) < 0.05, p + 0.2 * yy, p)
        return _f32(y), _f32(p)
    if name == "kl_divergence":
        y = rng.dirichlet(np.ones(cols), n) * (rng.random((n, cols)) < 0.8)
        return _f32(y), _f32(rng.uniform(0.05, 0.95, (n, cols)))
    if name == "poisson":
        return _f32(rng.poisson(2.0, (n, cols))), _f32(rng.uniform(0.2, 4.0, (n, cols)))
    raise ValueError(name)


def ref_kw(cls_kw):
    return {k: v for k, v in cls_kw.items() if k in ("from_logits", "delta", "label_smoothing")}


def targets_as(y, dtype):
    return y if y.dtype.kind == "i" else y.astype(dtype)


def close(actual, expected, rtol, scale=None):
    expected = np.asarray(expected, np.float64)
    s = np.max(np.abs(expected)) if scale is None else scale
    np.testing.assert_allclose(np.asarray(actual, np.float64), expected, rtol=rtol, atol=rtol * max(s, 1e-300))


# ---------------------------------------------------------------- values

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (13, 1), (4, 17)])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_per_sample_matches_reference(case, shape, dtype, rng):
    name, cls, kw = case
    y, p = make_data(name, kw, *shape, rng)
    got = cls(**kw).per_sample(targets_as(y, dtype), p.astype(dtype))
    assert got.dtype == np.float64 and got.shape == (shape[0],)
    close(got, ref.loss_rows(name, y, p, **ref_kw(kw)), tol(dtype), scale=1.0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none", "sum_over_batch_size", None])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_reduction_and_sample_weight(case, reduction, weighted, dtype, rng):
    name, cls, kw = case
    y, p = make_data(name, kw, 6, 4, rng)
    w = None
    if weighted:
        w = _f32(rng.uniform(0.0, 2.0, 6))
        w[2] = 0.0
    got = cls(reduction=reduction, **kw)(targets_as(y, dtype), p.astype(dtype), sample_weight=w)
    want = ref.loss_reduce(ref.loss_rows(name, y, p, **ref_kw(kw)), w, reduction or "none")
    if reduction in (None, "none"):
        assert isinstance(got, np.ndarray) and got.shape == (6,) and got.dtype == np.float64
    else:
        assert isinstance(got, float)
    close(got, want, tol(dtype), scale=1.0)


def test_scalar_and_column_sample_weights(rng):
    y, p = make_data("mean_squared_error", {}, 5, 3, rng)
    loss = L.MeanSquaredError(reduction="sum")
    base = loss(y, p)
    assert loss(y, p, sample_weight=2.5) == pytest.approx(2.5 * base, rel=1e-14)
    w = rng.uniform(size=5)
    assert loss(y, p, sample_weight=w.reshape(5, 1)) == loss(y, p, sample_weight=w)


# ---------------------------------------------------------------- gradients

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_gradient_matches_central_differences(case, reduction, weighted, dtype, rng):
    name, cls, kw = case
    y, p = make_data(name, kw, 5, 4, rng)
    w = _f32(rng.uniform(0.1, 2.0, 5)) if weighted else None
    g = cls(reduction=reduction, **kw).gradient(targets_as(y, dtype), p.astype(dtype), sample_weight=w)
    assert g.dtype == dtype and g.shape == p.shape
    fd = ref.loss_grad_fd(name, y, p, w, reduction, **ref_kw(kw))
    close(g, fd, 2e-5 if dtype == np.float32 else 1e-6)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_float32_gradient_is_the_rounded_float64_one(case, rng):
    name, cls, kw = case
    y, p = make_data(name, kw, 9, 6, rng)
    loss = cls(**kw)
    g32 = loss.gradient(targets_as(y, np.float32), p.astype(np.float32))
    g64 = loss.gradient(y, p)
    np.testing.assert_allclose(g32, g64, rtol=1.2e-7, atol=1e-45)


def test_gradient_of_1d_predictions_keeps_shape(rng):
    y, p = rng.normal(size=7), rng.normal(size=7)
    g = L.MeanSquaredError().gradient(y, p)
    assert g.shape == (7,)
    np.testing.assert_allclose(g, 2.0 * (p - y) / 7, rtol=1e-15)
    assert L.MeanSquaredError()(y, p) == pytest.approx(np.mean((y - p) ** 2), rel=1e-14)
    assert L.MeanSquaredError()(y.reshape(7, 1), p) == L.MeanSquaredError()(y, p.reshape(7, 1))


def test_subgradients_at_kinks_are_zero():
    y = np.array([[1.0, 2.0, 0.0]])
    np.testing.assert_array_equal(L.MeanAbsoluteError().gradient(y, y), 0.0)
    yh = np.array([[1.0, -1.0, 0.0]])
    ph = np.array([[1.0, -1.0, -1.0]])  # 1 - y p == 0 everywhere
    np.testing.assert_array_equal(L.Hinge().gradient(yh, ph), 0.0)
    np.testing.assert_array_equal(L.SquaredHinge().gradient(yh, ph), 0.0)
    assert L.Hinge()(yh, ph) == 0.0


# ---------------------------------------------------------------- clipping and saturation

@pytest.mark.parametrize("dtype", DTYPES)
def test_probability_clipping_is_finite_with_zero_gradient(dtype):
    y = np.array([[1.0, 0.0, 1.0, 0.0]])
    p = np.array([[0.0, 1.0, 1.0, 0.0]], dtype)
    bce = L.BinaryCrossentropy()
    eps = ref.LOSS_EPS  # two confidently wrong, two confidently right, all clipped
    assert bce(y, p) == pytest.approx((-2 * np.log(eps) - 2 * np.log1p(-eps)) / 4, rel=1e-9)
    np.testing.assert_array_equal(bce.gradient(y, p), 0.0)
    kld = L.KLDivergence()
    pk = np.array([[0.0, 0.5, 1.5]], dtype)
    yk = np.array([[0.5, 0.5, 0.0]])
    assert np.isfinite(kld(yk, pk))
    gk = kld.gradient(yk, pk)
    assert gk[0, 0] == 0.0 and gk[0, 2] == 0.0 and gk[0, 1] == pytest.approx(-1.0, rel=1e-6)
    pois = L.Poisson()
    assert np.isfinite(pois(np.array([[3.0]]), np.array([[0.0]], dtype)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_categorical_probabilities_gradient_through_normalization_and_clip(dtype):
    # Column 0 of row 0 is clipped (q < eps): no gradient through it, but the normalization
    # still couples every column; checked against central differences that stay in the clip.
    y = _f32([[0.3, 0.7, 0.0], [0.0, 0.0, 1.0]])
    p = np.array([[3e-8, 0.5, 0.25], [0.2, 0.3, 0.4]])
    loss = L.CategoricalCrossentropy(label_smoothing=0.1)
    g = loss.gradient(y.astype(dtype), p.astype(dtype))
    kw = {"label_smoothing": 0.1}
    pr = p.astype(dtype).astype(np.float64)
    fd = ref.loss_grad_fd("categorical_crossentropy", y, pr, rel_step=1e-7, abs_step=2e-8, **kw)
    close(g, fd, 2e-5 if dtype == np.float32 else 1e-6)
    close(loss.per_sample(y, p.astype(dtype)), ref.loss_rows("categorical_crossentropy", y, pr, **kw), 1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ls", [0.0, 0.1])
def test_extreme_logits_are_finite_and_exact(dtype, ls):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [1e4, 1e4, -1e4]])
    y = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    for cls, name in [(L.BinaryCrossentropy, "binary_crossentropy"),
                      (L.CategoricalCrossentropy, "categorical_crossentropy")]:
        loss = cls(from_logits=True, label_smoothing=ls)
        rows = loss.per_sample(y, x.astype(dtype))
        g = loss.gradient(y, x.astype(dtype))
        assert np.isfinite(rows).all() and np.isfinite(g).all()
        close(rows, ref.loss_rows(name, y, x, from_logits=True, label_smoothing=ls), 1e-12)
        assert np.abs(g).max() <= 1.0
    scce = L.SparseCategoricalCrossentropy(from_logits=True)
    rows = scce.per_sample([1, 0, 0], x.astype(dtype))
    np.testing.assert_allclose(rows, [2e4, 2e4, np.log(2.0)], rtol=1e-12)
    g = scce.gradient([1, 0, 0], x.astype(dtype)) * 3
    np.testing.assert_allclose(g, [[1, -1, 0], [-1, 0, 1], [-0.5, 0.5, 0]], atol=1e-12)
    big = np.array([[1e4, -1e4]], dtype)
    lc = L.LogCosh()
    assert lc(np.zeros((1, 2)), big) == pytest.approx(1e4 - np.log(2.0), rel=1e-12)
    np.testing.assert_array_equal(lc.gradient(np.zeros((1, 2)), big), [[0.5, -0.5]])


@pytest.mark.parametrize("n", [1, 2, 3, 10, 16, 17])
def test_sparse_logits_float32_blocks_match_float64(n, rng):
    """Float32 sparse cross-entropy from logits with up to 16 classes takes the block path
    (vector exp/log1p over 128-row blocks): losses and gradients equal the float64 path's
    (libm) rounded once, within an ulp; rows of equal logits (R = n - 1 > 1), dominant
    classes, underflowing exponentials and sample weights included; a NaN logit gives a NaN
    row, infinite logits the float64 path's NaN and inf.  (Two classes take their own
    row-by-row kernel.)"""
    rows = 300
    x = (rng.standard_normal((rows, n)) * 4).astype(np.float32)
    x[5] = 0.0                       # all equal: R = n - 1
    x[6, 0] = 60.0                   # one class dominates
    if n > 1:
        x[7, n - 1] = -1e30          # exp underflows to 0
    y = rng.integers(0, n, rows)
    y[7] = 0                         # its tiny logit is not the target's
    w = rng.uniform(0.1, 2.0, rows).astype(np.float32)
    loss = L.SparseCategoricalCrossentropy(from_logits=True, reduction="sum")
    x64 = x.astype(np.float64)
    close(loss.per_sample(y, x), loss.per_sample(y, x64), 1e-15, scale=1.0)
    np.testing.assert_allclose(loss.gradient(y, x, w), loss.gradient(y, x64, w).astype(np.float32),
                               rtol=1.2e-7, atol=1e-45)
    close(loss.per_sample(y, x)[:50], ref.loss_rows("sparse_categorical_crossentropy", y[:50], x64[:50],
                                                    from_logits=True), 1e-12, scale=1.0)
    x[9, 0] = np.nan
    r = loss.per_sample(y, x)
    assert np.isnan(r[9]) and np.isfinite(np.delete(r, 9)).all()
    # Infinite logits: the same NaN / inf losses and gradients as the float64 path.
    x[10, 0], x[11, n - 1], x[12, :] = np.inf, -np.inf, -np.inf
    y[11] = n - 1
    r32, r64 = loss.per_sample(y, x), loss.per_sample(y, x.astype(np.float64))
    g32, g64 = loss.gradient(y, x, w), loss.gradient(y, x.astype(np.float64), w)
    for a, b in ((r32, r64), (g32, g64)):
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_array_equal(np.isinf(a), np.isinf(b))


def test_log_cosh_is_accurate_for_tiny_residuals():
    e = np.array([[1e-8, 1e-6, -1e-3, 0.5]])
    want = np.log(np.cosh(0.5))
    series = e[0, :3] ** 2 / 2 - e[0, :3] ** 4 / 12  # log cosh e = e^2/2 - e^4/12 + O(e^6)
    np.testing.assert_allclose(L.LogCosh(reduction="sum").per_sample(np.zeros((4, 1)), e.T),
                               np.r_[series, want], rtol=1e-13)
    np.testing.assert_allclose(L.LogCosh(reduction="sum").gradient(np.zeros((1, 4)), e) * 4, np.tanh(e), rtol=1e-14)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sparse", [False, True])
def test_wide_rows_categorical_logits(dtype, sparse, rng):
    # Rows longer than the kernel's exp buffer (1024) recompute the exponentials.
    n, cols = 3, 1500
    x = _f32(rng.normal(scale=4.0, size=(n, cols)))
    labels = rng.integers(0, cols, n)
    y = _f32(rng.uniform(size=(n, cols))) if not sparse else labels
    t = np.eye(cols)[labels] if sparse else y
    loss = L.SparseCategoricalCrossentropy(from_logits=True) if sparse else L.CategoricalCrossentropy(from_logits=True)
    g = loss.gradient(targets_as(y, dtype), x.astype(dtype))
    want = (ref.softmax(x) * t.sum(axis=1, keepdims=True) - t) / n
    close(g, want, 2e-5 if dtype == np.float32 else 1e-12)
    name = "sparse_categorical_crossentropy" if sparse else "categorical_crossentropy"
    close(loss.per_sample(targets_as(y, dtype), x.astype(dtype)), ref.loss_rows(name, y, x, from_logits=True), 1e-12)


@settings(deadline=None, max_examples=60)
@given(st.lists(st.floats(-1e4, 1e4), min_size=2, max_size=9), st.integers(0, 8), st.booleans())
def test_logit_losses_finite_and_accurate_anywhere(values, label, f32):
    dtype = np.float32 if f32 else np.float64
    x = np.array([values], dtype)
    label = label % x.shape[1]
    y = np.eye(x.shape[1])[[label]]
    x64 = x.astype(np.float64)
    for cls, name in [(L.BinaryCrossentropy, "binary_crossentropy"),
                      (L.CategoricalCrossentropy, "categorical_crossentropy")]:
        loss = cls(from_logits=True, label_smoothing=0.05)
        rows = loss.per_sample(y, x)
        assert np.isfinite(rows).all() and np.isfinite(loss.gradient(y, x)).all()
        close(rows, ref.loss_rows(name, y, x64, from_logits=True, label_smoothing=0.05), 1e-9, scale=1.0)


# ---------------------------------------------------------------- hand-worked examples (Keras docs)

KERAS_Y = [[0.0, 1.0], [0.0, 0.0]]
KERAS_P = [[0.6, 0.4], [0.4, 0.6]]


@pytest.mark.parametrize("loss, y, p, want", [
    (L.MeanSquaredError(), KERAS_Y, [[1.0, 1.0], [1.0, 0.0]], 0.5),
    (L.MeanAbsoluteError(), KERAS_Y, [[1.0, 1.0], [1.0, 0.0]], 0.5),
    (L.Huber(), KERAS_Y, KERAS_P, 0.155),
    (L.BinaryCrossentropy(), KERAS_Y, KERAS_P, 0.81492424),
    (L.Hinge(), KERAS_Y, KERAS_P, 1.3),
    (L.SquaredHinge(), KERAS_Y, KERAS_P, 1.86),
    (L.Poisson(), KERAS_Y, [[1.0, 1.0], [0.0, 0.0]], 0.49999997),
    (L.KLDivergence(), KERAS_Y, KERAS_P, 0.45814306),
    (L.LogCosh(), KERAS_Y, [[1.0, 1.0], [0.0, 0.0]], 0.10844523),
    (L.CategoricalCrossentropy(), [[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]], 1.1769392),
    (L.SparseCategoricalCrossentropy(), [1, 2], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]], 1.1769392),
])
def test_hand_worked_examples(loss, y, p, want):
    assert loss(np.array(y), np.array(p, np.float32)) == pytest.approx(want, rel=1e-6)


def test_hinge_maps_zero_targets_to_minus_one(rng):
    p = rng.normal(size=(4, 3))
    y01 = rng.integers(0, 2, (4, 3)).astype(float)
    for cls in (L.Hinge, L.SquaredHinge):
        assert cls()(y01, p) == cls()(2 * y01 - 1, p)
        np.testing.assert_array_equal(cls().gradient(y01, p), cls().gradient(2 * y01 - 1, p))


# ---------------------------------------------------------------- layout, dtypes, threads

def test_dtype_rules(rng):
    y, p = make_data("mean_squared_error", {}, 3, 2, rng)
    mse = L.MeanSquaredError()
    assert mse.gradient(y, p.astype(np.float16)).dtype == np.float32
    assert mse.gradient(y.astype(np.float32), p.astype(np.int64)).dtype == np.float64
    assert mse.gradient(y, p.astype(np.float32)).dtype == np.float32  # y_true follows y_pred
    assert mse.gradient(y.astype(bool), p.astype(bool)).dtype == np.float64


def test_strided_and_noncontiguous_inputs(rng):
    y, p = make_data("categorical_crossentropy", {"from_logits": True}, 6, 4, rng)
    big = np.zeros((6, 9))
    big[:, 2:6] = p
    loss = L.CategoricalCrossentropy(from_logits=True)
    np.testing.assert_array_equal(loss.per_sample(y, big[:, 2:6]), loss.per_sample(y, p))
    np.testing.assert_array_equal(loss.gradient(np.asfortranarray(y), np.asfortranarray(p)), loss.gradient(y, p))


@pytest.mark.parametrize("case", CASES[::2] + [CASES[13]], ids=CASE_IDS[::2] + [CASE_IDS[13]])
def test_large_batch_is_bitwise_independent_of_threads_and_split(case, rng):
    name, cls, kw = case
    y, p = make_data(name, kw, 2503, 61, rng)  # > 1e5 elements: GIL released, row blocks
    loss = cls(reduction="sum", **kw)
    w = rng.uniform(size=2503)
    before = fastnn.get_num_threads()
    try:
        fastnn.set_num_threads(1)
        rows1, g1 = loss.per_sample(y, p), loss.gradient(y, p, w)
        fastnn.set_num_threads(2)
        rows2, g2 = loss.per_sample(y, p), loss.gradient(y, p, w)
    finally:
        fastnn.set_num_threads(before)
    np.testing.assert_array_equal(rows1, rows2)
    np.testing.assert_array_equal(g1, g2)
    np.testing.assert_array_equal(loss.per_sample(y[:7], p[:7]), rows1[:7])
    np.testing.assert_array_equal(loss.gradient(y[1000:1003], p[1000:1003], w[1000:1003]), g1[1000:1003])
    close(rows1[:50], ref.loss_rows(name, y[:50], p[:50], **ref_kw(kw)), 1e-12, scale=1.0)


# ---------------------------------------------------------------- lookup and configuration

@pytest.mark.parametrize("ident, cls", [
    ("mse", L.MeanSquaredError), ("MEAN_SQUARED_ERROR", L.MeanSquaredError), ("mae", L.MeanAbsoluteError),
    ("mean_absolute_error", L.MeanAbsoluteError), ("huber", L.Huber), ("log_cosh", L.LogCosh),
    ("logcosh", L.LogCosh), ("binary_crossentropy", L.BinaryCrossentropy), ("bce", L.BinaryCrossentropy),
    ("categorical_crossentropy", L.CategoricalCrossentropy), ("cce", L.CategoricalCrossentropy),
    ("sparse_categorical_crossentropy", L.SparseCategoricalCrossentropy), ("hinge", L.Hinge),
    ("squared_hinge", L.SquaredHinge), ("kld", L.KLDivergence), ("kl_divergence", L.KLDivergence),
    ("kullback_leibler_divergence", L.KLDivergence), ("poisson", L.Poisson),
])
def test_get_resolves_names(ident, cls):
    loss = L.get(ident)
    assert type(loss) is cls
    assert loss.loss_id == _core.LOSS_IDS[cls._kernel]
    assert loss.sparse == (cls is L.SparseCategoricalCrossentropy)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_config_round_trip(case):
    _, cls, kw = case
    loss = cls(reduction="sum", name="mine", **kw)
    again = L.get(loss.serialize())
    assert type(again) is cls and again.get_config() == loss.get_config()
    assert cls.from_config(loss.get_config()).get_config() == loss.get_config()
    assert L.deserialize(L.serialize(loss)).get_config() == loss.get_config()
    for attr in ("loss_id", "from_logits", "delta", "label_smoothing", "sparse", "name", "reduction"):
        assert getattr(again, attr) == getattr(loss, attr)
    assert L.get(loss) is loss and isinstance(L.get(cls), cls) and L.get(None) is None


def test_default_names_are_keras_names():
    names = {cls: cls().name for _, cls, _ in CASES}
    assert names[L.MeanSquaredError] == "mean_squared_error" and names[L.Huber] == "huber_loss"
    assert names[L.KLDivergence] == "kl_divergence" and names[L.LogCosh] == "log_cosh"
    assert set(_core.LOSS_IDS.values()) == set(range(11))


def test_python_subclass_with_call():
    class Cubed(L.Loss):
        def call(self, y_true, y_pred):
            return np.mean((np.asarray(y_pred) - np.asarray(y_true)) ** 3, axis=-1)

    loss = Cubed(reduction="sum")
    assert loss(np.zeros((2, 2)), np.ones((2, 2)), sample_weight=[1.0, 3.0]) == 4.0
    with pytest.raises(NotImplementedError):
        loss.gradient(np.zeros((2, 2)), np.ones((2, 2)))


# ---------------------------------------------------------------- output/loss pairs

@pytest.mark.parametrize("act, loss, flagged", [
    ("softmax", L.CategoricalCrossentropy(from_logits=True), "twice"),
    ("sigmoid", L.BinaryCrossentropy(from_logits=True), "twice"),
    (None, "bce", "expects probabilities"), ("linear", "cce", "expects probabilities"),
    ("relu", "sparse_categorical_crossentropy", "expects probabilities"), ("tanh", "bce", "expects probabilities"),
    ("sigmoid", "mse", "regression"), ("tanh", "mae", "regression"), ("softmax", "huber", "regression"),
    ("sigmoid", "log_cosh", "regression"), ("softmax", "bce", "independently"), ("sigmoid", "cce", "sum to 1"),
    ("softmax", "cce", None), ("sigmoid", "bce", None), (None, L.BinaryCrossentropy(from_logits=True), None),
    ("linear", "mse", None), ("relu", "mse", None), ("softplus", "poisson", None), ("softmax", "kld", None),
    ("my_custom_act", "bce", None), (len, "cce", None),
])
def test_check_output_loss_pair(act, loss, flagged):
    msg = L.check_output_loss_pair(act, loss)
    if flagged is None:
        assert msg is None
    else:
        assert isinstance(msg, str) and flagged in msg


# ---------------------------------------------------------------- bad input

Y = np.zeros((3, 2))
P = np.full((3, 2), 0.5)


@pytest.mark.parametrize("fn, exc, match", [
    (lambda: L.MeanSquaredError()(Y, np.zeros((3, 2, 1))), ValueError, r"y_pred: .*\(3, 2, 1\)"),
    (lambda: L.MeanSquaredError()(0.0, np.float64(1.0)), ValueError, "y_pred"),
    (lambda: L.MeanSquaredError()(np.zeros((0, 2)), np.zeros((0, 2))), ValueError, "y_pred: empty"),
    (lambda: L.MeanSquaredError()(Y, P.astype(complex)), TypeError, "y_pred.*complex"),
    (lambda: L.MeanSquaredError()(Y, "abc"), TypeError, "y_pred"),
    (lambda: L.MeanSquaredError()(np.zeros((3, 3)), P), ValueError, r"y_true: expected shape \(3, 2\)"),
    (lambda: L.MeanSquaredError()(np.zeros(6), P), ValueError, "y_true"),
    (lambda: L.MeanSquaredError()(np.array([[np.nan, 0]] * 3), P), ValueError, "y_true: must be finite"),
    (lambda: L.MeanSquaredError()(np.array([[1e300, 0]] * 3), P.astype(np.float32)), ValueError, "finite"),
    (lambda: L.MeanSquaredError()(Y.astype(object), P), TypeError, "y_true"),
    (lambda: L.MeanSquaredError()(Y, P, sample_weight=[1.0, 2.0]), ValueError, r"sample_weight: .*\(3,\)"),
    (lambda: L.MeanSquaredError()(Y, P, sample_weight=[1.0, -2.0, 0]), ValueError, "sample_weight: must be >= 0"),
    (lambda: L.MeanSquaredError()(Y, P, sample_weight=[1.0, np.inf, 0]), ValueError, "sample_weight: must be finite"),
    (lambda: L.SparseCategoricalCrossentropy()([0, 2, 1], P), ValueError, r"y_true: labels .*\[0, 2\).* 2 at position 1"),
    (lambda: L.SparseCategoricalCrossentropy()([0, -1, 1], P), ValueError, "y_true: labels"),
    (lambda: L.SparseCategoricalCrossentropy()([0, 0.5, 1], P), ValueError, "whole numbers"),
    (lambda: L.SparseCategoricalCrossentropy()([0, np.nan, 1], P), ValueError, "finite"),
    (lambda: L.SparseCategoricalCrossentropy()(Y, P), ValueError, r"y_true: expected integer class labels"),
    (lambda: L.SparseCategoricalCrossentropy()([0, 1], P), ValueError, r"y_true: .*\(3,\)"),
    (lambda: L.SparseCategoricalCrossentropy()(np.array([0, 1, 1], complex), P), TypeError, "y_true"),
    (lambda: L.MeanSquaredError(reduction="avg"), ValueError, "reduction"),
    (lambda: L.MeanSquaredError(reduction=1), TypeError, "reduction"),
    (lambda: L.MeanSquaredError(name=3), TypeError, "name"),
    (lambda: L.Huber(delta=0.0), ValueError, "delta"),
    (lambda: L.Huber(delta=float("nan")), ValueError, "delta"),
    (lambda: L.BinaryCrossentropy(label_smoothing=1.5), ValueError, "label_smoothing"),
    (lambda: L.CategoricalCrossentropy(label_smoothing=-0.1), ValueError, "label_smoothing"),
    (lambda: L.CategoricalCrossentropy(from_logits="yes"), TypeError, "from_logits"),
    (lambda: L.get("nope"), ValueError, "unknown name 'nope'.*mse"),
    (lambda: L.get({"class_name": "Nope", "config": {}}), ValueError, "unknown class_name"),
    (lambda: L.get({"config": {}}), ValueError, "class_name"),
    (lambda: L.get(3), TypeError, "loss"),
    (lambda: L.get({"class_name": "Huber", "config": {"delta": -1.0}}), ValueError, "delta"),
])
def test_bad_input(fn, exc, match):
    with pytest.raises(exc, match=match):
        fn()


def test_sparse_labels_accepted_forms():
    p = np.array([[0.2, 0.8], [0.6, 0.4], [0.5, 0.5]])
    loss = L.SparseCategoricalCrossentropy()
    want = loss(np.array([1, 0, 1]), p)
    for labels in ([1.0, 0.0, 1.0], np.array([[1], [0], [1]], np.uint8), np.array([True, False, True])):
        assert loss(labels, p) == want


def _fwd(loss_id, pred, target, w=None, **kw):
    args = dict(from_logits=False, delta=1.0, label_smoothing=0.0, grad_scale=1.0, want_grad=True)
    args.update(kw)
    return _core.loss_forward(loss_id, pred, target, w, **args)


@pytest.mark.parametrize("fn, exc, match", [
    (lambda: _fwd(99, P, Y), ValueError, "loss_id"),
    (lambda: _fwd(-1, P, Y), ValueError, "loss_id"),
    (lambda: _fwd(0, P, Y, delta=0.0), ValueError, "delta"),
    (lambda: _fwd(4, P, Y, label_smoothing=2.0), ValueError, "label_smoothing"),
    (lambda: _fwd(0, P.astype(np.float32), Y), TypeError, "y_true: expected dtype float32"),
    (lambda: _fwd(0, P.astype(np.int32), Y), TypeError, "y_pred: expected dtype float32 or float64"),
    (lambda: _fwd(0, P.ravel(), Y.ravel()), ValueError, "y_pred: expected a 2-D"),
    (lambda: _fwd(0, P, np.zeros((3, 3))), ValueError, "y_true: expected shape"),
    (lambda: _fwd(0, P[:, ::-1], Y), ValueError, "y_pred: columns"),
    (lambda: _fwd(0, np.zeros((3, 0)), np.zeros((3, 0))), ValueError, "y_pred: needs at least one column"),
    (lambda: _fwd(6, P, np.array([0, 2, 1])), ValueError, "labels: .*got 2 at position 1"),
    (lambda: _fwd(6, P, np.array([0, 1, 1], np.int32)), TypeError, "labels: expected dtype int64"),
    (lambda: _fwd(6, P, np.array([0, 1])), ValueError, "labels"),
    (lambda: _fwd(0, P, Y, np.ones(2)), ValueError, "sample_weight"),
    (lambda: _fwd(0, P, Y, np.ones(3, np.float32)), TypeError, "sample_weight"),
    (lambda: _fwd(0, P, Y, [1.0, 1.0, 1.0]), TypeError, "sample_weight"),
    (lambda: _fwd(0, P, Y, grad_scale=float("inf")), ValueError, "grad_scale"),
])
def test_native_checks(fn, exc, match):
    with pytest.raises(exc, match=match):
        fn()


def test_native_call_without_gradient():
    rows, grad = _fwd(0, P, Y, want_grad=False)
    assert grad is None and rows.dtype == np.float64
    np.testing.assert_array_equal(rows, np.full(3, 0.25))


@pytest.mark.parametrize("loss", [L.Huber(), L.Huber(delta=0.1), L.LogCosh(), L.MeanSquaredError()],
                         ids=["huber", "huber_small_delta", "log_cosh", "mse"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_nan_prediction_has_a_nan_gradient(loss, dtype):
    # as torch: NaN in, NaN out (Huber's and log-cosh's gradients read +delta / +1 for a NaN)
    yp = np.array([[np.nan, 0.3], [25.0, -30.0]], dtype=dtype)
    yt = np.array([[0.0, 1.0], [0.0, 0.0]], dtype=dtype)
    g = loss.gradient(yt, yp)
    assert np.isnan(g[0, 0]) and np.isfinite(np.delete(g.ravel(), 0)).all()
    assert np.isnan(loss.per_sample(yt, yp)[0])
