"""Fuzzing the public API with hypothesis: odd shapes and ndim, every dtype kind, empty
arrays, NaN/Inf, non-contiguous and negative-stride views, read-only and aliased ``out=``,
out-of-range labels and mismatched weights.  Every call must either work (checked against
a NumPy float64 reference) or raise TypeError / ValueError / MemoryError -- never crash or
hang -- and a failed model call must leave the weights unchanged.

The module counts the generated examples; the last test prints the total (capture
suspended, so CI logs show it) and checks a full run reaches 10,000."""
import io as _io
import sys
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import fastnn as fnn
from fastnn import ops

L = fnn.layers
OK_ERRORS = (TypeError, ValueError, MemoryError)
COUNT = {"n": 0}
SEEN = set()


def _fast(n):
    """n examples, no deadline, reproducible (derandomized), no example database."""
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])


def _count():
    COUNT["n"] += 1
    name = sys._getframe(1).f_code.co_name
    if name not in SEEN:
        SEEN.add(name)


# ------------------------------------------------------------------ strategies

DTYPES = [np.float32, np.float64, np.float16, np.int32, np.int64, np.uint8, np.bool_, np.complex64, object,
          "U3", "S2", ">f4", ">f8"]
SPECIALS = [0.0, -0.0, 1.0, -1.0, np.nan, np.inf, -np.inf, 1e30, -1e30, 1e-30, 3.0e38]


@st.composite
def arrays(draw, max_ndim=3, max_side=5, float_bias=True):
    """Any array: a dtype from DTYPES (mostly floats), ndim 0..max_ndim, sides 0..max_side,
    values with NaN/Inf/huge entries, maybe a transposed / strided / reversed view."""
    if float_bias and draw(st.integers(0, 3)) > 0:
        dtype = np.dtype(draw(st.sampled_from([np.float32, np.float64])))
    else:
        dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    ndim = draw(st.integers(0, max_ndim))
    shape = tuple(draw(st.lists(st.integers(0, max_side), min_size=ndim, max_size=ndim)))
    view = draw(st.sampled_from(["plain", "plain", "transpose", "step", "reverse", "readonly"]))
    base_shape = tuple(s * 2 if view == "step" else s for s in shape)
    n = int(np.prod(base_shape)) if base_shape else 1
    seed = draw(st.integers(0, 2**16))
    vals = np.random.default_rng(seed).normal(size=n) * 3
    if draw(st.booleans()) and n:
        idx = draw(st.integers(0, n - 1))
        vals[idx] = draw(st.sampled_from(SPECIALS))
    if dtype.kind == "O":
        a = np.array(list(vals), dtype=object).reshape(base_shape)
    elif dtype.kind in "US":
        a = vals.astype(dtype).reshape(base_shape)
    else:
        with np.errstate(all="ignore"):
            a = vals.astype(dtype).reshape(base_shape)
    if view == "transpose":
        a = a.T
    elif view == "step" and ndim:
        a = a[tuple(slice(None, None, 2) for _ in range(ndim))]
    elif view == "reverse" and ndim:
        a = a[::-1]
    elif view == "readonly":
        a.flags.writeable = False
    return a


def _call(fn, *args, **kwargs):
    """Run fn; returns the result or None when it raised one of the allowed errors."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return fn(*args, **kwargs)
        except OK_ERRORS:
            return None


def _finite_float(*arrs):
    return all(a.dtype.kind in "fiub" and a.dtype.kind != "c" and np.isfinite(a.astype(np.float64)).all()
               for a in arrs)


def _tol(*arrs):
    return 1e-3 if any(a.dtype.itemsize < 8 for a in arrs) else 1e-9


# ------------------------------------------------------------------ fastnn.ops


@_fast(1500)
@given(arrays(max_ndim=3), arrays(max_ndim=3), st.booleans(), st.booleans())
def test_fuzz_matmul(a, b, ta, tb):
    _count()
    r = _call(ops.matmul, a, b, trans_a=ta, trans_b=tb)
    if r is None or not _finite_float(a, b) or a.ndim != 2 or b.ndim != 2 \
            or max(np.abs(a.astype(np.float64)).max(initial=0), np.abs(b.astype(np.float64)).max(initial=0)) > 1e10:
        return
    a2, b2 = a.astype(np.float64), b.astype(np.float64)
    want = (a2.T if ta else a2) @ (b2.T if tb else b2)
    scale = 1 + np.abs(a2).max(initial=0) * np.abs(b2).max(initial=0) * max(a.shape + (1,))
    np.testing.assert_allclose(r, want, rtol=0, atol=1e-3 * scale)


@_fast(1300)
@given(arrays(max_ndim=3), arrays(max_ndim=2), st.one_of(st.none(), arrays(max_ndim=2)),
       st.sampled_from([None, "relu", "tanh", "bogus"]))
def test_fuzz_linear(x, w, b, act):
    _count()
    _call(ops.linear, x, w, b, activation=act)


@_fast(1000)
@given(arrays(max_ndim=2, max_side=4), arrays(max_ndim=2, max_side=4),
       st.sampled_from(["fresh", "alias_a", "alias_b", "readonly", "wrong_dtype", "noncontig"]))
def test_fuzz_matmul_out(a, b, kind):
    """out= that aliases an input, is read-only, has the wrong dtype or is a strided view:
    either refused with the out array untouched, or the right result."""
    _count()
    if a.ndim != 2 or b.ndim != 2 or a.dtype != np.float32 or b.dtype != np.float32:
        _call(ops.matmul, a, b, out=np.empty((1, 1), np.float32))
        return
    m, n = a.shape[0], b.shape[1]
    if kind == "fresh":
        out = np.empty((m, n), np.float32)
    elif kind == "alias_a":
        out = a if a.flags.writeable else np.empty((m, n), np.float32)
    elif kind == "alias_b":
        out = b if b.flags.writeable else np.empty((m, n), np.float32)
    elif kind == "readonly":
        out = np.zeros((m, n), np.float32)
        out.flags.writeable = False
    elif kind == "wrong_dtype":
        out = np.zeros((m, n), np.float64)
    else:
        out = np.zeros((m, 2 * n), np.float32)[:, ::2]
    a0, b0, before = a.copy(), b.copy(), out.copy()
    r = _call(ops.matmul, a, b, out=out)
    if r is None:
        np.testing.assert_array_equal(out, before)  # a refused out= is not written
        np.testing.assert_array_equal(a, a0)
        np.testing.assert_array_equal(b, b0)
    elif _finite_float(a0, b0) and a0.shape[1] == b0.shape[0] and np.abs(a0).max(initial=0) < 1e10 \
            and np.abs(b0).max(initial=0) < 1e10:
        np.testing.assert_allclose(r, a0.astype(np.float64) @ b0, rtol=1e-3, atol=1e-3)


ACTS = ["relu", "sigmoid", "tanh", "elu", "selu", "gelu", "softplus", "silu", "swish", "mish", "leaky_relu"]
REF = {"relu": lambda x: np.maximum(x, 0), "tanh": np.tanh,
       "sigmoid": lambda x: 0.5 * (1 + np.tanh(0.5 * x))}


@_fast(1500)
@given(st.sampled_from(ACTS + ["softmax", "log_softmax"]), arrays(max_ndim=3), st.booleans())
def test_fuzz_activations(name, x, use_out):
    _count()
    fn = getattr(ops, name)
    x0 = x.copy()
    out = None
    if use_out and x.dtype in (np.float32, np.float64) and x.flags.writeable:
        out = x  # in place
    r = _call(fn, x, out=out)
    if r is None:
        if out is not None:
            np.testing.assert_array_equal(x, x0)  # refused: not written
        return
    assert r.shape == x0.shape
    if name in REF and x0.dtype.kind == "f" and x0.dtype.itemsize >= 4:
        want = REF[name](x0.astype(np.float64))
        np.testing.assert_allclose(r, want, rtol=_tol(x0), atol=_tol(x0), equal_nan=True)
    if name == "softmax" and x0.size and x0.ndim and _finite_float(x0) and np.abs(x0).max() < 1e4:
        np.testing.assert_allclose(np.sum(r, axis=-1, dtype=np.float64), 1.0, rtol=1e-4)


@_fast(1000)
@given(st.sampled_from(ACTS + ["softmax"]), arrays(max_ndim=2), arrays(max_ndim=2))
def test_fuzz_activation_grads(name, x, dy):
    _count()
    _call(ops.activation_grad, name, x, dy)


@_fast(1000)
@given(st.sampled_from(["sgd", "momentum", "adam", "rmsprop", "adagrad", "adamax", "nadam", "clipg"]),
       arrays(max_ndim=2), arrays(max_ndim=2), st.sampled_from(["fresh", "alias", "readonly", "bad"]),
       st.sampled_from([1e-3, 0.0, -1.0, np.nan, np.inf]))
def test_fuzz_optimizer_updates(kind, p, g, state_kind, lr):
    """A refused update leaves param and state unchanged."""
    _count()
    if state_kind == "fresh":
        s = [np.zeros_like(p) for _ in range(2)] if p.dtype.kind == "f" else [np.zeros(p.shape)] * 2
    elif state_kind == "alias":
        s = [p, p]
    elif state_kind == "readonly":
        s = [np.zeros_like(p, dtype=np.float64) for _ in range(2)]
        for a in s:
            a.flags.writeable = False
    else:
        s = [np.zeros(p.shape + (2,)), np.zeros(3)]
    before = [p.copy()] + [a.copy() for a in s]
    calls = {
        "sgd": lambda: ops.sgd_update(p, g, lr=lr),
        "momentum": lambda: ops.momentum_update(p, g, s[0], lr=lr),
        "adam": lambda: ops.adam_update(p, g, s[0], s[1], 1, lr=lr),
        "rmsprop": lambda: ops.rmsprop_update(p, g, s[0], lr=lr),
        "adagrad": lambda: ops.adagrad_update(p, g, s[0], lr=lr),
        "adamax": lambda: ops.adamax_update(p, g, s[0], s[1], 1, lr=lr),
        "nadam": lambda: ops.nadam_update(p, g, s[0], s[1], 1, lr=lr),
        "clipg": lambda: ops.clip_by_global_norm_([p, g], lr),
    }
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            calls[kind]()
        except OK_ERRORS:
            after = [p] + list(s)
            for a, b in zip(before, after):
                np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ losses and metrics

LOSSES = [fnn.losses.MeanSquaredError(), fnn.losses.BinaryCrossentropy(from_logits=True),
          fnn.losses.CategoricalCrossentropy(from_logits=True), fnn.losses.SparseCategoricalCrossentropy(),
          fnn.losses.SparseCategoricalCrossentropy(from_logits=True), fnn.losses.Huber(), fnn.losses.Hinge(),
          fnn.losses.KLDivergence(), fnn.losses.Poisson(), fnn.losses.LogCosh()]
METRICS = ["accuracy", "sparse_categorical_accuracy", "categorical_accuracy", "binary_accuracy", "mae", "mse",
           "auc", "precision", "recall"]


@_fast(1000)
@given(st.sampled_from(LOSSES), arrays(max_ndim=2), arrays(max_ndim=2),
       st.one_of(st.none(), arrays(max_ndim=1)))
def test_fuzz_losses(loss, y, p, w):
    _count()
    r = _call(loss, y, p, sample_weight=w)
    if r is not None:
        assert np.ndim(r) == 0 or isinstance(r, (float, np.floating))


@_fast(600)
@given(st.sampled_from(METRICS), arrays(max_ndim=2), arrays(max_ndim=2),
       st.one_of(st.none(), arrays(max_ndim=1)))
def test_fuzz_metrics(name, y, p, w):
    _count()
    m = _call(fnn.metrics.get, name)
    if m is None:
        return
    _call(m.update_state, y, p, sample_weight=w)
    _call(m.result)  # whatever update_state did, the metric still answers (or raises cleanly)


# ------------------------------------------------------------------ Model calls


def _model():
    m = fnn.Sequential([fnn.Input(3), L.Dense(4, activation="relu"), L.Dense(3)], seed=1)
    m.compile(fnn.optimizers.Adam(0.01), fnn.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])
    return m


MODEL = _model()
X_GOOD = np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32)
Y_GOOD = np.arange(8) % 3

labels = st.one_of(arrays(max_ndim=2, max_side=9, float_bias=False),
                   st.lists(st.integers(-5, 7), min_size=0, max_size=9).map(np.array))
weights = st.one_of(st.none(), arrays(max_ndim=2, max_side=9),
                    st.dictionaries(st.integers(-2, 5), st.floats(allow_nan=True, allow_infinity=True),
                                    max_size=4))


@_fast(700)
@given(st.sampled_from(["fit", "evaluate", "predict", "train_on_batch"]),
       st.one_of(arrays(max_ndim=3, max_side=9), st.just(X_GOOD)), st.one_of(labels, st.just(Y_GOOD)),
       weights, weights, st.sampled_from([None, 0, -1, 2, 2**62, 2.5, "4"]))
def test_fuzz_model_calls(call, x, y, sw, cw, batch_size):
    _count()
    m = MODEL
    before = m.get_weights()
    it = m.optimizer.iterations
    sw = sw if not isinstance(sw, dict) else None
    cw = cw if isinstance(cw, dict) or cw is None else None
    kw = {}
    if call == "fit":
        kw = dict(batch_size=batch_size, epochs=1, verbose=0, sample_weight=sw, class_weight=cw)
        r = _call(m.fit, x, y, **kw)
    elif call == "evaluate":
        r = _call(m.evaluate, x, y, batch_size=batch_size, sample_weight=sw)
    elif call == "predict":
        r = _call(m.predict, x, batch_size=batch_size)
    else:
        r = _call(m.train_on_batch, x, y, sample_weight=sw, class_weight=cw)
    if r is None and call in ("fit", "train_on_batch"):
        # refused before any step, or a step done with finite weights; never half-written
        after = m.get_weights()
        if m.optimizer.iterations == it:
            assert all(np.array_equal(a, b) for a, b in zip(before, after))
    if call == "predict" and r is not None:
        assert r.shape == (np.asarray(x).shape[0], 3)
    if not all(np.isfinite(w).all() for w in m.get_weights()):
        m.set_weights(_model().get_weights())  # a NaN input may legitimately give NaN weights


# ------------------------------------------------------------------ load_model on bytes


def _good_bytes():
    import tempfile
    import os
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "m.fnn")
        _model().save(p)
        with open(p, "rb") as f:
            return f.read()


GOOD = _good_bytes()


@_fast(500)
@given(st.sampled_from(["flip", "cut", "insert", "member"]), st.integers(0, len(GOOD) - 1), st.integers(0, 255),
       st.binary(max_size=64))
def test_fuzz_load_model_bytes(tmp_path_factory, how, pos, byte, junk):
    _count()
    data = bytearray(GOOD)
    if how == "flip":
        data[pos] ^= byte or 1
    elif how == "cut":
        data = data[:pos]
    elif how == "insert":
        data[pos:pos] = junk
    else:
        buf = _io.BytesIO()
        with zipfile.ZipFile(_io.BytesIO(GOOD)) as z, zipfile.ZipFile(buf, "w") as w:
            for i, n in enumerate(z.namelist()):
                content = z.read(n)
                if i == pos % len(z.namelist()):
                    content = content[:max(0, min(len(content), byte))] + junk
                w.writestr(n, content)
        data = buf.getvalue()
    p = tmp_path_factory.mktemp("f") / "x.fnn"
    p.write_bytes(bytes(data))
    try:
        m = fnn.load_model(p)
    except ValueError:
        return
    # a surviving file (e.g. a flipped byte in a zip comment/padding) is still a working model
    assert m.predict(X_GOOD).shape == (8, 3)


# ------------------------------------------------------------------ data, splits, fit_many, pruning

TOOL_ERRORS = OK_ERRORS + (RuntimeError,)  # RuntimeError: a scaler used before fit


@_fast(500)
@given(st.sampled_from(["standardize", "minmax"]), arrays(max_ndim=3, max_side=6), arrays(max_ndim=3, max_side=6))
def test_fuzz_scalers(kind, x, x2):
    _count()
    sc = fnn.data.Standardizer() if kind == "standardize" else fnn.data.MinMaxScaler()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            sc.fit(x)
            out = sc.transform(x2)
        except TOOL_ERRORS:
            return
    # worked: finite 2-D real input of the fitted width, mapped by the fitted affine map
    assert x.ndim == 2 and x2.ndim == 2 and x2.shape[1] == x.shape[1] and out.shape == x2.shape
    a = x.astype(np.float64)
    if kind == "standardize":
        sd = a.std(0)
        want = (x2.astype(np.float64) - a.mean(0)) / np.where(sd > 0, sd, 1.0)
    else:
        rng = a.max(0) - a.min(0)
        want = (x2.astype(np.float64) - a.min(0)) / np.where(rng > 0, rng, 1.0)
    if np.isfinite(want).all() and np.abs(want).max(initial=0) < 1e6:
        np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-4)


@_fast(500)
@given(st.one_of(labels, arrays(max_ndim=2, max_side=9)), st.sampled_from([None, 0, 1, 3, 9, -1, 2.5, True]))
def test_fuzz_one_hot_and_label_encoder(y, n_classes):
    _count()
    r = _call(fnn.data.one_hot, y, n_classes)
    if r is not None:  # worked: integral labels in range, one 1 per row at the label
        lab = np.asarray(y).reshape(-1).astype(np.int64)
        assert r.shape == (lab.size, r.shape[1]) and (lab.size == 0 or np.array_equal(np.argmax(r, 1), lab))
        assert np.array_equal(r.sum(1), np.ones(lab.size))
    enc = fnn.data.LabelEncoder()
    codes = _call(enc.fit_transform, y)
    if codes is not None:
        assert np.array_equal(enc.inverse_transform(codes), np.asarray(y).reshape(-1))


@_fast(500)
@given(st.sampled_from(["kfold", "stratified", "tvt"]), st.integers(0, 12),
       st.sampled_from([None, 0, 1, 2, 3, 5, 13, -2, 2.0, True, "3"]), st.booleans(),
       st.sampled_from([0.0, 0.2, 0.5, 1.0, -0.1, np.nan, 3]), st.integers(0, 3))
def test_fuzz_splitters(kind, n, k, shuffle, frac, n_classes):
    _count()
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    y = (np.arange(n) % max(n_classes, 1)).astype(np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if kind == "tvt":
                parts = fnn.model_selection.train_val_test_split(x, y, val_size=frac, test_size=0.2,
                                                                 shuffle=shuffle, seed=k if isinstance(k, int) else None)
                rows = np.concatenate([p[:, 0] // 2 for p in parts[:3]])
                assert sorted(rows.astype(int).tolist()) == list(range(n))  # a partition of the rows
                return
            cv = (fnn.model_selection.KFold if kind == "kfold" else fnn.model_selection.StratifiedKFold)(
                k, shuffle=shuffle, seed=0)
            folds = list(cv.split(x, y))
        except OK_ERRORS:
            return
    assert len(folds) == k
    tests = np.concatenate([te for _, te in folds])
    assert sorted(tests.tolist()) == list(range(n))  # every row in exactly one test fold
    for tr, te in folds:
        assert not set(tr.tolist()) & set(te.tolist()) and len(tr) + len(te) == n


VARIANT_VALUES = st.sampled_from([0, 1, 2**70, -1, 0.1, 1e-3, -0.5, 1.5, np.nan, np.inf, "a", None, True])


@_fast(300)
@given(st.lists(st.dictionaries(st.sampled_from(["seed", "learning_rate", "weight_decay", "l2", "dropout", "bogus"]),
                                VARIANT_VALUES, max_size=3), min_size=0, max_size=3),
       st.one_of(st.just(X_GOOD), arrays(max_ndim=2, max_side=9)), st.sampled_from([1, 4, 0, 2**62, -3]))
def test_fuzz_fit_many(variants, x, batch_size):
    _count()
    before = MODEL.get_weights()
    models = _call(fnn.fit_many, MODEL, x, Y_GOOD, variants, batch_size=batch_size, epochs=1)
    assert all(np.array_equal(a, b) for a, b in zip(before, MODEL.get_weights()))  # the template is untouched
    if models is not None:
        assert len(models) == len(variants)
        for m in models:
            assert m.predict(X_GOOD).shape == (8, 3)


@_fast(300)
@given(st.sampled_from([0.0, 0.5, 0.99, 1.0, -0.1, 1.5, np.nan, "0.5", None, True]),
       st.sampled_from(["layer", "global", "bogus", None]), st.booleans())
def test_fuzz_magnitude_prune(fraction, scope, include_bias):
    _count()
    m = _model()
    before = m.get_weights()
    r = _call(fnn.pruning.magnitude_prune, m, fraction, scope=scope, include_bias=include_bias)
    after = m.get_weights()
    if r is None and not isinstance(fraction, float) or (isinstance(fraction, float) and not 0 <= fraction < 1):
        assert all(np.array_equal(a, b) for a, b in zip(before, after))  # refused: nothing changed
        return
    for a, b in zip(before, after):  # pruning only ever zeroes weights
        assert np.all((b == a) | (b == 0))


# ------------------------------------------------------------------ keep last


def test_zz_fuzz_example_count(capsys):
    """Prints the number of generated examples; visible in any pytest output (capture is
    suspended for the print, so it reaches the terminal / CI log even without -s)."""
    with capsys.disabled():
        print(f"\nfuzz: {COUNT['n']} generated examples in tests/test_reliability_fuzz.py", file=sys.__stderr__)
    if COUNT["n"] == 0:
        pytest.skip("run alone (-k): no fuzz test ran before")
    fuzz_tests = {n for n in globals() if n.startswith("test_fuzz_")}
    if SEEN >= fuzz_tests:  # the whole module ran (not a -k subset)
        assert COUNT["n"] >= 10_000
