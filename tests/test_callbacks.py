"""Callbacks (fastnn.callbacks, fastnn._progress) against a stub model and a stub fit loop.

Oracles are hand-worked traces of the Keras rules, written out in each test, plus an
independent formulation of early stopping checked with hypothesis.
"""
import io
import math
import sys
import types

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastnn import _progress
from fastnn import callbacks as cb


# ----------------------------------------------------------------------------- stubs

class StubOptimizer:
    def __init__(self, lr):
        self._lr = lr

    @property
    def learning_rate(self):
        return self._lr

    @learning_rate.setter
    def learning_rate(self, value):
        self._lr = float(value)


class StubModel:
    """Weights after epoch e are all equal to e + 1 (the fit driver sets them)."""

    def __init__(self, lr=0.1):
        self.stop_training = False
        self.optimizer = StubOptimizer(lr)
        self.weights = [np.zeros(3), np.zeros((2, 2), dtype=np.float32)]
        self.history = None
        self.saved = []

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [np.array(w) for w in weights]

    def save(self, path):
        self.saved.append(path)
        with open(path, "w") as f:
            f.write(f"weights {self.weights[0][0]}")


def fit(callbacks, epoch_logs, model=None, steps=10, batch_size=5, verbose=0,
        batch_losses=None, epochs=None):
    """A stand-in for Model.fit's callback protocol.

    ``epoch_logs[e]`` are the logs of epoch e; batch chunks are reported every
    ``batch_frequency`` batches (and at the epoch's last batch), with a running loss taken
    from ``batch_losses[e][b]`` when given. Returns (model, callback list, lr per epoch).
    """
    model = model or StubModel()
    epochs = len(epoch_logs) if epochs is None else epochs
    params = {"epochs": epochs, "steps": steps, "samples": steps * batch_size,
              "batch_size": batch_size, "verbose": verbose}
    cbl = cb.CallbackList(callbacks, model=model, params=params)
    lrs = []
    cbl.on_train_begin()
    for epoch in range(epochs):
        cbl.on_epoch_begin(epoch)
        lrs.append(model.optimizer.learning_rate)
        freq = cbl.batch_frequency
        if freq:
            first = 0
            while first < steps:
                last = min(first + freq, steps) - 1
                cbl.on_train_batch_begin(first)
                loss = batch_losses[epoch][last] if batch_losses else 1.0 / (1 + last)
                cbl.on_train_batch_end(last, {"batch": last, "size": (last + 1) * batch_size,
                                              "loss": loss})
                first = last + 1
                if model.stop_training:
                    break
        model.weights = [np.full_like(w, epoch + 1) for w in model.weights]
        cbl.on_epoch_end(epoch, dict(epoch_logs[epoch]))
        if model.stop_training:
            break
    cbl.on_train_end()
    return model, cbl, lrs


def val(*values, key="val_loss"):
    return [{"loss": 1.0, key: v} for v in values]


class Spy(cb.Callback):
    def __init__(self, freq=None):
        super().__init__()
        self.calls = []
        self.batch_frequency = freq

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(("begin", epoch, self.model.optimizer.learning_rate))

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(("end", epoch, dict(logs)))

    def on_train_batch_end(self, batch, logs=None):
        self.calls.append(("batch", batch))


# ----------------------------------------------------------------------------- list, history

def test_callback_list_order_and_history_first():
    spy = Spy()
    user_bar = cb.ProgressBar(verbose=0)
    cbl = cb.CallbackList([user_bar, spy], params={"verbose": 2})
    assert isinstance(cbl.callbacks[0], cb.History)
    assert cbl.callbacks[1:] == [spy, user_bar]      # user's bar moved last, none added
    cbl = cb.CallbackList([spy], params={"verbose": 2})
    assert isinstance(cbl.callbacks[-1], cb.ProgressBar) and cbl.callbacks[-1].verbose == 2
    assert len(cb.CallbackList([spy], add_history=False, add_progress=0)) == 1
    assert isinstance(cb.CallbackList([], add_progress=True).callbacks[-1], cb.ProgressBar)


def test_callback_list_batch_frequency_is_smallest():
    assert cb.CallbackList([Spy(), Spy()]).batch_frequency is None
    assert cb.CallbackList([Spy(7), Spy(), Spy(3)]).batch_frequency == 3
    with pytest.raises(ValueError, match="Spy.batch_frequency"):
        cb.CallbackList([Spy(0)]).batch_frequency


def test_callback_list_rejects_non_callbacks():
    with pytest.raises(TypeError, match=r"callbacks\[1\]"):
        cb.CallbackList([Spy(), object()])
    with pytest.raises(TypeError, match="callbacks"):
        cb.CallbackList(Spy())
    with pytest.raises(ValueError, match="add_progress"):
        cb.CallbackList([], add_progress=3)


def test_dispatch_order_and_shared_logs():
    seen = []

    class Adder(cb.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["extra"] = 5.0

    class Reader(cb.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(dict(logs))

    fit([Adder(), Reader()], val(0.5))
    assert seen == [{"loss": 1.0, "val_loss": 0.5, "extra": 5.0}]


def test_history_contents():
    logs = [{"loss": 0.5, "val_loss": 0.7}, {"loss": 0.4, "val_loss": 0.6, "acc": 0.9},
            {"loss": np.float32(0.25)}]
    model, cbl, _ = fit([], logs, steps=4, batch_size=8)
    h = model.history
    assert h is cbl.history and isinstance(h, cb.History)
    assert h.epoch == [0, 1, 2]
    assert h.params == {"epochs": 3, "steps": 4, "samples": 32, "batch_size": 8, "verbose": 0}
    assert h.history["loss"] == [0.5, 0.4, 0.25]
    assert type(h.history["loss"][2]) is float
    np.testing.assert_array_equal(h.history["val_loss"], [0.7, 0.6, np.nan])
    np.testing.assert_array_equal(h.history["acc"], [np.nan, 0.9, np.nan])


def test_history_records_keys_added_by_later_callbacks():
    model, _, _ = fit([cb.ReduceLROnPlateau(patience=100)], val(0.5, 0.4), model=StubModel(0.3))
    assert model.history.history["lr"] == [0.3, 0.3]


# ----------------------------------------------------------------------------- EarlyStopping

def test_early_stopping_patience():
    es = cb.EarlyStopping(patience=2)
    model, _, _ = fit([es], val(1.0, 0.9, 0.95, 0.96, 0.5, 0.4))
    # wait: e0 0, e1 0, e2 1, e3 2 >= patience -> stop at epoch 3
    assert (es.stopped_epoch, es.best, es.best_epoch, es.wait) == (3, 0.9, 1, 2)
    assert model.history.epoch == [0, 1, 2, 3]
    assert model.stop_training


def test_early_stopping_patience_zero_stops_at_first_non_improvement():
    es = cb.EarlyStopping(patience=0)
    model, _, _ = fit([es], val(1.0, 0.8, 0.8, 0.1))
    assert es.stopped_epoch == 2 and model.history.epoch == [0, 1, 2]


def test_early_stopping_min_delta():
    # 0.96 is 0.04 below 1.0: an improvement for min_delta 0.03, not for 0.05.
    es = cb.EarlyStopping(patience=1, min_delta=0.05)
    fit([es], val(1.0, 0.96, 0.95, 0.9))
    assert es.stopped_epoch == 1 and es.best == 1.0
    es = cb.EarlyStopping(patience=1, min_delta=-0.03)          # sign ignored
    fit([es], val(1.0, 0.96, 0.95, 0.9))
    assert es.stopped_epoch == 2 and es.best == 0.96


def test_early_stopping_mode():
    accs = val(0.5, 0.6, 0.55, 0.58, key="val_accuracy")
    for mode in ("auto", "max"):
        es = cb.EarlyStopping(monitor="val_accuracy", patience=1, mode=mode)
        fit([es], accs)
        assert (es.stopped_epoch, es.best, es.best_epoch) == (2, 0.6, 1)
    es = cb.EarlyStopping(monitor="val_accuracy", patience=1, mode="min")
    fit([es], accs)
    assert (es.stopped_epoch, es.best) == (1, 0.5)
    assert cb.EarlyStopping(monitor="val_auc").mode == "max"
    assert cb.EarlyStopping(monitor="val_mse").mode == "min"
    # "auto" reads whole words: a key ending in "loss" is a loss whatever else it holds
    for key, mode in (("val_acceleration_loss", "min"), ("val_decoder2_loss", "min"), ("loss", "min"),
                      ("val_kind_accuracy", "max"), ("f1_score", "max"), ("val_r2", "max"), ("acc", "max"),
                      ("val_weighted_precision", "max"), ("val_value_mae", "min"), ("val_racc_err", "min"),
                      ("score", "min"), ("val_r2_score", "max")):
        assert cb.EarlyStopping(monitor=key).mode == mode, key
        assert cb.ReduceLROnPlateau(monitor=key).mode == mode, key


def test_early_stopping_baseline():
    # Improves every epoch but never beats the baseline: stops after `patience` epochs.
    es = cb.EarlyStopping(patience=2, baseline=0.5)
    fit([es], val(0.8, 0.7, 0.6, 0.55))
    assert (es.stopped_epoch, es.best) == (1, 0.7)
    # Beats the baseline at epoch 1: normal patience from there.
    es = cb.EarlyStopping(patience=2, baseline=0.5)
    fit([es], val(0.8, 0.45, 0.44, 0.6, 0.7, 0.1))
    assert (es.stopped_epoch, es.best, es.best_epoch) == (4, 0.44, 2)


def test_early_stopping_start_from_epoch():
    es = cb.EarlyStopping(patience=0, start_from_epoch=2)
    fit([es], val(0.1, 0.2, 0.9, 0.8, 0.85))
    assert (es.stopped_epoch, es.best, es.best_epoch) == (4, 0.8, 3)


def test_early_stopping_restores_best_on_stop(capsys):
    es = cb.EarlyStopping(patience=1, restore_best_weights=True, verbose=1)
    model, _, _ = fit([es], val(1.0, 0.5, 0.7, 0.2))
    assert es.stopped_epoch == 2
    np.testing.assert_array_equal(model.weights[0], [2.0, 2.0, 2.0])   # end of epoch 1
    assert model.weights[1].dtype == np.float32
    out = capsys.readouterr().out
    assert "Epoch 3: early stopping" in out
    assert "best epoch: 2." in out


def test_early_stopping_restores_best_at_end_without_stop():
    es = cb.EarlyStopping(patience=5, restore_best_weights=True)
    model, _, _ = fit([es], val(1.0, 0.5, 0.7))
    assert es.stopped_epoch == 0 and not model.stop_training
    np.testing.assert_array_equal(model.weights[0], [2.0, 2.0, 2.0])
    model, _, _ = fit([cb.EarlyStopping(patience=5)], val(1.0, 0.5, 0.7))
    np.testing.assert_array_equal(model.weights[0], [3.0, 3.0, 3.0])  # no restore asked


def test_early_stopping_missing_monitor_warns():
    es = cb.EarlyStopping(monitor="val_acc", patience=0)
    with pytest.warns(RuntimeWarning, match=r"'val_acc'.*available keys: loss, val_loss"):
        model, _, _ = fit([es], val(1.0, 2.0, 3.0))
    assert not model.stop_training and model.history.epoch == [0, 1, 2]


def test_early_stopping_nan_never_improves():
    es = cb.EarlyStopping(patience=1)
    fit([es], val(1.0, math.nan, 0.5))
    assert (es.stopped_epoch, es.best) == (1, 1.0)


def test_early_stopping_bad_arguments():
    with pytest.raises(ValueError, match="mode"):
        cb.EarlyStopping(mode="largest")
    with pytest.raises(TypeError, match="patience"):
        cb.EarlyStopping(patience="3")
    with pytest.raises(ValueError, match="patience"):
        cb.EarlyStopping(patience=-1)
    with pytest.raises(TypeError, match="baseline"):
        cb.EarlyStopping(baseline="0.5")


def _reference_stop(values, patience):
    """Stop epoch from the 'epochs since the last strict running minimum' formulation."""
    last_min, best = None, math.inf
    for e, v in enumerate(values):
        if v < best:
            best, last_min = v, e
        since = e - last_min
        if since > 0 and since >= patience and e > 0:
            return e
    return 0


@settings(deadline=None, max_examples=200)
@given(st.lists(st.integers(0, 6), min_size=1, max_size=12), st.integers(0, 4),
       st.booleans())
def test_early_stopping_matches_reference(values, patience, maximize):
    values = [float(v) for v in values]
    es = cb.EarlyStopping(patience=patience, mode="max" if maximize else "min")
    fit([es], val(*[-v if maximize else v for v in values]))
    assert es.stopped_epoch == _reference_stop(values, patience)


# ----------------------------------------------------------------------------- ModelCheckpoint

def test_checkpoint_best_only_weights(tmp_path):
    path = str(tmp_path / "sub" / "w-{epoch:02d}-{val_loss:.4f}.npz")
    ck = cb.ModelCheckpoint(path, save_best_only=True, save_weights_only=True)
    fit([ck], val(0.5, 0.6, 0.4, 0.4))
    files = sorted(p.name for p in (tmp_path / "sub").iterdir())
    assert files == ["w-01-0.5000.npz", "w-03-0.4000.npz"]
    assert ck.best == 0.4
    with np.load(tmp_path / "sub" / "w-03-0.4000.npz", allow_pickle=False) as z:
        assert z.files == ["arr_0", "arr_1"]
        np.testing.assert_array_equal(z["arr_0"], np.full(3, 3.0))
        assert z["arr_1"].dtype == np.float32 and z["arr_1"].shape == (2, 2)


def test_checkpoint_full_model_every_epoch(tmp_path, capsys):
    ck = cb.ModelCheckpoint(tmp_path / "m-{epoch}.fastnn", verbose=1)
    model, _, _ = fit([ck], val(0.5, 0.6))
    assert model.saved == [str(tmp_path / "m-1.fastnn"), str(tmp_path / "m-2.fastnn")]
    assert (tmp_path / "m-2.fastnn").read_text() == "weights 2.0"
    assert "Epoch 2: saving model to" in capsys.readouterr().out


def test_checkpoint_fixed_name_keeps_best(tmp_path):
    path = tmp_path / "best.npz"
    ck = cb.ModelCheckpoint(path, monitor="val_accuracy", save_best_only=True,
                            save_weights_only=True)
    fit([ck], val(0.7, 0.9, 0.8, key="val_accuracy"))
    with np.load(path, allow_pickle=False) as z:
        np.testing.assert_array_equal(z["arr_0"], np.full(3, 2.0))
    assert [p.name for p in tmp_path.iterdir()] == ["best.npz"]      # no temporary left


def test_checkpoint_initial_value_threshold(tmp_path):
    ck = cb.ModelCheckpoint(tmp_path / "{epoch}.npz", save_best_only=True,
                            save_weights_only=True, initial_value_threshold=0.4)
    fit([ck], val(0.5, 0.3, 0.35))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2.npz"]


def test_checkpoint_save_freq_batches(tmp_path):
    ck = cb.ModelCheckpoint(tmp_path / "{epoch}-{batch}.npz", save_weights_only=True,
                            save_freq=4)
    assert ck.batch_frequency == 4
    fit([ck], val(0.5, 0.5), steps=10)
    # chunks end at batches 3, 7, 9 each epoch; counts since the last save carry over:
    # e1: 4 -> save b4, 4 -> save b8, 2; e2: 2+4 -> save b4, 4 -> save b8, 2.
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["1-4.npz", "1-8.npz", "2-4.npz", "2-8.npz"]


def test_checkpoint_errors(tmp_path):
    ck = cb.ModelCheckpoint(str(tmp_path / "{epoch}-{val_acc}.npz"))
    with pytest.raises(KeyError, match="val_acc"):
        fit([ck], val(0.5))
    with pytest.raises(ValueError, match="save_freq"):
        cb.ModelCheckpoint("x", save_freq="batch")
    with pytest.raises(ValueError, match="save_freq"):
        cb.ModelCheckpoint("x", save_freq=0)
    with pytest.raises(TypeError, match="filepath"):
        cb.ModelCheckpoint(3)
    model = StubModel()
    model.get_weights = lambda: [np.array([{"a": 1}], dtype=object)]
    ck = cb.ModelCheckpoint(str(tmp_path / "o.npz"), save_weights_only=True)
    with pytest.raises(TypeError, match=r"weights\[0\].*object"):
        fit([ck], val(0.5), model=model)


def test_checkpoint_best_only_missing_monitor_warns(tmp_path):
    ck = cb.ModelCheckpoint(tmp_path / "x.npz", save_best_only=True, save_weights_only=True)
    with pytest.warns(RuntimeWarning, match="val_loss"):
        fit([ck], [{"loss": 0.3}])
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- learning rate

def test_reduce_lr_cooldown_and_min_lr():
    rl = cb.ReduceLROnPlateau(factor=0.5, patience=1, cooldown=2, min_lr=0.2)
    model, _, lrs = fit([rl], val(*[1.0] * 8), model=StubModel(1.0))
    # e1 reduce to .5 (cooldown 2); e2 cooling; e3 reduce to .25; e5 reduce to max(.125, .2);
    # e7 would reduce but lr is already min_lr.
    assert lrs == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.2, 0.2]
    assert model.history.history["lr"] == lrs
    assert model.optimizer.learning_rate == 0.2


def test_reduce_lr_patience_and_min_delta(capsys):
    rl = cb.ReduceLROnPlateau(factor=0.1, patience=2, min_delta=0.01, verbose=1)
    _, _, lrs = fit([rl], val(1.0, 0.995, 0.99, 0.5, 0.499), model=StubModel(1.0))
    # e1 .995 and e2 .99 are within min_delta of 1.0: wait 1, 2 -> reduce after e2;
    # e3 improves; e4 waits 1.
    np.testing.assert_allclose(lrs, [1.0, 1.0, 1.0, 0.1, 0.1])
    assert "Epoch 3: ReduceLROnPlateau reducing learning rate to 0.1." in capsys.readouterr().out


def test_reduce_lr_mode_max_and_bad_args():
    rl = cb.ReduceLROnPlateau(monitor="val_accuracy", factor=0.5, patience=1)
    _, _, lrs = fit([rl], val(0.5, 0.6, 0.55, 0.7, key="val_accuracy"), model=StubModel(1.0))
    assert lrs == [1.0, 1.0, 1.0, 0.5]
    with pytest.raises(ValueError, match="factor"):
        cb.ReduceLROnPlateau(factor=1.0)
    with pytest.raises(ValueError, match="min_lr"):
        cb.ReduceLROnPlateau(min_lr=-1)


def test_scheduler_two_argument_schedule(capsys):
    sched = cb.LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch else lr, verbose=1)
    model, _, lrs = fit([sched], val(1, 1, 1), model=StubModel(0.8))
    assert lrs == [0.8, 0.4, 0.2]
    assert model.history.history["lr"] == [0.8, 0.4, 0.2]
    assert "Epoch 2: LearningRateScheduler setting learning rate to 0.4." in capsys.readouterr().out


def test_scheduler_one_argument_schedule_and_objects():
    def inverse(epoch):
        return 0.1 / (1 + epoch)

    _, _, lrs = fit([cb.LearningRateScheduler(inverse)], val(1, 1, 1))
    np.testing.assert_allclose(lrs, [0.1, 0.05, 0.1 / 3])

    class Halving:
        def __call__(self, epoch, lr):
            return lr / 2

    _, _, lrs = fit([cb.LearningRateScheduler(Halving())], val(1, 1), model=StubModel(1.0))
    assert lrs == [0.5, 0.25]

    class EpochSchedule:
        unit = "epoch"

        def __call__(self, step):
            return 1.0 / (step + 1)

    _, _, lrs = fit([cb.LearningRateScheduler(EpochSchedule())], val(1, 1, 1, 1))
    np.testing.assert_allclose(lrs, [1.0, 0.5, 1 / 3, 0.25])
    _, _, lrs = fit([cb.LearningRateScheduler(lambda e: np.float32(0.5))], val(1))
    assert lrs == [0.5] and type(lrs[0]) is float


def test_scheduler_bad_input():
    class StepSchedule:
        unit = "step"

        def __call__(self, step):
            return 0.1

    with pytest.raises(ValueError, match="unit='step'"):
        cb.LearningRateScheduler(StepSchedule())
    with pytest.raises(TypeError, match="schedule"):
        cb.LearningRateScheduler(0.1)
    with pytest.raises(ValueError, match="epoch 0"):
        fit([cb.LearningRateScheduler(lambda e: -1.0)], val(1))
    with pytest.raises(ValueError, match="None"):
        fit([cb.LearningRateScheduler(lambda e: None)], val(1))


# ----------------------------------------------------------------------------- CSVLogger

def test_csv_logger_contents(tmp_path):
    path = tmp_path / "log.csv"

    class Check(cb.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:     # flushed after each epoch: epoch 0 already on disk
                self.seen = path.read_text()

    check = Check()
    logs = [{"val_loss": 0.5, "loss": 0.25, "accuracy": 0.75},
            {"val_loss": 0.4, "loss": 0.125, "accuracy": 1}]
    fit([cb.CSVLogger(path), check], logs)
    assert path.read_text() == ("epoch,accuracy,loss,val_loss\n"
                                "0,0.75,0.25,0.5\n"
                                "1,1,0.125,0.4\n")
    assert check.seen == "epoch,accuracy,loss,val_loss\n0,0.75,0.25,0.5\n"


def test_csv_logger_late_and_missing_keys(tmp_path):
    path = tmp_path / "log.csv"
    logs = [{"loss": 0.5}, {"loss": 0.25, "val_loss": 0.75}, {"val_loss": 1.5}]
    fit([cb.CSVLogger(path, separator=";")], logs)
    assert path.read_text() == ("epoch;loss;val_loss\n"
                                "0;0.5;NA\n"
                                "1;0.25;0.75\n"
                                "2;NA;1.5\n")


def test_csv_logger_append(tmp_path):
    path = tmp_path / "log.csv"
    fit([cb.CSVLogger(path)], [{"loss": 0.5}])
    fit([cb.CSVLogger(path, append=True)], [{"loss": 0.25}])
    assert path.read_text() == "epoch,loss\n0,0.5\n0,0.25\n"
    fit([cb.CSVLogger(path)], [{"loss": 2.0}])
    assert path.read_text() == "epoch,loss\n0,2.0\n"
    with pytest.raises(ValueError, match="separator"):
        cb.CSVLogger(path, separator=", ")


# ----------------------------------------------------------------------------- TerminateOnNaN

def test_terminate_on_nan_at_chunk_end(capsys):
    t = cb.TerminateOnNaN()
    chunks = Spy(freq=3)
    losses = [[0.5] * 10, [0.5] * 5 + [math.nan] * 5]
    model, _, _ = fit([t, chunks], val(1.0, 1.0, 1.0), steps=10, batch_losses=losses)
    # chunks end at batches 2, 5, 8, 9: the NaN running loss shows at batch 5 of epoch 1.
    assert t.terminated_at == (1, 5) and model.stop_training
    assert model.history.epoch == [0, 1]
    assert ("batch", 8) not in chunks.calls[chunks.calls.index(("begin", 1, 0.1)):]
    assert capsys.readouterr().out == "Epoch 2, Batch 5: invalid loss, terminating training\n"


def test_terminate_on_nan_uses_engine_nan_batch(capsys):
    t = cb.TerminateOnNaN()
    logs = [{"loss": 0.5}, {"loss": 0.4}, {"loss": math.inf, "nan_batch": 7}, {"loss": 0.1}]
    model, _, _ = fit([t], logs)
    assert t.terminated_at == (2, 7)
    assert model.history.epoch == [0, 1, 2]
    assert "Epoch 3, Batch 7: invalid loss, terminating training" in capsys.readouterr().out


def test_terminate_on_nan_epoch_loss_without_index():
    t = cb.TerminateOnNaN()
    model, _, _ = fit([t], [{"loss": 0.5}, {"loss": -math.inf}], steps=4)
    assert t.terminated_at == (1, 3)
    t = cb.TerminateOnNaN()
    model, _, _ = fit([t], [{"loss": 0.5}, {"loss": 0.25, "val_loss": math.nan}])
    assert t.terminated_at is None and not model.stop_training


# ----------------------------------------------------------------------------- ProgressBar

class Clock:
    def __init__(self, step):
        self.t, self.step = 0.0, step

    def __call__(self):
        self.t += self.step
        return self.t


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def clock(monkeypatch):
    c = Clock(0.2)   # each reading advances 0.2 s
    monkeypatch.setattr(_progress, "_now", c)
    return c


def test_progress_line_per_epoch_when_not_a_terminal(clock):
    out = io.StringIO()
    bar = cb.ProgressBar(verbose=1, file=out)
    logs = [{"accuracy": 0.97, "lr": 1e-4, "val_loss": 0.15, "loss": 0.1234,
             "val_accuracy": 0.9612, "grad_norm": 12345678.0}] * 2
    fit([bar], logs, steps=10, batch_size=3)
    assert bar.batch_frequency is None
    # epoch time = one clock step (0.2 s); 30 samples / 0.2 s = 150 samples/s
    line = ("Epoch {}/2 - 0.20s - 150 samples/s - loss: 0.1234 - accuracy: 0.9700 - "
            "grad_norm: 1.2346e+07 - val_loss: 0.1500 - val_accuracy: 0.9612 - lr: 1.0000e-04")
    assert out.getvalue() == line.format(1) + "\n" + line.format(2) + "\n"


def test_progress_verbose_2_and_0(clock):
    out = Terminal()
    bar = cb.ProgressBar(verbose=2, file=out)
    fit([bar], [{"loss": 2.0, "nan_batch": 3, "note": "x"}], steps=4, batch_size=25)
    assert bar.batch_frequency is None
    assert out.getvalue() == "Epoch 1/1 - 0.20s - 500 samples/s - loss: 2.0000\n"
    out = Terminal()
    fit([cb.ProgressBar(verbose=0, file=out)], [{"loss": 2.0}])
    assert out.getvalue() == ""


def test_progress_verbose_from_params(clock, capsys):
    fit([], [{"loss": 0.5}], verbose=2, steps=2, batch_size=1)
    assert capsys.readouterr().out == "Epoch 1/1 - 0.20s - 10 samples/s - loss: 0.5000\n"


def test_progress_plain_live_bar_on_terminal(clock, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)     # tqdm not importable
    out = Terminal()
    bar = cb.ProgressBar(verbose=1, file=out, update_every=5)
    bar.set_params({"steps": 10})
    assert bar.batch_frequency == 5
    fit([bar], [{"loss": 0.5, "val_loss": 0.25}], steps=10, batch_size=10)
    text = out.getvalue()
    frames = text.split("\r")[1:]
    # batch 4 after one clock step: 50 samples in 0.2 s, 50 left -> ETA 0.2 s
    assert frames[0] == ("Epoch 1/1 [===============>              ] 50/100 - ETA: 0.20s - "
                         "250 samples/s - loss: 0.2000")
    assert frames[1].startswith("Epoch 1/1 [==============================] 100/100 - ETA: ")
    # clock reads: epoch begin, two chunks, epoch end -> 0.6 s, 100 / 0.6 = 167 samples/s
    assert frames[2].startswith("Epoch 1/1 - 0.60s - 167 samples/s - loss: 0.5000 - "
                                "val_loss: 0.2500")
    assert frames[2].endswith("\n") and text.count("\n") == 1
    auto = cb.ProgressBar(verbose=1, file=out)
    auto.set_params({"steps": 100})
    assert auto.batch_frequency == 4                   # about 25 updates per epoch


def test_progress_uses_tqdm_on_terminal_when_installed(clock, monkeypatch):
    made = []

    class FakeTqdm:
        def __init__(self, **kw):
            self.kw, self.n, self.postfix, self.closed = kw, 0, None, False
            made.append(self)

        def update(self, n):
            self.n += n

        def set_postfix_str(self, s, refresh=True):
            self.postfix = s

        def close(self):
            self.closed = True

    monkeypatch.setitem(sys.modules, "tqdm", types.SimpleNamespace(tqdm=FakeTqdm))
    out = Terminal()
    fit([cb.ProgressBar(file=out, update_every=4)], val(0.5, 0.25), steps=10, batch_size=2)
    assert len(made) == 2 and all(b.closed and b.n == 20 for b in made)
    assert made[1].kw["desc"] == "Epoch 2/2" and made[1].kw["total"] == 20
    assert made[1].postfix == "loss: 1.0000 - val_loss: 0.2500"
    assert out.getvalue() == ""                       # all drawing is tqdm's


def test_progress_formatting_and_bad_args():
    assert _progress._fmt_time(0.414) == "0.41s"
    assert _progress._fmt_time(12.34) == "12.3s"
    assert _progress._fmt_time(125) == "2m05s"
    assert _progress._fmt_time(3725) == "1h02m"
    assert _progress._fmt_value(3) == "3"
    assert _progress._fmt_value(0.0) == "0.0000"
    assert _progress._fmt_value(math.nan) == "nan"
    assert _progress._fmt_value(2e-5) == "2.0000e-05"
    with pytest.raises(ValueError, match="verbose"):
        cb.ProgressBar(verbose=3)
    with pytest.raises(TypeError, match="file"):
        cb.ProgressBar(file="out.txt")
    with pytest.raises(ValueError, match="update_every"):
        cb.ProgressBar(update_every="often")
