"""NumPy float64 reference twins of every kernel (the test oracles).

Each section belongs to one area (GEMM, activations, softmax, optimizers); all work in
float64 and return float64.
"""
import numpy as np

# ---------------------------------------------------------------- GEMM / linear


def linear(x, w, b=None, activation=None):
    """``act(x @ w + b)`` and the pre-activation ``z``; activation None/identity or relu."""
    z = np.asarray(x, np.float64) @ np.asarray(w, np.float64)
    if b is not None:
        z = z + np.asarray(b, np.float64).reshape(-1)
    if activation in (None, "identity", "linear"):
        return z.copy(), z
    if activation == "relu":
        return np.maximum(z, 0.0), z
    raise ValueError(f"reference.linear: unsupported activation {activation!r}")


def gemm_error_bound(a, b, c=None, alpha=1.0, beta=0.0, trans_a=False, trans_b=False):
    """Elementwise ``|alpha| |op(a)| @ |op(b)| + |beta| |c|``: the scale of the rounding
    error of a GEMM (multiply by ~eps * sqrt(k) for a tight, non-flaky tolerance)."""
    a = np.abs(np.asarray(a, np.float64))
    b = np.abs(np.asarray(b, np.float64))
    r = abs(alpha) * ((a.T if trans_a else a) @ (b.T if trans_b else b))
    if c is not None and beta != 0.0:
        r = r + abs(beta) * np.abs(np.asarray(c, np.float64))
    return r


def gemm_tolerance(bound, k, dtype):
    """Elementwise absolute tolerance of a ``dtype`` GEMM with inner dimension ``k`` against
    :func:`gemm`: ``4 eps sqrt(k)`` times :func:`gemm_error_bound` (random-sign data sees
    errors of a few eps times the bound; a lost or doubled term costs ~1/k of it)."""
    eps = np.finfo(dtype).eps
    return 4.0 * eps * (1.0 + np.sqrt(k)) * bound + np.finfo(dtype).tiny


def gemm(a, b, c=None, alpha=1.0, beta=0.0, trans_a=False, trans_b=False):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    r = alpha * ((a.T if trans_a else a) @ (b.T if trans_b else b))
    if c is not None and beta != 0.0:
        r = r + beta * np.asarray(c, np.float64)
    return r


# ---------------------------------------------------------------- activations / softmax
# Accurate float64 formulations (no overflow, no cancellation) of every activation, its
# derivative and the row-wise softmax family.  Inputs are cast to float64 first.

import math as _math

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
_SQRT_2_OVER_PI = 0.79788456080286535587989211986876
_GELU_C = 0.044715
_INV_SQRT_2PI = 0.39894228040143267793994605993438

_erfc = np.frompyfunc(_math.erfc, 1, 1)


def _f64(x):
    return np.asarray(x, dtype=np.float64)


def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0, e) / (1.0 + e)


def _dsigmoid(x):
    e = np.exp(-np.abs(x))
    return e / (1.0 + e) ** 2


def _softplus(x):
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def _phi_cdf(x):
    """Standard normal CDF, accurate in both tails (erfc)."""
    return 0.5 * _erfc(-x / np.sqrt(2.0)).astype(np.float64)


def _sech2(x):
    with np.errstate(over="ignore"):
        return 1.0 / np.cosh(x) ** 2


def act_forward(name, x, alpha=None):
    """f(x) for an activation name (canonical names of fastnn._activations)."""
    x = _f64(x)
    if name == "identity":
        return x.copy()
    if name == "relu":
        return np.where(x > 0, x, 0.0)
    if name == "leaky_relu":
        a = 0.01 if alpha is None else alpha
        return np.where(x > 0, x, a * x)
    if name == "elu":
        a = 1.0 if alpha is None else alpha
        return np.where(x > 0, x, a * np.expm1(np.minimum(x, 0.0)))
    if name == "selu":
        return SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0.0)))
    if name == "sigmoid":
        return _sigmoid(x)
    if name == "tanh":
        return np.tanh(x)
    if name == "gelu":
        return x * _phi_cdf(x)
    if name == "gelu_tanh":
        # 0.5 x (1 + tanh(u)) == x * sigmoid(2u), evaluated without cancellation
        xc = np.clip(x, -50, 50)
        u = _SQRT_2_OVER_PI * (xc + _GELU_C * xc**3)
        return x * _sigmoid(2.0 * u)
    if name == "silu":
        return x * _sigmoid(x)
    if name == "mish":
        return x * np.tanh(_softplus(x))
    if name == "softplus":
        return _softplus(x)
    raise ValueError(f"unknown activation {name!r}")


def act_derivative(name, x, alpha=None):
    """f'(x) (the relu-like kinks at 0 take the negative side's slope)."""
    x = _f64(x)
    if name == "identity":
        return np.ones_like(x)
    if name == "relu":
        return np.where(x > 0, 1.0, 0.0)
    if name == "leaky_relu":
        a = 0.01 if alpha is None else alpha
        return np.where(x > 0, 1.0, a)
    if name == "elu":
        a = 1.0 if alpha is None else alpha
        return np.where(x > 0, 1.0, a * np.exp(np.minimum(x, 0.0)))
    if name == "selu":
        return SELU_SCALE * np.where(x > 0, 1.0, SELU_ALPHA * np.exp(np.minimum(x, 0.0)))
    if name == "sigmoid":
        return _dsigmoid(x)
    if name == "tanh":
        return _sech2(x)
    if name == "gelu":
        return _phi_cdf(x) + x * _INV_SQRT_2PI * np.exp(-0.5 * x * x)
    if name == "gelu_tanh":
        xc = np.clip(x, -50, 50)
        u = _SQRT_2_OVER_PI * (xc + _GELU_C * xc**3)
        du = _SQRT_2_OVER_PI * (1.0 + 3.0 * _GELU_C * xc**2)
        return _sigmoid(2.0 * u) + xc * _dsigmoid(2.0 * u) * 2.0 * du
    if name == "silu":
        s = _sigmoid(x)
        return s + x * _dsigmoid(x)
    if name == "mish":
        sp = _softplus(x)
        return np.tanh(sp) + x * _sech2(sp) * _sigmoid(x)
    if name == "softplus":
        return _sigmoid(x)
    raise ValueError(f"unknown activation {name!r}")


def act_backward(name, x, dy, alpha=None):
    return _f64(dy) * act_derivative(name, x, alpha)


def softmax(x, axis=-1):
    x = _f64(x)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x, axis=-1):
    x = _f64(x)
    z = x - x.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def softmax_backward(y, dy, axis=-1):
    """Jacobian-vector product through softmax, from its output y."""
    y = _f64(y)
    dy = _f64(dy)
    return y * (dy - (dy * y).sum(axis=axis, keepdims=True))


def log_softmax_backward(y, dy, axis=-1):
    """Jacobian-vector product through log_softmax, from its output y."""
    y = _f64(y)
    dy = _f64(dy)
    return dy - np.exp(y) * dy.sum(axis=axis, keepdims=True)
