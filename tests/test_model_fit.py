"""Model.fit over the native engine: learning-rate schedules and callbacks, resuming from
checkpoints, logs and validation, class and sample weights, batch chunks, interrupts.
(train_on_batch / evaluate / predict and the rest of the model API: test_model_api.py.)"""
import csv
import warnings

import numpy as np
import pytest

import fastnn as fnn
import reference as ref

L = fnn.layers
O = fnn.optimizers
C = fnn.callbacks
S = fnn.schedules
Ls = fnn.losses
LOGITS = Ls.SparseCategoricalCrossentropy(from_logits=True)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


def _data(n=60, d=6, k=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    y = (np.argmax(x[:, :k] + 0.5 * rng.normal(size=(n, k)), axis=1)).astype(np.int64)
    return x, y


def _mlp(seed=0, dtype="float64", d=6, k=3, extra=(), hidden=8):
    return fnn.Sequential([fnn.Input(d), L.Dense(hidden, activation="relu"), *extra, L.Dense(k)], seed=seed,
                          dtype=dtype)


def _same(a, b):
    return len(a) == len(b) and all(np.array_equal(u, v) for u, v in zip(a, b))


class Recorder(C.Callback):
    """Keeps the weights and a copy of the logs at every epoch end."""

    def __init__(self):
        super().__init__()
        self.weights, self.logs = [], []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())
        self.logs.append(dict(logs))


# ------------------------------------------------------------------ schedules


OPT_CLASSES = [O.SGD, O.RMSprop, O.Adagrad, O.Adadelta, O.Adam, O.AdamW, O.Adamax, O.Nadam]


@pytest.mark.parametrize("cls", OPT_CLASSES, ids=[c.__name__ for c in OPT_CLASSES])
def test_batch_schedule_is_the_learning_rate_used(cls):
    """fit with a per-step schedule equals train_on_batch steps with the schedule's rate
    set by hand before each step (bitwise), and differs from a constant rate."""
    x, y = _data(40)
    sched = S.ExponentialDecay(0.05, decay_steps=3, decay_rate=0.5)
    a = _mlp(1)
    a.compile(cls(learning_rate=sched), LOGITS)
    h = a.fit(x, y, batch_size=10, epochs=2, shuffle=False, verbose=0)
    b = _mlp(1)
    b.compile(cls(learning_rate=0.05), LOGITS)
    for step in range(8):
        b.optimizer.learning_rate = sched(step)
        r = (step % 4) * 10
        b.train_on_batch(x[r:r + 10], y[r:r + 10])
    assert _same(a.get_weights(), b.get_weights())
    assert a.optimizer.iterations == 8
    assert h.history["lr"] == [sched(4), sched(8)]  # the rate of the next step
    c = _mlp(1)
    c.compile(cls(learning_rate=0.05), LOGITS)
    c.fit(x, y, batch_size=10, epochs=2, shuffle=False, verbose=0)
    assert not np.array_equal(a.get_weights()[0], c.get_weights()[0])


def test_epoch_schedule_is_the_learning_rate_used():
    x, y = _data(40)
    sched = S.StepDecay(0.1, step_size=1, gamma=0.3, unit="epoch")
    a = _mlp(2)
    a.compile(O.SGD(sched, momentum=0.5), LOGITS)
    h = a.fit(x, y, batch_size=10, epochs=3, verbose=0)
    b = _mlp(2)
    b.compile(O.SGD(0.1, momentum=0.5), LOGITS)
    for e in range(3):
        b.optimizer.learning_rate = sched(e)
        b.fit(x, y, batch_size=10, epochs=e + 1, initial_epoch=e, verbose=0)
    assert _same(a.get_weights(), b.get_weights())
    assert h.history["lr"] == pytest.approx([0.1, 0.03, 0.009], rel=1e-12)


def test_learning_rate_scheduler_callback():
    x, y = _data(40)
    a = _mlp(3)
    a.compile(O.SGD(1.0), LOGITS)
    h = a.fit(x, y, batch_size=8, epochs=3, verbose=0,
              callbacks=[C.LearningRateScheduler(lambda epoch: 0.1 * 0.5 ** epoch)])
    assert h.history["lr"] == [0.1, 0.05, 0.025]
    b = _mlp(3)
    b.compile(O.SGD(1.0), LOGITS)
    for e in range(3):
        b.optimizer.learning_rate = 0.1 * 0.5 ** e
        b.fit(x, y, batch_size=8, epochs=e + 1, initial_epoch=e, verbose=0)
    assert _same(a.get_weights(), b.get_weights())
    # two-argument form: (epoch, lr)
    c = _mlp(3)
    c.compile(O.SGD(0.2), LOGITS)
    h = c.fit(x, y, epochs=3, verbose=0, callbacks=[C.LearningRateScheduler(lambda epoch, lr: lr * 0.5)])
    assert h.history["lr"] == [0.1, 0.05, 0.025]


def test_reduce_lr_on_plateau():
    x, y = _data(40)
    m = _mlp(4)
    m.compile(O.SGD(0.1), LOGITS)
    # min_delta so large that only the first epoch counts as an improvement
    cb = C.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=1e9)
    h = m.fit(x, y, epochs=4, verbose=0, callbacks=[cb])
    assert h.history["lr"] == [0.1, 0.1, 0.05, 0.025]
    assert m.optimizer.learning_rate == 0.0125


# ------------------------------------------------------------------ stopping


class Scores(C.Callback):
    """Writes a fixed score per epoch into the logs (for monitors)."""

    def __init__(self, scores):
        super().__init__()
        self.scores = scores

    def on_epoch_end(self, epoch, logs=None):
        logs["score"] = self.scores[epoch]


def test_early_stopping_restores_best_weights():
    x, y = _data(40)
    m = _mlp(5)
    m.compile(O.Adam(0.05), LOGITS)
    rec = Recorder()
    es = C.EarlyStopping(monitor="score", patience=2, restore_best_weights=True)
    h = m.fit(x, y, epochs=10, verbose=0, callbacks=[Scores([3.0, 1.0, 2.0, 4.0, 0.5, 0.1] + [9] * 4), rec, es])
    assert len(h.history["loss"]) == 4 and es.stopped_epoch == 3
    assert _same(m.get_weights(), rec.weights[1])
    assert not _same(rec.weights[1], rec.weights[3])


def test_terminate_on_nan(capsys):
    x, y = _data(40)
    m = _mlp(6)
    m.compile(O.SGD(1e30), "mse")
    t = C.TerminateOnNaN()
    with np.errstate(all="ignore"):
        h = m.fit(x, np.eye(3)[y] * 1e3, batch_size=4, epochs=20, verbose=0, callbacks=[t])
    assert t.terminated_at is not None and t.terminated_at[0] == 0
    assert len(h.history["loss"]) == 1 and not np.isfinite(h.history["loss"][0])
    assert m.stop_training
    # the engine stopped at the bad batch: fewer steps than the epoch has
    assert m.optimizer.iterations <= t.terminated_at[1] + 1 < 10
    assert "invalid loss" in capsys.readouterr().out


# ------------------------------------------------------------------ checkpoints and resuming


def _resume_model(seed=7):
    m = fnn.Sequential([fnn.Input(6), L.Dense(16, activation="relu"), L.Dropout(0.25), L.BatchNormalization(),
                        L.GaussianNoise(0.05), L.Dense(3)], seed=seed)
    m.compile(O.Adam(S.CosineDecay(0.01, decay_steps=40)), LOGITS, metrics=["accuracy"])
    return m


def test_checkpoint_load_and_resume_is_bitwise(tmp_path):
    x, y = _data(90)
    full = _resume_model()
    ck = str(tmp_path / "ck-{epoch}.fnn")
    h = full.fit(x, y, batch_size=16, epochs=5, verbose=0, callbacks=[C.ModelCheckpoint(ck, monitor="loss")])
    for k in (1, 3):
        m = fnn.load_model(ck.format(epoch=k))
        assert m.optimizer.iterations == 6 * k
        h2 = m.fit(x, y, batch_size=16, epochs=5, initial_epoch=k, verbose=0)
        assert _same(m.get_weights(), full.get_weights())  # includes BN moving statistics
        assert all(np.array_equal(a, b) for a, b in zip(m.optimizer.state.values(), full.optimizer.state.values()))
        assert h2.history["loss"] == h.history["loss"][k:]


def test_checkpoint_save_best_only(tmp_path):
    x, y = _data(40)
    m = _mlp(8)
    m.compile(O.Adam(0.01), LOGITS)
    rec = Recorder()
    path = tmp_path / "best.fnn"
    m.fit(x, y, epochs=6, verbose=0,
          callbacks=[Scores([5, 3, 4, 1, 2, 6]), rec, C.ModelCheckpoint(path, monitor="score", save_best_only=True)])
    assert _same(fnn.load_model(path).get_weights(), rec.weights[3])


# ------------------------------------------------------------------ logs


def test_csv_logger(tmp_path):
    x, y = _data(40)
    m = _mlp(9)
    m.compile(O.Adam(0.01), LOGITS, metrics=["accuracy"])
    path = tmp_path / "log.csv"
    h = m.fit(x, y, epochs=3, verbose=0, validation_split=0.25, callbacks=[C.CSVLogger(path)])
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["0", "1", "2"]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "lr"} <= set(rows[0])
    assert [float(r["loss"]) for r in rows] == pytest.approx(h.history["loss"], rel=1e-12)
    assert [float(r["val_accuracy"]) for r in rows] == pytest.approx(h.history["val_accuracy"], rel=1e-12)


def test_history_with_validation_split():
    x, y = _data(50)
    m = _mlp(10)
    m.compile(O.Adam(0.01), LOGITS, metrics=["accuracy"])
    h = m.fit(x, y, epochs=2, verbose=0, validation_split=0.2)
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "lr", "time"} <= set(h.history)
    assert h.epoch == [0, 1] and m.history is h
    # the held-out part is the last 20% of the rows (before shuffling)
    ev = m.evaluate(x[40:], y[40:], return_dict=True)
    assert h.history["val_loss"][-1] == pytest.approx(ev["loss"], rel=1e-12)
    assert h.history["val_accuracy"][-1] == pytest.approx(ev["accuracy"])
    # and the model did not train on it: same weights as a fit on the first 80% alone
    m2 = _mlp(10)
    m2.compile(O.Adam(0.01), LOGITS, metrics=["accuracy"])
    m2.fit(x[:40], y[:40], epochs=2, verbose=0)
    assert _same(m.get_weights(), m2.get_weights())


def test_class_weight_weighs_the_training_rows_only():
    # validation_split: the held-out rows keep their sample weights (none here), as in Keras;
    # the class weights apply to the training rows (the same weights as the first 80 % alone)
    x, y = _data(50)
    cw = {0: 10.0, 1: 1.0, 2: 0.5}
    m = _mlp(10)
    m.compile(O.Adam(0.01), LOGITS, metrics=["accuracy"])
    h = m.fit(x, y, epochs=2, verbose=0, validation_split=np.float32(0.2), class_weight=cw)
    ev = m.evaluate(x[40:], y[40:], return_dict=True)
    assert h.history["val_loss"][-1] == pytest.approx(ev["loss"], rel=1e-12)
    assert h.history["val_accuracy"][-1] == pytest.approx(ev["accuracy"])
    m2 = _mlp(10)
    m2.compile(O.Adam(0.01), LOGITS, metrics=["accuracy"])
    m2.fit(x[:40], y[:40], epochs=2, verbose=0, class_weight=cw)
    assert _same(m.get_weights(), m2.get_weights())


def test_history_with_validation_data_and_weights():
    x, y = _data(50)
    xv, yv = _data(20, seed=1)
    wv = np.linspace(0, 2, 20)
    m = _mlp(11)
    m.compile(O.Adam(0.01), LOGITS, metrics=["accuracy"])
    h = m.fit(x, y, epochs=2, verbose=0, validation_data=(xv, yv, wv))
    ev = m.evaluate(xv, yv, sample_weight=wv, return_dict=True)
    assert h.history["val_loss"][-1] == pytest.approx(ev["loss"], rel=1e-12)
    assert h.history["val_accuracy"][-1] == pytest.approx(ev["accuracy"])
    h = m.fit(x, y, epochs=1, verbose=0, validation_data=(xv, yv))
    assert h.history["val_loss"][-1] == pytest.approx(m.evaluate(xv, yv)[0], rel=1e-12)


def test_multi_output_history_keys():
    x, y = _data(40)
    inp = fnn.Input(6)
    h = L.Dense(8, activation="relu")(inp)
    m = fnn.Model(inp, {"kind": L.Dense(3)(h), "value": L.Dense(1)(h)}, seed=0)
    m.compile("adam", loss={"kind": LOGITS, "value": "mse"}, loss_weights={"kind": 1.0, "value": 0.5},
              metrics={"kind": ["accuracy"], "value": ["mae"]})
    ys = {"kind": y, "value": x[:, :1]}
    hist = m.fit(x, ys, epochs=2, verbose=0, validation_split=0.25)
    for key in ("loss", "kind_loss", "value_loss", "kind_accuracy", "value_mae", "val_loss", "val_kind_loss",
                "val_value_loss", "val_kind_accuracy", "val_value_mae"):
        assert key in hist.history, key
    ev = m.evaluate(x, ys, return_dict=True)
    assert ev["loss"] == pytest.approx(ev["kind_loss"] + 0.5 * ev["value_loss"], rel=1e-12)
    p = m.predict(x)
    assert set(p) == {"kind", "value"} and p["kind"].shape == (40, 3) and p["value"].shape == (40, 1)


# ------------------------------------------------------------------ class and sample weights


@pytest.mark.parametrize("onehot", [False, True])
def test_class_weight_equals_sample_weight(onehot):
    x, y = _data(60)
    cw = {0: 0.5, 1: 3.0, 2: 1.0}
    yy = np.eye(3)[y] if onehot else y
    loss = Ls.CategoricalCrossentropy(from_logits=True) if onehot else LOGITS
    a, b, c = _mlp(12), _mlp(12), _mlp(12)
    for m in (a, b, c):
        m.compile(O.Adam(0.01), loss)
    a.fit(x, yy, batch_size=16, epochs=2, verbose=0, class_weight=cw)
    b.fit(x, yy, batch_size=16, epochs=2, verbose=0, sample_weight=np.array([cw[k] for k in y]))
    c.fit(x, yy, batch_size=16, epochs=2, verbose=0)
    assert _same(a.get_weights(), b.get_weights())
    assert not _same(a.get_weights(), c.get_weights())


def test_zero_sample_weight_rows_do_not_matter():
    x, y = _data(40)
    sw = np.ones(40)
    sw[::3] = 0.0
    x2, y2 = x.copy(), y.copy()
    x2[::3] = 100.0
    y2[::3] = (y2[::3] + 1) % 3
    a, b = _mlp(13), _mlp(13)
    for m in (a, b):
        m.compile(O.SGD(0.1, momentum=0.9), LOGITS)
    a.fit(x, y, batch_size=8, epochs=2, verbose=0, sample_weight=sw)
    b.fit(x2, y2, batch_size=8, epochs=2, verbose=0, sample_weight=sw)
    assert _same(a.get_weights(), b.get_weights())


def test_train_on_batch_with_class_weight_matches_reference():
    x, y = _data(12)
    m = _mlp(14)
    m.compile(O.SGD(0.1), LOGITS)
    params = [(w, b) for w, b in zip(m.get_weights()[::2], m.get_weights()[1::2])]
    cw = {0: 2.0, 1: 0.0, 2: 0.5}
    sw = np.array([cw[k] for k in y])
    got = m.train_on_batch(x, y, class_weight=cw)
    want, new = ref.mlp_train_step(x, y, params, ["relu", None], "sparse_ce_logits", "sgd",
                                   {"learning_rate": 0.1}, ref.optimizer_init("sgd", [0, 0, 0, 0]), 1, sw)
    assert got == pytest.approx(want, rel=1e-12)
    np.testing.assert_allclose(m.get_weights()[0], new[0][0], rtol=1e-12, atol=1e-14)


class EveryThree(C.Callback):
    batch_frequency = 3

    def __init__(self):
        super().__init__()
        self.calls = []

    def on_train_batch_end(self, batch, logs=None):
        self.calls.append((batch, logs["size"]))


def test_batch_chunks_do_not_change_training(capsys):
    """A callback asking for batch hooks makes the engine run chunks of batches: the same
    steps (schedule, dropout, BN), the same logs; a progress bar changes nothing either."""
    x, y = _data(203)

    def make():
        m = fnn.Sequential([fnn.Input(6), L.Dense(16, activation="relu"), L.Dropout(0.3), L.BatchNormalization(),
                            L.Dense(3)], seed=3)
        m.compile(O.Adam(S.ExponentialDecay(0.01, 5, 0.9)), LOGITS, metrics=["accuracy"])
        return m

    a = make()
    ha = a.fit(x, y, batch_size=16, epochs=3, verbose=0)
    b = make()
    cb = EveryThree()
    hb = b.fit(x, y, batch_size=16, epochs=3, verbose=0, callbacks=[cb])
    assert _same(a.get_weights(), b.get_weights())
    assert hb.history["loss"] == pytest.approx(ha.history["loss"], rel=1e-13)  # summed per chunk
    assert ha.history["accuracy"] == hb.history["accuracy"]
    assert cb.calls[:5] == [(2, 48), (5, 96), (8, 144), (11, 192), (12, 203)]
    for verbose in (1, 2):
        c = make()
        c.fit(x, y, batch_size=16, epochs=3, verbose=verbose)
        assert _same(a.get_weights(), c.get_weights())
    assert "loss" in capsys.readouterr().out


def test_zero_epochs_and_repeated_fits():
    x, y = _data(40)
    m = _mlp(26)
    m.compile(O.Adam(0.01), LOGITS)
    w = m.get_weights()
    h = m.fit(x, y, epochs=0, verbose=0)
    assert h.history == {} and _same(m.get_weights(), w) and m.optimizer.iterations == 0
    m.fit(x, y, batch_size=10, epochs=1, verbose=0)
    m.fit(x, y, batch_size=10, epochs=1, verbose=0)
    n = _mlp(26)
    n.compile(O.Adam(0.01), LOGITS)
    n.fit(x, y, batch_size=10, epochs=1, verbose=0)
    n.fit(x, y, batch_size=10, epochs=2, initial_epoch=1, verbose=0)
    assert m.optimizer.iterations == n.optimizer.iterations == 8
    assert not _same(m.get_weights(), n.get_weights())  # epoch 0's shuffle twice vs epochs 0 and 1


class _Interrupting(L.Layer):
    """Raises KeyboardInterrupt (as Ctrl-C would) at its third forward call."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.calls = 0

    def forward(self, x, training=False):
        self.calls += 1
        if self.calls == 3:
            raise KeyboardInterrupt
        return x

    def backward(self, dy):
        return dy


class _Ends(C.Callback):
    ended = False

    def on_train_end(self, logs=None):
        self.ended = True


def test_interrupt_stops_cleanly_and_the_model_stays_usable():
    x, y = _data(40)
    m = fnn.Sequential([fnn.Input(6), L.Dense(4), _Interrupting(), L.Dense(3)], seed=27)
    m.compile(O.Adam(0.01), LOGITS)
    ends = _Ends()
    with pytest.raises(KeyboardInterrupt):
        m.fit(x, y, batch_size=10, epochs=2, verbose=0, callbacks=[ends])
    assert ends.ended and m.optimizer.iterations == 2 and m.history.history == {}
    m.fit(x, y, batch_size=10, epochs=1, verbose=0)
    assert m.optimizer.iterations == 6


def test_validation_with_two_inputs():
    x, y = _data(40)
    x2 = np.random.default_rng(1).normal(size=(40, 2))
    i1, i2 = fnn.Input(6, name="a"), fnn.Input(2, name="b")
    m = fnn.Model([i1, i2], L.Dense(3)(L.Concatenate()([L.Dense(4)(i1), i2])), seed=0)
    m.compile(O.Adam(0.01), LOGITS, metrics=["accuracy"])
    h = m.fit({"a": x, "b": x2}, y, epochs=2, verbose=0, validation_split=0.25)
    assert h.history["val_loss"][-1] == pytest.approx(m.evaluate([x[30:], x2[30:]], y[30:])[0], rel=1e-12)
    h = m.fit([x, x2], y, epochs=1, verbose=0, validation_data=({"a": x[:5], "b": x2[:5]}, y[:5]))
    assert h.history["val_loss"][-1] == pytest.approx(m.evaluate([x[:5], x2[:5]], y[:5])[0], rel=1e-12)


def test_ctrl_c_inside_a_native_epoch():
    """A simulated Ctrl-C during a long native epoch ends fit with KeyboardInterrupt
    (the loop polls for signals); the model stays usable."""
    import _thread
    import threading

    rng = np.random.default_rng(0)
    n = 1_000_000  # one-row steps take ~2 us on a Zen 5 core: 100k of them ended before the timer
    x = rng.normal(size=(n, 16)).astype(np.float32)
    y = rng.integers(0, 3, n)
    m = fnn.Sequential([fnn.Input(16), L.Dense(64, activation="relu"), L.Dense(3)], seed=28)
    m.compile(O.Adam(1e-3), LOGITS)
    timer = threading.Timer(0.2, _thread.interrupt_main)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            m.fit(x, y, batch_size=1, epochs=1, verbose=0)  # seconds of batches of one row
    finally:
        timer.cancel()
    assert m.optimizer.iterations < n and m.history.history == {}
    assert all(np.isfinite(w).all() for w in m.get_weights())
    m.fit(x[:100], y[:100], epochs=1, verbose=0)


def test_lambda_callback():
    x, y = _data(40)
    m = _mlp(3)
    m.compile(O.SGD(0.1), LOGITS)
    seen = []
    lc = C.LambdaCallback(on_train_begin=lambda logs: seen.append("begin"),
                          on_epoch_begin=lambda e, logs: seen.append(("epoch", e)),
                          on_train_batch_end=lambda b, logs: seen.append(("batch", b)),
                          on_epoch_end=lambda e, logs: seen.append(("end", e, logs["loss"])),
                          on_train_end=lambda logs: seen.append("done"))
    assert lc.batch_frequency == 1
    h = m.fit(x, y, batch_size=20, epochs=2, verbose=0, callbacks=[lc])
    assert seen == ["begin", ("epoch", 0), ("batch", 0), ("batch", 1), ("end", 0, h.history["loss"][0]),
                    ("epoch", 1), ("batch", 0), ("batch", 1), ("end", 1, h.history["loss"][1]), "done"]
    assert C.LambdaCallback(on_epoch_end=print).batch_frequency is None
    assert C.LambdaCallback(on_batch_end=print, batch_frequency=5).batch_frequency == 5
    with pytest.raises(TypeError, match="on_epoch_end: expected a callable"):
        C.LambdaCallback(on_epoch_end=3)
    with pytest.raises(ValueError, match="alias"):
        C.LambdaCallback(on_batch_end=print, on_train_batch_end=print)


def test_loss_reduction_sum_in_training_and_evaluation():
    # "sum": each batch's loss is the weighted sum over its rows (gradient and reported loss);
    # the epoch's loss is the batches' sums averaged by their sizes, as Keras reports it;
    # evaluate sums over batches of batch_size rows (32 by default, as Keras) the same way
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 4))
    y = rng.normal(size=(50, 2))
    sw = rng.uniform(0.5, 2.0, size=50)

    def make(reduction):
        m = fnn.Sequential([fnn.Input(4), L.Dense(2)], seed=0, dtype="float64")
        m.compile(O.SGD(0.01), Ls.MeanSquaredError(reduction=reduction))
        return m

    mean, summ = make("mean"), make("sum")
    w0 = mean.get_weights()
    lm = mean.train_on_batch(x, y, sample_weight=sw)
    ls = summ.train_on_batch(x, y, sample_weight=sw)
    assert ls == pytest.approx(50 * lm, rel=1e-12)
    for a, b, c in zip(w0, mean.get_weights(), summ.get_weights()):
        np.testing.assert_allclose(c - a, 50 * (b - a), rtol=1e-9)
    # fit: batches of 20, 20, 10 rows; learning rate 0 keeps the weights, so the reported
    # loss is computed by hand from the per-row losses
    m = make("sum")
    m.compile(O.SGD(0.0), Ls.MeanSquaredError(reduction="sum"))
    per_row = np.mean((x @ m.get_weights()[0] + m.get_weights()[1] - y) ** 2, axis=1) * sw
    sums = [per_row[0:20].sum(), per_row[20:40].sum(), per_row[40:].sum()]
    want = (20 * sums[0] + 20 * sums[1] + 10 * sums[2]) / 50
    h = m.fit(x, y, sample_weight=sw, batch_size=20, shuffle=False, verbose=0, validation_data=(x, y, sw))
    assert h.history["loss"][0] == pytest.approx(want, rel=1e-12)
    assert h.history["val_loss"][0] == pytest.approx(want, rel=1e-12)
    assert m.evaluate(x, y, sample_weight=sw, batch_size=20) == pytest.approx(want, rel=1e-12)
    s32 = [per_row[:32].sum(), per_row[32:].sum()]
    assert m.evaluate(x, y, sample_weight=sw) == pytest.approx((32 * s32[0] + 18 * s32[1]) / 50, rel=1e-12)
    with pytest.raises(ValueError, match="reduction='none'"):
        make("none")


def test_metrics_are_unweighted_and_weighted_metrics_weighted(tmp_path):
    # Keras: compile(metrics=...) ignores sample_weight/class_weight; weighted_metrics use them
    # (named with a "weighted_" prefix where an unweighted metric has the same name)
    x, y = _data(60)
    sw = np.linspace(0.1, 3.0, 60)
    m = _mlp(5)
    m.compile(O.SGD(0.0), LOGITS, metrics=["accuracy"], weighted_metrics=["accuracy", "sparse_top_k_categorical_accuracy"])
    hit = (np.argmax(m.predict(x), axis=1) == y).astype(float)
    ev = m.evaluate(x, y, sample_weight=sw, return_dict=True)
    assert ev["accuracy"] == pytest.approx(hit.mean(), rel=1e-12)
    assert ev["weighted_accuracy"] == pytest.approx(np.dot(hit, sw) / sw.sum(), rel=1e-12)
    assert "sparse_top_k_categorical_accuracy" in ev
    cw = {0: 5.0, 1: 1.0, 2: 0.2}
    h = m.fit(x, y, epochs=1, verbose=0, class_weight=cw, validation_data=(x, y, sw))
    w = np.array([cw[k] for k in y])
    assert h.history["accuracy"][0] == pytest.approx(hit.mean(), rel=1e-12)
    assert h.history["weighted_accuracy"][0] == pytest.approx(np.dot(hit, w) / w.sum(), rel=1e-12)
    assert h.history["val_weighted_accuracy"][0] == pytest.approx(ev["weighted_accuracy"], rel=1e-12)
    # saved and loaded with the model
    path = tmp_path / "m.fastnn"
    m.save(path)
    assert fnn.load_model(path).evaluate(x, y, sample_weight=sw, return_dict=True) == pytest.approx(ev)
    # per output, by name
    inp = fnn.Input(6)
    hdn = L.Dense(8, activation="relu")(inp)
    mm = fnn.Model(inp, {"kind": L.Dense(3)(hdn), "value": L.Dense(1)(hdn)}, seed=0)
    mm.compile("sgd", loss={"kind": LOGITS, "value": "mse"}, weighted_metrics={"value": ["mae"]})
    ev = mm.evaluate(x, {"kind": y, "value": x[:, :1]}, sample_weight=sw, return_dict=True)
    err = np.abs(mm.predict(x)["value"][:, 0] - x[:, 0])
    assert ev["value_mae"] == pytest.approx(np.dot(err, sw) / sw.sum(), rel=1e-5)
    with pytest.raises(ValueError, match="weighted_metrics: .*'acuracy'"):
        m.compile("sgd", LOGITS, weighted_metrics=["acuracy"])


def test_callbacks_that_set_the_rate_refuse_a_schedule_before_training():
    x, y = _data(40)
    for callback in (C.ReduceLROnPlateau(monitor="loss"), C.LearningRateScheduler(lambda e, lr: lr * 0.5),
                     C.LearningRateScheduler(lambda e: 0.01)):
        m = _mlp(4)
        m.compile(O.SGD(S.ExponentialDecay(0.1, 10, 0.5)), LOGITS)
        w = m.get_weights()
        with pytest.raises(TypeError, match=r"learning_rate is a schedule \(ExponentialDecay\)"):
            m.fit(x, y, epochs=2, verbose=0, callbacks=[callback])
        assert _same(m.get_weights(), w) and m.optimizer.iterations == 0


@pytest.mark.parametrize("kind", ["softmax", "softmax_node", "sigmoid"])
def test_training_and_evaluation_report_one_loss_for_saturated_outputs(kind):
    # softmax/sigmoid outputs with a cross-entropy on probabilities: training computes the
    # loss from the logits; evaluate and val_loss do too (clipped probabilities would cap a
    # confident miss near 16.1 per row)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4))
    k = 1 if kind == "sigmoid" else 3
    y = (rng.integers(0, 2, (40, 1)) if kind == "sigmoid" else np.eye(3)[rng.integers(0, 3, 40)]).astype(float)
    inp = fnn.Input(4)
    if kind == "softmax_node":
        out = L.Activation("softmax")(L.Dense(k)(inp))
    else:
        out = L.Dense(k, activation=kind)(inp)
    m = fnn.Model(inp, out, seed=0, dtype="float64")
    m.compile(O.SGD(0.0), "binary_crossentropy" if kind == "sigmoid" else "categorical_crossentropy")
    m.set_weights([w * 200 for w in m.get_weights()])  # saturated: logits in the hundreds
    h = m.fit(x, y, batch_size=40, verbose=0, validation_data=(x, y))
    ev = m.evaluate(x, y)
    assert ev > 30  # not capped by the clip
    assert h.history["loss"][0] == pytest.approx(ev, rel=1e-12)
    assert h.history["val_loss"][0] == pytest.approx(ev, rel=1e-12)
    z = x @ m.get_weights()[0] + m.get_weights()[1]
    if kind == "sigmoid":
        want = np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))
    else:
        zs = z - z.max(axis=1, keepdims=True)
        want = np.mean(-np.sum(y * (zs - np.log(np.exp(zs).sum(axis=1, keepdims=True))), axis=1))
    assert ev == pytest.approx(want, rel=1e-12)


def test_batch_callbacks_see_their_own_multiples_of_the_steps_done():
    # chunks end at every multiple of each callback's batch frequency, counted from the
    # start of the call across epochs: a checkpoint every 4 batches saves at steps 4, 8, 12...
    x, y = _data(100)

    class Steps(C.Callback):
        def __init__(self, freq):
            super().__init__()
            self.batch_frequency = freq
            self.seen = []

        def on_train_batch_end(self, batch, logs=None):
            self.seen.append(self.model.optimizer.iterations)

    class Saves(C.ModelCheckpoint):
        def _save(self, epoch, batch, logs):
            self.at.append(self.model.optimizer.iterations)

    for extra in (None, 3):
        m = _mlp(2)
        m.compile(O.SGD(0.01), LOGITS)
        ck = Saves("unused_{epoch}.fnn", save_freq=4)
        ck.at = []
        cbs = [ck] + ([Steps(extra)] if extra else [])
        m.fit(x, y, batch_size=10, epochs=3, verbose=0, callbacks=cbs)  # 10 batches per epoch
        assert ck.at == [4, 8, 12, 16, 20, 24, 28]
        if extra:
            assert {3, 6, 9, 27, 30} <= set(cbs[1].seen) and {4, 8, 10, 20} <= set(cbs[1].seen)


def test_batch_begin_and_test_hooks_run_in_fit():
    x, y = _data(40)
    m = _mlp(1)
    m.compile(O.SGD(0.01), LOGITS, metrics=["accuracy"])
    seen = []

    class Hooks(C.Callback):
        batch_frequency = 1

        def on_train_batch_begin(self, batch, logs=None):
            seen.append(("begin", batch))

        def on_train_batch_end(self, batch, logs=None):
            seen.append(("end", batch))

        def on_test_begin(self, logs=None):
            seen.append("test")

        def on_test_end(self, logs=None):
            seen.append(("tested", sorted(logs)))

    m.fit(x, y, batch_size=20, epochs=1, verbose=0, callbacks=[Hooks()], validation_data=(x, y))
    assert seen == [("begin", 0), ("end", 0), ("begin", 1), ("end", 1), "test", ("tested", ["accuracy", "loss"])]


def test_a_python_layer_failing_in_validation_rolls_the_fit_back():
    class FailsInInference(L.Layer):
        def forward(self, x, training=False):
            if not training:
                raise RuntimeError("no inference")
            return x

        def backward(self, dy):
            return dy

    x, y = _data(40)
    m = fnn.Sequential([fnn.Input(6), FailsInInference(), L.Dense(3)], seed=0, dtype="float64")
    m.compile(O.SGD(0.1), LOGITS)
    w = m.get_weights()
    with pytest.raises(RuntimeError, match="no inference"):
        m.fit(x, y, epochs=2, verbose=0, validation_split=0.25)
    assert _same(m.get_weights(), w) and m.optimizer.iterations == 0


def test_a_cross_entropy_subclass_on_a_softmax_output_evaluates_from_logits():
    class Smoothed(Ls.CategoricalCrossentropy):
        def __init__(self):
            super().__init__(label_smoothing=0.1)

    x, y = _data(40)
    m = fnn.Sequential([fnn.Input(6), L.Dense(3, activation="softmax")], seed=0, dtype="float64")
    m.compile(O.SGD(0.0), Smoothed())
    h = m.fit(x, np.eye(3)[y], batch_size=40, verbose=0, validation_split=0.5)
    assert h.history["val_loss"][0] == pytest.approx(m.evaluate(x[20:], np.eye(3)[y[20:]]), rel=1e-12)
    assert h.history["loss"][0] == pytest.approx(m.evaluate(x[:20], np.eye(3)[y[:20]]), rel=1e-12)


def test_metrics_of_a_diverged_model_are_nan_not_an_error(capsys):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype(np.float32) * 10
    y = (x[:, 0] > 0).astype(np.float32)
    m = fnn.Sequential([fnn.Input(4), L.Dense(16, activation="relu"), L.Dense(1, activation="sigmoid")], seed=0)
    m.compile(O.SGD(1e30), "binary_crossentropy", metrics=["auc"])
    h = m.fit(x, y, epochs=3, batch_size=8, verbose=0, validation_split=0.25, callbacks=[C.TerminateOnNaN()])
    assert np.isnan(h.history["val_loss"][0]) and np.isnan(h.history["val_auc"][0])
    assert "invalid loss" in capsys.readouterr().out


def test_keras_idioms_model_trainable_batch_size_none_and_lambda_frequency():
    x, y = _data(60)
    m = _mlp(4)
    m.compile(O.SGD(0.1), LOGITS)
    w = m.get_weights()
    m.trainable = False  # freezes every layer
    assert not m.trainable and not any(l.trainable for l in m.layers)
    m.fit(x, y, batch_size=None, epochs=1, verbose=0)  # None: 32 rows a batch
    assert _same(m.get_weights(), w)
    m.trainable = True
    with pytest.raises(TypeError, match="trainable"):
        m.trainable = "no"
    steps = []
    lc = C.LambdaCallback(on_train_batch_end=lambda b, logs: steps.append(m.optimizer.iterations), batch_frequency=5)
    other = C.LambdaCallback(on_batch_end=lambda b, logs: None, batch_frequency=3)  # more chunk ends
    m.fit(x, y, batch_size=6, epochs=2, verbose=0, callbacks=[lc, other])  # 10 batches an epoch
    assert [s - steps[0] + 5 for s in steps] == [5, 10, 15, 20]


def test_early_stopping_on_a_per_class_metric_says_so():
    x, y = _data(40)
    m = _mlp(4)
    m.compile(O.SGD(0.1), Ls.CategoricalCrossentropy(from_logits=True), metrics=[fnn.metrics.F1Score()])
    yy = np.eye(3)[y]
    with pytest.raises(ValueError, match="per-class metric"):
        m.fit(x, yy, epochs=2, verbose=0, validation_data=(x, yy), callbacks=[C.EarlyStopping("val_f1_score")])
