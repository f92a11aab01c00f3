"""Keras-style streaming metrics (pure NumPy, float64 accumulation).

Every metric accumulates over batches with ``update_state(y_true, y_pred,
sample_weight=None)`` and reports with ``result()`` (a Python float; ``0.0`` before any
update, as in Keras); ``reset_state()`` starts over and ``metric(y_true, y_pred)`` updates
then returns the result. ``y_pred`` are model outputs after the final activation
(probabilities for the thresholded metrics); the argmax-based metrics work on logits too.

Sample weights are per sample -- a scalar, ``(n,)`` or ``(n, 1)``, finite and
non-negative -- and weighted means are ``sum(w * v) / sum(w)``.

Metrics: :class:`Mean`, :class:`Accuracy`, :class:`BinaryAccuracy`,
:class:`CategoricalAccuracy`, :class:`SparseCategoricalAccuracy`,
:class:`TopKCategoricalAccuracy`, :class:`SparseTopKCategoricalAccuracy`,
:class:`Precision`, :class:`Recall`, :class:`F1Score`, :class:`AUC`,
:class:`MeanSquaredError`, :class:`MeanAbsoluteError`, :class:`RootMeanSquaredError`,
:class:`R2Score`. Look-up: :func:`get`, :func:`resolve`, :func:`serialize`.

Differences from Keras are listed in each class's Notes; the general ones: 1-D ``y`` is
one column of ``n`` samples (Keras averages a 1-D batch into one sample), labels of the
classification metrics are checked (0/1, or class indices in range), and string look-ups
return metric objects (never bare functions).
"""
from __future__ import annotations

import re

from fastnn._metrics_accuracy import (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
)
from fastnn._metrics_auc import AUC
from fastnn._metrics_base import Mean, Metric
from fastnn._metrics_confusion import F1Score, Precision, Recall
from fastnn._metrics_regression import (
    MeanAbsoluteError,
    MeanSquaredError,
    R2Score,
    RootMeanSquaredError,
)

__all__ = [
    "Metric", "Mean", "Accuracy", "BinaryAccuracy", "CategoricalAccuracy",
    "SparseCategoricalAccuracy", "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy",
    "Precision", "Recall", "F1Score", "AUC", "MeanSquaredError", "MeanAbsoluteError",
    "RootMeanSquaredError", "R2Score", "get", "resolve", "serialize",
]

_CLASSES = {
    cls.__name__: cls
    for cls in (
        Mean, Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
        TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, Precision, Recall, F1Score,
        AUC, MeanSquaredError, MeanAbsoluteError, RootMeanSquaredError, R2Score,
    )
}

_ALIASES = {
    "accuracy": Accuracy, "acc": Accuracy,
    "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "precision": Precision, "recall": Recall,
    "f1": F1Score, "f1_score": F1Score,
    "auc": AUC,
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
    "rmse": RootMeanSquaredError, "root_mean_squared_error": RootMeanSquaredError,
    "r2": R2Score, "r2_score": R2Score,
    "mean": Mean,
}

# losses whose "accuracy" is not plain equality (Keras 2's rule, by loss)
_ACCURACY_BY_LOSS = {
    "sparse_categorical_crossentropy": SparseCategoricalAccuracy,
    "categorical_crossentropy": CategoricalAccuracy,
    "categorical_focal_crossentropy": CategoricalAccuracy,
    "binary_crossentropy": BinaryAccuracy,
    "bce": BinaryAccuracy,
    "binary_focal_crossentropy": BinaryAccuracy,
    "hinge": BinaryAccuracy,
    "squared_hinge": BinaryAccuracy,
}


def _valid_names():
    return ", ".join(sorted(_ALIASES)) + "; classes: " + ", ".join(sorted(_CLASSES))


def _from_string(identifier):
    key = identifier.strip()
    if key in _CLASSES:
        return _CLASSES[key]()
    cls = _ALIASES.get(key.lower())
    if cls is None:
        raise ValueError(f"identifier: unknown metric {identifier!r}; valid names: {_valid_names()}")
    return cls(name=key)


def _from_dict(identifier):
    name = identifier.get("class_name")
    if name not in _CLASSES:
        raise ValueError(
            f"identifier: unknown metric class_name {name!r} in {identifier!r}; "
            f"valid class names: {', '.join(sorted(_CLASSES))}"
        )
    config = identifier.get("config") or {}
    return _CLASSES[name].from_config(dict(config))


def get(identifier):
    """A metric object from a name, a config dict, a class or an instance.

    Parameters
    ----------
    identifier : str, dict, Metric subclass, Metric or None
        * a :class:`Metric` instance: returned as is;
        * a :class:`Metric` subclass: instantiated with default arguments;
        * a name (case-insensitive): ``"accuracy"``/``"acc"``, ``"binary_accuracy"``,
          ``"categorical_accuracy"``, ``"sparse_categorical_accuracy"``,
          ``"top_k_categorical_accuracy"``, ``"sparse_top_k_categorical_accuracy"``,
          ``"precision"``, ``"recall"``, ``"f1"``/``"f1_score"``, ``"auc"``,
          ``"mse"``/``"mean_squared_error"``, ``"mae"``/``"mean_absolute_error"``,
          ``"rmse"``/``"root_mean_squared_error"``, ``"r2"``/``"r2_score"``, ``"mean"``,
          or a class name such as ``"MeanSquaredError"``. A metric made from an alias is
          named by that string (``get("mse").name == "mse"``, as Keras' ``compile`` names
          string metrics); one made from a class name gets its default name;
        * a dict ``{"class_name": ..., "config": {...}}`` as made by :func:`serialize`;
        * ``None``: returns None.

    Returns
    -------
    Metric or None

    Raises
    ------
    ValueError
        For an unknown name or class name (the message lists the valid ones).
    TypeError
        For any other type.

    Notes
    -----
    ``"accuracy"`` here is plain :class:`Accuracy` (exact equality); use :func:`resolve`
    to pick the accuracy that fits the loss, as ``compile`` does.
    """
    if identifier is None:
        return None
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, str):
        return _from_string(identifier)
    if isinstance(identifier, dict):
        return _from_dict(identifier)
    raise TypeError(
        "identifier: expected a metric name, a config dict, a Metric class or instance, "
        f"got {type(identifier).__name__}"
    )


def _loss_key(loss_name):
    if loss_name is None:
        return None
    if not isinstance(loss_name, str):
        name = getattr(loss_name, "name", None)
        if not isinstance(name, str):
            name = getattr(loss_name, "__name__", None) or type(loss_name).__name__
        loss_name = name
    # "SparseCategoricalCrossentropy" -> "sparse_categorical_crossentropy"
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", loss_name.strip()).lower()


def resolve(identifier, loss_name=None):
    """Like :func:`get`, but ``"accuracy"``/``"acc"`` follow the loss (as Keras does).

    Parameters
    ----------
    identifier : str, dict, Metric subclass, Metric or None
        As for :func:`get`.
    loss_name : str or loss object, optional
        The loss the model is compiled with: a name (``"binary_crossentropy"``) or class
        name (``"BinaryCrossentropy"``); an object's ``name`` attribute (or class name)
        is used.

    Returns
    -------
    Metric or None
        For ``"accuracy"``/``"acc"``: :class:`SparseCategoricalAccuracy` for
        ``sparse_categorical_crossentropy``, :class:`CategoricalAccuracy` for
        ``categorical_crossentropy`` (and its focal variant), :class:`BinaryAccuracy` for
        ``binary_crossentropy``, ``hinge``, ``squared_hinge`` (and binary focal), else
        :class:`Accuracy`; the metric keeps the name given (``"accuracy"`` or ``"acc"``).
        Anything else: ``get(identifier)``.

    Notes
    -----
    Keras 3 picks the accuracy from the shapes of ``y_true``/``y_pred`` at the first
    batch; this follows the loss instead (Keras 2's rule), so it is known at compile time.
    """
    if isinstance(identifier, str) and identifier.strip().lower() in ("accuracy", "acc"):
        cls = _ACCURACY_BY_LOSS.get(_loss_key(loss_name), Accuracy)
        return cls(name=identifier.strip())
    return get(identifier)


def serialize(metric):
    """The JSON-safe description of a metric that :func:`get` turns back into one.

    Parameters
    ----------
    metric : Metric

    Returns
    -------
    dict
        ``{"class_name": type(metric).__name__, "config": metric.get_config()}``.
    """
    if not isinstance(metric, Metric):
        raise TypeError(f"metric: expected a Metric instance, got {type(metric).__name__}")
    return {"class_name": type(metric).__name__, "config": metric.get_config()}
