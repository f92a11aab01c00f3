"""Learning-rate schedules, usable with every optimizer.

A schedule maps a 0-based step ``t`` to a learning rate: ``schedule(t)`` gives one float
and ``schedule.values(start, count)`` the float64 array for steps ``start ..
start + count - 1`` in one vectorized pass (bitwise equal to calling the schedule step by
step: both evaluate the same NumPy expression).

``unit`` says what a step counts: ``"batch"`` (default) counts optimizer updates;
``"epoch"`` counts epochs, and the optimizer then holds the rate constant within an epoch.

Formulas follow Keras where Keras has the schedule (``tf.keras.optimizers.schedules``),
``StepDecay`` follows torch's ``StepLR``. Below ``a`` is ``initial_learning_rate``.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from fastnn._validate import check_scalar

__all__ = [
    "LearningRateSchedule", "Constant", "PiecewiseConstantDecay", "StepDecay",
    "ExponentialDecay", "InverseTimeDecay", "PowerDecay", "PolynomialDecay", "CosineDecay",
    "CosineDecayRestarts", "LinearWarmup", "get", "serialize", "deserialize",
]

_UNITS = ("batch", "epoch")


def _rate(value, name):
    """A learning rate: finite and >= 0."""
    return check_scalar(value, name, low=0.0)


def _positive(value, name):
    return check_scalar(value, name, low=0.0, low_inclusive=False)


def _int(value, name, low):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an int, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name}: must be >= {low}, got {value}")
    return int(value)


def _flag(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected a bool, got {type(value).__name__}")
    return bool(value)


class LearningRateSchedule:
    """Base class of the learning-rate schedules.

    Subclasses implement ``_rates(t)`` mapping a float64 array of steps to a float64 array
    of rates, elementwise, and :meth:`get_config`.

    Parameters
    ----------
    unit : {"batch", "epoch"}, default "batch"
        What a step counts: optimizer updates or epochs.
    """

    def __init__(self, unit="batch"):
        if unit not in _UNITS:
            raise ValueError(f"unit: expected 'batch' or 'epoch', got {unit!r}")
        self.unit = unit

    def _rates(self, t):  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, step):
        """The learning rate at the 0-based ``step`` (a float).

        Parameters
        ----------
        step : int or float
            Finite, ``>= 0``.

        Returns
        -------
        float
        """
        t = check_scalar(step, "step", low=0.0)
        return float(self._rates(np.array([t], dtype=np.float64))[0])

    def values(self, start, count):
        """The learning rates of steps ``start .. start + count - 1``.

        Parameters
        ----------
        start : int
            First step, ``>= 0``.
        count : int
            Number of steps, ``>= 0``.

        Returns
        -------
        numpy.ndarray
            float64, shape ``(count,)``; element ``i`` equals ``self(start + i)`` bitwise.
        """
        start = _int(start, "start", 0)
        count = _int(count, "count", 0)
        t = float(start) + np.arange(count, dtype=np.float64)
        return np.asarray(self._rates(t), dtype=np.float64)

    def get_config(self):
        """The constructor arguments as a JSON-friendly dict."""
        return {"unit": self.unit}

    @classmethod
    def from_config(cls, config):
        """Build a schedule from :meth:`get_config`'s dict."""
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Constant(LearningRateSchedule):
    """``lr(t) = learning_rate``.

    Parameters
    ----------
    learning_rate : float
        Finite, ``>= 0``.
    unit : {"batch", "epoch"}, default "batch"
    """

    def __init__(self, learning_rate, *, unit="batch"):
        super().__init__(unit)
        self.learning_rate = _rate(learning_rate, "learning_rate")

    def _rates(self, t):
        return np.full(t.shape, self.learning_rate)

    def get_config(self):
        """The constructor arguments as a JSON-friendly dict."""
        return {"learning_rate": self.learning_rate, **super().get_config()}


class PiecewiseConstantDecay(LearningRateSchedule):
    """``lr(t) = values[0]`` for ``t <= boundaries[0]``, ``values[i]`` for
    ``boundaries[i-1] < t <= boundaries[i]``, ``values[-1]`` for ``t > boundaries[-1]``.

    Parameters
    ----------
    boundaries : sequence of numbers
        Finite and sorted (non-decreasing); at least one.
    values : sequence of floats
        Finite learning rates ``>= 0``; ``len(values) == len(boundaries) + 1``.
    unit : {"batch", "epoch"}, default "batch"

    Attributes
    ----------
    boundaries : list
        As given.
    rates : list of float
        The ``values`` argument (named ``rates`` here because :meth:`values` is the
        schedule's vectorized evaluation, unlike Keras's ``values`` attribute).
    """

    def __init__(self, boundaries, values, *, unit="batch"):
        super().__init__(unit)
        b = [self._number(x, f"boundaries[{i}]") for i, x in enumerate(self._seq(boundaries, "boundaries"))]
        v = [_rate(x, f"values[{i}]") for i, x in enumerate(self._seq(values, "values"))]
        if not b:
            raise ValueError("boundaries: expected at least one boundary, got none")
        if any(b[i + 1] < b[i] for i in range(len(b) - 1)):
            raise ValueError(f"boundaries: must be sorted in increasing order, got {b}")
        if len(v) != len(b) + 1:
            raise ValueError(f"values: expected len(boundaries) + 1 = {len(b) + 1} values, got {len(v)}")
        self.boundaries = b
        self.rates = v
        self._b = np.array(b, dtype=np.float64)
        self._v = np.array(v, dtype=np.float64)

    @staticmethod
    def _seq(x, name):
        if isinstance(x, (str, bytes)) or not hasattr(x, "__len__"):
            raise TypeError(f"{name}: expected a sequence of numbers, got {type(x).__name__}")
        return list(np.asarray(x).ravel().tolist() if isinstance(x, np.ndarray) else x)

    @staticmethod
    def _number(x, name):
        v = check_scalar(x, name)
        return int(x) if isinstance(x, numbers.Integral) else v

    def _rates(self, t):
        return self._v[np.searchsorted(self._b, t, side="left")]

    def get_config(self):
        """The constructor arguments as a JSON-friendly dict."""
        return {"boundaries": list(self.boundaries), "values": list(self.rates),
                **super().get_config()}


class StepDecay(LearningRateSchedule):
    """``lr(t) = a * gamma ** floor(t / step_size)`` (torch's ``StepLR``).

    Parameters
    ----------
    initial_learning_rate : float
        Finite, ``>= 0``.
    step_size : int
        Steps between two decays, ``>= 1``.
    gamma : float, default 0.1
        Finite, ``>= 0``.
    unit : {"batch", "epoch"}, default "batch"
    """

    def __init__(self, initial_learning_rate, step_size, gamma=0.1, *, unit="batch"):
        super().__init__(unit)
        self.initial_learning_rate = _rate(initial_learning_rate, "initial_learning_rate")
        self.step_size = _int(step_size, "step_size", 1)
        self.gamma = check_scalar(gamma, "gamma", low=0.0)

    def _rates(self, t):
        return self.initial_learning_rate * np.power(self.gamma, np.floor(t / self.step_size))

    def get_config(self):
        """The constructor arguments as a JSON-friendly dict."""
        return {"initial_learning_rate": self.initial_learning_rate, "step_size": self.step_size,
                "gamma": self.gamma, **super().get_config()}


class ExponentialDecay(LearningRateSchedule):
    """``lr(t) = a * decay_rate ** (t / decay_steps)``; with ``staircase=True`` the
    exponent is ``floor(t / decay_steps)``.

    Parameters
    ----------
    initial_learning_rate : float
        Finite, ``>= 0``.
    decay_steps : float
        ``> 0``.
    decay_rate : float
        Finite, ``> 0``.
    staircase : bool, default False
    unit : {"batch", "epoch"}, default "batch"
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, *,
                 unit="batch"):
        super().__init__(unit)
        self.initial_learning_rate = _rate(initial_learning_rate, "initial_learning_rate")
        self.decay_steps = _positive(decay_steps, "decay_steps")
        self.decay_rate = _positive(decay_rate, "decay_rate")
        self.staircase = _flag(staircase, "staircase")

    def _rates(self, t):
        p = t / self.decay_steps
        if self.staircase:
            p = np.floor(p)
        return self.initial_learning_rate * np.power(self.decay_rate, p)

    def get_config(self):
        """The constructor arguments as a JSON-friendly dict."""
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, **super().get_config()}


class InverseTimeDecay(LearningRateSchedule):
    """``lr(t) = a / (1 + decay_rate * t / decay_steps)``; with ``staircase=True``
    ``t / decay_steps`` is replaced by ``floor(t / decay_steps)``.

    Parameters
    ----------
    initial_learning_rate : float
        Finite, ``>= 0``.
    decay_steps : float
        ``> 0``.
    decay_rate : float
        Finite, ``>= 0``.
    staircase : bool, default False
    unit : {"batch", "epoch"}, default "batch"
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, *,
                 unit="batch"):
        super().__init__(unit)
        self.initial_learning_rate = _rate(initial_learning_rate, "initial_learning_rate")
        self.decay_steps = _positive(decay_steps, "decay_steps")
        self.decay_rate = check_scalar(decay_rate, "decay_rate", low=0.0)
        self.staircase = _flag(staircase, "staircase")

    def _rates(self, t):
        p = t / self.decay_steps
        if self.staircase:
            p = np.floor(p)
        return self.initial_learning_rate / (1.0 + self.decay_rate * p)

    def get_config(self):
        """The constructor arguments as a JSON-friendly dict."""
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, **super().get_config()}


class PowerDecay(LearningRateSchedule):
    """``lr(t) = a / (t + 1) ** power``.

    The ``+ 1`` avoids a division by zero at ``t = 0``. Because ``t`` counts from 0, this
    equals scikit-learn's ``learning_rate="invscaling"`` (``eta0 / t ** power_t`` with
    its ``t`` counting from 1).

    Parameters
    ----------
    initial_learning_rate : float
        Finite, ``>= 0``.
    power : float, default 0.5
        Finite, ``>= 0``.
    unit : {"batch", "epoch"}, default "batch"
    """

    def __init__(self, initial_learning_rate, power=0.5, *, unit="batch"):
        super().__init__(unit)
        self.initial_learning_rate = _rate(initial_learning_rate, "initial_learning_rate")
        self.power = check_scalar(power, "power", low=0.0)

    def _rates(self, t):
        return self.initial_learning_rate / np.power(t + 1.0, self.power)

    def get_config(self):
        """The constructor arguments as a JSON-friendly dict."""
        return {"initial_learning_rate": self.initial_learning_rate, "power": self.power,
                **super().get_config()}


class PolynomialDecay(LearningRateSchedule):
    """``lr(t) = (a - end_learning_rate) * (1 - s / d) ** power + end_learning_rate``.

    Without ``cycle``: ``s = min(t, decay_steps)`` and ``d = decay_steps`` (the rate stays
    at ``end_learning_rate`` after ``decay_steps``). With ``cycle``: ``s = t`` and
    ``d = decay_steps * max(1, ceil(t / decay_steps))`` (Keras's formula).

    Parameters
    ----------
    initial_learning_rate : float
        Finite, ``>= 0``.
    decay_steps : float
        ``> 0``.
    end_learning_rate : float, default 0.0001
        Finite, ``>= 0``.
    power : float, default 1.0
        Finite, ``> 0``.
    cycle : bool, default False
    unit : {"batch", "epoch"}, default "batch"
    """

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001,
                 power=1.0, cycle=False, *, unit="batch"):
        super().__init__(unit)
        self.initial_learning_rate = _rate(initial_learning_rate, "initial_learning_rate")
        self.decay_steps = _positive(decay_steps, "decay_steps")
        self.end_learning_rate = _rate(end_learning_rate, "end_learning_rate")
        self.power = _positive(power, "power")
        self.cycle = _flag(cycle, "cycle")

    def _rates(self, t):
        if self.cycle:
            d = self.decay_steps * np.maximum(1.0, np.ceil(t / self.decay_steps))
            s = t
        else:
            d = self.decay_steps
            s = np.minimum(t, self.decay_steps)
        span = self.initial_learning_rate - self.end_learning_rate
        return span * np.power(1.0 - s / d, self.power) + self.end_learning_rate

    def get_config(self):
        """The constructor arguments as a JSON-friendly dict."""
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, **super().get_config()}


class CosineDecay(LearningRateSchedule):
    """``lr(t) = a * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps)) + alpha)`` with
    ``s = min(t, decay_steps)`` (Keras's formula; Keras's optional built-in warm-up is
    :class:`LinearWarmup` here).

    Parameters
    ----------
    initial_learning_rate : float
        Finite, ``>= 0``.
    decay_steps : float
        ``> 0``.
    alpha : float, default 0.0
        Final rate as a fraction of ``a``, in ``[0, 1]``.
    unit : {"batch", "epoch"}, default "batch"
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, *, unit="batch"):
        super().__init__(unit)
        self.initial_learning_rate = _rate(initial_learning_rate, "initial_learning_rate")
        self.decay_steps = _positive(decay_steps, "decay_steps")
        self.alpha = check_scalar(alpha, "alpha", low=0.0, high=1.0)

    def _rates(self, t):
        s = np.minimum(t, self.decay_steps)
        cosine = 0.5 * (1.0 + np.cos(math.pi * (s / self.decay_steps)))
        return self.initial_learning_rate * ((1.0 - self.alpha) * cosine + self.alpha)

    def get_config(self):
        """The constructor arguments as a JSON-friendly dict."""
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, **super().get_config()}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR; Keras's formula).

    With ``f = t / first_decay_steps``, period ``i`` (0-based) covers
    ``S(i) <= f < S(i + 1)`` where ``S(i) = i`` when ``t_mul == 1`` and
    ``S(i) = (1 - t_mul ** i) / (1 - t_mul)`` otherwise; its length is ``t_mul ** i``.
    With ``g = (f - S(i)) / t_mul ** i`` (the fraction of period ``i`` done)::

        lr(t) = a * ((1 - alpha) * 0.5 * m_mul ** i * (1 + cos(pi * g)) + alpha)

    Keras finds ``i`` as ``floor(log(1 - f * (1 - t_mul)) / log(t_mul))``; here that
    estimate is corrected by one where rounding puts it on the wrong side of ``S(i)``, so a
    restart always lands exactly on its step.

    Parameters
    ----------
    initial_learning_rate : float
        Finite, ``>= 0``.
    first_decay_steps : float
        Length of the first period, ``> 0``.
    t_mul : float, default 2.0
        Factor by which each period is longer than the last, ``>= 1`` (finite).
    m_mul : float, default 1.0
        Factor applied to the starting rate at each restart, ``>= 0``.
    alpha : float, default 0.0
        Minimum rate as a fraction of ``a``, in ``[0, 1]``.
    unit : {"batch", "epoch"}, default "batch"
    """

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0,
                 alpha=0.0, *, unit="batch"):
        super().__init__(unit)
        self.initial_learning_rate = _rate(initial_learning_rate, "initial_learning_rate")
        self.first_decay_steps = _positive(first_decay_steps, "first_decay_steps")
        self.t_mul = check_scalar(t_mul, "t_mul", low=1.0)
        self.m_mul = check_scalar(m_mul, "m_mul", low=0.0)
        self.alpha = check_scalar(alpha, "alpha", low=0.0, high=1.0)

    def _rates(self, t):
        f = t / self.first_decay_steps
        if self.t_mul == 1.0:
            i = np.floor(f)
            g = f - i
        else:
            q = self.t_mul

            def start(k):
                return (1.0 - np.power(q, k)) / (1.0 - q)

            i = np.floor(np.log1p(f * (q - 1.0)) / math.log(q))
            i = np.where(start(i + 1.0) <= f, i + 1.0, i)
            i = np.where(start(i) > f, i - 1.0, i)
            g = (f - start(i)) / np.power(q, i)
        cosine = 0.5 * np.power(self.m_mul, i) * (1.0 + np.cos(math.pi * g))
        return self.initial_learning_rate * ((1.0 - self.alpha) * cosine + self.alpha)

    def get_config(self):
        """The constructor arguments as a JSON-friendly dict."""
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self.t_mul,
                "m_mul": self.m_mul, "alpha": self.alpha, **super().get_config()}


class LinearWarmup(LearningRateSchedule):
    """A linear ramp for ``warmup_steps`` steps, then ``schedule`` (shifted).

    With ``w = warmup_steps``, ``s = start_learning_rate`` and ``r = schedule(0)``::

        lr(t) = s + (r - s) * t / w     for t < w
        lr(t) = schedule(t - w)         for t >= w

    so the ramp ends exactly where the wrapped schedule begins.

    Parameters
    ----------
    schedule : float or LearningRateSchedule or dict
        The schedule after warm-up; a float means a constant rate.
    warmup_steps : int
        ``>= 1``.
    start_learning_rate : float, default 0.0
        Finite, ``>= 0``.
    unit : {"batch", "epoch"}, optional
        Defaults to the wrapped schedule's unit ("batch" for a float); it must match it,
        since both count the same steps.
    """

    def __init__(self, schedule, warmup_steps, start_learning_rate=0.0, *, unit=None):
        if isinstance(schedule, numbers.Real) and not isinstance(schedule, (bool, np.bool_)):
            inner = Constant(_rate(schedule, "schedule"), unit=unit or "batch")
        else:
            try:
                inner = get(schedule)
            except (TypeError, ValueError) as e:
                raise type(e)(f"schedule: {e}") from None
        unit = inner.unit if unit is None else unit
        super().__init__(unit)
        if inner.unit != self.unit:
            raise ValueError(f"unit: {unit!r} differs from the wrapped schedule's unit {inner.unit!r}")
        self.schedule = inner
        self.warmup_steps = _int(warmup_steps, "warmup_steps", 1)
        self.start_learning_rate = _rate(start_learning_rate, "start_learning_rate")

    def _rates(self, t):
        w = float(self.warmup_steps)
        target0 = float(self.schedule._rates(np.zeros(1))[0])
        s = self.start_learning_rate
        ramp = s + (target0 - s) * t / w
        after = self.schedule._rates(np.maximum(t - w, 0.0))
        return np.where(t < w, ramp, after)

    def __repr__(self):
        return (f"LinearWarmup({self.schedule!r}, warmup_steps={self.warmup_steps}, "
                f"start_learning_rate={self.start_learning_rate!r}, unit={self.unit!r})")

    def get_config(self):
        """The constructor arguments as a JSON-friendly dict."""
        return {"schedule": serialize(self.schedule), "warmup_steps": self.warmup_steps,
                "start_learning_rate": self.start_learning_rate, **super().get_config()}


_CLASSES = {c.__name__: c for c in (
    Constant, PiecewiseConstantDecay, StepDecay, ExponentialDecay, InverseTimeDecay,
    PowerDecay, PolynomialDecay, CosineDecay, CosineDecayRestarts, LinearWarmup)}


def serialize(schedule):
    """``{"class_name": ..., "config": ...}`` for a schedule.

    Parameters
    ----------
    schedule : LearningRateSchedule

    Returns
    -------
    dict
    """
    if not isinstance(schedule, LearningRateSchedule):
        raise TypeError(f"schedule: expected a LearningRateSchedule, got {type(schedule).__name__}")
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config):
    """Build a schedule from :func:`serialize`'s dict (extra Keras keys such as ``module``
    are ignored, and so is Keras's ``name`` inside ``config``).

    Parameters
    ----------
    config : dict

    Returns
    -------
    LearningRateSchedule
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"config: expected a dict with 'class_name' and 'config', got {config!r}")
    name = config["class_name"]
    cls = _CLASSES.get(name)
    if cls is None:
        raise ValueError(f"identifier: unknown schedule {name!r}; known names: {', '.join(sorted(_CLASSES))}")
    inner = config.get("config")
    if not isinstance(inner, dict):
        raise TypeError(f"config: 'config' must be a dict of {name}'s arguments, got {inner!r}")
    inner = {k: v for k, v in inner.items() if k != "name"}
    return cls.from_config(inner)


def get(identifier):
    """Resolve a learning rate.

    Parameters
    ----------
    identifier : LearningRateSchedule or float or dict
        A schedule (returned as is); a number (a :class:`Constant` of that rate); a dict
        ``{"class_name": ..., "config": ...}``.

    Returns
    -------
    LearningRateSchedule
    """
    if isinstance(identifier, LearningRateSchedule):
        return identifier
    if isinstance(identifier, numbers.Real) and not isinstance(identifier, (bool, np.bool_)):
        return Constant(identifier)
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        raise ValueError(
            f"identifier: a schedule needs arguments; pass an instance or a dict "
            f"{{'class_name': ..., 'config': ...}} instead of {identifier!r} "
            f"(known classes: {', '.join(sorted(_CLASSES))})")
    raise TypeError(f"identifier: cannot interpret {type(identifier).__name__} as a learning rate schedule")
