"""Preprocessing: feature scaling fitted on training data only, one-hot encoding and label
encoding; :class:`Augment` (noise and mixup of training batches). pandas DataFrames and
Series are accepted wherever arrays are (converted once with ``to_numpy``); outputs are
always numpy arrays."""
from __future__ import annotations

import numbers

import numpy as np

from fastnn._augment import Augment

__all__ = ["Standardizer", "MinMaxScaler", "one_hot", "LabelEncoder", "Augment"]


def _as_array(v, name):
    if hasattr(v, "to_numpy") and not isinstance(v, np.ndarray):
        v = v.to_numpy()
    try:
        a = np.asarray(v)
    except Exception as e:
        raise TypeError(f"{name}: cannot convert {type(v).__name__} to an array ({e})") from None
    return a


def _as_2d(v, name):
    a = _as_array(v, name)
    if a.dtype == object or a.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected real numbers, got shape {a.shape} and dtype {a.dtype}")
    if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"{name}: expected a non-empty 2-D array (samples, features), got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name}: contains NaN or Inf (shape {a.shape})")
    return a


class _Scaler:
    """Shared transform logic: ``(x - offset) / scale``."""

    _attrs = ()

    def _check_fitted(self):
        if getattr(self, "scale_", None) is None:
            raise RuntimeError(f"{type(self).__name__}: call fit first")

    def _x(self, x, name="x"):
        self._check_fitted()
        a = _as_2d(x, name)
        if a.shape[1] != self.scale_.shape[0]:
            raise ValueError(f"{name}: fitted on {self.scale_.shape[0]} features, got shape {a.shape}")
        return a

    def transform(self, x):
        """Scale ``x`` (n, features) with the fitted statistics; float64 unless ``x`` is float32."""
        a = self._x(x)
        dt = a.dtype if a.dtype in (np.float32, np.float64) else np.float64
        return ((a - self.offset_) / self.scale_).astype(dt, copy=False)

    def inverse_transform(self, x):
        """Undo :meth:`transform`."""
        a = self._x(x)
        dt = a.dtype if a.dtype in (np.float32, np.float64) else np.float64
        return (a * self.scale_ + self.offset_).astype(dt, copy=False)

    def fit_transform(self, x):
        """``fit(x)`` then ``transform(x)``."""
        return self.fit(x).transform(x)

    def get_config(self):
        """The fitted statistics as a JSON-safe dict (lists of floats)."""
        cfg = {"class_name": type(self).__name__}
        for a in self._attrs:
            v = getattr(self, a, None)
            cfg[a] = None if v is None else np.asarray(v, dtype=np.float64).tolist()
        return cfg

    @classmethod
    def from_config(cls, cfg):
        """Rebuild from :meth:`get_config`."""
        obj = cls()
        for a in cls._attrs:
            v = cfg.get(a)
            if v is not None:
                setattr(obj, a, np.asarray(v, dtype=np.float64))
        if all(getattr(obj, a, None) is not None for a in cls._attrs):
            obj._derive()  # (an unfitted scaler's config rebuilds an unfitted scaler)
        return obj


class Standardizer(_Scaler):
    """Zero mean, unit variance per feature: ``(x - mean_) / std_``.

    Fit it on the training data only, then transform training, validation and test data
    with the same statistics. Columns with zero variance get ``std_ = 1`` (they are only
    centred), so no division by zero happens.

    Attributes
    ----------
    mean_, std_ : ndarray (features,), float64
    """

    _attrs = ("mean_", "std_")

    def __init__(self):
        self.mean_ = self.std_ = self.scale_ = self.offset_ = None

    def fit(self, x):
        """Compute the mean and (population) standard deviation of each column of ``x``."""
        a = _as_2d(x, "x").astype(np.float64)
        self.mean_ = a.mean(axis=0)
        std = a.std(axis=0)
        # A constant column: exactly its value and std 1 (the mean of ten 0.1s is not 0.1 in
        # floating point, which left a std of ~1e-17 and scaled the column to +-1).
        const = np.all(a == a[:1], axis=0)
        self.mean_[const] = a[0, const]
        self.std_ = np.where(const | ~(std > 0), 1.0, std)
        self._derive()
        return self

    def _derive(self):
        self.offset_, self.scale_ = self.mean_, self.std_


class MinMaxScaler(_Scaler):
    """Scale each feature linearly to ``feature_range`` (default [0, 1]) using the training
    minimum and maximum. Constant columns map to the lower end of the range.

    Parameters
    ----------
    feature_range : (float, float), default (0, 1)

    Attributes
    ----------
    data_min_, data_max_ : ndarray (features,), float64
    """

    _attrs = ("data_min_", "data_max_", "feature_range_")

    def __init__(self, feature_range=(0.0, 1.0)):
        lo, hi = feature_range
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise ValueError(f"feature_range: expected (low, high) with low < high, got {feature_range!r}")
        self.feature_range_ = np.array([lo, hi], dtype=np.float64)
        self.data_min_ = self.data_max_ = self.scale_ = self.offset_ = None

    def fit(self, x):
        """Record the per-column minimum and maximum of ``x``."""
        a = _as_2d(x, "x").astype(np.float64)
        self.data_min_, self.data_max_ = a.min(axis=0), a.max(axis=0)
        self._derive()
        return self

    def _derive(self):
        lo, hi = self.feature_range_
        rng = self.data_max_ - self.data_min_
        rng = np.where(rng > 0, rng, 1.0)
        self.scale_ = rng / (hi - lo)
        self.offset_ = self.data_min_ - lo * self.scale_


def one_hot(labels, n_classes=None, dtype="float32"):
    """One-hot encode integer class indices.

    Parameters
    ----------
    labels : array-like (n,) of ints in ``[0, n_classes)``
    n_classes : int, optional
        Default: ``max(labels) + 1``.
    dtype : dtype, default float32

    Returns
    -------
    ndarray (n, n_classes)
    """
    a = _as_array(labels, "labels")
    if a.ndim != 1:
        raise ValueError(f"labels: expected a 1-D array of class indices, got shape {a.shape}")
    if a.dtype.kind == "f":
        if not np.isfinite(a).all() or (a != np.round(a)).any():
            raise ValueError("labels: expected whole class indices, got non-integral floats")
    elif a.dtype.kind not in "iub":
        raise TypeError(f"labels: expected integer class indices, got dtype {a.dtype} (use LabelEncoder)")
    if a.size and a.min() < 0:
        raise ValueError(f"labels: class indices must be >= 0, got {a.min().item()}")
    if a.size and n_classes is not None and not isinstance(n_classes, bool) and \
            isinstance(n_classes, numbers.Integral) and a.max() >= n_classes:  # (before the cast wraps 2**63)
        raise ValueError(f"labels: index {a.max().item():.0f} out of range for n_classes={n_classes}")
    a = a.astype(np.int64)
    k = int(a.max()) + 1 if a.size else 0
    if n_classes is None:
        if not a.size:
            raise ValueError("labels: empty; give n_classes to encode no rows")
        n_classes = k
    elif isinstance(n_classes, bool) or not isinstance(n_classes, numbers.Integral) or n_classes < 1:
        raise ValueError(f"n_classes: expected an int >= 1, got {n_classes!r}")
    elif k > n_classes:
        raise ValueError(f"labels: index {k - 1} out of range for n_classes={n_classes}")
    out = np.zeros((a.shape[0], int(n_classes)), dtype=dtype)
    out[np.arange(a.shape[0]), a] = 1
    return out


class LabelEncoder:
    """Map arbitrary labels (strings, ints, ...) to ``0 .. n_classes-1`` in sorted order.

    Attributes
    ----------
    classes_ : ndarray
        The sorted distinct labels seen by :meth:`fit`.
    """

    def __init__(self):
        self.classes_ = None

    def fit(self, y):
        """Learn the distinct labels of ``y`` (1-D)."""
        a = self._y(y)
        if a.size == 0:
            raise ValueError("y: empty labels")
        self.classes_ = np.unique(a)
        return self

    @staticmethod
    def _y(y):
        a = _as_array(y, "y")
        if a.ndim != 1:
            raise ValueError(f"y: expected a 1-D array of labels, got shape {a.shape}")
        return a

    def transform(self, y):
        """Class indices (int64) of ``y``; unseen labels raise ValueError."""
        if self.classes_ is None:
            raise RuntimeError("LabelEncoder: call fit first")
        a = self._y(y)
        if a.size == 0:
            return np.zeros(0, dtype=np.int64)
        idx = np.searchsorted(self.classes_, a)
        idx = np.clip(idx, 0, len(self.classes_) - 1)
        found = self.classes_[idx]
        bad = found != a
        if a.dtype.kind in "fc" and found.dtype.kind in "fc":  # NaN is a label (np.unique keeps one, last)
            bad &= ~(np.isnan(found) & np.isnan(a))
        if np.any(bad):
            raise ValueError(f"y: unseen labels {np.unique(a[bad])[:5].tolist()}")
        return idx.astype(np.int64)

    def fit_transform(self, y):
        """``fit(y)`` then ``transform(y)``."""
        return self.fit(y).transform(y)

    def inverse_transform(self, idx):
        """Labels of class indices ``idx``."""
        if self.classes_ is None:
            raise RuntimeError("LabelEncoder: call fit first")
        a = _as_array(idx, "idx")
        if a.ndim == 1 and a.size == 0:
            return self.classes_[:0]
        if a.ndim != 1 or a.dtype.kind not in "iu":
            raise ValueError(f"idx: expected 1-D integer indices, got shape {a.shape} and dtype {a.dtype}")
        if a.size and (a.min() < 0 or a.max() >= len(self.classes_)):
            raise ValueError(f"idx: indices must be in [0, {len(self.classes_)}), got range "
                             f"[{a.min()}, {a.max()}]")
        return self.classes_[a]
