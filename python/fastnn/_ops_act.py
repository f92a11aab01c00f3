"""Activations, softmax / log_softmax and their gradients (``fastnn.ops``).

Every function takes array_like input of any shape, computes in float32 or float64 (see
:mod:`fastnn._validate` for the dtype rules) and returns a new C-contiguous array, or
writes into ``out=``. ``out`` may be the input itself (in place). Large inputs run
multithreaded with the GIL released; results are bitwise identical at any thread count
(they may differ in the last bits between the generic / AVX2 / AVX-512 kernel paths).

Accuracy: a few ulp against the exact function; saturating inputs give exact limits and
never inf/NaN (``sigmoid(-1000) == 0``, ``tanh(1000) == 1``, ``softplus(1000) == 1000``,
softmax is max-shifted). NaN inputs propagate.

New results of 1 MiB or more come from a small native cache of recently freed result
buffers (the kernel's page faults on fresh memory cost more than a memory-bound
activation itself). The cache holds at most 256 MiB; set the environment variable
``FASTNN_BUFFER_CACHE_MB`` (0 disables it) before import to change that. Such arrays are
ordinary writable arrays whose ``base`` is a capsule.
"""
from __future__ import annotations

import numbers
import operator

import numpy as np

from fastnn import _core
from fastnn._activations import is_rowwise, resolve
from fastnn._validate import aligned, as_array, check_out, check_scalar, check_size, describe, result_dtype, row_view_ok

__all__ = [
    "activation",
    "activation_grad",
    "elu",
    "gelu",
    "leaky_relu",
    "log_softmax",
    "log_softmax_grad",
    "mish",
    "relu",
    "selu",
    "sigmoid",
    "silu",
    "softmax",
    "softmax_grad",
    "softplus",
    "swish",
    "tanh",
]


# ---------------------------------------------------------------- helpers


def _input(x, name):
    a = as_array(x, name)
    if a.size == 0:
        raise ValueError(f"{name}: empty arrays are not supported, got {describe(a)}")
    check_size(a.shape, name)
    return a


def _contig(a, dtype):
    """``a`` as a C-contiguous, aligned array of ``dtype`` (no copy when it already is one)."""
    return aligned(np.asarray(a, dtype=dtype, order="C"))


def _same_buffer(a, b):
    """The very same elements in the very same layout (in-place use)."""
    return (
        a.shape == b.shape
        and a.strides == b.strides
        and a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
    )


def _target(out, shape, dtype, inputs, inplace_ok):
    """Resolve ``out=``: returns ``(array the kernel writes or None, needs_copy_back)``.

    None lets the native side allocate the result (from its buffer cache when large). The
    kernel writes ``out`` directly when it is C-contiguous and either disjoint from every
    input or the very same buffer as one of ``inplace_ok``; otherwise a temporary.
    """
    if out is None:
        return None, False
    check_out(out, "out", shape, dtype)
    if not (out.flags.c_contiguous and out.flags.aligned):
        return np.empty(shape, dtype=dtype), True
    for a in inputs:
        if np.may_share_memory(out, a) and not (any(a is b for b in inplace_ok) and _same_buffer(out, a)):
            return np.empty(shape, dtype=dtype), True
    return out, False


def _finish(target, out, copy_back):
    if copy_back:
        out[...] = target
        return out
    return target


def _param(value, name):
    return check_scalar(value, name)


# ---------------------------------------------------------------- elementwise forward


def _forward(act_id, alpha, x, out):
    a = _input(x, "x")
    dtype = result_dtype(a)
    xc = _contig(a, dtype)
    target, copy_back = _target(out, a.shape, dtype, (xc,), (xc,))
    return _finish(_core.act_forward(act_id, xc, target, alpha), out, copy_back)


def activation(name, x, *, out=None, **params):
    """Apply an activation by name: ``activation("relu", x)``, ``activation("elu", x, alpha=0.5)``.

    Accepts every name of :func:`activation_grad`, including ``"softmax"`` and
    ``"log_softmax"`` (over the last axis).
    """
    key, act_id, alpha = resolve(name, allow_rowwise=True, **params)
    if key == "softmax":
        return softmax(x, out=out)
    if key == "log_softmax":
        return log_softmax(x, out=out)
    return _forward(act_id, alpha, x, out)


def relu(x, *, out=None):
    """Rectified linear unit ``max(x, 0)`` elementwise (NaN propagates)."""
    return _forward(1, 0.0, x, out)


def leaky_relu(x, alpha=0.01, *, out=None):
    """``x`` for ``x >= 0``, ``alpha * x`` below."""
    return _forward(2, _param(alpha, "alpha"), x, out)


def elu(x, alpha=1.0, *, out=None):
    """Exponential linear unit: ``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` below."""
    return _forward(3, _param(alpha, "alpha"), x, out)


def selu(x, *, out=None):
    """Scaled ELU with the standard constants (alpha = 1.6732632423543772,
    scale = 1.0507009873554805)."""
    return _forward(4, 0.0, x, out)


def sigmoid(x, *, out=None):
    """Logistic sigmoid ``1 / (1 + exp(-x))``; saturates to exactly 0 and 1 without overflow."""
    return _forward(5, 0.0, x, out)


def tanh(x, *, out=None):
    """Hyperbolic tangent elementwise."""
    return _forward(6, 0.0, x, out)


def gelu(x, approximate=False, *, out=None):
    """Gaussian error linear unit ``x * Phi(x)`` (``Phi`` the standard normal CDF).

    ``approximate=True`` uses the tanh form
    ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``.
    """
    if not isinstance(approximate, (bool, np.bool_)):
        raise TypeError(f"approximate: expected a bool, got {type(approximate).__name__}")
    return _forward(8 if approximate else 7, 0.0, x, out)


def silu(x, *, out=None):
    """Sigmoid-weighted linear unit ``x * sigmoid(x)`` (also called swish)."""
    return _forward(9, 0.0, x, out)


swish = silu


def mish(x, *, out=None):
    """``x * tanh(softplus(x))``."""
    return _forward(10, 0.0, x, out)


def softplus(x, *, out=None):
    """``log(1 + exp(x))``, computed without overflow (``softplus(1000) == 1000``)."""
    return _forward(11, 0.0, x, out)


# ---------------------------------------------------------------- softmax


def _axis(axis, ndim, name="axis"):
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"{name}: expected an int, got {type(axis).__name__}")
    ax = operator.index(axis)
    if not -ndim <= ax < ndim:
        raise ValueError(f"{name}: {ax} is out of bounds for an array of dimension {ndim}")
    return ax % ndim


def _rows_in(a, dtype):
    """A 2-D (rows, cols) view or copy of ``a`` (last axis = cols) the row kernels accept."""
    cols = a.shape[-1]
    if a.ndim == 2:
        v = a
    elif a.ndim == 1:
        v = a.reshape(1, cols)
    else:
        v = a.reshape(-1, cols)  # a view when possible
    if v.dtype != dtype:
        return np.asarray(v, dtype=dtype, order="C")
    return v if row_view_ok(v) else aligned(np.ascontiguousarray(v))


def _rows_out(o):
    """A 2-D view of ``o`` the row kernels can write, or None."""
    cols = o.shape[-1]
    if o.ndim == 1:
        v = o.reshape(1, cols)
    elif o.ndim == 2:
        v = o
    elif o.flags.c_contiguous:
        v = o.reshape(-1, cols)
    else:
        return None
    return v if row_view_ok(v) else None


def _rowwise(inputs, names, out, axis, call):
    """Shared driver of the row-wise ops: ``call(list_of_2d_inputs, out_2d_or_None)`` returns
    the 2-D result."""
    arrs = [_input(v, n) for v, n in zip(inputs, names)]
    a0 = arrs[0]
    if a0.ndim == 0:
        raise ValueError(f"{names[0]}: expected an array with at least 1 dimension, got {describe(a0)}")
    for a, n in zip(arrs[1:], names[1:]):
        if a.shape != a0.shape:
            raise ValueError(
                f"{n}: expected shape {a0.shape} to match {names[0]}, got {describe(a)}"
            )
    ax = _axis(axis, a0.ndim)
    dtype = result_dtype(*arrs)
    last = ax == a0.ndim - 1
    moved = [a if last else np.moveaxis(a, ax, -1) for a in arrs]
    ins = [_rows_in(m, dtype) for m in moved]
    mshape = moved[0].shape
    if out is None:
        res = call(ins, None).reshape(mshape)
        if last:
            return res
        final = np.empty(a0.shape, dtype=dtype)
        np.moveaxis(final, ax, -1)[...] = res
        return final
    check_out(out, "out", a0.shape, dtype)
    om = out if last else np.moveaxis(out, ax, -1)
    o2 = _rows_out(om)
    if o2 is not None:
        for i2 in ins:
            if np.may_share_memory(o2, i2) and not _same_buffer(o2, i2):
                o2 = None
                break
    if o2 is None:
        res = np.empty(mshape, dtype=dtype)
        call(ins, res.reshape(-1, mshape[-1]))
        om[...] = res
    else:
        call(ins, o2)
    return out


def softmax(x, axis=-1, *, out=None):
    """Softmax along ``axis``: ``exp(x - max) / sum(exp(x - max))``.

    Max-shifted, so any finite logits give finite probabilities that sum to 1. ``out``
    may be ``x`` itself.
    """
    return _rowwise((x,), ("x",), out, axis, lambda i, o: _core.softmax(i[0], o, False))


def log_softmax(x, axis=-1, *, out=None):
    """``log(softmax(x))`` along ``axis``, computed as ``x - max - log(sum(exp(x - max)))``
    (finite for any finite logits)."""
    return _rowwise((x,), ("x",), out, axis, lambda i, o: _core.softmax(i[0], o, True))


def softmax_grad(y, dy, axis=-1, *, out=None):
    """Gradient through a softmax given its output ``y``: ``y * (dy - sum(dy * y))`` along
    ``axis`` (the Jacobian-vector product)."""
    return _rowwise((y, dy), ("y", "dy"), out, axis, lambda i, o: _core.softmax_backward(i[0], i[1], o, False))


def log_softmax_grad(y, dy, axis=-1, *, out=None):
    """Gradient through a log_softmax given its output ``y``: ``dy - exp(y) * sum(dy)``
    along ``axis``."""
    return _rowwise((y, dy), ("y", "dy"), out, axis, lambda i, o: _core.softmax_backward(i[0], i[1], o, True))


# ---------------------------------------------------------------- gradients


def activation_grad(name, x, dy, *, out=None, **params):
    """Gradient ``dL/dx`` of an activation given its input ``x`` and ``dL/dy``.

    Parameters
    ----------
    name : str or None
        ``"identity"``, ``"relu"``, ``"leaky_relu"``, ``"elu"``, ``"selu"``,
        ``"sigmoid"``, ``"tanh"``, ``"gelu"``, ``"gelu_tanh"``, ``"silu"``
        (``"swish"``), ``"mish"``, ``"softplus"``, ``"softmax"``, ``"log_softmax"``
        (case-insensitive; aliases such as ``"linear"`` and ``"logistic"``).
    x : array_like
        The activation's input (pre-activation).
    dy : array_like, same shape as x
        Gradient of the loss with respect to the activation's output.
    out : ndarray, optional
        Destination; may be ``dy`` or ``x`` itself (in place).
    **params
        ``alpha=`` for leaky_relu / elu, ``approximate=True`` for the tanh gelu.

    Returns
    -------
    ndarray
        ``dy * f'(x)`` elementwise; for softmax / log_softmax the Jacobian-vector product
        along the last axis. At the kink of relu-like functions (x == 0) the derivative
        is taken as that of the negative side.
    """
    key, act_id, alpha = resolve(name, allow_rowwise=True, **params)
    if is_rowwise(key):
        xa = _input(x, "x")
        ga = _input(dy, "dy")
        if ga.shape != xa.shape:
            raise ValueError(f"dy: expected shape {xa.shape} to match x, got {describe(ga)}")
        dtype = result_dtype(xa, ga)
        if key == "softmax":
            y = softmax(np.asarray(xa, dtype=dtype))
            return softmax_grad(y, ga, out=out)
        y = log_softmax(np.asarray(xa, dtype=dtype))
        return log_softmax_grad(y, ga, out=out)
    xa = _input(x, "x")
    ga = _input(dy, "dy")
    if ga.shape != xa.shape:
        raise ValueError(f"dy: expected shape {xa.shape} to match x, got {describe(ga)}")
    dtype = result_dtype(xa, ga)
    xc = _contig(xa, dtype)
    gc = _contig(ga, dtype)
    target, copy_back = _target(out, xa.shape, dtype, (xc, gc), (xc, gc))
    return _finish(_core.act_backward(act_id, xc, None, gc, target, alpha), out, copy_back)
