"""Accuracy metrics: the weighted mean of a per-sample 0/1 (or fraction) score."""
from __future__ import annotations

import numpy as np

from fastnn import _metrics_checks as chk
from fastnn._metrics_base import _WeightedMean
from fastnn._validate import as_array, describe


class Accuracy(_WeightedMean):
    """How often ``y_pred`` equals ``y_true`` exactly (Keras ``Accuracy``).

    Per sample, the fraction of its columns where ``y_true == y_pred`` (compared in
    float64); the result is the weighted mean over samples.

    Parameters
    ----------
    name : str, optional
        Defaults to ``"accuracy"``.

    Notes
    -----
    ``y_true`` and ``y_pred`` are ``(n,)`` or ``(n, k)`` of the same shape (``(n,)`` and
    ``(n, 1)`` mix). Keras averages a 1-D batch into a single sample; here each row is a
    sample, so batching never changes the result.

    Examples
    --------
    >>> Accuracy()([1, 2, 3, 4], [0, 2, 3, 4])
    0.75
    """

    _default_name = "accuracy"

    def _per_sample(self, y_true, y_pred):
        t, p = chk.pair(y_true, y_pred)
        return (t == p).mean(axis=1), t.shape[0], p.shape


class BinaryAccuracy(_WeightedMean):
    """How often thresholded predictions match binary labels (Keras ``BinaryAccuracy``).

    A prediction counts as 1 where ``y_pred > threshold`` and 0 elsewhere; per sample the
    fraction of columns equal to ``y_true``; the result is the weighted mean over samples.

    Parameters
    ----------
    threshold : float, default 0.5
        In [0, 1]; ``y_pred`` are probabilities.
    name : str, optional
        Defaults to ``"binary_accuracy"``.

    Examples
    --------
    >>> BinaryAccuracy()([1, 1, 0, 0], [0.98, 0.4, 0.6, 0.0])
    0.5
    """

    _default_name = "binary_accuracy"

    def __init__(self, threshold=0.5, name=None):
        self.threshold = chk.check_threshold(threshold)
        super().__init__(name=name)

    def _per_sample(self, y_true, y_pred):
        t, p = chk.pair(y_true, y_pred)
        return (t == (p > self.threshold)).mean(axis=1), t.shape[0], p.shape

    def get_config(self):
        """Constructor arguments as a JSON-safe dict.

        Returns
        -------
        dict
        """
        return {**super().get_config(), "threshold": self.threshold}


def _scores_2d(y_pred):
    p = as_array(y_pred, "y_pred")
    if p.ndim != 2 or p.shape[1] == 0:
        raise ValueError(f"y_pred: expected 2-D scores (n, num_classes), got {describe(p)}")
    return p.astype(np.float64, copy=False)


def _onehot_labels(y_true, p):
    """``argmax(y_true)`` for one-hot ``y_true`` of the shape of ``p``."""
    t = as_array(y_true, "y_true")
    if t.shape != p.shape:
        raise ValueError(
            f"y_true and y_pred: shapes do not match: y_true has {describe(t)}, "
            f"y_pred has {describe(p)} (y_true must be one-hot, shape (n, num_classes))"
        )
    return np.argmax(t, axis=1) if t.shape[0] else np.zeros(0, np.int64)


def _in_top_k(labels, p, k):
    """1.0 where the label's score is among the ``k`` largest, ties counted in (a label
    is in the top k when fewer than ``k`` scores are strictly larger than its own; a NaN
    score is never in the top k)."""
    if p.shape[0] == 0:
        return np.zeros(0, np.float64)
    own = np.take_along_axis(p, labels[:, None], axis=1)
    hit = ((p > own).sum(axis=1) < k) & ~np.isnan(own[:, 0])
    return hit.astype(np.float64)


class CategoricalAccuracy(_WeightedMean):
    """How often ``argmax(y_pred)`` equals ``argmax(y_true)`` (Keras ``CategoricalAccuracy``).

    Parameters
    ----------
    name : str, optional
        Defaults to ``"categorical_accuracy"``.

    Notes
    -----
    ``y_true`` is one-hot ``(n, num_classes)``; ``y_pred`` scores of the same shape
    (probabilities or logits). Ties in ``argmax`` go to the first index.

    Examples
    --------
    >>> CategoricalAccuracy()([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
    0.5
    """

    _default_name = "categorical_accuracy"

    def _per_sample(self, y_true, y_pred):
        p = _scores_2d(y_pred)
        labels = _onehot_labels(y_true, p)
        hit = (np.argmax(p, axis=1) == labels) if p.shape[0] else np.zeros(0, bool)
        return hit.astype(np.float64), p.shape[0], p.shape


class SparseCategoricalAccuracy(_WeightedMean):
    """How often ``argmax(y_pred)`` equals integer labels (Keras
    ``SparseCategoricalAccuracy``).

    Parameters
    ----------
    name : str, optional
        Defaults to ``"sparse_categorical_accuracy"``.

    Notes
    -----
    ``y_true`` holds class indices, ``(n,)`` or ``(n, 1)``, whole numbers in
    ``[0, num_classes)`` (Keras does not check the range; here a label out of range is a
    ValueError). ``y_pred`` is 2-D ``(n, num_classes)``. Ties go to the first index.

    Examples
    --------
    >>> SparseCategoricalAccuracy()([2, 1], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]])
    0.5
    """

    _default_name = "sparse_categorical_accuracy"

    def _per_sample(self, y_true, y_pred):
        p = _scores_2d(y_pred)
        labels = chk.sparse_labels(y_true, p.shape[0], p.shape[1])
        hit = (np.argmax(p, axis=1) == labels) if p.shape[0] else np.zeros(0, bool)
        return hit.astype(np.float64), p.shape[0], p.shape


class TopKCategoricalAccuracy(_WeightedMean):
    """How often the one-hot target is among the ``k`` highest scores (Keras
    ``TopKCategoricalAccuracy``).

    Parameters
    ----------
    k : int, default 5
        Number of top scores to look at (>= 1).
    name : str, optional
        Defaults to ``"top_k_categorical_accuracy"``.

    Notes
    -----
    The target counts as found when fewer than ``k`` classes score strictly higher, so
    classes tied with the k-th score are all in the top k (Keras' ``in_top_k``).

    Examples
    --------
    >>> TopKCategoricalAccuracy(k=1)([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
    0.5
    """

    _default_name = "top_k_categorical_accuracy"

    def __init__(self, k=5, name=None):
        self.k = chk.check_int(k, "k", 1)
        super().__init__(name=name)

    def _per_sample(self, y_true, y_pred):
        p = _scores_2d(y_pred)
        return _in_top_k(_onehot_labels(y_true, p), p, self.k), p.shape[0], p.shape

    def get_config(self):
        """Constructor arguments as a JSON-safe dict.

        Returns
        -------
        dict
        """
        return {**super().get_config(), "k": self.k}


class SparseTopKCategoricalAccuracy(TopKCategoricalAccuracy):
    """How often the integer target is among the ``k`` highest scores (Keras
    ``SparseTopKCategoricalAccuracy``).

    Parameters
    ----------
    k : int, default 5
        Number of top scores to look at (>= 1).
    name : str, optional
        Defaults to ``"sparse_top_k_categorical_accuracy"``.

    Notes
    -----
    ``y_true`` as for :class:`SparseCategoricalAccuracy`; ties as for
    :class:`TopKCategoricalAccuracy`.

    Examples
    --------
    >>> SparseTopKCategoricalAccuracy(k=2)([2, 2], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]])
    0.5
    """

    _default_name = "sparse_top_k_categorical_accuracy"

    def _per_sample(self, y_true, y_pred):
        p = _scores_2d(y_pred)
        labels = chk.sparse_labels(y_true, p.shape[0], p.shape[1])
        return _in_top_k(labels, p, self.k), p.shape[0], p.shape
