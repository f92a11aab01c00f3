"""The metric base class and the weighted running mean the sample-wise metrics share."""
from __future__ import annotations

import numpy as np

from fastnn import _metrics_checks as chk


class Metric:
    """Base class of the Keras-style streaming metrics.

    A metric accumulates statistics over batches with :meth:`update_state` and reports the
    value over everything seen since the last :meth:`reset_state` with :meth:`result`.
    Accumulators are float64 NumPy arrays or scalars.

    Parameters
    ----------
    name : str, optional
        Name of the metric (the key in training logs). Defaults to the Keras snake_case
        name of the class, e.g. ``"binary_accuracy"``.

    Notes
    -----
    Subclasses set ``_default_name``, implement :meth:`update_state`, :meth:`result` and
    :meth:`reset_state`, and extend :meth:`get_config` with their constructor arguments.

    :meth:`result` returns ``0.0`` before any update (as Keras does), and ``0.0`` wherever
    the value would divide by zero (for example precision with no predicted positives).
    """

    _default_name = "metric"

    def __init__(self, name=None):
        self.name = chk.check_name(name) or self._default_name

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Accumulate statistics from one batch.

        Parameters
        ----------
        y_true : array_like
            Targets, ``(n,)`` or ``(n, k)``.
        y_pred : array_like
            Model outputs, same number of rows.
        sample_weight : array_like, optional
            Per-sample weights: a scalar, ``(n,)`` or ``(n, 1)``; finite and non-negative.

        Returns
        -------
        None
        """
        raise NotImplementedError

    def result(self):
        """The metric over all batches since the last reset.

        Returns
        -------
        float
            ``0.0`` before any update.
        """
        raise NotImplementedError

    def reset_state(self):
        """Forget all accumulated statistics.

        Returns
        -------
        None
        """
        raise NotImplementedError

    def __call__(self, y_true, y_pred, sample_weight=None):
        """Update with one batch, then return :meth:`result`.

        Parameters
        ----------
        y_true, y_pred, sample_weight
            As for :meth:`update_state`.

        Returns
        -------
        float
            The metric over everything seen so far (not only this batch).
        """
        self.update_state(y_true, y_pred, sample_weight=sample_weight)
        return self.result()

    def get_config(self):
        """Constructor arguments as a JSON-safe dict (without a ``class_name``).

        Returns
        -------
        dict
            ``cls.from_config(metric.get_config())`` builds an equivalent, reset metric.
        """
        return {"name": self.name}

    @classmethod
    def from_config(cls, config):
        """Build a metric from :meth:`get_config` output.

        Parameters
        ----------
        config : dict
            Constructor keyword arguments.

        Returns
        -------
        Metric
            A new metric with no accumulated state.
        """
        if not isinstance(config, dict):
            raise TypeError(f"config: expected a dict, got {type(config).__name__}")
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class _WeightedMean(Metric):
    """Weighted mean of per-sample values: ``sum(w * v) / sum(w)`` (``w = 1`` if unweighted).

    Subclasses implement ``_per_sample(y_true, y_pred) -> float64 (n,)``.
    """

    def __init__(self, name=None):
        super().__init__(name=name)
        self.reset_state()

    def reset_state(self):
        """Forget all accumulated statistics.

        Returns
        -------
        None
        """
        self._total = 0.0
        self._count = 0.0

    def _accumulate(self, values, w):
        if w is None:
            self._total += float(np.sum(values, dtype=np.float64))
            self._count += float(values.shape[0])
        else:
            self._total += float(np.dot(w, values))
            self._count += float(np.sum(w))

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Accumulate the per-sample values of one batch.

        Parameters
        ----------
        y_true : array_like
            Targets, ``(n,)`` or ``(n, k)``.
        y_pred : array_like
            Model outputs.
        sample_weight : array_like, optional
            Per-sample weights: a scalar, ``(n,)`` or ``(n, 1)``; finite and non-negative.

        Returns
        -------
        None
        """
        values, n, shape = self._per_sample(y_true, y_pred)
        w = chk.sample_weights(sample_weight, n, shape)
        self._accumulate(values, w)

    def _per_sample(self, y_true, y_pred):
        raise NotImplementedError

    def result(self):
        """Weighted mean of the per-sample values seen so far.

        Returns
        -------
        float
            ``0.0`` before any update or when the weights sum to zero.
        """
        return self._total / self._count if self._count > 0 else 0.0


class Mean(_WeightedMean):
    """Weighted running mean of values (Keras ``Mean``).

    Parameters
    ----------
    name : str, optional
        Defaults to ``"mean"``.

    Notes
    -----
    A scalar is one sample; an array ``(n, ...)`` gives one value per sample, the mean over
    its trailing axes, and the result is ``sum(w * v) / sum(w)``.

    Examples
    --------
    >>> m = Mean()
    >>> m.update_state([1.0, 3.0])
    >>> m.update_state(5.0, sample_weight=2.0)
    >>> m.result()
    3.5
    """

    _default_name = "mean"

    def update_state(self, values, sample_weight=None):
        """Accumulate values.

        Parameters
        ----------
        values : array_like
            A scalar or an array ``(n, ...)`` (averaged over the trailing axes per sample).
        sample_weight : array_like, optional
            A scalar, ``(n,)`` or ``(n, 1)``; finite and non-negative.

        Returns
        -------
        None
        """
        v = chk.as_values(values)
        w = chk.sample_weights(sample_weight, v.shape[0], np.shape(values))
        self._accumulate(v, w)

    def __call__(self, values, sample_weight=None):
        """Update with ``values``, then return :meth:`result`.

        Parameters
        ----------
        values, sample_weight
            As for :meth:`update_state`.

        Returns
        -------
        float
        """
        self.update_state(values, sample_weight=sample_weight)
        return self.result()
