"""NumPy float64 reference twins of every kernel (the test oracles).

Each section belongs to one area (GEMM, activations, softmax, optimizers); all work in
float64 and return float64.
"""
import numpy as np

# ---------------------------------------------------------------- GEMM / linear


def gemm(a, b, c=None, alpha=1.0, beta=0.0, trans_a=False, trans_b=False):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    r = alpha * ((a.T if trans_a else a) @ (b.T if trans_b else b))
    if c is not None and beta != 0.0:
        r = r + beta * np.asarray(c, np.float64)
    return r
