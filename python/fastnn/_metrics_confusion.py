"""Thresholded confusion-count metrics: Precision, Recall, F1Score."""
from __future__ import annotations

import numpy as np

from fastnn import _metrics_checks as chk
from fastnn._metrics_base import Metric


def _ratio(num, den):
    """``num / den`` elementwise, 0 where ``den == 0``."""
    num = np.asarray(num, np.float64)
    den = np.asarray(den, np.float64)
    out = np.zeros(np.broadcast(num, den).shape)
    np.divide(num, den, out=out, where=den != 0)
    return out


def _weighted_counts(t, pred, w):
    """Per-column weighted true positives, false positives, false negatives, support."""
    if w is None:
        w = np.ones(t.shape[0])
    tp = w @ (t & pred)
    fp = w @ (~t & pred)
    fn = w @ (t & ~pred)
    support = w @ t
    return tp, fp, fn, support


class _BinaryCounts(Metric):
    """Weighted TP/FP/FN over every element of ``y_pred > threshold`` (Keras micro-counts)."""

    def __init__(self, threshold=0.5, name=None):
        self.threshold = chk.check_threshold(threshold)
        super().__init__(name=name)
        self.reset_state()

    def reset_state(self):
        """Forget all accumulated statistics.

        Returns
        -------
        None
        """
        self.true_positives = 0.0
        self.false_positives = 0.0
        self.false_negatives = 0.0

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Accumulate weighted confusion counts from one batch.

        Parameters
        ----------
        y_true : array_like
            Binary labels (0 or 1), ``(n,)`` or ``(n, k)``.
        y_pred : array_like
            Probabilities, same shape; positive where ``y_pred > threshold``.
        sample_weight : array_like, optional
            A scalar, ``(n,)`` or ``(n, 1)``; finite and non-negative.

        Returns
        -------
        None
        """
        t, p = chk.pair(y_true, y_pred)
        w = chk.sample_weights(sample_weight, t.shape[0], p.shape)
        tp, fp, fn, _ = _weighted_counts(chk.binary_labels(t), p > self.threshold, w)
        self.true_positives += float(tp.sum())
        self.false_positives += float(fp.sum())
        self.false_negatives += float(fn.sum())

    def get_config(self):
        """Constructor arguments as a JSON-safe dict.

        Returns
        -------
        dict
        """
        return {**super().get_config(), "threshold": self.threshold}


class Precision(_BinaryCounts):
    """Precision ``TP / (TP + FP)`` of thresholded predictions (Keras ``Precision``).

    Parameters
    ----------
    threshold : float, default 0.5
        In [0, 1]; a prediction is positive where ``y_pred > threshold``. (Keras calls this
        argument ``thresholds`` and also accepts a list, ``top_k`` and ``class_id``; those
        are not supported.)
    name : str, optional
        Defaults to ``"precision"``.

    Notes
    -----
    ``y_true`` must hold 0 or 1 (a ValueError otherwise). With several columns every
    element counts (multi-label micro average). Weighted counts; ``0.0`` when nothing was
    predicted positive.

    Examples
    --------
    >>> Precision()([0, 1, 1, 1], [1, 0, 1, 1])
    0.6666666666666666
    """

    _default_name = "precision"

    def result(self):
        """``TP / (TP + FP)`` over everything seen.

        Returns
        -------
        float
            ``0.0`` when ``TP + FP == 0`` (also before any update).
        """
        return float(_ratio(self.true_positives, self.true_positives + self.false_positives))


class Recall(_BinaryCounts):
    """Recall ``TP / (TP + FN)`` of thresholded predictions (Keras ``Recall``).

    Parameters
    ----------
    threshold : float, default 0.5
        In [0, 1]; a prediction is positive where ``y_pred > threshold``. (Keras calls this
        argument ``thresholds``; lists, ``top_k`` and ``class_id`` are not supported.)
    name : str, optional
        Defaults to ``"recall"``.

    Notes
    -----
    As for :class:`Precision`; ``0.0`` when there were no positive labels.

    Examples
    --------
    >>> Recall()([0, 1, 1, 1], [1, 0, 1, 1])
    0.6666666666666666
    """

    _default_name = "recall"

    def result(self):
        """``TP / (TP + FN)`` over everything seen.

        Returns
        -------
        float
            ``0.0`` when ``TP + FN == 0`` (also before any update).
        """
        return float(_ratio(self.true_positives, self.true_positives + self.false_negatives))


_AVERAGES = (None, "micro", "macro", "weighted")


class F1Score(Metric):
    """F1 score per class or averaged (Keras 3 ``F1Score``).

    Parameters
    ----------
    average : {None, "micro", "macro", "weighted"}, default None
        ``None``: one score per class (the result is an array); ``"micro"``: from the
        counts summed over classes; ``"macro"``: the unweighted mean of the class scores;
        ``"weighted"``: their mean weighted by each class's (weighted) support.
    threshold : float, optional
        In (0, 1]: a class is predicted where ``y_pred > threshold``. ``None`` (default):
        in each row the class(es) with the highest score are predicted (argmax; ties
        predict every tied class) -- except for a single column, where ``None`` means
        0.5 (Keras would predict every sample positive there).
    name : str, optional
        Defaults to ``"f1_score"``.

    Notes
    -----
    ``y_true`` is one-hot or multi-hot, 0 or 1, ``(n, num_classes)`` (a 1-D array is one
    column); ``y_pred`` the same shape. The number of classes is fixed by the first batch.

    Per class ``F1 = 2 TP / (2 TP + FP + FN)`` from weighted counts, ``0`` where that is
    ``0 / 0``. Keras adds ``epsilon = 1e-7`` to its denominators; this computes exactly,
    so results agree with ``sklearn.metrics.f1_score`` (``zero_division=0``) and differ
    from Keras by about ``1e-7``.

    Unlike the other metrics, with ``average=None`` :meth:`result` returns a float64
    array of shape ``(num_classes,)`` (``0.0`` before any update).

    Examples
    --------
    >>> F1Score(average="macro")([[1, 0], [0, 1], [0, 1]], [[0.9, 0.1], [0.6, 0.4], [0.2, 0.8]])
    0.6666666666666666
    """

    _default_name = "f1_score"

    def __init__(self, average=None, threshold=None, name=None):
        if average not in _AVERAGES:
            raise ValueError(
                f"average: expected one of None, 'micro', 'macro', 'weighted', got {average!r}"
            )
        if threshold is not None:
            threshold = chk.check_scalar(threshold, "threshold", low=0.0, high=1.0,
                                         low_inclusive=False)
        self.average = average
        self.threshold = threshold
        super().__init__(name=name)
        self.reset_state()

    def reset_state(self):
        """Forget all accumulated statistics (and the number of classes).

        Returns
        -------
        None
        """
        self._k = None
        self.true_positives = self.false_positives = self.false_negatives = None
        self._support = None

    def _predicted(self, p):
        if self.threshold is not None:
            return p > self.threshold
        if p.shape[1] == 1:
            return p > 0.5
        return p >= p.max(axis=1, keepdims=True)

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Accumulate per-class weighted confusion counts from one batch.

        Parameters
        ----------
        y_true : array_like
            0/1 labels, ``(n, num_classes)`` (or ``(n,)`` for one column).
        y_pred : array_like
            Scores of the same shape.
        sample_weight : array_like, optional
            A scalar, ``(n,)`` or ``(n, 1)``; finite and non-negative.

        Returns
        -------
        None
        """
        t, p = chk.pair(y_true, y_pred)
        chk.check_columns(self._k, p.shape[1])
        w = chk.sample_weights(sample_weight, t.shape[0], p.shape)
        counts = _weighted_counts(chk.binary_labels(t), self._predicted(p), w)
        if self._k is None:
            self._k = p.shape[1]
            (self.true_positives, self.false_positives, self.false_negatives,
             self._support) = (np.asarray(c, np.float64) for c in counts)
        else:
            self.true_positives = self.true_positives + counts[0]
            self.false_positives = self.false_positives + counts[1]
            self.false_negatives = self.false_negatives + counts[2]
            self._support = self._support + counts[3]

    def result(self):
        """The F1 score(s) over everything seen.

        Returns
        -------
        float or numpy.ndarray
            A float for ``"micro"``, ``"macro"`` and ``"weighted"``; a float64 array of
            per-class scores for ``average=None``. ``0.0`` before any update.
        """
        if self._k is None:
            return 0.0
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        if self.average == "micro":
            return float(_ratio(2 * tp.sum(), 2 * tp.sum() + fp.sum() + fn.sum()))
        f1 = _ratio(2 * tp, 2 * tp + fp + fn)
        if self.average is None:
            return f1
        if self.average == "macro":
            return float(f1.mean())
        return float(_ratio(f1 @ self._support, self._support.sum()))

    def get_config(self):
        """Constructor arguments as a JSON-safe dict.

        Returns
        -------
        dict
        """
        return {**super().get_config(), "average": self.average, "threshold": self.threshold}
