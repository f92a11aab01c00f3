"""Argument validation shared by the public API.

Every public function converts and checks its inputs here, before any native call, so
bad input raises a TypeError/ValueError that names the argument, its shape and dtype.

Dtype rules (``fastnn.ops``):

* float32 stays float32 and float64 stays float64;
* float16, bool and integer inputs are computed in float64 like NumPy's ufuncs, except
  that an operation mixing them with float32 stays float32 (float16 alone -> float32);
* float32 mixed with float64 computes in float64;
* complex, object, string, bytes, void and datetime dtypes raise TypeError.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

_MAX_ELEMENTS = np.iinfo(np.int64).max // 16


def describe(a) -> str:
    """``shape (2, 3) and dtype float32`` for messages."""
    a = np.asarray(a) if not isinstance(a, np.ndarray) else a
    return f"shape {tuple(a.shape)} and dtype {a.dtype}"


def _check_kind(name, a):
    k = a.dtype.kind
    if k in "fiub":
        return
    raise TypeError(f"{name}: expected a real numeric array, got {describe(a)}")


def as_array(x, name):
    """Convert to an ndarray (no copy when already one) and reject non-numeric dtypes."""
    if isinstance(x, np.ndarray):
        a = x
    else:
        if isinstance(x, (str, bytes)):
            raise TypeError(f"{name}: expected an array of numbers, got {type(x).__name__}")
        try:
            a = np.asarray(x)
        except (ValueError, TypeError) as e:
            raise TypeError(f"{name}: cannot be converted to a numeric array ({e})") from None
    _check_kind(name, a)
    return a


def result_dtype(*arrays):
    """The float dtype an op computes in, following the module rules above."""
    # kind + itemsize, not dtype equality: byte order must not change the rule.
    def is_float(a, size):
        return a.dtype.kind == "f" and a.dtype.itemsize == size

    if any(is_float(a, 8) or (a.dtype.kind == "f" and a.dtype.itemsize > 8) for a in arrays):
        return np.dtype(np.float64)
    if any(is_float(a, 4) for a in arrays):
        return np.dtype(np.float32)
    if arrays and all(is_float(a, 2) for a in arrays):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def check_ndim(a, name, ndims):
    if a.ndim not in ndims:
        want = " or ".join(f"{d}-D" for d in ndims)
        raise ValueError(f"{name}: expected a {want} array, got {describe(a)}")


def check_nonempty(a, name):
    if a.size == 0:
        raise ValueError(f"{name}: empty arrays are not supported, got {describe(a)}")


def check_size(shape, name):
    """Reject shapes whose element count would overflow 64-bit arithmetic."""
    total = 1
    for d in shape:
        total *= int(d)
        if total > _MAX_ELEMENTS:
            raise ValueError(f"{name}: shape {tuple(shape)} has too many elements")


def as_float(a, name, dtype, *, ndims=None, rows_ok=False):
    """Cast to ``dtype`` and make the layout native code accepts.

    ``rows_ok=True`` keeps 2-D views whose rows are strided (unit column stride, positive
    row stride), so strided row views reach the kernels without a copy; anything else
    that is not C-contiguous is copied.
    """
    if ndims is not None:
        check_ndim(a, name, ndims)
    check_nonempty(a, name)
    if a.dtype != dtype:
        a = a.astype(dtype)
    if a.flags.c_contiguous and a.flags.aligned:
        return a
    if rows_ok and row_view_ok(a):
        return a
    return aligned(np.ascontiguousarray(a))


def aligned(a):
    """``a``, or a C-ordered copy when its data is not aligned to its item size (a buffer
    offset by a byte, a packed record field): native code reads and writes typed values,
    and numpy's ascontiguousarray keeps such an array as it is."""
    return a if a.flags.aligned else np.array(a, order="C")


def row_view_ok(a):
    """True when a 2-D array has unit column stride and a positive row stride (in whole
    items) at least a row long, and its data is aligned to its item size: the layouts the
    native kernels read and write directly."""
    if a.ndim != 2:
        return False
    s0, s1 = a.strides
    item = a.itemsize
    cols_ok = a.shape[1] == 1 or s1 == item
    rows_ok = a.shape[0] == 1 or (s0 > 0 and s0 % item == 0 and s0 >= a.shape[1] * item)
    return cols_ok and rows_ok and a.dtype.isnative and a.flags.aligned


def check_out(out, name, shape, dtype):
    """Validate a user-supplied ``out=`` array."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name}: expected a numpy.ndarray, got {type(out).__name__}")
    if out.shape != tuple(shape):
        raise ValueError(f"{name}: expected shape {tuple(shape)}, got {describe(out)}")
    if out.dtype != dtype:
        raise TypeError(f"{name}: expected dtype {np.dtype(dtype)}, got {describe(out)}")
    if not out.flags.writeable:
        raise ValueError(f"{name}: array is read-only ({describe(out)})")


def check_scalar(v, name, *, low=None, high=None, low_inclusive=True):
    """A real finite number, optionally bounded."""
    t = type(v)
    if t is not float and t is not int:  # the common cases skip the slower ABC checks
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
            raise TypeError(f"{name}: expected a real number, got {t.__name__}")
    v = float(v)
    if not math.isfinite(v):
        raise ValueError(f"{name}: must be finite, got {v}")
    if low is not None and (v < low or (v == low and not low_inclusive)):
        raise ValueError(f"{name}: must be {'>=' if low_inclusive else '>'} {low}, got {v}")
    if high is not None and v > high:
        raise ValueError(f"{name}: must be <= {high}, got {v}")
    return v


def shares_memory(a, b):
    return np.shares_memory(a, b)
