"""Matrix products: ``matmul``, ``gemm`` and the fused dense forward ``linear``."""
from __future__ import annotations

import numpy as np

from fastnn import _core
from fastnn._activations import resolve
from fastnn._validate import (
    as_array,
    as_float,
    check_out,
    check_scalar,
    check_size,
    describe,
    result_dtype,
    row_view_ok,
)


def _operand(a, name, dtype, trans):
    """A 2-D operand the GEMM reads without copying where possible.

    C-contiguous and row-strided views go as they are; a transposed (Fortran-ordered)
    array goes as its C-ordered transpose with the transpose flag flipped.
    """
    a = as_float(a, name, dtype, ndims=(2,)) if a.dtype != dtype else a
    if a.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array, got {describe(a)}")
    if a.flags.aligned:  # (a misaligned array is copied: kernels read typed values)
        if a.flags.c_contiguous:
            return a, trans
        if a.T.flags.c_contiguous:
            return a.T, not trans
    return as_float(a, name, dtype, ndims=(2,), rows_ok=True), trans


def _shapes(a, b, trans_a, trans_b, names=("a", "b")):
    m, k = (a.shape[1], a.shape[0]) if trans_a else a.shape
    kb, n = (b.shape[1], b.shape[0]) if trans_b else b.shape
    if k != kb:
        ta = ".T" if trans_a else ""
        tb = ".T" if trans_b else ""
        raise ValueError(
            f"matmul: inner dimensions differ: {names[0]}{ta} is {m}x{k} ({describe(a)}), "
            f"{names[1]}{tb} is {kb}x{n} ({describe(b)})"
        )
    return m, n, k


def _prepare(a, b, trans_a, trans_b, extra=(), names=("a", "b")):
    a = as_array(a, names[0])
    b = as_array(b, names[1])
    for arr, nm in ((a, names[0]), (b, names[1])):
        if arr.ndim != 2:
            raise ValueError(f"{nm}: expected a 2-D array, got {describe(arr)}")
        if arr.size == 0:
            raise ValueError(f"{nm}: empty arrays are not supported, got {describe(arr)}")
    for nm, v in (("trans_a", trans_a), ("trans_b", trans_b)):
        if not isinstance(v, (bool, np.bool_)):
            raise TypeError(f"{nm}: expected a bool, got {type(v).__name__}")
    m, n, k = _shapes(a, b, bool(trans_a), bool(trans_b), names)
    check_size((m, n), "out")
    dtype = result_dtype(a, b, *extra)
    return a, b, bool(trans_a), bool(trans_b), m, n, dtype


def _resolve_out(out, shape, dtype, inputs, name="out"):
    if out is None:
        return np.empty(shape, dtype=dtype), False
    check_out(out, name, shape, dtype)
    if not row_view_ok(out):
        # Not a row-strided view the kernel can write: compute into a temporary.
        return np.empty(shape, dtype=dtype), True
    if any(np.shares_memory(out, x) for x in inputs):
        return np.empty(shape, dtype=dtype), True
    return out, False


def gemm(a, b, c=None, *, alpha=1.0, beta=0.0, trans_a=False, trans_b=False):
    """General matrix product ``c = alpha * op(a) @ op(b) + beta * c`` (BLAS ``?gemm``).

    Parameters
    ----------
    a, b : array_like, 2-D
        ``op(x)`` is ``x.T`` when the matching ``trans_*`` flag is set, else ``x``.
    c : ndarray, optional
        Updated in place and returned. Its dtype must be the computation dtype. When
        omitted a new array is returned (then ``beta`` is ignored).
    alpha, beta : float
        Scale factors. With ``beta == 0`` the old contents of ``c`` are never read.
    trans_a, trans_b : bool
        Use the transpose of ``a`` / ``b``.

    Returns
    -------
    ndarray
        ``c``.
    """
    return _gemm(a, b, c, alpha, beta, trans_a, trans_b, "c")


_NATIVE_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _plain(x, dtype):
    """Whether ``x`` is a non-empty C-contiguous, aligned 2-D ndarray of exactly ``dtype``."""
    return (type(x) is np.ndarray and x.ndim == 2 and x.dtype == dtype and x.size != 0
            and x.flags.c_contiguous and x.flags.aligned)


def _fast_product(a, b, c, trans_a, trans_b):
    """``op(a) @ op(b)`` for the common call, or None when the full path must decide.

    The common call: C-contiguous 2-D float32 or float64 ndarrays of one dtype, bool
    flags, and ``c`` either None or a writable C-contiguous array of the result's shape
    and dtype that cannot overlap the inputs. Its checks cost a fraction of a
    microsecond, against ~4 us for the general validation; any other call goes through
    the full path.  Shape errors raise here with the full path's messages.
    """
    if type(trans_a) is not bool or type(trans_b) is not bool or type(a) is not np.ndarray:
        return None
    dtype = a.dtype
    if dtype not in _NATIVE_FLOATS or not _plain(a, dtype) or not _plain(b, dtype):
        return None
    m, n, _ = _shapes(a, b, trans_a, trans_b)
    check_size((m, n), "out")
    if c is None:
        c = np.empty((m, n), dtype)
    elif not (_plain(c, dtype) and c.shape == (m, n) and c.flags.writeable
              and not np.may_share_memory(c, a) and not np.may_share_memory(c, b)):
        return None
    _core.gemm(a, b, c, trans_a, trans_b, 1.0, 0.0)
    return c


def _gemm(a, b, c, alpha, beta, trans_a, trans_b, c_name):
    if type(alpha) is float and type(beta) is float and alpha == 1.0 and beta == 0.0:
        fast = _fast_product(a, b, c, trans_a, trans_b)
        if fast is not None:
            return fast
    alpha = check_scalar(alpha, "alpha")
    beta = check_scalar(beta, "beta")
    a, b, trans_a, trans_b, m, n, dtype = _prepare(a, b, trans_a, trans_b)
    if c is None:
        beta = 0.0
    target, tmp = _resolve_out(c, (m, n), dtype, (a, b), c_name)
    if tmp and beta != 0.0:
        target[...] = c
    a, trans_a = _operand(a, "a", dtype, trans_a)
    b, trans_b = _operand(b, "b", dtype, trans_b)
    _core.gemm(a, b, target, trans_a, trans_b, alpha, beta)
    if tmp:
        c[...] = target
        return c
    return target


def matmul(a, b, *, trans_a=False, trans_b=False, out=None):
    """Matrix product ``op(a) @ op(b)`` of two 2-D arrays.

    Parameters
    ----------
    a : array_like, shape (m, k), or (k, m) with ``trans_a=True``
    b : array_like, shape (k, n), or (n, k) with ``trans_b=True``
    trans_a, trans_b : bool
        Multiply by the transpose without materializing it.
    out : ndarray, optional
        Destination of shape (m, n) and the result dtype; must be writable.

    Returns
    -------
    ndarray of shape (m, n)
        float32 if both inputs are float32, float64 if either is float64 (other dtypes:
        see :mod:`fastnn._validate`).

    Notes
    -----
    Results are bitwise identical at any thread count. Strided row views and transposed
    arrays are used in place; other layouts are copied once.
    """
    return _gemm(a, b, out, 1.0, 0.0, trans_a, trans_b, "out")


def linear(x, w, b=None, activation=None, *, out=None, return_preactivation=False, **act_params):
    """Fused dense-layer forward ``activation(x @ w + b)``.

    Parameters
    ----------
    x : array_like, shape (batch, in_features)
    w : array_like, shape (in_features, out_features)
        The kernel in (in, out) layout, like Keras and scikit-learn's ``coefs_``.
    b : array_like, shape (out_features,), optional
    activation : str or None
        Any name accepted by :func:`fastnn.ops.activation_grad` (``"relu"``, ``"gelu"``,
        ...); ``None`` means identity. Parameters such as ``alpha=`` pass through.
    out : ndarray, optional
        Destination for the activation output.
    return_preactivation : bool
        Also return ``z = x @ w + b`` (what a backward pass needs).

    Returns
    -------
    y : ndarray, shape (batch, out_features)
    z : ndarray, optional
        Only with ``return_preactivation=True``.
    """
    _, act_id, act_alpha = resolve(activation, **act_params)
    x = as_array(x, "x")
    w = as_array(w, "w")
    extra = ()
    if b is not None:
        b = as_array(b, "b")
        extra = (b,)
    x, w, _, _, m, n, dtype = _prepare(x, w, False, False, extra, names=("x", "w"))
    if b is not None:
        if b.shape not in ((n,), (1, n)):
            raise ValueError(f"b: expected shape ({n},) to match w's {n} output features, got {describe(b)}")
        b = np.ascontiguousarray(b.reshape(n), dtype=dtype)
    target, tmp = _resolve_out(out, (m, n), dtype, (x, w) + ((b,) if b is not None else ()))
    z = np.empty((m, n), dtype=dtype) if return_preactivation else None
    x, tx = _operand(x, "x", dtype, False)
    w, tw = _operand(w, "w", dtype, False)
    _core.gemm(x, w, target, tx, tw, 1.0, 0.0, b, z, act_id, act_alpha)
    if tmp:
        out[...] = target
        target = out
    return (target, z) if return_preactivation else target
