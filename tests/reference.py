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
