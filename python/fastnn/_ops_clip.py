"""Gradient clipping: by value, by global norm, and the deterministic global norm itself.

All work is native and multithreaded for large arrays; the global norm is reduced in fixed
blocks, so it is bitwise the same at any thread count.
"""
from __future__ import annotations

import math

import numpy as np

from fastnn import _core
from fastnn._optim_checks import FLOAT_DTYPES, array_list, clip_target, flag, nonneg
from fastnn._validate import as_array, describe

__all__ = ["clip_by_value_", "global_norm", "clip_by_global_norm_"]


def clip_by_value_(grad, clipvalue):
    """Clip every element of ``grad`` to ``[-clipvalue, clipvalue]``, in place.

    Like ``torch.nn.utils.clip_grad_value_`` and Keras' ``clipvalue``.

    Parameters
    ----------
    grad : ndarray, float32 or float64
        C-contiguous, writable.
    clipvalue : float
        Bound ``c >= 0``.

    Returns
    -------
    None

    Notes
    -----
    ``grad = min(max(grad, -c), c)`` element-wise; NaN stays NaN.
    """
    grad = clip_target(grad, "grad")
    c = nonneg(clipvalue, "clipvalue")
    _core.clip_by_value(grad, -c, c)


def global_norm(*arrays):
    """Euclidean norm of all elements of all arrays, ``sqrt(sum_i sum_j a_i[j]**2)``.

    Parameters
    ----------
    *arrays : array_like
        One or more non-empty arrays (or a single list of them). float32 and float64 are
        read as they are; other real dtypes are converted to float64.

    Returns
    -------
    float
        The norm, accumulated in float64.

    Notes
    -----
    Deterministic: each array is cut into fixed blocks of 4096 elements whose sums of
    squares are computed independently (in parallel, float64 accumulators), then the block
    sums are added in order on one thread. The result is bitwise the same at any thread
    count. torch's ``clip_grad_norm_`` computes the norm in the gradients' dtype, so for
    float32 it can differ in the last bits.
    """
    if len(arrays) == 1 and isinstance(arrays[0], (list, tuple)):
        arrays = tuple(arrays[0])
    if not arrays:
        raise ValueError("arrays: expected at least one array")
    conv = []
    for i, a in enumerate(arrays):
        name = f"arrays[{i}]"
        a = as_array(a, name)
        if a.size == 0:
            raise ValueError(f"{name}: empty arrays are not supported, got {describe(a)}")
        if a.dtype not in FLOAT_DTYPES:
            a = a.astype(np.float64)
        conv.append(np.ascontiguousarray(a))
    return _core.global_norm(conv)


def clip_by_global_norm_(arrays, max_norm, *, error_if_nonfinite=False):
    """Scale ``arrays`` in place so that their global norm is at most ``max_norm``.

    Like ``torch.nn.utils.clip_grad_norm_`` (2-norm) and Keras' ``global_clipnorm``.

    Parameters
    ----------
    arrays : ndarray or sequence of ndarray
        float32 / float64, C-contiguous, writable, non-empty, not sharing memory.
    max_norm : float
        ``max_norm >= 0``.
    error_if_nonfinite : bool
        Raise ValueError (before changing anything) when the norm is NaN or infinite.

    Returns
    -------
    float
        The global norm before clipping (see :func:`global_norm`).

    Notes
    -----
    ::

        norm = sqrt(sum of squares of all elements)      (float64, deterministic)
        coef = max_norm / (norm + 1e-6)
        if not coef >= 1:  a = a * coef   for every array (coef cast to its dtype)

    As in torch a NaN norm gives a NaN coefficient (so the arrays become NaN) unless
    ``error_if_nonfinite=True``.
    """
    arrays = array_list(arrays, "arrays")
    for i, a in enumerate(arrays):
        clip_target(a, f"arrays[{i}]")
    for i in range(len(arrays)):
        for j in range(i + 1, len(arrays)):
            if np.may_share_memory(arrays[i], arrays[j]):
                raise ValueError(f"arrays[{i}] and arrays[{j}] share memory: each array must be a separate buffer")
    max_norm = nonneg(max_norm, "max_norm")
    error_if_nonfinite = flag(error_if_nonfinite, "error_if_nonfinite")
    norm = _core.global_norm(arrays)
    if error_if_nonfinite and not math.isfinite(norm):
        raise ValueError(f"the total norm of the gradients is non-finite ({norm}), so it cannot be clipped")
    coef = max_norm / (norm + 1e-6)
    if not coef >= 1.0:
        _core.scale_arrays(arrays, coef)
    return norm
