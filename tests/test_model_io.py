"""Saving and loading models (fastnn.io): bitwise round trips of predictions, optimizer
state and running statistics; corrupted, truncated and foreign files raise ValueError and
never execute code; custom layers through custom_objects."""
import io as _io
import json
import pickle
import warnings
import zipfile

import numpy as np
import pytest

import fastnn as fnn

L = fnn.layers
O = fnn.optimizers
Ls = fnn.losses
LOGITS = Ls.SparseCategoricalCrossentropy(from_logits=True)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


def _data(n=48, d=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    return x, np.argmax(x[:, :3], axis=1)


def _same(a, b):
    return len(a) == len(b) and all(np.array_equal(u, v) for u, v in zip(a, b))


def _model(opt=None, dtype="float32", seed=0):
    m = fnn.Sequential([fnn.Input(6), L.Dense(12, activation="relu", kernel_regularizer=fnn.regularizers.L2(1e-3)),
                        L.BatchNormalization(), L.Dropout(0.2), L.PReLU(), L.LayerNormalization(),
                        L.GaussianNoise(0.05), L.Dense(3)], dtype=dtype, seed=seed, name="saved")
    m.compile(opt or O.Adam(0.01), LOGITS, metrics=["accuracy"])
    return m


# ------------------------------------------------------------------ round trips


OPTS = [lambda: O.SGD(0.05, momentum=0.9, nesterov=True), lambda: O.RMSprop(0.01, centered=True, momentum=0.3),
        lambda: O.Adagrad(0.1), lambda: O.Adadelta(1.0), lambda: O.Adam(0.01, amsgrad=True),
        lambda: O.AdamW(fnn.schedules.CosineDecay(0.01, 50)), lambda: O.Adamax(0.01), lambda: O.Nadam(0.01)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("make_opt", OPTS, ids=["sgd", "rmsprop", "adagrad", "adadelta", "adam", "adamw", "adamax",
                                                 "nadam"])
def test_save_load_is_bitwise_and_resumes(tmp_path, make_opt, dtype):
    x, y = _data()
    m = _model(make_opt(), dtype)
    m.fit(x, y, batch_size=16, epochs=2, verbose=0)
    path = tmp_path / "m.fnn"
    m.save(path)
    r = fnn.load_model(path)
    assert r.dtype == np.dtype(dtype) and r.name == "saved" and r.seed == m.seed
    assert type(r.optimizer) is type(m.optimizer) and r.optimizer.get_config() == m.optimizer.get_config()
    assert r.optimizer.iterations == m.optimizer.iterations == 6
    assert _same(r.get_weights(), m.get_weights())  # includes the BN moving statistics
    assert r._engine.nadam_mu_product == m._engine.nadam_mu_product
    assert all(np.array_equal(a, b) for a, b in zip(r.optimizer.state.values(), m.optimizer.state.values()))
    assert np.array_equal(r.predict(x), m.predict(x))
    assert r.evaluate(x, y, return_dict=True) == m.evaluate(x, y, return_dict=True)
    # training goes on identically (optimizer state, step counter, dropout/noise streams)
    for model in (m, r):
        model.fit(x, y, batch_size=16, epochs=4, initial_epoch=2, verbose=0)
        model.train_on_batch(x[:10], y[:10])
    assert _same(r.get_weights(), m.get_weights())


def test_running_statistics_are_saved(tmp_path):
    x, y = _data()
    m = _model()
    m.fit(x, y, epochs=3, verbose=0)
    bn = m.layers[1]
    assert not np.all(bn.get_weights()[2] == 0)  # training moved them
    m.save(tmp_path / "m.fnn")
    r = fnn.load_model(tmp_path / "m.fnn")
    assert _same(r.layers[1].get_weights(), bn.get_weights())


def test_functional_multi_output_round_trip(tmp_path):
    x, y = _data()
    x2 = x[:, :2] ** 2
    i1, i2 = fnn.Input(6, name="a"), fnn.Input(2, name="b")
    h = L.Concatenate()([L.Dense(8, activation="tanh")(i1), i2])
    h = L.Add()([L.Dense(8)(h), L.Dense(8, activation="elu")(h)])
    m = fnn.Model([i1, i2], {"kind": L.Dense(3)(h), "value": L.Dense(1, activation="softplus")(h)}, seed=4,
                  dtype="float64")
    m.compile(O.Nadam(0.01), loss={"kind": LOGITS, "value": "poisson"}, loss_weights={"kind": 1.0, "value": 0.25},
              metrics={"kind": ["accuracy"], "value": ["mae"]})
    ys = {"kind": y, "value": x2[:, :1]}
    m.fit([x, x2], ys, epochs=2, verbose=0)
    m.save(tmp_path / "f.fnn")
    r = fnn.load_model(tmp_path / "f.fnn")
    assert r.output_names == ["kind", "value"] and r.input_names == ["a", "b"]
    pm, pr = m.predict([x, x2]), r.predict([x, x2])
    assert set(pr) == {"kind", "value"} and all(np.array_equal(pm[k], pr[k]) for k in pm)
    assert r.evaluate([x, x2], ys, return_dict=True) == m.evaluate([x, x2], ys, return_dict=True)


def test_load_without_compile(tmp_path):
    x, y = _data()
    m = _model()
    m.fit(x, y, epochs=1, verbose=0)
    m.save(tmp_path / "m.fnn")
    r = fnn.load_model(tmp_path / "m.fnn", compile=False)
    assert not r.compiled and np.array_equal(r.predict(x), m.predict(x))
    with pytest.raises(RuntimeError, match="compile"):
        r.fit(x, y, verbose=0)


def test_uncompiled_model_round_trip(tmp_path):
    inp = fnn.Input(3)
    m = fnn.Model(inp, L.Dense(2, activation="sigmoid")(inp), seed=1)
    m.save(tmp_path / "u.fnn")
    r = fnn.load_model(tmp_path / "u.fnn")
    x = np.random.default_rng(0).normal(size=(5, 3))
    assert not r.compiled and np.array_equal(r.predict(x), m.predict(x))


def test_save_overwrites_atomically(tmp_path):
    x, y = _data()
    m = _model()
    path = tmp_path / "m.fnn"
    m.save(path)
    m.fit(x, y, epochs=1, verbose=0)
    m.save(path)
    assert _same(fnn.load_model(path).get_weights(), m.get_weights())
    assert [p.name for p in tmp_path.iterdir()] == ["m.fnn"]  # no temporary file left


# ------------------------------------------------------------------ custom layers


class Scale(L.Layer):
    """y = x * s * factor (custom layer with a constructor argument)."""

    def __init__(self, factor=1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = float(factor)

    def build(self, width):
        self.add_weight("s", (width,), "ones")
        return width

    def forward(self, x, training=False):
        self.x = x
        return x * self.weights_dict["s"] * self.factor

    def backward(self, dy):
        self.grads["s"] = (dy * self.x).sum(axis=0) * self.factor
        return dy * self.weights_dict["s"] * self.factor

    def get_config(self):
        cfg = super().get_config()
        cfg["factor"] = self.factor
        return cfg


def test_custom_layer_needs_custom_objects(tmp_path):
    x, y = _data()
    m = fnn.Sequential([fnn.Input(6), L.Dense(5, activation="tanh"), Scale(1.5), L.Dense(3)], seed=2)
    m.compile(O.Adam(0.01), LOGITS)
    m.fit(x, y, epochs=2, verbose=0)
    path = tmp_path / "c.fnn"
    m.save(path)
    with pytest.raises(ValueError, match="custom_objects"):
        fnn.load_model(path)
    r = fnn.load_model(path, custom_objects={"Scale": Scale})
    assert isinstance(r.layers[1], Scale) and r.layers[1].factor == 1.5
    assert np.array_equal(r.predict(x), m.predict(x))
    for model in (m, r):
        model.fit(x, y, epochs=1, verbose=0)
    assert _same(r.get_weights(), m.get_weights())


# ------------------------------------------------------------------ bad files


class _Evil:
    """Unpickling this creates the file at `path`."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _saved(tmp_path):
    m = _model()
    path = tmp_path / "good.fnn"
    m.save(path)
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    return m, path, members


def _write_zip(path, members):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def _npy(a, allow_pickle=False):
    buf = _io.BytesIO()
    np.save(buf, a, allow_pickle=allow_pickle)
    return buf.getvalue()


def _config(members):
    return json.loads(np.load(_io.BytesIO(members["config.npy"])).tobytes().decode())


def _with_config(members, cfg):
    out = dict(members)
    out["config.npy"] = _npy(np.frombuffer(json.dumps(cfg).encode(), dtype=np.uint8))
    return out


def test_pickle_payloads_are_never_executed(tmp_path):
    _, _, members = _saved(tmp_path)
    marker = tmp_path / "pwned"
    evil = np.empty(1, dtype=object)
    evil[0] = _Evil(marker)
    raw = tmp_path / "raw.pkl"
    raw.write_bytes(pickle.dumps(_Evil(marker)))
    bad_files = [raw,
                 _write_zip(tmp_path / "cfg.fnn", {**members, "config.npy": _npy(evil, allow_pickle=True)}),
                 _write_zip(tmp_path / "params.fnn", {**members, "params.npy": _npy(evil, allow_pickle=True)}),
                 _write_zip(tmp_path / "opt.fnn", {**members, "opt_0.npy": _npy(evil, allow_pickle=True)})]
    npy = tmp_path / "obj.npy"
    npy.write_bytes(_npy(evil, allow_pickle=True))
    bad_files.append(npy)
    for f in bad_files:
        with pytest.raises(ValueError):
            fnn.load_model(f)
        assert not marker.exists(), f
    # the payload is live: unpickling it does create the marker (so the check above can fail)
    pickle.loads(raw.read_bytes()).close()
    assert marker.exists()


def test_truncated_and_garbage_files(tmp_path):
    _, path, members = _saved(tmp_path)
    data = path.read_bytes()
    for i, cut in enumerate((0, 10, len(data) // 3, len(data) // 2, len(data) - 30)):
        p = tmp_path / f"t{i}.fnn"
        p.write_bytes(data[:cut])
        with pytest.raises(ValueError):
            fnn.load_model(p)
    rng = np.random.default_rng(0)
    junk = tmp_path / "junk.fnn"
    junk.write_bytes(rng.integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(ValueError):
        fnn.load_model(junk)
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF  # a corrupted member (zip CRC mismatch)
    p = tmp_path / "flip.fnn"
    p.write_bytes(bytes(flipped))
    with pytest.raises(ValueError):
        fnn.load_model(p)
    with pytest.raises(ValueError):
        fnn.load_model(tmp_path)  # a folder
    with pytest.raises(FileNotFoundError):
        fnn.load_model(tmp_path / "missing.fnn")


def test_foreign_files(tmp_path):
    other = tmp_path / "other.npz"
    np.savez(other, a=np.arange(3))
    weights = tmp_path / "weights.npz"
    np.savez(weights, *_model().get_weights())  # ModelCheckpoint(save_weights_only=True) output
    text = tmp_path / "model.json"
    text.write_text(json.dumps({"format": "fastnn-model"}))
    for f in (other, weights, text):
        with pytest.raises(ValueError, match="not"):
            fnn.load_model(f)


def _bad_config_variants(cfg):
    def edit(fn):
        c = json.loads(json.dumps(cfg))
        fn(c)
        return c

    yield "format", edit(lambda c: c.update(format="keras"))
    yield "version", edit(lambda c: c.update(version=99))
    yield "class", edit(lambda c: c["layers"][0].update(class_name="os.system"))
    yield "layer kwargs", edit(lambda c: c["layers"][0]["config"].update(evil=1))
    yield "units", edit(lambda c: c["layers"][0]["config"].update(units=-3))
    yield "inputs", edit(lambda c: c["layers"][0].update(inputs=["nowhere"]))
    yield "layers type", edit(lambda c: c.update(layers=7))
    yield "no inputs", edit(lambda c: c.pop("inputs"))
    yield "loss", edit(lambda c: c["compile"].update(loss=[{"class_name": "Nope", "config": {}}]))
    yield "optimizer", edit(lambda c: c["compile"].update(optimizer={"class_name": "exec", "config": {}}))
    yield "width", edit(lambda c: c["inputs"][0].update(n_features=7))  # arrays no longer fit
    yield "not a dict", [1, 2, 3]
    yield "trainable text", edit(lambda c: c["layers"][0]["config"].update(trainable="no"))
    yield "use_bias text", edit(lambda c: c["layers"][0]["config"].update(use_bias="yes"))
    yield "layer twice", edit(lambda c: c["layers"].insert(1, c["layers"][0]))
    yield "extra metric list", edit(lambda c: c["compile"].update(metrics=c["compile"]["metrics"] + [[]]))


def test_bad_configurations(tmp_path):
    _, _, members = _saved(tmp_path)
    cfg = _config(members)
    for name, bad in _bad_config_variants(cfg):
        p = _write_zip(tmp_path / "bad.fnn", _with_config(members, bad))
        with pytest.raises(ValueError):
            fnn.load_model(p)
            print(name)  # (shown only when the load did not raise)
    p = _write_zip(tmp_path / "bad.fnn", {**members, "config.npy": _npy(np.frombuffer(b"\xff\xfe{", np.uint8))})
    with pytest.raises(ValueError, match="corrupted"):
        fnn.load_model(p)


def test_bad_arrays(tmp_path):
    m, _, members = _saved(tmp_path)
    params = np.load(_io.BytesIO(members["params.npy"]))
    variants = {
        "missing params": {k: v for k, v in members.items() if k != "params.npy"},
        "short params": {**members, "params.npy": _npy(params[:-1])},
        "wrong dtype": {**members, "params.npy": _npy(params.astype(np.float64))},
        "missing state": {k: v for k, v in members.items() if k != "state.npy"},
        "missing opt": {k: v for k, v in members.items() if k != "opt_1.npy"},
        "bad counter": {**members, "counters.npy": _npy(np.array([-1], np.int64))},
        "float counter": {**members, "counters.npy": _npy(np.array([1.0]))},
        "missing mu": {k: v for k, v in members.items() if k != "nadam_mu_product.npy"},
        "text mu": {**members, "nadam_mu_product.npy": _npy(np.array(["1.0"]))},
        "deep config": {**members, "config.npy": _npy(np.frombuffer(b"[" * 100000 + b"]" * 100000, np.uint8))},
    }
    for name, mem in variants.items():
        p = _write_zip(tmp_path / "bad.fnn", mem)
        with pytest.raises(ValueError):
            fnn.load_model(p)
    # the intact members load
    p = _write_zip(tmp_path / "ok.fnn", members)
    assert _same(fnn.load_model(p).get_weights(), m.get_weights())
    # a bare .npy array is no model file
    np.save(tmp_path / "a.npy", params)
    with pytest.raises(ValueError, match="not a readable fastnn model file"):
        fnn.load_model(tmp_path / "a.npy")


def test_non_finite_weights_and_state_round_trip(tmp_path):
    # what save writes, load reads: NaN weights of a diverged model, an Adam second moment
    # past float32's range beside finite weights
    x, y = _data()
    m = fnn.Sequential([fnn.Input(6), L.Dense(4), L.Dense(3)], seed=0)
    m.compile(O.Adam(0.01), fnn.losses.SparseCategoricalCrossentropy(from_logits=True))
    m.fit(x, y, epochs=1, verbose=0)
    e = m._engine
    e.params[3] = np.nan
    e.opt_state[1][5] = np.inf
    m.save(tmp_path / "m.fnn")
    r = fnn.load_model(tmp_path / "m.fnn")
    np.testing.assert_array_equal(r._engine.params, e.params)
    for a, b in zip(r._engine.opt_state, e.opt_state):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ configurations that must survive


def test_activation_parameters_round_trip(tmp_path):
    x, _ = _data()
    m = fnn.Sequential([fnn.Input(6), L.Dense(5, activation="gelu", approximate=True),
                        L.Activation("leaky_relu", alpha=0.3), L.Dense(4, activation="elu", alpha=0.5),
                        L.Activation("gelu", approximate=False), L.Dense(2, activation="log_softmax")], seed=3)
    m.save(tmp_path / "a.fnn")
    r = fnn.load_model(tmp_path / "a.fnn")
    assert [l.activation[:2] for l in r.layers] == [l.activation[:2] for l in m.layers]
    assert np.array_equal(r.predict(x), m.predict(x))


def test_frozen_regularized_and_loss_parameters_round_trip(tmp_path):
    x, _ = _data()
    y = x[:, :2] * 3
    m = fnn.Sequential([fnn.Input(6), L.Dense(5, activation="tanh", trainable=False),
                        L.Dense(2, kernel_regularizer=fnn.regularizers.L1L2(0.1, 0.2), bias_regularizer="l2")],
                       seed=0)
    m.compile(O.SGD(0.01), Ls.Huber(delta=0.3))
    m.save(tmp_path / "r.fnn")
    r = fnn.load_model(tmp_path / "r.fnn")
    assert not r.layers[0].trainable and r._losses[0].delta == 0.3
    assert r.evaluate(x, y) == m.evaluate(x, y)
    frozen = r.layers[0].get_weights()
    r.fit(x, y, epochs=2, verbose=0)
    assert _same(r.layers[0].get_weights(), frozen)


def test_sequential_built_at_fit_and_unbuilt(tmp_path):
    x, y = _data()
    m = fnn.Sequential([L.Dense(5, activation="relu"), L.Dropout(0.5, seed=3), L.Dense(3)], seed=1)
    m.compile(O.Adam(0.01), LOGITS)
    m.fit(x, y, epochs=2, verbose=0)
    m.save(tmp_path / "s.fnn")
    r = fnn.load_model(tmp_path / "s.fnn")
    for model in (m, r):
        model.fit(x, y, epochs=3, initial_epoch=2, verbose=0)
    assert _same(r.get_weights(), m.get_weights())
    # with an Input but never compiled nor used: built on save
    u = fnn.Sequential([fnn.Input(6), L.Dense(2)], seed=2)
    u.save(tmp_path / "u.fnn")
    assert np.array_equal(fnn.load_model(tmp_path / "u.fnn").predict(x), u.predict(x))
    with pytest.raises(ValueError, match="not built"):
        fnn.Sequential([L.Dense(2)]).save(tmp_path / "v.fnn")


def test_layer_names_are_unique_within_a_model(tmp_path):
    """Names link the layers of a saved configuration: a model with two layers of one name
    would load mis-wired, so it cannot be made; automatic names avoid explicit ones."""
    inp = fnn.Input(4)
    a = L.Dense(3, name="twin")(inp)
    b = L.Dense(3, name="twin")(a)
    with pytest.raises(ValueError, match="unique"):
        fnn.Model(inp, L.Add()([a, b]))
    probe = L.Dense(1).name  # the latest automatic name: "dense" or "dense_<k>"
    k = int(probe.rpartition("_")[2]) if probe != "dense" else 0
    m = fnn.Sequential([fnn.Input(4), L.Dense(3, name=f"dense_{k + 1}")], seed=0)  # the next one
    m.save(tmp_path / "n.fnn")
    r = fnn.load_model(tmp_path / "n.fnn")
    new = L.Dense(2)
    assert new.name != r.layers[0].name
    t = new(r._outputs[0])
    fnn.Model(r._inputs, t)  # builds
