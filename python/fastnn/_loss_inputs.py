"""Input conversion and checks for :mod:`fastnn.losses` (private).

Everything here runs before the native call, so bad input raises a TypeError/ValueError
naming the argument, its shape and dtype.  Dtype rule: the loss computes in the dtype
``fastnn._validate.result_dtype(y_pred)`` gives (float32 stays float32, float64 stays
float64, float16 -> float32, integers and bools -> float64); ``y_true`` and
``sample_weight`` are cast to it.
"""
from __future__ import annotations

import numpy as np

from fastnn._validate import aligned, as_array, as_float, check_nonempty, check_size, describe, result_dtype


def prepare_pred(y_pred):
    """``(pred_2d, dtype, original_shape)``: y_pred as a 2-D array native code reads.

    A 1-D ``y_pred`` of n values is treated as n samples of one output, shape (n, 1).
    """
    a = as_array(y_pred, "y_pred")
    if a.ndim not in (1, 2):
        raise ValueError(f"y_pred: expected a 1-D (n,) or 2-D (n, outputs) array, got {describe(a)}")
    check_nonempty(a, "y_pred")
    check_size(a.shape, "y_pred")
    dtype = result_dtype(a)
    shape = a.shape
    if a.ndim == 1:
        a = a.reshape(-1, 1)
    return as_float(a, "y_pred", dtype, rows_ok=True), dtype, shape


def prepare_targets(y_true, shape, dtype):
    """Dense targets of ``shape`` (2-D) cast to ``dtype``; 1-D targets count as (n, 1)."""
    a = as_array(y_true, "y_true")
    if a.ndim == 1:
        a = a.reshape(-1, 1)
    if a.shape != tuple(shape):
        alt = f" or ({shape[0]},)" if shape[1] == 1 else ""
        got = describe(as_array(y_true, "y_true"))
        raise ValueError(f"y_true: expected shape {tuple(shape)}{alt} like y_pred, got {got}")
    with np.errstate(over="ignore", invalid="ignore"):  # out-of-range values become inf: rejected below
        a = as_float(a, "y_true", dtype)
    if not np.isfinite(a).all():
        bad = np.argwhere(~np.isfinite(a))[0]
        raise ValueError(
            f"y_true: must be finite, got {a[tuple(bad)]} at index {tuple(int(i) for i in bad)}"
            f" (after conversion to {dtype}; {describe(a)})"
        )
    return a


def prepare_labels(y_true, rows, cols):
    """Integer class labels of shape (rows,) or (rows, 1) in [0, cols), as C-contiguous int64.

    Integer and bool dtypes are accepted, and floats holding whole numbers.
    """
    orig = as_array(y_true, "y_true")
    a = orig
    if a.ndim == 2 and a.shape[1] == 1:
        a = a.reshape(-1)
    if a.shape != (rows,):
        raise ValueError(
            f"y_true: expected integer class labels of shape ({rows},) or ({rows}, 1) for {rows} samples,"
            f" got {describe(orig)}"
        )
    kind = a.dtype.kind
    if kind == "f":
        if not np.isfinite(a).all():
            i = int(np.flatnonzero(~np.isfinite(a))[0])
            raise ValueError(f"y_true: labels must be finite, got {a[i]} at position {i} ({describe(orig)})")
        frac = a != np.floor(a)
        if frac.any():
            i = int(np.flatnonzero(frac)[0])
            raise ValueError(
                f"y_true: labels must be whole numbers (class indices), got {a[i]} at position {i}"
                f" ({describe(orig)})"
            )
    bad = (a < 0) | (a >= cols)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"y_true: labels must be class indices in [0, {cols}) for y_pred with {cols} columns,"
            f" got {a[i]} at position {i}"
        )
    return aligned(np.ascontiguousarray(a, dtype=np.int64))


def prepare_weight(sample_weight, rows, dtype):
    """None, or a C-contiguous (rows,) array of ``dtype``: finite and >= 0.

    A scalar applies to every sample; (rows,) and (rows, 1) give one weight per sample.
    """
    if sample_weight is None:
        return None
    orig = as_array(sample_weight, "sample_weight")
    w = orig
    if w.ndim == 0:
        w = np.full(rows, w, dtype=np.float64)
    elif w.ndim == 2 and w.shape[1] == 1:
        w = w.reshape(-1)
    if w.shape != (rows,):
        raise ValueError(
            f"sample_weight: expected a scalar or shape ({rows},) (one weight per sample), got {describe(orig)}"
        )
    with np.errstate(over="ignore", invalid="ignore"):  # out-of-range values become inf: rejected below
        wc = aligned(np.ascontiguousarray(w, dtype=dtype))
    if not np.isfinite(wc).all():
        i = int(np.flatnonzero(~np.isfinite(wc))[0])
        raise ValueError(f"sample_weight: must be finite, got {wc[i]} at position {i} (as {dtype})")
    if (wc < 0).any():
        i = int(np.flatnonzero(wc < 0)[0])
        raise ValueError(f"sample_weight: must be >= 0, got {wc[i]} at position {i}")
    return wc
