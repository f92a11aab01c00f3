"""Regression metrics: MSE, MAE, RMSE (weighted means of per-sample errors) and R2."""
from __future__ import annotations

import numpy as np

from fastnn import _metrics_checks as chk
from fastnn._metrics_base import Metric, _WeightedMean


class MeanSquaredError(_WeightedMean):
    """Mean squared error (Keras ``MeanSquaredError``).

    Per sample, the mean of ``(y_true - y_pred) ** 2`` over its columns; the result is
    the weighted mean over samples.

    Parameters
    ----------
    name : str, optional
        Defaults to ``"mean_squared_error"``.

    Examples
    --------
    >>> MeanSquaredError()([[0, 1], [0, 0]], [[1, 1], [0, 0]])
    0.25
    """

    _default_name = "mean_squared_error"

    def _per_sample(self, y_true, y_pred):
        t, p = chk.pair(y_true, y_pred)
        return np.square(t - p).mean(axis=1), t.shape[0], p.shape


class MeanAbsoluteError(_WeightedMean):
    """Mean absolute error (Keras ``MeanAbsoluteError``).

    Per sample, the mean of ``|y_true - y_pred|`` over its columns; the result is the
    weighted mean over samples.

    Parameters
    ----------
    name : str, optional
        Defaults to ``"mean_absolute_error"``.

    Examples
    --------
    >>> MeanAbsoluteError()([[0, 1], [0, 0]], [[1, 1], [0, 0]])
    0.25
    """

    _default_name = "mean_absolute_error"

    def _per_sample(self, y_true, y_pred):
        t, p = chk.pair(y_true, y_pred)
        return np.abs(t - p).mean(axis=1), t.shape[0], p.shape


class RootMeanSquaredError(MeanSquaredError):
    """Root mean squared error (Keras ``RootMeanSquaredError``).

    The square root of :class:`MeanSquaredError` over everything seen (not a mean of
    per-batch roots).

    Parameters
    ----------
    name : str, optional
        Defaults to ``"root_mean_squared_error"``.

    Examples
    --------
    >>> RootMeanSquaredError()([[0, 1], [0, 0]], [[1, 1], [0, 0]])
    0.5
    """

    _default_name = "root_mean_squared_error"

    def result(self):
        """``sqrt`` of the weighted mean squared error seen so far.

        Returns
        -------
        float
            ``0.0`` before any update.
        """
        return float(np.sqrt(super().result()))


_AGGREGATIONS = ("uniform_average", "variance_weighted_average")


class R2Score(Metric):
    """Coefficient of determination R^2 (Keras ``R2Score``; sklearn ``r2_score``).

    Per output column ``R2 = 1 - SS_res / SS_tot`` with weighted sums of squares around
    the weighted mean of ``y_true``, accumulated over batches with a numerically stable
    merge (mean and sum of squared deviations per batch, combined exactly).

    Parameters
    ----------
    class_aggregation : {"uniform_average", "variance_weighted_average"}
        How to combine the columns: the plain mean of their scores (sklearn's default
        ``multioutput="uniform_average"``) or their mean weighted by ``SS_tot``.
    name : str, optional
        Defaults to ``"r2_score"``.

    Notes
    -----
    ``y_true`` and ``y_pred`` are ``(n,)`` or ``(n, k)``; the column count is fixed by the
    first batch. A column with ``SS_tot == 0`` (constant targets) scores ``1.0`` when
    predicted exactly and ``0.0`` otherwise (sklearn's ``force_finite=True``); Keras
    would report NaN or 0 there. Keras' ``num_regressors`` (adjusted R2) and
    ``class_aggregation=None`` are not supported.

    Examples
    --------
    >>> R2Score()([1.0, 2.0, 3.0], [1.0, 2.0, 2.0])
    0.5
    """

    _default_name = "r2_score"

    def __init__(self, class_aggregation="uniform_average", name=None):
        if class_aggregation not in _AGGREGATIONS:
            raise ValueError(
                "class_aggregation: expected 'uniform_average' or 'variance_weighted_average', "
                f"got {class_aggregation!r}"
            )
        self.class_aggregation = class_aggregation
        super().__init__(name=name)
        self.reset_state()

    def reset_state(self):
        """Forget all accumulated statistics (and the number of columns).

        Returns
        -------
        None
        """
        self._k = None
        self._weight = self._mean = self._ss_tot = self._ss_res = None

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Accumulate weighted sums of squares from one batch.

        Parameters
        ----------
        y_true : array_like
            Targets, ``(n,)`` or ``(n, k)``.
        y_pred : array_like
            Predictions of the same shape.
        sample_weight : array_like, optional
            A scalar, ``(n,)`` or ``(n, 1)``; finite and non-negative.

        Returns
        -------
        None
        """
        t, p = chk.pair(y_true, y_pred)
        chk.check_columns(self._k, p.shape[1])
        w = chk.sample_weights(sample_weight, t.shape[0], p.shape)
        if w is None:
            w = np.ones(t.shape[0])
        k = p.shape[1]
        if self._k is None:
            self._k = k
            self._weight = 0.0
            self._mean, self._ss_tot, self._ss_res = np.zeros(k), np.zeros(k), np.zeros(k)
        wb = float(w.sum())
        if wb <= 0:
            return
        mean_b = (w @ t) / wb
        ss_b = w @ np.square(t - mean_b)
        # A column constant over the batch's weighted rows has exactly that mean and no
        # spread (the weighted sum's rounding would leave an SS_tot of ~1e-33: R2 ~ -1e29).
        tw = t[w > 0]
        const = np.all(tw == tw[:1], axis=0)
        mean_b[const], ss_b[const] = tw[0, const], 0.0
        self._ss_res = self._ss_res + w @ np.square(t - p)
        wa = self._weight
        total = wa + wb
        delta = mean_b - self._mean
        self._mean = self._mean + delta * (wb / total)
        self._ss_tot = self._ss_tot + ss_b + np.square(delta) * (wa * wb / total)
        self._weight = total

    def _column_scores(self):
        res, tot = self._ss_res, self._ss_tot
        scores = np.where(res == 0, 1.0, 0.0)
        nz = (tot != 0) & (res != 0)
        scores[nz] = 1.0 - res[nz] / tot[nz]
        return scores

    def result(self):
        """R2 over everything seen, combined over columns.

        Returns
        -------
        float
            ``0.0`` before any update (or while every weight seen was zero).
        """
        if self._k is None or self._weight <= 0:
            return 0.0
        scores = self._column_scores()
        if self.class_aggregation == "variance_weighted_average" and (self._ss_tot != 0).any():
            return float(scores @ self._ss_tot / self._ss_tot.sum())
        return float(scores.mean())

    def get_config(self):
        """Constructor arguments as a JSON-safe dict.

        Returns
        -------
        dict
        """
        return {**super().get_config(), "class_aggregation": self.class_aggregation}
