"""Validation and conversion of the data given to fit / evaluate / predict (once per call,
before any native work, so a bad call never changes a model)."""
from __future__ import annotations

import numbers

import numpy as np

from fastnn import _core
from fastnn._validate import aligned


def _describe(a):
    return f"shape {tuple(a.shape)} and dtype {a.dtype}"


def _to_array(v, name):
    if hasattr(v, "to_numpy") and not isinstance(v, np.ndarray):  # pandas DataFrame / Series
        a = v.to_numpy()
        if a.dtype == object:  # nullable (Float64, Int64, boolean) or mixed numeric/bool columns
            try:
                a = v.to_numpy(dtype=np.float64, na_value=np.nan)  # missing values: NaN, refused later
            except (TypeError, ValueError):
                pass  # text: refused as not numeric
        v = a
    if isinstance(v, np.ndarray):
        return v
    try:
        a = np.asarray(v)
    except Exception as e:  # ragged lists and the like
        raise TypeError(f"{name}: cannot convert {type(v).__name__} to an array ({e})") from None
    return a


def _check_numeric(a, name):
    if a.dtype == object or a.dtype.kind in "OSUVMmc":
        raise TypeError(f"{name}: expected real numbers, got {_describe(a)}")


def as_matrix(v, name, dtype, width=None, other_float=False):
    """A C-contiguous 2-D array of `dtype`, finite, with `width` columns when given.

    With `other_float`, a C-contiguous, aligned float32 or float64 array is returned as it
    is whatever `dtype` (model inputs: the engine converts them one batch at a time, so a
    memory-mapped file is never copied whole), checked after rounding to `dtype`.  The
    result is always aligned to its item size (native code reads it as typed values)."""
    a = _to_array(v, name)
    _check_numeric(a, name)
    if a.ndim != 2:
        hint = " (use x.reshape(-1, 1) for a single feature)" if a.ndim == 1 else ""
        raise ValueError(f"{name}: expected a 2-D array (samples, features), got {_describe(a)}{hint}")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"{name}: empty data, got {_describe(a)}")
    if width is not None and a.shape[1] != width:
        raise ValueError(f"{name}: the model expects {width} features, got {_describe(a)}")
    dtype = np.dtype(dtype)
    if other_float and a.dtype in (np.float32, np.float64) and a.flags.c_contiguous and a.flags.aligned:
        out = a  # no copy (np.memmap / np.load(mmap_mode="r") stay on disk)
        narrows = dtype == np.float32 and a.dtype == np.float64
        if not _core.all_finite(out, narrows):  # no temporary; beyond float32's range counts as Inf
            raise ValueError(f"{name}: contains NaN or Inf{' as float32' if narrows else ''} ({_describe(a)})")
        return out
    with np.errstate(over="ignore"):  # values beyond float32's range become Inf: refused just below
        out = aligned(np.ascontiguousarray(a, dtype=dtype))
    if not _core.all_finite(out):
        raise ValueError(f"{name}: contains NaN or Inf ({_describe(a)})")
    return out


def split_named(v, names, name):
    """A list with one entry per name from a single value, a list/tuple or a dict."""
    if isinstance(v, dict):
        missing = [n for n in names if n not in v]
        extra = [k for k in v if k not in names]
        if missing or extra:
            raise ValueError(f"{name}: expected keys {names}, got {list(v)}")
        return [v[n] for n in names]
    if isinstance(v, (list, tuple)) and len(names) > 1:
        if len(v) != len(names):
            raise ValueError(f"{name}: expected {len(names)} arrays ({names}), got {len(v)}")
        return list(v)
    if len(names) != 1:
        raise ValueError(f"{name}: the model has {len(names)} of them ({names}); pass a list or a dict")
    return [unwrap_one(v)]


def unwrap_one(v):
    """``[array]`` for a model's single input/output (what predict of a list-output model
    returns) as the array; anything else (a nested list of numbers stays data) as it is."""
    return v[0] if isinstance(v, (list, tuple)) and len(v) == 1 and hasattr(v[0], "shape") else v


def as_labels(v, name, n_classes):
    """int64 labels in [0, n_classes) from (n,) or (n, 1) integers (or integral floats)."""
    a = _to_array(v, name)
    _check_numeric(a, name)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1:
        raise ValueError(f"{name}: sparse labels must be 1-D (n,) class indices, got {_describe(a)}")
    if a.size == 0:
        raise ValueError(f"{name}: empty labels")
    if a.dtype.kind == "b":
        a = a.astype(np.int64)
    if a.dtype.kind == "f":
        if not np.isfinite(a).all():
            raise ValueError(f"{name}: labels contain NaN or Inf")
        if not np.all(a == np.round(a)):
            raise ValueError(f"{name}: labels must be whole class indices, got non-integral floats ({_describe(a)})")
    # (checked before the cast to int64, which would wrap 1e30 or uint64 2**63 around)
    lo, hi = a.min().item(), a.max().item()
    if lo < 0 or hi >= n_classes:
        fmt = (lambda v: f"{v:.0f}" if abs(v) < 1e16 else f"{v:g}") if a.dtype.kind == "f" else str
        raise ValueError(f"{name}: labels must be in [0, {n_classes}) for an output of {n_classes} units, "
                         f"got values in [{fmt(lo)}, {fmt(hi)}]")
    return aligned(np.ascontiguousarray(a, dtype=np.int64))


def as_targets(v, name, dtype, width):
    a = _to_array(v, name)
    _check_numeric(a, name)
    if a.ndim == 1 and width == 1:
        a = a.reshape(-1, 1)
    if a.ndim == 1:
        raise ValueError(f"{name}: expected (n, {width}) targets for an output of {width} units, got {_describe(a)}"
                         " (integer class labels need loss='sparse_categorical_crossentropy')")
    return as_matrix(a, name, dtype, width)


def as_sample_weight(v, n, dtype, name="sample_weight"):
    if v is None:
        return None
    a = _to_array(v, name)
    _check_numeric(a, name)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1 or a.shape[0] != n:
        raise ValueError(f"{name}: expected shape ({n},), got {_describe(a)}")
    with np.errstate(over="ignore"):
        a = aligned(np.ascontiguousarray(a, dtype=dtype))
    if not np.isfinite(a).all() or (a < 0).any():
        raise ValueError(f"{name}: weights must be finite and >= 0")
    return a


def class_weights(class_weight, target, sparse, dtype):
    """Per-sample weights from a {class: weight} dict for one classification output."""
    if not isinstance(class_weight, dict) or not class_weight:
        raise TypeError("class_weight: expected a non-empty dict {class index: weight}")
    if sparse:
        cls = target
    elif target.shape[1] == 1:
        cls = (target[:, 0] > 0.5).astype(np.int64)
    else:
        cls = np.argmax(target, axis=1)
    for k, w in class_weight.items():
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or int(k) < 0:
            raise ValueError(f"class_weight: keys must be class indices >= 0, got {k!r}")
        if isinstance(w, bool) or not isinstance(w, numbers.Real) or not np.isfinite(w) or w < 0:
            raise ValueError(f"class_weight: weight of class {k} must be finite and >= 0, got {w!r}")
    n_cls = max(int(cls.max()) + 1, max(int(k) for k in class_weight) + 1)
    table = np.ones(n_cls, dtype=np.float64)
    for k, w in class_weight.items():
        table[int(k)] = float(w)
    return table[cls].astype(dtype)


def check_rows(arrays, name="x and y"):
    ns = {a.shape[0] for a in arrays if a is not None}
    if len(ns) > 1:
        raise ValueError(f"{name}: all arrays must have the same number of rows, got {sorted(ns)}")
    return ns.pop()


def positive_int(v, name):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or int(v) < 1:
        raise ValueError(f"{name}: expected an int >= 1, got {v!r}")
    return int(v)


def seed_int(v, name="seed"):
    """A seed: an int in [0, 2**63)."""
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{name}: expected an int, got {type(v).__name__} {v!r}")
    if not 0 <= int(v) < 2**63:
        raise ValueError(f"{name}: expected an int in [0, 2**63), got {int(v)}")
    return int(v)
