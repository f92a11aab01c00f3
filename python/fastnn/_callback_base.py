"""Callback base classes (Callback, History, CallbackList) and the argument checks shared
by the callbacks in :mod:`fastnn.callbacks` (which re-exports the public names)."""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

# ----------------------------------------------------------------------------- helpers

def _check_int(name, value, low=0):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an int, got {type(value).__name__} {value!r}")
    if value < low:
        raise ValueError(f"{name}: must be >= {low}, got {value}")
    return int(value)


def _check_real(name, value, low=None):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if math.isnan(value) or (low is not None and value < low):
        raise ValueError(f"{name}: must be a number >= {low}, got {value}")
    return value


def _check_str(name, value):
    if not isinstance(value, str):
        raise TypeError(f"{name}: expected a str, got {type(value).__name__} {value!r}")
    return value


# Last "_"-separated words of the keys of metrics that grow as they improve.
_MAX_WORDS = ("accuracy", "acc", "auc", "precision", "recall", "f1", "fmeasure", "r2")


def _resolve_mode(mode, monitor):
    """``"min"`` or ``"max"``; ``"auto"``: min for a key ending in "loss", max for one whose
    last word names an accuracy-like metric (``val_kind_accuracy``, ``f1_score``, ``r2``),
    else min -- whole words, so ``val_acceleration_loss`` is a loss."""
    _check_str("mode", mode)
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode: expected 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    if monitor.endswith("loss"):
        return "min"
    words = monitor.split("_")
    if words[-1] == "score" and len(words) > 1:  # f1_score, r2_score
        words.pop()
    return "max" if words[-1] in _MAX_WORDS else "min"


def _improves(mode, current, reference, delta=0.0):
    """Whether ``current`` beats ``reference`` by more than ``delta`` (NaN never does)."""
    if mode == "min":
        return bool(np.less(current + delta, reference))
    return bool(np.greater(current - delta, reference))


def _monitor_value(logs, monitor, who):
    value = (logs or {}).get(monitor)
    if value is None:
        keys = ", ".join(sorted(logs or {})) or "none"
        warnings.warn(f"{who}: monitored key {monitor!r} is not in the logs "
                      f"(available keys: {keys}); skipping", RuntimeWarning, stacklevel=3)
        return None
    if np.ndim(value) != 0:
        raise ValueError(f"{who}: monitored key {monitor!r} holds {np.size(value)} values (a per-class metric); "
                         "monitor one number, e.g. a metric averaged over classes (F1Score(average='macro'))")
    return float(value)


def _get_lr(model):
    return float(model.optimizer.learning_rate)


def _check_settable_lr(model, who):
    """A callback that sets the learning rate needs the optimizer to hold a number (Keras
    refuses to set a schedule's rate too): raised at train begin, before any epoch."""
    lr = model.optimizer.learning_rate
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real):
        raise TypeError(f"{who}: the optimizer's learning_rate is a schedule ({type(lr).__name__}), which this "
                        "callback cannot set; give the optimizer a number as learning_rate, or drop the callback")


# ----------------------------------------------------------------------------- base

class Callback:
    """Base class of callbacks: every hook is a no-op.

    Attributes
    ----------
    model : object or None
        The model being trained (set by :meth:`set_model`).
    params : dict
        Training parameters: ``epochs``, ``steps`` (batches per epoch), ``samples``,
        ``batch_size``, ``verbose`` (set by :meth:`set_params`).
    batch_frequency : int or None
        Batches between calls of the batch hooks that this callback needs; ``None`` (the
        default) lets the engine run whole epochs natively.

    Notes
    -----
    Hooks receive a ``logs`` dict that is shared by all callbacks of one call, so a
    callback may add keys (e.g. ``"lr"``) that later callbacks and :class:`History` see.
    """

    batch_frequency = None

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        """Attach the model being trained."""
        self.model = model

    def set_params(self, params):
        """Attach the training parameters dict."""
        self.params = params

    def on_train_begin(self, logs=None):
        """Called once before the first epoch."""

    def on_train_end(self, logs=None):
        """Called once after the last epoch (also after an early stop)."""

    def on_epoch_begin(self, epoch, logs=None):
        """Called at the start of epoch ``epoch`` (0-based)."""

    def on_epoch_end(self, epoch, logs=None):
        """Called at the end of epoch ``epoch`` with the epoch's losses and metrics."""

    def on_train_batch_begin(self, batch, logs=None):
        """Called before a chunk of batches starting at ``batch`` (see module notes)."""
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        """Called after a chunk of batches; ``batch`` is the last batch done."""
        self.on_batch_end(batch, logs)

    def on_batch_begin(self, batch, logs=None):
        """Alias hook of :meth:`on_train_batch_begin` (Keras compatibility)."""

    def on_batch_end(self, batch, logs=None):
        """Alias hook of :meth:`on_train_batch_end` (Keras compatibility)."""

    def on_test_begin(self, logs=None):
        """Called before evaluation (also validation inside fit)."""

    def on_test_end(self, logs=None):
        """Called after evaluation."""

    def on_test_batch_begin(self, batch, logs=None):
        """Called before an evaluation chunk."""

    def on_test_batch_end(self, batch, logs=None):
        """Called after an evaluation chunk."""

    def on_predict_begin(self, logs=None):
        """Called before prediction."""

    def on_predict_end(self, logs=None):
        """Called after prediction."""

    def on_predict_batch_begin(self, batch, logs=None):
        """Called before a prediction chunk."""

    def on_predict_batch_end(self, batch, logs=None):
        """Called after a prediction chunk."""


class History(Callback):
    """Record the epoch logs; ``fit`` returns it and sets ``model.history`` to it.

    Attributes
    ----------
    history : dict of str to list
        One list per log key, one entry per epoch.
    epoch : list of int
        The (0-based) epochs recorded.
    params : dict
        The training parameters.

    Notes
    -----
    Unlike Keras, every list stays aligned with :attr:`epoch`: an epoch whose logs lack a
    key (validation not run that epoch, a key appearing later) holds NaN there. Keys that
    later callbacks add to the same epoch's logs (e.g. ``lr``) are recorded as well.
    """

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def set_model(self, model):
        """Attach the model and set ``model.history`` to this callback."""
        super().set_model(model)
        if model is not None:
            model.history = self

    def on_train_begin(self, logs=None):
        """Start a fresh record."""
        self.history = {}
        self.epoch = []
        if self.model is not None:
            self.model.history = self

    def on_epoch_end(self, epoch, logs=None):
        """Append this epoch's logs."""
        self.epoch.append(epoch)
        self._record(logs or {})

    def _record(self, logs):
        n = len(self.epoch)
        for key, value in logs.items():
            values = self.history.setdefault(key, [])
            if isinstance(value, np.generic):
                value = value.item()
            if len(values) == n:
                values[-1] = value
            else:
                values.extend([math.nan] * (n - 1 - len(values)))
                values.append(value)
        for values in self.history.values():
            values.extend([math.nan] * (n - len(values)))


class CallbackList(Callback):
    """Dispatch every hook to a list of callbacks, in order.

    A :class:`History` comes first and a :class:`ProgressBar` last (added unless the list
    already holds one; a user's own instance is moved into place).

    Parameters
    ----------
    callbacks : iterable of Callback, optional
        The user's callbacks.
    model : object, optional
        The model; passed to every callback's ``set_model``.
    params : dict, optional
        Training parameters; passed to every callback's ``set_params``.
    add_history : bool, default True
        Add a :class:`History` when the list has none.
    add_progress : bool or int or None, default None
        Verbosity of the :class:`ProgressBar` to add: 0/False none, 1/True live bar,
        2 one line per epoch; ``None`` takes ``params["verbose"]`` (0 without params).

    Attributes
    ----------
    callbacks : list of Callback
        The callbacks in dispatch order.
    history : History or None
        The history callback.

    Notes
    -----
    The fit loop reads :attr:`batch_frequency` after ``set_params`` (a progress bar's
    need depends on the number of steps).
    """

    def __init__(self, callbacks=None, model=None, params=None, add_history=True,
                 add_progress=None):
        super().__init__()
        from fastnn._progress import ProgressBar

        if callbacks is None:
            callbacks = []
        if isinstance(callbacks, Callback) or not hasattr(callbacks, "__iter__"):
            raise TypeError(f"callbacks: expected a list of Callback objects, "
                            f"got {type(callbacks).__name__}")
        cbs = list(callbacks)
        for i, cb in enumerate(cbs):
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks[{i}]: expected a Callback, got {type(cb).__name__}")
        history = next((cb for cb in cbs if isinstance(cb, History)), None)
        if history is None and add_history:
            history = History()
        progress = [cb for cb in cbs if isinstance(cb, ProgressBar)]
        if not progress:
            level = (params or {}).get("verbose", 0) if add_progress is None else add_progress
            level = _check_int("add_progress", int(level) if isinstance(level, bool) else level)
            if level > 2:
                raise ValueError(f"add_progress: expected 0, 1 or 2, got {level}")
            progress = [ProgressBar(verbose=level)] if level else []
        rest = [cb for cb in cbs if cb is not history and cb not in progress]
        self.callbacks = ([history] if history is not None else []) + rest + progress
        self.history = history
        if model is not None:
            self.set_model(model)
        if params is not None:
            self.set_params(params)

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self):
        return len(self.callbacks)

    @property
    def batch_frequencies(self):
        """The callbacks' ``batch_frequency`` values (checked), sorted and without repeats."""
        return sorted({_check_int(f"{type(cb).__name__}.batch_frequency", cb.batch_frequency, low=1)
                       for cb in self.callbacks if cb.batch_frequency is not None})

    @property
    def batch_frequency(self):
        """Smallest ``batch_frequency`` of the callbacks (the most frequent need), or None."""
        freqs = self.batch_frequencies
        return freqs[0] if freqs else None

    def set_model(self, model):
        """Attach the model to this list and every callback."""
        self.model = model
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params):
        """Attach the training parameters to this list and every callback."""
        self.params = params
        for cb in self.callbacks:
            cb.set_params(params)

    def _call(self, hook, *args):
        logs = args[-1] if args[-1] is not None else {}
        args = args[:-1] + (logs,)
        for cb in self.callbacks:
            getattr(cb, hook)(*args)
        return logs

    def on_epoch_end(self, epoch, logs=None):
        """Dispatch; then record into History the keys later callbacks added."""
        logs = self._call("on_epoch_end", epoch, logs)
        if self.history is not None and self.history.epoch[-1:] == [epoch]:
            self.history._record(logs)


def _dispatcher(hook, indexed):
    if indexed:
        def dispatch(self, index, logs=None):
            self._call(hook, index, logs)
    else:
        def dispatch(self, logs=None):
            self._call(hook, logs)
    dispatch.__name__ = dispatch.__qualname__ = hook
    dispatch.__doc__ = f"Call ``{hook}`` on every callback, in order."
    return dispatch


for _hook in ("on_train_begin", "on_train_end", "on_test_begin", "on_test_end",
              "on_predict_begin", "on_predict_end"):
    setattr(CallbackList, _hook, _dispatcher(_hook, False))
for _hook in ("on_epoch_begin", "on_train_batch_begin", "on_train_batch_end",
              "on_test_batch_begin", "on_test_batch_end", "on_predict_batch_begin",
              "on_predict_batch_end"):
    setattr(CallbackList, _hook, _dispatcher(_hook, True))
del _hook


