"""Argument checks shared by the in-place optimizer updates and the clipping helpers.

In-place state must already have the right layout: C-contiguous, writable, the dtype and
shape of ``param`` (float32 or float64) and no memory shared with the other arrays.
Mismatched dtypes are a TypeError and everything else a ValueError, each naming the
argument, its shape and dtype.
"""
from __future__ import annotations

import numbers

import numpy as np

from fastnn._validate import aligned, as_array, check_scalar, describe

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def ndarray(a, name):
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name}: expected a numpy.ndarray (it is updated in place), got {type(a).__name__}")


def writable_contiguous(a, name):
    if a.size == 0:
        raise ValueError(f"{name}: empty arrays are not supported, got {describe(a)}")
    if not a.flags.c_contiguous:
        raise ValueError(
            f"{name}: must be C-contiguous because it is updated in place (a copy would not be "
            f"updated); got a non-contiguous view with {describe(a)} - use np.ascontiguousarray "
            f"once when creating the state"
        )
    if not a.flags.aligned:
        raise ValueError(
            f"{name}: its data is not aligned to its {a.itemsize}-byte items ({describe(a)}); it is updated "
            f"in place, so it cannot be copied - use an aligned array (np.ascontiguousarray of a copy)"
        )
    if not a.flags.writeable:
        raise ValueError(f"{name}: array is read-only ({describe(a)}), but it is updated in place")


def param_array(param):
    ndarray(param, "param")
    if param.dtype not in FLOAT_DTYPES:
        raise TypeError(f"param: expected dtype float32 or float64, got {describe(param)}")
    writable_contiguous(param, "param")
    return param


def grad_like(grad, param):
    g = as_array(grad, "grad")
    if g.dtype != param.dtype:
        raise TypeError(
            f"grad: expected dtype {param.dtype} (the dtype of param, {describe(param)}), got {describe(g)}"
        )
    if g.shape != param.shape:
        raise ValueError(f"grad: expected shape {param.shape} (the shape of param), got {describe(g)}")
    if not (g.flags.c_contiguous and g.flags.aligned):
        g = aligned(np.ascontiguousarray(g))
    return g


def state(a, name, param, required_because=None):
    """A state array updated in place: same shape/dtype as param, contiguous, writable."""
    if a is None:
        if required_because is None:
            return None
        why = f" {required_because}" if required_because else ""
        raise ValueError(f"{name}: an array is required{why}, got None")
    ndarray(a, name)
    if a.dtype != param.dtype:
        raise TypeError(
            f"{name}: expected dtype {param.dtype} (the dtype of param, {describe(param)}), got {describe(a)}"
        )
    if a.shape != param.shape:
        raise ValueError(f"{name}: expected shape {param.shape} (the shape of param), got {describe(a)}")
    writable_contiguous(a, name)
    return a


def disjoint(**arrays):
    items = [(k, v) for k, v in arrays.items() if v is not None]
    for i in range(len(items)):
        for j in range(i + 1, len(items)):
            (ni, ai), (nj, aj) = items[i], items[j]
            if np.may_share_memory(ai, aj):
                raise ValueError(
                    f"{ni} and {nj} share memory ({ni}: {describe(ai)}, {nj}: {describe(aj)}): the update is "
                    f"in place, so each array must be a separate buffer"
                )


def flag(v, name):
    if not isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{name}: expected a bool, got {type(v).__name__}")
    return bool(v)


def step_count(step):
    if isinstance(step, (bool, np.bool_)) or not isinstance(step, numbers.Integral):
        raise TypeError(f"step: expected an int (the 1-based step count), got {type(step).__name__}")
    step = int(step)
    if step < 1:
        raise ValueError(f"step: must be >= 1 (the 1-based step count after increment), got {step}")
    if step > 2**62:
        raise ValueError(f"step: too large, got {step}")
    return step


def nonneg(v, name):
    return check_scalar(v, name, low=0.0)


def positive(v, name):
    return check_scalar(v, name, low=0.0, low_inclusive=False)


def beta(v, name):
    v = check_scalar(v, name, low=0.0)
    if not v < 1.0:
        raise ValueError(f"{name}: must be in [0, 1), got {v}")
    return v


def unit(v, name):
    return check_scalar(v, name, low=0.0, high=1.0)


def clip_target(a, name):
    ndarray(a, name)
    if a.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name}: expected dtype float32 or float64, got {describe(a)}")
    writable_contiguous(a, name)
    return a


def array_list(arrays, name):
    if isinstance(arrays, np.ndarray):
        return [arrays]
    try:
        out = list(arrays)
    except TypeError:
        raise TypeError(f"{name}: expected an array or a sequence of arrays, got {type(arrays).__name__}") from None
    if not out:
        raise ValueError(f"{name}: expected at least one array")
    return out
