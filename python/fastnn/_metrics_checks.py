"""Input checks shared by the metrics (``fastnn.metrics``).

Every ``update_state`` converts its inputs here before touching its accumulators, so bad
input raises a TypeError (non-numeric dtype, wrong argument type) or a ValueError (shape,
value) naming the argument, its shape and dtype, and leaves the metric unchanged.

Conventions:

* ``y_true`` and ``y_pred`` are 1-D ``(n,)`` or 2-D ``(n, k)``; a 1-D array is one column,
  so ``(n,)`` and ``(n, 1)`` may be mixed. Everything is computed in float64.
* ``sample_weight`` is a scalar, ``(n,)`` or ``(n, 1)``; finite and non-negative.
"""
from __future__ import annotations

import numbers

import numpy as np

from fastnn._validate import as_array, check_scalar, describe

__all__ = [
    "as_values", "binary_labels", "check_columns", "check_int", "check_name", "check_threshold",
    "pair", "sample_weights", "sparse_labels", "describe", "check_scalar",
]


def check_name(name):
    """``name``: None or a str."""
    if name is not None and not isinstance(name, str):
        raise TypeError(f"name: expected a str or None, got {type(name).__name__}")
    if name is not None and not name:
        raise ValueError("name: must be a non-empty string")
    return name


def check_int(v, name, low):
    """An int (not bool) >= ``low``."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{name}: expected an int, got {type(v).__name__}")
    if int(v) < low:
        raise ValueError(f"{name}: must be >= {low}, got {int(v)}")
    return int(v)


def check_threshold(v, name="threshold"):
    """A real threshold in [0, 1]."""
    return check_scalar(v, name, low=0.0, high=1.0)


def _as_2d(a, name):
    if a.ndim == 1:
        return a.reshape(-1, 1)
    if a.ndim == 2:
        return a
    raise ValueError(f"{name}: expected a 1-D (n,) or 2-D (n, k) array, got {describe(a)}")


def _check_cols(a, name):
    if a.shape[1] == 0:
        raise ValueError(f"{name}: expected at least one column, got {describe(a)}")


def pair(y_true, y_pred):
    """``y_true`` and ``y_pred`` of one shape as 2-D float64 arrays ``(n, k)``.

    ``(n,)`` and ``(n, 1)`` count as the same shape (one column).
    """
    t = as_array(y_true, "y_true")
    p = as_array(y_pred, "y_pred")
    t2, p2 = _as_2d(t, "y_true"), _as_2d(p, "y_pred")
    if t2.shape != p2.shape:
        raise ValueError(
            f"y_true and y_pred: shapes do not match: y_true has {describe(t)}, "
            f"y_pred has {describe(p)}"
        )
    _check_cols(p2, "y_pred")
    return t2.astype(np.float64, copy=False), p2.astype(np.float64, copy=False)


def as_values(values, name="values"):
    """Per-sample values: a scalar is one sample, ``(n, ...)`` is averaged over its
    trailing axes. Returns float64 ``(n,)``."""
    v = as_array(values, name).astype(np.float64, copy=False)
    if v.ndim == 0:
        return v.reshape(1)
    if v.ndim == 1:
        return v
    n = v.shape[0]
    if n == 0:
        return np.zeros(0, np.float64)
    if v.size == 0:
        raise ValueError(f"{name}: trailing axes must not be empty, got {describe(v)}")
    return v.reshape(n, -1).mean(axis=1)


def sample_weights(sample_weight, n, shape_hint=None):
    """``None`` or float64 weights of shape ``(n,)``.

    Accepts a scalar, ``(n,)`` or ``(n, 1)``; rejects NaN, infinity and negative values.
    ``shape_hint`` (the shape of ``y_pred``/``values``) is quoted in shape errors.
    """
    if sample_weight is None:
        return None
    w0 = w = as_array(sample_weight, "sample_weight")
    if w.ndim == 0:
        w = np.full(n, float(w), np.float64)
    elif w.shape in ((n,), (n, 1)):
        w = w.reshape(n).astype(np.float64, copy=False)
    else:
        ref = f" (y_pred/values have shape {tuple(shape_hint)})" if shape_hint is not None else ""
        raise ValueError(
            f"sample_weight: expected a scalar or shape ({n},) or ({n}, 1){ref}, got {describe(w)}"
        )
    if w.size:
        if np.isnan(w).any():
            raise ValueError(f"sample_weight: contains NaN ({describe(w0)})")
        if not np.isfinite(w).all():
            raise ValueError(f"sample_weight: contains infinity ({describe(w0)})")
        if (w < 0).any():
            raise ValueError(
                f"sample_weight: weights must be >= 0, got minimum {w.min().item()!r} "
                f"({describe(w0)})"
            )
    return w


def binary_labels(t, name="y_true"):
    """Check that the float64 array ``t`` holds only 0 and 1; return it as bool."""
    bad = (t != 0) & (t != 1)
    if bad.any():
        raise ValueError(
            f"{name}: expected binary labels (0 or 1), found {t[bad].flat[0].item()!r} "
            f"(array with shape {t.shape})"
        )
    return t == 1


def sparse_labels(y_true, n, k):
    """Integer class labels ``(n,)`` or ``(n, 1)`` in ``[0, k)``, as int64 ``(n,)``."""
    t = as_array(y_true, "y_true")
    if t.ndim == 2 and t.shape[1] == 1:
        flat = t.reshape(-1)
    elif t.ndim == 1:
        flat = t
    else:
        raise ValueError(
            f"y_true: expected integer labels of shape ({n},) or ({n}, 1), got {describe(t)}"
        )
    if flat.shape[0] != n:
        raise ValueError(
            f"y_true and y_pred: number of samples differs: y_true has {describe(t)}, "
            f"y_pred has {n} rows"
        )
    if flat.dtype.kind == "f":
        if flat.size and not (np.isfinite(flat).all() and (flat == np.round(flat)).all()):
            bad = flat[~np.isfinite(flat) | (flat != np.round(flat))][0].item()
            raise ValueError(f"y_true: labels must be whole numbers, found {bad!r} ({describe(t)})")
    if flat.size:
        lo, hi = flat.min(), flat.max()
        if lo < 0 or hi >= k:
            bad = (lo if lo < 0 else hi).item()
            raise ValueError(
                f"y_true: label {bad!r} out of range [0, {k}) for y_pred with {k} columns "
                f"({describe(t)})"
            )
    return flat.astype(np.int64)


def check_columns(state_k, k, name="y_pred"):
    """The column count of later batches must match the first one."""
    if state_k is not None and state_k != k:
        raise ValueError(
            f"{name}: expected {state_k} columns (as in earlier batches), got {k}; "
            f"call reset_state() to start over with a different number of columns"
        )
