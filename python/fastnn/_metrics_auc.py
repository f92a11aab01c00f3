"""Exact ROC AUC from the scores seen (rank statistic with tied scores counted half)."""
from __future__ import annotations

import numpy as np

from fastnn import _metrics_checks as chk
from fastnn._metrics_base import Metric


def _roc_auc(scores, positive, w):
    """Weighted ROC AUC of one column; ``nan`` when a class has no (weight) samples.

    The area under the trapezoid ROC curve through all distinct thresholds equals the
    probability that a positive scores above a negative, ties counted as 1/2:
    ``sum_g pos_g * (neg_below_g + neg_g / 2) / (P * N)`` over groups ``g`` of equal score.
    """
    uniq, group = np.unique(scores, return_inverse=True)
    group = group.reshape(-1)
    wpos = w * positive
    pos = np.bincount(group, weights=wpos, minlength=uniq.size)
    neg = np.bincount(group, weights=w - wpos, minlength=uniq.size)
    p_tot, n_tot = pos.sum(), neg.sum()
    if p_tot <= 0 or n_tot <= 0:
        return float("nan")
    neg_below = np.cumsum(neg) - neg
    return float(pos @ (neg_below + 0.5 * neg) / (p_tot * n_tot))


class AUC(Metric):
    """Exact area under the ROC curve (Keras ``AUC(curve="ROC")`` without binning).

    Keeps every score seen since the last reset and computes the area from their ranks:
    the trapezoid ROC curve through every distinct score, ties handled like
    ``sklearn.metrics.roc_auc_score`` (a tie between a positive and a negative counts 1/2).

    Parameters
    ----------
    multi_label : bool, default True
        For several columns: ``True`` computes one AUC per column and averages them
        (sklearn's ``average="macro"``); ``False`` pools all elements into one binary
        problem (sklearn's ``average="micro"``, the Keras default).
    name : str, optional
        Defaults to ``"auc"``.

    Notes
    -----
    ``y_true`` holds 0 or 1, ``(n,)`` or ``(n, k)``; ``y_pred`` scores of the same shape
    (no NaN). The number of columns is fixed by the first batch. Differences from Keras:
    no ``num_thresholds`` (the result is exact, not an approximation over 200 bins), only
    the ROC curve, and ``multi_label`` defaults to True.

    A column with no positive or no negative (weighted) samples has an undefined AUC
    (scikit-learn raises); here it counts as ``0.0``, as in Keras. Memory grows with the
    number of samples seen; :meth:`result` sorts them (O(n log n)), so call it when the
    value is needed, not after every batch of a long epoch.

    Examples
    --------
    >>> AUC()([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """

    _default_name = "auc"

    def __init__(self, multi_label=True, name=None):
        if not isinstance(multi_label, (bool, np.bool_)):
            raise TypeError(f"multi_label: expected a bool, got {type(multi_label).__name__}")
        self.multi_label = bool(multi_label)
        super().__init__(name=name)
        self.reset_state()

    def reset_state(self):
        """Forget all scores seen (and the number of columns).

        Returns
        -------
        None
        """
        self._k = None
        self._labels, self._scores, self._weights = [], [], []
        self._cached = None

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Store the labels, scores and weights of one batch.

        Parameters
        ----------
        y_true : array_like
            Binary labels (0 or 1), ``(n,)`` or ``(n, k)``.
        y_pred : array_like
            Scores of the same shape; NaN is rejected.
        sample_weight : array_like, optional
            A scalar, ``(n,)`` or ``(n, 1)``; finite and non-negative.

        Returns
        -------
        None
        """
        t, p = chk.pair(y_true, y_pred)
        chk.check_columns(self._k, p.shape[1])
        w = chk.sample_weights(sample_weight, t.shape[0], p.shape)
        labels = chk.binary_labels(t)
        if np.isnan(p).any():
            raise ValueError(f"y_pred: contains NaN ({chk.describe(p)})")
        if w is None:
            w = np.ones(t.shape[0])
        self._k = p.shape[1]
        # own copies: the caller may reuse its buffers
        self._labels.append(np.array(labels))
        self._scores.append(np.array(p, dtype=np.float64))
        self._weights.append(np.array(w, dtype=np.float64))
        self._cached = None

    def _merged(self):
        if len(self._scores) > 1:
            self._labels = [np.concatenate(self._labels)]
            self._scores = [np.concatenate(self._scores)]
            self._weights = [np.concatenate(self._weights)]
        return self._labels[0], self._scores[0], self._weights[0]

    def result(self):
        """ROC AUC over everything seen.

        Returns
        -------
        float
            ``0.0`` before any update; undefined columns count as ``0.0``.
        """
        if self._k is None:
            return 0.0
        if self._cached is None:
            t, p, w = self._merged()
            if self.multi_label or self._k == 1:
                aucs = [_roc_auc(p[:, j], t[:, j], w) for j in range(self._k)]
            else:
                aucs = [_roc_auc(p.reshape(-1), t.reshape(-1), np.repeat(w, self._k))]
            self._cached = float(np.mean(np.nan_to_num(aucs, nan=0.0)))
        return self._cached

    def get_config(self):
        """Constructor arguments as a JSON-safe dict.

        Returns
        -------
        dict
        """
        return {**super().get_config(), "multi_label": self.multi_label}
