"""Keras-style callbacks for :meth:`fastnn.Model.fit`.

The native engine trains a whole epoch per call, or a chunk of batches when some callback
asks for it, so the batch hooks run only at chunk boundaries: ``on_train_batch_end`` gets
``{"batch": index of the last batch done, "size": samples done so far this epoch,
"loss": running mean loss, <running metrics>}``. A callback that wants such calls sets
``batch_frequency`` (batches between calls; ``None``, the default, means epoch hooks only).
Epoch-end logs hold ``loss``, the metrics, ``val_loss``/``val_<metric>``, ``lr`` (the
optimizer's current rate: a per-epoch schedule's rate of the epoch; a per-batch
schedule's rate of the next step, as Keras logs it) and optional diagnostics (``grad_norm``); any logs may hold ``nan_batch``, the index of the
first batch of the epoch whose loss was NaN or infinite.

Epochs in hook arguments are 0-based; messages and file names count from 1, like Keras.
"""
from __future__ import annotations

import csv
import inspect
import math
import numbers
import os

import numpy as np

__all__ = ["Callback", "CallbackList", "History", "EarlyStopping", "ModelCheckpoint",
           "ReduceLROnPlateau", "LearningRateScheduler", "CSVLogger", "TerminateOnNaN", "LambdaCallback",
           "ProgressBar"]


def __getattr__(name):
    # ProgressBar lives in _progress.py, which imports Callback from here: load it lazily.
    if name == "ProgressBar":
        from fastnn._progress import ProgressBar
        return ProgressBar
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | {"ProgressBar"})


from fastnn._callback_base import (  # noqa: F401  (Callback, History, CallbackList are public here)
    _check_int, _check_real, _check_str, _resolve_mode, _improves, _monitor_value, _get_lr, _check_settable_lr, Callback,
    History, CallbackList)


# ----------------------------------------------------------------------------- monitors

class EarlyStopping(Callback):
    """Stop training when a monitored quantity has stopped improving.

    Parameters
    ----------
    monitor : str, default "val_loss"
        Log key to watch.
    min_delta : float, default 0
        Smallest change that counts as an improvement (its absolute value is used).
    patience : int, default 0
        Epochs without improvement after which training stops.
    verbose : int, default 0
        1 prints a message on stopping and on restoring weights.
    mode : {"auto", "min", "max"}, default "auto"
        Whether smaller or larger is better; "auto" picks "max" when the name holds
        acc, auc, precision, recall, f1, fmeasure or r2, else "min".
    baseline : float, optional
        Value to reach: an epoch resets the patience count only if it improves on the
        best value *and* beats ``baseline``, so training stops after ``patience`` epochs
        that do not reach it.
    restore_best_weights : bool, default False
        Restore the weights of the best epoch when training ends.
    start_from_epoch : int, default 0
        Epochs to ignore (warm-up) before monitoring starts.

    Attributes
    ----------
    stopped_epoch : int
        Epoch (0-based) at which training was stopped; 0 if it was not.
    best : float
        Best monitored value seen.
    best_epoch : int
        Epoch (0-based) of ``best``.
    wait : int
        Epochs since the last improvement.

    Notes
    -----
    Deliberate difference from tf.keras: with ``restore_best_weights=True`` the best
    weights are restored in ``on_train_end`` whether training stopped early *or* ran all
    its epochs (tf.keras restores only on an early stop). A monitored key missing from
    the logs gives a warning listing the available keys; a NaN value never improves.
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        self.monitor = _check_str("monitor", monitor)
        self.min_delta = abs(_check_real("min_delta", min_delta))
        self.patience = _check_int("patience", patience)
        self.verbose = _check_int("verbose", verbose)
        self.mode = _resolve_mode(mode, monitor)
        self.baseline = None if baseline is None else _check_real("baseline", baseline)
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = _check_int("start_from_epoch", start_from_epoch)
        self.on_train_begin()

    def on_train_begin(self, logs=None):
        """Reset the state."""
        self.wait = 0
        self.stopped_epoch = 0
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = 0
        self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        """Update the best value and stop once patience is exhausted."""
        if epoch < self.start_from_epoch:
            return
        current = _monitor_value(logs, self.monitor, "EarlyStopping")
        if current is None:
            return
        self.wait += 1
        if _improves(self.mode, current, self.best, self.min_delta):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or _improves(self.mode, current, self.baseline,
                                                  self.min_delta):
                self.wait = 0
        if self.wait and self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        """Report the stop and restore the best weights (see Notes)."""
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class ModelCheckpoint(Callback):
    """Save the model or its weights, every epoch, every N batches, or on improvement.

    Parameters
    ----------
    filepath : str or os.PathLike
        Target path; may hold :meth:`str.format` fields ``{epoch}`` (1-based), ``{batch}``
        (1-based, with an integer ``save_freq``) and log keys, e.g.
        ``"ckpt-{epoch:02d}-{val_loss:.4f}.npz"``. Missing folders are created.
    monitor : str, default "val_loss"
        Log key compared when ``save_best_only``.
    verbose : int, default 0
        1 prints a message on each save (and on each non-improvement).
    save_best_only : bool, default False
        Save only when ``monitor`` improves on the best value so far.
    save_weights_only : bool, default False
        Save ``model.get_weights()`` with :func:`numpy.savez` (arrays ``arr_0``,
        ``arr_1``, ... in order; no pickled objects, read back with
        ``np.load(path, allow_pickle=False)``), written exactly at ``filepath`` (no
        ``.npz`` suffix is added). Otherwise call ``model.save(path)``.
    mode : {"auto", "min", "max"}, default "auto"
        Direction of improvement (see :class:`EarlyStopping`).
    save_freq : "epoch" or int, default "epoch"
        Save at each epoch end, or every ``save_freq`` batches (then the engine runs
        chunks of at most that many batches).
    initial_value_threshold : float, optional
        Initial best value: with ``save_best_only``, nothing is saved until it is beaten.

    Attributes
    ----------
    best : float
        Best monitored value seen.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__()
        if not isinstance(filepath, (str, os.PathLike)):
            raise TypeError(f"filepath: expected a str or path, got {type(filepath).__name__}")
        self.filepath = os.fspath(filepath)
        self.monitor = _check_str("monitor", monitor)
        self.verbose = _check_int("verbose", verbose)
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        self.mode = _resolve_mode(mode, monitor)
        if isinstance(save_freq, str):
            if save_freq != "epoch":
                raise ValueError(f"save_freq: expected 'epoch' or an int >= 1, "
                                 f"got {save_freq!r}")
        else:
            save_freq = _check_int("save_freq", save_freq, low=1)
        self.save_freq = save_freq
        self.initial_value_threshold = (None if initial_value_threshold is None else
                                        _check_real("initial_value_threshold",
                                                    initial_value_threshold))
        self.on_train_begin()

    @property
    def batch_frequency(self):
        """``save_freq`` when it counts batches, else None."""
        return None if self.save_freq == "epoch" else self.save_freq

    def on_train_begin(self, logs=None):
        """Reset the best value and the batch counter."""
        self.best = self.initial_value_threshold
        if self.best is None:
            self.best = math.inf if self.mode == "min" else -math.inf
        self._since_save = 0
        self._epoch = 0
        self._done_in_epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        """Note the epoch for batch-frequency saving."""
        self._epoch = epoch
        self._done_in_epoch = 0

    def on_train_batch_end(self, batch, logs=None):
        """Save every ``save_freq`` batches (when ``save_freq`` is an int)."""
        if self.save_freq == "epoch":
            return
        self._since_save += batch + 1 - self._done_in_epoch
        self._done_in_epoch = batch + 1
        if self._since_save >= self.save_freq:
            self._since_save = 0
            self._save(self._epoch, batch, logs or {})

    def on_epoch_end(self, epoch, logs=None):
        """Save at the epoch end (when ``save_freq == "epoch"``)."""
        if self.save_freq == "epoch":
            self._save(epoch, None, logs or {})

    def _path(self, epoch, batch, logs):
        fields = dict(logs)
        fields["epoch"] = epoch + 1
        if batch is not None:
            fields["batch"] = batch + 1
        try:
            return self.filepath.format(**fields)
        except (KeyError, IndexError, ValueError) as e:
            raise KeyError(f"ModelCheckpoint: cannot format filepath {self.filepath!r} with "
                           f"keys {sorted(fields)}: {e!r}") from None

    def _save(self, epoch, batch, logs):
        path = self._path(epoch, batch, logs)
        if self.save_best_only:
            current = _monitor_value(logs, self.monitor, "ModelCheckpoint")
            if current is None:
                return
            if not _improves(self.mode, current, self.best):
                if self.verbose > 0:
                    print(f"Epoch {epoch + 1}: {self.monitor} did not improve from "
                          f"{self.best:.5f}")
                return
            if self.verbose > 0:
                print(f"Epoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} "
                      f"to {current:.5f}, saving model to {path}")
            self.best = current
        elif self.verbose > 0:
            print(f"Epoch {epoch + 1}: saving model to {path}")
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            _save_weights(self.model.get_weights(), path)
        else:
            self.model.save(path)


def _save_weights(weights, path):
    arrays = []
    for i, w in enumerate(weights):
        a = np.asarray(w)
        if a.dtype.hasobject:
            raise TypeError(f"weights[{i}]: expected a numeric array, got dtype {a.dtype}")
        arrays.append(a)
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            np.savez(f, *arrays)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when a monitored quantity stalls.

    Parameters
    ----------
    monitor : str, default "val_loss"
        Log key to watch.
    factor : float, default 0.1
        Factor in (0, 1) applied to the learning rate.
    patience : int, default 10
        Epochs without improvement before the rate is reduced.
    verbose : int, default 0
        1 prints a message on each reduction.
    mode : {"auto", "min", "max"}, default "auto"
        Direction of improvement (see :class:`EarlyStopping`).
    min_delta : float, default 1e-4
        Smallest change that counts as an improvement.
    cooldown : int, default 0
        Epochs to wait after a reduction before counting patience again.
    min_lr : float, default 0.0
        Lower bound on the learning rate.

    Notes
    -----
    Sets ``logs["lr"]`` to the learning rate used during the epoch (before any
    reduction); the new rate applies from the next step.
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0):
        super().__init__()
        self.monitor = _check_str("monitor", monitor)
        self.factor = _check_real("factor", factor)
        if not 0.0 < self.factor < 1.0:
            raise ValueError(f"factor: must be in (0, 1), got {self.factor}")
        self.patience = _check_int("patience", patience)
        self.verbose = _check_int("verbose", verbose)
        self.mode = _resolve_mode(mode, monitor)
        self.min_delta = abs(_check_real("min_delta", min_delta))
        self.cooldown = _check_int("cooldown", cooldown)
        self.min_lr = _check_real("min_lr", min_lr, low=0.0)
        self.on_train_begin()

    def on_train_begin(self, logs=None):
        """Reset the best value and the counters (and check the rate can be set)."""
        if self.model is not None:
            _check_settable_lr(self.model, "ReduceLROnPlateau")
        self.best = math.inf if self.mode == "min" else -math.inf
        self.wait = 0
        self.cooldown_counter = 0

    def on_epoch_end(self, epoch, logs=None):
        """Record ``lr``; count stalled epochs and reduce the rate when due."""
        logs = {} if logs is None else logs
        lr = _get_lr(self.model)
        logs["lr"] = lr
        current = _monitor_value(logs, self.monitor, "ReduceLROnPlateau")
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if _improves(self.mode, current, self.best, self.min_delta):
            self.best = current
            self.wait = 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            if self.wait >= self.patience and lr > self.min_lr * (1 + 1e-6):
                new_lr = max(lr * self.factor, self.min_lr)
                self.model.optimizer.learning_rate = new_lr
                if self.verbose > 0:
                    print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                          f"to {new_lr:.4g}.")
                self.cooldown_counter = self.cooldown
                self.wait = 0


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of every epoch from a schedule.

    Parameters
    ----------
    schedule : callable
        ``schedule(epoch, lr) -> new_lr`` or ``schedule(epoch) -> new_lr`` (told apart by
        its signature; ``epoch`` is 0-based), or a schedule object whose ``unit`` is
        ``"epoch"``, called as ``schedule(epoch)``.
    verbose : int, default 0
        1 prints the rate set at each epoch.

    Notes
    -----
    Sets ``logs["lr"]`` at each epoch end. A schedule object counting steps
    (``unit != "epoch"``) belongs to the optimizer and raises ValueError here.
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"schedule: expected a callable, got {type(schedule).__name__}")
        unit = getattr(schedule, "unit", None)
        if unit is not None and unit != "epoch":
            raise ValueError(f"schedule: a schedule with unit={unit!r} is applied per step; "
                             "pass it to the optimizer as learning_rate instead")
        self.schedule = schedule
        self.verbose = _check_int("verbose", verbose)
        self._two_args = unit is None and _takes_two_args(schedule)

    def on_train_begin(self, logs=None):
        """Check that the optimizer's rate can be set."""
        _check_settable_lr(self.model, "LearningRateScheduler")

    def on_epoch_begin(self, epoch, logs=None):
        """Set ``model.optimizer.learning_rate`` to the schedule's value."""
        if self._two_args:
            lr = self.schedule(epoch, _get_lr(self.model))
        else:
            lr = self.schedule(epoch)
        if isinstance(lr, np.ndarray) and lr.ndim == 0:
            lr = lr[()]
        if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not lr >= 0:
            raise ValueError(f"schedule: must return a real number >= 0, got {lr!r} at "
                             f"epoch {epoch}")
        self.model.optimizer.learning_rate = float(lr)
        if self.verbose > 0:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                  f"{float(lr):.4g}.")

    def on_epoch_end(self, epoch, logs=None):
        """Record ``lr``."""
        if logs is not None:
            logs["lr"] = _get_lr(self.model)


def _takes_two_args(fn):
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    positional = 0
    for p in params:
        if p.kind == p.VAR_POSITIONAL:
            return True
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            positional += 1
    return positional >= 2


# ----------------------------------------------------------------------------- logging

class CSVLogger(Callback):
    """Write the epoch logs to a CSV file, one row per epoch.

    Parameters
    ----------
    filename : str or os.PathLike
        The CSV file.
    separator : str, default ","
        Field separator (one character).
    append : bool, default False
        Append to an existing file (keeping its header) instead of overwriting it.

    Notes
    -----
    Columns: ``epoch`` (0-based, like Keras) then the first epoch's log keys, sorted.
    The file is flushed every epoch. A key first seen in a later epoch adds a column: the
    file is rewritten with the wider header and ``NA`` in earlier rows (Keras drops such
    keys); a key missing from an epoch's logs is written as ``NA``.
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        if not isinstance(filename, (str, os.PathLike)):
            raise TypeError(f"filename: expected a str or path, got {type(filename).__name__}")
        self.filename = os.fspath(filename)
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(f"separator: expected a one-character str, got {separator!r}")
        self.sep = separator
        self.append = bool(append)
        self.keys = None
        self._file = None
        self._rows = []

    def on_train_begin(self, logs=None):
        """Open the file (reading back an existing one when appending)."""
        self.keys, self._rows = None, []
        if self.append and os.path.isfile(self.filename):
            with open(self.filename, newline="") as f:
                table = list(csv.reader(f, delimiter=self.sep))
            if table and table[0]:
                self.keys = table[0][1:]
                self._rows = [dict(zip(table[0], row)) for row in table[1:]]
        self._file = open(self.filename, "a" if self.append else "w", newline="")

    def _writer(self):
        return csv.writer(self._file, delimiter=self.sep, lineterminator="\n")

    def on_epoch_end(self, epoch, logs=None):
        """Write one row and flush."""
        logs = logs or {}
        row = {"epoch": str(epoch)}
        row.update((k, _csv_value(v)) for k, v in logs.items())
        self._rows.append(row)
        if self.keys is None:
            self.keys = sorted(logs)
            self._writer().writerow(["epoch"] + self.keys)
        new = sorted(k for k in logs if k not in self.keys)
        if new:
            self.keys = self.keys + new
            self._file.close()
            self._file = open(self.filename, "w", newline="")
            self._writer().writerow(["epoch"] + self.keys)
            for r in self._rows:
                self._writer().writerow([r.get(k, "NA") for k in ["epoch"] + self.keys])
        else:
            self._writer().writerow([row.get(k, "NA") for k in ["epoch"] + self.keys])
        self._file.flush()

    def on_train_end(self, logs=None):
        """Close the file."""
        if self._file is not None:
            self._file.close()
            self._file = None


def _csv_value(v):
    if isinstance(v, str):
        return v
    if isinstance(v, (list, tuple, np.ndarray)) and np.ndim(v) > 0:
        return "[" + " ".join(str(x) for x in np.ravel(v)) + "]"
    return str(v)


class TerminateOnNaN(Callback):
    """Stop training as soon as the loss becomes NaN or infinite.

    Checked at every batch-chunk end and epoch end: the loss, or a ``nan_batch`` entry
    (the engine's index of the first bad batch of the epoch). Prints
    ``"Epoch E, Batch B: invalid loss, terminating training"`` (E 1-based, B the 0-based
    batch index) and sets ``model.stop_training``.

    Attributes
    ----------
    terminated_at : tuple of (int, int or None) or None
        ``(epoch, batch)`` (both 0-based) where training was terminated, else None.

    Notes
    -----
    This callback needs no batch chunks: without them it acts at the end of the epoch in
    which the engine saw the bad batch.
    """

    def __init__(self):
        super().__init__()
        self.terminated_at = None
        self._epoch = 0

    def on_train_begin(self, logs=None):
        """Reset :attr:`terminated_at`."""
        self.terminated_at = None

    def on_epoch_begin(self, epoch, logs=None):
        """Note the epoch."""
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        """Check the running loss of the chunk."""
        self._check(self._epoch, batch, logs or {})

    def on_epoch_end(self, epoch, logs=None):
        """Check the epoch loss."""
        logs = logs or {}
        batch = logs.get("batch")
        if batch is None:
            steps = (self.params or {}).get("steps")
            batch = steps - 1 if steps else None
        self._check(epoch, batch, logs)

    def _check(self, epoch, batch, logs):
        if self.terminated_at is not None:
            return
        nan_batch = logs.get("nan_batch")
        if nan_batch is not None and nan_batch >= 0:
            batch = int(nan_batch)
        else:
            loss = logs.get("loss")
            if loss is None or np.all(np.isfinite(loss)):
                return
        self.terminated_at = (epoch, batch)
        where = "?" if batch is None else batch
        print(f"Epoch {epoch + 1}, Batch {where}: invalid loss, terminating training")
        self.model.stop_training = True


class LambdaCallback(Callback):
    """A callback made of plain functions, as Keras' ``LambdaCallback``.

    Parameters
    ----------
    on_epoch_begin, on_epoch_end : callable ``(epoch, logs)``, optional
    on_train_begin, on_train_end : callable ``(logs)``, optional
    on_train_batch_end : callable ``(batch, logs)``, optional
        (``on_batch_end`` is an alias.) Runs at batch-chunk ends (see the module notes).
    batch_frequency : int, optional
        Batches between calls of ``on_train_batch_end``; default 1 when it is given (every
        batch, as Keras calls it: the engine then returns to Python after each batch), else
        None (epoch hooks only).

    Examples
    --------
    >>> import fastnn as fnn
    >>> seen = []
    >>> cb = fnn.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(logs["loss"]))
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_end=None, on_batch_end=None, batch_frequency=None):
        super().__init__()
        if on_train_batch_end is not None and on_batch_end is not None:
            raise ValueError("on_train_batch_end and on_batch_end: give one of them (the second is an alias)")
        fns = {"on_epoch_begin": on_epoch_begin, "on_epoch_end": on_epoch_end, "on_train_begin": on_train_begin,
               "on_train_end": on_train_end, "on_train_batch_end": on_train_batch_end or on_batch_end}
        for name, f in fns.items():
            if f is not None and not callable(f):
                raise TypeError(f"{name}: expected a callable, got {type(f).__name__}")
        self._fns = fns
        self._steps = self._epoch_start = 0
        if batch_frequency is not None:
            self.batch_frequency = _check_int("batch_frequency", batch_frequency, low=1)
        elif fns["on_train_batch_end"] is not None:
            self.batch_frequency = 1

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = self._steps
        if self._fns["on_epoch_begin"]:
            self._fns["on_epoch_begin"](epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self._fns["on_epoch_end"]:
            self._fns["on_epoch_end"](epoch, logs)

    def on_train_begin(self, logs=None):
        self._steps = self._epoch_start = 0
        if self._fns["on_train_begin"]:
            self._fns["on_train_begin"](logs)

    def on_train_end(self, logs=None):
        if self._fns["on_train_end"]:
            self._fns["on_train_end"](logs)

    def on_train_batch_end(self, batch, logs=None):
        # Batch hooks run at every chunk end (other callbacks' too): the function runs at
        # the multiples of batch_frequency of the batches since training began.
        self._steps = self._epoch_start + batch + 1
        if self._fns["on_train_batch_end"] and self._steps % self.batch_frequency == 0:
            self._fns["on_train_batch_end"](batch, logs)
