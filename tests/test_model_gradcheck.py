"""Gradient checks of the training engine: fastnn.gradient_check (float64 central
differences of the compiled training loss) over every activation, layer, loss,
regularizer, multi-output models and a custom Python layer."""
import warnings

import numpy as np
import pytest

import fastnn as fnn

L = fnn.layers
Ls = fnn.losses
R = fnn.regularizers

TOL = 1e-5
N, IN, OUT = 7, 5, 3


@pytest.fixture(autouse=True)
def _quiet():
    # Output/loss pairing hints (e.g. a linear output with a probability loss) are not
    # what these tests are about.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


def _data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, IN))
    return rng, x


def _seq(layers, loss, dtype="float64", seed=1, optimizer="sgd", **compile_kw):
    m = fnn.Sequential([fnn.Input(IN)] + layers, dtype=dtype, seed=seed)
    m.compile(optimizer, loss, **compile_kw)
    return m


def _check(model, x, y, tol=TOL, **kw):
    kw.setdefault("eps", 1e-5)
    errs = fnn.gradient_check(model, x, y, **kw)
    trainable = [f"{l.name}.{d.name}" for l, d, _ in model._layout.entries if l.trainable and d.trainable]
    assert sorted(errs) == sorted(trainable)
    worst = max(errs.values())
    assert worst < tol, errs
    return errs


# ------------------------------------------------------------------ activations in Dense

ACTS = [("relu", {}), ("leaky_relu", {}), ("leaky_relu", {"alpha": 0.3}), ("elu", {}), ("elu", {"alpha": 0.5}),
        ("selu", {}), ("sigmoid", {}), ("tanh", {}), ("gelu", {}), ("gelu", {"approximate": True}), ("silu", {}),
        ("mish", {}), ("softplus", {}), ("softmax", {}), ("log_softmax", {})]


def _away_from_kinks(model, x, margin=1e-3):
    """Move the first layer's bias so that no pre-activation lies within `margin` of 0."""
    d = model.layers[0]
    z = x @ d.kernel + d.bias
    for j in range(z.shape[1]):
        while np.min(np.abs(z[:, j])) < margin:
            d.bias[j] += 5 * margin
            z[:, j] += 5 * margin


@pytest.mark.parametrize("act,kw", ACTS, ids=[a + "".join(f"-{k}{v}" for k, v in kw.items()) for a, kw in ACTS])
def test_dense_activations(act, kw):
    rng, x = _data()
    y = rng.normal(size=(N, OUT))
    m = _seq([L.Dense(6, activation=act, **kw), L.Dense(OUT, activation=act, **kw), L.Dense(OUT)], "mse")
    _away_from_kinks(m, x)
    _check(m, x, y)


@pytest.mark.parametrize("act,kw", ACTS, ids=[a + "".join(f"-{k}{v}" for k, v in kw.items()) for a, kw in ACTS])
def test_activation_layers(act, kw):
    rng, x = _data(1)
    y = rng.normal(size=(N, OUT))
    m = _seq([L.Dense(6), L.Activation(act, **kw), L.Dense(OUT)], "mse")
    _away_from_kinks(m, x)
    _check(m, x, y)


def test_gradient_check_can_fail():
    """A wrong gradient is reported: a custom layer whose backward is off by a factor."""
    rng, x = _data(2)
    y = rng.normal(size=(N, OUT))

    class Wrong(L.Layer):
        def build(self, w):
            self.add_weight("s", (w,), "ones")
            return w

        def forward(self, x, training=False):
            self.x = x
            return x * self.weights_dict["s"]

        def backward(self, dy):
            self.grads["s"] = 1.5 * (dy * self.x).sum(0)
            return dy * self.weights_dict["s"]

    m = _seq([L.Dense(4), Wrong(), L.Dense(OUT)], "mse")
    errs = fnn.gradient_check(m, x, y)
    assert errs[f"{m.layers[1].name}.s"] > 0.1


# ------------------------------------------------------------------ layers


@pytest.mark.parametrize("step", [0, 3])
@pytest.mark.parametrize("rate", [0.3, 0.6])
def test_dropout(rate, step):
    rng, x = _data(3)
    y = rng.normal(size=(N, OUT))
    m = _seq([L.Dense(8, activation="tanh"), L.Dropout(rate), L.Dense(OUT)], "mse")
    _check(m, x, y, step=step)


def test_dropout_masks_depend_on_step():
    """Different steps draw different masks: the loss (hence the check's point) changes."""
    rng, x = _data(3)
    y = rng.normal(size=(N, OUT))
    m = _seq([L.Dense(8, activation="tanh"), L.Dropout(0.5), L.Dense(OUT)], "mse")
    eng = m._engine
    xs, ys = [np.ascontiguousarray(x)], [np.ascontiguousarray(y)]
    l0 = eng.compute_gradients(xs, ys, [np.empty(0)], None, N, 0)
    l0b = eng.compute_gradients(xs, ys, [np.empty(0)], None, N, 0)
    l1 = eng.compute_gradients(xs, ys, [np.empty(0)], None, N, 1)
    assert l0 == l0b and l0 != l1


def test_gaussian_noise():
    rng, x = _data(4)
    y = rng.normal(size=(N, OUT))
    m = _seq([L.Dense(6, activation="tanh"), L.GaussianNoise(0.7), L.Dense(OUT)], "mse")
    _check(m, x, y, step=2)


@pytest.mark.parametrize("trainable", [True, False])
def test_batch_normalization(trainable):
    rng, x = _data(5)
    y = rng.normal(size=(N, OUT))
    bn = L.BatchNormalization(trainable=trainable)
    # No bias before BN: its true gradient is exactly 0 (BN removes the mean), which a
    # relative error cannot judge.
    m = _seq([L.Dense(6, use_bias=False), bn, L.Dense(OUT, activation="tanh")], "mse")
    bn._weights["gamma"][...] = rng.uniform(0.5, 1.5, 6)
    bn._weights["beta"][...] = rng.normal(size=6)
    bn._weights["moving_mean"][...] = rng.normal(size=6)
    bn._weights["moving_variance"][...] = rng.uniform(0.5, 2.0, 6)
    errs = _check(m, x, y)
    assert (f"{bn.name}.gamma" in errs) == trainable


def test_batch_normalization_no_scale_no_center():
    rng, x = _data(5)
    y = rng.normal(size=(N, OUT))
    m = _seq([L.Dense(6, use_bias=False), L.BatchNormalization(center=False, scale=False), L.Dense(OUT)], "mse")
    _check(m, x, y)


def test_layer_normalization():
    rng, x = _data(6)
    y = rng.normal(size=(N, OUT))
    ln = L.LayerNormalization()
    m = _seq([L.Dense(6), ln, L.Dense(OUT, activation="tanh")], "mse")
    ln._weights["gamma"][...] = rng.uniform(0.5, 1.5, 6)
    ln._weights["beta"][...] = rng.normal(size=6)
    _check(m, x, y)


def test_prelu():
    rng, x = _data(7)
    y = rng.normal(size=(N, OUT))
    p = L.PReLU()
    m = _seq([L.Dense(6), p, L.Dense(OUT)], "mse")
    _away_from_kinks(m, x)
    p._weights["alpha"][...] = rng.uniform(0.05, 0.5, 6)
    _check(m, x, y)


def test_add_and_concatenate():
    rng, x = _data(8)
    y = rng.normal(size=(N, 2))
    inp = fnn.Input(IN)
    a = L.Dense(4, activation="tanh")(inp)
    b = L.Dense(4, activation="sigmoid")(inp)
    c = L.Dense(4)(a)
    s = L.Add()([a, b, c])
    cat = L.Concatenate()([s, b, inp])
    out = L.Dense(2)(cat)
    m = fnn.Model(inp, out, dtype="float64", seed=3)
    m.compile("sgd", "mse")
    _check(m, x, y)


def test_one_tensor_feeding_a_layer_several_times():
    rng, x = _data(8)
    y = rng.normal(size=(N, 2))
    inp = fnn.Input(IN)
    a = L.Dense(3, activation="tanh")(inp)
    cat = L.Concatenate()([L.Add()([a, a, a]), a, inp, inp])
    m = fnn.Model(inp, L.Dense(2)(cat), dtype="float64", seed=3)
    m.compile("sgd", "mse")
    _check(m, x, y)


def test_two_inputs():
    rng, x = _data(9)
    x2 = rng.normal(size=(N, 3))
    y = rng.normal(size=(N, 2))
    i1, i2 = fnn.Input(IN), fnn.Input(3)
    h = L.Concatenate()([L.Dense(4, activation="tanh")(i1), L.Dense(2, activation="elu")(i2)])
    m = fnn.Model([i1, i2], L.Dense(2)(h), dtype="float64", seed=3)
    m.compile("sgd", "mse")
    errs = fnn.gradient_check(m, [x, x2], y)
    assert max(errs.values()) < TOL


def test_multi_output_with_loss_weights():
    rng, x = _data(10)
    lab = rng.integers(0, 3, N)
    yr = rng.normal(size=(N, 2))
    yb = rng.integers(0, 2, (N, 1)).astype(float)
    inp = fnn.Input(IN)
    h = L.Dense(6, activation="tanh")(inp)
    kind = L.Dense(3, activation="softmax")(h)          # an output that also feeds a layer
    price = L.Dense(2)(L.Concatenate()([h, kind]))
    flag = L.Dense(1, activation="sigmoid")(h)
    m = fnn.Model(inp, {"price": price, "kind": kind, "flag": flag}, dtype="float64", seed=4)
    m.compile("adam", loss={"price": "huber", "kind": "sparse_categorical_crossentropy", "flag": "bce"},
              loss_weights={"price": 0.7, "kind": 2.0, "flag": 0.3})
    y = {"price": yr, "kind": lab, "flag": yb}
    _check(m, x, y)
    # The loss weights enter the gradient: the total loss is their weighted sum.
    eng = m._engine
    xs = [np.ascontiguousarray(x)]
    floats, labels = fnn._fit._targets(m, y)
    total = eng.compute_gradients(xs, fnn._fit._none_list(floats), fnn._fit._none_list(labels), None, N, 0)
    per = {k: float(l(y[k], v)) for k, l, v in zip(m.output_names, m._losses, m.predict(x).values())}
    expect = 0.7 * per["price"] + 2.0 * per["kind"] + 0.3 * per["flag"]
    assert total == pytest.approx(expect, rel=1e-10)


# ------------------------------------------------------------------ losses


def _targets(kind, rng):
    lab = rng.integers(0, OUT, N)
    return {
        "real": rng.normal(size=(N, OUT)),
        "binary": rng.integers(0, 2, (N, OUT)).astype(float),
        "onehot": np.eye(OUT)[lab],
        "soft": rng.dirichlet(np.ones(OUT), size=N),
        "labels": lab,
        "counts": rng.poisson(2.0, (N, OUT)).astype(float),
    }[kind]


LOSSES = [
    ("mse", "mse", None, "real"),
    ("mae", "mae", None, "real"),
    ("huber", Ls.Huber(), None, "real"),
    ("huber-0.3", Ls.Huber(delta=0.3), None, "real"),
    ("log_cosh", "log_cosh", None, "real"),
    ("bce-probs", "binary_crossentropy", "sigmoid", "binary"),
    ("bce-probs-soft-targets", "binary_crossentropy", "sigmoid", "soft"),
    ("bce-logits", Ls.BinaryCrossentropy(from_logits=True), None, "binary"),
    ("bce-probs-smoothing", Ls.BinaryCrossentropy(label_smoothing=0.1), "sigmoid", "binary"),
    ("bce-logits-smoothing", Ls.BinaryCrossentropy(from_logits=True, label_smoothing=0.2), None, "binary"),
    ("bce-probs-unfused", "binary_crossentropy", "_sigmoid_then_dense", "binary"),
    ("cce-probs", "categorical_crossentropy", "softmax", "onehot"),
    ("cce-probs-soft", "categorical_crossentropy", "softmax", "soft"),
    ("cce-logits", Ls.CategoricalCrossentropy(from_logits=True), None, "soft"),
    ("cce-probs-smoothing", Ls.CategoricalCrossentropy(label_smoothing=0.1), "softmax", "onehot"),
    ("cce-logits-smoothing", Ls.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2), None, "onehot"),
    ("cce-sigmoid-probs", "categorical_crossentropy", "sigmoid", "soft"),
    ("scce-probs", "sparse_categorical_crossentropy", "softmax", "labels"),
    ("scce-logits", Ls.SparseCategoricalCrossentropy(from_logits=True), None, "labels"),
    ("hinge", "hinge", None, "binary"),
    ("squared_hinge", "squared_hinge", None, "binary"),
    ("kl_divergence", "kl_divergence", "softmax", "soft"),
    ("poisson", "poisson", "softplus", "counts"),
]


@pytest.mark.parametrize("name,loss,act,target", LOSSES, ids=[c[0] for c in LOSSES])
def test_losses(name, loss, act, target):
    rng, x = _data(11)
    y = _targets(target, rng)
    if act == "_sigmoid_then_dense":  # the probability path without fusion
        layers = [L.Dense(6, activation="tanh"), L.Dense(OUT), L.Activation("sigmoid"), L.Activation("linear")]
    else:
        layers = [L.Dense(6, activation="tanh"), L.Dense(OUT, activation=act)]
    m = _seq(layers, loss)
    if name in ("mae", "hinge", "squared_hinge"):  # kinks: keep |y - pred| and y*pred away from them
        m.layers[-1].bias[...] = 0.0
        pred = m.predict(x)
        while True:
            r = np.abs(y - pred) if name == "mae" else np.abs(1 - (2 * y - 1) * pred)
            if r.min() > 1e-3:
                break
            m.layers[-1].bias[...] += 0.01
            pred = m.predict(x)
    _check(m, x, y)


@pytest.mark.parametrize("name,loss,act,target", LOSSES, ids=[c[0] for c in LOSSES])
def test_training_loss_equals_evaluate(name, loss, act, target):
    """The native training loss (fused kernels) and the Python loss of evaluate agree, with
    sample weights, and the gradient with sample weights checks out."""
    rng, x = _data(21)
    y = _targets(target, rng)
    sw = rng.uniform(0, 2, N)
    if act == "_sigmoid_then_dense":
        layers = [L.Dense(6, activation="tanh"), L.Dense(OUT), L.Activation("sigmoid"), L.Activation("linear")]
    else:
        layers = [L.Dense(6, activation="tanh"), L.Dense(OUT, activation=act)]
    m = _seq(layers, loss, optimizer=fnn.optimizers.SGD(0.0))
    ev = m.evaluate(x, y, sample_weight=sw)
    assert m.train_on_batch(x, y, sample_weight=sw) == pytest.approx(ev, rel=1e-10)
    assert m.train_on_batch(x, y) == pytest.approx(m.evaluate(x, y), rel=1e-10)
    if name not in ("mae", "hinge", "squared_hinge"):
        _check(m, x, y, sample_weight=sw)


@pytest.mark.parametrize("act_layer", [False, True])
def test_fused_softmax_probability_ce_matches_logits_loss(act_layer):
    """A softmax output with the probability loss is computed from the logits (fused):
    the loss equals the logits loss of the same network and its gradient checks out."""
    rng, x = _data(12)
    lab = rng.integers(0, OUT, N)
    if act_layer:
        probs = [L.Dense(6, activation="tanh"), L.Dense(OUT), L.Activation("softmax")]
        logits = [L.Dense(6, activation="tanh"), L.Dense(OUT), L.Activation("linear")]
    else:
        probs = [L.Dense(6, activation="tanh"), L.Dense(OUT, activation="softmax")]
        logits = [L.Dense(6, activation="tanh"), L.Dense(OUT)]
    m = _seq(probs, "sparse_categorical_crossentropy", seed=5)
    ml = _seq(logits, Ls.SparseCategoricalCrossentropy(from_logits=True), seed=5)
    _check(m, x, lab)
    # extreme logits: the fused loss stays finite (no log(0) clipping) and equals the logits loss
    m.layers[1].kernel[...] *= 40
    ml.set_weights(m.get_weights())
    lab_e = np.argmin(m.predict(x), axis=1)
    a = m.train_on_batch(x, lab_e)
    b = ml.train_on_batch(x, lab_e)
    assert np.isfinite(a) and a == pytest.approx(b, rel=1e-12)
    assert a > 20  # beyond -log(1e-7): the probability clip was not applied


# ------------------------------------------------------------------ regularizers, weights


@pytest.mark.parametrize("reg", [R.L1(0.05), R.L2(0.1), R.L1L2(0.03, 0.2)], ids=["l1", "l2", "l1l2"])
def test_regularizers(reg):
    rng, x = _data(13)
    y = rng.normal(size=(N, OUT))
    d1 = L.Dense(6, activation="tanh", kernel_regularizer=reg, bias_regularizer=reg, bias_initializer="glorot_uniform")
    d2 = L.Dense(OUT, kernel_regularizer=reg)
    m = _seq([d1, d2], "mse")
    errs = _check(m, x, y)
    assert len(errs) == 4
    # the penalty is part of the checked loss: it is the difference with an unregularized twin
    plain = _seq([L.Dense(6, activation="tanh"), L.Dense(OUT)], "mse")
    plain.set_weights(m.get_weights())
    pen = sum(float(reg(w)) for w in (d1.kernel, d1.bias, d2.kernel))
    assert m.evaluate(x, y) - plain.evaluate(x, y) == pytest.approx(pen, rel=1e-10)


def test_prelu_alpha_regularizer():
    rng, x = _data(13)
    y = rng.normal(size=(N, OUT))
    m = _seq([L.Dense(6), L.PReLU(alpha_regularizer=R.L2(0.5)), L.Dense(OUT)], "mse")
    _away_from_kinks(m, x)
    _check(m, x, y)


def test_sample_weight():
    rng, x = _data(14)
    y = rng.normal(size=(N, OUT))
    m = _seq([L.Dense(6, activation="tanh"), L.Dense(OUT)], "mse")
    _check(m, x, y, sample_weight=rng.uniform(0, 3, N))
    _check(m, x, y, sample_weight=np.r_[np.zeros(N - 2), 1.0, 2.0])


def test_float32_model_is_checked_in_float64():
    rng, x = _data(15)
    lab = rng.integers(0, OUT, N)
    m = _seq([L.Dense(6, activation="gelu"), L.Dropout(0.2), L.Dense(OUT, activation="softmax")],
             "sparse_categorical_crossentropy", dtype="float32")
    before = m.get_weights()
    _check(m, x, lab)
    assert all(np.array_equal(a, b) for a, b in zip(before, m.get_weights()))
    assert m.dtype == np.float32


def test_max_per_tensor_subset():
    rng, x = _data(16)
    y = rng.normal(size=(N, OUT))
    m = _seq([L.Dense(40, activation="tanh"), L.Dense(OUT)], "mse")
    before = m.get_weights()
    _check(m, x, y, max_per_tensor=10, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(before, m.get_weights()))


def test_frozen_layer_not_checked():
    rng, x = _data(17)
    y = rng.normal(size=(N, OUT))
    frozen = L.Dense(6, activation="tanh", trainable=False)
    m = _seq([frozen, L.Dense(OUT)], "mse")
    errs = _check(m, x, y)
    assert not any(k.startswith(frozen.name + ".") for k in errs)


# ------------------------------------------------------------------ custom Python layer


class ScaledTanh(L.Layer):
    """y = tanh(x * s + t), one (s, t) per feature."""

    def build(self, width):
        self.add_weight("s", (width,), "ones")
        self.add_weight("t", (width,), "zeros", regularizer=R.L2(0.1))
        return width

    def forward(self, x, training=False):
        self.x = x
        self.y = np.tanh(x * self.weights_dict["s"] + self.weights_dict["t"])
        return self.y

    def backward(self, dy):
        dz = dy * (1 - self.y ** 2)
        self.grads["s"] = (dz * self.x).sum(axis=0)
        self.grads["t"] = dz.sum(axis=0)
        return dz * self.weights_dict["s"]


class Pair(L.Layer):
    """Two inputs: y = a * b (elementwise), no weights."""

    _multi_input = True

    def _output_width(self, widths):
        return widths[0]

    def build(self, widths):
        return widths[0]

    def forward(self, xs, training=False):
        self.a, self.b = xs
        return self.a * self.b

    def backward(self, dy):
        return [dy * self.b, dy * self.a]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_custom_layer(dtype):
    rng, x = _data(18)
    y = rng.normal(size=(N, OUT))
    layer = ScaledTanh()
    m = _seq([L.Dense(4), layer, L.Dense(OUT)], "mse", dtype=dtype)
    layer._weights["s"][...] = rng.uniform(0.5, 1.5, 4)
    layer._weights["t"][...] = rng.normal(size=4)
    errs = _check(m, x, y)
    assert {f"{layer.name}.s", f"{layer.name}.t"} <= set(errs)


def test_custom_multi_input_layer():
    rng, x = _data(19)
    y = rng.normal(size=(N, 2))
    inp = fnn.Input(IN)
    a = L.Dense(3, activation="tanh")(inp)
    b = L.Dense(3, activation="sigmoid")(inp)
    p = Pair()([a, b])
    m = fnn.Model(inp, L.Dense(2)(L.Add()([p, a])), dtype="float64", seed=0)
    m.compile("sgd", "mse")
    _check(m, x, y)


# ------------------------------------------------------------------ known engine bugs


@pytest.mark.parametrize("act,losses", [(None, ("mse", "log_cosh")),
                                        ("softmax", ("sparse_categorical_crossentropy", "mse"))],
                         ids=["linear", "softmax"])
def test_one_tensor_as_two_outputs(act, losses):
    rng, x = _data(20)
    lab = rng.integers(0, OUT, N)
    inp = fnn.Input(IN)
    t = L.Dense(OUT, activation=act)(L.Dense(4, activation="tanh")(inp))
    m = fnn.Model(inp, {"a": t, "b": t}, dtype="float64", seed=0)
    m.compile("sgd", loss=dict(zip("ab", losses)), loss_weights={"a": 1.0, "b": 3.0})
    y = {"a": lab if losses[0].startswith("sparse") else rng.normal(size=(N, OUT)), "b": np.eye(OUT)[lab]}
    _check(m, x, y)


def test_layer_frozen_after_compile_is_checked_as_frozen():
    """gradient_check sees trainability changed after compile (a frozen BN: running stats)."""
    rng, x = _data(22)
    y = rng.normal(size=(N, OUT))
    bn = L.BatchNormalization()
    m = _seq([L.Dense(6, use_bias=False), bn, L.Dense(OUT)], "mse")
    bn._weights["moving_mean"][...] = 2.0
    bn.trainable = False
    errs = _check(m, x, y)
    assert not any(k.startswith(bn.name) for k in errs)
    eng = m._engine
    loss = eng.compute_gradients([np.ascontiguousarray(x)], [np.ascontiguousarray(y)], [np.empty(0)], None, N, 0)
    assert loss == pytest.approx(m.evaluate(x, y), rel=1e-12)


@pytest.mark.parametrize("order", [("z", "p"), ("p", "z")], ids=["logits-first", "probs-first"])
def test_logits_output_feeding_a_fused_softmax_output(order):
    rng, x = _data(23)
    lab = rng.integers(0, OUT, N)
    inp = fnn.Input(IN)
    z = L.Dense(OUT)(L.Dense(4, activation="tanh")(inp))
    p = L.Activation("softmax")(z)
    outs = {"z": z, "p": p}
    m = fnn.Model(inp, {k: outs[k] for k in order}, dtype="float64", seed=0)
    m.compile("sgd", loss={"z": "mse", "p": "sparse_categorical_crossentropy"})
    _check(m, x, {"z": rng.normal(size=(N, OUT)), "p": lab})
