"""Bad input to fit / evaluate / predict / train_on_batch: a ValueError or TypeError that
names the argument, raised before any native work, so the model (weights, running
statistics, optimizer state) is exactly as it was."""
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastnn as fnn

L = fnn.layers
O = fnn.optimizers
C = fnn.callbacks
LOGITS = fnn.losses.SparseCategoricalCrossentropy(from_logits=True)
N, D, K = 20, 4, 3


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


def _classifier(seed=0):
    m = fnn.Sequential([fnn.Input(D), L.Dense(5, activation="relu"), L.BatchNormalization(), L.Dense(K)], seed=seed)
    m.compile(O.Adam(0.01), LOGITS, metrics=["accuracy"])
    return m


def _regressor(seed=0):
    m = fnn.Sequential([fnn.Input(D), L.Dense(K)], seed=seed)
    m.compile(O.SGD(0.1, momentum=0.9), "mse")
    return m


def _xy(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(N, D)), rng.integers(0, K, N)


class Snapshot:
    """The model's whole state, to compare after a failed call."""

    def __init__(self, m):
        self.m = m
        self.weights = m.get_weights()
        self.iterations = m.optimizer.iterations if m.optimizer is not None else None
        self.opt = [a.copy() for a in m.optimizer.state.values()] if m.optimizer is not None else []

    def unchanged(self):
        m = self.m
        return (all(np.array_equal(a, b) for a, b in zip(self.weights, m.get_weights()))
                and (m.optimizer is None or m.optimizer.iterations == self.iterations)
                and all(np.array_equal(a, b) for a, b in zip(self.opt, m.optimizer.state.values())))


def _fails(model, call, exc, match):
    snap = Snapshot(model)
    with pytest.raises(exc, match=match):
        call()
    assert snap.unchanged()


# ------------------------------------------------------------------ x


X_CASES = {
    "1-D": (lambda x: x[:, 0], ValueError, r"x: expected a 2-D array.*reshape"),
    "3-D": (lambda x: x[None], ValueError, r"x: expected a 2-D array"),
    "0-D": (lambda x: np.float64(1.0), ValueError, r"x: expected a 2-D array"),
    "empty rows": (lambda x: x[:0], ValueError, r"x: empty"),
    "wrong width": (lambda x: x[:, :3], ValueError, r"x: the model expects 4 features.*\(20, 3\)"),
    "nan": (lambda x: np.where(x > 1, np.nan, x), ValueError, r"x: contains NaN or Inf"),
    "inf": (lambda x: np.where(x > 1, -np.inf, x), ValueError, r"x: contains NaN or Inf"),
    "overflow to inf in float32": (lambda x: x * 1e300, ValueError, r"x: contains NaN or Inf"),
    "str": (lambda x: x.astype(str), TypeError, r"x: expected real numbers.*<U"),
    "object": (lambda x: x.astype(object), TypeError, r"x: expected real numbers.*object"),
    "complex": (lambda x: x + 1j, TypeError, r"x: expected real numbers.*complex"),
    "ragged": (lambda x: [[1.0, 2.0], [1.0]], TypeError, r"x: cannot convert"),
    "None": (lambda x: None, (TypeError, ValueError), r"x"),
}


@pytest.mark.parametrize("case", list(X_CASES))
def test_bad_x(case):
    make, exc, match = X_CASES[case]
    x, y = _xy()
    m = _classifier()
    bad = make(x)
    _fails(m, lambda: m.fit(bad, y, verbose=0), exc, match)
    _fails(m, lambda: m.train_on_batch(bad, y), exc, match)
    _fails(m, lambda: m.evaluate(bad, y), exc, match)
    _fails(m, lambda: m.predict(bad), exc, match)


def test_out_of_float32_range_is_refused_quietly():
    x, y = _xy()
    m = _classifier()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _fails(m, lambda: m.fit(x * 1e300, y, verbose=0), ValueError, r"x: contains NaN or Inf")
        _fails(m, lambda: m.fit(x, y, sample_weight=np.full(N, 1e300), verbose=0), ValueError, r"sample_weight")


def test_x_conversions_that_are_fine():
    """Integers, float16, lists, Fortran order and strided views are converted, not refused."""
    x, y = _xy()
    m = _classifier()
    want = m.predict(x.astype(np.float32))
    for ok in (x.astype(np.float32), np.asfortranarray(x), np.repeat(x, 2, axis=1)[:, ::2], x.tolist()):
        assert np.array_equal(m.predict(ok), want)
    assert m.predict(np.round(x).astype(np.int32)).shape == (N, K)
    m.fit(x.astype(np.float16), y, verbose=0)


# ------------------------------------------------------------------ y


Y_SPARSE = {
    "rows": (lambda y: y[:10], ValueError, r"x and y: all arrays must have the same number of rows.*\[10, 20\]"),
    "too large": (lambda y: y + K, ValueError, r"y: labels must be in \[0, 3\).*\[3, 5\]"),
    "negative": (lambda y: y - 1, ValueError, r"y: labels must be in \[0, 3\).*-1"),
    "non-integral float": (lambda y: y + 0.5, ValueError, r"y: labels must be whole class indices"),
    "past int64 float": (lambda y: np.where(y == 0, 1e30, y), ValueError, r"y: labels must be in \[0, 3\).*\[1, 1e\+30\]"),
    "past int64 uint64": (lambda y: np.where(y == 0, 2**63, y).astype(np.uint64), ValueError,
                          r"got values in \[1, 9223372036854775808\]"),
    "nan float": (lambda y: np.where(y == 0, np.nan, y), ValueError, r"y: labels contain NaN"),
    "str": (lambda y: y.astype(str), TypeError, r"y: expected real numbers"),
    "2-D one-hot": (lambda y: np.eye(K)[y], ValueError, r"y: sparse labels must be 1-D"),
    "empty": (lambda y: y[:0], ValueError, r"y: empty|rows"),
    "None": (lambda y: None, ValueError, r"y: targets are required"),
}


@pytest.mark.parametrize("case", list(Y_SPARSE))
def test_bad_sparse_labels(case):
    make, exc, match = Y_SPARSE[case]
    x, y = _xy()
    m = _classifier()
    bad = make(y)
    _fails(m, lambda: m.fit(x, bad, verbose=0), exc, match)
    _fails(m, lambda: m.train_on_batch(x, bad), exc, match)
    _fails(m, lambda: m.evaluate(x, bad), exc, match)


def test_integral_float_labels_are_fine():
    x, y = _xy()
    a, b = _classifier(), _classifier()
    a.fit(x, y.astype(np.float32), verbose=0)
    b.fit(x, y.astype(np.int8).reshape(-1, 1), verbose=0)
    assert all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights()))


Y_DENSE = {
    "width": (lambda y: y[:, :2], ValueError, r"y: the model expects 3 features"),
    "1-D": (lambda y: y[:, 0], ValueError, r"y: expected \(n, 3\) targets.*sparse_categorical"),
    "nan": (lambda y: np.where(y > 1, np.nan, y), ValueError, r"y: contains NaN or Inf"),
    "inf": (lambda y: np.where(y > 1, np.inf, y), ValueError, r"y: contains NaN or Inf"),
    "str": (lambda y: y.astype(str), TypeError, r"y: expected real numbers"),
    "rows": (lambda y: y[:5], ValueError, r"same number of rows"),
}


@pytest.mark.parametrize("case", list(Y_DENSE))
def test_bad_dense_targets(case):
    make, exc, match = Y_DENSE[case]
    x, _ = _xy()
    y = np.random.default_rng(1).normal(size=(N, K))
    m = _regressor()
    bad = make(y)
    _fails(m, lambda: m.fit(x, bad, verbose=0), exc, match)
    _fails(m, lambda: m.train_on_batch(x, bad), exc, match)
    _fails(m, lambda: m.evaluate(x, bad), exc, match)


# ------------------------------------------------------------------ other arguments


FIT_ARGS = {
    "batch_size 0": (dict(batch_size=0), ValueError, r"batch_size: expected an int >= 1, got 0"),
    "batch_size -1": (dict(batch_size=-1), ValueError, r"batch_size"),
    "batch_size float": (dict(batch_size=2.5), ValueError, r"batch_size.*2\.5"),
    "batch_size str": (dict(batch_size="32"), ValueError, r"batch_size"),  # (None is 32, as Keras)
    "epochs -1": (dict(epochs=-1), ValueError, r"epochs"),
    "epochs float": (dict(epochs=1.5), ValueError, r"epochs"),
    "initial_epoch": (dict(initial_epoch=-2), ValueError, r"initial_epoch.*-2"),
    "validation_split 1": (dict(validation_split=1.0), ValueError, r"validation_split.*1\.0"),
    "validation_split -": (dict(validation_split=-0.1), ValueError, r"validation_split"),
    "validation_split nan": (dict(validation_split=float("nan")), ValueError, r"validation_split"),
    "validation_split str": (dict(validation_split="0.2"), ValueError, r"validation_split"),
    "validation_data 1-tuple": (dict(validation_data=(np.ones((3, D)),)), ValueError, r"validation_data"),
    "validation_data array": (dict(validation_data=np.ones((3, D))), ValueError, r"validation_data"),
    "validation_data rows": (dict(validation_data=(np.ones((3, D)), np.zeros(4, int))), ValueError,
                             r"validation_data.*rows"),
    "validation_data width": (dict(validation_data=(np.ones((3, 2)), np.zeros(3, int))), ValueError,
                              r"x: the model expects 4 features"),
    "validation_data labels": (dict(validation_data=(np.ones((3, D)), np.array([0, 1, 7]))), ValueError,
                               r"y: labels must be in"),
    "validation_data weights": (dict(validation_data=(np.ones((3, D)), np.zeros(3, int), -np.ones(3))), ValueError,
                                r"sample_weight"),
    "sample_weight length": (dict(sample_weight=np.ones(5)), ValueError, r"sample_weight: expected shape \(20,\)"),
    "sample_weight 2-D": (dict(sample_weight=np.ones((N, 2))), ValueError, r"sample_weight"),
    "sample_weight negative": (dict(sample_weight=-np.ones(N)), ValueError, r"sample_weight.*>= 0"),
    "sample_weight nan": (dict(sample_weight=np.full(N, np.nan)), ValueError, r"sample_weight.*finite"),
    "sample_weight str": (dict(sample_weight=np.full(N, "1")), TypeError, r"sample_weight: expected real"),
    "class_weight list": (dict(class_weight=[1.0, 2.0, 3.0]), TypeError, r"class_weight: expected a non-empty dict"),
    "class_weight empty": (dict(class_weight={}), TypeError, r"class_weight"),
    "class_weight negative": (dict(class_weight={0: -1.0}), ValueError, r"class_weight: weight of class 0"),
    "class_weight nan": (dict(class_weight={1: float("nan")}), ValueError, r"class_weight: weight of class 1"),
    "class_weight str weight": (dict(class_weight={1: "2"}), ValueError, r"class_weight"),
    "class_weight str key": (dict(class_weight={"a": 1.0}), ValueError, r"class_weight: keys.*'a'"),
    "class_weight negative key": (dict(class_weight={-1: 1.0}), ValueError, r"class_weight: keys.*-1"),
    "class_weight float key": (dict(class_weight={0.5: 1.0}), ValueError, r"class_weight: keys.*0\.5"),
    "verbose": (dict(verbose=7), ValueError, r"verbose.*7"),
    "shuffle": (dict(shuffle="no"), TypeError, r"shuffle"),
    "seed str": (dict(seed="a"), TypeError, r"seed"),
    "seed negative": (dict(seed=-1), ValueError, r"seed.*-1"),
    "callbacks": (dict(callbacks=[1]), TypeError, r"callbacks\[0\]"),
    "callbacks not a list": (dict(callbacks=fnn.callbacks.History()), TypeError, r"callbacks"),
}


@pytest.mark.parametrize("case", list(FIT_ARGS))
def test_bad_fit_arguments(case):
    kw, exc, match = FIT_ARGS[case]
    x, y = _xy()
    m = _classifier()
    kw = dict(kw)
    kw.setdefault("verbose", 0)
    _fails(m, lambda: m.fit(x, y, **kw), exc, match)


def test_bad_arguments_of_the_other_calls():
    x, y = _xy()
    m = _classifier()
    _fails(m, lambda: m.predict(x, batch_size=0), ValueError, r"batch_size")
    _fails(m, lambda: m.evaluate(x, y, batch_size=-3), ValueError, r"batch_size")
    _fails(m, lambda: m.evaluate(x, y, sample_weight=np.ones(3)), ValueError, r"sample_weight")
    _fails(m, lambda: m.train_on_batch(x, y, sample_weight=np.ones(3)), ValueError, r"sample_weight")
    _fails(m, lambda: m.train_on_batch(x, y, class_weight={0: -2.0}), ValueError, r"class_weight")


def test_multi_input_output_structure():
    x, y = _xy()
    i1, i2 = fnn.Input(D, name="a"), fnn.Input(2, name="b")
    h = L.Concatenate()([L.Dense(4)(i1), i2])
    m = fnn.Model([i1, i2], {"k": L.Dense(K)(h), "v": L.Dense(1)(h)}, seed=0)
    m.compile(O.Adam(), loss={"k": LOGITS, "v": "mse"})
    x2 = np.ones((N, 2))
    ys = {"k": y, "v": x[:, :1]}
    _fails(m, lambda: m.fit(x, ys, verbose=0), ValueError, r"x: the model has 2")
    _fails(m, lambda: m.fit([x], ys, verbose=0), ValueError, r"x: expected 2 arrays")
    _fails(m, lambda: m.fit({"a": x, "c": x2}, ys, verbose=0), ValueError, r"x: expected keys")
    _fails(m, lambda: m.fit([x, x2[:, :1]], ys, verbose=0), ValueError, r"x: the model expects 2 features")
    _fails(m, lambda: m.fit([x, x2[:5]], ys, verbose=0), ValueError, r"rows")
    _fails(m, lambda: m.fit([x, x2], {"k": y}, verbose=0), ValueError, r"y: expected keys")
    _fails(m, lambda: m.fit([x, x2], [y, x[:, :1], y], verbose=0), ValueError, r"y: expected 2 arrays")
    _fails(m, lambda: m.fit([x, x2], ys, class_weight={0: 1.0}, verbose=0), ValueError, r"class_weight")
    _fails(m, lambda: m.predict({"a": x}), ValueError, r"x: expected keys")
    m.fit({"a": x, "b": x2}, ys, verbose=0)


def test_failing_custom_layer_leaves_the_model_usable():
    class Broken(L.Layer):
        def forward(self, x, training=False):
            return x[:, :1]  # wrong width

        def backward(self, dy):
            return dy

    x, y = _xy()
    m = fnn.Sequential([fnn.Input(D), L.Dense(3), Broken(), L.Dense(K)], seed=0)
    m.compile(O.Adam(0.01), LOGITS)
    _fails(m, lambda: m.fit(x, y, verbose=0), ValueError, r"forward: expected output shape")
    _fails(m, lambda: m.predict(x), ValueError, r"forward: expected output shape")
    ok = _classifier()
    ok.fit(x, y, verbose=0)


def test_a_failing_fit_ends_its_callbacks_then_leaves_the_model_as_it_was():
    # EarlyStopping(restore_best_weights) ends with the callbacks, before the rollback: the
    # model is left bitwise as before the call, not with the best epoch's weights
    class FailsInEpoch2(L.Layer):
        calls = 0

        def forward(self, x, training=False):
            if training:
                FailsInEpoch2.calls += 1
                if FailsInEpoch2.calls > 4:
                    raise RuntimeError("boom in epoch 2")
            return x

        def backward(self, dy):
            return dy

    x, y = _xy()
    m = fnn.Sequential([fnn.Input(D), FailsInEpoch2(), L.Dense(K)], seed=0)
    m.compile(O.SGD(0.1), LOGITS)
    ended = []
    cb = C.LambdaCallback(on_train_end=lambda logs: ended.append(True))
    es = C.EarlyStopping(monitor="loss", restore_best_weights=True, patience=5)
    _fails(m, lambda: m.fit(x, y, epochs=3, batch_size=N // 4, verbose=0, callbacks=[es, cb]), RuntimeError,
           "boom in epoch 2")
    assert ended == [True]


def test_a_metric_that_cannot_take_the_targets_fails_before_training():
    x, y = _xy()
    m = fnn.Sequential([fnn.Input(D), L.Dense(K)], seed=0)
    m.compile(O.Adam(0.01), LOGITS, metrics=["mae"])  # sparse labels (n,) against (n, K) outputs
    _fails(m, lambda: m.fit(x, y, epochs=2, verbose=0), ValueError, r"metric 'mae' \(MeanAbsoluteError\).*shape")
    _fails(m, lambda: m.train_on_batch(x, y), ValueError, r"metric 'mae'")
    m.compile(O.Adam(0.01), LOGITS, metrics=["accuracy"])
    m.fit(x, y, verbose=0)


def test_compile_before_the_input_width_is_known_checks_what_it_can():
    # a Sequential without an Input compiles later (at its first fit); names and per-output
    # arguments are checked at compile all the same
    m = fnn.Sequential([L.Dense(K, name="out_bad_deferred")], seed=0)
    for kw, exc, match in ((dict(loss="msee"), ValueError, r"loss: unknown name 'msee'"),
                           (dict(loss=["mse", "mse"]), ValueError, r"loss: expected 1 entry"),
                           (dict(loss={"other": "mse"}), ValueError, r"loss: expected keys"),
                           (dict(loss="mse", metrics=["acuracy"]), ValueError, r"metrics.*'acuracy'"),
                           (dict(loss="mse", loss_weights=[-1.0]), ValueError, r"loss_weights"),
                           (dict(loss="mse", optimizer="adamm"), ValueError, r"optimizer")):
        kw.setdefault("optimizer", "adam")
        with pytest.raises(exc, match=match):
            m.compile(**kw)
        assert not m.compiled
    # what needs the built model fails at the first fit, which leaves it uncompiled, not half-configured
    x, y = _xy()
    m = fnn.Sequential([L.Dense(1)], seed=0)
    m.compile("adam", "sparse_categorical_crossentropy")
    for _ in range(2):
        with pytest.raises((ValueError, RuntimeError), match=r"needs an output of >= 2 units|must be compiled"):
            m.fit(x, y, verbose=0)
    assert not m.compiled
    m.compile("adam", "mse")
    m.fit(x, y.astype(float)[:, None], verbose=0)


def test_a_loss_without_a_native_kernel_is_refused_at_compile():
    class MyLoss(fnn.losses.Loss):
        def call(self, y_true, y_pred):
            return ((y_true - y_pred) ** 2).mean(1)

    m = _regressor()
    snap = Snapshot(m)
    with pytest.raises(TypeError, match=r"loss: MyLoss overrides call\(\) and has no native kernel"):
        m.compile("adam", MyLoss())
    assert snap.unchanged() and isinstance(m.optimizer, O.SGD)
    with pytest.raises(TypeError, match=r"MyLoss"):
        fnn.Sequential([L.Dense(1)]).compile("adam", MyLoss())


# ------------------------------------------------------------------ names


def test_unknown_names():
    with pytest.raises(ValueError, match="activation: unknown name 'relux'"):
        L.Dense(3, activation="relux")
    with pytest.raises(ValueError, match="activation"):
        L.Activation("no_such")
    with pytest.raises(TypeError, match="activation"):
        L.Dense(3, activation=3)
    with pytest.raises(TypeError, match="unexpected keyword"):
        L.Dense(3, activation="relu", alhpa=0.1)
    m = _regressor()
    snap = Snapshot(m)
    for kw, exc, match in ((dict(loss="msee"), ValueError, r"loss: unknown name 'msee'"),
                           (dict(loss=3), TypeError, r"loss"),
                           (dict(loss="mse", optimizer="adamm"), ValueError, r"optimizer: unknown name 'adamm'"),
                           (dict(loss="mse", optimizer=None), TypeError, r"optimizer"),
                           (dict(loss="mse", metrics=["acuracy"]), ValueError, r"metrics.*'acuracy'"),
                           (dict(loss="mse", metrics=[3]), TypeError, r"metrics"),
                           (dict(loss="mse", metrics={"nope": ["mae"]}), ValueError, r"metrics: unknown outputs \['nope'\]"),
                           (dict(loss="mse", loss_weights=[float("nan")]), ValueError, r"loss_weights")):
        kw.setdefault("optimizer", "adam")
        with pytest.raises(exc, match=match):
            m.compile(**kw)
        assert snap.unchanged() and isinstance(m.optimizer, O.SGD)


def test_bad_model_arguments():
    with pytest.raises(ValueError, match="dtype"):
        fnn.Sequential([L.Dense(2)], dtype="float16")
    with pytest.raises(TypeError, match="seed"):
        fnn.Sequential([L.Dense(2)], seed="a")
    with pytest.raises(ValueError, match="seed"):
        fnn.Model(fnn.Input(3), L.Dense(2)(fnn.Input(3)), seed=-5)
    with pytest.raises(TypeError, match="inputs"):
        fnn.Model(3, 4)
    with pytest.raises(ValueError, match="units"):
        L.Dense(0)
    with pytest.raises(ValueError, match="rate"):
        L.Dropout(1.0)
    with pytest.raises(TypeError, match="add"):
        fnn.Sequential([3])
    with pytest.raises(ValueError, match="set_weights"):
        _regressor().set_weights([np.ones(3)])
    for make, exc, match in ((lambda: L.Dropout(0.5, seed="abc"), TypeError, "seed"),
                             (lambda: L.GaussianNoise(0.1, seed=1.5), TypeError, "seed"),
                             (lambda: L.Dropout(0.5, seed=-1), ValueError, "seed"),
                             (lambda: L.Dense(2, trainable="no"), TypeError, "trainable"),
                             (lambda: L.Dense(2, use_bias="yes"), TypeError, "use_bias"),
                             (lambda: L.BatchNormalization(epsilon=float("inf")), ValueError, "epsilon"),
                             (lambda: L.LayerNormalization(center=1), TypeError, "center")):
        with pytest.raises(exc, match=match):
            make()
    assert L.Dropout(0.5, seed=np.int64(3)).seed == 3 and L.Dense(2, trainable=np.bool_(False)).trainable is False


@pytest.mark.parametrize("bad", [np.nan, np.inf, 1e300, "text"])
def test_set_weights_takes_only_values_finite_in_the_models_dtype(bad):
    m = _regressor()  # float32
    w = m.get_weights()
    k = np.full(w[0].shape, bad, dtype=object if isinstance(bad, str) else np.float64)
    for call in (lambda: m.set_weights([k, w[1]]), lambda: m.layers[0].set_weights([k, w[1]])):
        _fails(m, call, ValueError, r"kernel must be finite real numbers")
    m.set_weights([np.full(w[0].shape, 3e38), w[1]])  # within float32's range


# ------------------------------------------------------------------ property-based


def _bad_x_strategy():
    shapes_not_2d = st.lists(st.integers(1, 5), min_size=0, max_size=4).filter(lambda s: len(s) != 2)
    wrong_width = st.tuples(st.integers(1, 6), st.integers(1, 8).filter(lambda w: w != D))
    empty = st.sampled_from([(0, D), (3, 0), (0, 0)])
    good_shape = st.tuples(st.integers(1, 6), st.just(D))
    numeric = st.sampled_from(["float64", "float32", "int64", "uint8", "bool", "float16"])
    nonnumeric = st.sampled_from(["U3", "S2", "complex64", "object", "datetime64[s]", "timedelta64[s]"])
    return st.one_of(
        st.tuples(st.one_of(shapes_not_2d, wrong_width, empty), numeric, st.just(None)),
        st.tuples(good_shape, nonnumeric, st.just(None)),
        st.tuples(good_shape, st.sampled_from(["float64", "float32"]), st.sampled_from([np.nan, np.inf, -np.inf])),
    )


_HYP_MODEL = {}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_bad_x_strategy(), st.sampled_from(["fit", "predict", "evaluate", "train_on_batch"]))
def test_bad_x_property(spec, call):
    shape, dtype, poison = spec
    if "m" not in _HYP_MODEL:
        _HYP_MODEL["m"] = _classifier(seed=3)
    m = _HYP_MODEL["m"]
    x = np.zeros(shape, dtype=dtype) if dtype != "object" else np.full(shape, 1.0, dtype=object)
    if poison is not None:
        x = x.astype(dtype)
        x.flat[len(x.flat) // 2] = poison
    n = shape[0] if len(shape) >= 1 and shape[0] > 0 else 3
    y = np.zeros(n, dtype=np.int64)
    snap = Snapshot(m)
    with pytest.raises((ValueError, TypeError)) as info:
        if call == "fit":
            m.fit(x, y, verbose=0)
        elif call == "predict":
            m.predict(x)
        elif call == "evaluate":
            m.evaluate(x, y)
        else:
            m.train_on_batch(x, y)
    assert str(info.value).startswith("x") or "x and y" in str(info.value), str(info.value)
    assert snap.unchanged()


def _engine(kind, w_off, b_off=-1, n_params=40, use_bias=False, s_off=-1, n_state=0):
    # One node on a 4-wide input (Dense: 4 -> 4), built directly on the native engine.
    from fastnn import _core

    nd = _core.NodeSpec()
    nd.kind, nd.inputs, nd.width, nd.use_bias = kind, [0], 4, use_bias
    nd.w_off, nd.b_off, nd.s_off = w_off, b_off, s_off
    p = _core.ParamSpec()
    p.off, p.size, p.node = max(w_off, 0), 4, 0
    out = _core.OutputSpec()
    out.tensor = 1
    return _core.Engine32([nd], [4], [p], n_params, n_state, [out], _core.OptSpec())


@pytest.mark.parametrize("kind, w_off, b_off, use_bias, n_params", [
    (0, 30, -1, False, 40),    # dense W (16) past the buffer's end
    (0, 0, 38, True, 40),      # dense bias past the end
    (0, -1, -1, False, 40),    # dense without W
    (6, -1, -1, False, 40),    # PReLU without its slopes
    (5, 38, -1, False, 40),    # LayerNorm gamma past the end
])
def test_native_engine_rejects_parameter_offsets_outside_the_buffer(kind, w_off, b_off, use_bias, n_params):
    with pytest.raises(ValueError, match="parameter offsets"):
        _engine(kind, w_off, b_off, n_params, use_bias)


def test_native_engine_accepts_consistent_offsets():
    _engine(0, 0, 16, 20, use_bias=True)
    _engine(5, -1, -1, 8)  # LayerNorm without gamma and beta
    _engine(4, 0, 4, 8, s_off=0, n_state=8)  # BatchNorm


def test_a_failing_train_on_batch_leaves_the_model_as_it_was():
    # the batch normalization before a raising Python layer has updated its running
    # statistics by then: they are rolled back, as fit rolls back
    class Raises(L.Layer):
        def __init__(self, exc):
            super().__init__()
            self.exc = exc

        def forward(self, x, training=False):
            if training:
                raise self.exc
            return x

        def backward(self, dy):
            return dy

    x, y = _xy()
    for exc in (RuntimeError("boom"), KeyboardInterrupt()):
        m = fnn.Sequential([fnn.Input(D), L.BatchNormalization(), Raises(exc), L.Dense(K)], seed=0)
        m.compile(O.Adam(0.01), LOGITS)
        _fails(m, lambda: m.train_on_batch(x, y), type(exc), "boom" if isinstance(exc, RuntimeError) else "")


def test_a_failed_call_does_not_build_a_sequential_for_the_wrong_width():
    x, y = _xy()
    m = fnn.Sequential([L.Dense(4, activation="relu"), L.Dense(K)], seed=0)
    m.compile("adam", LOGITS)
    for call in (lambda: m.fit(x.T, y, verbose=0), lambda: m.evaluate(x.T, y), lambda: m.train_on_batch(x.T, y)):
        with pytest.raises(ValueError, match=r"x and y: .*same number of rows"):
            call()
        assert not m.built
    m.fit(x, y, verbose=0)
    assert m.built and m.count_params() == D * 4 + 4 + 4 * K + K


def test_pandas_nullable_and_bool_columns_are_numbers():
    pd = pytest.importorskip("pandas")
    x, y = _xy()
    m = _regressor()
    df = pd.DataFrame(x)
    df[0] = pd.array(x[:, 0], dtype="Float64")
    df[1] = x[:, 1] > 0
    want = x.copy()
    want[:, 1] = want[:, 1] > 0
    np.testing.assert_array_equal(m.predict(df), m.predict(want))
    labels = pd.Series(pd.array(y, dtype="Int64"))
    c = fnn.Sequential([fnn.Input(D), L.Dense(K)], seed=0)
    c.compile("sgd", LOGITS)
    assert c.evaluate(want, labels) == c.evaluate(want, y)
    df.loc[3, 0] = pd.NA
    _fails(m, lambda: m.fit(df, np.zeros((N, K)), verbose=0), ValueError, "NaN")
